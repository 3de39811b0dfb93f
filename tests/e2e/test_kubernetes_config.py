"""deploy/kubernetes: the config is what MLflow's kubernetes backend accepts, checked with
MLflow's own functions (no cluster, no Docker): the backend config, the Docker project, and the
Job MLflow would submit, parsed by the kubernetes client into a V1Job."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from pd_lib.mlflow_layer.mlflow_internals import kubernetes_backend, parse_kubernetes_config
from tests.helpers import PROJECT_ROOT
from tests.servers import require

DEPLOY = PROJECT_ROOT / "deploy" / "kubernetes"
CONFIG = DEPLOY / "kubernetes_config.json"
K8S_PROJECT = DEPLOY / "project"
DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@pytest.fixture
def kube():
    """MLflow's Kubernetes backend (it imports the kubernetes and docker packages)."""
    try:
        import kubernetes  # noqa: F401

        return kubernetes_backend()
    except ImportError:
        require(False, "the kubernetes Python package (requirements-team.txt)")


@pytest.fixture
def backend_config(monkeypatch) -> dict:
    """The committed backend config, parsed by mlflow run's own parser (from the repo root,
    where the README says to run it: the template path is relative to it)."""
    monkeypatch.chdir(PROJECT_ROOT)
    return parse_kubernetes_config(json.loads(CONFIG.read_text()))


def test_backend_config_has_what_mlflow_run_needs(backend_config):
    assert backend_config["repository-uri"]
    assert backend_config["kube-context"]
    assert backend_config["kube-job-template"]["kind"] == "Job"


def test_the_docker_project_passes_mlflows_docker_checks(kube):
    project = kube.load_project(str(K8S_PROJECT))
    kube.validate_docker_env(project)  # name and docker_env.image, as --backend kubernetes checks
    assert DNS_1123_LABEL.match(project.name), "the project name becomes the Job's name"
    for link in ("pd_lib", "steps", "requirements.txt"):
        assert (K8S_PROJECT / link).resolve() == (PROJECT_ROOT / link).resolve()


def test_the_docker_project_has_the_root_projects_entry_points():
    root = yaml.safe_load((PROJECT_ROOT / "MLproject").read_text())
    docker = yaml.safe_load((K8S_PROJECT / "MLproject").read_text())
    assert docker["entry_points"] == root["entry_points"], \
        "stale: run python -m pd_lib.mlproject --write"
    assert docker["name"] == root["name"]
    assert "python_env" not in docker and docker["docker_env"]["image"]


def test_base_image_installs_the_pinned_runtime():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    python = yaml.safe_load((PROJECT_ROOT / "python_env.yaml").read_text())["python"]
    assert f"FROM python:{python}-slim" in dockerfile
    assert "pip install --no-cache-dir -r /tmp/requirements.txt" in dockerfile


def test_the_job_mlflow_would_submit_is_a_valid_kubernetes_job(kube, backend_config,
                                                               monkeypatch):
    import kubernetes

    monkeypatch.setenv("KUBE_MLFLOW_TRACKING_URI", "http://mlflow.mlflow.svc:5000")
    project = kube.load_project(str(K8S_PROJECT))
    command = kube.entry_point_command(
        project, "score", {"data_uri": "runs:/0123/data/loans.parquet"}, None)
    job = kube.job_definition(
        project.name, "registry.example.com/credit-risk/pd-pipeline:abc1234",
        "sha256:" + "0" * 64, kube.run_command(command),
        kube.run_env_vars(run_id="0123", experiment_id="1"), backend_config["kube-job-template"])

    class _Response:  # what ApiClient.deserialize reads
        data = json.dumps(job)

    v1job = kubernetes.client.ApiClient().deserialize(_Response(), "V1Job")
    assert DNS_1123_LABEL.match(v1job.metadata.name) and len(v1job.metadata.name) <= 63
    assert v1job.metadata.namespace  # run_kubernetes_job submits to metadata.namespace
    pod = v1job.spec.template.spec
    assert pod.restart_policy == "Never" and v1job.spec.backoff_limit == 0
    (container,) = pod.containers
    assert container.image.endswith("@sha256:" + "0" * 64)
    assert container.command[:3] == ["python", "-m", "steps.score"]
    assert "runs:/0123/data/loans.parquet" in container.command
    env = {e.name: e for e in container.env}
    assert env["MLFLOW_TRACKING_URI"].value == "http://mlflow.mlflow.svc:5000"
    assert env["MLFLOW_RUN_ID"].value == "0123"
    assert env["MLFLOW_TRACKING_PASSWORD"].value_from.secret_key_ref.name == "mlflow-credentials"
    assert container.resources.limits["memory"]


def test_config_without_a_repository_is_refused_by_mlflow(monkeypatch):
    from mlflow.exceptions import ExecutionException

    monkeypatch.chdir(PROJECT_ROOT)
    broken = {k: v for k, v in json.loads(CONFIG.read_text()).items() if k != "repository-uri"}
    with pytest.raises(ExecutionException, match="repository-uri"):
        parse_kubernetes_config(broken)


def test_template_path_is_relative_to_the_repo_root():
    path = json.loads(CONFIG.read_text())["kube-job-template-path"]
    assert not Path(path).is_absolute() and (PROJECT_ROOT / path).is_file()
