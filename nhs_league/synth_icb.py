"""A SYNTHETIC 2026/27 quarter of the 42 integrated care boards (ICBs), in NHS England's file formats.

From 2026/27 ICBs are scored, segmented and placed in a public league table (NOF 2026/27). No ICB
file has been seen yet, so this quarter is wholly invented and kept apart from the synthetic
2025/26 year (:mod:`nhs_league.synth`): its own generator, its own folder
(``data/synthetic/2026-27/q1-26-27/``). Every row carries ``Data_source = SYNTHETIC``; the ICBs are
fictional ("NHS Quillvale Integrated Care Board", codes ``ZZ901``-``ZZ942``) and so are their
metrics (catalogue rows ``SYI001``-``SYI009``, evidence ``synthetic``, plus the finance inputs
OF0079 / OF0081 and the combined finance score OF0080, as for trusts).

How the values arise (seeded): each ICB has a latent quality ``z ~ N(0, 1)``; a metric's latent
position is ``0.5 z + sqrt(0.75) e`` with ``e ~ N(0, 1)`` per ICB and metric. Proportions are
binomial counts on synthetic populations; rates and scores are normal around the centres of
:data:`PROFILES`. The summary rows and the league table come from this package's pipeline with the
``nof-2026-27`` preset made provisional (:func:`nhs_league.methods.resolve_for`, the 2025/26
cut-offs standing in for the unpublished 2026/27 thresholds), so the league table is both
SYNTHETIC and PROVISIONAL. The layout follows the latest real release (Q4 2025/26): ``Quarter``
is the first column. The file-name fragment ``integrated-care-board`` is an assumption
(``data/org_types.yaml``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from . import orgtypes
from .catalogue import (ADJUSTED_SEGMENT_ID, AVERAGE_SCORE_ID, DOMAIN_LABELS, DOMAIN_SCORE_IDS,
                        DOMAIN_SEGMENT_IDS, DOMAINS, RSP_FLAG_ID, load_catalogue, metrics_for)
from .files import OutputExistsError, atomic_write_text, csv_text
from .io import SYNTHETIC_MARK, Inputs
from .methods import load_method, resolve_for
from .pipeline import build_panel, compute
from .quarters import Quarter
from .scoring import competition_rank, round_scores
from .synth import _PLACE_HEADS, _PLACE_TAILS, PROJECT_ROOT, REGIONS, likely_ranges

ORG_TYPE = "icb"
QUARTER = Quarter(2026, 1)
DEFAULT_SEED = 2026
DEFAULT_OUTPUT = PROJECT_ROOT / "data" / "synthetic" / "2026-27"
FOLDER = "q1-26-27"
# ICBs per NHS England region (42 in all).
ICBS_PER_REGION = (4, 3, 11, 6, 5, 6, 7)
CODE_START = 901
LOADING = 0.5
SHARE_PLAN_DEFICIT = 0.4

# kind: binomial (centre %, spread in % points, den = population) or normal (centre, spread, clip).
_P = dict
PROFILES = {
    "SYI001": _P(kind="binomial", centre=60.0, spread=6.0, den=60000, decimals=1, date="Jun-26"),
    "SYI002": _P(kind="binomial", centre=75.0, spread=5.0, den=90000, decimals=1, date="Jun-26"),
    "SYI003": _P(kind="binomial", centre=70.0, spread=6.0, den=900, decimals=1, date="Q1 2026/27"),
    "SYI004": _P(kind="normal", centre=1200.0, spread=250.0, clip=(200, 4000), decimals=0, date="Q1 2026/27"),
    "SYI005": _P(kind="normal", centre=1450.0, spread=230.0, clip=(400, 4000), decimals=0,
                 date="Jul 25 - Jun 26"),
    "SYI006": _P(kind="binomial", centre=72.0, spread=4.0, den=6000, decimals=1, date="2026 survey"),
    "SYI007": _P(kind="normal", centre=75.0, spread=10.0, clip=(30, 140), decimals=1, date="Jul 25 - Jun 26"),
    "SYI008": _P(kind="normal", centre=6.9, spread=0.25, clip=(5.5, 8.0), decimals=2, date="2025 survey"),
    "SYI009": _P(kind="normal", centre=0.0, spread=1.0, clip=(-6, 4), decimals=1, date="Year to date 26/27"),
}
DATA_COLUMNS = ["Quarter", "Region", "Trust_type", "Trust_subtype", "Trust_code", "Trust_name", "Domain",
                "Sub-domain", "Metric_ID", "Metric_description", "Reporting_date", "Units", "Value", "Median_value",
                "Lower_quartile", "Upper_quartile", "Rank", "Numerator", "Denominator", "Data_source"]
LEAGUE_COLUMNS = ["Quarter", "Region", "Trust_type", "Trust_subtype", "Trust_code", "Trust_name", "Average_score",
                  "Likely_range_of_average_score", "Segment", "Trust_in_financial_deficit", "Rank",
                  "Likely_range_of_rank", "Data_source"]


def file_names() -> tuple[str, str]:
    """(data file, league-table file), relative to the output folder.

    >>> file_names()[0]
    'q1-26-27/nhs-oversight-framework-integrated-care-board-data-q1-26-27.csv'
    """
    frag = orgtypes.load()[ORG_TYPE].file_name_fragments[0]
    return (f"{FOLDER}/nhs-oversight-framework-{frag}-data-{FOLDER}.csv",
            f"{FOLDER}/nhs-oversight-framework-{frag}-league-table-{FOLDER}.csv")


def _fmt(x, decimals: int) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    out = np.char.mod(f"%.{decimals}f", np.where(np.isnan(x), 0.0, x)).astype(object)
    out[np.isnan(x)] = ""
    return out


def _icbs(rng: np.random.Generator) -> pd.DataFrame:
    places = [h + t for h in _PLACE_HEADS for t in _PLACE_TAILS]
    pick = rng.choice(len(places), size=2 * sum(ICBS_PER_REGION), replace=False)
    first, second = [places[i] for i in pick[::2]], [places[i] for i in pick[1::2]]
    n = sum(ICBS_PER_REGION)
    two = rng.random(n) < 0.5  # some ICBs are named after two places
    names = [f"NHS {a} and {b} Integrated Care Board" if t else f"NHS {a} Integrated Care Board"
             for a, b, t in zip(first, second, two)]
    return pd.DataFrame({
        "code": [f"ZZ{CODE_START + i}" for i in range(n)],
        "name": names,
        "region": np.repeat(np.array(REGIONS, dtype=object), ICBS_PER_REGION),
    })


def _values(rng, icbs: pd.DataFrame, cat: pd.DataFrame) -> dict[str, dict]:
    """Per metric: published text of Value, Numerator, Denominator (and the float values)."""
    n = len(icbs)
    z = rng.standard_normal(n)
    out = {}
    for mid, prof in PROFILES.items():
        sign = 1.0 if cat.at[mid, "better"] == "higher" else -1.0
        pos = sign * (LOADING * z + np.sqrt(1 - LOADING ** 2) * rng.standard_normal(n))
        if prof["kind"] == "binomial":
            p = np.clip(prof["centre"] + prof["spread"] * pos, 1.0, 99.0) / 100.0
            den = np.maximum(50, np.round(prof["den"] * np.exp(0.3 * rng.standard_normal(n)))).astype(np.int64)
            num = rng.binomial(den, p)
            v = np.round(100.0 * num / den, prof["decimals"])
            out[mid] = {"value": v, "num": _fmt(num, 0), "den": _fmt(den, 0)}
        else:
            v = np.round(np.clip(prof["centre"] + prof["spread"] * pos, *prof["clip"]), prof["decimals"])
            blank = np.full(n, "", dtype=object)
            out[mid] = {"value": v, "num": blank, "den": blank}
    # finance: planned surplus/deficit (% of allocation) and year-to-date variance to plan
    deficit = rng.random(n) < SHARE_PLAN_DEFICIT
    plan = np.where(deficit, -np.round(0.2 + np.abs(rng.normal(0.8, 0.6, n)), 1), np.round(rng.uniform(0, 1, n), 1))
    plan[rng.random(n) < 0.25] = 0.0
    var = np.round(rng.normal(-0.1, 0.5, n), 1)
    var[rng.random(n) < 0.4] = 0.0
    blank = np.full(n, "", dtype=object)
    out["OF0079"] = {"value": plan, "num": blank, "den": blank}
    out["OF0081"] = {"value": var, "num": blank, "den": blank}
    return out


def _tidy(icbs: pd.DataFrame, values: dict) -> pd.DataFrame:
    n = len(icbs)
    parts = [pd.DataFrame({"source_file": "synthetic", "source_row": 0, "quarter": QUARTER.code,
                           "trust_type": ORG_TYPE, "region": icbs["region"], "trust_subtype": "",
                           "trust_code": icbs["code"], "trust_name": icbs["name"], "metric_id": mid,
                           "value": v["value"], "numerator": np.nan, "denominator": np.nan})
             for mid, v in values.items()]
    parts.append(pd.DataFrame({"source_file": "synthetic", "source_row": 0, "quarter": QUARTER.code,
                               "trust_type": ORG_TYPE, "region": icbs["region"], "trust_subtype": "",
                               "trust_code": icbs["code"], "trust_name": icbs["name"], "metric_id": RSP_FLAG_ID,
                               "value": np.zeros(n), "numerator": np.nan, "denominator": np.nan}))
    return pd.concat(parts, ignore_index=True)


def _row_block(icbs, *, metric_id, domain, sub, desc, date, units, value, rank="", med="", lq="", uq="",
               num="", den="") -> pd.DataFrame:
    return pd.DataFrame({"Trust_code": icbs["code"], "Domain": domain, "Sub-domain": sub, "Metric_ID": metric_id,
                         "Metric_description": desc, "Reporting_date": date, "Units": units, "Value": value,
                         "Median_value": med, "Lower_quartile": lq, "Upper_quartile": uq, "Rank": rank,
                         "Numerator": num, "Denominator": den})


def generate(seed: int = DEFAULT_SEED, *, catalogue: pd.DataFrame | None = None) -> dict[str, str]:
    """The SYNTHETIC 2026/27 ICB quarter as ``{relative path: CSV text}`` (byte-identical per seed).

    Examples
    --------
    >>> files = generate()
    >>> sorted(files) == sorted(file_names()) and files == generate()
    True
    """
    seed = int(seed)
    if seed < 0:
        raise ValueError("seed must be a non-negative integer")
    cat = load_catalogue() if catalogue is None else catalogue
    rng = np.random.default_rng([seed, 2026, 1])
    icbs = _icbs(rng)
    values = _values(rng, icbs, cat)
    method = resolve_for(load_method("nof-2026-27"), ORG_TYPE, provisional=True)
    inputs = Inputs(_tidy(icbs, values), pd.DataFrame(columns=["trust_code", "trust_type", "quarter"]), {}, True, [])
    panel = build_panel(inputs, QUARTER.code, ORG_TYPE, catalogue=cat)
    if list(panel.trusts.index) != list(icbs["code"]):  # pragma: no cover - internal invariant
        raise AssertionError("panel order differs from ICB order")
    res = compute(panel, method)
    label, qlabel = orgtypes.label(ORG_TYPE), QUARTER.label
    rows = metrics_for(cat, ORG_TYPE, scored_only=False)
    blocks = []
    for mid, v in values.items():
        r = rows.loc[mid]
        dec = PROFILES[mid]["decimals"] if mid in PROFILES else 1
        x = v["value"]
        lq, med, uq = _fmt(np.percentile(x, [25, 50, 75]), dec)
        rank = competition_rank(-x if r["better"] == "higher" else x)
        date = PROFILES[mid]["date"] if mid in PROFILES else ("2026/27 plan" if mid == "OF0079" else "Year to date 26/27")
        blocks.append(_row_block(icbs, metric_id=mid, domain=DOMAIN_LABELS[r["domain"]], sub="", desc=r["name"],
                                 date=date, units=r["units"], value=_fmt(x, dec), rank=_fmt(rank, 0), med=med,
                                 lq=lq, uq=uq, num=v["num"], den=v["den"]))
    for j, mid in enumerate(panel.metric_ids):  # the published 1-4 score of every scored metric
        r = rows.loc[mid]
        if isinstance(r["score_id"], str):
            blocks.append(_row_block(icbs, metric_id=r["score_id"], domain=DOMAIN_LABELS[r["domain"]], sub="",
                                     desc=f"{r['name']}: metric score", date=qlabel, units="score",
                                     value=_fmt(res["scores"][:, j], 2)))
    for k, d in enumerate(DOMAINS):
        ds = round_scores(res["domain_scores"][:, k], 2)
        blocks.append(_row_block(icbs, metric_id=DOMAIN_SCORE_IDS[d], domain=DOMAIN_LABELS[d], sub="Domain summary",
                                 desc=f"{DOMAIN_LABELS[d]}: domain score", date=qlabel, units="score",
                                 value=_fmt(ds, 2)))
        blocks.append(_row_block(icbs, metric_id=DOMAIN_SEGMENT_IDS[d], domain=DOMAIN_LABELS[d],
                                 sub="Domain summary", desc=f"{DOMAIN_LABELS[d]}: domain segment", date=qlabel,
                                 units="segment", value=_fmt(np.where(np.isnan(ds), np.nan,
                                                                      res["domain_segments"][:, k]), 0)))
    for mid, desc, units, val in (
            (ADJUSTED_SEGMENT_ID, "Adjusted segment (after the financial override)", "segment",
             _fmt(res["segment"], 0)),
            (AVERAGE_SCORE_ID, "Average metric score", "score", _fmt(res["average_2dp"], 2)),
            (RSP_FLAG_ID, "Intensive support flag: 1 = yes", "flag", _fmt(np.zeros(len(icbs)), 0))):
        blocks.append(_row_block(icbs, metric_id=mid, domain="Overall", sub="Overall", desc=desc, date=qlabel,
                                 units=units, value=val))
    data = pd.concat([b[b["Value"] != ""] for b in blocks], ignore_index=True)
    pos = pd.Series(np.arange(len(icbs)), index=icbs["code"])
    data = data.assign(_t=data["Trust_code"].map(pos)).sort_values(["_t", "Metric_ID"], kind="stable")
    t = data.pop("_t").to_numpy()
    data = data.assign(Quarter=qlabel, Region=icbs["region"].to_numpy()[t], Trust_type=label,
                       Trust_subtype=label, Trust_name=icbs["name"].to_numpy()[t], Data_source=SYNTHETIC_MARK)
    lo, hi, rlo, rhi = likely_ranges(res, method)
    league = pd.DataFrame({
        "Quarter": qlabel, "Region": icbs["region"], "Trust_type": label, "Trust_subtype": label,
        "Trust_code": icbs["code"], "Trust_name": icbs["name"], "Average_score": _fmt(res["average_2dp"], 2),
        "Likely_range_of_average_score": [f"{a} - {b}" for a, b in zip(_fmt(lo, 2), _fmt(hi, 2))],
        "Segment": _fmt(res["segment"], 0), "Trust_in_financial_deficit": np.where(res["in_deficit"], "Yes", "No"),
        "Rank": _fmt(res["rank"], 0), "Likely_range_of_rank": [f"{a} - {b}" for a, b in zip(rlo, rhi)],
        "Data_source": SYNTHETIC_MARK, "_rank": res["rank"]})
    league = league.sort_values(["_rank", "Trust_code"], kind="stable")
    data_path, league_path = file_names()
    return {data_path: csv_text(data[DATA_COLUMNS]), league_path: csv_text(league[LEAGUE_COLUMNS])}


def write_quarter(output=None, *, seed: int = DEFAULT_SEED, force: bool = False) -> list[Path]:
    """Write the synthetic ICB quarter under ``output`` (default :data:`DEFAULT_OUTPUT`), atomically;
    an existing file is an :class:`~nhs_league.files.OutputExistsError` unless ``force``."""
    root = Path(DEFAULT_OUTPUT if output is None else output)
    files = generate(seed)
    targets = [root / rel for rel in files]
    existing = [p for p in targets if p.exists()]
    if existing and not force:
        raise OutputExistsError(f"{existing[0]} exists: pass --force to overwrite it")
    return [atomic_write_text(p, files[rel], force=force) for p, rel in zip(targets, files)]


__all__ = ["generate", "write_quarter", "file_names", "DEFAULT_OUTPUT", "DEFAULT_SEED", "PROFILES", "QUARTER"]
