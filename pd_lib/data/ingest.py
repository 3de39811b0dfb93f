"""Read a user's loan file (.csv or .parquet), validate it, and return the canonical schema.

The canonical schema (see :mod:`pd_lib.config`): ``default`` (int 0/1), ``loan_id`` (unique),
``origination_date`` (datetime, when the file has dates) and the features, numeric or
categorical, NaNs allowed. A file that cannot be used raises :class:`PipelineError` with one
line naming the file, the column, the offending values and what to do.

Rules, in the order they are checked:

- the file exists, ends in ``.csv``, ``.parquet`` or ``.pq``, is not empty and can be parsed
  (UTF-8 CSV whose rows all have as many fields as the header; a readable Parquet file);
- the target column exists; rows with no label are dropped with a warning, unless more than
  ``MAX_MISSING_TARGET_SHARE`` (50%) of them have none, which is an error;
- labels are 0/1 (ints, floats or the strings "0"/"1"), booleans, or strings mapped by
  ``label_map``: comma-separated ``value=0|1`` pairs, e.g. ``"bad=1,good=0"``. Several values
  may map to the same label (``"Charged Off=1,Default=1,Fully Paid=0"``); values are compared
  after trimming spaces, case-sensitively. Both 0 and 1 must occur;
- ids (``id_col``, else an existing ``loan_id`` column) must be present and unique; without
  either, ``loan_id`` is the row number starting at 1;
- dates (``date_col``, else an existing ``origination_date`` column) must all be present and
  parse, in one format per column, inferred from the first value (ISO ``2021-03-01`` is
  safest);
- no column may be empty in every row;
- a text column whose non-empty values are mostly numbers (at least
  ``NUMERIC_TEXT_SHARE``, 80%) is a numeric column holding text: an error naming the column
  and a few of the values that are not numbers (empty cells and the usual NA spellings such
  as ``NA`` or ``null`` are missing values, not text); a text column holding at least
  ``MIXED_DISTINCT_NUMBERS`` (5) different numbers among mostly text is one too (mostly
  'unknown', say): an error naming the column; a categorical column's codes are text, or
  a few numbers among them;
- column names are unique, and at least one characteristic is left besides the target, id
  and date;
- at least ``MIN_ROWS`` labelled rows remain, so the data can be split into train and holdout.
"""

from __future__ import annotations

import csv
import logging
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow
import pyarrow.parquet

from pd_lib.config import DATE_COL, DATE_DTYPE, ID_COL, TARGET_COL
from pd_lib.data.schema import MIN_SAMPLES
from pd_lib.errors import PipelineError, first_line

log = logging.getLogger("pd_pipeline")

SUPPORTED_EXTENSIONS = (".csv", ".parquet", ".pq")
MAX_MISSING_TARGET_SHARE = 0.5
NUMERIC_TEXT_SHARE = 0.8
MIXED_DISTINCT_NUMBERS = 5
MIN_ROWS = MIN_SAMPLES
SHOWN_VALUES = 3


def _fail(path: str | Path, message: str) -> PipelineError:
    return PipelineError(f"{path}: {message}")


def _show(values: list) -> str:
    """A few values, quoted, for a message: 'a', 'b', 'c' (and 4 more)."""
    shown = ", ".join(repr(str(v)) for v in values[:SHOWN_VALUES])
    hidden = len(values) - SHOWN_VALUES
    return shown + (f" (and {hidden} more)" if hidden > 0 else "")


# --- reading -------------------------------------------------------------------------------


def _check_file(path: Path) -> None:
    if not path.exists():
        raise _fail(path, "file not found; pass source=<path to a .csv or .parquet loan "
                          "file> (relative to the project directory), or source=synthetic.")
    if path.is_dir():
        raise _fail(path, "is a directory, not a file; pass the path of a .csv or .parquet file.")
    if not os.access(path, os.R_OK):
        raise _fail(path, "cannot be read (permission denied); make the file readable for "
                          "this user.")
    if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
        raise _fail(path, f"unsupported file type '{path.suffix or '(none)'}'; save the data as "
                          ".csv or .parquet.")
    if path.stat().st_size == 0:
        raise _fail(path, "the file is empty (0 bytes); export the loan data into it again.")


def _check_csv_rows(path: Path) -> None:
    """Every non-blank row has as many fields as the header (pandas would pad short rows)."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise _fail(path, "the file is empty; export the loan data into it again.")
            _check_unique_names(path, header)
            for row in reader:
                if row and len(row) != len(header):
                    raise _fail(
                        path,
                        f"row at line {reader.line_num} has {len(row)} fields but the header has "
                        f"{len(header)}; fix that row (a stray or missing comma, or an unquoted "
                        "comma inside a value) or re-export the file.",
                    )
    except UnicodeDecodeError as exc:
        raise _fail(path, f"is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as "
                          "UTF-8 CSV.") from None
    except csv.Error as exc:
        raise _fail(path, f"is not valid CSV ({exc}); re-export the file.") from None


def _check_unique_names(path: Path, names: list) -> None:
    """Each column name once: pandas would rename a second 'income' to 'income.1' (a CSV) and
    a model would take two characteristics for one."""
    seen: dict[str, int] = {}
    for name in names:
        seen[str(name)] = seen.get(str(name), 0) + 1
    repeated = [name for name, count in seen.items() if count > 1]
    if repeated:
        raise _fail(path, f"column names must be unique; {_show(repeated)} "
                          f"{'is' if len(repeated) == 1 else 'are'} in the header "
                          f"{seen[repeated[0]]} times; rename or drop the repeated columns.")


# Cells pandas reads as missing by default (read_csv's na_values), besides empty ones: a
# "None" or "n/a" in a loan file becomes a missing value, which the log and the data summary
# say (issue 14: it happened without a word).
NA_TOKENS = frozenset({"#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
                       "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a",
                       "nan", "null"})
READ_AS_MISSING = "read_as_missing"  # frame.attrs key: column -> {token: count}
# Larger magnitudes overflow float32, which tree models bin features in.
MAX_FEATURE_MAGNITUDE = float(np.finfo(np.float32).max)


def na_tokens_per_column(path: Path) -> dict[str, dict[str, int]]:
    """Per column, how many cells held each of pandas' NA tokens (read as missing)."""
    raw = pd.read_csv(path, encoding="utf-8", dtype=str, keep_default_na=False)
    counts = {}
    for column in raw.columns:
        found = raw[column][raw[column].isin(NA_TOKENS)].value_counts()
        if len(found):
            counts[str(column)] = {str(k): int(v) for k, v in found.items()}
    return counts


def _read_csv(path: Path) -> pd.DataFrame:
    _check_csv_rows(path)
    try:
        frame = pd.read_csv(path, encoding="utf-8")
        frame.attrs[READ_AS_MISSING] = na_tokens_per_column(path)
        return frame
    except pd.errors.EmptyDataError:
        raise _fail(path, "the file has no header and no rows; export the loan data into it "
                          "again.") from None
    except pd.errors.ParserError as exc:
        reason = str(exc).strip().splitlines()[-1]
        raise _fail(path, f"cannot be parsed as CSV ({reason}); re-export the file.") from None


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        names = pyarrow.parquet.read_schema(path).names
        _check_unique_names(path, names)
        return pd.read_parquet(path)
    except (pyarrow.ArrowException, OSError, ValueError) as exc:
        reason = first_line(exc)
        reason = reason.replace(f"Could not open Parquet input source '{path}': ", "")
        raise _fail(path, f"cannot be read as Parquet ({reason}); the file may be truncated or "
                          "not Parquet at all: write it again, e.g. with "
                          "DataFrame.to_parquet.") from None


def read_table(path: str | Path) -> pd.DataFrame:
    """The raw table in a .csv or .parquet file, or a PipelineError saying why not."""
    path = Path(path)
    _check_file(path)
    frame = _read_csv(path) if path.suffix.lower() == ".csv" else _read_parquet(path)
    if frame.shape[1] == 0:
        raise _fail(path, "the file has no columns; export the loan data into it again.")
    if len(frame) == 0:
        raise _fail(path, f"the file has a header ({frame.shape[1]} columns) but no rows; "
                          "export the loan data into it again.")
    return frame


# --- labels --------------------------------------------------------------------------------


def parse_label_map(label_map: str) -> dict[str, int]:
    """``"bad=1,good=0"`` -> ``{"bad": 1, "good": 0}``; a PipelineError on bad syntax."""
    mapping: dict[str, int] = {}
    for pair in label_map.split(","):
        value, sep, label = pair.rpartition("=")
        value, label = value.strip(), label.strip()
        if not sep or not value or label not in ("0", "1"):
            raise PipelineError(
                f"label_map '{label_map}': '{pair.strip()}' is not value=0 or value=1; write "
                "it as comma-separated pairs, e.g. label_map=\"bad=1,good=0\" (1 = default)."
            )
        if value in mapping and mapping[value] != int(label):
            raise PipelineError(f"label_map '{label_map}': '{value}' is mapped to both 0 and 1.")
        mapping[value] = int(label)
    if set(mapping.values()) != {0, 1}:
        raise PipelineError(
            f"label_map '{label_map}' must map at least one value to 1 (default) and one to 0; "
            "e.g. label_map=\"bad=1,good=0\"."
        )
    return mapping


def _as_label_text(values: pd.Series) -> pd.Series:
    """Labels as trimmed strings, whole-number floats without '.0' (1.0 -> '1')."""
    if pd.api.types.is_float_dtype(values.dtype):
        whole = values == values.round()
        text = values.astype(str)
        text[whole] = values[whole].astype("int64").astype(str)
        return text
    return values.astype(str).str.strip()


def _value_counts_text(values: pd.Series) -> str:
    counts = values.value_counts(sort=True)
    return ", ".join(f"{v!r} ({n} rows)" for v, n in counts.head(SHOWN_VALUES).items())


def _labels_to_int(path: Path, target: str, values: pd.Series, label_map: str) -> pd.Series:
    """Map the (non-missing) labels in ``values`` to int 0/1."""
    if label_map:
        mapping = parse_label_map(label_map)
        text = _as_label_text(values)
        unmapped = text[~text.isin(list(mapping))]
        if len(unmapped):
            raise _fail(
                path,
                f"column '{target}' has values not in label_map '{label_map}': "
                f"{_value_counts_text(unmapped)}; add them to label_map or fix those rows.",
            )
        return text.map(mapping).astype("int64")
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("int64")
    text = _as_label_text(values)
    lowered = text.str.lower()
    if lowered.isin(["true", "false"]).all():
        return (lowered == "true").astype("int64")
    if text.isin(["0", "1"]).all():
        return text.astype("int64")
    distinct = sorted(text.unique().tolist())
    if set(distinct) >= {"0", "1"}:
        others = text[~text.isin(["0", "1"])]
        raise _fail(
            path,
            f"column '{target}' has values besides 0 and 1: {_value_counts_text(others)}; a PD "
            "label must be 0/1 (1 = default): fix or drop those rows.",
        )
    first = distinct[0]
    raise _fail(
        path,
        f"column '{target}' holds {_show(distinct)}, not 0/1 or true/false; pass label_map to "
        f"map the value that means default to 1 and the other to 0, e.g. "
        f"label_map=\"{first}=1,...=0\" if '{first}' means default.",
    )


def canonical_target(
    frame: pd.DataFrame, path: Path, target: str, label_map: str
) -> pd.DataFrame:
    """``frame`` with ``target`` renamed to ``default`` (int 0/1) and unlabelled rows dropped."""
    if target not in frame.columns:
        raise _fail(
            path,
            f"no target column '{target}'; its columns are {_show(list(frame.columns))}; pass "
            "target=<the column holding the default flag>.",
        )
    if target != TARGET_COL and TARGET_COL in frame.columns:
        raise _fail(path, f"has both a '{TARGET_COL}' column and the target '{target}'; rename "
                          f"or drop '{TARGET_COL}' so the target is unambiguous.")
    missing = frame[target].isna()
    if missing.mean() > MAX_MISSING_TARGET_SHARE:
        raise _fail(
            path,
            f"column '{target}' has no label in {int(missing.sum())} of {len(frame)} rows "
            f"({missing.mean():.0%}; at most {MAX_MISSING_TARGET_SHARE:.0%} may be missing); "
            "fill in the labels, or check that target names the right column.",
        )
    if missing.any():
        log.warning("%s: dropped %d of %d rows with no label in column '%s'", path,
                    int(missing.sum()), len(frame), target)
        frame = frame.loc[~missing].reset_index(drop=True)
    labels = _labels_to_int(path, target, frame[target], label_map)
    if labels.nunique() < 2:
        only = int(labels.iloc[0])
        raise _fail(
            path,
            f"column '{target}' has only {'defaults (1)' if only else 'non-defaults (0)'} in all "
            f"{len(labels)} labelled rows; a PD model needs both defaults and non-defaults.",
        )
    frame = frame.drop(columns=[target])
    frame[TARGET_COL] = labels.to_numpy()
    return frame


# --- ids and dates -------------------------------------------------------------------------


def canonical_id(frame: pd.DataFrame, path: Path, id_col: str) -> pd.DataFrame:
    """``frame`` with a unique ``loan_id``: from ``id_col``, an existing one, or row numbers."""
    column = id_col or (ID_COL if ID_COL in frame.columns else "")
    if not column:
        frame.insert(0, ID_COL, pd.RangeIndex(1, len(frame) + 1).to_numpy())
        return frame
    if column not in frame.columns:
        raise _fail(path, f"no id column '{column}'; its columns are "
                          f"{_show(list(frame.columns))}; pass id_col=<id column> or leave it "
                          "empty to number the rows.")
    if column != ID_COL and ID_COL in frame.columns:
        raise _fail(path, f"has both a '{ID_COL}' column and id_col '{column}'; rename or drop "
                          f"'{ID_COL}'.")
    ids = frame[column]
    if ids.isna().any():
        raise _fail(path, f"column '{column}' has no id in {int(ids.isna().sum())} rows; fill "
                          "them in, or leave id_col empty to number the rows.")
    duplicated = ids[ids.duplicated(keep=False)]
    if len(duplicated):
        raise _fail(
            path,
            f"column '{column}' has duplicate ids: {_value_counts_text(duplicated)}; ids must "
            "be unique: remove the duplicate rows, or leave id_col empty to number the rows.",
        )
    frame = frame.rename(columns={column: ID_COL})
    return frame[[ID_COL] + [c for c in frame.columns if c != ID_COL]]


def canonical_date(frame: pd.DataFrame, path: Path, date_col: str) -> pd.DataFrame:
    """``frame`` with ``origination_date`` parsed, when the file has a date column."""
    column = date_col or (DATE_COL if DATE_COL in frame.columns else "")
    if not column:
        return frame
    if column not in frame.columns:
        raise _fail(path, f"no date column '{column}'; its columns are "
                          f"{_show(list(frame.columns))}; pass date_col=<origination date "
                          "column> or leave it empty.")
    if column != DATE_COL and DATE_COL in frame.columns:
        raise _fail(path, f"has both a '{DATE_COL}' column and date_col '{column}'; rename or "
                          f"drop '{DATE_COL}'.")
    raw = frame[column]
    if raw.isna().any():
        raise _fail(path, f"column '{column}' has no date in {int(raw.isna().sum())} rows; fill "
                          "them in (dates as YYYY-MM-DD), or drop those rows.")
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        dates = raw
    else:
        with warnings.catch_warnings():  # "could not infer format": reported below instead
            warnings.simplefilter("ignore", UserWarning)
            dates = pd.to_datetime(raw.astype(str).str.strip(), errors="coerce")
    bad = raw[dates.isna()]
    if len(bad):
        shown = _show(bad.astype(str).unique().tolist())
        raise _fail(
            path,
            f"column '{column}' has {len(bad)} values that are not dates: {shown}; write dates "
            "as YYYY-MM-DD (e.g. 2021-03-01), one format for the whole column.",
        )
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_convert("UTC").dt.tz_localize(None)
    frame = frame.drop(columns=[column])
    frame.insert(1, DATE_COL, dates.astype(DATE_DTYPE).to_numpy())
    return frame


# --- features ------------------------------------------------------------------------------


def numeric_text_values(values: pd.Series) -> list[str] | None:
    """The values that are not numbers, if ``values`` is a text column of mostly numbers.

    None when the column is not text, or when fewer than NUMERIC_TEXT_SHARE of its non-empty
    values parse as numbers (then it is a genuine categorical column).
    """
    if not (pd.api.types.is_string_dtype(values.dtype) or values.dtype == object):
        return None
    present = values.dropna()
    present = present[present.astype(str).str.strip() != ""]
    if present.empty:
        return None
    parsed = pd.to_numeric(present.astype(str).str.strip(), errors="coerce")
    share = parsed.notna().mean()
    if share < NUMERIC_TEXT_SHARE or share == 1.0:
        return None
    return present[parsed.isna()].astype(str).unique().tolist()


def mixed_text_counts(values: pd.Series) -> tuple[list[str], int, int] | None:
    """(the text values, rows of text, distinct numbers) if ``values`` is a text column that
    holds at least MIXED_DISTINCT_NUMBERS different numbers but fewer than NUMERIC_TEXT_SHARE
    of its non-empty values are numbers: a numeric characteristic whose cells are mostly
    text ('unknown', 'see notes'), not a categorical one (whose codes are not numbers, or a
    few). None otherwise."""
    if not (pd.api.types.is_string_dtype(values.dtype) or values.dtype == object):
        return None
    present = values.dropna().astype(str).str.strip()
    present = present[present != ""]
    parsed = pd.to_numeric(present, errors="coerce")
    if present.empty or parsed.notna().mean() >= NUMERIC_TEXT_SHARE:
        return None
    distinct_numbers = parsed.dropna().nunique()
    if distinct_numbers < MIXED_DISTINCT_NUMBERS:
        return None
    text = present[parsed.isna()]
    return text.unique().tolist(), len(text), int(distinct_numbers)


def check_values(frame: pd.DataFrame, path: Path) -> None:
    """No nested values (lists, dicts: a Parquet list column), no infinite or float32-
    overflowing numbers; each refused with its column named."""
    for column in frame.columns:
        values = frame[column]
        if values.dtype == object:
            nested = values.map(lambda v: isinstance(v, (list, tuple, dict, set, np.ndarray)))
            if nested.any():
                raise _fail(path, f"column '{column}' holds lists or other nested values in "
                                  f"{int(nested.sum())} rows; a loan file needs one number, "
                                  "text or date per cell (flatten or drop the column).")
        elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
            bad = np.isinf(numbers) | (np.abs(np.nan_to_num(numbers)) > MAX_FEATURE_MAGNITUDE)
            if bad.any():
                raise _fail(path, f"column '{column}' has {int(bad.sum())} infinite or too "
                                  f"large values (|x| > {MAX_FEATURE_MAGNITUDE:.3g}): "
                                  f"{_show(sorted(set(numbers[bad].tolist()))[:3])}; replace "
                                  "them with real numbers, or leave the cells empty.")


def _report_read_as_missing(frame: pd.DataFrame, path: Path) -> None:
    tokens = frame.attrs.get(READ_AS_MISSING) or {}
    for column, counts in tokens.items():
        shown = ", ".join(f"'{token}' {count}" for token, count in counts.items())
        log.info("%s: column '%s': %d cells read as missing (%s)", path.name, column,
                 sum(counts.values()), shown)


def check_features(frame: pd.DataFrame, path: Path) -> None:
    """No empty column, no numeric column holding text."""
    for column in frame.columns:
        if frame[column].isna().all():
            raise _fail(path, f"column '{column}' is empty in every row; drop the column or fill "
                              "it in.")
    for column in frame.columns:
        if column in (ID_COL, DATE_COL, TARGET_COL):
            continue
        bad = numeric_text_values(frame[column])
        if bad:
            count = int(frame[column].astype(str).isin(bad).sum())
            raise _fail(
                path,
                f"column '{column}' is numeric but {count} rows hold text: {_show(bad)}; "
                "replace them with numbers, or leave the cells empty to mark them missing.",
            )
        mixed = mixed_text_counts(frame[column])
        if mixed:
            text, count, numbers = mixed
            raise _fail(
                path,
                f"column '{column}' mixes numbers and text: {count} of "
                f"{int(frame[column].notna().sum())} rows hold text ({_show(text)}) and the "
                f"others {numbers} different numbers; a characteristic is either numeric "
                "(leave the unknown cells empty) or categorical (codes that are not numbers): "
                "fix the column or drop it.",
            )
    characteristics = [c for c in frame.columns if c not in (ID_COL, DATE_COL, TARGET_COL)]
    if not characteristics:
        raise _fail(path, "has no characteristic to model: no column besides the target, the "
                          "id and the date; add the loans' characteristics (income, grade, "
                          "...).")


def read_loan_file(
    path: str,
    target: str = TARGET_COL,
    id_col: str = "",
    date_col: str = "",
    label_map: str = "",
) -> pd.DataFrame:
    """The loans in a .csv or .parquet file, validated, in the canonical schema."""
    file = Path(path)
    return canonical_loans(read_table(file), file, target, id_col, date_col, label_map)


def canonical_loans(frame: pd.DataFrame, file: Path, target: str = TARGET_COL,
                    id_col: str = "", date_col: str = "", label_map: str = "") -> pd.DataFrame:
    """``frame``, read from ``file`` (a file, or a sample of a Parquet data set), validated
    by the rules above and in the canonical schema."""
    path = str(file)
    frame = canonical_target(frame, file, target or TARGET_COL, label_map)
    frame = canonical_id(frame, file, id_col)
    frame = canonical_date(frame, file, date_col)
    check_values(frame, file)
    check_features(frame, file)
    _report_read_as_missing(frame, file)
    if len(frame) < MIN_ROWS:
        raise _fail(path, f"has only {len(frame)} labelled rows; at least {MIN_ROWS} are needed "
                          "to split the data into train and holdout.")
    target_first = [c for c in frame.columns if c != TARGET_COL] + [TARGET_COL]
    tokens = frame.attrs.get(READ_AS_MISSING, {})
    result = frame[target_first].reset_index(drop=True)
    result.attrs[READ_AS_MISSING] = tokens
    return result
