"""Sensitivity of the league table to method choices (statistics.md §4).

The critique this module answers: a league position depends not only on the data but on
choices NHS England made (equal metric weights, a plain mean, rank-based 1-4 scores, fixed
cut-offs, the financial override, which metrics and which peers count). Each choice is
treated as an uncertain input (OECD/JRC Handbook on composite indicators, step 7; Saisana,
Saltelli & Tarantola 2005, JRSS A 168:307-323):

* a **scenario** is one value of every choice, applied to the same data;
* the **Monte Carlo** run draws scenarios from a *scenario space* (a YAML preset in
  ``nhs_league/data/sensitivity/``), keeps every scenario's parameters, and summarises how
  ranks and segments move against the nominal (published-method) table;
* the **one-at-a-time** runs change one choice with everything else nominal;
* **Sobol** first-order and total indices (SALib's Saltelli/Sobol' sampling and estimator)
  say which choice drives the movement;
* **concordance**: Spearman correlations of trusts' scores between metrics and between domains.

Two kinds of data
-----------------
``level='metric'`` (:func:`from_panel`): a :class:`~nhs_league.pipeline.Panel` with metric
values; every choice can be applied. ``level='domain'`` (:func:`from_domain_scores`,
:func:`from_inputs`): only the five published domain scores and the published average (as in
the real Q3 2025/26 extract). The nominal domain weighting is then the least-squares fit of the
published averages on the domain scores (:func:`implied_domain_weights`); the scoring rule and
leaving out a metric cannot be applied and raise :class:`~nhs_league.errors.MethodError`.

Every choice is in the registry :data:`CHOICES` (name, description, values, how it is
applied, the data levels it applies to). A choice that cannot be applied to the data raises
``MethodError`` naming it; nothing is skipped silently.

Speed: scenarios are evaluated as arrays. Score matrices are computed once per (scoring rule,
peer set); weighted means of all scenarios sharing a scoring rule, peer set, aggregation and
weight path are one ``einsum`` over their weight vectors; medians and trimmed means are
computed once per distinct (scores, kept columns) and gathered; segments and ranks are
computed for all scenarios of one (segmentation, override, peer set) at once through
:func:`nhs_league.pipeline.classify`. No Python loop runs over trusts or scenarios.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from .catalogue import DOMAIN_SCORE_IDS, DOMAINS, RSP_FLAG_ID, ADJUSTED_SEGMENT_ID, AVERAGE_SCORE_ID
from .errors import InputError, MethodError
from .io import Inputs, rows_for
from .limits import MAX_OAT_DRAWS, MAX_SOBOL_N
from .methods import Method, Real, Whole, _nearest, default_method_for, read_preset
from .pipeline import DATA_LABEL, Panel, build_panel, classify, metric_scores
from .scoring import aggregate_scores, competition_rank
from .segmentation import deficit_from_metrics

SPACE_DIR = Path(__file__).parent / "data" / "sensitivity"
SPECIALIST_SUBTYPE = "Acute - Specialist"
RANDOM_SCHEMES = ("noise", "dirichlet")
MOVED_PLACES = 10  # "share of trusts moving >= 10 places"


# --------------------------------------------------------------------------------------------
# The registry of choices
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Choice:
    """One method choice: its name, what it means, its values and how it is applied."""

    name: str
    description: str
    values: tuple
    applied: str
    levels: tuple = ("metric", "domain")
    params: dict = field(default_factory=dict)

    def doc(self) -> str:
        """A one-paragraph description (for docs and ``--help``)."""
        vals = ", ".join(self.values)
        return f"{self.name} ({vals}): {self.description} Applied: {self.applied}"


CHOICES: dict[str, Choice] = {c.name: c for c in [
    Choice(
        "weights",
        "How the metric (or domain) scores are weighted in the average.",
        ("nominal", "noise", "dirichlet", "per_domain", "user"),
        "nominal = the method's weights (metric level: equal per metric unless the preset says "
        "otherwise; domain level: the implied least-squares weights); noise = each nominal weight "
        "times (1 + u*noise), u ~ U(-1, 1) independently per column; dirichlet = m * Dirichlet"
        "(concentration, ..., concentration), i.e. random weights centred on equal weights, larger "
        "concentration = closer to equal; per_domain = each domain weighs the same and the metrics "
        "of a domain share its weight equally (domain level: equal domain weights); user = the "
        "mapping under 'user' ({column: weight}, unlisted columns weigh 1). Weights apply to the "
        "mean and the geometric mean; the median and trimmed mean ignore them.",
        params={"noise": 0.25, "concentration": 10.0, "user": None}),
    Choice(
        "aggregation",
        "How the scores of a trust are combined into its average.",
        ("mean", "median", "trimmed_mean", "geometric_mean"),
        "scoring.aggregate_scores over the trust's scores that are present; trimmed_mean cuts the "
        "method's average.trim share from each end; geometric_mean on the 1-4 scale.",
        params={}),
    Choice(
        "scoring",
        "The rule turning each continuous metric's values into 1-4 scores.",
        ("published", "rank", "zscore", "minmax", "quartile_bands"),
        "metric level: scoring.CONTINUOUS_RULES[value] on the values of the trusts in the peer set, "
        "for metrics with the continuous rule (discrete and published-score metrics keep their "
        "scores); domain level: only 'published' (the published domain scores; there are no raw "
        "values to rescore).",
        params={}),
    Choice(
        "segmentation",
        "How the 2-dp average becomes a raw segment 1-4.",
        ("cutoffs", "quartiles", "cutoffs_down", "cutoffs_up"),
        "cutoffs = the method's fixed cut-offs (Q2 2025/26 on); quartiles = quartiles of the "
        "averages of the trusts in the table (the Q1 rule, the method's quantile method and "
        "boundary); cutoffs_down / cutoffs_up = every cut-off moved by -delta / +delta.",
        params={"delta": 0.05}),
    Choice(
        "override",
        "The financial override (a trust in deficit is capped at segment 3).",
        ("on", "off"),
        "segmentation.apply_override with the method's cap, enabled or not.",
        params={}),
    Choice(
        "leave_out_metric",
        "Drop one metric from every trust's basket.",
        ("none", "each"),
        "the metric's scores are set missing before averaging (weights renormalise over the rest); "
        "'each' expands to every metric of the table; a metric ID may be listed. Metric level only.",
        levels=("metric",), params={}),
    Choice(
        "leave_out_domain",
        "Drop one domain (all its metrics) from every trust's basket.",
        ("none", "each"),
        "the domain's columns are set missing before averaging; 'each' expands to every domain "
        "with a score; a domain name may be listed.",
        params={}),
    Choice(
        "peer_set",
        "Which trusts are compared with each other.",
        ("all", "no_specialist"),
        "no_specialist = trusts whose subtype is in 'exclude_subtypes' (default Acute - Specialist) "
        "are left out of the table; at metric level the continuous metrics are re-scored among the "
        "rest (at domain level the published domain scores cannot be re-scored, so only quartile "
        "segments and ranks change). Rank changes are measured against the nominal table restricted "
        "to the same trusts, so removing trusts does not by itself move anyone.",
        params={"exclude_subtypes": [SPECIALIST_SUBTYPE], "trust_types": None}),
    Choice(
        "baseline",
        "What a recomputed average is compared with (domain level).",
        ("direct", "anchored"),
        "direct = the recomputed average itself (always so at metric level); anchored = published "
        "average + (recomputed average - average under the nominal choices), so the trust-specific "
        "part that a domain-level fit cannot explain is kept and only the change a choice makes "
        "moves the trust. Anchored needs published averages (domain level).",
        params={}),
    Choice(
        "context_adjustment",
        "Whether each trust's average is adjusted for the deprivation of its catchment.",
        ("none", "deprivation"),
        "deprivation = nhs_league.context.adjust_for_context on every scenario's averages: the residual "
        "of the OLS regression of the average on the catchment IMD score, over the trusts in the "
        "scenario's table, plus their mean average (trusts without a catchment keep their average); "
        "then segments and ranks as usual. Needs catchment scores (with_context); on data without "
        "them the choice stays 'none' and a note says so.",
        params={}),
]}
CHOICE_ORDER = tuple(CHOICES)


def choices_table() -> pd.DataFrame:
    """The registry as a table: choice, values, description, how applied, levels.

    >>> choices_table().loc[lambda t: t["choice"] == "override", "values"].item()
    'on; off'
    """
    return pd.DataFrame([{
        "choice": c.name, "values": "; ".join(c.values), "description": c.description,
        "applied": c.applied, "levels": "; ".join(c.levels),
        "parameters": "; ".join(f"{k}={v}" for k, v in c.params.items()),
    } for c in CHOICES.values()])


# --------------------------------------------------------------------------------------------
# Scenario spaces (presets)
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ScenarioSpace:
    """A named scenario space: for each choice the values to draw from, and parameters.

    Choices not listed stay at their nominal value. Load with :func:`load_space`.

    >>> s = load_space("default")
    >>> s.choices["override"]["values"]
    ['on', 'off']
    """

    name: str
    description: str
    choices: dict
    settings: dict = field(default_factory=dict)
    source: str = ""

    def __post_init__(self):
        for name, spec in self.choices.items():
            if name not in CHOICES:
                raise MethodError(f"scenario space {self.name!r}: unknown choice {name!r}; "
                                  f"expected one of {list(CHOICES)}")
            if not isinstance(spec, dict) or not isinstance(spec.get("values"), list) or not spec["values"]:
                raise MethodError(f"scenario space {self.name!r}: choice {name!r} needs a non-empty "
                                  "'values' list")
            unknown = set(spec) - {"values", "trust_types"} - set(CHOICES[name].params)
            if unknown:
                raise MethodError(f"scenario space {self.name!r}: choice {name!r} has unknown "
                                  f"parameter(s) {sorted(unknown)}")
            vals = [str(v) for v in spec["values"]]
            if name not in ("leave_out_metric", "leave_out_domain"):
                bad = [v for v in vals if v not in CHOICES[name].values]
                if bad:
                    raise MethodError(f"choice {name!r}: unknown value(s) {bad}; expected one of "
                                      f"{list(CHOICES[name].values)}")
            if len(set(vals)) != len(vals):
                raise MethodError(f"choice {name!r}: a value is listed twice in {vals}")
        for key, value in self.settings.items():
            if key not in SPACE_SETTINGS:
                raise MethodError(f"scenario space {self.name!r}: unknown key {str(key)!r}"
                                  f"{_nearest(key, [*SPACE_SETTINGS, 'name', 'description', 'choices'])}")
            SPACE_SETTINGS[key].check(value, f"scenario space {self.name!r}: {key}")
        for (choice, key), spec in SPACE_PARAMS.items():
            spec.check(self.param(choice, key), f"scenario space {self.name!r}: choice {choice!r}: {key}")
        for choice, key in (("peer_set", "exclude_subtypes"), ("peer_set", "trust_types")):
            v = self.param(choice, key)
            if v is not None and (not isinstance(v, list) or not all(isinstance(x, str) for x in v)):
                raise MethodError(f"scenario space {self.name!r}: choice {choice!r}: {key} must be a list of "
                                  f"text items, got {v!r}")

    def param(self, choice: str, key: str):
        """A choice parameter: the space's value, else the registry default."""
        return self.choices.get(choice, {}).get(key, CHOICES[choice].params.get(key))

    def with_choices(self, name: str | None = None, **choices) -> "ScenarioSpace":
        """A copy with some choices replaced, e.g. ``with_choices(override={"values": ["off"]})``."""
        c = copy.deepcopy(self.choices)
        c.update(choices)
        return ScenarioSpace(name or self.name, self.description, c, copy.deepcopy(self.settings), self.source)


#: Settings of a scenario space beside its choices, and what each must be.
SPACE_SETTINGS = {"oat_draws": Whole(1, MAX_OAT_DRAWS), "sobol_n_base": Whole(2, MAX_SOBOL_N)}
#: Numeric parameters of the choices: noise keeps weights positive, the others are sizes.
SPACE_PARAMS = {("weights", "noise"): Real(0.0, 1.0, high_open=True),
                ("weights", "concentration"): Real(1e-6, 1e6),
                ("segmentation", "delta"): Real(1e-6, 3.0)}


def available_spaces() -> list[str]:
    """Names of the built-in scenario spaces."""
    return sorted(p.stem for p in SPACE_DIR.glob("*.yaml"))


def load_space(name_or_path) -> ScenarioSpace:
    """Load a built-in scenario space by name, or a YAML file by path.

    >>> load_space("domain").choices["leave_out_domain"]["values"]
    ['none', 'each']
    """
    if isinstance(name_or_path, ScenarioSpace):
        return name_or_path
    p, data = read_preset(name_or_path, SPACE_DIR, "scenario space")
    if not isinstance(data, dict) or "name" not in data or not isinstance(data.get("choices"), dict):
        raise MethodError(f"{p}: a scenario space is a mapping with 'name' and 'choices'")
    settings = {k: v for k, v in data.items() if k not in ("name", "description", "choices")}
    return ScenarioSpace(str(data["name"]), str(data.get("description", "")).strip(),
                         data["choices"], settings, str(p))


# --------------------------------------------------------------------------------------------
# The data a sensitivity analysis runs on
# --------------------------------------------------------------------------------------------

@dataclass
class SensitivityData:
    """Scores of one quarter and trust type, ready for scenarios.

    Build with :func:`from_panel` (metric level) or :func:`from_domain_scores` /
    :func:`from_inputs` (domain level). ``columns`` are metric IDs or domain names;
    trusts are rows, in ``trusts.index`` order.
    """

    level: str
    quarter: str
    trust_type: str
    trusts: pd.DataFrame  # index trust_code; trust_name, trust_subtype
    columns: list
    column_domain: np.ndarray  # (m,) index into DOMAINS
    method: Method
    in_deficit: np.ndarray  # (n,) bool
    has_deficit_data: bool
    intensive_support: np.ndarray  # (n,) bool
    nominal_weights: np.ndarray  # (m,) per-column weights of the 'metric' path
    nominal_per_domain: bool  # the method's weights are per_domain
    synthetic: bool = False
    anchor: np.ndarray | None = None  # (n,) published averages (domain level)
    panel: Panel | None = None
    domain_scores: np.ndarray | None = None  # (n, 5) at domain level
    context: np.ndarray | None = None  # (n,) catchment deprivation score (NaN: no catchment); with_context()
    notes: list = field(default_factory=list)
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def n(self) -> int:
        return len(self.trusts)

    @property
    def m(self) -> int:
        return len(self.columns)

    @property
    def nominal_scoring(self) -> str:
        return "published" if self.level == "domain" else self.method.settings["scoring"]["continuous"]

    def nominal_choices(self) -> dict:
        """The value of every choice that reproduces the method (the nominal table)."""
        s = self.method.settings
        return {
            "weights": "nominal",
            "aggregation": s["average"]["aggregation"],
            "scoring": self.nominal_scoring,
            "segmentation": "cutoffs" if s["segmentation"]["rule"] == "cutoffs" else "quartiles",
            "override": "on" if s["override"]["enabled"] else "off",
            "leave_out_metric": "none",
            "leave_out_domain": "none",
            "peer_set": "all",
            "baseline": "anchored" if self.anchor is not None else "direct",
            "context_adjustment": "none",
        }

    def peer_mask(self, peer: str, exclude_subtypes=(SPECIALIST_SUBTYPE,)) -> np.ndarray:
        """Trusts in the peer set, ``(n,)`` bool."""
        if peer == "all":
            return np.ones(self.n, bool)
        sub = self.trusts["trust_subtype"].fillna("").astype(str).str.strip()
        if not sub.ne("").any():
            raise MethodError("choice peer_set='no_specialist' cannot be applied: the data carry no "
                              "trust subtypes")
        out = ~sub.isin(list(exclude_subtypes)).to_numpy()
        if out.all():
            raise MethodError(f"choice peer_set='no_specialist' cannot be applied: no trust has subtype "
                              f"{list(exclude_subtypes)}")
        if out.sum() < 2:
            raise MethodError("choice peer_set='no_specialist' leaves fewer than 2 trusts")
        return out

    def scores(self, rule: str, peer: str = "all", exclude_subtypes=(SPECIALIST_SUBTYPE,)) -> np.ndarray:
        """The ``(n, m)`` score matrix under a scoring rule and peer set (NaN = not scored/out)."""
        key = (rule, peer, tuple(exclude_subtypes))
        if key in self._cache:
            return self._cache[key]
        mask = self.peer_mask(peer, exclude_subtypes)
        if self.level == "domain":
            if rule != "published":
                raise MethodError(f"choice scoring={rule!r} cannot be applied: domain-level data have "
                                  "no raw metric values to re-score")
            out = np.where(mask[:, None], self.domain_scores, np.nan)
        else:
            if rule not in ("rank", "zscore", "minmax", "quartile_bands"):
                raise MethodError(f"choice scoring={rule!r} cannot be applied to metric-level data")
            method = self.method.replace(scoring={"continuous": rule})
            sub = _subset_panel(self.panel, mask)
            out = np.full((self.n, self.m), np.nan)
            out[mask] = metric_scores(sub, method)
        out.setflags(write=False)
        self._cache[key] = out
        return out

    def score_frame(self) -> pd.DataFrame:
        """The nominal scores as a trusts x columns DataFrame."""
        return pd.DataFrame(self.scores(self.nominal_scoring), index=self.trusts.index, columns=self.columns)


def with_context(data: SensitivityData, scores) -> SensitivityData:
    """A copy of ``data`` carrying each trust's catchment deprivation score (for ``context_adjustment``).

    ``scores``: a Series by trust code (e.g. ``Context.table.set_index("Trust_code")["IMD_score"]``);
    trusts it lacks get NaN (no adjustment).
    """
    x = pd.Series(scores, dtype=float).reindex(data.trusts.index).to_numpy(dtype=float)
    if not np.isfinite(x).any():
        raise InputError("no trust of the table has a catchment deprivation score", column="Trust_code")
    missing = data.trusts.index[~np.isfinite(x)].tolist()
    note = (f"catchment deprivation scores for {int(np.isfinite(x).sum())} of {data.n} trusts"
            + (f"; without (never adjusted): {', '.join(map(str, missing))}" if missing else ""))
    return replace(data, context=x, notes=list(data.notes) + [note], _cache={})


def _subset_panel(panel: Panel, mask: np.ndarray) -> Panel:
    return panel.subset(mask)


def _segment5(panel: Panel, method: Method) -> np.ndarray:
    s = method.settings["segment5"]
    if s["source"] == "flag":
        return panel.intensive_support
    return np.isin(panel.trusts.index, list(s.get("trusts") or []))


def _check_enough_trusts(n: int, trust_type, quarter, file=None) -> None:
    if n < 2:
        raise InputError(f"a sensitivity analysis compares the ranks of at least 2 trusts; the input has {n} "
                         f"{trust_type or ''} trust{'s' if n != 1 else ''} for {quarter or 'the quarter'}",
                         file=file, column="Trust_code")


def from_panel(panel: Panel, method: Method) -> SensitivityData:
    """Metric-level sensitivity data from a :class:`~nhs_league.pipeline.Panel`.

    Examples
    --------
    >>> from nhs_league.methods import load_method
    >>> d = from_panel(example_panel(20, seed=1), load_method("nof-2025-26"))
    >>> d.level, d.n, d.synthetic
    ('metric', 20, True)
    """
    _check_enough_trusts(panel.n, panel.trust_type, panel.quarter,
                         file=panel.trusts["source_file"].iloc[0] if "source_file" in panel.trusts and panel.n else None)
    w = method.settings["average"]["weights"]
    deficit, source = panel.deficit(method)
    if isinstance(w, dict):
        unknown = set(w) - set(panel.metric_ids)
        if unknown:
            raise MethodError(f"average.weights names metric(s) not in this table: {sorted(unknown)}")
        nominal = np.array([float(w.get(c, 1.0)) for c in panel.metric_ids])
    else:
        nominal = np.ones(len(panel.metric_ids))
    return SensitivityData(
        level="metric", quarter=panel.quarter, trust_type=panel.trust_type,
        trusts=panel.trusts[["trust_name", "trust_subtype"]].copy(), columns=list(panel.metric_ids),
        column_domain=panel.domain_index, method=method, in_deficit=np.asarray(deficit, bool),
        has_deficit_data=bool((np.asarray(source) != "no data").any()),
        intensive_support=np.asarray(_segment5(panel, method), bool), nominal_weights=nominal,
        nominal_per_domain=(w == "per_domain"), synthetic=bool(panel.synthetic), panel=panel,
        notes=list(panel.notes))


def implied_domain_weights(domain_scores, average) -> pd.Series:
    """Domain weights that best reproduce the published averages (least squares, summing to 1).

    Fits ``average ≈ Σ_d w_d * domain_score_d`` over the trusts with all five domain scores,
    with the constraint ``Σ w_d = 1`` (so that the weights are weights, not a rescaling).
    The series carries ``attrs['rmse']`` and ``attrs['n']`` (trusts used).

    Parameters
    ----------
    domain_scores : DataFrame (trusts x domains) or array (n, k)
    average : array-like (n,)

    Examples
    --------
    >>> d = np.array([[1., 2.], [2., 2.], [3., 1.], [4., 3.]])
    >>> w = implied_domain_weights(d, d @ [0.7, 0.3])
    >>> np.round(w.to_numpy(), 6).tolist(), bool(w.attrs["rmse"] < 1e-9)
    ([0.7, 0.3], True)
    """
    names = list(domain_scores.columns) if isinstance(domain_scores, pd.DataFrame) else None
    d = np.asarray(domain_scores, dtype=float)
    y = np.asarray(average, dtype=float)
    ok = ~np.isnan(d).any(axis=1) & ~np.isnan(y)
    k = d.shape[1]
    if ok.sum() < k + 1:
        raise MethodError(f"implied domain weights need at least {k + 1} trusts with every domain score "
                          f"and an average; {int(ok.sum())} have them")
    x, yy = d[ok], y[ok]
    # substitute w_k = 1 - sum(w_1..w_{k-1})
    a = x[:, :-1] - x[:, [-1]]
    b = yy - x[:, -1]
    head, *_ = np.linalg.lstsq(a, b, rcond=None)
    w = np.append(head, 1.0 - head.sum())
    rmse = float(np.sqrt(np.mean((x @ w - yy) ** 2)))
    out = pd.Series(w, index=names if names is not None else range(k), name="weight")
    out.attrs.update(rmse=rmse, n=int(ok.sum()))
    return out


def from_domain_scores(domain_scores: pd.DataFrame, average, in_deficit=None, *, method: Method,
                       quarter: str = "", trust_type: str = "acute", trusts: pd.DataFrame | None = None,
                       intensive_support=None, weights=None, synthetic: bool = False) -> SensitivityData:
    """Domain-level sensitivity data: published domain scores and averages.

    Parameters
    ----------
    domain_scores : DataFrame
        Index trust codes, columns the five :data:`~nhs_league.catalogue.DOMAINS` (NaN allowed).
    average : array-like
        The published average metric score of each trust (the anchor of the nominal table).
    in_deficit : array-like of bool or None
        The published deficit flag; ``None`` when unknown (the override choice then raises).
    weights : mapping or None
        Nominal domain weights; default :func:`implied_domain_weights`.
    trusts : DataFrame, optional
        ``trust_name`` and ``trust_subtype`` by trust code (for the peer set).

    Examples
    --------
    >>> from nhs_league.methods import load_method
    >>> rng = np.random.default_rng(0)
    >>> ds = pd.DataFrame(rng.uniform(1, 4, (12, 5)), index=[f"T{i:02d}" for i in range(12)],
    ...                   columns=list(DOMAINS))
    >>> d = from_domain_scores(ds, ds.mean(axis=1).round(2), np.zeros(12, bool),
    ...                        method=load_method("nof-2025-26"))
    >>> d.level, d.m, np.round(d.nominal_weights, 2).tolist()
    ('domain', 5, [0.2, 0.2, 0.2, 0.2, 0.2])
    """
    missing = [c for c in DOMAINS if c not in domain_scores.columns]
    if missing:
        raise InputError(f"domain scores lack column(s) {missing}", column=missing[0])
    ds = domain_scores[list(DOMAINS)].astype(float)
    _check_enough_trusts(len(ds), trust_type, quarter)
    avg = np.asarray(average, dtype=float)
    if len(avg) != len(ds):
        raise InputError("average and domain scores have different numbers of trusts")
    if np.isnan(avg).any():
        i = int(np.flatnonzero(np.isnan(avg))[0])
        raise InputError(f"trust {ds.index[i]} has no published average", column="Average_score")
    empty = np.isnan(ds.to_numpy()).all(axis=1)
    if empty.any():
        raise InputError(f"trust {ds.index[int(np.flatnonzero(empty)[0])]} has no domain score",
                         column="OF4000-OF4005")
    if weights is None:
        w = implied_domain_weights(ds, avg)
        wv = w.to_numpy()
        note = (f"nominal domain weights = least-squares fit of the published averages on the domain scores "
                f"(n={w.attrs['n']}, RMSE {w.attrs['rmse']:.3f}): "
                + ", ".join(f"{d} {x:.3f}" for d, x in zip(DOMAINS, wv)))
    else:
        unknown = set(weights) - set(DOMAINS)
        if unknown:
            raise MethodError(f"domain weights name unknown domain(s) {sorted(unknown)}")
        wv = np.array([float(weights.get(d, 1.0)) for d in DOMAINS])
        note = "nominal domain weights given: " + ", ".join(f"{d} {x:g}" for d, x in zip(DOMAINS, wv))
    if trusts is None:
        trusts = pd.DataFrame({"trust_name": ds.index.astype(str), "trust_subtype": ""}, index=ds.index)
    trusts = trusts.reindex(ds.index)[["trust_name", "trust_subtype"]].copy()
    trusts.index.name = "trust_code"
    deficit_known = in_deficit is not None
    deficit = np.zeros(len(ds), bool) if in_deficit is None else np.asarray(
        pd.array(in_deficit, dtype="boolean").fillna(False), dtype=bool)
    seg5 = np.zeros(len(ds), bool) if intensive_support is None else np.asarray(intensive_support, bool)
    return SensitivityData(
        level="domain", quarter=quarter, trust_type=trust_type, trusts=trusts, columns=list(DOMAINS),
        column_domain=np.arange(len(DOMAINS)), method=method, in_deficit=deficit,
        has_deficit_data=deficit_known, intensive_support=seg5, nominal_weights=wv,
        nominal_per_domain=False, synthetic=synthetic, anchor=avg.copy(),
        domain_scores=ds.to_numpy(), notes=[note])


def from_inputs(inputs: Inputs, quarter: str, trust_type: str, method: Method | None = None, *,
                level: str = "auto", catalogue=None) -> SensitivityData:
    """Sensitivity data from files read by :func:`nhs_league.io.read_inputs` (or ``realdata``).

    ``level='metric'`` builds a panel; ``'domain'`` uses the published domain scores
    (``OF4000``-``OF4005``) and averages (league table, else ``OF5002``); ``'auto'`` takes the
    metric level when scored metric rows are present, else the domain level.

    Examples
    --------
    >>> from nhs_league.io import read_inputs
    >>> from nhs_league.synth import DEFAULT_OUTPUT
    >>> files = sorted((DEFAULT_OUTPUT / "q3-25-26").glob("*-acute-trust-*.csv"))
    >>> d = from_inputs(read_inputs(files), "2025Q3", "acute", level="domain")
    >>> d.level, d.n, d.synthetic
    ('domain', 134, True)

    (On the real Q3 extract, ``from_inputs(realdata.read_extract(), "2025Q3", "acute",
    level="domain")`` gives the 129 acute trusts published there.)
    """
    method = method if method is not None else default_method_for(quarter)
    if level not in ("auto", "metric", "domain"):
        raise MethodError(f"level must be auto, metric or domain, got {level!r}")
    m = inputs.metrics
    rows = rows_for(m, quarter, trust_type)
    domain_ids = set(DOMAIN_SCORE_IDS.values())
    has_domain = bool(len(rows)) and rows["metric_id"].isin(domain_ids).any()
    if level == "auto":
        try:
            panel = build_panel(inputs, quarter, trust_type, catalogue=catalogue)
        except InputError as exc:
            if not has_domain:
                raise InputError(f"{exc.message}; nor are there domain score rows (OF4000-OF4005)",
                                 file=exc.file, row=exc.row, column=exc.column) from None
            level = "domain"
        else:
            return from_panel(panel, method)
    if level == "metric":
        return from_panel(build_panel(inputs, quarter, trust_type, catalogue=catalogue), method)
    if not has_domain:
        raise InputError(f"no domain score rows (OF4000-OF4005) for {trust_type} trusts in {quarter}",
                         file=", ".join(sorted(inputs.files)) or None, column="Metric_ID")
    inv = {v: k for k, v in DOMAIN_SCORE_IDS.items()}
    dom = rows[rows["metric_id"].isin(domain_ids)]
    ds = dom.pivot_table(index="trust_code", columns="metric_id", values="value", aggfunc="first")
    ds = ds.rename(columns=inv).reindex(columns=list(DOMAINS))
    lg = inputs.league
    lrows = rows_for(lg, quarter, trust_type)
    lrows = lrows.drop_duplicates("trust_code").set_index("trust_code") if len(lrows) else None
    first = rows.drop_duplicates("trust_code").set_index("trust_code")
    if lrows is not None:
        codes = sorted(lrows.index)
        average = lrows["average_score"].reindex(codes).to_numpy(dtype=float)
        deficit = pd.array(lrows["in_deficit"].reindex(codes), dtype="boolean") if "in_deficit" in lrows else None
        if deficit is not None and deficit.isna().all():
            deficit = None
        seg = pd.array(lrows["segment"].reindex(codes), dtype="Int64") if "segment" in lrows else None
        info = lrows.reindex(codes)
    else:
        avg_rows = rows[rows["metric_id"] == AVERAGE_SCORE_ID].drop_duplicates("trust_code").set_index("trust_code")
        if not len(avg_rows):
            raise InputError(f"no published averages (league table or {AVERAGE_SCORE_ID}) for {trust_type} "
                             f"trusts in {quarter}", column="Average_score")
        codes = sorted(avg_rows.index)
        average = avg_rows["value"].reindex(codes).to_numpy(dtype=float)
        deficit, seg, info = None, None, first.reindex(codes)
    if deficit is None:
        wide = rows.pivot_table(index="trust_code", columns="metric_id", values="value", aggfunc="first")
        o = method.settings["override"]
        if o["planned_metric"] in wide or o["variance_metric"] in wide:
            p = wide.get(o["planned_metric"], pd.Series(np.nan, index=wide.index)).reindex(codes)
            v = wide.get(o["variance_metric"], pd.Series(np.nan, index=wide.index)).reindex(codes)
            deficit = deficit_from_metrics(p.to_numpy(float), v.to_numpy(float),
                                           tolerance=float(o.get("tolerance", 0.0)))
    seg5 = np.zeros(len(codes), bool)
    if seg is not None:
        seg5 = np.asarray((seg == 5).fillna(False), bool)
    else:
        flags = rows[rows["metric_id"].isin([RSP_FLAG_ID, ADJUSTED_SEGMENT_ID])]
        f5 = flags[((flags["metric_id"] == RSP_FLAG_ID) & (flags["value"] == 1))
                   | ((flags["metric_id"] == ADJUSTED_SEGMENT_ID) & (flags["value"] == 5))]
        seg5 = np.isin(codes, f5["trust_code"].unique())
    trusts = pd.DataFrame({
        "trust_name": info["trust_name"].to_numpy() if "trust_name" in info else codes,
        "trust_subtype": info["trust_subtype"].fillna("").to_numpy() if "trust_subtype" in info else "",
    }, index=pd.Index(codes, name="trust_code"))
    return from_domain_scores(ds.reindex(codes), average, deficit, method=method, quarter=quarter,
                              trust_type=trust_type, trusts=trusts, intensive_support=seg5,
                              synthetic=inputs.synthetic)


def example_panel(n: int = 134, seed: int = 0) -> Panel:
    """A SYNTHETIC acute panel with random values for every acute metric of the catalogue.

    For examples, tests and benchmarks only: values are drawn at random (seeded), one trust
    in twelve (at least one) is a specialist (its not-applicable metrics missing), and a few
    values are missing at random. ``synthetic`` is true.

    >>> p = example_panel(30, seed=2)
    >>> p.values.shape[0], p.synthetic
    (30, True)
    """
    from .catalogue import load_catalogue, metrics_for

    rng = np.random.default_rng(seed)
    cat = load_catalogue()
    scored = metrics_for(cat, "acute").copy()
    m = len(scored)
    codes = [f"S{i:03d}" for i in range(n)]
    kinds = np.array(["Acute - Teaching", "Acute - Large", "Acute - Medium", "Acute - Small",
                      "Acute - Multi-Service", SPECIALIST_SUBTYPE])
    pick = rng.integers(0, 5, n)
    pick[rng.permutation(n)[:max(1, n // 12)]] = 5  # about one in twelve, at least one
    subtypes = kinds[pick]
    trusts = pd.DataFrame({"trust_name": [f"Synthetic trust {c}" for c in codes], "trust_subtype": subtypes,
                           "region": "SYNTHETIC", "source_file": "example_panel", "source_row": np.arange(n) + 2},
                          index=pd.Index(codes, name="trust_code"))
    quality = rng.normal(0, 1, n)
    lo = scored["lower_bound"].fillna(0).to_numpy()
    hi = scored["upper_bound"].to_numpy(dtype=float)
    hi = np.where(np.isnan(hi), lo + 100.0, hi)
    sign = np.where(scored["better"].to_numpy() == "higher", 1.0, -1.0)
    z = 0.5 * quality[:, None] * sign + rng.normal(0, 1, (n, m))
    values = lo + (hi - lo) * (0.5 + 0.15 * np.clip(z, -3, 3))
    fin = scored["rule"].to_numpy() == "finance_position"
    values[:, fin] = rng.normal(-0.5, 1.5, (n, fin.sum())).round(2)
    values[:, scored["rule"].to_numpy() == "finance_lookup"] = np.nan  # derived from its inputs
    not_for = np.array([[s in nf for nf in scored["not_for_subtypes"]] for s in subtypes])
    values[not_for | (rng.random((n, m)) < 0.02)] = np.nan
    pub_rule = scored["rule"].to_numpy() == "published"
    published = np.full((n, m), np.nan)
    published[:, pub_rule] = np.clip(2.5 - 0.4 * quality[:, None] + rng.normal(0, 0.8, (n, pub_rule.sum())),
                                     1, 4).round(2)
    published[np.isnan(values)] = np.nan
    nan = np.full((n, m), np.nan)
    inputs = {"OF0079": rng.normal(-0.5, 1.5, n).round(2), "OF0081": rng.normal(-0.2, 1.0, n).round(2)}
    return Panel("2025Q3", "acute", trusts, scored, values, published, nan, nan.copy(), inputs,
                 pd.array([pd.NA] * n, dtype="boolean"), np.zeros(n, bool), None, True,
                 ["example_panel: random SYNTHETIC values"],
                 input_params={k: cat.loc[k, "rule_params"] for k in inputs})


# --------------------------------------------------------------------------------------------
# Resolving a space on data: expand 'each', check applicability
# --------------------------------------------------------------------------------------------

@dataclass
class Resolved:
    """A scenario space checked against one data set: the values of every choice."""

    values: dict  # choice -> list of values (expanded)
    nominal: dict
    noise: float
    concentration: float
    user: np.ndarray | None
    delta: float
    exclude_subtypes: tuple
    notes: list

    @property
    def factors(self) -> list[str]:
        """Choices that vary (more than one value, or a random weight scheme)."""
        return [c for c in CHOICE_ORDER if len(self.values[c]) > 1
                or (c == "weights" and any(v in RANDOM_SCHEMES for v in self.values[c]))]


def resolve(space: ScenarioSpace, data: SensitivityData) -> Resolved:
    """Check every choice of ``space`` against ``data`` and expand ``each``.

    Raises :class:`MethodError` naming the first choice that cannot be applied.

    >>> from nhs_league.methods import load_method
    >>> d = from_panel(example_panel(20, seed=1), load_method("nof-2025-26"))
    >>> r = resolve(load_space("default"), d)
    >>> r.values["override"], len(r.values["leave_out_metric"]) == d.m + 1
    (['on', 'off'], True)
    """
    space = load_space(space)
    nominal = data.nominal_choices()
    notes = []
    values = {}
    sc0 = data.scores(data.nominal_scoring)
    col_has = (~np.isnan(sc0)).any(axis=0)
    for name in CHOICE_ORDER:
        spec = space.choices.get(name)
        if spec is None:
            values[name] = [nominal[name]]
            continue
        tt = spec.get("trust_types", None)
        if tt is not None and data.trust_type not in tt:
            notes.append(f"choice {name} not varied: the space applies it to {', '.join(tt)} trusts only")
            values[name] = [nominal[name]]
            continue
        vals = [str(v) for v in spec["values"]]
        if name == "peer_set" and data.level == "domain" and any(v != nominal[name] for v in vals):
            notes.append("choice peer_set left out: at domain level the published domain scores cannot be "
                         "re-scored among the remaining trusts, so the effect of leaving trusts out cannot be "
                         "measured (it is not shown as 'no change')")
            values[name] = [nominal[name]]
            continue
        ch = CHOICES[name]
        changes = [v for v in vals if v != nominal[name]]
        if data.level not in ch.levels and changes:
            raise MethodError(f"choice {name}={changes[0]!r} cannot be applied: {data.level}-level data "
                              f"({'no metrics to leave out' if name == 'leave_out_metric' else 'not supported'})")
        if name == "leave_out_metric":
            vals = _expand(vals, [c for c, h in zip(data.columns, col_has) if h], data.columns, col_has, name)
        elif name == "leave_out_domain":
            present = sorted({DOMAINS[d] for d, h in zip(data.column_domain, col_has) if h}, key=DOMAINS.index)
            for v in vals:
                if v not in ("none", "each") and v not in DOMAINS:
                    raise MethodError(f"choice leave_out_domain={v!r}: unknown domain; expected one of {DOMAINS}")
                if v in DOMAINS and v not in present:
                    raise MethodError(f"choice leave_out_domain={v!r} cannot be applied: no trust has a score "
                                      "in that domain")
            vals = _expand(vals, present, present, None, name)
            if data.level == "domain" and len(present) < 2 and len(vals) > 1:
                raise MethodError("choice leave_out_domain cannot be applied: fewer than two domains")
        elif name == "scoring":
            for v in vals:
                data.scores(v, "all")  # raises MethodError when the rule cannot be applied
        elif name == "peer_set":
            for v in vals:
                data.peer_mask(v, tuple(space.param("peer_set", "exclude_subtypes") or ()))
        elif name == "override":
            if changes and not data.has_deficit_data:
                raise MethodError("choice override cannot be applied: the data say nothing about which "
                                  "trusts are in deficit")
        elif name == "context_adjustment":
            if changes and data.context is None:
                notes.append("choice context_adjustment not varied: the data carry no catchment deprivation "
                             "scores (nhs_league.context; sensitivity --context)")
                values[name] = [nominal[name]]
                continue
        elif name == "baseline":
            if "anchored" in vals and data.anchor is None:
                raise MethodError("choice baseline='anchored' cannot be applied: no published averages "
                                  "(metric-level averages are always recomputed directly)")
        values[name] = vals
    user_spec = space.param("weights", "user")
    user = None
    if "user" in values["weights"]:
        if not isinstance(user_spec, dict) or not user_spec:
            raise MethodError("choice weights='user' needs a 'user' mapping {column: weight}")
        unknown = set(map(str, user_spec)) - set(data.columns)
        if unknown:
            raise MethodError(f"choice weights='user' names column(s) not in the data: {sorted(unknown)}")
        user = np.array([float(user_spec.get(c, 1.0)) for c in data.columns])
        if (user < 0).any() or user.sum() <= 0:
            raise MethodError("choice weights='user': weights must be non-negative, not all zero")
    return Resolved(values, nominal, float(space.param("weights", "noise")),
                    float(space.param("weights", "concentration")), user,
                    float(space.param("segmentation", "delta")),
                    tuple(space.param("peer_set", "exclude_subtypes") or ()), notes)


def _expand(vals, every, known, has, name):
    out = []
    for v in vals:
        if v == "each":
            out += [x for x in every if x not in out]
        elif v == "none" or v in every:
            if v not in out:
                out.append(v)
        elif v not in known:
            raise MethodError(f"choice {name}={v!r} cannot be applied: {v} is not in the data")
        else:
            raise MethodError(f"choice {name}={v!r} cannot be applied: no trust has a score on {v}")
    return out


# --------------------------------------------------------------------------------------------
# Scenario parameters
# --------------------------------------------------------------------------------------------

def weight_columns(data: SensitivityData) -> list[str]:
    """Names of the per-column weight columns of a scenario table (``w_<column>``)."""
    return [f"w_{c}" for c in data.columns]


def _weight_bank(data: SensitivityData, res: Resolved, size: int, seed) -> dict:
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    r_noise, r_dir = (np.random.default_rng(s) for s in ss.spawn(2))
    return {"noise": r_noise.uniform(-1.0, 1.0, (size, data.m)),
            "dirichlet": r_dir.dirichlet(np.full(data.m, res.concentration), size) * data.m}


def _weights_for(data, res, scheme: np.ndarray, draw: np.ndarray, bank: dict) -> np.ndarray:
    """Per-scenario column weight factors ``(R, m)`` from the scheme names and bank draws."""
    R = len(scheme)
    v = np.ones((R, data.m))
    base = data.nominal_weights[None, :]
    nominal = np.isin(scheme, ["nominal", "noise"]) & ~data.nominal_per_domain
    v = np.where(nominal[:, None], base, v)
    d = np.maximum(draw, 0)
    if (scheme == "noise").any():
        v = np.where((scheme == "noise")[:, None], v * (1.0 + res.noise * bank["noise"][d]), v)
    if (scheme == "dirichlet").any():
        v = np.where((scheme == "dirichlet")[:, None], bank["dirichlet"][d], v)
    if (scheme == "user").any():
        v = np.where((scheme == "user")[:, None], res.user[None, :], v)
    return v


def _params_frame(data, res, cols: dict, draw: np.ndarray, bank: dict) -> pd.DataFrame:
    R = len(draw)
    out = pd.DataFrame({"scenario": np.arange(R, dtype=np.int64)})
    for c in CHOICE_ORDER:
        out[c] = np.asarray(cols[c], dtype=object) if c in cols else res.nominal[c]
        out[c] = out[c].astype(str)
    scheme = out["weights"].to_numpy(str)
    draw = np.where(np.isin(scheme, RANDOM_SCHEMES), draw, -1).astype(np.int64)
    out["weight_draw"] = draw
    w = _weights_for(data, res, scheme, draw, bank)
    return pd.concat([out, pd.DataFrame(w, columns=weight_columns(data))], axis=1)


def decode(X, res: Resolved, data: SensitivityData, bank: dict, *, draws=None) -> pd.DataFrame:
    """Map points of the unit hypercube (one column per factor) to scenario parameters.

    A discrete choice with L values takes value ``floor(x * L)``. For the weights factor the
    position inside the chosen value's interval picks a draw of the bank (random schemes),
    unless ``draws`` gives each row's bank draw (the Monte Carlo gives every scenario its own).
    """
    X = np.atleast_2d(np.asarray(X, dtype=float))
    factors = res.factors
    if X.shape[1] != len(factors):
        raise ValueError(f"X has {X.shape[1]} columns; the space has {len(factors)} factors {factors}")
    cols = {}
    draw = np.full(len(X), -1, dtype=np.int64)
    bank_size = len(bank["noise"])
    for j, name in enumerate(factors):
        vals = np.asarray(res.values[name], dtype=object)
        L = len(vals)
        pos = np.clip(X[:, j], 0.0, np.nextafter(1.0, 0.0)) * L
        k = np.minimum(pos.astype(np.int64), L - 1)
        cols[name] = vals[k]
        if name == "weights":
            draw = np.minimum(((pos - k) * bank_size).astype(np.int64), bank_size - 1)
    for name in CHOICE_ORDER:
        if name not in cols:
            cols[name] = np.full(len(X), res.values[name][0], dtype=object)
    if draws is not None:
        draw = np.asarray(draws, dtype=np.int64)
    return _params_frame(data, res, cols, draw, bank)


def scenario_params(data: SensitivityData, space=None, **choices) -> pd.DataFrame:
    """A one-row scenario table: the nominal choices with ``choices`` changed.

    Random weight schemes use draw 0 of a bank seeded with ``seed`` (keyword, default 0).

    >>> from nhs_league.methods import load_method
    >>> d = from_panel(example_panel(20, seed=1), load_method("nof-2025-26"))
    >>> scenario_params(d, override="off")[["override", "aggregation"]].iloc[0].tolist()
    ['off', 'mean']
    """
    seed = choices.pop("seed", 0)
    unknown = set(choices) - set(CHOICES)
    if unknown:
        raise MethodError(f"unknown choice(s) {sorted(unknown)}; expected {list(CHOICES)}")
    sp = load_space(space) if space is not None else ScenarioSpace("single", "", {})
    sp = sp.with_choices(**{k: {**sp.choices.get(k, {}), "values": [v]} for k, v in choices.items()})
    res = resolve(sp, data)
    for k, v in choices.items():  # a value asked for by name is never replaced by the nominal one
        if str(v) not in res.values[k] and str(v) not in ("each",):
            why = [n for n in res.notes if k in n]
            raise MethodError(f"choice {k}={v!r} cannot be applied" + (f": {why[0]}" if why else ""))
    cols = {k: [res.values[k][0]] for k in CHOICE_ORDER}
    return _params_frame(data, res, cols, np.zeros(1, np.int64), _weight_bank(data, res, 1, seed))


# --------------------------------------------------------------------------------------------
# Evaluating scenarios
# --------------------------------------------------------------------------------------------

def _weighted_average(S: np.ndarray, V: np.ndarray, keep: np.ndarray, geometric: bool,
                      per_domain: bool, column_domain: np.ndarray) -> np.ndarray:
    """Weighted (geometric) means of one score matrix under R weight vectors: ``(R, n)``.

    Same result as ``aggregate_scores(S, weights=W)`` for each scenario's weight matrix W:
    per column ``V * keep`` (metric path), or per domain ``V * keep / count`` where count is
    the trust's number of kept scores in the column's domain (per-domain path).
    """
    H = ~np.isnan(S)
    X = np.log(np.where(H, S, 1.0)) if geometric else np.where(H, S, 0.0)
    Hf = H.astype(float)
    VK = V * keep
    # einsum's own loops rather than BLAS: these products are small, and a multi-threaded BLAS
    # slows down badly on a busy machine with few cores.
    with np.errstate(invalid="ignore", divide="ignore"):
        if not per_domain:
            num = np.einsum("im,rm->ir", X, VK)
            den = np.einsum("im,rm->ir", Hf, VK)
        else:
            n_dom = int(column_domain.max()) + 1
            sel = np.eye(n_dom)[column_domain].T[:, None, :]  # (D, 1, m): columns of each domain
            Xd, Hd = X[None] * sel, Hf[None] * sel  # (D, n, m)
            cnt = np.einsum("dim,rm->dir", Hd, keep.astype(float))  # kept scores per domain
            inv = np.where(cnt > 0, 1.0 / cnt, 0.0)
            num = (np.einsum("dim,rm->dir", Xd, VK) * inv).sum(axis=0)
            den = (np.einsum("dim,rm->dir", Hd, VK) * inv).sum(axis=0)
        avg = np.where(den > 0, num / den, np.nan).T
    return np.exp(avg) if geometric else avg


def _nanmedian_last(x: np.ndarray) -> np.ndarray:
    """``np.nanmedian(x, axis=-1)`` by one sort (NaN sort last); all-NaN rows give NaN."""
    srt = np.sort(x, axis=-1)
    k = (~np.isnan(x)).sum(axis=-1, keepdims=True)
    lo = np.take_along_axis(srt, np.maximum((k - 1) // 2, 0), axis=-1)
    hi = np.take_along_axis(srt, np.minimum(k // 2, x.shape[-1] - 1), axis=-1)
    with np.errstate(invalid="ignore"):
        return np.where(k > 0, (lo + hi) / 2.0, np.nan)[..., 0]


def _group_index(*keys) -> tuple[np.ndarray, np.ndarray]:
    """Group labels ``0..G-1`` and the first row of each group, for equal key tuples.

    Each key (an array of strings or booleans, one per row) is coded as integers, and the rows of
    codes are grouped by one ``np.unique`` over them: groups are numbered in sorted key order, as
    ``DataFrame.groupby(sort=True).ngroup()`` numbers them, without building a frame of up to 30
    key columns (one per metric left out) for every evaluation.
    """
    codes = np.column_stack([np.unique(np.asarray(k), return_inverse=True)[1].ravel() for k in keys])
    _, first, inverse = np.unique(codes, axis=0, return_index=True, return_inverse=True)
    return inverse.ravel(), first


def evaluate(data: SensitivityData, params: pd.DataFrame, *, res: Resolved | None = None) -> dict:
    """Run every scenario of a scenario table on ``data``; arrays with scenarios on axis 0.

    Returns ``average`` (unrounded), ``average_2dp``, ``raw_segment``, ``segment``, ``rank``
    (0 = not in the table) and ``included`` (the trust is in the scenario's peer set), each
    ``(R, n)``.

    >>> from nhs_league.methods import load_method
    >>> d = from_panel(example_panel(20, seed=1), load_method("nof-2025-26"))
    >>> out = evaluate(d, scenario_params(d, override="off"))
    >>> out["rank"].shape
    (1, 20)
    """
    R, n, m = len(params), data.n, data.m
    if res is None:
        res = _resolve_from_params(data, params)
    meth = data.method
    col = {c: params[c].to_numpy(str) for c in CHOICE_ORDER}
    V = params[weight_columns(data)].to_numpy(float)
    # columns kept in each scenario
    keep = np.ones((R, m), bool)
    lm = pd.Index(data.columns).get_indexer(pd.Index(col["leave_out_metric"]))
    rows = np.flatnonzero(lm >= 0)
    keep[rows, lm[rows]] = False
    ld = pd.Index(DOMAINS).get_indexer(pd.Index(col["leave_out_domain"]))
    keep &= ~((ld[:, None] >= 0) & (data.column_domain[None, :] == ld[:, None]))
    # averages
    avg = np.full((R, n), np.nan)
    agg = col["aggregation"]
    weighted = np.isin(agg, ["mean", "geometric_mean"])
    per_domain = (col["weights"] == "per_domain") | (
        np.isin(col["weights"], ["nominal", "noise"]) & data.nominal_per_domain)
    ex = res.exclude_subtypes
    if weighted.any():
        w_rows = np.flatnonzero(weighted)
        codes, first = _group_index(col["scoring"][w_rows], col["peer_set"][w_rows], agg[w_rows],
                                    per_domain[w_rows])
        order = np.argsort(codes, kind="stable")
        bounds = np.flatnonzero(np.diff(codes[order])) + 1
        for grp in np.split(order, bounds):  # one matrix product per discrete group
            r = w_rows[grp]
            f = r[0]
            S = data.scores(col["scoring"][f], col["peer_set"][f], ex)
            avg[r] = _weighted_average(S, V[r], keep[r], agg[f] == "geometric_mean", bool(per_domain[f]),
                                       data.column_domain)
    if (~weighted).any():
        u_rows = np.flatnonzero(~weighted)
        codes, first = _group_index(col["scoring"][u_rows], col["peer_set"][u_rows], agg[u_rows],
                                    *keep[u_rows].T)
        fr = u_rows[first]
        sp_codes, sp_first = _group_index(col["scoring"][fr], col["peer_set"][fr])
        stack = np.stack([data.scores(col["scoring"][fr[i]], col["peer_set"][fr[i]], ex) for i in sp_first])
        mats = np.where(keep[fr][:, None, :], stack[sp_codes], np.nan)  # (G, n, m)
        out = np.full((len(fr), n), np.nan)
        for a in np.unique(agg[fr]):
            g = agg[fr] == a
            if a == "median":
                out[g] = _nanmedian_last(mats[g])
            else:
                out[g] = aggregate_scores(mats[g], aggregation=a,
                                          trim=float(meth.settings["average"].get("trim", 0.1)))
        avg[u_rows] = out[codes]
    # baseline
    anchored = col["baseline"] == "anchored"
    if anchored.any():
        a0 = _nominal_direct_average(data)
        avg[anchored] = data.anchor[None, :] + (avg[anchored] - a0[None, :])
    # peer set
    included = np.ones((R, n), bool)
    for p in np.unique(col["peer_set"]):
        if p != "all":
            included[col["peer_set"] == p] = data.peer_mask(p, ex)
    avg = np.where(included, avg, np.nan)
    # deprivation adjustment, fitted per scenario over the trusts in its table
    ctx_rows = np.flatnonzero(col["context_adjustment"] == "deprivation")
    if len(ctx_rows):
        if data.context is None:
            raise MethodError("choice context_adjustment='deprivation' cannot be applied: the data carry no "
                              "catchment deprivation scores")
        from .context import adjust_for_context

        avg[ctx_rows] = adjust_for_context(avg[ctx_rows], data.context)[0]
    # segments and ranks: one call per (segmentation, override, peer set), on the trusts in the table
    out = {k: np.zeros((R, n), dtype=np.int64) for k in ("raw_segment", "segment", "rank")}
    out["average_2dp"] = np.full((R, n), np.nan)
    codes, first = _group_index(col["segmentation"], col["override"], col["peer_set"])
    for g, f in enumerate(first):
        r = np.flatnonzero(codes == g)
        t = np.flatnonzero(included[f])
        mv = _method_variant(meth, col["segmentation"][f], col["override"][f], res.delta)
        c = classify(avg[np.ix_(r, t)], data.in_deficit[t], data.intensive_support[t], mv)
        for k in ("raw_segment", "segment", "rank", "average_2dp"):
            out[k][np.ix_(r, t)] = c[k]
    out.update(average=avg, included=included, peer_set=col["peer_set"])
    return out


def _method_variant(method: Method, segmentation: str, override: str, delta: float) -> Method:
    seg = {"rule": "quartiles"} if segmentation == "quartiles" else {"rule": "cutoffs"}
    if segmentation in ("cutoffs_down", "cutoffs_up"):
        sign = -1.0 if segmentation == "cutoffs_down" else 1.0
        seg["cutoffs"] = [round(c + sign * delta, 10) for c in method.cutoffs]
    return method.replace(name=method.name, segmentation=seg, override={"enabled": override == "on"})


def _nominal_direct_average(data: SensitivityData) -> np.ndarray:
    if "a0" not in data._cache:
        p = scenario_params(data, baseline="direct")
        data._cache["a0"] = evaluate(data, p)["average"][0]
    return data._cache["a0"]


def _resolve_from_params(data: SensitivityData, params: pd.DataFrame) -> Resolved:
    """A minimal Resolved for evaluating a scenario table built elsewhere (parameters as given)."""
    spec = {c: {"values": sorted(set(params[c].astype(str)))} for c in CHOICE_ORDER}
    # the weights are in the table already: 'user' needs no mapping here
    spec["weights"]["values"] = [v for v in spec["weights"]["values"] if v != "user"] or ["nominal"]
    return resolve(ScenarioSpace("from-table", "", spec), data)


def nominal(data: SensitivityData) -> dict:
    """The nominal table (every choice at its method value) as ``(n,)`` arrays.

    >>> from nhs_league.methods import load_method
    >>> d = from_panel(example_panel(20, seed=1), load_method("nof-2025-26"))
    >>> sorted(nominal(d)["rank"].tolist())[:3]
    [1, 2, 3]
    """
    if "nominal" not in data._cache:
        out = evaluate(data, scenario_params(data))
        data._cache["nominal"] = {k: v[0] for k, v in out.items()}
    return data._cache["nominal"]


def scenario_table(data: SensitivityData, result: dict, r: int = 0) -> pd.DataFrame:
    """One scenario of an :func:`evaluate` result as a league table (published column names).

    Sorted like :func:`nhs_league.pipeline.league_table`: by rank, then trust code, unranked last.
    """
    t = pd.DataFrame({
        "Trust_code": data.trusts.index.to_numpy(),
        "Trust_name": data.trusts["trust_name"].to_numpy(),
        "Average_score_unrounded": np.round(result["average"][r], 6),
        "Average_score": result["average_2dp"][r],
        "Raw_segment": result["raw_segment"][r],
        "Segment": result["segment"][r],
        "Rank": result["rank"][r],
        "Data": DATA_LABEL[bool(data.synthetic)],
    })
    ranked = t["Rank"] > 0
    return pd.concat([t[ranked].sort_values(["Rank", "Trust_code"], kind="stable"),
                      t[~ranked].sort_values("Trust_code")]).reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Comparisons with the nominal table
# --------------------------------------------------------------------------------------------

def compare(data: SensitivityData, result: dict) -> dict:
    """Rank and segment changes of every scenario against the nominal table, ``(R, n)``.

    ``rank_change`` = scenario rank - nominal rank *among the same peers* (NaN where the
    trust is not in both tables); ``segment_change`` = +k worse / -k better (NaN likewise).
    """
    nom = nominal(data)
    R, n = result["rank"].shape
    ranked0 = nom["rank"] > 0
    inc = result["included"]
    # reference ranks: the nominal ranks re-ranked among the trusts of each peer set
    ref = np.full((R, n), np.nan)
    peers = result.get("peer_set", np.full(R, "all"))
    for p in np.unique(peers):
        rows = np.flatnonzero(peers == p)
        mask = inc[rows[0]] & ranked0
        ref[rows] = competition_rank(np.where(mask, nom["rank"].astype(float), np.nan))
    both = (result["rank"] > 0) & ~np.isnan(ref)
    rank_change = np.where(both, result["rank"] - np.nan_to_num(ref), np.nan)
    seg_ok = inc & (result["segment"] > 0) & (nom["segment"] > 0)[None, :]
    seg_change = np.where(seg_ok, (result["segment"] - nom["segment"][None, :]).astype(float), np.nan)
    return {"rank_change": rank_change, "segment_change": seg_change, "reference_rank": ref}


STAT_COLUMNS = ("mean_abs_rank_change", "share_moved_10", "share_segment_change",
                "trusts_changing_segment", "trusts_better_segment", "trusts_worse_segment",
                "max_abs_rank_change", "n_trusts")


def scenario_stats(cmp: dict) -> pd.DataFrame:
    """Per scenario: mean |rank change|, share moving >= 10 places, share changing segment, counts."""
    d = np.abs(cmp["rank_change"])
    s = cmp["segment_change"]
    have = ~np.isnan(d)
    k = have.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame({
            "mean_abs_rank_change": np.where(k > 0, np.nansum(d, axis=1) / k, np.nan),
            "share_moved_10": np.where(k > 0, (d >= MOVED_PLACES).sum(axis=1) / k, np.nan),
            "share_segment_change": np.where((~np.isnan(s)).sum(1) > 0,
                                             (np.nan_to_num(s) != 0).sum(1) / (~np.isnan(s)).sum(1), np.nan),
            "trusts_changing_segment": (np.nan_to_num(s) != 0).sum(1).astype(np.int64),
            "trusts_better_segment": (np.nan_to_num(s) < 0).sum(1).astype(np.int64),
            "trusts_worse_segment": (np.nan_to_num(s) > 0).sum(1).astype(np.int64),
            "max_abs_rank_change": np.where(k > 0, np.nanmax(np.where(have, d, -np.inf), axis=1), np.nan),
            "n_trusts": k.astype(np.int64),
        })
    return out


# --------------------------------------------------------------------------------------------
# Runs: Monte Carlo, one-at-a-time, Sobol
# --------------------------------------------------------------------------------------------

@dataclass
class SensitivityResult:
    """Scenarios, their parameters and outcomes. ``params`` has one row per scenario."""

    data: SensitivityData
    params: pd.DataFrame
    result: dict
    changes: dict
    space: str = ""
    seed: int | None = None
    notes: list = field(default_factory=list)

    @property
    def label(self) -> str:
        return DATA_LABEL[bool(self.data.synthetic)]

    def scenarios(self) -> pd.DataFrame:
        """The scenario table: parameters and per-scenario statistics (with a ``Data`` column)."""
        out = pd.concat([self.params.reset_index(drop=True), scenario_stats(self.changes)], axis=1)
        out["Data"] = self.label
        return out

    def trust_summary(self) -> pd.DataFrame:
        """Per trust: nominal rank and segment, median rank, 5-95% band, largest shift, P(segment change).

        Ranks are on the nominal table's scale: nominal rank + change (so a peer set without
        specialists does not move the others by the count of trusts removed).
        """
        return trust_summary(self.data, self.changes)

    def table_summary(self) -> pd.DataFrame:
        """Per table: mean, 5%, median and 95% over scenarios of each per-scenario statistic."""
        st = scenario_stats(self.changes)
        rows = []
        for c in ("mean_abs_rank_change", "share_moved_10", "share_segment_change", "trusts_changing_segment"):
            x = st[c].to_numpy(float)
            x = x[~np.isnan(x)]
            q = np.percentile(x, [5, 50, 95]) if len(x) else [np.nan] * 3
            rows.append({"statistic": c, "mean": float(np.mean(x)) if len(x) else np.nan,
                         "p05": q[0], "median": q[1], "p95": q[2], "n_scenarios": len(x)})
        t = pd.DataFrame(rows)
        t.insert(0, "space", self.space)
        t["seed"] = self.seed if self.seed is not None else pd.NA
        t["level"] = self.data.level
        t["method"] = self.data.method.label
        t["Data"] = self.label
        return t


def trust_summary(data: SensitivityData, changes: dict) -> pd.DataFrame:
    """Per-trust summary of the rank and segment changes of many scenarios (see SensitivityResult)."""
    nom = nominal(data)
    d = changes["rank_change"]
    s = changes["segment_change"]
    nom_rank = np.where(nom["rank"] > 0, nom["rank"].astype(float), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        q = np.nanpercentile(d, [5, 50, 95], axis=0) if len(d) else np.full((3, data.n), np.nan)
        have = (~np.isnan(s)).sum(0)
        largest = np.nanmax(np.abs(d), axis=0) if len(d) else np.full(data.n, np.nan)
        mean_abs = np.nanmean(np.abs(d), axis=0) if len(d) else np.full(data.n, np.nan)
        p_change = np.where(have > 0, (np.nan_to_num(s) != 0).sum(0) / np.maximum(have, 1), np.nan)
        p_better = np.where(have > 0, (np.nan_to_num(s) < 0).sum(0) / np.maximum(have, 1), np.nan)
        p_worse = np.where(have > 0, (np.nan_to_num(s) > 0).sum(0) / np.maximum(have, 1), np.nan)
    t = pd.DataFrame({
        "Trust_code": data.trusts.index.to_numpy(),
        "Trust_name": data.trusts["trust_name"].to_numpy(),
        "Trust_subtype": data.trusts["trust_subtype"].to_numpy(),
        "Nominal_average": nom["average_2dp"],
        "Nominal_segment": nom["segment"],
        "Nominal_rank": nom["rank"],
        "Median_rank": nom_rank + q[1],
        "Rank_p05": nom_rank + q[0],
        "Rank_p95": nom_rank + q[2],
        "Largest_shift": largest,
        "Mean_abs_shift": mean_abs,
        "P_segment_change": p_change,
        "P_better_segment": p_better,
        "P_worse_segment": p_worse,
        "N_scenarios": (~np.isnan(d)).sum(0).astype(np.int64),
        "Data": DATA_LABEL[bool(data.synthetic)],
    })
    ranked = t["Nominal_rank"] > 0
    return pd.concat([t[ranked].sort_values(["Nominal_rank", "Trust_code"], kind="stable"),
                      t[~ranked].sort_values("Trust_code")]).reset_index(drop=True)


def run_params(data: SensitivityData, params: pd.DataFrame, *, res: Resolved | None = None,
               space: str = "", seed=None, notes=None) -> SensitivityResult:
    """Evaluate a scenario table and compare it with the nominal table."""
    out = evaluate(data, params, res=res)
    return SensitivityResult(data, params, out, compare(data, out), space, seed, list(notes or []))


def _check_seed(seed) -> None:
    """A seed is a whole number >= 0 (or a numpy SeedSequence)."""
    if isinstance(seed, np.random.SeedSequence):
        return
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise MethodError(f"the seed must be a whole number, 0 or more, got {seed!r}")


def _check_n_base(n_base) -> None:
    if isinstance(n_base, bool) or not isinstance(n_base, (int, np.integer)) or n_base < 2 or (n_base & (n_base - 1)):
        raise MethodError(f"Sobol base sample size must be a power of 2 (e.g. 1024), got {n_base}")


def monte_carlo(data: SensitivityData, space="default", n: int = 10_000, *, seed: int = 0) -> SensitivityResult:
    """Monte Carlo over the combined choices of a scenario space, seeded.

    Each scenario draws every varying choice uniformly over its listed values (and a fresh
    weight draw for random weight schemes); ``result.params`` keeps every scenario's values.

    Examples
    --------
    >>> from nhs_league.methods import load_method
    >>> d = from_panel(example_panel(30, seed=1), load_method("nof-2025-26"))
    >>> mc = monte_carlo(d, "default", n=200, seed=3)
    >>> len(mc.params), list(mc.trust_summary().columns[:3])
    (200, ['Trust_code', 'Trust_name', 'Trust_subtype'])
    """
    _check_seed(seed)
    sp = load_space(space)
    res = resolve(sp, data)
    if n < 1:
        raise MethodError("the number of scenarios must be at least 1")
    ss = np.random.SeedSequence(seed)
    s_x, s_bank = ss.spawn(2)
    X = np.random.default_rng(s_x).random((n, len(res.factors)))
    bank = _weight_bank(data, res, n, s_bank)
    params = decode(X, res, data, bank, draws=np.arange(n))
    return run_params(data, params, res=res, space=sp.name, seed=seed, notes=data.notes + res.notes)


def one_at_a_time(data: SensitivityData, space="default", *, draws: int | None = None,
                  seed: int = 0) -> SensitivityResult:
    """Each alternative value of each choice with everything else nominal.

    Random weight schemes get ``draws`` scenarios (default: the space's ``oat_draws``, else 100).
    ``params`` gains the columns ``oat_choice`` and ``oat_value``.

    >>> from nhs_league.methods import load_method
    >>> d = from_panel(example_panel(30, seed=1), load_method("nof-2025-26"))
    >>> t = choice_summary(one_at_a_time(d, "default", draws=5))
    >>> t.loc[t["choice"] == "override", "value"].tolist()
    ['off']
    """
    _check_seed(seed)
    sp = load_space(space)
    res = resolve(sp, data)
    draws = int(draws if draws is not None else sp.settings.get("oat_draws", 100))
    if draws < 1:
        raise MethodError(f"the one-at-a-time draws per random weight scheme must be at least 1, got {draws}")
    rows_choice, rows_value, cols, draw_idx = [], [], {c: [] for c in CHOICE_ORDER}, []
    for name in CHOICE_ORDER:
        for v in res.values[name]:
            if v == res.nominal[name] and not (name == "weights" and v in RANDOM_SCHEMES):
                continue
            k = draws if (name == "weights" and v in RANDOM_SCHEMES) else 1
            for c in CHOICE_ORDER:
                cols[c] += [v if c == name else res.nominal[c]] * k
            rows_choice += [name] * k
            rows_value += [v] * k
            draw_idx += list(range(k))
    bank = _weight_bank(data, res, max(draws, 1), seed)
    params = _params_frame(data, res, cols, np.asarray(draw_idx, dtype=np.int64), bank)
    params.insert(1, "oat_choice", rows_choice)
    params.insert(2, "oat_value", rows_value)
    return run_params(data, params, res=res, space=sp.name, seed=seed, notes=data.notes + res.notes)


def choice_summary(oat: SensitivityResult) -> pd.DataFrame:
    """Per (choice, value) of a one-at-a-time run: the mean of each per-scenario statistic.

    Counts (trusts changing segment, ...) are means over the value's scenarios (one scenario
    unless the weights are random); ``max_abs_rank_change`` is the maximum.
    """
    st = scenario_stats(oat.changes)
    st["choice"] = oat.params["oat_choice"].to_numpy()
    st["value"] = oat.params["oat_value"].to_numpy()
    st["order"] = np.arange(len(st))
    g = st.groupby(["choice", "value"], sort=False)
    out = g.agg(order=("order", "min"), n_scenarios=("order", "size"),
                mean_abs_rank_change=("mean_abs_rank_change", "mean"),
                share_moved_10=("share_moved_10", "mean"),
                share_segment_change=("share_segment_change", "mean"),
                trusts_changing_segment=("trusts_changing_segment", "mean"),
                trusts_better_segment=("trusts_better_segment", "mean"),
                trusts_worse_segment=("trusts_worse_segment", "mean"),
                max_abs_rank_change=("max_abs_rank_change", "max"),
                n_trusts=("n_trusts", "mean")).reset_index()
    out = out.sort_values("order", kind="stable").drop(columns="order").reset_index(drop=True)
    out["Data"] = oat.label
    return out


def sobol_indices(func, names, bounds, n_base: int = 1024, *, seed: int = 0, second_order: bool = False,
                  num_resamples: int = 100, conf_level: float = 0.95) -> pd.DataFrame:
    """First-order and total Sobol' indices of ``func`` with confidence intervals (SALib).

    Samples ``n_base * (k + 2)`` points (Saltelli's scheme on a scrambled Sobol' sequence,
    ``SALib.sample.sobol``), evaluates ``func`` on the ``(N, k)`` array at once, and estimates
    the indices with ``SALib.analyze.sobol`` (bootstrap confidence intervals, seeded).

    Parameters
    ----------
    func : callable
        ``func(X) -> Y`` with X of shape ``(N, k)`` and Y of shape ``(N,)``.
    names : list of str
    bounds : list of (low, high)
    n_base : int
        Base sample size (a power of 2).

    Returns
    -------
    DataFrame indexed by factor name: ``S1``, ``S1_conf``, ``ST``, ``ST_conf`` (``conf`` is
    the half-width of the ``conf_level`` interval), ``S1_low/high``, ``ST_low/high``;
    ``attrs['n_evaluations']``.

    Examples
    --------
    >>> t = sobol_indices(lambda X: X[:, 0] + 0.0 * X[:, 1], ["a", "b"], [(0, 1), (0, 1)], 256)
    >>> round(float(t.loc["a", "S1"]), 2), round(float(t.loc["b", "ST"]), 2)
    (1.0, 0.0)
    """
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    _check_n_base(n_base)
    _check_seed(seed)
    problem = {"num_vars": len(names), "names": list(names), "bounds": [list(map(float, b)) for b in bounds]}
    X = sobol_sample.sample(problem, int(n_base), calc_second_order=second_order, seed=seed)
    Y = np.asarray(func(X), dtype=float).reshape(-1)
    if np.isnan(Y).any():
        raise MethodError("the output is missing (NaN) for some scenarios; Sobol indices need it everywhere")
    if np.var(Y) == 0:
        z = np.zeros(len(names))
        t = pd.DataFrame({"S1": z, "S1_conf": z, "ST": z, "ST_conf": z}, index=pd.Index(names, name="factor"))
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            # SALib seeds its bootstrap only for a truthy seed (0 would fall back to numpy's global
            # state): pass a non-zero seed derived from ours
            boot_seed = int(np.random.SeedSequence(seed).generate_state(1)[0]) or 1
            si = sobol_analyze.analyze(problem, Y, calc_second_order=second_order, num_resamples=num_resamples,
                                       conf_level=conf_level, seed=boot_seed)
        t = pd.DataFrame({k: np.asarray(si[k], float) for k in ("S1", "S1_conf", "ST", "ST_conf")},
                         index=pd.Index(names, name="factor"))
    for k in ("S1", "ST"):
        t[f"{k}_low"] = t[k] - t[f"{k}_conf"]
        t[f"{k}_high"] = t[k] + t[f"{k}_conf"]
    t.attrs.update(n_evaluations=len(Y), output_variance=float(np.var(Y)))
    return t


SOBOL_OUTPUTS = ("mean_abs_rank_change", "share_segment_change", "share_moved_10")


def sobol_analysis(data: SensitivityData, space="default", n_base: int = 1024, *, seed: int = 0,
                   output: str = "mean_abs_rank_change", num_resamples: int = 100,
                   conf_level: float = 0.95) -> pd.DataFrame:
    """Sobol' indices of each varying choice on a scalar output of the table.

    ``output`` is a per-scenario statistic (``mean_abs_rank_change``, ``share_segment_change``,
    ``share_moved_10``) or a trust code (that trust's rank on the nominal scale). Discrete
    choices are mapped from equal intervals of U(0, 1); the weights factor also picks a draw
    from a seeded bank of ``n_base`` random weight vectors.

    >>> from nhs_league.methods import load_method
    >>> d = from_panel(example_panel(30, seed=1), load_method("nof-2025-26"))
    >>> t = sobol_analysis(d, "default", 64, seed=1)
    >>> "override" in t["choice"].tolist()
    True
    """
    _check_n_base(n_base)
    _check_seed(seed)
    sp = load_space(space)
    res = resolve(sp, data)
    factors = res.factors
    if not factors:
        raise MethodError(f"scenario space {sp.name!r} varies no choice on these data")
    if output not in SOBOL_OUTPUTS and output not in set(data.trusts.index):
        raise MethodError(f"Sobol output must be one of {SOBOL_OUTPUTS} or a trust code, got {output!r}")
    bank = _weight_bank(data, res, n_base, np.random.SeedSequence(seed).spawn(2)[1])
    nom_rank = nominal(data)["rank"]

    def func(X):
        params = decode(X, res, data, bank)
        out = evaluate(data, params, res=res)
        cmp = compare(data, out)
        if output in SOBOL_OUTPUTS:
            return scenario_stats(cmp)[output].to_numpy(float)
        i = data.trusts.index.get_loc(output)
        return nom_rank[i] + cmp["rank_change"][:, i]

    t = sobol_indices(func, factors, [(0.0, 1.0)] * len(factors), n_base, seed=seed,
                      num_resamples=num_resamples, conf_level=conf_level)
    t = t.reset_index().rename(columns={"factor": "choice"})
    t["n_values"] = [len(res.values[c]) for c in factors]
    t["output"] = output
    t["n_base"] = n_base
    t["n_evaluations"] = t.attrs["n_evaluations"]
    t["Data"] = DATA_LABEL[bool(data.synthetic)]
    return t


# --------------------------------------------------------------------------------------------
# Concordance
# --------------------------------------------------------------------------------------------

def concordance(scores, *, min_n: int = 3) -> pd.DataFrame:
    """Spearman rank correlations of trusts' scores between every pair of columns.

    Pairwise-complete: each pair uses the trusts with both scores (re-ranked within them),
    and ``n`` says how many. Fewer than ``min_n`` pairs give NaN. Returns a long table
    (``a``, ``b``, ``spearman``, ``n``) over all pairs ``a != b`` in column order.

    Examples
    --------
    >>> t = concordance(pd.DataFrame({"x": [1., 2, 3, 4], "y": [2., 4, 6, 9], "z": [4., 3, np.nan, 1]}))
    >>> t.round(3).values.tolist()[:2]
    [['x', 'y', 1.0, 4], ['x', 'z', -1.0, 3]]
    """
    df = scores.score_frame() if isinstance(scores, SensitivityData) else pd.DataFrame(scores)
    rho = df.corr(method="spearman", min_periods=min_n)
    H = df.notna().to_numpy().astype(np.int64)
    n = pd.DataFrame(H.T @ H, index=df.columns, columns=df.columns)
    cols = list(df.columns)
    ia, ib = np.triu_indices(len(cols), k=1)
    out = pd.DataFrame({
        "a": [cols[i] for i in ia], "b": [cols[j] for j in ib],
        "spearman": rho.to_numpy()[ia, ib], "n": n.to_numpy()[ia, ib].astype(np.int64),
    })
    return out


def domain_concordance(data: SensitivityData) -> pd.DataFrame:
    """Spearman concordance between the five domains (nominal domain scores)."""
    if data.level == "domain":
        df = pd.DataFrame(data.domain_scores, index=data.trusts.index, columns=list(DOMAINS))
    else:
        from .pipeline import domain_scores
        df = pd.DataFrame(domain_scores(data.scores(data.nominal_scoring), data.column_domain),
                          index=data.trusts.index, columns=list(DOMAINS))
    return concordance(df)


__all__ = [
    "CHOICES", "CHOICE_ORDER", "Choice", "ScenarioSpace", "SensitivityData", "SensitivityResult",
    "available_spaces", "load_space", "choices_table", "from_panel", "from_domain_scores", "from_inputs",
    "implied_domain_weights", "example_panel", "resolve", "decode", "scenario_params", "evaluate",
    "nominal", "scenario_table", "compare", "scenario_stats", "trust_summary", "monte_carlo",
    "one_at_a_time", "choice_summary", "sobol_indices", "sobol_analysis", "concordance",
    "domain_concordance", "weight_columns",
]
