"""The runs that build a model version: train and tune (their training data, the fit, the
model's logging, the evaluation's logging), tune's candidates (tuning), and rebuilding a
registered version from its lineage to prove it gives the same PDs (reproduce).
"""

__all__ = [
    "evaluation_logging",
    "model_fit",
    "model_logging",
    "reproduce",
    "training_data",
    "tuning",
]
