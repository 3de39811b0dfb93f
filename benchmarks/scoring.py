"""Scoring speed: pyfunc batch scoring against raw predict_proba, and single-row latency.

    python -m benchmarks.scoring --n-rows 1000000 [--train-rows 100000] [--serve]

Trains the default model on ``--train-rows`` of the book, saves it exactly as the pipeline
does, loads it back as a pyfunc and times, back to back and alternating (best of
``--repeat``): ``predict_proba`` of the fitted model and ``pyfunc.predict`` on ``--n-rows``
rows; then one-row calls of each (p50, p99). With ``--serve`` the saved model is also served
by ``mlflow models serve --env-manager local`` on 127.0.0.1 and one-row requests are timed
on one kept-alive connection.
Prints ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

from benchmarks.model_kinds import load_book
from pd_lib.cores import take_step_share


def _percentiles(seconds: list[float]) -> dict:
    ms = np.asarray(seconds) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
            "calls": len(ms)}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def served_latency(model_dir: Path, row_json: bytes, calls: int, start_timeout: float) -> dict:
    """p50/p99 of one-row /invocations requests to ``mlflow models serve`` (bounded)."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", str(model_dir),
         "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                urllib.request.urlopen(url + "/ping", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    return {"error": "server did not start"}
                time.sleep(0.5)
        # One kept-alive connection, as a client's connection pool holds it: a new TCP
        # connection and urllib's opener per request add ~4-5 ms of client-side work here.
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

        def call() -> None:
            connection.request("POST", "/invocations", body=row_json,
                               headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                raise RuntimeError(f"/invocations answered {response.status}: {body[:300]!r}")

        for _ in range(20):  # warm-up
            call()
        seconds = []
        for _ in range(calls):
            started = time.perf_counter()
            call()
            seconds.append(time.perf_counter() - started)
        connection.close()
        return _percentiles(seconds)
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-rows", type=int, default=1_000_000)
    parser.add_argument("--train-rows", type=int, default=100_000)
    parser.add_argument("--source", default="synthetic")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--serve", action="store_true")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    import mlflow

    from benchmarks.model_defaults import fit_default
    from pd_lib.config import DEFAULT_MODEL
    from pd_lib.data.schema import feature_columns
    from pd_lib.mlflow_layer import pd_flavor
    from pd_lib.mlflow_layer.building.model_logging import model_save_kwargs

    threads = take_step_share()
    book, source = load_book(args.source, args.n_rows, args.seed)
    features = feature_columns(book)
    X = book[features]
    train = book.iloc[: args.train_rows]
    model, kind = fit_default(DEFAULT_MODEL, train, seed=args.seed)  # what train would fit
    result: dict = {"n_rows": args.n_rows, "source": source, "threads": threads,
                    "model": f"{DEFAULT_MODEL}: {kind}"}
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp) / "model"
        pd_flavor.save_model(model, str(model_dir), **model_save_kwargs(model, train))
        pyfunc = mlflow.pyfunc.load_model(str(model_dir))
        raw_s, pyfunc_s = [], []
        for _ in range(args.repeat):
            started = time.perf_counter()
            raw = model.predict_proba(X)[:, 1]
            raw_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            scored = pyfunc.predict(X)
            pyfunc_s.append(time.perf_counter() - started)
        assert np.allclose(raw, scored["pd"].to_numpy())
        result["raw_rows_per_s"] = args.n_rows / min(raw_s)
        result["pyfunc_rows_per_s"] = args.n_rows / min(pyfunc_s)
        result["pyfunc_vs_raw"] = min(raw_s) / min(pyfunc_s)
        row = X.iloc[[0]]
        for name, call in (("raw", lambda: model.predict_proba(row)),
                           ("pyfunc", lambda: pyfunc.predict(row))):
            for _ in range(20):
                call()
            seconds = []
            for _ in range(args.calls):
                started = time.perf_counter()
                call()
                seconds.append(time.perf_counter() - started)
            result[f"one_row_{name}"] = _percentiles(seconds)
        if args.serve:
            payload = json.dumps({"dataframe_split": json.loads(
                row.to_json(orient="split", index=False))}).encode()
            result["one_row_served"] = served_latency(model_dir, payload, args.calls, 180)
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
