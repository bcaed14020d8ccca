"""Readers for NHS England's official NOF files, mapped to tidy internal tables.

Two kinds of file are read (nof-method.md §2); the kind is recognised from the header:

* a **data file** (one row per trust per metric, has ``Metric_ID``) becomes a *metric
  table*;
* a **league-table file** (one row per trust, has ``Average_score``) becomes a *league table*.

Both Q1 (``Reporting_date``) and Q3 (``Quarter``) variants are read; ``*`` and blank cells are
suppressed values; a UTF-8 byte-order mark, UTF-16 (with a byte-order mark) and Windows-1252
text, CRLF line ends, blank lines and rows of empty cells, empty cells after the last column,
stray spaces in headers, other capitalisation and one-letter misspellings of headers (one
release wrote "colum") are accepted. Row numbers are line numbers in the file.
Extra columns are kept where they are known (``Numerator``, ``Denominator``, ``Data_source``)
and otherwise ignored.

Tidy metric table (one row per trust, metric and quarter)::

    source_file, source_row   where the row came from (row = line number, header is 1)
    quarter                   quarter code, e.g. "2025Q3" ("" when the file does not say)
    region, trust_type, trust_subtype, trust_code, trust_name
    domain, sub_domain, metric_id, metric_description, reporting_date, units
    value                     float, NaN when suppressed or blank
    suppressed                True where the published cell was "*"
    numerator, denominator    float, NaN when absent
    median_value, lower_quartile, upper_quartile, published_rank   float

``trust_type`` is a code of ``nhs_league/data/org_types.yaml``: ``acute``,
``mental-health-and-community``, ``ambulance`` or ``icb``.

Tidy league table (one row per trust and quarter)::

    source_file, source_row, quarter, region, trust_type, trust_subtype, trust_code, trust_name
    average_score                       float
    average_range_low, average_range_high   from Likely_range_of_average_score (NaN if absent)
    segment                             Int64 (NA if absent)
    in_deficit                          boolean (NA if absent)
    rank                                Int64 (NA if absent)
    rank_range_low, rank_range_high     from Likely_range_of_rank (NA if absent)

Every problem is an :class:`~nhs_league.errors.InputError` naming file, row and column.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io as _io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import guards, orgtypes
from .catalogue import SUMMARY_IDS, load_catalogue, score_id_map
from .errors import InputError, Problems
from .files import not_text, read_input_bytes
from .quarters import Quarter, parse_quarter, quarter_from_path

# Organisation types come from nhs_league/data/org_types.yaml (nhs_league.orgtypes).
TRUST_TYPE_NAMES = orgtypes.names()
TRUST_TYPE_LABELS = orgtypes.labels()

DATA_COLUMNS = [
    "Region", "Trust_type", "Trust_subtype", "Trust_code", "Trust_name", "Domain", "Sub-domain",
    "Metric_ID", "Metric_description", "Reporting_date", "Units", "Value", "Median_value",
    "Lower_quartile", "Upper_quartile", "Rank", "Quarter",
]
DATA_REQUIRED = ["Trust_type", "Trust_code", "Trust_name", "Metric_ID", "Value"]
LEAGUE_COLUMNS = [
    "Region", "Trust_type", "Trust_subtype", "Trust_code", "Trust_name", "Reporting_date", "Quarter",
    "Average_score", "Likely_range_of_average_score", "Segment", "Trust_in_financial_deficit", "Rank",
    "Likely_range_of_rank",
]
LEAGUE_REQUIRED = ["Trust_type", "Trust_code", "Trust_name", "Average_score"]
EXTRA_COLUMNS = ["Numerator", "Denominator", "Data_source"]
KNOWN_COLUMNS = list(dict.fromkeys(DATA_COLUMNS + LEAGUE_COLUMNS + EXTRA_COLUMNS))
SYNTHETIC_MARK = "SYNTHETIC"


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


_KNOWN_KEYS = {_key(c): c for c in KNOWN_COLUMNS}


def canonical_header(name: str) -> str | None:
    """The official column a header stands for, tolerating case, spacing and a misspelling.

    >>> canonical_header(" metric id ")
    'Metric_ID'
    >>> canonical_header("Metric_descripton")
    'Metric_description'
    >>> canonical_header("Something else") is None
    True
    """
    k = _key(name)
    if k in _KNOWN_KEYS:
        return _KNOWN_KEYS[k]
    close = difflib.get_close_matches(k, list(_KNOWN_KEYS), n=1, cutoff=0.88)
    return _KNOWN_KEYS[close[0]] if close else None


def file_sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _decode(p: Path, data: bytes) -> str:
    """The text of a CSV file: UTF-8 (with or without BOM), UTF-16 with a BOM, else Windows-1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError("cannot read the file: it starts like UTF-16 text but is not; save it as "
                             "CSV UTF-8", file=p) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise InputError(f"cannot read byte 0x{data[exc.start]:02x}: the file is not text in UTF-8 or "
                             "Windows-1252 encoding; save it as CSV UTF-8", file=p,
                             row=data[:exc.start].count(b"\n") + 1) from None
    if "\x00" in text:
        raise InputError("not a CSV text file (it holds NUL bytes): save it as CSV UTF-8", file=p,
                         row=text[:text.index("\x00")].count("\n") + 1)
    return text


def row_of(raw: pd.DataFrame, i) -> int:
    """The line number in the file of row ``i`` (0-based position) of a table from :func:`read_raw_csv`."""
    lines = raw.attrs.get("lines")
    return int(lines[i]) if lines is not None else int(i) + 2


_UNCLOSED_QUOTE = ("a quoted cell that starts on this row is never closed (a '\"' is missing), so the rows "
                   "after it were read as part of it")


def _csv_rows(p: Path, text: str):
    """Header, its line, the cells column by column, and each row's line number: any CSV text.

    Blank rows are skipped; a row longer than the header may only add empty cells; a shorter
    row, or a malformed file, is an :class:`InputError` naming its line.
    """
    reader = csv.reader(_io.StringIO(text, newline=""))
    records, lines = [], []
    header, header_line, width = None, 1, 0
    try:
        prev = 0
        for rec in reader:
            start, prev = prev + 1, reader.line_num
            if not "".join(rec).strip():
                continue  # a blank line, or a row of empty cells
            if header is None:
                while rec and not rec[-1].strip():  # a header ending in commas
                    rec = rec[:-1]
                header, header_line, width = rec, start, len(rec)
                continue
            if reader.line_num > start and any("\n" in f or "\r" in f for f in rec) and len(rec) != width:
                raise InputError(_UNCLOSED_QUOTE, file=p, row=start)
            if len(rec) > width:
                if any(f.strip() for f in rec[width:]):
                    raise InputError(f"this row has {len(rec)} cells but the header has {width} columns",
                                     file=p, row=start)
                rec = rec[:width]
            elif len(rec) < width:
                raise InputError(f"this row has {len(rec)} cells but the header has {width} columns: a "
                                 "comma is missing, or a cell holds an unquoted comma", file=p, row=start)
            records.append(rec)
            lines.append(start)
    except csv.Error as exc:  # named at the row where the bad record starts, not where reading gave up
        unclosed = ("field larger than field limit" in str(exc) and '"' in text) or "unexpected end" in str(exc)
        long_cell = f"a cell is longer than {csv.field_size_limit():,} characters" if "field limit" in str(exc) else ""
        raise InputError(_UNCLOSED_QUOTE if unclosed else long_cell or f"not a well-formed CSV file ({exc})", file=p,
                         row=prev + 1) from None
    if header is None:
        raise InputError("the file is empty", file=p)
    return header, header_line, list(zip(*records)), lines


def _read_bytes(p: Path) -> bytes:
    """The bytes of an input file; a missing file, a folder or an unreadable file is an InputError."""
    if not p.exists():
        raise InputError("file not found", file=p)
    if p.is_dir():
        raise InputError("this is a folder, not a CSV file: give the files in it", file=p)
    return read_input_bytes(p)  # at most --max-bytes (files.max_input_bytes)


def read_raw_csv(path, *, data: bytes | None = None, sha256: str | None = None) -> pd.DataFrame:
    """Read a CSV file as strings with canonical headers; reject Excel files and empty files.

    Rows that are entirely blank (a blank line, or only commas as spreadsheets leave them) are
    skipped; blank cells after the last column are ignored. ``attrs['lines']`` holds each row's
    line number in the file (the header is line 1), so messages name the right line even after
    a skipped blank line or a quoted cell that spans lines; ``attrs['sha256']`` is the hash of
    the bytes read. ``data``, when given, are the file's bytes already read (not read again), and
    ``sha256`` their hash if already computed (not computed again).
    """
    p = Path(path)
    data = _read_bytes(p) if data is None else data
    if not_text(data):  # a workbook, a compressed file, a PDF
        raise InputError(not_text(data), file=p)
    if not data.strip():
        raise InputError("the file is empty", file=p)
    text = _decode(p, data)
    header, header_line, columns, lines = _csv_rows(p, text)  # the standard library's csv reader
    keep, names, seen = [], [], {}
    for j, col in enumerate(header):
        canon = canonical_header(str(col))
        if canon is None:
            continue
        if canon in seen:
            i = seen[canon]
            what = (f"the header has '{col}' twice" if header[i].strip() == col.strip()
                    else f"'{header[i]}' and '{col}'")
            raise InputError(f"two columns stand for '{canon}' ({what}, columns {i + 1} and {j + 1})",
                             file=p, row=header_line, column=col)
        seen[canon] = j
        keep.append(j)
        names.append(canon)
    if not lines:
        raise InputError("the file has a header but no rows", file=p, row=header_line + 1)
    raw = pd.DataFrame({name: pd.array(list(map(str.strip, columns[j])), dtype="str")
                        for j, name in zip(keep, names)}, index=pd.RangeIndex(len(lines)))
    raw.attrs["path"] = str(p)
    raw.attrs["sha256"] = sha256 or hashlib.sha256(data).hexdigest()  # of the bytes parsed, not read again
    raw.attrs["lines"] = np.asarray(lines, dtype=np.int64)
    raw.attrs["header_line"] = header_line
    return raw


def file_kind(raw: pd.DataFrame) -> str:
    """``'data'`` or ``'league'``, from the columns."""
    if "Metric_ID" in raw.columns:
        return "data"
    if "Average_score" in raw.columns:
        return "league"
    raise InputError("neither a NOF data file (no 'Metric_ID' column) nor a league-table file "
                     "(no 'Average_score' column)", file=raw.attrs.get("path"), row=raw.attrs.get("header_line", 1))


def _numbers(raw: pd.DataFrame, col: str, problems: Problems, *, allow_suppressed=True):
    """Parse a text column to floats; '*' and blank become NaN; anything else unparseable is a problem."""
    path = raw.attrs.get("path")
    if col not in raw.columns:
        return np.full(len(raw), np.nan), np.zeros(len(raw), bool)
    s = raw[col]
    suppressed = s.eq("*").to_numpy()
    blank = s.eq("").to_numpy() | suppressed
    vals = pd.to_numeric(s.where(~blank, None), errors="coerce").to_numpy(dtype=float, copy=True)
    bad = np.isnan(vals) & ~blank
    if bad.any():  # a second try, on the few cells that need it: thousands separators, "%" signs
        retry = s[bad].str.rstrip("%").str.strip()
        # commas only as thousands separators ("1,234.5"): "6,5" is a decimal comma, not 65
        retry = retry.where(~retry.str.contains(",", regex=False) | retry.str.fullmatch(guards.THOUSANDS),
                            "not a number").str.replace(",", "", regex=False)
        vals[bad] = pd.to_numeric(retry, errors="coerce").to_numpy(dtype=float)
        bad = np.isnan(vals) & ~blank
    vals = guards.refuse_non_finite(raw, col, vals, problems)  # inf, 1e309, beyond any NOF figure
    if bad.any():
        for i in np.flatnonzero(bad)[:20]:
            problems.add(InputError(f"not a number: {s.iloc[i]!r}", file=path, row=row_of(raw, i), column=col))
    if suppressed.any() and not allow_suppressed:
        i = int(np.flatnonzero(suppressed)[0])
        problems.add(InputError("a suppressed value ('*') cannot be used here", file=path, row=row_of(raw, i),
                                column=col))
    return vals, suppressed


def _each_distinct(column: pd.Series, func) -> np.ndarray:
    """``func`` of each cell of a text column, as an object array, called once per distinct value
    (a column such as a trust type, a unit or a metric ID holds a handful of values in many rows)."""
    codes, distinct = pd.factorize(column)
    return np.array([func(v) for v in distinct] + [None], dtype=object)[codes]


_SPACES = re.compile(r"[\s_-]+")


def _trust_types(raw: pd.DataFrame, problems: Problems) -> np.ndarray:
    path = raw.attrs.get("path")
    mapped = _each_distinct(raw["Trust_type"], lambda v: TRUST_TYPE_NAMES.get(_SPACES.sub(" ", v.lower()).strip()))
    bad = pd.isna(mapped)
    for i in np.flatnonzero(bad)[:20]:
        problems.add(InputError(
            f"unknown trust type {raw['Trust_type'].iloc[i]!r}; expected one of "
            f"{sorted(set(TRUST_TYPE_LABELS.values()))}", file=path, row=row_of(raw, i), column="Trust_type"))
    mapped[bad] = ""
    return mapped


def _quarters(raw: pd.DataFrame, problems: Problems, *, column: str) -> np.ndarray:
    """Quarter codes per row: from ``column`` if present, else from the file name, else ''."""
    path = raw.attrs.get("path")
    if column in raw.columns:
        out = np.empty(len(raw), dtype=object)
        codes = {}
        for label in raw[column].unique():
            try:
                codes[label] = Quarter.parse(label).code
            except ValueError:
                codes[label] = None
        mapped = raw[column].map(codes)
        for i in np.flatnonzero(mapped.isna().to_numpy())[:20]:
            problems.add(InputError(f"cannot parse quarter label {raw[column].iloc[i]!r} (expected e.g. "
                                    "'Q3 2025/26')", file=path, row=row_of(raw, i), column=column))
        out[:] = mapped.fillna("").to_numpy(dtype=object)
        return out
    q = quarter_from_path(Path(path).name if path else "") or quarter_from_path(path or "")
    return np.full(len(raw), q.code if q else "", dtype=object)


def _require(raw: pd.DataFrame, cols) -> None:
    missing = [c for c in cols if c not in raw.columns]
    if missing:
        raise InputError(f"required column '{missing[0]}' is missing", file=raw.attrs.get("path"),
                         row=raw.attrs.get("header_line", 1), column=missing[0])


def _check_duplicates(df: pd.DataFrame, keys, what: str, problems: Problems) -> None:
    dup = df.duplicated(keys, keep=False)
    if dup.any():
        d = df[dup].sort_values(keys + ["source_row"])
        for _, grp in list(d.groupby(keys, sort=False))[:20]:
            first, second = grp.iloc[0], grp.iloc[1]
            label = ", ".join(f"{k}={first[k]}" for k in keys)
            where = f"row {first['source_row']}"
            if first["source_file"] != second["source_file"]:
                where += f" of {first['source_file']}"
            problems.add(InputError(f"duplicate {what} ({label}): also on {where}",
                                    file=second["source_file"], row=int(second["source_row"]),
                                    column="Metric_ID" if what == "metric row" else "Trust_code"))


def _check_trust_types(df: pd.DataFrame, problems: Problems) -> None:
    n = df.groupby("trust_code")["trust_type"].nunique()
    for code in n[n > 1].index[:20]:
        rows = df[df["trust_code"] == code]
        first = rows.iloc[0]
        other = rows[rows["trust_type"] != first["trust_type"]].iloc[0]
        problems.add(InputError(
            f"trust {code} is listed under two trust types ({first['trust_type']} on row "
            f"{first['source_row']}, {other['trust_type']} here)", file=other["source_file"],
            row=int(other["source_row"]), column="Trust_type"))


def _is_synthetic(raw: pd.DataFrame) -> bool:
    return "Data_source" in raw.columns and any(v.upper() == SYNTHETIC_MARK for v in raw["Data_source"].unique())


def read_data_file(path, problems: Problems | None = None, *, catalogue=None, raw=None) -> pd.DataFrame:
    """Read an official NOF metric-level data file into the tidy metric table.

    ``raw``, when given, is the file already read by :func:`read_raw_csv` (not read again).

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); p = os.path.join(d, "x-q3-25-26.csv")
    >>> _ = open(p, "w").write("Trust_type,Trust_code,Trust_name,Metric_ID,Value\\n"
    ...                        "Acute trust,R1,One,OF0023,61.5\\nAcute trust,R2,Two,OF0023,*\\n")
    >>> t = read_data_file(p)
    >>> t[["trust_code", "quarter", "value", "suppressed"]].values.tolist()
    [['R1', '2025Q3', 61.5, False], ['R2', '2025Q3', nan, True]]
    """
    problems = problems if problems is not None else Problems()
    raw = read_raw_csv(path) if raw is None else raw
    if file_kind(raw) != "data":
        raise InputError("expected a NOF data file (with a 'Metric_ID' column), got a league-table file",
                         file=path, row=raw.attrs.get("header_line", 1))
    _require(raw, DATA_REQUIRED)
    out = pd.DataFrame({
        "source_file": str(path),
        "source_row": raw.attrs["lines"],
        "quarter": _quarters(raw, problems, column="Quarter"),
    })
    for src, dst in [("Region", "region"), ("Trust_subtype", "trust_subtype"), ("Trust_code", "trust_code"),
                     ("Trust_name", "trust_name"), ("Domain", "domain"), ("Sub-domain", "sub_domain"),
                     ("Metric_ID", "metric_id"), ("Metric_description", "metric_description"),
                     ("Reporting_date", "reporting_date"), ("Units", "units")]:
        out[dst] = raw[src].to_numpy() if src in raw.columns else ""
    out["metric_id"] = _each_distinct(out["metric_id"], str.upper)
    out.insert(4, "trust_type", _trust_types(raw, problems))
    for i in np.flatnonzero(out["trust_code"].eq("").to_numpy())[:5]:
        problems.add(InputError("trust code is blank", file=path, row=row_of(raw, i), column="Trust_code"))
    for i in np.flatnonzero(out["metric_id"].eq("").to_numpy())[:5]:
        problems.add(InputError("Metric_ID is blank", file=path, row=row_of(raw, i), column="Metric_ID"))
    out["value"], out["suppressed"] = _numbers(raw, "Value", problems)
    for src, dst in [("Numerator", "numerator"), ("Denominator", "denominator"), ("Median_value", "median_value"),
                     ("Lower_quartile", "lower_quartile"), ("Upper_quartile", "upper_quartile"),
                     ("Rank", "published_rank")]:
        out[dst] = _numbers(raw, src, problems)[0]
    _check_ranges(out, problems, catalogue if catalogue is not None else load_catalogue())
    _check_duplicates(out, ["quarter", "trust_code", "metric_id"], "metric row", problems)
    _check_trust_types(out, problems)
    out.attrs["synthetic"] = _is_synthetic(raw)
    out.attrs["files"] = {str(path): raw.attrs.get("sha256") or file_sha256(path)}
    return out


def _check_ranges(t: pd.DataFrame, problems: Problems, catalogue: pd.DataFrame) -> None:
    """Values outside what their units allow: a percentage over 100, a negative count, ..."""
    v = t["value"].to_numpy()
    units = _each_distinct(t["units"], str.lower)
    lo = np.full(len(t), -np.inf)
    hi = np.full(len(t), np.inf)
    pct = np.isin(units, ["percentage", "percent", "%", "proportion (%)"])
    lo[pct], hi[pct] = 0.0, 100.0
    cnt = np.isin(units, ["count", "number"])
    lo[cnt] = 0.0
    # catalogue bounds, where the metric is known (raw value rows and score rows), replace the
    # unit defaults: a metric published in "percentage" may be a change and go below 0 (OF0085)
    cat_lo = t["metric_id"].map(catalogue["lower_bound"]).to_numpy(dtype=float)
    cat_hi = t["metric_id"].map(catalogue["upper_bound"]).to_numpy(dtype=float)
    lo = np.where(np.isnan(cat_lo), lo, cat_lo)
    hi = np.where(np.isnan(cat_hi), hi, cat_hi)
    is_score = t["metric_id"].isin(list(score_id_map(catalogue))).to_numpy()
    lo[is_score], hi[is_score] = 1.0, 4.0
    with np.errstate(invalid="ignore"):
        bad = (v < lo) | (v > hi)
    for i in np.flatnonzero(bad)[:20]:
        problems.add(InputError(
            f"value {v[i]:g} is outside the possible range [{lo[i]:g}, {hi[i]:g}] for metric "
            f"{t['metric_id'].iloc[i]} ({t['units'].iloc[i] or 'units not given'})",
            file=t["source_file"].iloc[i], row=int(t["source_row"].iloc[i]), column="Value"))
    num, den = t["numerator"].to_numpy(), t["denominator"].to_numpy()
    with np.errstate(invalid="ignore"):
        bad = (num < 0) | (den <= 0) | (pct & (num > den))
    for i in np.flatnonzero(bad)[:20]:
        col = "Numerator" if num[i] < 0 or num[i] > den[i] else "Denominator"
        problems.add(InputError(f"impossible numerator/denominator {num[i]:g}/{den[i]:g}",
                                file=t["source_file"].iloc[i], row=int(t["source_row"].iloc[i]), column=col))


def _range(text: pd.Series, path, column, problems: Problems, lines=None):
    """Parse 'a - b' likely ranges into two float arrays (NaN where blank); ``lines``: line numbers."""
    lo = np.full(len(text), np.nan)
    hi = np.full(len(text), np.nan)
    for i, s in enumerate(text):
        if s in ("", "*"):
            continue
        m = re.match(r"^\s*([-+]?\d+(?:\.\d+)?)\s*(?:-|–|to)\s*([-+]?\d+(?:\.\d+)?)\s*$", s)
        if not m:
            problems.add(InputError(f"cannot read range {s!r} (expected e.g. '2.1 - 2.5')",
                                    file=path, row=int(lines[i]) if lines is not None else i + 2,
                                    column=column))
            continue
        lo[i], hi[i] = float(m.group(1)), float(m.group(2))
    return lo, hi


def read_league_file(path, problems: Problems | None = None, *, raw=None) -> pd.DataFrame:
    """Read an official NOF league-table file into the tidy league table.

    ``Segment``, ``Rank`` and the ``Likely_range`` columns may be absent or blank (they are
    what the second input route re-derives). ``raw``, when given, is the file already read by
    :func:`read_raw_csv` (not read again).
    """
    problems = problems if problems is not None else Problems()
    raw = read_raw_csv(path) if raw is None else raw
    if file_kind(raw) != "league":
        raise InputError("expected a league-table file (with an 'Average_score' column), got a data file",
                         file=path, row=raw.attrs.get("header_line", 1))
    _require(raw, LEAGUE_REQUIRED)
    n = len(raw)
    qcol = "Quarter" if "Quarter" in raw.columns else "Reporting_date"
    if qcol == "Reporting_date" and qcol in raw.columns:
        parsable = raw[qcol].map(_parses)
        if not parsable.all():
            qcol = "Quarter"  # not a quarter label: fall back to the file name
    out = pd.DataFrame({"source_file": str(path), "source_row": raw.attrs["lines"],
                        "quarter": _quarters(raw, problems, column=qcol)})
    for src, dst in [("Region", "region"), ("Trust_subtype", "trust_subtype"), ("Trust_code", "trust_code"),
                     ("Trust_name", "trust_name")]:
        out[dst] = raw[src].to_numpy() if src in raw.columns else ""
    out.insert(4, "trust_type", _trust_types(raw, problems))
    avg, supp = _numbers(raw, "Average_score", problems)
    for i in np.flatnonzero(np.isnan(avg) & ~supp)[:20]:
        if raw["Average_score"].iloc[i] == "":
            problems.add(InputError("average score is blank", file=path, row=row_of(raw, i), column="Average_score"))
    with np.errstate(invalid="ignore"):
        for i in np.flatnonzero((avg < 1) | (avg > 4))[:20]:
            problems.add(InputError(f"average score {avg[i]:g} is outside [1, 4]", file=path, row=row_of(raw, i),
                                    column="Average_score"))
    out["average_score"] = avg
    lo, hi = _range(raw.get("Likely_range_of_average_score", pd.Series([""] * n)), path,
                    "Likely_range_of_average_score", problems, raw.attrs.get("lines"))
    out["average_range_low"], out["average_range_high"] = guards.check_range(
        raw, "Likely_range_of_average_score", lo, hi, problems, bounds=(1, 4), what="likely range")
    seg = _numbers(raw, "Segment", problems)[0]
    with np.errstate(invalid="ignore"):
        for i in np.flatnonzero(~np.isnan(seg) & ~np.isin(seg, [1, 2, 3, 4, 5]))[:20]:
            problems.add(InputError(f"segment {seg[i]:g} is not 1-5", file=path, row=row_of(raw, i),
                                    column="Segment"))
    seg = np.where(np.isin(seg, [1, 2, 3, 4, 5]), seg, np.nan)  # a refused segment is not converted
    out["segment"] = pd.array(np.where(np.isnan(seg), None, seg), dtype="Int64") if n else pd.array([], "Int64")
    flag = raw.get("Trust_in_financial_deficit", pd.Series([""] * n)).str.lower()
    bad = ~flag.isin(["yes", "no", "y", "n", "true", "false", "1", "0", ""])
    for i in np.flatnonzero(bad.to_numpy())[:20]:
        problems.add(InputError(f"expected Yes or No, got {raw['Trust_in_financial_deficit'].iloc[i]!r}",
                                file=path, row=row_of(raw, i), column="Trust_in_financial_deficit"))
    out["in_deficit"] = pd.array(flag.map({"yes": True, "y": True, "true": True, "1": True, "no": False,
                                           "n": False, "false": False, "0": False}).to_numpy(), dtype="boolean")
    rank = _numbers(raw, "Rank", problems)[0]
    out["rank"] = guards.whole_numbers(raw, "Rank", rank, problems)  # 1 to guards.MAX_RANK
    rlo, rhi = _range(raw.get("Likely_range_of_rank", pd.Series([""] * n)), path, "Likely_range_of_rank", problems,
                      raw.attrs.get("lines"))
    rlo, rhi = guards.check_range(raw, "Likely_range_of_rank", rlo, rhi, problems, what="likely range")
    out["rank_range_low"] = guards.whole_numbers(raw, "Likely_range_of_rank", rlo, problems, what="likely range end")
    out["rank_range_high"] = guards.whole_numbers(raw, "Likely_range_of_rank", rhi, problems, what="likely range end")
    _check_duplicates(out, ["quarter", "trust_code"], "trust row", problems)
    _check_trust_types(out, problems)
    out.attrs["synthetic"] = _is_synthetic(raw)
    out.attrs["files"] = {str(path): raw.attrs.get("sha256") or file_sha256(path)}
    return out


def _parses(s) -> bool:
    try:
        Quarter.parse(s)
        return True
    except ValueError:
        return False


@dataclass
class Inputs:
    """Everything read from a set of input files."""

    metrics: pd.DataFrame  # tidy metric table (possibly empty)
    league: pd.DataFrame  # tidy league table (possibly empty)
    files: dict = field(default_factory=dict)  # path -> sha256
    synthetic: bool = False
    unknown_metrics: list = field(default_factory=list)

    @property
    def quarters(self) -> list[str]:
        qs = set(self.metrics["quarter"].unique()) | set(self.league["quarter"].unique())
        return sorted(q for q in qs if q)


def _empty(columns) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def _read_part(p, problems: Problems, catalogue) -> pd.DataFrame:
    """One file's tidy table (metric or league: see :func:`part_kind`)."""
    data = _read_bytes(Path(p))
    sha = hashlib.sha256(data).hexdigest()
    raw = read_raw_csv(p, data=data, sha256=sha)  # read once: its kind picks the reader, which is handed it
    return (read_data_file(p, problems, catalogue=catalogue, raw=raw) if file_kind(raw) == "data"
            else read_league_file(p, problems, raw=raw))


def part_kind(part: pd.DataFrame) -> str:
    """``'data'`` for a tidy metric table, ``'league'`` for a tidy league table."""
    return "data" if "metric_id" in part.columns else "league"


def read_inputs(paths, problems: Problems | None = None, *, catalogue=None) -> Inputs:
    """Read any mix of data files and league-table files (recognised from their headers)."""
    problems = problems if problems is not None else Problems()
    catalogue = catalogue if catalogue is not None else load_catalogue()
    metric_parts, league_parts, files, synthetic = [], [], {}, []
    seen = set()
    for p in paths:
        try:
            key = Path(p).resolve()
        except (OSError, RuntimeError):  # a loop of symbolic links
            problems.add(InputError("cannot read the file: a loop of symbolic links", file=p))
            continue
        if key in seen:
            problems.add(InputError("this file is given twice", file=p))
            continue
        seen.add(key)
        try:
            part = _read_part(p, problems, catalogue)
        except InputError as exc:
            problems.add(exc)
            continue
        (metric_parts if part_kind(part) == "data" else league_parts).append(part)
        files.update(part.attrs["files"])
        synthetic.append(part.attrs["synthetic"])
    metrics = pd.concat(metric_parts, ignore_index=True) if metric_parts else _empty(
        ["source_file", "source_row", "quarter", "trust_type", "trust_code", "trust_name", "metric_id", "value"])
    league = pd.concat(league_parts, ignore_index=True) if league_parts else _empty(
        ["source_file", "source_row", "quarter", "trust_type", "trust_code", "trust_name", "average_score"])
    if len(metric_parts) > 1:
        _check_duplicates(metrics, ["quarter", "trust_code", "metric_id"], "metric row", problems)
    if len(league_parts) > 1:
        _check_duplicates(league, ["quarter", "trust_code"], "trust row", problems)
    if len(metric_parts) + len(league_parts) > 1:
        both = pd.concat([metrics[["source_file", "source_row", "trust_code", "trust_type"]],
                          league[["source_file", "source_row", "trust_code", "trust_type"]]], ignore_index=True)
        _check_trust_types(both.drop_duplicates(["trust_code", "trust_type"]), problems)
    known = set(catalogue["metric_id"]) | set(score_id_map(catalogue)) | SUMMARY_IDS
    unknown = sorted(set(metrics["metric_id"].unique()) - known - {""}) if len(metrics) else []
    return Inputs(metrics, league, files, bool(synthetic) and all(synthetic), unknown)


def rows_for(table: pd.DataFrame, quarter: str, trust_type: str) -> pd.DataFrame:
    """The rows of a tidy metric or league table for one trust type and quarter.

    Rows from a file that does not say its quarter (``quarter == ""``) count as ``quarter``.
    An empty table is returned as it is.

    Examples
    --------
    >>> t = pd.DataFrame({"trust_type": ["acute", "acute", "ambulance"], "quarter": ["2025Q3", "", "2025Q3"]})
    >>> rows_for(t, "2025Q3", "acute").index.tolist()
    [0, 1]
    """
    if not len(table):
        return table
    return table[(table["trust_type"] == trust_type) & table["quarter"].isin([quarter, ""])]


def select_quarter(inputs: Inputs, quarter) -> str:
    """Check that ``quarter`` is in the inputs (or that they do not say) and return its code.

    Files without a quarter (Q1-style files whose name does not give one) are taken to hold
    the quarter asked for. A file may hold several quarters: only the one asked for is used.
    """
    q = parse_quarter(quarter, column="--quarter")
    held = inputs.quarters
    has_blank = (inputs.metrics["quarter"].eq("").any() if len(inputs.metrics) else False) or (
        inputs.league["quarter"].eq("").any() if len(inputs.league) else False)
    if q.code not in held and not has_blank:
        files = ", ".join(sorted(inputs.files)) or "the input"
        raise InputError(f"quarter {q.label} ({q.code}) is not in the input; it holds "
                         f"{', '.join(Quarter.parse(h).label for h in held) or 'no quarter'}",
                         file=files, column="Quarter")
    _check_unstated_quarter(inputs.metrics, ["trust_code", "metric_id"], "metric", q)
    _check_unstated_quarter(inputs.league, ["trust_code"], "league-table", q)
    return q.code


def _check_unstated_quarter(t: pd.DataFrame, keys, what: str, q: Quarter) -> None:
    """A file that does not say its quarter must not repeat rows of a file that holds ``q``."""
    if not len(t):
        return
    blank = t["quarter"].eq("")
    if not blank.any():
        return
    sel = t[blank | t["quarter"].eq(q.code)]
    dup = sel.duplicated(keys, keep=False)
    stated_files = set(sel.loc[dup & sel["quarter"].eq(q.code), "source_file"])
    if not stated_files:
        return  # duplicates among unstated files are reported when the files are read
    row = sel[dup & sel["quarter"].eq("")].iloc[0]
    ids = ", ".join(str(row[k]) for k in keys)
    raise InputError(f"this file does not say its quarter, so it is taken to hold {q.label}, but its "
                     f"{what} row for {ids} is also in {sorted(stated_files)[0]}, which holds {q.label}: "
                     "give files of one quarter, or name the quarter in the file name (e.g. "
                     "'...-q1-25-26.csv')", file=row["source_file"], row=int(row["source_row"]),
                     column="Trust_code")


def parse_trust_type(text) -> str:
    """``acute``, ``mental-health-and-community`` (alias ``non-acute``), ``ambulance`` or ``icb``
    (the types of ``nhs_league/data/org_types.yaml``)."""
    return orgtypes.parse(text)
