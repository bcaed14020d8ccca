"""The deterministic synthetic 2025/26 year: fictional trusts in NHS England's file formats.

Everything written here is **SYNTHETIC**: invented trusts (names from made-up place names,
codes ``ZZ###`` that no real ODS code uses) with invented metric values. The files follow
the official formats of nof-method.md §2 closely enough that every reader, command and
notebook can run end to end without real data, and every row carries
``Data_source = SYNTHETIC`` so that results computed from them are labelled SYNTHETIC.

What is generated, per quarter (Q1-Q4 2025/26) and trust type (134 acute, 61 mental
health and community, 10 ambulance):

* a **data file**: one row per trust and metric for every catalogue metric of the type
  (``input`` metrics such as OF0081 included), the ``OF1###`` metric-score rows, the domain
  scores ``OF4000``-``OF4005``, domain segments ``OF4100``-``OF4105``, the adjusted segment
  ``OF5000``, the average metric score ``OF5002`` and the intensive-support flag ``OF5007``;
  proportion and rate metrics carry ``Numerator`` and ``Denominator`` columns;
* a **league-table file**: average score, likely range, segment, deficit flag, rank and
  likely rank range.

How the values arise (all seeded, see :func:`generate`):

1. Each trust has a latent quality that drifts slowly from quarter to quarter (an AR(1)
   with correlation ``QUALITY_RHO``) plus a persistent trust-and-metric effect (AR(1),
   ``METRIC_RHO``); a metric's latent position is ``loading * quality + sqrt(1 -
   loading^2) * effect`` (:data:`PROFILES` gives each metric's centre, spread, loading,
   denominator size and reporting-date style).
2. Proportions are drawn as binomial counts and rates as Poisson counts on synthetic
   denominators, so ``Value = Numerator / Denominator * scale`` to the published rounding.
3. Finance: a planned surplus/deficit that is fixed for the year and a year-to-date
   variance to plan that moves each quarter (many trusts exactly on plan); about two in
   three acute trusts end up in deficit.
4. Some cells are suppressed (``*``) or left blank; specialist trusts and single-service
   non-acute trusts lack the metrics that do not apply to them.
5. The published 1-4 scores of metrics whose rule is unknown (catalogue rule
   ``published``) are made with the continuous rank rule or simple bands
   (:data:`PUBLISHED_SCORE_RULES`); every other summary row is produced by *this
   package's own pipeline* (:func:`nhs_league.pipeline.compute` with
   :func:`nhs_league.methods.default_method_for` the quarter), so the synthetic files are
   internally consistent: recomputing a league table from a data file gives the
   league-table file.
6. The likely ranges are simple and honest but not NHS England's (which is unpublished):
   the average +/- 2 standard errors of the trust's metric scores, and the ranks the
   trust would have at those two averages with every other trust held fixed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import orgtypes
from .catalogue import (ADJUSTED_SEGMENT_ID, AVERAGE_SCORE_ID, DEFICIT_FLAG_ID, FINAL_SEGMENT_ID,
                        UNADJUSTED_SEGMENT_ID, DOMAIN_LABELS, DOMAIN_SCORE_IDS,
                        DOMAIN_SEGMENT_IDS, DOMAINS, RSP_FLAG_ID, load_catalogue,
                        metrics_for)
from .files import OutputExistsError, atomic_write_text, csv_text
from .io import SYNTHETIC_MARK, TRUST_TYPE_LABELS, Inputs
from .methods import Method, default_method_for
from .pipeline import build_panel, compute, finance_parts
from .quarters import Quarter
from .scoring import banded_scores, competition_rank, continuous_scores, round_scores
from .segmentation import apply_override, apply_segment5, quartile_cutoffs

DEFAULT_SEED = 2025
FINANCIAL_YEAR = 2025
YEAR_TYPES = orgtypes.types_for_year(FINANCIAL_YEAR)  # the types scored in 2025/26 (no ICBs)
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = PROJECT_ROOT / "data" / "synthetic" / "2025-26"

REGIONS = ("North East and Yorkshire", "North West", "Midlands", "East of England", "London",
           "South East", "South West")
# Rough shares of trusts by region (acute and non-acute); ambulance regions are fixed below.
REGION_WEIGHTS = (0.18, 0.16, 0.18, 0.12, 0.14, 0.13, 0.09)
AMBULANCE_REGIONS = ("North East and Yorkshire", "North East and Yorkshire", "North West", "Midlands",
                     "Midlands", "East of England", "London", "South East", "South East", "South West")

# Trusts per type and subtype (nof-method.md §1: 134 / 61 / 10).
SUBTYPES = {
    "acute": {"Acute - Teaching": 44, "Acute - Large": 26, "Acute - Medium": 22, "Acute - Small": 20,
              "Acute - Multi-Service": 7, "Acute - Specialist": 15},
    "mental-health-and-community": {"Mental Health and Learning Disability": 46, "Community": 15},
    "ambulance": {"Ambulance": 10},
}
# Specialties of the 15 acute specialist trusts, and the metrics each does not report
# (on top of the catalogue's not_for_subtypes): cancer specialists have no RTT metrics.
SPECIALTIES = (("cancer", 3), ("children", 3), ("heart", 2), ("orthopaedic", 2), ("eye", 1),
               ("neuro", 1), ("women", 3))
_NO_CANCER = ("OF0010", "OF0011", "SYN014")
SPECIALTY_EXCLUDES = {
    "cancer": ("OF0023", "OFX003", "OF0106"),
    "children": _NO_CANCER,
    "heart": _NO_CANCER,
    "orthopaedic": _NO_CANCER + ("OF0048",),
    "eye": _NO_CANCER + ("OF0048", "OF0088"),
    "neuro": _NO_CANCER,
    "women": (),
}
# Non-acute trusts: community metrics only where the trust runs community services, mental
# health metrics only where it runs mental health services.
COMMUNITY_METRICS = ("OF0005", "OF0057")
MENTAL_HEALTH_METRICS = ("OF0016", "OF0063", "SYN009")
SHARE_MHLD_WITH_COMMUNITY = 0.55
SHARE_COMMUNITY_WITH_MH = 0.2

# Mean shift of latent quality by subtype: specialist trusts tend to score well.
SUBTYPE_OFFSET = {"Acute - Specialist": 0.7, "Acute - Teaching": -0.05, "Acute - Small": -0.1}
# Relative size (denominators scale with it).
SUBTYPE_SIZE = {"Acute - Teaching": 1.6, "Acute - Large": 1.25, "Acute - Medium": 0.9, "Acute - Small": 0.6,
                "Acute - Multi-Service": 1.0, "Acute - Specialist": 0.35, "Community": 0.8}

QUALITY_RHO = 0.93   # quarter-to-quarter correlation of a trust's latent quality
METRIC_RHO = 0.85    # ... of its persistent trust-and-metric effects
DEFAULT_LOADING = 0.45

# Finance, per trust type: share planning a deficit, share planning exactly break-even,
# share reporting exactly on plan year to date.
FINANCE = {
    "acute": {"plan_deficit": 0.52, "plan_breakeven": 0.30, "on_plan": 0.40},
    "mental-health-and-community": {"plan_deficit": 0.28, "plan_breakeven": 0.42, "on_plan": 0.45},
    "ambulance": {"plan_deficit": 0.40, "plan_breakeven": 0.40, "on_plan": 0.40},
}
# Trusts in intensive support (segment 5, OF5007): the lowest latent quality at the start.
INTENSIVE_SUPPORT = {"acute": 2, "mental-health-and-community": 1, "ambulance": 0}
SHARE_STAR = 0.010   # cells published as '*'
SHARE_BLANK = 0.006  # cells left blank

# Published scores for metrics whose real rule is unknown (catalogue rule 'published').
# ("bands", edges): 1 + number of edges the value is worse than; ("value",): the value is the
# score (CQC rating 1-4); anything else: the continuous rank rule on the unrounded value.
PUBLISHED_SCORE_RULES = {
    "OF0106": ("bands", (0.0, -1.0, -3.0)),
    "OFX005": ("value",),
}

# How each metric's values are made. kind: binomial | poisson | normal | rating | plan |
# variance. centre/spread in the metric's units (spread = sd between trusts); den: typical
# denominator (binomial) or expected count (poisson); den_one: the value is a count, published
# with Denominator 1; date: reporting-date style (see _reporting_date); annual: the value is
# the same in Q1-Q3 and changes in Q4 (surveys, annual indices); loading: weight of the
# trust's latent quality.
_P = dict
PROFILES = {
    "OF0023": _P(kind="binomial", centre=60.0, spread=7.0, den=40000, date="month", sub="Elective care"),
    "OF0106": _P(kind="normal", centre=-0.6, spread=2.0, decimals=1, clip=(-12, 8), date="month",
                 sub="Elective care", loading=0.3),
    "OF0010": _P(kind="binomial", centre=77.0, spread=6.0, den=7000, date="quarter", sub="Cancer"),
    "OF0011": _P(kind="binomial", centre=71.0, spread=8.0, den=700, date="quarter", sub="Cancer"),
    "OF0005": _P(kind="binomial", centre=4.0, spread=3.0, den=6000, date="month", sub="Community services"),
    "OF0016": _P(kind="binomial", centre=70.0, spread=10.0, den=1500, date="quarter", sub="Mental health"),
    "OF0057": _P(kind="binomial", centre=83.0, spread=6.0, den=3000, date="month", sub="Community services"),
    "OF0063": _P(kind="binomial", centre=24.6, spread=6.5, den=300, date="quarter", sub="Mental health"),
    "OF0061": _P(kind="normal", centre=6.47, spread=0.33, clip=(5.2, 7.8), date="survey", annual=True,
                 sub="Safety culture"),
    "OF0084": _P(kind="normal", centre=6.90, spread=0.29, clip=(5.6, 7.8), date="survey", annual=True,
                 sub="Staff experience"),
    "OF0082": _P(kind="binomial", centre=5.0, spread=0.7, den=400000, date="month", sub="Retention and attendance"),
    "OF0079": _P(kind="plan", date="plan", sub="Financial position"),
    "OF0081": _P(kind="variance", date="ytd", sub="Financial position"),
    "OF0085": _P(kind="normal", centre=2.5, spread=4.0, decimals=1, clip=(-15, 15), date="ytd",
                 sub="Productivity"),
    "OF0086": _P(kind="normal", centre=100.0, spread=8.0, decimals=1, clip=(70, 140), date="annual",
                 annual=True, sub="Productivity"),
    "OF0041": _P(kind="normal", centre=4.0, spread=8.0, decimals=2, clip=(-40, 60), date="annual",
                 sub="Children and young people"),
    # score-only metrics: the official files publish their score (OF1035, OF1067) and no raw value
    "OF0035": _P(kind="rating", decimals=0, date="survey", annual=True, sub="Patient experience"),
    "OF0067": _P(kind="rating", decimals=0, date="snapshot", sub="Quality of care"),
    "OF0020": _P(kind="poisson", centre=4.0, spread=1.6, den=1, den_one=True, decimals=0, date="rolling12",
                 sub="Infection prevention"),
    "OF0048": _P(kind="poisson", centre=1.2, spread=0.25, den=30, date="rolling12", sub="Infection prevention"),
    "OF0088": _P(kind="poisson", centre=1.18, spread=0.35, den=40, date="rolling12", sub="Infection prevention"),
    "OFX001": _P(kind="binomial", centre=75.0, spread=6.0, den=40000, date="month", sub="Urgent and emergency care"),
    "OFX002": _P(kind="binomial", centre=9.0, spread=3.0, den=40000, date="month", sub="Urgent and emergency care"),
    "OFX003": _P(kind="binomial", centre=2.0, spread=1.0, den=40000, date="month", sub="Elective care"),
    "OFX004": _P(kind="normal", centre=7.2, spread=0.3, clip=(5.8, 8.6), date="survey", annual=True,
                 sub="Patient experience"),
    "OFX005": _P(kind="rating", decimals=0, date="snapshot", sub="Quality of care"),
    "OFX006": _P(kind="normal", centre=490.0, spread=45.0, decimals=0, clip=(380, 700), date="month",
                 sub="Ambulance response"),
    "OFX007": _P(kind="normal", centre=2100.0, spread=400.0, decimals=0, clip=(1200, 3600), date="month",
                 sub="Ambulance response"),
    "OFX008": _P(kind="binomial", centre=15.0, spread=7.0, den=60000, date="month", sub="Ambulance response"),
    "SYN001": _P(kind="binomial", centre=20.0, spread=8.0, den=15000, date="month", sub="Elective care"),
    "SYN002": _P(kind="poisson", centre=100.0, spread=8.0, den=600, den_decimals=1, decimals=1,
                 date="rolling12", sub="Clinical outcomes"),
    "SYN003": _P(kind="binomial", centre=12.0, spread=1.5, den=20000, date="quarter", sub="Clinical outcomes"),
    "SYN004": _P(kind="binomial", centre=91.0, spread=3.0, den=5000, date="month", sub="Patient experience"),
    "SYN005": _P(kind="poisson", centre=5.0, spread=2.0, den=15, date="rolling12", sub="Incidents"),
    "SYN006": _P(kind="binomial", centre=10.0, spread=1.8, den=6000, date="rolling12",
                 sub="Retention and attendance"),
    "SYN007": _P(kind="normal", centre=3.0, spread=1.5, decimals=1, clip=(0.1, 12), date="ytd",
                 sub="Workforce costs"),
    "SYN008": _P(kind="binomial", centre=8.0, spread=3.0, den=8000, date="month", sub="Flow"),
    "SYN009": _P(kind="binomial", centre=6.0, spread=4.0, den=3000, date="quarter", sub="Mental health"),
    "SYN010": _P(kind="binomial", centre=15.0, spread=3.0, den=200000, date="month", sub="Ambulance response"),
    "SYN011": _P(kind="normal", centre=380.0, spread=90.0, decimals=0, clip=(150, 800), date="month",
                 sub="Ambulance response"),
    "SYN012": _P(kind="poisson", centre=55.0, spread=12.0, den=3000, decimals=1, date="quarter", sub="Incidents"),
    "SYN013": _P(kind="normal", centre=2.0, spread=5.0, decimals=1, clip=(-20, 25), date="ytd", sub="Productivity"),
    "SYN014": _P(kind="binomial", centre=91.0, spread=4.0, den=800, date="quarter", sub="Cancer"),
}
# Per trust type changes to a profile.
PROFILE_BY_TYPE = {
    ("OF0082", "mental-health-and-community"): {"centre": 5.5},
    ("OF0082", "ambulance"): {"centre": 7.5, "spread": 1.0},
    ("OF0061", "ambulance"): {"centre": 6.0},
    ("OF0084", "ambulance"): {"centre": 6.3},
    ("SYN004", "mental-health-and-community"): {"centre": 88.0, "den": 2000},
    ("SYN004", "ambulance"): {"centre": 92.0, "den": 1500},
    ("SYN005", "mental-health-and-community"): {"centre": 8.0, "den": 10},
    ("SYN006", "ambulance"): {"centre": 11.5},
    ("SYN007", "mental-health-and-community"): {"centre": 4.5},
    ("SYN007", "ambulance"): {"centre": 2.0, "spread": 1.0},
    ("SYN008", "mental-health-and-community"): {"centre": 12.0, "den": 1500},
    ("SYN012", "ambulance"): {"centre": 30.0, "spread": 8.0, "den": 9000},
}
_PROFILE_DEFAULTS = dict(decimals=2, loading=DEFAULT_LOADING, annual=False, den_one=False, den_decimals=0,
                         clip=None, sub="")
# CQC rating shares (1 Outstanding, 2 Good, 3 Requires improvement, 4 Inadequate).
CQC_SHARES = (0.10, 0.55, 0.30, 0.05)
# The data files carry OF1### score rows only for metrics with this catalogue rule (the real
# files carry them for every metric; all of them would make the synthetic year ~13 MB).
SCORE_ROWS_FOR = "published"
CQC_RERATED_PER_QUARTER = 0.06

_PLACE_HEADS = ("Amber", "Bracken", "Corran", "Dapple", "Ember", "Fennick", "Gossam", "Heronry", "Ivel",
                "Juniper", "Kestrel", "Larch", "Merrow", "Nettle", "Osprey", "Pennant", "Quill", "Rowan",
                "Sorrel", "Tansy", "Umber", "Vetch", "Wrenna", "Yarrow", "Zephyr", "Bryony", "Caddis",
                "Drovers", "Eskin", "Fernlow", "Gorse", "Hazelmoor", "Inkpen", "Jessam")
_PLACE_TAILS = ("vale", "mere", "combe", "holt", "ridge", "wick", "stead", "ford", "marsh", "dene",
                "haven", "brook", "cross", "well", "thorpe", "mead")
_NAME_TEMPLATES = {
    "Acute - Teaching": ("{p} Teaching Hospitals NHS Foundation Trust", "University Hospitals of {p} NHS Trust",
                         "{p} and {q} University Hospitals NHS Foundation Trust"),
    "Acute - Large": ("{p} Hospitals NHS Foundation Trust", "{p} and {q} Hospitals NHS Trust"),
    "Acute - Medium": ("{p} General Hospital NHS Foundation Trust", "{p} Hospitals NHS Trust"),
    "Acute - Small": ("{p} Healthcare NHS Trust", "{p} District Hospital NHS Foundation Trust"),
    "Acute - Multi-Service": ("{p} Health and Care NHS Foundation Trust", "{p} Integrated Care NHS Trust"),
    "Mental Health and Learning Disability": ("{p} Partnership NHS Foundation Trust",
                                              "{p} Mental Health NHS Foundation Trust", "{p} Care NHS Trust"),
    "Community": ("{p} Community Health NHS Trust", "{p} Community Healthcare NHS Foundation Trust"),
    "Ambulance": ("{p} Ambulance Service NHS Foundation Trust", "{p} Ambulance Service NHS Trust"),
}
_SPECIALIST_TEMPLATES = {
    "cancer": "{p} Cancer Centre NHS Foundation Trust",
    "children": "{p} Children's Hospital NHS Foundation Trust",
    "heart": "{p} Heart and Chest Hospital NHS Foundation Trust",
    "orthopaedic": "{p} Orthopaedic Hospital NHS Trust",
    "eye": "{p} Eye Hospital NHS Foundation Trust",
    "neuro": "{p} Neurosciences Centre NHS Foundation Trust",
    "women": "{p} Women's Hospital NHS Foundation Trust",
}
CODE_PREFIX = "ZZ"
_CODE_START = {"acute": 101, "mental-health-and-community": 401, "ambulance": 701}

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

DATA_COLUMNS_Q1 = ["Region", "Trust_type", "Trust_subtype", "Trust_code", "Trust_name", "Domain", "Sub-domain",
                   "Metric_ID", "Metric_description", "Reporting_date", "Units", "Value", "Median_value",
                   "Lower_quartile", "Upper_quartile", "Rank", "Numerator", "Denominator", "Data_source"]
DATA_COLUMNS_Q3 = DATA_COLUMNS_Q1[:16] + ["Quarter"] + DATA_COLUMNS_Q1[16:]
LEAGUE_COLUMNS_Q1 = ["Region", "Trust_type", "Trust_subtype", "Trust_code", "Trust_name", "Reporting_date",
                     "Average_score", "Likely_range_of_average_score", "Segment", "Trust_in_financial_deficit",
                     "Rank", "Likely_range_of_rank", "Data_source"]
LEAGUE_COLUMNS_Q3 = [c if c != "Reporting_date" else "Quarter" for c in LEAGUE_COLUMNS_Q1]


def file_names(quarter: int) -> dict[str, tuple[str, str]]:
    """``{trust_type: (data file, league-table file)}`` relative paths for quarter 1-4 of 2025/26.

    Q1 uses the Q1 release's names (the folder gives the quarter); Q2-Q4 use the Q3 names.

    >>> file_names(1)["mental-health-and-community"][0]
    'q1-25-26/nhs-oversight-framework-non-acute-hospital-trust-data.csv'
    >>> file_names(3)["acute"][1]
    'q3-25-26/nhs-oversight-framework-acute-trust-league-table-q3-25-26-v2.csv'
    """
    folder = f"q{quarter}-25-26"
    if quarter == 1:
        stem = {"acute": "acute-trust", "mental-health-and-community": "non-acute-hospital-trust",
                "ambulance": "ambulance-trust"}
        return {t: (f"{folder}/nhs-oversight-framework-{s}-data.csv",
                    f"{folder}/nhs-oversight-framework-{s}-league-table.csv") for t, s in stem.items()}
    return {t: (f"{folder}/nhs-oversight-framework-{t}-trust-data-{folder}-v2.csv",
                f"{folder}/nhs-oversight-framework-{t}-trust-league-table-{folder}-v2.csv") for t in YEAR_TYPES}


def _profile(metric_id: str, trust_type: str, cat_row) -> dict:
    """The generating profile of a metric for a trust type (a generic one for unknown metrics)."""
    p = dict(_PROFILE_DEFAULTS)
    if metric_id in PROFILES:
        p.update(PROFILES[metric_id])
    else:  # a metric added to the catalogue after this table was written: generic values
        lo, hi = float(cat_row["lower_bound"]), float(cat_row["upper_bound"])
        scale = 1.0 if math.isnan(cat_row["scale"]) else float(cat_row["scale"])
        if cat_row["distribution"] == "binomial":
            p.update(kind="binomial", centre=0.5 * scale, spread=0.1 * scale, den=2000)
        elif cat_row["distribution"] == "poisson":
            p.update(kind="poisson", centre=10.0, spread=3.0, den=50)
        elif not (math.isnan(lo) or math.isnan(hi)):
            p.update(kind="normal", centre=(lo + hi) / 2, spread=(hi - lo) / 10)
        else:
            base = lo if not math.isnan(lo) else (hi - 100.0 if not math.isnan(hi) else 0.0)
            p.update(kind="normal", centre=base + 50.0, spread=10.0)
        p["date"] = "quarter"
        p["clip"] = (lo if not math.isnan(lo) else -np.inf, hi if not math.isnan(hi) else np.inf)
    p.update(PROFILE_BY_TYPE.get((metric_id, trust_type), {}))
    return p


def _reporting_date(style: str, q: int) -> str:
    """A ``Reporting_date`` in one of the mixed formats of the real files, for quarter ``q``."""
    year = FINANCIAL_YEAR + (q == 4)
    end = 3 * q + 3 if q < 4 else 3  # last month of the quarter (1-12)
    if style == "month":
        return f"{_MONTHS[end - 1]}-{year % 100:02d}"
    if style == "quarter":
        return f"Q{q} {FINANCIAL_YEAR}/{(FINANCIAL_YEAR + 1) % 100:02d}"
    if style == "ytd":
        return f"Year to date {FINANCIAL_YEAR % 100:02d}/{(FINANCIAL_YEAR + 1) % 100:02d}"
    if style == "plan":
        return f"{FINANCIAL_YEAR}/{(FINANCIAL_YEAR + 1) % 100:02d} plan"
    if style == "rolling12":  # the 12 months to the end of the quarter
        start_year = year - 1 if end < 12 else year
        return f"{_MONTHS[end % 12]} {start_year % 100:02d} - {_MONTHS[end - 1]} {year % 100:02d}"
    if style == "survey":
        return f"{FINANCIAL_YEAR - 1 + (q == 4)} survey"
    if style == "annual":
        return f"Apr {(FINANCIAL_YEAR - 1) % 100:02d} - Mar {FINANCIAL_YEAR % 100:02d}"
    if style == "snapshot":
        return f"As at {_MONTHS[end - 1]}-{year % 100:02d}"
    raise ValueError(f"unknown reporting-date style {style!r}")


def _fmt(values, decimals: int) -> np.ndarray:
    """Fixed-decimal text of ``values`` ('' for NaN), never '-0.00'."""
    v = np.asarray(values, dtype=float)
    out = np.full(v.shape, "", dtype=object)
    ok = ~np.isnan(v)
    if ok.any():
        r = np.round(v[ok], decimals) + 0.0
        out[ok] = np.char.mod(f"%.{decimals}f", r).astype(object)
        out[ok] = np.where(out[ok] == f"-{0:.{decimals}f}", f"{0:.{decimals}f}", out[ok])
    return out


def _parse(text: np.ndarray) -> np.ndarray:
    """What a reader makes of published cells: floats, NaN for '' and '*'."""
    return np.array([float(s) if s not in ("", "*") else np.nan for s in text], dtype=float)


def _ar1(prev: np.ndarray, rho: float, rng: np.random.Generator) -> np.ndarray:
    return rho * prev + math.sqrt(1.0 - rho * rho) * rng.standard_normal(prev.shape)


# ----------------------------------------------------------------------------- trusts


@dataclass
class _Trusts:
    """The fictional trusts of one type (fixed for the year)."""

    trust_type: str
    codes: np.ndarray
    names: np.ndarray
    subtypes: np.ndarray
    regions: np.ndarray
    specialty: np.ndarray  # '' or a SPECIALTIES key (acute specialists only)
    services: np.ndarray  # non-acute: 'mh', 'community' or 'both'; '' otherwise
    size: np.ndarray
    offset: np.ndarray

    @property
    def n(self) -> int:
        return len(self.codes)


def _place_names(rng: np.random.Generator) -> list[str]:
    names = [h + t for h in _PLACE_HEADS for t in _PLACE_TAILS]
    return [names[i] for i in rng.permutation(len(names))]


def _make_trusts(rng: np.random.Generator, places: list[str]) -> dict[str, _Trusts]:
    """The 134 + 61 + 10 fictional trusts with names, codes, subtypes, regions, sizes."""
    out = {}
    used = 0
    for trust_type in YEAR_TYPES:
        subtypes = np.array([s for s, k in SUBTYPES[trust_type].items() for _ in range(k)], dtype=object)
        n = len(subtypes)
        subtypes = subtypes[rng.permutation(n)]
        specialty = np.full(n, "", dtype=object)
        spec_idx = np.flatnonzero(subtypes == "Acute - Specialist")
        spec_list = [s for s, k in SPECIALTIES for _ in range(k)]
        specialty[spec_idx] = np.array(spec_list, dtype=object)[: len(spec_idx)]
        services = np.full(n, "", dtype=object)
        if trust_type == "mental-health-and-community":
            u = rng.random(n)
            services = np.where(subtypes == "Community", np.where(u < SHARE_COMMUNITY_WITH_MH, "both", "community"),
                                np.where(u < SHARE_MHLD_WITH_COMMUNITY, "both", "mh")).astype(object)
        if trust_type == "ambulance":
            regions = np.array(AMBULANCE_REGIONS, dtype=object)[rng.permutation(n)]
        else:
            regions = np.array(REGIONS, dtype=object)[rng.choice(len(REGIONS), size=n, p=REGION_WEIGHTS)]
        names = []
        for i in range(n):  # n ~ 100: builds the name strings once, not a hot path
            p, q = places[used], places[used + 1]
            used += 2
            if specialty[i]:
                tmpl = _SPECIALIST_TEMPLATES[specialty[i]]
            else:
                options = _NAME_TEMPLATES[subtypes[i]]
                tmpl = options[int(rng.integers(len(options)))]
            names.append(tmpl.format(p=p, q=q))
        size = np.array([SUBTYPE_SIZE.get(s, 1.0) for s in subtypes]) * np.exp(0.35 * rng.standard_normal(n))
        offset = np.array([SUBTYPE_OFFSET.get(s, 0.0) for s in subtypes])
        codes = np.array([f"{CODE_PREFIX}{_CODE_START[trust_type] + i}" for i in range(n)], dtype=object)
        out[trust_type] = _Trusts(trust_type, codes, np.array(names, dtype=object), subtypes, regions,
                                  specialty, services, size, offset)
    return out


def _applies(trusts: _Trusts, cat_row) -> np.ndarray:
    """Which trusts report a metric at all (subtype, specialty and service exclusions)."""
    mid = cat_row["metric_id"]
    ok = ~np.isin(trusts.subtypes, list(cat_row["not_for_subtypes"]))
    excluded = np.array([mid in SPECIALTY_EXCLUDES.get(s, ()) for s in trusts.specialty])
    ok &= ~excluded
    if mid in COMMUNITY_METRICS:
        ok &= np.isin(trusts.services, ["", "community", "both"])
    if mid in MENTAL_HEALTH_METRICS:
        ok &= np.isin(trusts.services, ["", "mh", "both"])
    return ok


# ----------------------------------------------------------------------------- values


@dataclass
class _TypeState:
    """What carries over from one quarter to the next for one trust type."""

    quality: np.ndarray
    effects: dict = field(default_factory=dict)  # metric_id -> (n,) persistent effect
    finance: np.ndarray | None = None  # latent financial health (fixed)
    plan: np.ndarray | None = None  # planned surplus/deficit (fixed for the year)
    run_rate: np.ndarray | None = None
    on_plan: np.ndarray | None = None
    rating: np.ndarray | None = None
    annual: dict = field(default_factory=dict)  # metric_id -> cells published in Q1 (reused to Q3)
    intensive: np.ndarray | None = None


@dataclass
class _Cells:
    """Published text of one metric for every trust of a type (rows where ``present``)."""

    value: np.ndarray
    numerator: np.ndarray
    denominator: np.ndarray
    present: np.ndarray  # the row exists (metric applies to the trust)
    true_value: np.ndarray  # unrounded, unsuppressed (NaN where not present)


def _draw_metric(mid: str, prof: dict, cat_row, trusts: _Trusts, state: _TypeState, q: int,
                 rng: np.random.Generator, trust_type: str) -> _Cells:
    n = trusts.n
    scale = float(cat_row["scale"]) if not math.isnan(cat_row["scale"]) else 1.0
    sign = 1.0 if cat_row["better"] == "higher" else -1.0
    if mid not in state.effects:
        state.effects[mid] = rng.standard_normal(n)
    else:
        state.effects[mid] = _ar1(state.effects[mid], METRIC_RHO, rng)
    load = float(prof["loading"])
    z = load * (state.quality + trusts.offset) + math.sqrt(1 - load * load) * state.effects[mid]
    size = trusts.size * np.exp(0.03 * rng.standard_normal(n))
    jitter = rng.random(n)  # spare uniform draw per trust, used by some kinds
    num = np.full(n, np.nan)
    den = np.full(n, np.nan)
    den_dec = int(prof["den_decimals"])
    kind = prof["kind"]
    if kind == "binomial":
        c = prof["centre"] / scale
        s = (prof["spread"] / scale) / (c * (1 - c))
        p = 1.0 / (1.0 + np.exp(-(math.log(c / (1 - c)) + sign * s * z)))
        den = np.maximum(np.round(prof["den"] * size), 20.0)
        num = rng.binomial(den.astype(np.int64), p).astype(float)
        true = num / den * scale
    elif kind == "poisson":
        rate = prof["centre"] * np.exp(sign * (prof["spread"] / prof["centre"]) * z)
        if prof["den_one"]:
            den = np.ones(n)
            mean = rate * size
        else:
            den = np.round(prof["den"] * size / prof["centre"] * scale, den_dec)
            den = np.maximum(den, 10.0 ** -den_dec)
            mean = rate * den / scale
        num = rng.poisson(mean).astype(float)
        true = num / den * scale
    elif kind == "normal":
        true = prof["centre"] + sign * prof["spread"] * z
        lo, hi = prof["clip"] if prof["clip"] is not None else (-np.inf, np.inf)
        true = np.clip(true, lo, hi)
    elif kind == "rating":
        if state.rating is None:
            state.rating = _rating(z, jitter)
        else:
            rerate = jitter < CQC_RERATED_PER_QUARTER
            state.rating = np.where(rerate, _rating(z, rng.random(n)), state.rating)
        true = state.rating.astype(float)
    elif kind == "plan":
        true = state.plan
    elif kind == "variance":
        fin = FINANCE[trust_type]
        if state.on_plan is None:
            state.on_plan = jitter < fin["on_plan"]
        else:
            redraw = rng.random(n) < 0.15
            state.on_plan = np.where(redraw, jitter < fin["on_plan"], state.on_plan)
        drift = state.run_rate * math.sqrt(q / 4.0) + 0.25 * rng.standard_normal(n)
        true = np.where(state.on_plan, 0.0, np.clip(drift, -9.0, 3.0))
    else:  # pragma: no cover - a programming error in PROFILES
        raise ValueError(f"unknown kind {kind!r} for {mid}")
    present = _applies(trusts, cat_row)
    decimals = int(prof["decimals"])
    value = _fmt(true, decimals)
    num_txt = _fmt(num, 0)
    den_txt = _fmt(den, den_dec)
    # suppression: '*' for counted metrics (small numbers), blank for any metric except finance
    u = rng.random(n)
    if kind not in ("plan", "variance"):
        star = (u < SHARE_STAR) & (kind in ("binomial", "poisson"))
        blank = (u >= SHARE_STAR) & (u < SHARE_STAR + SHARE_BLANK)
        value = np.where(star, "*", np.where(blank, "", value)).astype(object)
        num_txt = np.where(star, "*", np.where(blank, "", num_txt)).astype(object)
        den_txt = np.where(star & (den_txt != ""), "*", np.where(blank, "", den_txt)).astype(object)
    true = np.where(present, true, np.nan)
    return _Cells(value, num_txt, den_txt, present, true)


def _rating(z: np.ndarray, u: np.ndarray) -> np.ndarray:
    """CQC-like rating 1 (outstanding) - 4 (inadequate): the best CQC_SHARES[0] of the latent
    position plus noise get 1, the next CQC_SHARES[1] get 2, and so on."""
    x = z + 1.2 * (u - 0.5)
    cuts = np.quantile(x, 1.0 - np.cumsum(CQC_SHARES)[:-1])  # descending
    return (1 + (x[:, None] < cuts[None, :]).sum(axis=1)).astype(float)


def _init_finance(trust_type: str, trusts: _Trusts, state: _TypeState, rng: np.random.Generator) -> None:
    n = trusts.n
    fin = FINANCE[trust_type]
    state.finance = 0.35 * state.quality + math.sqrt(1 - 0.35 ** 2) * rng.standard_normal(n)
    order = np.argsort(np.argsort(state.finance + 0.3 * rng.standard_normal(n), kind="stable"), kind="stable")
    share = order / n
    deficit = share < fin["plan_deficit"]
    breakeven = ~deficit & (share < fin["plan_deficit"] + fin["plan_breakeven"])
    size = 0.2 + np.exp(0.6 + 0.8 * rng.standard_normal(n))
    surplus = 0.05 + 2.0 * rng.random(n) + 0.5 * np.maximum(state.finance, 0)
    state.plan = np.where(deficit, -np.minimum(size, 19.5), np.where(breakeven, 0.0, np.minimum(surplus, 4.0)))
    state.run_rate = -0.35 + 0.45 * state.finance + 0.7 * rng.standard_normal(n)


# ----------------------------------------------------------------------------- pipeline


def _tidy(trusts: _Trusts, cells: dict[str, _Cells], quarter: str, trust_type: str) -> pd.DataFrame:
    """The tidy metric table a reader would make of the raw metric rows (for our pipeline)."""
    parts = []
    for mid, c in cells.items():
        idx = np.flatnonzero(c.present)
        parts.append(pd.DataFrame({
            "source_file": "synthetic", "source_row": 0, "quarter": quarter, "trust_type": trust_type,
            "region": trusts.regions[idx], "trust_subtype": trusts.subtypes[idx], "trust_code": trusts.codes[idx],
            "trust_name": trusts.names[idx], "metric_id": mid, "value": _parse(c.value[idx]),
            "numerator": _parse(c.numerator[idx]), "denominator": _parse(c.denominator[idx]),
        }))
    return pd.concat(parts, ignore_index=True)


def _published_scores(cat: pd.DataFrame, cells: dict[str, _Cells], mids: list[str]) -> dict[str, np.ndarray]:
    """1-4 scores for metrics whose real rule is unknown, from the unsuppressed values."""
    out = {}
    for mid in mids:
        v = cells[mid].true_value
        rule = PUBLISHED_SCORE_RULES.get(mid, ("continuous",))
        higher = cat.loc[mid, "better"] == "higher"
        if rule[0] == "bands":
            s = banded_scores(v, list(rule[1]), higher_is_better=higher)
        elif rule[0] == "value":
            s = np.clip(v, 1.0, 4.0)
        else:
            s = continuous_scores(v[:, None], [higher])[:, 0]
        out[mid] = round_scores(s, 2)
    return out


def _segment_at(avg, cuts: np.ndarray, boundary: str) -> np.ndarray:
    """Raw segment of averages given three cut points (the better-boundary rule by default)."""
    a = np.asarray(avg, dtype=float)
    if boundary == "worse":
        return 1 + (a[..., None] >= cuts - 1e-9).sum(axis=-1)
    return 1 + (a[..., None] > cuts + 1e-9).sum(axis=-1)


def likely_ranges(result: dict, method: Method) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The synthetic likely ranges: average +/- 2 s.e. of the metric scores, and the ranks there.

    For trust ``i`` with ``k`` metric scores of standard deviation ``s``, the range of the
    average is ``average -/+ 2 s / sqrt(k)`` (2 dp, within [1, 4]). The rank range is the
    rank the trust would have with its average at each end (its segment re-derived with the
    same rule, deficit cap and segment 5), every other trust held where it is.

    Returns ``(average_low, average_high, rank_low, rank_high)``.

    Examples
    --------
    >>> from nhs_league.methods import load_method
    >>> r = {"scores": np.array([[1.0, 1.5, 2.0], [1.0, 2.5, 4.0], [3.0, 3.5, 4.0]]),
    ...      "average": np.array([1.5, 2.5, 3.5]), "average_2dp": np.array([1.5, 2.5, 3.5]),
    ...      "segment": np.array([1, 3, 4]), "in_deficit": np.zeros(3, bool),
    ...      "intensive_support": np.zeros(3, bool)}
    >>> lo, hi, rlo, rhi = likely_ranges(r, load_method("nof-2025-26"))
    >>> lo.tolist(), hi.tolist()
    ([1.0, 1.0, 2.92], [2.08, 4.0, 4.0])
    >>> rlo.tolist(), rhi.tolist()
    ([1, 1, 3], [1, 3, 3])
    """
    sc = result["scores"]
    have = ~np.isnan(sc)
    k = have.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.nanstd(np.where(have, sc, np.nan), axis=-1, ddof=1)
        se = np.where(k > 1, sd / np.sqrt(k), 0.0)
    avg = result["average"]
    lo = np.clip(round_scores(avg - 2 * se, 2), 1.0, 4.0)
    hi = np.clip(round_scores(avg + 2 * se, 2), 1.0, 4.0)
    s = method.settings
    if s["segmentation"]["rule"] == "cutoffs":
        cuts = np.asarray(method.cutoffs, dtype=float)
    else:
        cuts = quartile_cutoffs(result["average_2dp"], method=s["segmentation"]["quantile_method"])
    boundary = s["segmentation"]["boundary"] if s["segmentation"]["rule"] == "quartiles" else "better"
    f = 10 ** method.decimals
    seg = np.asarray(result["segment"])
    key_now = seg * 10.0 * f + np.rint(result["average_2dp"] * f)
    ranks = []
    for bound in (lo, hi):
        sb = apply_override(_segment_at(bound, cuts, boundary), result["in_deficit"],
                            cap=int(s["override"]["cap"]), enabled=bool(s["override"]["enabled"]))
        if s["segment5"]["source"] != "none" and s["segment5"]["in_league_table"] != "as_scored":
            sb = apply_segment5(sb, result["intensive_support"])
        key_b = sb * 10.0 * f + np.rint(bound * f)
        better = key_now[None, :] < key_b[:, None]  # (i, j): trust j ahead of i at i's bound
        np.fill_diagonal(better, False)
        ranks.append(1 + better.sum(axis=1))
    return lo, hi, ranks[0].astype(np.int64), ranks[1].astype(np.int64)


# ----------------------------------------------------------------------------- rows


def _rows(trusts: _Trusts, idx: np.ndarray, *, metric_id, domain, sub_domain, description, reporting_date,
          units, value, median="", lower="", upper="", rank=None, numerator=None, denominator=None) -> pd.DataFrame:
    m = len(idx)
    blank = np.full(m, "", dtype=object)
    return pd.DataFrame({
        "Trust_code": trusts.codes[idx], "Metric_ID": metric_id, "Domain": domain, "Sub-domain": sub_domain,
        "Metric_description": description, "Reporting_date": reporting_date, "Units": units,
        "Value": value, "Median_value": median, "Lower_quartile": lower, "Upper_quartile": upper,
        "Rank": blank if rank is None else rank, "Numerator": blank if numerator is None else numerator,
        "Denominator": blank if denominator is None else denominator,
    })


def _type_quarter(trust_type: str, trusts: _Trusts, state: _TypeState, q: int, cat: pd.DataFrame,
                  rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(data rows, league rows) of one trust type in quarter ``q``, as text."""
    quarter = Quarter(FINANCIAL_YEAR, q)
    method = default_method_for(quarter)
    rows = metrics_for(cat, trust_type, scored_only=False)
    n = trusts.n
    if q == 1:
        state.quality = rng.standard_normal(n)
        _init_finance(trust_type, trusts, state, rng)
        k = INTENSIVE_SUPPORT[trust_type]
        state.intensive = np.zeros(n, bool)
        if k:
            state.intensive[np.argsort(state.quality + trusts.offset, kind="stable")[:k]] = True
    else:
        state.quality = _ar1(state.quality, QUALITY_RHO, rng)
    cells: dict[str, _Cells] = {}
    profiles = {}
    for mid, r in rows.iterrows():  # ~30 metrics; each draw is vectorised over trusts
        if r["rule"] == "finance_lookup":
            continue  # derived from its inputs (OF0079, OF0081), never drawn
        prof = _profile(mid, trust_type, r)
        profiles[mid] = prof
        c = _draw_metric(mid, prof, r, trusts, state, q, rng, trust_type)
        if prof["annual"]:
            if q in (2, 3) and mid in state.annual:
                c = state.annual[mid]
            else:
                state.annual[mid] = c
        cells[mid] = c
    # the pipeline, on the values as published (with published scores for unknown rules)
    tidy = _tidy(trusts, cells, quarter.code, trust_type)
    published_mids = [m for m in rows.index if rows.loc[m, "rule"] == "published" and m in cells]
    pub = _published_scores(cat, cells, published_mids)
    score_parts = []
    for mid in published_mids:
        idx = np.flatnonzero(cells[mid].present & ~np.isnan(pub[mid]))
        score_parts.append(pd.DataFrame({
            "source_file": "synthetic", "source_row": 0, "quarter": quarter.code, "trust_type": trust_type,
            "region": trusts.regions[idx], "trust_subtype": trusts.subtypes[idx], "trust_code": trusts.codes[idx],
            "trust_name": trusts.names[idx], "metric_id": rows.loc[mid, "score_id"],
            "value": _parse(_fmt(pub[mid][idx], 2)), "numerator": np.nan, "denominator": np.nan}))
    rsp = pd.DataFrame({"source_file": "synthetic", "source_row": 0, "quarter": quarter.code,
                        "trust_type": trust_type, "region": trusts.regions, "trust_subtype": trusts.subtypes,
                        "trust_code": trusts.codes, "trust_name": trusts.names, "metric_id": RSP_FLAG_ID,
                        "value": state.intensive.astype(float), "numerator": np.nan, "denominator": np.nan})
    tidy = pd.concat([tidy, *score_parts, rsp], ignore_index=True)
    inputs = Inputs(tidy, pd.DataFrame(columns=["trust_code", "trust_type", "quarter"]), {}, True, [])
    panel = build_panel(inputs, quarter.code, trust_type, catalogue=cat)
    res = compute(panel, method)
    # panel rows are sorted by code; trusts are generated in code order
    if list(panel.trusts.index) != list(trusts.codes):  # pragma: no cover - internal invariant
        raise AssertionError("panel order differs from trust order")
    return _data_rows(trust_type, trusts, cells, profiles, rows, panel, res, method, q), \
        _league_rows(trust_type, trusts, res, method, q)


def _score_only(r) -> bool:
    """A metric the official files publish as a score alone (e.g. OF1035): no raw-value row."""
    return r["rule"] == "published" and r["units"] == "score"


def _data_rows(trust_type, trusts, cells, profiles, rows, panel, res, method, q) -> pd.DataFrame:
    parts = []
    for mid, c in cells.items():
        r = rows.loc[mid]
        if _score_only(r):
            continue
        prof = profiles[mid]
        idx = np.flatnonzero(c.present)
        v = _parse(c.value[idx])
        dec = int(prof["decimals"])
        have = ~np.isnan(v)
        med = lqt = uqt = ""
        if have.sum() >= 2:
            lqt, med, uqt = (_fmt(np.array([x]), dec)[0] for x in np.percentile(v[have], [25, 50, 75]))
        key = -v if r["better"] == "higher" else v
        rank = competition_rank(key)
        units = r["units"]
        parts.append(_rows(
            trusts, idx, metric_id=mid, domain=DOMAIN_LABELS[r["domain"]], sub_domain=prof["sub"],
            description=r["name"], reporting_date=_reporting_date(prof["date"], q), units=units,
            value=c.value[idx], median=med, lower=lqt, upper=uqt, rank=_fmt(rank, 0),
            numerator=c.numerator[idx], denominator=c.denominator[idx]))
    # published metric scores (OF1###) of the metrics whose rule is unknown (rule 'published');
    # the other metrics' score rows are left out to keep the files small
    for j, mid in enumerate(panel.metric_ids):
        sid = rows.loc[mid, "score_id"] if mid in rows.index else None
        if rows.loc[mid, "rule"] != SCORE_ROWS_FOR or not isinstance(sid, str):
            continue
        s = res["scores"][:, j]
        idx = np.flatnonzero(~np.isnan(s))
        r = rows.loc[mid]
        parts.append(_rows(trusts, idx, metric_id=sid, domain=DOMAIN_LABELS[r["domain"]],
                           sub_domain=profiles[mid]["sub"], description=f"{r['name']}: metric score",
                           reporting_date=_reporting_date(profiles[mid]["date"], q), units="score",
                           value=_fmt(s[idx], 2)))
    # finance, as the official files carry it: the band scores OF1079 / OF1081 and the combined OF1080
    for j in np.flatnonzero(panel.metrics["rule"].to_numpy() == "finance_lookup"):
        combined, planned_band, variance_band = finance_parts(panel, j)
        prm = panel.metrics["rule_params"].iloc[j]
        for sid, val, desc in (("OF1" + prm["planned_metric"][3:], planned_band, "Planned surplus/deficit: metric score"),
                               ("OF1" + prm["variance_metric"][3:], variance_band,
                                "Variance year-to-date to financial plan: metric score"),
                               (panel.metrics["score_id"].iloc[j], combined, "Combined finance")):
            idx = np.flatnonzero(~np.isnan(val))
            parts.append(_rows(trusts, idx, metric_id=sid, domain=DOMAIN_LABELS["finance_productivity"],
                               sub_domain="Financial position", description=desc,
                               reporting_date=_reporting_date("plan", q), units="score", value=_fmt(val[idx], 0)))
    qlabel = Quarter(FINANCIAL_YEAR, q).label
    for k, d in enumerate(DOMAINS):
        ds = round_scores(res["domain_scores"][:, k], 2)
        idx = np.flatnonzero(~np.isnan(ds))
        parts.append(_rows(trusts, idx, metric_id=DOMAIN_SCORE_IDS[d], domain=DOMAIN_LABELS[d],
                           sub_domain="Domain summary", description=f"{DOMAIN_LABELS[d]}: domain score",
                           reporting_date=qlabel, units="score", value=_fmt(ds[idx], 2)))
        seg = res["domain_segments"][idx, k]
        parts.append(_rows(trusts, idx, metric_id=DOMAIN_SEGMENT_IDS[d], domain=DOMAIN_LABELS[d],
                           sub_domain="Domain summary", description=f"{DOMAIN_LABELS[d]}: domain segment",
                           reporting_date=qlabel, units="segment", value=_fmt(seg, 0)))
    allidx = np.arange(trusts.n)
    for mid, desc, units, val in (
            (ADJUSTED_SEGMENT_ID, "Adjusted segment (after the financial override and intensive support)",
             "segment", _fmt(res["segment"], 0)),
            (AVERAGE_SCORE_ID, "Average metric score", "score", _fmt(res["average_2dp"], 2)),
            (UNADJUSTED_SEGMENT_ID, "Unadjusted segment", "segment", _fmt(res["raw_segment"], 0)),
            (DEFICIT_FLAG_ID, "Financial override", "flag", _fmt(res["in_deficit"].astype(float), 0)),
            *([(FINAL_SEGMENT_ID, "Final segment score override", "segment", _fmt(res["final_segment"], 0)),
               (RSP_FLAG_ID, "Is the organisation in the Recovery Support Programme?", "flag",
                _fmt(res["intensive_support"].astype(float), 0))] if q <= 2 else [])):
        parts.append(_rows(trusts, allidx, metric_id=mid, domain="Overall", sub_domain="Overall",
                           description=desc, reporting_date=qlabel, units=units, value=val))
    d = pd.concat(parts, ignore_index=True)
    pos = pd.Series(np.arange(trusts.n), index=trusts.codes)
    d["_t"] = pos.reindex(d["Trust_code"]).to_numpy()
    d = d.sort_values(["_t", "Metric_ID"], kind="stable").drop(columns="_t").reset_index(drop=True)
    t = d["Trust_code"].map(pos).to_numpy()
    d.insert(0, "Region", trusts.regions[t])
    d.insert(1, "Trust_type", _type_label(trust_type, q))
    d.insert(2, "Trust_subtype", trusts.subtypes[t])
    d.insert(4, "Trust_name", trusts.names[t])
    d["Quarter"] = qlabel
    d["Data_source"] = SYNTHETIC_MARK
    if q == 4:  # the Q4 release: Quarter first, a byte-order mark (see generate), no row for a missing value
        d = d[~d["Value"].isin(["", "*"])].reset_index(drop=True)
        return d[["Quarter"] + [c for c in DATA_COLUMNS_Q3 if c != "Quarter"]]
    return d[DATA_COLUMNS_Q1 if q == 1 else DATA_COLUMNS_Q3]


def _type_label(trust_type: str, q: int) -> str:
    if q == 1 and trust_type == "mental-health-and-community":
        return "Non-acute trust"  # the Q1 release's name for the type
    return TRUST_TYPE_LABELS[trust_type]


def _league_rows(trust_type, trusts, res, method, q) -> pd.DataFrame:
    lo, hi, rlo, rhi = likely_ranges(res, method)
    qlabel = Quarter(FINANCIAL_YEAR, q).label
    t = pd.DataFrame({
        "Region": trusts.regions, "Trust_type": _type_label(trust_type, q), "Trust_subtype": trusts.subtypes,
        "Trust_code": trusts.codes, "Trust_name": trusts.names, "Reporting_date": qlabel, "Quarter": qlabel,
        "Average_score": _fmt(res["average_2dp"], 2),
        "Likely_range_of_average_score": [f"{a} - {b}" for a, b in zip(_fmt(lo, 2), _fmt(hi, 2))],
        "Segment": _fmt(res["segment"], 0),
        "Trust_in_financial_deficit": np.where(res["in_deficit"], "Yes", "No"),
        "Rank": _fmt(res["rank"], 0),
        "Likely_range_of_rank": [f"{a} - {b}" for a, b in zip(rlo, rhi)],
        "Data_source": SYNTHETIC_MARK,
        "_rank": res["rank"],
    })
    t = t.sort_values(["_rank", "Trust_code"], kind="stable").reset_index(drop=True)
    if q == 4:  # the Q4 release puts Quarter first
        return t[["Quarter"] + [c for c in LEAGUE_COLUMNS_Q3 if c != "Quarter"]]
    return t[LEAGUE_COLUMNS_Q1 if q == 1 else LEAGUE_COLUMNS_Q3]


# ----------------------------------------------------------------------------- public API


def generate(seed: int = DEFAULT_SEED, *, catalogue: pd.DataFrame | None = None) -> dict[str, str]:
    """The synthetic 2025/26 year as ``{relative path: CSV text}`` (byte-identical per seed).

    Twelve data files and twelve league-table files: Q1-Q4 x acute, mental health and
    community, ambulance, under ``q1-25-26/`` ... ``q4-25-26/``. Every row is marked
    ``Data_source = SYNTHETIC``.

    Parameters
    ----------
    seed : int
        Seed of every random step (``numpy.random.default_rng``); same seed, same bytes.
    catalogue : DataFrame, optional
        Metric catalogue (default: the built-in one, :func:`~nhs_league.catalogue.load_catalogue`).
        A metric without an entry in :data:`PROFILES` gets generic values from its
        ``distribution``, ``units`` and bounds.

    Examples
    --------
    >>> files = generate(2025)
    >>> len(files), sorted(files)[0]
    (24, 'q1-25-26/nhs-oversight-framework-acute-trust-data.csv')
    >>> files == generate(2025)
    True
    """
    seed = int(seed)
    if seed < 0:
        raise ValueError("seed must be a non-negative integer")
    cat = load_catalogue() if catalogue is None else catalogue
    rng_names = np.random.default_rng([seed, 0])
    trusts = _make_trusts(rng_names, _place_names(rng_names))
    out: dict[str, str] = {}
    for k, trust_type in enumerate(YEAR_TYPES):
        rng = np.random.default_rng([seed, k + 1])
        state = _TypeState(quality=np.zeros(trusts[trust_type].n))
        for q in (1, 2, 3, 4):
            data, league = _type_quarter(trust_type, trusts[trust_type], state, q, cat, rng)
            data_path, league_path = file_names(q)[trust_type]
            bom = "\ufeff" if q == 4 else ""  # the Q4 release's files start with a byte-order mark
            out[data_path] = bom + csv_text(data)
            out[league_path] = bom + csv_text(league)
    return dict(sorted(out.items()))


def write_year(output=None, *, seed: int = DEFAULT_SEED, force: bool = False) -> list[Path]:
    """Generate the synthetic year and write it under ``output`` (default :data:`DEFAULT_OUTPUT`).

    Refuses (:class:`~nhs_league.files.OutputExistsError`, nothing written) when any of the
    files exists, unless ``force``. Each file is written atomically.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     paths = write_year(d, seed=1)
    >>> len(paths), paths[0].name
    (24, 'nhs-oversight-framework-acute-trust-data.csv')
    """
    root = Path(DEFAULT_OUTPUT if output is None else output)
    files = generate(seed)
    targets = [root / rel for rel in files]
    if not force:
        existing = [p for p in targets if p.exists()]
        if existing:
            raise OutputExistsError(f"{existing[0]} exists ({len(existing)} of the {len(targets)} synthetic files "
                                    "do): pass --force to overwrite them")
    return [atomic_write_text(p, files[rel], force=force) for p, rel in zip(targets, files)]
