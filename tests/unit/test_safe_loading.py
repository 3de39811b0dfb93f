"""Loading a PD model never runs what the artifact names (issue 29): a pickle swapped in for
the skops file is refused unread, and a skops file is read only with the types our code
trusts, whatever the artifact's own MLmodel lists. Marker files show nothing ran."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io
from mlflow.models import Model
from sklearn.preprocessing import FunctionTransformer

from pd_lib.errors import PipelineError
from pd_lib.mlflow_layer.pd_flavor import load_pd_model
from pd_lib.modelling.factory import build_model
from pd_lib.modelling.skops_trust import trusted_types


class _Marker:
    """Unpickling this creates the marker file: what an attacker's pickle would do."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def _model_dir(tmp_path: Path, file_name: str, serialization: str, trusted: list[str]) -> Path:
    model_dir = tmp_path / "model"
    model_dir.mkdir(exist_ok=True)
    Model(flavors={"sklearn": {"pickled_model": file_name, "serialization_format": serialization,
                               "skops_trusted_types": trusted}}).save(str(model_dir / "MLmodel"))
    return model_dir


def test_a_pickle_swapped_in_is_refused_unread(tmp_path):
    marker = tmp_path / "pwned"
    model_dir = _model_dir(tmp_path, "model.pkl", "pickle", trusted_types())
    (model_dir / "model.pkl").write_bytes(pickle.dumps(_Marker(str(marker))))
    with pytest.raises(PipelineError, match=r"model\.pkl is saved as 'pickle', not skops"):
        load_pd_model(model_dir)
    assert not marker.exists()
    with open(model_dir / "model.pkl", "rb") as handle:  # the attack is real: pickle runs it
        pickle.load(handle)
    assert marker.exists()


def test_a_type_the_artifact_trusts_but_our_code_does_not_is_refused(tmp_path):
    dangerous = FunctionTransformer(func=os.system)
    model_dir = _model_dir(tmp_path, "model.skops", "skops", [*trusted_types(), "posix.system"])
    skops.io.dump(dangerous, model_dir / "model.skops")
    assert "posix.system" in skops.io.get_untrusted_types(file=model_dir / "model.skops")
    with pytest.raises(PipelineError, match="names types this pipeline does not trust"):
        load_pd_model(model_dir)


def test_a_model_we_saved_loads_and_predicts_the_same(tmp_path):
    X = pd.DataFrame({"a": np.arange(200.0), "b": np.arange(200.0) % 7})
    y = (np.arange(200) % 5 == 0).astype(int)
    model = build_model("logistic_regression", {"calibration": "none"}, X, seed=1).fit(X, y)
    model_dir = _model_dir(tmp_path, "model.skops", "skops", [])  # its own list: ignored
    skops.io.dump(model, model_dir / "model.skops")
    loaded = load_pd_model(model_dir)
    np.testing.assert_array_equal(loaded.predict_pd(X), model.predict_pd(X))


def test_a_damaged_file_is_one_line(tmp_path):
    model_dir = _model_dir(tmp_path, "model.skops", "skops", trusted_types())
    (model_dir / "model.skops").write_bytes(b"not a zip")
    with pytest.raises(PipelineError, match="is not a readable skops file"):
        load_pd_model(model_dir)
