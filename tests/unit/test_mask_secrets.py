"""Credentials are masked in every form a tracking URI carries them (issue 29: a password
with '/', or passed as ?password=, was printed whole)."""

from __future__ import annotations

import pytest

from pd_lib.errors import mask_secrets


@pytest.mark.parametrize(("text", "secret"), [
    ("cannot reach postgresql://pd:hunter2@db.bank:5432/mlflow", "hunter2"),
    ("cannot reach postgresql://pd:s3cr/et@db.bank:5432/mlflow", "s3cr/et"),
    ("cannot reach postgresql://pd:s3cr/et@db.bank:5432/mlflow", "et@db"),
    ("http://alice:pa:ss@tracking:5000", "pa:ss"),
    ("http://alice:p@ss/w@tracking:5000/api", "p@ss/w"),
    ("postgresql://pd@db/mlflow?password=hunter2&sslmode=require", "hunter2"),
    ("postgresql://pd@db/mlflow?sslmode=require&PASSWORD=Hunter2", "Hunter2"),
    ("https://store/x?token=abc123", "abc123"),
    ("two: postgresql://a:one@h1/x and http://b:two@h2", "one"),
    ("two: postgresql://a:one@h1/x and http://b:two@h2", "two@"),
])
def test_the_secret_is_gone_and_the_rest_is_readable(text, secret):
    masked = mask_secrets(text)
    assert secret not in masked
    assert "***" in masked
    host = text.split("@")[-1].split(":")[0].split("/")[0].split("?")[0]
    assert host in masked or "password" in text.lower() or "token" in text


@pytest.mark.parametrize("text", [
    "sqlite:///mlflow.db", "file:///tmp/mlruns", "see https://example.org/a@b for help",
    "models:/pd_model_v1@champion", "runs:/abc/model"])
def test_text_without_credentials_is_unchanged(text):
    assert mask_secrets(text) == text
