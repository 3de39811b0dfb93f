"""The data layer: the loan schema and its checks, where loans come from (synthetic book,
make_classification, a user's file), ingest of user files, a stratified sample of a Parquet
data set read with Spark, and the train/holdout/out-of-time splits. Plain pandas and numpy
(pyspark only in lake, when it runs); no MLflow.

Its modules are listed in ``__all__`` (tests/unit/test_layers.py keeps the list current);
import them by name, e.g. ``from pd_lib.data import ingest``.
"""

__all__ = [
    "ingest",
    "lake",
    "schema",
    "sources",
    "splits",
    "synthetic",
]
