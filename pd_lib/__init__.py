"""pd-pipeline's library: the logic behind the steps in ``steps/``."""
