"""The metric catalogue: what each NOF metric is, and how it is scored.

The catalogue is a data file, ``nhs_league/data/metrics.csv``, one row per metric:

============== ==================================================================
column         meaning
============== ==================================================================
metric_id      raw-value Metric_ID in the official data file (``OF0###``)
score_id       Metric_ID of the published 1-4 score row (``OF1###``), if any
name           a short description
trust_types    ``;``-separated codes of ``data/org_types.yaml`` (acute, ..., icb)
domain         access, effectiveness_experience, patient_safety, people_workforce,
               finance_productivity
better         ``higher`` or ``lower``
rule           ``continuous`` (rank-based 1-4 between the manual's bookends; rule_params
               ``standard`` / ``floor`` and ``population``, the trust types NHS England
               ranks together), ``finance_lookup`` (combined finance score from the band
               scores of its two inputs through a lookup table), ``finance_position`` (an
               older additive finance rule, kept for comparison),
               ``published`` (rule unknown: take the published OF1### score),
               ``input`` (used by another metric's rule, not scored alone),
               ``contextual`` (published, never scored)
rule_params    JSON object with the rule's parameters (e.g. finance band edges)
units          percentage, rate, count, score, ...
distribution   sampling model for the bootstrap: binomial, poisson or none
scale          value = numerator / denominator * scale
lower_bound,   plausible range; a value outside it is an input error
upper_bound
not_for_sub... ``;``-separated trust subtypes the metric does not apply to
source         where the entry comes from
evidence       C stated, D reproduced from data, I inferred, U unknown, synthetic
============== ==================================================================

To add or correct a metric, copy the file, edit or add rows, and pass it with
``--catalogue FILE`` (CLI) or ``load_catalogue(extra=FILE)``: rows in the extra file
replace the built-in rows with the same ``metric_id`` and add the others.
"""

from __future__ import annotations

import io as _io
import json
import os
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from . import orgtypes
from .errors import InputError
from .files import not_text, read_input_bytes

CATALOGUE_PATH = Path(__file__).parent / "data" / "metrics.csv"

TRUST_TYPES = orgtypes.codes()  # from data/org_types.yaml (acute, mental-health-and-community, ambulance, icb)
DOMAINS = (
    "access",
    "effectiveness_experience",
    "patient_safety",
    "people_workforce",
    "finance_productivity",
)
DOMAIN_LABELS = {
    "access": "Access to services",
    "effectiveness_experience": "Effectiveness and experience",
    "patient_safety": "Patient safety",
    "people_workforce": "People and workforce",
    "finance_productivity": "Finance and productivity",
}
# Metric_IDs of the published domain scores and domain segments (nof-method.md §2).
DOMAIN_SCORE_IDS = {
    "access": "OF4000",
    "patient_safety": "OF4002",
    "finance_productivity": "OF4003",
    "people_workforce": "OF4004",
    "effectiveness_experience": "OF4005",
}
DOMAIN_SEGMENT_IDS = {k: "OF41" + v[4:] for k, v in DOMAIN_SCORE_IDS.items()}
ADJUSTED_SEGMENT_ID = "OF5000"
AVERAGE_SCORE_ID = "OF5002"
UNADJUSTED_SEGMENT_ID = "OF5003"
DEFICIT_FLAG_ID = "OF5004"
FINAL_SEGMENT_ID = "OF5005"  # segment after the segment-5 (intensive support) override, Q1-Q2 2025/26
RSP_FLAG_ID = "OF5007"
SUMMARY_IDS = frozenset(
    [ADJUSTED_SEGMENT_ID, "OF5001", AVERAGE_SCORE_ID, UNADJUSTED_SEGMENT_ID, DEFICIT_FLAG_ID,
     FINAL_SEGMENT_ID, RSP_FLAG_ID, *DOMAIN_SCORE_IDS.values(),
     *DOMAIN_SEGMENT_IDS.values(), "OF4001", "OF4101"]
)
RULES = ("continuous", "finance_position", "finance_lookup", "published", "input", "contextual")
SCORED_RULES = ("continuous", "finance_position", "finance_lookup", "published")
COLUMNS = [
    "metric_id", "score_id", "name", "trust_types", "domain", "better", "rule", "rule_params",
    "units", "distribution", "scale", "lower_bound", "upper_bound", "not_for_subtypes", "source",
    "evidence",
]


def _check(cat: pd.DataFrame, path) -> pd.DataFrame:
    missing = [c for c in COLUMNS if c not in cat.columns]
    if missing:
        raise InputError(f"catalogue lacks column(s) {missing}", file=path, row=1)
    for i, (_, r) in enumerate(cat.iterrows()):
        row = _row(cat, i)
        path = r.get("source_file", path)
        if r["domain"] not in DOMAINS:
            raise InputError(f"unknown domain {r['domain']!r}; expected one of {DOMAINS}",
                             file=path, row=row, column="domain")
        if r["better"] not in ("higher", "lower"):
            raise InputError("better must be 'higher' or 'lower'", file=path, row=row, column="better")
        if r["rule"] not in RULES:
            raise InputError(f"unknown rule {r['rule']!r}; expected one of {RULES}",
                             file=path, row=row, column="rule")
        if not r["trust_types"]:
            raise InputError("trust_types is blank: name the trust types the metric is for, separated by ';'",
                             file=path, row=row, column="trust_types")
        for t in r["trust_types"]:
            if t not in TRUST_TYPES:
                raise InputError(f"unknown trust type {t!r}", file=path, row=row, column="trust_types")
        pop = r["rule_params"].get("population") if isinstance(r["rule_params"], dict) else None
        if pop is not None and (not isinstance(pop, list) or any(t not in TRUST_TYPES for t in pop)):
            raise InputError(f"rule_params population must be a list of trust types from {TRUST_TYPES}",
                             file=path, row=row, column="rule_params")
        if r["distribution"] not in ("binomial", "poisson", "none"):
            raise InputError("distribution must be binomial, poisson or none",
                             file=path, row=row, column="distribution")
    if cat["metric_id"].duplicated().any():
        dup = cat.loc[cat["metric_id"].duplicated(), "metric_id"].iloc[0]
        raise InputError(f"metric {dup} appears twice", file=path, column="metric_id")
    _check_ids(cat, path)
    return cat


_ID = re.compile(r"^[A-Za-z0-9_.-]+$")


def _row(cat: pd.DataFrame, i) -> int:
    rows = cat.get("source_row")
    return int(rows.iloc[i]) if rows is not None else int(i) + 2


def _check_ids(cat: pd.DataFrame, path) -> None:
    """IDs present and well-formed, bounds in order, and no ID standing for two things (a score
    row's ID equal to a raw metric's ID, two metrics sharing a score ID, or a summary ID)."""
    for i, r in enumerate(cat.itertuples(index=False)):
        where = {"file": r.source_file if "source_file" in cat.columns else path, "row": _row(cat, i)}
        if not str(r.metric_id).strip():
            raise InputError("metric_id is blank", column="metric_id", **where)
        if not _ID.match(str(r.metric_id)):
            raise InputError(f"metric_id {r.metric_id!r} is not an ID (letters, digits, '_', '-', '.')",
                             column="metric_id", **where)
        if r.score_id is not None and not (isinstance(r.score_id, float) and np.isnan(r.score_id)):
            if not _ID.match(str(r.score_id)):
                raise InputError(f"score_id {r.score_id!r} is not an ID", column="score_id", **where)
        for col in ("scale", "lower_bound", "upper_bound"):
            v = getattr(r, col)
            if not np.isnan(v) and not np.isfinite(v):
                raise InputError(f"{col} must be a finite number or blank, got {v}", column=col, **where)
        if not np.isnan(r.scale) and r.scale <= 0:
            raise InputError(f"scale must be positive, got {r.scale:g}", column="scale", **where)
        if r.lower_bound > r.upper_bound:
            raise InputError(f"lower_bound {r.lower_bound:g} is above upper_bound {r.upper_bound:g}",
                             column="lower_bound", **where)
    scores = cat["score_id"].dropna()
    metric_ids = set(cat["metric_id"])
    for i in scores.index:
        sid, pos = scores[i], cat.index.get_loc(i)
        where = {"file": cat["source_file"].iloc[pos] if "source_file" in cat.columns else path,
                 "row": _row(cat, pos), "column": "score_id"}
        if sid in metric_ids:
            raise InputError(f"score_id {sid} is also the metric_id of a raw metric: one ID cannot stand "
                             "for both a raw value and its score", **where)
        if sid in SUMMARY_IDS:
            raise InputError(f"score_id {sid} is the ID of a published summary row (domain score, segment, "
                             "average)", **where)
    dup = scores[scores.duplicated()]
    if len(dup):
        pos = cat.index.get_loc(dup.index[0])
        raise InputError(f"score_id {dup.iloc[0]} is given to two metrics", column="score_id",
                         file=cat["source_file"].iloc[pos] if "source_file" in cat.columns else path,
                         row=_row(cat, pos))
    summary = sorted(metric_ids & SUMMARY_IDS)
    if summary:
        pos = int(np.flatnonzero(cat["metric_id"].eq(summary[0]))[0])
        raise InputError(f"metric_id {summary[0]} is the ID of a published summary row (domain score, "
                         "segment, average)", column="metric_id",
                         file=cat["source_file"].iloc[pos] if "source_file" in cat.columns else path,
                         row=_row(cat, pos))


def _no_constant(name: str):
    """JSON's NaN and Infinity are not numbers a rule can use (a NaN band edge would match nothing)."""
    raise ValueError(name)


def _finite_float(text: str) -> float:
    v = float(text)
    if not np.isfinite(v):
        raise ValueError(text)  # 1e400 reads as infinity
    return v


def _read(path) -> pd.DataFrame:
    data = read_input_bytes(path, what="catalogue file")
    if not_text(data):
        raise InputError(not_text(data).replace("CSV file", "catalogue CSV file"), file=path)
    try:
        raw = pd.read_csv(_io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8-sig",
                          skip_blank_lines=False)
    except UnicodeDecodeError as exc:
        raise InputError(f"cannot read catalogue: can't decode byte 0x{exc.object[exc.start]:02x}: not text in "
                         "UTF-8; save it as CSV UTF-8", file=path) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"cannot read catalogue: {' '.join(str(exc).split())}", file=path) from None
    raw = raw.fillna("")
    blank = raw.eq("").all(axis=1).to_numpy()
    rows = np.flatnonzero(~blank) + 2  # line numbers (the header is line 1), blank lines skipped
    raw = raw[~blank].reset_index(drop=True)
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise InputError(f"catalogue lacks column(s) {missing}", file=path, row=1, column=missing[0])
    cat = raw.copy()
    cat["trust_types"] = [tuple(t.strip() for t in s.split(";") if t.strip()) for s in raw["trust_types"]]
    cat["not_for_subtypes"] = [
        tuple(t.strip() for t in s.split(";") if t.strip()) for s in raw.get("not_for_subtypes", "")
    ]
    params = []
    for i, s in enumerate(raw.get("rule_params", [""] * len(raw))):
        try:
            value = json.loads(s, parse_constant=_no_constant, parse_float=_finite_float) if s.strip() else {}
            if not isinstance(value, dict):
                raise InputError(f"rule_params must be a JSON object ({{...}}), got {s[:40]!r}", file=path,
                                 row=int(rows[i]), column="rule_params")
            params.append(value)
        except ValueError as exc:
            if isinstance(exc, InputError):
                raise
            if not isinstance(exc, json.JSONDecodeError):  # NaN or Infinity
                raise InputError(f"rule_params holds {exc}, not a finite number", file=path, row=int(rows[i]),
                                 column="rule_params") from None
            raise InputError(f"rule_params is not JSON: {exc.msg}", file=path, row=int(rows[i]),
                             column="rule_params") from None
    cat["rule_params"] = params
    for col in ("scale", "lower_bound", "upper_bound"):
        num = pd.to_numeric(raw[col].replace("", None), errors="coerce").astype(float)
        bad = num.isna() & raw[col].ne("")
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            raise InputError(f"not a number: {raw[col].iloc[i]!r}", file=path, row=int(rows[i]), column=col)
        cat[col] = num
    cat["score_id"] = raw["score_id"].replace("", None)
    cat["source_file"] = str(path)  # where each row came from, for the checks made after merging
    cat["source_row"] = rows
    return cat


@lru_cache(maxsize=8)
def _load(extra: str | None, stamp=None) -> pd.DataFrame:
    cat = _read(CATALOGUE_PATH)
    if extra:
        user = _read(extra)
        _check(user, extra)
        cat = pd.concat([cat[~cat["metric_id"].isin(user["metric_id"])], user], ignore_index=True)
    return _check(cat.reset_index(drop=True), extra or CATALOGUE_PATH)


def load_catalogue(extra=None) -> pd.DataFrame:
    """The metric catalogue, indexed by ``metric_id``; ``extra`` rows replace or add metrics.

    Examples
    --------
    >>> cat = load_catalogue()
    >>> cat.loc["OF0023", ["better", "rule", "domain"]].tolist()
    ['higher', 'continuous', 'access']
    """
    key = None if extra is None else str(extra)
    stamp = None
    if key is not None and os.path.exists(key):
        st = os.stat(key)
        stamp = (st.st_mtime_ns, st.st_size)  # an edited file is read again, not served from cache
    return _load(key, stamp).set_index("metric_id", drop=False).copy()


def metrics_for(catalogue: pd.DataFrame, trust_type: str, *, scored_only=True) -> pd.DataFrame:
    """Catalogue rows of one trust type (scored rules only unless ``scored_only`` is false)."""
    mask = catalogue["trust_types"].map(lambda ts: trust_type in ts)
    if scored_only:
        mask &= catalogue["rule"].isin(SCORED_RULES)
    return catalogue[mask]


def population_of(row) -> tuple[str, ...]:
    """The trust types NHS England scores a metric across (``rule_params.population``), or ``()``
    when it is scored within each trust type."""
    p = row["rule_params"] if isinstance(row["rule_params"], dict) else {}
    return tuple(p.get("population") or ())


def score_id_map(catalogue: pd.DataFrame) -> dict[str, str]:
    """``{score_id: metric_id}`` for every metric with a published score row."""
    c = catalogue.dropna(subset=["score_id"])
    return dict(zip(c["score_id"], c["metric_id"]))
