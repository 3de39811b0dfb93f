"""The runs that build a model version: train (training), tune (tuning), and rebuilding a
registered version from its lineage to prove it gives the same PDs (reproduce).
"""

__all__ = [
    "reproduce",
    "training",
    "tuning",
]
