"""Context: the deprivation of each trust's catchment, its association with the league, and a
deprivation-adjusted league (issue 18; ``docs/context.md``).

Two input tables, both CSV:

* a **catchment table**: one row per trust and area, with the share of the trust's patients who
  live in the area (trust code, area code, share). Default: OHID's "NHS Acute (Hospital) Trust
  Catchment Populations" (2022; built from Hospital Episode Statistics admitted patient care),
  by lower-tier local authority, at ``../shared/data-raw/context_deprivation/``;
* an **area index**: one row per area, with an overall deprivation score and domain scores.
  Default: the English Indices of Multiple Deprivation 2019 (MHCLG), aggregated to local
  authorities (population-weighted average score; higher = more deprived).

A trust's **catchment score** is the share-weighted mean of its areas' scores, for the overall
index and for each domain (:func:`catchment_scores`). Joined with a quarter's league
(:func:`trust_context`) it gives the association with the average score (:func:`association`:
Spearman correlations with bootstrap intervals, quintile means and segment shares, per NOF
domain too, and an OLS regression with robust standard errors) and a **deprivation-adjusted
league** (:func:`adjusted_league`): the average minus its fitted deprivation part
(:func:`adjust_for_context`: the residual of the regression of the average on the catchment
score, plus the mean average), re-segmented and re-ranked with the quarter's method.

What this is and is not: an *ecological association* between the deprivation of the areas a
trust's admitted patients come from and the trust's NOF average. It is not a causal effect,
it is not a statement about patients, and the catchments describe admissions, not every
service a metric counts. The adjusted league is one sensitivity scenario among the method
choices (:mod:`nhs_league.sensitivity`, choice ``context_adjustment``), not a better league.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .catalogue import DOMAIN_LABELS, DOMAIN_SCORE_IDS, DOMAINS
from .errors import InputError
from .io import SYNTHETIC_MARK, file_sha256, rows_for
from .methods import Method, default_method_for
from .pipeline import DATA_LABEL, classify
from .quarters import Quarter

CONTEXT_FOLDER = "context_deprivation"
CATCHMENT_FILE = "ohid_acute_trust_catchment_ltla21.csv"
INDEX_FILE = "imd2019_england_ltla22.csv"
CATCHMENT_SOURCE = ("OHID, NHS Acute (Hospital) Trust Catchment Populations, 18 Oct 2022 "
                    "(HES admitted patient care; lower-tier local authorities, 2021 codes)")
INDEX_SOURCE = ("MHCLG, English Indices of Multiple Deprivation 2019, population-weighted average "
                "score by lower-tier local authority (2022 codes); higher = more deprived")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
SYNTHETIC_CONTEXT_DIR = PROJECT_ROOT / "data" / "synthetic" / "context"
SYNTHETIC_CATCHMENT_FILE = "synthetic-trust-catchment.csv"
SYNTHETIC_INDEX_FILE = "synthetic-area-deprivation.csv"
SPECIALIST_SUBTYPE = "Acute - Specialist"
QUINTILE_LABELS = ("1 (least deprived)", "2", "3", "4", "5 (most deprived)")
#: The deprivation score that the adjustment and the association use (a column of the catchment scores).
SCORE = "IMD_score"

# Accepted headers (compared case-insensitively, ignoring spaces, hyphens and underscores).
_TRUST_COLUMNS = ("trust_code", "nhs_trust22_code", "nhs_trust_code", "org_code", "ods_code")
_AREA_COLUMNS = ("area_code", "ltla21_code", "ltla22_code", "lad_code", "la_code")
_SHARE_COLUMNS = ("share", "proportion_trust_came_from_ltla", "proportion")
_SCORE_COLUMN = "score"
_DOMAIN_SCORE = re.compile(r"^(?P<name>.+?)[ _-]?score$", re.IGNORECASE)
_SHARE_TOLERANCE = 0.01  # a trust's shares may add up to 1 +- this before a note says so


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]", "", str(name)).lower()


def _find(columns, accepted) -> str | None:
    keys = {_key(c): c for c in columns}
    for a in accepted:
        if _key(a) in keys:
            return keys[_key(a)]
    return None


def default_paths(shared=None) -> tuple[Path, Path]:
    """The shared catchment and index files: ``<shared>/data-raw/context_deprivation/...``.

    ``shared`` defaults to the ``shared`` folder beside the project folder (``../shared``).

    >>> [p.name for p in default_paths("/x/shared")]
    ['ohid_acute_trust_catchment_ltla21.csv', 'imd2019_england_ltla22.csv']
    """
    root = Path(shared) if shared is not None else PROJECT_ROOT.parent / "shared"
    d = root / "data-raw" / CONTEXT_FOLDER
    return d / CATCHMENT_FILE, d / INDEX_FILE


def synthetic_paths(root=None) -> tuple[Path, Path]:
    """The committed SYNTHETIC catchment and index files (``data/synthetic/context/``)."""
    d = Path(root) if root is not None else SYNTHETIC_CONTEXT_DIR
    return d / SYNTHETIC_CATCHMENT_FILE, d / SYNTHETIC_INDEX_FILE


def catchment_coverage(trust_codes, *, synthetic: bool = False, catchment=None) -> int:
    """How many of ``trust_codes`` the catchment file covers (0 when it is absent or unreadable).

    ``catchment`` defaults to the SYNTHETIC file for synthetic data, else the shared OHID file. Used
    to decide whether a context report can be made for a set of inputs.
    """
    path = Path(catchment) if catchment else (synthetic_paths() if synthetic else default_paths())[0]
    try:
        codes = set(read_catchment(path)["trust_code"])
    except InputError:
        return 0
    return len({str(c).upper() for c in trust_codes} & codes)


def _read_csv(path, what: str) -> pd.DataFrame:
    p = Path(path)
    if not p.exists():
        raise InputError(f"the {what} file is not there", file=p)
    if p.is_dir():
        raise InputError(f"the {what} is a folder, not a CSV file", file=p)
    try:
        raw = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        msg = (exc.strerror if isinstance(exc, OSError) else None) or str(exc).strip().splitlines()[0]
        raise InputError(f"cannot read the {what} as a UTF-8 CSV file: {msg}", file=p) from None
    if not len(raw):
        raise InputError(f"the {what} file has a header but no rows", file=p, row=1)
    return raw.apply(lambda s: s.str.strip())


def _numbers(raw: pd.DataFrame, col: str, path) -> np.ndarray:
    s = raw[col]
    vals = pd.to_numeric(s.where(s != "", None), errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(vals)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        what = "is empty" if s.iloc[i] == "" else f"is not a number: {s.iloc[i]!r}"
        raise InputError(f"value {what}", file=path, row=i + 2, column=col)
    return vals


def _codes(raw: pd.DataFrame, col: str, path) -> np.ndarray:
    s = raw[col]
    empty = s.eq("").to_numpy()
    if empty.any():
        raise InputError("code is empty", file=path, row=int(np.flatnonzero(empty)[0]) + 2, column=col)
    return s.str.upper().to_numpy(dtype=object)


def _synthetic(raw: pd.DataFrame) -> bool:
    col = _find(raw.columns, ("data_source",))
    return col is not None and bool(raw[col].eq(SYNTHETIC_MARK).all())


def read_catchment(path=None) -> pd.DataFrame:
    """Read a catchment table: ``trust_code``, ``area_code``, ``share`` (one row per trust and area).

    Headers may be the OHID names (``nhs_trust22_code``, ``ltla21_code``,
    ``proportion_trust_came_from_ltla``) or ``trust_code``, ``area_code``, ``share``. Shares must
    lie in [0, 1]; a trust and area listed twice is an error. ``attrs`` carries ``files``
    (path -> SHA-256), ``synthetic`` (every row has ``Data_source = SYNTHETIC``) and ``source``.

    Raises
    ------
    InputError
        Missing file or column, an empty code, a share that is not a number in [0, 1], a duplicate.
    """
    p = Path(path) if path is not None else default_paths()[0]
    raw = _read_csv(p, "catchment")
    cols = {}
    for name, accepted in (("trust_code", _TRUST_COLUMNS), ("area_code", _AREA_COLUMNS), ("share", _SHARE_COLUMNS)):
        c = _find(raw.columns, accepted)
        if c is None:
            raise InputError(f"the catchment table needs a {name} column (one of {', '.join(accepted)})",
                             file=p, row=1, column=name)
        cols[name] = c
    share = _numbers(raw, cols["share"], p)
    bad = (share < 0) | (share > 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"share {share[i]:g} is outside [0, 1]", file=p, row=i + 2, column=cols["share"])
    out = pd.DataFrame({"trust_code": _codes(raw, cols["trust_code"], p),
                        "area_code": _codes(raw, cols["area_code"], p), "share": share,
                        "source_row": np.arange(2, len(raw) + 2)})
    dup = out.duplicated(["trust_code", "area_code"]).to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise InputError(f"trust {out['trust_code'].iloc[i]} and area {out['area_code'].iloc[i]} are listed twice",
                         file=p, row=i + 2, column=cols["area_code"])
    out.attrs.update(files={str(p): file_sha256(p)}, synthetic=_synthetic(raw),
                     source=CATCHMENT_SOURCE if p.name == CATCHMENT_FILE else f"catchment table {p.name}",
                     path=str(p), columns=cols)
    return out


def read_index(path=None) -> pd.DataFrame:
    """Read an area index: one row per area with ``Score`` and domain scores (``<Domain>_Score``).

    Returns a frame indexed by ``area_code`` with columns ``IMD_score`` (the overall score) and
    ``IMD_<domain>_score`` for every ``<Domain>_Score`` column of the file (lower case; e.g.
    ``IMD_income_score``). Other columns (proportions, extents) are not used. ``attrs`` as for
    :func:`read_catchment`.
    """
    p = Path(path) if path is not None else default_paths()[1]
    raw = _read_csv(p, "area index")
    area = _find(raw.columns, _AREA_COLUMNS)
    if area is None:
        raise InputError(f"the area index needs an area_code column (one of {', '.join(_AREA_COLUMNS)})",
                         file=p, row=1, column="area_code")
    score = _find(raw.columns, (_SCORE_COLUMN,))
    if score is None:
        raise InputError("the area index needs a Score column (the overall deprivation score)",
                         file=p, row=1, column="Score")
    names = {SCORE: score}
    for c in raw.columns:
        m = _DOMAIN_SCORE.match(str(c))
        if c != score and m and _key(c) != _key(area):
            names[f"IMD_{re.sub(r'[^0-9a-z]+', '_', m['name'].lower()).strip('_')}_score"] = c
    codes = _codes(raw, area, p)
    dup = pd.Series(codes).duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise InputError(f"area {codes[i]} is listed twice", file=p, row=i + 2, column=area)
    out = pd.DataFrame({k: _numbers(raw, c, p) for k, c in names.items()},
                       index=pd.Index(codes, name="area_code"))
    out.attrs.update(files={str(p): file_sha256(p)}, synthetic=_synthetic(raw),
                     source=INDEX_SOURCE if p.name == INDEX_FILE else f"area index {p.name}", path=str(p),
                     columns=names)
    return out


def catchment_scores(catchment: pd.DataFrame, index: pd.DataFrame) -> pd.DataFrame:
    """Each trust's share-weighted mean of its areas' scores: ``Σ share·score / Σ share``.

    Parameters
    ----------
    catchment : DataFrame
        ``trust_code``, ``area_code``, ``share`` (:func:`read_catchment`).
    index : DataFrame
        Indexed by ``area_code``; one column per score (:func:`read_index`).

    Returns
    -------
    DataFrame
        Indexed by ``trust_code`` (sorted), one column per index column, plus ``Share_total``
        (the trust's shares added up) and ``N_areas``. ``attrs['notes']`` names trusts whose
        shares do not add up to 1 within 0.01.

    Raises
    ------
    InputError
        An area of the catchment that the index does not have (named with its row), or a trust
        whose shares add up to 0.

    Examples
    --------
    >>> c = pd.DataFrame({"trust_code": ["A", "A", "B"], "area_code": ["X", "Y", "Y"],
    ...                   "share": [0.25, 0.75, 1.0]})
    >>> i = pd.DataFrame({"IMD_score": [10.0, 30.0]}, index=pd.Index(["X", "Y"], name="area_code"))
    >>> catchment_scores(c, i)["IMD_score"].to_dict()
    {'A': 25.0, 'B': 30.0}
    """
    where = catchment.attrs.get("path")
    pos = index.index.get_indexer(pd.Index(catchment["area_code"]))
    missing = pos < 0
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        row = int(catchment["source_row"].iloc[i]) if "source_row" in catchment else None
        names = sorted(set(catchment["area_code"].to_numpy()[missing]))
        raise InputError(f"{len(names)} area code(s) of the catchment are not in the area index "
                         f"{index.attrs.get('path', '')}".rstrip() + f": {', '.join(names[:10])}"
                         + (" ..." if len(names) > 10 else ""), file=where, row=row, column="area_code")
    codes, t = np.unique(catchment["trust_code"].to_numpy(dtype=str), return_inverse=True)
    w = catchment["share"].to_numpy(dtype=float)
    x = index.to_numpy(dtype=float)[pos]  # (rows, k)
    k = len(codes)
    total = np.bincount(t, weights=w, minlength=k)
    if (total <= 0).any():
        bad = codes[total <= 0][0]
        raise InputError(f"trust {bad}: its catchment shares add up to 0", file=where, column="share")
    num = np.stack([np.bincount(t, weights=w * x[:, j], minlength=k) for j in range(x.shape[1])], axis=1)
    out = pd.DataFrame(num / total[:, None], index=pd.Index(codes, name="trust_code"), columns=list(index.columns))
    out["Share_total"] = total
    out["N_areas"] = np.bincount(t, minlength=k).astype(np.int64)
    off = np.abs(total - 1.0) > _SHARE_TOLERANCE
    out.attrs["notes"] = ([f"{int(off.sum())} trust(s) whose catchment shares do not add up to 1 (scores are "
                           f"divided by their total): {', '.join(codes[off][:10])}"] if off.any() else [])
    return out


# --------------------------------------------------------------------------------------------
# The league with its context
# --------------------------------------------------------------------------------------------

@dataclass
class Context:
    """One quarter's league for one trust type, joined with the catchment scores.

    ``table`` has one row per trust of the league (sorted by trust code): ``Trust_code``,
    ``Trust_name``, ``Trust_subtype``, ``Region``, the catchment scores (NaN without a catchment),
    ``Deprivation_quintile`` (1 = least deprived, among the league's trusts with a catchment),
    ``Average_score``, ``Segment``, ``Rank`` (the league's rank), ``Trust_in_financial_deficit``,
    ``Domain_score_<domain>`` where the input has them, and ``Data``.
    """

    quarter: str
    trust_type: str
    method: Method
    table: pd.DataFrame
    score_columns: list
    domains: list
    notes: list = field(default_factory=list)
    synthetic: bool = False
    sources: dict = field(default_factory=dict)  # file -> "publisher/description, sha256"

    @property
    def label(self) -> str:
        return DATA_LABEL[bool(self.synthetic)]

    @property
    def with_catchment(self) -> pd.DataFrame:
        return self.table[self.table[SCORE].notna()]


def _league(inputs, quarter: str, trust_type: str, method: Method) -> pd.DataFrame:
    from .pipeline import build_panel, league_table, league_table_from_published

    if len(rows_for(inputs.league, quarter, trust_type)):
        return league_table_from_published(inputs, quarter, trust_type, method)
    return league_table(build_panel(inputs, quarter, trust_type), method)


def trust_context(inputs, quarter: str, trust_type: str, scores: pd.DataFrame, method: Method | None = None,
                  *, catchment_attrs=None, index_attrs=None) -> Context:
    """Join a quarter's league (published league-table rows, else recomputed) with catchment scores.

    The league is :func:`~nhs_league.pipeline.league_table_from_published` when the inputs hold
    league-table rows (segments and ranks re-derived from the published averages with the
    quarter's method, which reproduces the published ones on the real Q3 figures), else
    :func:`~nhs_league.pipeline.league_table` from the metric data. Published domain scores
    (``OF4000``-``OF4005``) are joined where present. No trust is dropped silently: one note line
    names every league trust without a catchment and every catchment trust not in the league.
    """
    method = method if method is not None else default_method_for(quarter)
    lg = _league(inputs, quarter, trust_type, method)
    cols = [c for c in scores.columns if c not in ("Share_total", "N_areas")]
    t = pd.DataFrame({
        "Trust_code": lg["Trust_code"].to_numpy(),
        "Trust_name": lg["Trust_name"].to_numpy(),
        "Trust_subtype": lg["Trust_subtype"].fillna("").astype(str).to_numpy(),
        "Region": lg["Region"].fillna("").astype(str).to_numpy(),
    })
    sc = scores.reindex(t["Trust_code"])
    for c in cols:
        t[c] = sc[c].to_numpy(dtype=float)
    have = t[SCORE].notna().to_numpy()
    q = np.full(len(t), np.nan)
    if have.sum() >= 5:
        q[have] = pd.qcut(t.loc[have, SCORE].rank(method="first"), 5, labels=False).to_numpy(dtype=float) + 1
    t["Deprivation_quintile"] = pd.array(np.where(np.isnan(q), None, q), dtype="Int64")
    t["Average_score"] = lg["Average_score"].to_numpy(dtype=float)
    t["Segment"] = lg["Segment"].to_numpy(dtype=np.int64)
    t["Rank"] = lg["Rank"].to_numpy(dtype=np.int64)
    t["Trust_in_financial_deficit"] = lg["Trust_in_financial_deficit"].to_numpy()
    for c in ("Published_segment", "Published_rank"):
        if c in lg:
            t[c] = pd.array(lg[c].to_numpy(), dtype="Int64")
    rows = rows_for(inputs.metrics, quarter, trust_type)
    domains = []
    if len(rows) and "metric_id" in rows:
        dom = rows[rows["metric_id"].isin(list(DOMAIN_SCORE_IDS.values()))]
        if len(dom):
            wide = dom.pivot_table(index="trust_code", columns="metric_id", values="value", aggfunc="first")
            for d in DOMAINS:
                mid = DOMAIN_SCORE_IDS[d]
                if mid in wide:
                    t[f"Domain_score_{d}"] = wide[mid].reindex(t["Trust_code"]).to_numpy(dtype=float)
                    domains.append(d)
    synthetic = bool(inputs.synthetic) or bool((catchment_attrs or {}).get("synthetic")) or bool(
        (index_attrs or {}).get("synthetic"))
    t["Data"] = DATA_LABEL[synthetic]
    t = t.sort_values("Trust_code", kind="stable").reset_index(drop=True)
    league_codes = set(t["Trust_code"])
    no_catch = sorted(t.loc[~t[SCORE].notna(), "Trust_code"])
    not_league = sorted(set(scores.index) - league_codes)
    note = (f"catchment join for the {trust_type} league of {quarter}: "
            + (f"{len(no_catch)} league trust(s) without a catchment, kept in the league unadjusted and left out "
               f"of the association: {', '.join(no_catch)}" if no_catch
               else f"all {len(t)} league trusts have a catchment")
            + "; " + (f"{len(not_league)} catchment trust(s) not in this league, not used: {', '.join(not_league)}"
                      if not_league else "every catchment trust is in the league"))
    notes = [note] + list(scores.attrs.get("notes", []))
    if synthetic and not inputs.synthetic:
        notes.append("the catchment or area index is SYNTHETIC: every context result is labelled SYNTHETIC")
    sources = {}
    for a in (catchment_attrs or {}, index_attrs or {}):
        for f, h in a.get("files", {}).items():
            sources[f] = f"{a.get('source', '')}; sha256 {h}"
    for f, h in getattr(inputs, "files", {}).items():
        sources.setdefault(f, f"league input; sha256 {h}")
    return Context(quarter, trust_type, method, t, cols, domains, notes, synthetic, sources)


def load_context(inputs, quarter: str, trust_type: str, method: Method | None = None, *,
                 catchment=None, index=None) -> Context:
    """Read the catchment and index files (default: the shared ones, or the SYNTHETIC ones when the
    league input is synthetic) and join them with the league (:func:`trust_context`)."""
    if catchment is None or index is None:
        dc, di = synthetic_paths() if inputs.synthetic else default_paths()
        catchment = dc if catchment is None else catchment
        index = di if index is None else index
    c = read_catchment(catchment)
    i = read_index(index)
    return trust_context(inputs, quarter, trust_type, catchment_scores(c, i), method,
                         catchment_attrs=c.attrs, index_attrs=i.attrs)


# --------------------------------------------------------------------------------------------
# Association, with uncertainty
# --------------------------------------------------------------------------------------------

def _seq(seed) -> np.random.SeedSequence:
    return seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)


def _spearman_vec(x, y, axis=-1):
    from scipy.stats import rankdata

    rx = rankdata(x, axis=axis)
    ry = rankdata(y, axis=axis)
    rx = rx - rx.mean(axis=axis, keepdims=True)
    ry = ry - ry.mean(axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rx * ry).sum(axis=axis) / np.sqrt((rx ** 2).sum(axis=axis) * (ry ** 2).sum(axis=axis))


def _bootstrap(data, statistic, *, draws: int, coverage: float, seed) -> tuple[float, float]:
    """Bootstrap percentile range (scipy.stats.bootstrap, resampling trusts)."""
    from scipy.stats import bootstrap

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = bootstrap(data, statistic, paired=len(data) > 1, vectorized=True, n_resamples=draws,
                      confidence_level=coverage, method="percentile", rng=np.random.default_rng(seed))
    return float(r.confidence_interval.low), float(r.confidence_interval.high)


def spearman_interval(x, y, *, draws: int = 2000, coverage: float = 0.95, seed=0) -> dict:
    """Spearman correlation of ``x`` and ``y`` with a bootstrap percentile range over pairs.

    >>> r = spearman_interval([1, 2, 3, 4, 5, 6], [1, 3, 2, 5, 4, 6], draws=200, seed=1)
    >>> round(r["estimate"], 4), r["n"], r["low"] <= r["estimate"] <= r["high"]
    (0.8857, 6, True)
    """
    from scipy.stats import spearmanr

    x = np.asarray(x, float)
    y = np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = len(x)
    if n < 4:
        return {"estimate": np.nan, "low": np.nan, "high": np.nan, "n": n, "p_value": np.nan}
    est = spearmanr(x, y)
    lo, hi = _bootstrap((x, y), _spearman_vec, draws=draws, coverage=coverage, seed=seed)
    return {"estimate": float(est.statistic), "low": lo, "high": hi, "n": n, "p_value": float(est.pvalue)}


def _mean_interval(y, *, draws, coverage, seed) -> dict:
    y = np.asarray(y, float)
    y = y[np.isfinite(y)]
    if len(y) < 2:
        return {"estimate": float(y.mean()) if len(y) else np.nan, "low": np.nan, "high": np.nan, "n": len(y)}
    lo, hi = _bootstrap((y,), lambda a, axis=-1: a.mean(axis=axis), draws=draws, coverage=coverage, seed=seed)
    return {"estimate": float(y.mean()), "low": lo, "high": hi, "n": len(y)}


def _share_interval(k: int, n: int, coverage: float) -> dict:
    from statsmodels.stats.proportion import proportion_confint

    if n == 0:
        return {"estimate": np.nan, "low": np.nan, "high": np.nan, "n": 0}
    lo, hi = proportion_confint(k, n, alpha=1 - coverage, method="wilson")
    return {"estimate": k / n, "low": float(lo), "high": float(hi), "n": n}


ASSOCIATION_COLUMNS = ["Measure", "Group", "Estimate", "Low", "High", "N", "P_value", "Interval", "Data"]


def regression(ctx: Context, *, coverage: float = 0.95):
    """OLS of the average score on the catchment deprivation score, subtype and region (statsmodels).

    ``Average_score ~ IMD_score + C(Trust_subtype) + C(Region)``, HC3 heteroscedasticity-robust
    standard errors, over the league's trusts with a catchment. Returns the fitted
    ``RegressionResults``. A factor with one level only is left out of the formula.
    """
    import statsmodels.formula.api as smf

    d = ctx.with_catchment[["Average_score", SCORE, "Trust_subtype", "Region"]].copy()
    terms = [SCORE] + [f"C({c})" for c in ("Trust_subtype", "Region") if d[c].nunique() > 1]
    return smf.ols("Average_score ~ " + " + ".join(terms), data=d).fit(cov_type="HC3")


def association(ctx: Context, *, draws: int = 2000, coverage: float = 0.95, seed=0) -> pd.DataFrame:
    """The association of catchment deprivation with the league, one row per measure.

    Columns ``Measure, Group, Estimate, Low, High, N, P_value, Interval, Data``. Measures:

    * ``spearman_imd_average`` (Groups ``all``, ``non-specialist``): Spearman correlation of the
      catchment IMD score with the average score (higher score = worse on both), with a bootstrap
      percentile range over trusts;
    * ``spearman_imd_<domain>`` (Group ``all``): the same for each published domain score;
    * ``mean_average_score`` and ``mean_<domain>_score`` per deprivation quintile (Group
      ``quintile 1 (least deprived)`` ... ``quintile 5 (most deprived)``), bootstrap ranges;
    * ``share_segment_<k>`` per quintile: share of the quintile's trusts in segment k, Wilson
      confidence interval;
    * ``ols_imd_per_10_points`` (Groups ``IMD only`` and ``with subtype and region``): the change in
      the average score per 10 points of catchment IMD score, with a confidence interval from HC3
      robust standard errors; ``ols_r_squared`` of both fits; ``ols_coefficient`` rows for every
      term of the full fit.

    Each random step takes its own seed spawned from ``seed``; same inputs and seed, same table.
    """
    import statsmodels.formula.api as smf

    d = ctx.with_catchment
    if len(d) < 10:
        raise InputError(f"only {len(d)} trust(s) of the {ctx.trust_type} league have a catchment: an association "
                         "needs at least 10 (check that the catchment file uses the league's trust codes)",
                         column="trust_code")
    label = ctx.label
    pct = f"{coverage:.0%}"
    boot = f"{pct} bootstrap percentile range, {draws} resamples of trusts"
    seeds = iter(_seq(seed).spawn(2 + len(ctx.domains) + 5 * (1 + len(ctx.domains))))
    rows = []

    def add(measure, group, r, interval):
        rows.append({"Measure": measure, "Group": group, "Estimate": r["estimate"], "Low": r["low"],
                     "High": r["high"], "N": int(r["n"]), "P_value": r.get("p_value", np.nan),
                     "Interval": interval, "Data": label})

    x = d[SCORE].to_numpy(float)
    spec = d["Trust_subtype"].eq(SPECIALIST_SUBTYPE).to_numpy()
    add("spearman_imd_average", "all", spearman_interval(x, d["Average_score"], draws=draws, coverage=coverage,
                                                         seed=next(seeds)), boot)
    add("spearman_imd_average", "non-specialist",
        spearman_interval(x[~spec], d["Average_score"].to_numpy(float)[~spec], draws=draws, coverage=coverage,
                          seed=next(seeds)), boot)
    for dom in ctx.domains:
        add(f"spearman_imd_{dom}", "all", spearman_interval(x, d[f"Domain_score_{dom}"], draws=draws,
                                                            coverage=coverage, seed=next(seeds)), boot)
    quint = d["Deprivation_quintile"].to_numpy(dtype=float)
    targets = [("mean_average_score", "Average_score")] + [(f"mean_{dom}_score", f"Domain_score_{dom}")
                                                          for dom in ctx.domains]
    segs = sorted(set(ctx.table["Segment"].astype(int)) | {1, 2, 3, 4})
    for k, lab in enumerate(QUINTILE_LABELS, start=1):
        in_q = quint == k
        group = f"quintile {lab}"
        for measure, col in targets:
            add(measure, group, _mean_interval(d[col].to_numpy(float)[in_q], draws=draws, coverage=coverage,
                                               seed=next(seeds)), boot)
        seg = d["Segment"].to_numpy()[in_q]
        for s in segs:
            add(f"share_segment_{s}", group, _share_interval(int((seg == s).sum()), int(in_q.sum()), coverage),
                f"{pct} Wilson confidence interval (binomial)")
    ci = f"{pct} confidence interval, HC3 robust standard errors"
    alpha = 1 - coverage
    simple = smf.ols(f"Average_score ~ {SCORE}", data=d).fit(cov_type="HC3")
    full = regression(ctx, coverage=coverage)
    for group, fit in (("IMD only", simple), ("with subtype and region", full)):
        lo, hi = fit.conf_int(alpha=alpha).loc[SCORE]
        add("ols_imd_per_10_points", group, {"estimate": 10 * fit.params[SCORE], "low": 10 * lo, "high": 10 * hi,
                                             "n": int(fit.nobs), "p_value": float(fit.pvalues[SCORE])}, ci)
        add("ols_r_squared", group, {"estimate": float(fit.rsquared), "low": np.nan, "high": np.nan,
                                     "n": int(fit.nobs)}, "no interval (share of variance explained)")
    cint = full.conf_int(alpha=alpha)
    for term in full.params.index:
        add("ols_coefficient", term, {"estimate": float(full.params[term]), "low": float(cint.loc[term, 0]),
                                      "high": float(cint.loc[term, 1]), "n": int(full.nobs),
                                      "p_value": float(full.pvalues[term])}, ci)
    out = pd.DataFrame(rows, columns=ASSOCIATION_COLUMNS)
    for c in ("Estimate", "Low", "High", "P_value"):
        out[c] = out[c].astype(float).round(6)
    return out


# --------------------------------------------------------------------------------------------
# The deprivation-adjusted league
# --------------------------------------------------------------------------------------------

def adjust_for_context(average, x) -> tuple[np.ndarray, np.ndarray]:
    """Remove the linear deprivation part from averages: residual of ``average ~ x`` plus the mean.

    ``average`` is ``(..., n)`` (leading axes are scenarios), ``x`` is ``(n,)``. For each row the
    OLS slope ``b`` of the average on ``x`` is fitted over the trusts with both values, and those
    trusts get ``average - b * (x - mean(x))``, which equals the regression residual plus the
    mean average of the same trusts. A trust without ``x`` (no catchment) or without an average
    keeps its value. Returns ``(adjusted, slope)``; ``slope`` has the leading shape.

    >>> adj, b = adjust_for_context(np.array([2.0, 2.5, 3.0, 2.2]), np.array([10., 20., 30., np.nan]))
    >>> adj.round(6).tolist(), round(float(b[0]), 6)
    ([[2.5, 2.5, 2.5, 2.2]], 0.05)
    """
    y = np.atleast_2d(np.asarray(average, dtype=float))
    x = np.asarray(x, dtype=float)
    ok = np.isfinite(y) & np.isfinite(x)[None, :]
    k = ok.sum(axis=-1, keepdims=True)
    xs = np.where(ok, x[None, :], 0.0)
    ys = np.where(ok, y, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        xm = xs.sum(-1, keepdims=True) / k
        ym = ys.sum(-1, keepdims=True) / k
        dx = np.where(ok, x[None, :] - xm, 0.0)
        sxx = (dx ** 2).sum(-1, keepdims=True)
        b = np.where(sxx > 0, (dx * (ys - ym)).sum(-1, keepdims=True) / sxx, 0.0)
    adj = np.where(ok, y - b * dx, y)
    return adj, b[..., 0]


def domain_basket_se(ctx: Context, *, draws: int = 1000, seed=0) -> np.ndarray:
    """Standard error of each trust's average from a bootstrap over its own published domain scores.

    For domain-level data (no per-metric scores, as in the real Q3 extract): each replicate
    draws as many domain scores as the trust has, with replacement, from the trust's own, and
    averages them with the nominal domain weights of the sensitivity analysis (the least-squares
    fit of the published averages on the domain scores). Trusts are resampled independently.
    With five domains this is a coarse measure of how much the average depends on which
    domains count; it is not sampling noise.
    """
    from .sensitivity import implied_domain_weights
    from .uncertainty import domain_basket_averages

    cols = [f"Domain_score_{d}" for d in ctx.domains]
    S = ctx.table[cols].to_numpy(float)
    w = implied_domain_weights(S, ctx.table["Average_score"].to_numpy(float)).to_numpy()
    return np.nanstd(domain_basket_averages(S, w, draws=draws, seed=seed), axis=0, ddof=1)


def rank_sets(ctx: Context, inputs=None, *, coverage: float = 0.95, draws: int = 1000, seed=0) -> pd.DataFrame:
    """Marginal confidence sets for the rank of each trust's average score (:mod:`nhs_league.ranks`).

    The covariance comes from the metric-basket bootstrap (:func:`~nhs_league.uncertainty.basket_bootstrap`)
    when ``inputs`` hold per-metric scores, else from :func:`domain_basket_se` (independent
    trusts). The estimates are the league's average scores. Returns a frame indexed by trust code
    with ``rank``, ``lower``, ``upper`` and ``source`` (what the sets reflect); trusts without an
    average are absent.
    """
    from .pipeline import build_panel
    from .ranks import rank_confidence_sets
    from .uncertainty import basket_bootstrap

    t = ctx.table.set_index("Trust_code")
    est = t["Average_score"].astype(float).dropna()
    rep_seed, rank_seed = _seq(seed).spawn(2)
    from .realdata import SOURCE_NOTE

    panel = None
    extract = inputs is not None and inputs.league.attrs.get("source") == SOURCE_NOTE  # a few raw values only
    if inputs is not None and not extract and len(inputs.metrics) and "metric_id" in inputs.metrics:
        try:
            panel = build_panel(inputs, ctx.quarter, ctx.trust_type)
        except InputError:
            panel = None
    if panel is not None:
        reps = basket_bootstrap(panel, ctx.method, draws=draws, seed=rep_seed)
        common = est.index.intersection(reps.trust_codes)
        est = est.loc[common]
        cov = reps.covariance().loc[common, common]
        sets = rank_confidence_sets(est, cov, coverage=coverage, simultaneous=False, draws=draws, seed=rank_seed)
        source = (f"marginal {coverage:.0%} confidence sets for the rank of the average score "
                  "(Mogstad et al. 2024), covariance from the metric-basket bootstrap")
    else:
        if not ctx.domains:
            raise InputError("rank sets need per-metric scores or published domain scores (OF4000-OF4005)",
                             column="Metric_ID")
        se = pd.Series(domain_basket_se(ctx, draws=draws, seed=rep_seed), index=t.index).loc[est.index]
        ok = se.notna() & (se > 0)
        est, se = est[ok], se[ok]
        sets = rank_confidence_sets(est, se=se, coverage=coverage, simultaneous=False, draws=draws, seed=rank_seed)
        source = (f"marginal {coverage:.0%} confidence sets for the rank of the average score "
                  "(Mogstad et al. 2024), standard errors from a bootstrap over each trust's five published "
                  "domain scores (not sampling noise)")
    sets = sets.copy()
    sets["source"] = source
    return sets


ADJUSTED_COLUMNS = [
    "Trust_code", "Trust_name", "Trust_subtype", "Region", SCORE, "Average_score", "Adjusted_average_score",
    "Adjustment", "Segment", "Adjusted_segment", "Segment_change", "Rank", "Adjusted_rank", "Rank_shift",
    "Average_rank", "Adjusted_average_rank", "Average_rank_lower", "Average_rank_upper", "Outside_rank_set",
    "Rank_set_source", "Method", "Data",
]


def adjusted_league(ctx: Context, sets: pd.DataFrame | None = None) -> pd.DataFrame:
    """The deprivation-adjusted league beside the league, one row per trust, by adjusted rank.

    The adjusted average is :func:`adjust_for_context` of the league's averages on the catchment
    IMD score (residual of the simple regression plus the mean average, a documented choice;
    ``docs/context.md``); it is rounded, segmented (the quarter's cut-offs or quartiles, the
    financial override, segment 5) and ranked with the quarter's method
    (:func:`~nhs_league.pipeline.classify`). Trusts without a catchment keep their average.

    Columns: ``Rank`` / ``Adjusted_rank`` are league ranks (by segment, then average);
    ``Rank_shift`` = adjusted - league rank (negative = moves up); ``Segment_change`` = adjusted
    - league segment (negative = better). ``Average_rank`` / ``Adjusted_average_rank`` rank the
    average alone, the ranking the confidence sets ``Average_rank_lower``-``Average_rank_upper``
    (from ``sets``, :func:`rank_sets`) are about; ``Outside_rank_set`` says whether the adjusted
    average's rank lies outside the trust's set. ``attrs['slope']`` is the fitted slope per
    IMD point.
    """
    from .scoring import competition_rank

    t = ctx.table
    avg = t["Average_score"].to_numpy(float)
    x = t[SCORE].to_numpy(float)
    adj, slope = adjust_for_context(avg, x)
    adj = adj[0]
    deficit = t["Trust_in_financial_deficit"].eq("Yes").to_numpy()
    seg5 = (t["Published_segment"].eq(5).fillna(False).to_numpy(bool) if "Published_segment" in t
            else np.zeros(len(t), bool))
    r = classify(adj, deficit, seg5, ctx.method)
    out = pd.DataFrame({
        "Trust_code": t["Trust_code"], "Trust_name": t["Trust_name"], "Trust_subtype": t["Trust_subtype"],
        "Region": t["Region"], SCORE: np.round(x, 6), "Average_score": avg,
        "Adjusted_average_score": np.round(adj, 6),
        "Adjustment": np.round(adj - avg, 6),
        "Segment": t["Segment"].to_numpy(np.int64), "Adjusted_segment": r["segment"].astype(np.int64),
        "Rank": t["Rank"].to_numpy(np.int64), "Adjusted_rank": r["rank"].astype(np.int64),
    })
    out["Segment_change"] = out["Adjusted_segment"] - out["Segment"]
    ranked = (out["Rank"] > 0) & (out["Adjusted_rank"] > 0)
    out["Rank_shift"] = pd.array(np.where(ranked, out["Adjusted_rank"] - out["Rank"], None), dtype="Int64")
    out["Average_rank"] = competition_rank(avg).astype(np.int64)
    out["Adjusted_average_rank"] = competition_rank(r["average_2dp"]).astype(np.int64)
    if sets is not None:
        s = sets.reindex(out["Trust_code"])
        lo = pd.array(s["lower"].to_numpy(), dtype="Int64")
        hi = pd.array(s["upper"].to_numpy(), dtype="Int64")
        out["Average_rank_lower"], out["Average_rank_upper"] = lo, hi
        a = out["Adjusted_average_rank"].to_numpy()
        known = ~pd.isna(lo)
        outside = np.where(known, (a < np.asarray(lo.fillna(0), int)) | (a > np.asarray(hi.fillna(0), int)), None)
        out["Outside_rank_set"] = pd.array(outside, dtype="boolean")
        out["Rank_set_source"] = str(s["source"].dropna().iloc[0]) if s["source"].notna().any() else ""
    else:
        out["Average_rank_lower"] = out["Average_rank_upper"] = pd.array([pd.NA] * len(out), dtype="Int64")
        out["Outside_rank_set"] = pd.array([pd.NA] * len(out), dtype="boolean")
        out["Rank_set_source"] = "not computed"
    out["Method"] = ctx.method.name
    out["Data"] = ctx.label
    out = out[ADJUSTED_COLUMNS]
    key = np.where(out["Adjusted_rank"] > 0, out["Adjusted_rank"], np.iinfo(np.int64).max)
    out = out.assign(_k=key).sort_values(["_k", "Trust_code"], kind="stable").drop(columns="_k").reset_index(drop=True)
    out.attrs["slope"] = float(slope[0])
    return out


def movers(adjusted: pd.DataFrame, k: int = 10) -> pd.DataFrame:
    """The ``k`` trusts that gain most and the ``k`` that lose most league places under the adjustment.

    Gains first (most negative ``Rank_shift``), then losses; ties by trust code.
    """
    a = adjusted[adjusted["Rank_shift"].notna()].copy()
    a["_s"] = a["Rank_shift"].astype(int)
    gain = a[a["_s"] < 0].sort_values(["_s", "Trust_code"], kind="stable").head(k)
    lose = a[a["_s"] > 0].sort_values(["_s", "Trust_code"], ascending=[False, True], kind="stable").head(k)
    out = pd.concat([gain.assign(Direction="gains"), lose.assign(Direction="loses")]).drop(columns="_s")
    return out.reset_index(drop=True)


def shift_summary(adjusted: pd.DataFrame) -> dict:
    """Headline numbers of an adjusted league: mean |rank shift|, largest, segment changes, outside sets."""
    s = adjusted["Rank_shift"].dropna().astype(int).abs()
    seg = adjusted["Segment_change"]
    out = {
        "n_trusts": int(len(s)),
        "mean_abs_rank_shift": float(s.mean()) if len(s) else np.nan,
        "max_abs_rank_shift": int(s.max()) if len(s) else 0,
        "moved_10_or_more": int((s >= 10).sum()),
        "segment_changes": int((seg != 0).sum()),
        "segment_better": int((seg < 0).sum()),
        "segment_worse": int((seg > 0).sum()),
        "slope_per_10_points": 10 * float(adjusted.attrs.get("slope", np.nan)),
    }
    o = adjusted["Outside_rank_set"]
    out["outside_rank_set"] = int(o.fillna(False).sum())
    out["with_rank_set"] = int(o.notna().sum())
    return out


def fitted_line(ctx: Context, *, coverage: float = 0.95, points: int = 50) -> pd.DataFrame:
    """The simple OLS line of the average on the catchment score, with its confidence band (HC3).

    Columns ``x``, ``mean``, ``lower``, ``upper``: the fitted mean average at ``points`` values
    of the score over its observed range, and the ``coverage`` confidence band of that mean
    (statsmodels ``get_prediction``; HC3 robust covariance). The band is for the line, not for
    single trusts.
    """
    import statsmodels.formula.api as smf

    d = ctx.with_catchment
    fit = smf.ols(f"Average_score ~ {SCORE}", data=d).fit(cov_type="HC3")
    grid = pd.DataFrame({SCORE: np.linspace(d[SCORE].min(), d[SCORE].max(), points)})
    pr = fit.get_prediction(grid).summary_frame(alpha=1 - coverage)
    return pd.DataFrame({"x": grid[SCORE].to_numpy(), "mean": pr["mean"].to_numpy(),
                         "lower": pr["mean_ci_lower"].to_numpy(), "upper": pr["mean_ci_upper"].to_numpy()})


def _sign_words(lo: float, hi: float) -> str:
    if lo > 0:
        return "more deprived catchments go with worse (higher) scores"
    if hi < 0:
        return "more deprived catchments go with better (lower) scores"
    return "the interval includes zero, so no association is shown"


def headline(ctx: Context, assoc: pd.DataFrame, adjusted: pd.DataFrame) -> str:
    """The sentence a reader takes away: the association with its interval, and what the
    adjustment does to the league, with the rank sets' verdict."""
    a = assoc.set_index(["Measure", "Group"])
    al, ns = a.loc[("spearman_imd_average", "all")], a.loc[("spearman_imd_average", "non-specialist")]
    b = a.loc[("ols_imd_per_10_points", "with subtype and region")]
    s = shift_summary(adjusted)
    cov = str(al["Interval"]).split(" ")[0]
    parts = [
        f"Across the {int(al['N'])} {ctx.trust_type} trusts of {Quarter.parse(ctx.quarter).label}, the Spearman correlation between "
        f"catchment deprivation and the average score is {al['Estimate']:.2f} ({cov} bootstrap range "
        f"{al['Low']:.2f} to {al['High']:.2f}; {_sign_words(al['Low'], al['High'])}); among the {int(ns['N'])} "
        f"non-specialist trusts it is {ns['Estimate']:.2f} ({ns['Low']:.2f} to {ns['High']:.2f}).",
        f"With subtype and region held fixed, 10 more IMD points go with {b['Estimate']:+.3f} average-score points "
        f"({cov} confidence interval {b['Low']:+.3f} to {b['High']:+.3f}, robust standard errors).",
    ]
    doms = [(m[len("spearman_imd_"):], r) for (m, g), r in a.iterrows()
            if m.startswith("spearman_imd_") and m != "spearman_imd_average" and (r["Low"] > 0 or r["High"] < 0)]
    if doms:
        parts.append("Domains whose interval excludes zero: " + "; ".join(
            f"{DOMAIN_LABELS.get(d, d).lower()} {r['Estimate']:.2f} ({r['Low']:.2f} to {r['High']:.2f})" for d, r in doms) + ".")
    src = str(adjusted["Rank_set_source"].iloc[0]) if len(adjusted) else ""
    how = ("metric-basket bootstrap" if "metric-basket" in src
           else "bootstrap over the five domain scores, wide" if "domain scores" in src else "")
    sets = (f"{s['outside_rank_set']} of {s['with_rank_set']} trusts' adjusted average-score ranks fall outside "
            f"their marginal {cov} rank confidence set ({how})" if s["with_rank_set"] else "no rank sets were computed")
    parts.append(
        f"Adjusting the averages for deprivation moves trusts {s['mean_abs_rank_shift']:.1f} league places on "
        f"average (largest {s['max_abs_rank_shift']}) and changes {s['segment_changes']} segment(s); {sets}.")
    return " ".join(parts)


def trust_context_table(ctx: Context) -> pd.DataFrame:
    """``trust_context.csv``: trust, catchment scores, subtype, region, average, segment, rank."""
    t = ctx.table
    cols = (["Trust_code", "Trust_name", "Trust_subtype", "Region"] + ctx.score_columns
            + ["Deprivation_quintile", "Average_score", "Segment", "Rank"]
            + [f"Domain_score_{d}" for d in ctx.domains] + ["Data"])
    out = t[cols].copy()
    for c in ctx.score_columns:
        out[c] = out[c].round(6)
    return out.sort_values(["Rank", "Trust_code"], kind="stable").reset_index(drop=True)


__all__ = ["read_catchment", "read_index", "catchment_scores", "trust_context", "load_context", "Context",
           "association", "regression", "adjust_for_context", "adjusted_league", "rank_sets", "movers",
           "shift_summary", "trust_context_table", "fitted_line", "headline", "spearman_interval", "domain_basket_se", "default_paths",
           "synthetic_paths"]
