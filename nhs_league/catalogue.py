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

import json
import os
from functools import lru_cache
from pathlib import Path

import pandas as pd

from . import orgtypes
from .errors import InputError

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
    for i, r in cat.iterrows():
        row = int(i) + 2
        if r["domain"] not in DOMAINS:
            raise InputError(f"unknown domain {r['domain']!r}; expected one of {DOMAINS}",
                             file=path, row=row, column="domain")
        if r["better"] not in ("higher", "lower"):
            raise InputError("better must be 'higher' or 'lower'", file=path, row=row, column="better")
        if r["rule"] not in RULES:
            raise InputError(f"unknown rule {r['rule']!r}; expected one of {RULES}",
                             file=path, row=row, column="rule")
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
    return cat


def _read(path) -> pd.DataFrame:
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"cannot read catalogue: {exc}", file=path) from None
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
            params.append(json.loads(s) if s.strip() else {})
        except json.JSONDecodeError as exc:
            raise InputError(f"rule_params is not JSON: {exc.msg}", file=path, row=i + 2,
                             column="rule_params") from None
    cat["rule_params"] = params
    for col in ("scale", "lower_bound", "upper_bound"):
        num = pd.to_numeric(raw[col].replace("", None), errors="coerce").astype(float)
        bad = num.isna() & raw[col].ne("")
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            raise InputError(f"not a number: {raw[col].iloc[i]!r}", file=path, row=i + 2, column=col)
        cat[col] = num
    cat["score_id"] = raw["score_id"].replace("", None)
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
