"""Adapter for the real Q3 2025/26 figures at ``../shared/data-raw/trustpulse_nof_q3_2025_26/``.

The file read here, ``nof_q3_2025_26_extract.csv``, is **not** an NHS England file. It is a
*third-party processed extract*: NHS England's published Q3 2025/26 NOF figures as merged
into a trust table by the public repository ``larsen-analyst/trustpulse``, then reduced to
selected, renamed columns (see the README beside it for provenance and caveats). It covers
129 of the 134 acute trusts, 20 of 61 mental health and community trusts and 1 of 10
ambulance trusts, and keeps only some metrics: the published per-metric 1-4 scores (OF1xxx)
are not in it.

This module only *reads* the extract where it lies; it never copies it. Tests and notebooks
call :func:`read_extract`, which maps it onto the project's two tidy tables (see
:mod:`nhs_league.io`), so the library functions run on it unchanged:

* the **tidy league table**: published segment, rank, 2-dp average score and the deficit
  flag (``Trust_in_financial_deficit``, acute only) per trust;
* the **tidy metric table**: the published summary rows (``OF5000`` adjusted segment,
  ``OF5002`` average metric score), the domain scores (``OF4000``-``OF4005``) and domain
  segments (``OF4100``-``OF4105``), and the raw metric values (``OF00xx``) the extract kept.

The extract's own inferred column ``financial_override_inferred`` is deliberately not
carried over: it is the third party's inference, not a published figure.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .catalogue import load_catalogue
from .errors import InputError
from .files import read_input_bytes
from .guards import MAX_MAGNITUDE
from .io import Inputs, file_sha256
from .quarters import parse_quarter

EXTRACT_FOLDER = "trustpulse_nof_q3_2025_26"
EXTRACT_FILE = "nof_q3_2025_26_extract.csv"
SOURCE_NOTE = ("third-party processed extract of NHS England's NOF Q3 2025/26 files "
               "(larsen-analyst/trustpulse); partial coverage, not an official file")

# The extract's trust_type values -> the project's trust types.
EXTRACT_TRUST_TYPES = {
    "acute": "acute",
    "non-acute": "mental-health-and-community",
    "ambulance": "ambulance",
}
_REQUIRED = ["trust_code", "trust_name", "trust_type", "quarter", "segment", "league_rank",
             "average_metric_score", "in_financial_deficit"]
_METRIC_COLUMN = re.compile(r"^of(?P<id>\d{4})_(?P<rest>.+)$")

# Column order of the tidy tables, as produced by nhs_league.io readers.
METRIC_TABLE_COLUMNS = [
    "source_file", "source_row", "quarter", "region", "trust_type", "trust_subtype", "trust_code",
    "trust_name", "domain", "sub_domain", "metric_id", "metric_description", "reporting_date", "units",
    "value", "suppressed", "numerator", "denominator", "median_value", "lower_quartile",
    "upper_quartile", "published_rank",
]
LEAGUE_TABLE_COLUMNS = [
    "source_file", "source_row", "quarter", "region", "trust_type", "trust_subtype", "trust_code",
    "trust_name", "average_score", "average_range_low", "average_range_high", "segment", "in_deficit",
    "rank", "rank_range_low", "rank_range_high",
]


def default_extract_path(shared=None) -> Path:
    """Where the extract lies: ``<shared>/data-raw/trustpulse_nof_q3_2025_26/<file>``.

    ``shared`` defaults to the ``shared`` folder beside the project folder (``../shared``).

    Examples
    --------
    >>> default_extract_path("/x/shared").as_posix()
    '/x/shared/data-raw/trustpulse_nof_q3_2025_26/nof_q3_2025_26_extract.csv'
    """
    root = Path(shared) if shared is not None else Path(__file__).resolve().parents[2] / "shared"
    return root / "data-raw" / EXTRACT_FOLDER / EXTRACT_FILE


def is_extract(path) -> bool:
    """Whether ``path`` is the extract: its file name, or a CSV header with the extract's own columns
    (``trust_code``, ``average_metric_score``, ``league_rank``, ...), which no official file has.

    >>> is_extract("/nowhere/nof_q3_2025_26_extract.csv")
    True
    """
    p = Path(path)
    if p.name == EXTRACT_FILE:
        return True
    try:
        with open(p, encoding="utf-8-sig", errors="replace") as fh:
            header = fh.readline(65536)  # bounded: an endless input (/dev/zero) has no line end
    except OSError:
        return False
    cols = {c.strip().strip('"') for c in header.split(",")}
    return set(_REQUIRED) <= cols


def _floats(raw: pd.DataFrame, col: str, path) -> np.ndarray:
    s = raw[col]
    vals = pd.to_numeric(s.where(s != "", None), errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(vals) & s.ne("").to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"not a number: {s.iloc[i]!r}", file=path, row=i + 2, column=col)
    with np.errstate(invalid="ignore"):
        huge = ~np.isnan(vals) & ~(np.abs(vals) <= MAX_MAGNITUDE)
    if huge.any():
        i = int(np.flatnonzero(huge)[0])
        raise InputError(f"{s.iloc[i][:40]!r} is not a finite number of a size any NOF figure has", file=path,
                         row=i + 2, column=col)
    return vals


def _metric_columns(columns) -> list[tuple[str, str]]:
    """``[(extract column, Metric_ID)]`` for the ``ofNNNN_*`` columns."""
    out = []
    for c in columns:
        m = _METRIC_COLUMN.match(c)
        if m:
            out.append((c, "OF" + m["id"]))
    return out


def read_extract(path=None) -> Inputs:
    """Read the third-party Q3 2025/26 extract into tidy metric and league tables.

    Parameters
    ----------
    path : path-like, optional
        The extract CSV; default :func:`default_extract_path`.

    Returns
    -------
    Inputs
        ``metrics`` holds one row per trust and published figure (``OF5000``, ``OF5002``,
        ``OF40xx``, ``OF41xx`` and the raw ``OF00xx`` values; blank cells are left out),
        ``league`` one row per trust (segment, rank, average, deficit flag). Both carry
        quarter ``2025Q3`` and the project's trust types.

    Raises
    ------
    InputError
        When the file is missing or a required column or value cannot be read.

    Examples
    --------
    >>> inp = read_extract()  # doctest: +SKIP
    >>> inp.league.groupby("trust_type").size().to_dict()  # doctest: +SKIP
    {'acute': 129, 'ambulance': 1, 'mental-health-and-community': 20}
    """
    p = Path(path) if path is not None else default_extract_path()
    if not p.exists():
        raise InputError(f"the real-data extract is not there ({SOURCE_NOTE})", file=p)
    try:
        raw = pd.read_csv(io.BytesIO(read_input_bytes(p, what="real-data extract")), dtype=str,
                          keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        what = (exc.strerror if isinstance(exc, OSError) else None) or str(exc).strip().splitlines()[0]
        raise InputError(f"cannot read the real-data extract as a UTF-8 CSV file: {what}", file=p) from None
    raw = raw.apply(lambda s: s.str.strip())
    for col in _REQUIRED:
        if col not in raw.columns:
            raise InputError(f"required column '{col}' is missing", file=p, row=1, column=col)
    n = len(raw)
    types = raw["trust_type"].str.lower().map(EXTRACT_TRUST_TYPES)
    if types.isna().any():
        i = int(np.flatnonzero(types.isna().to_numpy())[0])
        raise InputError(f"unknown trust type {raw['trust_type'].iloc[i]!r}; expected one of "
                         f"{sorted(EXTRACT_TRUST_TYPES)}", file=p, row=i + 2, column="trust_type")
    quarters = {q: parse_quarter(q, file=p, column="quarter").code for q in raw["quarter"].unique()}
    quarter = raw["quarter"].map(quarters).to_numpy()
    flag_text = raw["in_financial_deficit"].str.lower()
    bad = ~flag_text.isin(["yes", "no", ""])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"expected Yes, No or blank, got {raw['in_financial_deficit'].iloc[i]!r}",
                         file=p, row=i + 2, column="in_financial_deficit")
    segment = _floats(raw, "segment", p)
    if (~np.isin(segment, [1, 2, 3, 4, 5])).any():
        i = int(np.flatnonzero(~np.isin(segment, [1, 2, 3, 4, 5]))[0])
        raise InputError(f"segment {segment[i]:g} is not 1-5", file=p, row=i + 2, column="segment")
    rank = _floats(raw, "league_rank", p)
    rows = np.arange(2, n + 2)
    common = {
        "source_file": str(p),
        "source_row": rows,
        "quarter": quarter,
        "region": raw.get("region", pd.Series([""] * n)).to_numpy(),
        "trust_type": types.to_numpy(),
        "trust_subtype": raw.get("trust_subtype", pd.Series([""] * n)).to_numpy(),
        "trust_code": raw["trust_code"].to_numpy(),
        "trust_name": raw["trust_name"].to_numpy(),
    }
    nan = np.full(n, np.nan)
    league = pd.DataFrame({
        **common,
        "average_score": _floats(raw, "average_metric_score", p),
        "average_range_low": nan,
        "average_range_high": nan,
        "segment": pd.array(segment.astype(np.int64), dtype="Int64"),
        "in_deficit": pd.array(flag_text.map({"yes": True, "no": False}).to_numpy(), dtype="boolean"),
        "rank": pd.array(np.where(np.isnan(rank), None, rank), dtype="Int64"),
        "rank_range_low": pd.array([pd.NA] * n, dtype="Int64"),
        "rank_range_high": pd.array([pd.NA] * n, dtype="Int64"),
    })[LEAGUE_TABLE_COLUMNS]

    cat = load_catalogue()
    parts = []
    for col, mid in _metric_columns(raw.columns):
        v = _floats(raw, col, p)
        have = ~np.isnan(v)
        if mid in cat.index:
            domain, units = cat.at[mid, "domain"], cat.at[mid, "units"]
        elif mid.startswith("OF41") or mid == "OF5000":
            domain, units = "", "segment"
        else:
            domain, units = "", "score"
        part = pd.DataFrame({k: (np.asarray(val)[have] if np.ndim(val) else val) for k, val in common.items()})
        part["domain"] = domain
        part["sub_domain"] = ""
        part["metric_id"] = mid
        part["metric_description"] = col
        part["reporting_date"] = raw["quarter"].to_numpy()[have]
        part["units"] = units
        part["value"] = v[have]
        part["suppressed"] = False
        for c in ("numerator", "denominator", "median_value", "lower_quartile", "upper_quartile",
                  "published_rank"):
            part[c] = np.nan
        parts.append(part)
    metrics = (pd.concat(parts, ignore_index=True) if parts
               else pd.DataFrame({c: pd.Series(dtype=object) for c in METRIC_TABLE_COLUMNS}))
    metrics = metrics[METRIC_TABLE_COLUMNS].sort_values(["source_row", "metric_id"], kind="stable")
    metrics = metrics.reset_index(drop=True)
    files = {str(p): file_sha256(p)}
    for t in (metrics, league):
        t.attrs.update(synthetic=False, files=files, source=SOURCE_NOTE)
    return Inputs(metrics, league, files, synthetic=False, unknown_metrics=[])


def wide(metrics: pd.DataFrame, metric_ids, *, trust_type: str | None = None) -> pd.DataFrame:
    """A tidy metric table as a trusts x metrics frame of values (NaN where absent).

    Examples
    --------
    >>> t = pd.DataFrame({"trust_type": ["acute"] * 3, "trust_code": ["A", "A", "B"],
    ...                   "metric_id": ["OF0079", "OF0081", "OF0079"], "value": [1.0, -0.5, -2.0]})
    >>> wide(t, ["OF0079", "OF0081"]).to_dict("index")
    {'A': {'OF0079': 1.0, 'OF0081': -0.5}, 'B': {'OF0079': -2.0, 'OF0081': nan}}
    """
    ids = list(metric_ids)
    t = metrics if trust_type is None else metrics[metrics["trust_type"] == trust_type]
    t = t[t["metric_id"].isin(ids)]
    out = t.pivot(index="trust_code", columns="metric_id", values="value")
    codes = sorted(set(metrics["trust_code"] if trust_type is None
                       else metrics.loc[metrics["trust_type"] == trust_type, "trust_code"]))
    out = out.reindex(index=codes, columns=ids).astype(float)
    out.index.name, out.columns.name = "trust_code", None
    return out


__all__ = ["read_extract", "is_extract", "default_extract_path", "wide", "SOURCE_NOTE", "EXTRACT_TRUST_TYPES"]
