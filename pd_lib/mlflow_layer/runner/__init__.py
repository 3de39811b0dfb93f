"""main's chain of steps (pipeline), finding finished runs to reuse (runs), and how a step runs:
in this process (inprocess), beside main in a background process (background, whose step
server imports preload while main starts), or through ``mlflow run`` (step_modes).
"""

__all__ = [
    "background",
    "inprocess",
    "pipeline",
    "preload",
    "runs",
    "step_modes",
]
