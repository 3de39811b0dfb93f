"""Bad loan files, each with the parameters to read it and the message it must produce.

Shared by the ingest unit tests and the generate-step tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

N = 40  # rows in a good file: above the minimum needed to split


def good_frame(n: int = N) -> pd.DataFrame:
    """A small valid loan table with a 0/1 target named 'bad_flag'."""
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "application_id": [f"A{i:04d}" for i in range(n)],
        "opened": pd.date_range("2021-01-01", periods=n, freq="MS").strftime("%Y-%m-%d"),
        "income": rng.integers(20_000, 90_000, n),
        "grade": rng.choice(["A", "B", "C"], n),
        "bad_flag": np.arange(n) % 4 == 0,
    })


def _csv(frame: pd.DataFrame) -> Callable[[Path], Path]:
    def write(path: Path) -> Path:
        frame.to_csv(path, index=False)
        return path
    return write


def _text(text: str | bytes) -> Callable[[Path], Path]:
    def write(path: Path) -> Path:
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return path
    return write


def _truncated_parquet(path: Path) -> Path:
    good_frame().to_parquet(path, index=False)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _with(**changes) -> pd.DataFrame:
    frame = good_frame()
    for column, values in changes.items():
        frame[column] = values
    return frame


def _income_with_text() -> pd.DataFrame:
    frame = good_frame()
    frame["income"] = frame["income"].astype(str)
    frame.loc[[3, 7, 8], "income"] = ["unknown", "n.a.", "unknown"]
    return frame


def _duplicated_ids() -> pd.DataFrame:
    frame = good_frame()
    frame.loc[5, "application_id"] = frame.loc[4, "application_id"]
    return frame


def _bad_dates() -> pd.DataFrame:
    frame = good_frame()
    frame.loc[[2, 9], "opened"] = ["2021-13-45", "last spring"]
    return frame


def _missing_dates() -> pd.DataFrame:
    frame = good_frame()
    frame.loc[[4, 5], "opened"] = None
    return frame


def _mostly_unlabelled() -> pd.DataFrame:
    frame = good_frame()
    frame["bad_flag"] = frame["bad_flag"].astype(object)
    frame.loc[: int(N * 0.6), "bad_flag"] = None
    return frame


def _third_label() -> pd.DataFrame:
    frame = good_frame()
    frame["bad_flag"] = frame["bad_flag"].astype(int)
    frame.loc[[1, 2], "bad_flag"] = 2
    return frame


def _parquet(frame: pd.DataFrame) -> Callable[[Path], Path]:
    def write(path: Path) -> Path:
        frame.to_parquet(path, index=False)
        return path
    return write


def _income_with(*values: float) -> pd.DataFrame:
    frame = good_frame()
    frame["income"] = frame["income"].astype(float)
    frame.loc[list(range(len(values))), "income"] = list(values)
    return frame


def _income_mostly_text() -> pd.DataFrame:
    frame = good_frame()
    frame["income"] = frame["income"].astype(str)
    frame.loc[: int(N * 0.6), "income"] = "unknown"
    return frame


def _duplicate_names_parquet(path: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = good_frame()
    pq.write_table(pa.Table.from_arrays(
        [pa.array(frame["income"]), pa.array(frame["income"]), pa.array(frame["bad_flag"])],
        names=["income", "income", "bad_flag"]), path)
    return path


@dataclass
class BadInput:
    """A file the generate step must refuse with ``message`` in its one error line."""

    name: str
    filename: str
    write: Callable[[Path], Path] | None
    message: str
    params: dict[str, str] = field(default_factory=dict)


GOOD_PARAMS = {"target": "bad_flag", "id_col": "application_id", "date_col": "opened"}

BAD_INPUTS = [
    BadInput("missing file", "nowhere.csv", None, "file not found"),
    BadInput("unsupported extension", "loans.xlsx", _text("a,b\n1,2\n"),
             "unsupported file type '.xlsx'; save the data as .csv or .parquet"),
    BadInput("empty file", "empty.csv", _text(""), "the file is empty (0 bytes)"),
    BadInput("header only", "header.csv", _text("a,bad_flag\n"),
             "has a header (2 columns) but no rows"),
    BadInput("corrupt parquet", "broken.parquet", _text(b"PAR1 this is not really parquet"),
             "cannot be read as Parquet"),
    BadInput("truncated parquet", "truncated.parquet", _truncated_parquet,
             "cannot be read as Parquet"),
    BadInput("ragged row", "ragged.csv",
             _text("income,grade,bad_flag\n100,A,0\n200,B,1,extra\n300,C,0\n"),
             "row at line 3 has 4 fields but the header has 3"),
    BadInput("short row", "short.csv", _text("income,grade,bad_flag\n100,A,0\n200,1\n"),
             "row at line 3 has 2 fields but the header has 3"),
    BadInput("missing target column", "notarget.csv", _csv(good_frame()),
             "no target column 'creditability'", {"target": "creditability"}),
    BadInput("target with a third value", "third.csv", _csv(_third_label()),
             "column 'bad_flag' has values besides 0 and 1: '2' (2 rows)"),
    BadInput("unmapped label", "unmapped.csv",
             _csv(_with(bad_flag=["bad", "good", "unknown", "good"] * (N // 4))),
             "column 'bad_flag' has values not in label_map 'bad=1,good=0': 'unknown' (10 rows)",
             {"label_map": "bad=1,good=0"}),
    BadInput("string labels without label_map", "strings.csv",
             _csv(_with(bad_flag=["bad", "good"] * (N // 2))),
             "column 'bad_flag' holds 'bad', 'good', not 0/1 or true/false; pass label_map"),
    BadInput("bad label_map syntax", "syntax.csv",
             _csv(_with(bad_flag=["bad", "good"] * (N // 2))),
             "label_map 'bad:1,good:0': 'bad:1' is not value=0 or value=1",
             {"label_map": "bad:1,good:0"}),
    BadInput("all one class", "oneclass.csv", _csv(_with(bad_flag=[0] * N)),
             "column 'bad_flag' has only non-defaults (0) in all 40 labelled rows"),
    BadInput("target mostly missing", "unlabelled.csv", _csv(_mostly_unlabelled()),
             "column 'bad_flag' has no label in 25 of 40 rows (62%"),
    BadInput("numeric column holding text", "text.csv", _csv(_income_with_text()),
             "column 'income' is numeric but 3 rows hold text: 'unknown', 'n.a.'"),
    BadInput("all-empty column", "emptycol.csv", _csv(_with(notes=[None] * N)),
             "column 'notes' is empty in every row"),
    BadInput("duplicate ids", "dupes.csv", _csv(_duplicated_ids()),
             "column 'application_id' has duplicate ids: 'A0004' (2 rows)"),
    BadInput("date that does not parse", "dates.csv", _csv(_bad_dates()),
             "column 'opened' has 2 values that are not dates: '2021-13-45', 'last spring'"),
    BadInput("missing dates", "nodates.csv", _csv(_missing_dates()),
             "column 'opened' has no date in 2 rows"),
    BadInput("too few rows to split", "tiny.csv", _csv(good_frame(8)),
             "has only 8 labelled rows; at least 20 are needed"),
    # issue 14: accepted silently before
    BadInput("infinity in a parquet feature", "inf.parquet", _parquet(_income_with(np.inf)),
             "column 'income' has 1 infinite or too large values"),
    BadInput("minus infinity in a parquet feature", "minf.parquet",
             _parquet(_income_with(-np.inf, np.inf)),
             "column 'income' has 2 infinite or too large values"),
    BadInput("1e308 in a csv feature", "huge.csv", _csv(_income_with(1e308)),
             "column 'income' has 1 infinite or too large values"),
    BadInput("inf text in a csv feature", "inftext.csv", _csv(_income_with(np.inf)),
             "column 'income' has 1 infinite or too large values"),
    BadInput("list column in parquet", "lists.parquet",
             _parquet(_with(tags=[[1, 2]] * N)),
             "column 'tags' holds lists or other nested values in 40 rows"),
    BadInput("struct column in parquet", "structs.parquet",
             _parquet(_with(extra=[{"a": 1}] * N)),
             "column 'extra' holds lists or other nested values in 40 rows"),
    # issue 29: accepted silently before
    BadInput("duplicate column names", "dupcols.csv",
             _text("a,a,bad_flag\n" + "".join(f"{i},{i},{i % 2}\n" for i in range(N))),
             "column names must be unique; 'a' is in the header 2 times"),
    BadInput("duplicate column names in parquet", "dupcols.parquet", _duplicate_names_parquet,
             "column names must be unique; 'income' is in the header 2 times"),
    BadInput("numeric column mostly text", "mostlytext.csv", _csv(_income_mostly_text()),
             "column 'income' mixes numbers and text: 25 of 40 rows hold text ('unknown')"),
    BadInput("only the target column", "onlytarget.csv", _csv(good_frame()[["bad_flag"]]),
             "has no characteristic to model", {"id_col": "", "date_col": ""}),
    BadInput("target, id and date but no characteristic", "nochar.csv",
             _csv(good_frame()[["application_id", "opened", "bad_flag"]]),
             "has no characteristic to model"),
]


def make_bad_file(case: BadInput, directory: Path) -> Path:
    """Write the case's file in ``directory`` (or not, for a missing file); return its path."""
    path = directory / case.filename
    return case.write(path) if case.write else path


def params_for(case: BadInput) -> dict[str, str]:
    """The read parameters of a case: the good ones, overridden by the case's own."""
    return {**GOOD_PARAMS, **case.params}
