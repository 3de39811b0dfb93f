"""How a PD model is saved and served: the scikit-learn flavour's skops file (no pickle), and
a pyfunc flavour loaded by this module that takes reason codes as an inference parameter.

``predict(df)`` returns the ``pd`` column (a scorecard's points, ``score``, beside it);
``predict(df, params={"reasons": 4})`` adds reason_1..reason_4, for
``mlflow.pyfunc.load_model``, ``mlflow models serve`` and ``spark_udf`` alike. The model
itself is loaded from its skops file with the types trusted in our code
(:func:`load_pd_model`), never those its MLmodel lists, and never from a pickle.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.models import Model, ModelSignature

from pd_lib.modelling.pd_model import PDModel
from pd_lib.modelling.reasons import predict_with_reasons

PYFUNC = "python_function"


def save_model(sk_model: PDModel, path: str, mlflow_model: Model | None = None,
               **kwargs: Any) -> None:
    """mlflow.sklearn.save_model, with the pyfunc flavour's loader pointed at this module
    (``mlflow.models.Model.log`` calls this as a flavour's save_model)."""
    mlflow_model = mlflow_model if mlflow_model is not None else Model()
    kwargs.pop("validate_serving_input", None)  # Model.log's option, not a save option
    mlflow.sklearn.save_model(sk_model, path, mlflow_model=mlflow_model, **kwargs)
    mlflow_model.flavors[PYFUNC]["loader_module"] = __name__
    mlflow_model.save(str(Path(path) / "MLmodel"))


def log_model(sk_model: PDModel, name: str, **kwargs: Any) -> None:
    """Log ``sk_model`` in the active run like mlflow.sklearn.log_model, with our pyfunc.

    MLflow's check that the input example can be served (load the pyfunc again, predict) is
    skipped: saving already loads the skops file back with its trusted types, the signature
    comes from predicting the same example, and promote loads the version through this pyfunc
    and scores its logged holdout before it moves a stage (model_check). The check only
    warned, and cost about 1 s a step at 100,000 loans.
    """
    Model.log(artifact_path=None, name=name, flavor=sys.modules[__name__], sk_model=sk_model,
              validate_serving_input=False, **kwargs)


class ReasonedPDModel:
    """The pyfunc implementation: a PDModel whose predict takes ``params={"reasons": k}``,
    and whose numeric inputs (``Any`` in its signature) take int or float columns."""

    def __init__(self, model: PDModel, numeric_columns: list[str] | None = None):
        self.model = model
        self.numeric_columns = numeric_columns or []

    def get_raw_model(self) -> PDModel:
        return self.model

    def predict(self, data: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """The PDs (and reasons) of ``data``. A bad ``reasons`` or rows the model cannot score
        raise MlflowException with one short line: ``mlflow models serve`` answers it as a
        4xx JSON body without a traceback (any other exception's body carries one)."""
        from mlflow.exceptions import MlflowException

        from pd_lib.data.schema import numbers_as_float
        from pd_lib.errors import PipelineError, first_line

        reasons = _reasons(params)
        try:
            data = numbers_as_float(data, self.numeric_columns)
        except PipelineError as exc:
            raise MlflowException.invalid_parameter_value(str(exc)) from None
        try:
            return predict_with_reasons(self.model, data, reasons)
        except Exception as exc:

            raise MlflowException.invalid_parameter_value(
                f"the PD model cannot score these rows ({type(exc).__name__}: "
                f"{first_line(exc)})") from None


def _reasons(params: dict[str, Any] | None) -> int:
    """The ``reasons`` inference parameter: a whole number from 0 to MAX_REASONS, else
    MlflowException(INVALID_PARAMETER_VALUE) naming the value and the limit."""
    from mlflow.exceptions import MlflowException

    from pd_lib.config import MAX_REASONS

    value = (params or {}).get("reasons") or 0
    try:
        number = float(value)
        if number == int(number) and 0 <= number <= MAX_REASONS:
            return int(number)
    except (TypeError, ValueError, OverflowError):
        pass
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:40] + "..."
    raise MlflowException.invalid_parameter_value(
        f"reasons must be a whole number from 0 to {MAX_REASONS}; got {shown}")


# Signature types a float64 column satisfies: ``Any`` (the numeric inputs this pipeline logs)
# and double or float (models logged before). A ``long`` input is left alone: MLflow refuses
# float64 there.
FLOAT_INPUT_TYPES = ("Any", "double", "float")


def numeric_inputs(signature: ModelSignature) -> list[str]:
    """The signature's numeric inputs that take float64, as training stored them."""
    return [spec.name for spec in signature.inputs.inputs
            if getattr(spec.type, "name", str(spec.type)) in FLOAT_INPUT_TYPES]


def _load_pyfunc(path: str) -> ReasonedPDModel:
    """Called by mlflow.pyfunc.load_model with the skops file (or the model directory)."""
    model_dir = Path(path).parent if Path(path).is_file() else Path(path)
    signature = Model.load(str(model_dir / "MLmodel")).signature
    numeric = numeric_inputs(signature) if signature and signature.inputs else []
    return ReasonedPDModel(load_pd_model(model_dir), numeric)


def load_pd_model(model_dir: Path) -> PDModel:
    """The PD model saved in ``model_dir``, loaded without running anything it names.

    Only a skops file is read, and only with the types trusted in our code
    (pd_lib.modelling.skops_trust.trusted_types): never the trust list in the artifact's own
    MLmodel, which whoever can write the store could extend (``posix.system``), and never a
    pickle, cloudpickle or joblib file, which runs code as it loads. Anything else is refused
    with one line naming the file.
    """
    import skops.io
    from skops.io.exceptions import UntrustedTypesFoundException

    from pd_lib.errors import PipelineError, first_line
    from pd_lib.modelling.skops_trust import trusted_types

    try:
        flavor = Model.load(str(model_dir / "MLmodel")).flavors["sklearn"]
        model_file = model_dir / flavor["pickled_model"]
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise PipelineError(f"{model_dir / 'MLmodel'} does not describe a saved PD model "
                            f"({type(exc).__name__}: {exc}); promote a version whose model "
                            "loads.") from None
    serialization = flavor.get("serialization_format", "")
    if serialization != "skops" or model_file.suffix != ".skops":
        raise PipelineError(f"{model_file} is saved as '{serialization}', not skops: loading "
                            "it could run code it names, so it is refused; retrain and log the "
                            "model with this pipeline.")
    try:  # skops audits every type against the list before it builds any object
        return skops.io.load(model_file, trusted=trusted_types())
    except UntrustedTypesFoundException as exc:
        raise PipelineError(f"{model_file} names types this pipeline does not trust "
                            f"({first_line(exc)}); it is refused unloaded.") from None
    except Exception as exc:  # a damaged zip or schema: skops raises many types
        raise PipelineError(f"{model_file} is not a readable skops file "
                            f"({type(exc).__name__}: {first_line(exc)}).") from None
