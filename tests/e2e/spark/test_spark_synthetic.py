"""Spark scoring of the default data, the synthetic book: string categoricals and missing
values must reach the model through spark_udf exactly as through pandas. (Its own module: the
champion store is module-wide.)"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pd_lib.config import ID_COL, MODEL_NAME, PD_COL
from pd_lib.mlflow_layer import scoring
from pd_lib.mlflow_layer.spark import score_parquet_spark

CHAMPION = f"models:/{MODEL_NAME}@champion"


def test_spark_equals_pandas_on_the_synthetic_book_with_strings_and_gaps(
        spark, synthetic_champion_store, tmp_path):
    path, loans = synthetic_champion_store
    assert loans.isna().any().any() and (loans.dtypes == "str").any()  # what this test is for
    score_parquet_spark(CHAMPION, str(path), str(tmp_path / "scored"), spark)
    on_spark = pd.read_parquet(tmp_path / "scored").sort_values(ID_COL, ignore_index=True)
    on_pandas = scoring.score_loans(CHAMPION, loans).sort_values(ID_COL, ignore_index=True)
    np.testing.assert_allclose(on_spark[PD_COL].to_numpy(), on_pandas[PD_COL].to_numpy(),
                               rtol=0, atol=1e-12)
