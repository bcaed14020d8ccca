"""Where rank uncertainty comes from: replicate league tables from three sources.

NHS England publishes no standard errors for the average metric score, so this module
builds them (statistics notes §1 and §3). Every source returns a :class:`Replicates`:
``R`` replicate league tables of one quarter and trust type, as arrays ``(R, n)`` of
average scores, segments and league ranks, plus the nominal (as-published) run.

Sources
-------
``sampling`` (:func:`sampling_replicates`)
    Sampling noise in each metric. A parametric bootstrap: each trust's value of each
    metric is redrawn from its sampling distribution — binomial for a proportion
    (``value = numerator / denominator * scale``), Poisson for a count or rate
    (``value = count / denominator * scale``), as the catalogue's ``distribution`` says —
    and the *whole* pipeline is re-run in every replicate with
    :func:`nhs_league.pipeline.compute`. The rank-based 1-4 scores are relative, so one
    trust's draw moves other trusts' scores. Metrics without a sampling model, without
    denominators, or whose score is taken as published stay fixed; the per-metric table
    :attr:`Replicates.resampled` says which metrics were redrawn. Where the data carry no
    denominators, a denominators table may be given; otherwise this source is
    unavailable (an :class:`~nhs_league.errors.InputError`), never invented.
``metrics`` (:func:`basket_bootstrap`)
    Choice of metrics ("basket" uncertainty): each trust's own scored metrics are
    resampled with replacement and the average, segment (with the override) and league
    rank recomputed. Trusts are resampled independently, so the covariance of their
    averages is diagonal.
``metrics-jackknife`` (:func:`basket_jackknife`)
    Leave one metric out at a time (for every trust at once: replicate ``j`` is the table
    without metric ``j``); gives the jackknife standard error of each trust's average and
    the range of league ranks over the leave-one-out tables.

The official ``Likely_range_of_average_score`` / ``Likely_range_of_rank`` columns, when a
league-table file carries them, are shown beside ours in :meth:`Replicates.summary`.

From the replicates: :meth:`Replicates.covariance` (for
:func:`nhs_league.ranks.rank_confidence_sets`), :meth:`~Replicates.summary` (percentile
rank intervals, median and expected rank, segment probabilities, the distance to the
nearest segment cut-off in standard errors), :meth:`~Replicates.rankability` (Lingsma et
al. 2009; van Dishoeck et al. 2011), :meth:`~Replicates.quarter_change` and
:meth:`~Replicates.headlines`. ``docs/uncertainty.md`` describes the methods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd

from .errors import InputError, MethodError
from .methods import QUANTILE_METHODS, Method, check_coverage, check_draws, load_method, read_preset
from .pipeline import DATA_LABEL, Panel, classify, compute, domain_weights
from .scoring import aggregate_scores, round_scores
from .segmentation import nanquantile, quartile_cutoffs

__all__ = [
    "SOURCES",
    "Replicates",
    "sampling_replicates",
    "sampling_values",
    "sampling_plan",
    "SamplingPlan",
    "basket_bootstrap",
    "basket_bootstrap_averages",
    "basket_jackknife",
    "domain_basket_averages",
    "domain_basket_bootstrap",
    "nhse_replicates",
    "nhse_likely_ranges",
    "load_likely_range_preset",
    "paired_quarter_change",
    "holm_adjust",
    "bh_adjust",
    "MULTIPLICITY",
    "rankability",
    "read_denominators",
    "ordinal",
]

# Every source, with the label shown beside each interval it produces.
SOURCES = {
    "sampling": "sampling noise (parametric bootstrap of numerators/denominators through the whole pipeline)",
    "metrics": "choice of metrics (bootstrap over each trust's metric scores)",
    "metrics-jackknife": "choice of metrics (leave one metric out)",
    "domains": "choice of domains (bootstrap over each trust's five published domain scores; domain-level data)",
    "nhse": ("NHS England's likely-range method, reproduced (percentile bootstrap over each trust's metric "
             "scores, all trusts resampled together, replicate tables re-segmented and re-ranked)"),
}
# Short labels for headlines.
SOURCE_SHORT = {
    "sampling": "sampling noise",
    "metrics": "metric-basket bootstrap",
    "metrics-jackknife": "leave-one-metric-out",
    "domains": "domain-basket bootstrap",
    "nhse": "NHS England's method, reproduced",
}
RANKABILITY_ESTIMATORS = ("hedges", "dersimonian-laird")
# Sampling models that the parametric bootstrap can redraw, and rules whose score is
# recomputed from the value (so that redrawing the value changes the score).
_MODELS = ("binomial", "poisson")
_VALUE_RULES = ("continuous", "finance_position")


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------
def ordinal(k) -> str:
    """``1st``, ``2nd``, ``3rd``, ``11th``, ``22nd``...

    >>> [ordinal(k) for k in (1, 2, 3, 4, 11, 12, 13, 21, 102)]
    ['1st', '2nd', '3rd', '4th', '11th', '12th', '13th', '21st', '102nd']
    """
    k = int(k)
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def _nan_ranks(rank: np.ndarray) -> np.ndarray:
    """League ranks with 0 (not ranked) as NaN."""
    r = np.asarray(rank, dtype=float)
    return np.where(r > 0, r, np.nan)


def _files(panel: Panel) -> str | None:
    files = sorted(set(panel.trusts["source_file"].astype(str))) if panel is not None else []
    return ", ".join(files) or None


# --------------------------------------------------------------------------------------
# The replicates
# --------------------------------------------------------------------------------------
@dataclass
class Replicates:
    """Replicate league tables of one quarter and trust type from one source of uncertainty.

    Attributes
    ----------
    source : str
        ``"sampling"``, ``"metrics"`` or ``"metrics-jackknife"`` (see :data:`SOURCES`).
    trust_codes : pandas.Index
        The trusts, in the panel's order (axis ``-1`` of every array).
    average : numpy.ndarray, shape (R, n)
        Unrounded average metric score in each replicate.
    segment, rank : numpy.ndarray, shape (R, n), int
        Adjusted segment (override and segment 5 applied) and league rank (0 = not ranked).
    nominal : dict
        The run on the data as given: ``average``, ``average_2dp``, ``segment``,
        ``rank`` (each ``(n,)``), as returned by :func:`nhs_league.pipeline.compute`.
    synthetic : bool
        True when computed from synthetic input (shown as ``SYNTHETIC``).
    resampled : pandas.DataFrame
        One row per scored metric: whether and how it was resampled.
    method : Method
        The method preset used in every replicate.
    kind : str
        ``"bootstrap"`` (replicates are draws) or ``"jackknife"`` (leave-one-out tables).
    independent : bool
        Trusts were resampled independently, so the covariance of their averages is
        diagonal by construction.
    affected : numpy.ndarray or None, shape (R, n), bool
        Jackknife only: replicate ``j`` removed one of trust ``i``'s own metrics.
    trust_names : numpy.ndarray
    panel : Panel or None
        The panel the replicates came from (used to rebuild them for another quarter).
    params : dict
        The arguments of the source function (draws, seed, ...).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> avg = np.array([[1.9, 2.5], [2.1, 2.7], [2.0, 2.6]])
    >>> r = Replicates("metrics", pd.Index(["A", "B"]), avg, np.array([[1, 3], [2, 3], [1, 3]]),
    ...                np.array([[1, 2], [1, 2], [1, 2]]),
    ...                {"average": np.array([2.0, 2.6]), "average_2dp": np.array([2.0, 2.6]),
    ...                 "segment": np.array([1, 3]), "rank": np.array([1, 2])})
    >>> r.se().round(3).tolist()
    [0.1, 0.1]
    """

    source: str
    trust_codes: pd.Index
    average: np.ndarray
    segment: np.ndarray
    rank: np.ndarray
    nominal: dict
    synthetic: bool = False
    resampled: pd.DataFrame | None = None
    method: Method | None = None
    kind: str = "bootstrap"
    independent: bool = False
    affected: np.ndarray | None = None
    trust_names: np.ndarray | None = None
    panel: Panel | None = field(default=None, repr=False)
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.source not in SOURCES:
            raise MethodError(f"unknown source of uncertainty {self.source!r}; expected one of {list(SOURCES)}")
        if self.kind not in ("bootstrap", "jackknife"):
            raise MethodError(f"kind must be 'bootstrap' or 'jackknife', got {self.kind!r}")
        self.trust_codes = pd.Index(self.trust_codes, name="trust_code")
        n = len(self.trust_codes)
        self.average = np.atleast_2d(np.asarray(self.average, dtype=float))
        self.segment = np.atleast_2d(np.asarray(self.segment, dtype=np.int64))
        self.rank = np.atleast_2d(np.asarray(self.rank, dtype=np.int64))
        for name in ("average", "segment", "rank"):
            a = getattr(self, name)
            if a.ndim != 2 or a.shape[1] != n or a.shape != self.average.shape:
                raise ValueError(f"{name} must have shape (R, {n}), got {a.shape}")
        if self.trust_names is None:
            self.trust_names = np.asarray(self.trust_codes, dtype=object)

    # ---- basic views -----------------------------------------------------------------
    @property
    def draws(self) -> int:
        """Number of replicates R."""
        return self.average.shape[0]

    @property
    def n(self) -> int:
        return len(self.trust_codes)

    @property
    def label(self) -> str:
        """What the intervals reflect, e.g. ``'choice of metrics (bootstrap over ...)'``."""
        return SOURCES[self.source]

    @property
    def data_label(self) -> str:
        return DATA_LABEL[bool(self.synthetic)]

    def _series(self, values, name) -> pd.Series:
        return pd.Series(values, index=self.trust_codes, name=name)

    def se(self) -> pd.Series:
        """Standard error of each trust's average score.

        Bootstrap: the standard deviation of the replicate averages (``ddof=1``).
        Jackknife: ``sqrt((k - 1) / k * sum_j (a_(j) - a_(.))^2)`` over the ``k``
        leave-one-out averages of the trust's own metrics (NaN for ``k < 2``).
        """
        a = self.average
        if self.kind == "jackknife":
            aff = self.affected if self.affected is not None else np.ones(a.shape, bool)
            k = aff.sum(axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = np.where(aff, a, 0.0).sum(axis=0) / k
                ss = np.where(aff, (a - mean) ** 2, 0.0).sum(axis=0)
                var = np.where(k >= 2, (k - 1) / k * ss, np.nan)
            return self._series(np.sqrt(var), "se")
        if self.draws < 2:
            return self._series(np.full(self.n, np.nan), "se")
        return self._series(np.std(a, axis=0, ddof=1), "se")

    def covariance(self, full: bool | None = None) -> pd.DataFrame:
        """Covariance of the trusts' average scores over the replicates, n x n.

        Parameters
        ----------
        full : bool, optional
            ``True``: the sample covariance of the replicate averages (``ddof=1``).
            ``False``: only its diagonal. Default: diagonal when trusts were resampled
            independently (``metrics`` sources: the off-diagonal terms are zero by
            construction and their estimates pure Monte Carlo noise), full otherwise
            (``sampling``: relative scoring correlates trusts). The jackknife gives the
            diagonal of its squared standard errors.

        Returns
        -------
        pandas.DataFrame
            Indexed and labelled by trust code; pass it to
            :func:`nhs_league.ranks.rank_confidence_sets` as ``cov``.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> r = Replicates("sampling", pd.Index(["A", "B"]), np.array([[1.0, 2.0], [2.0, 4.0]]),
        ...                np.ones((2, 2), int), np.array([[1, 2], [1, 2]]),
        ...                {"average": np.array([1.5, 3.0])})
        >>> r.covariance().to_numpy().tolist()
        [[0.5, 1.0], [1.0, 2.0]]
        """
        if self.kind == "jackknife":
            c = np.diag(self.se().to_numpy() ** 2)
        else:
            full = (not self.independent) if full is None else bool(full)
            if self.draws < 2:
                c = np.full((self.n, self.n), np.nan)
            elif full:
                c = np.atleast_2d(np.cov(self.average, rowvar=False, ddof=1))
            else:
                c = np.diag(np.var(self.average, axis=0, ddof=1))
        return pd.DataFrame(c, index=self.trust_codes, columns=self.trust_codes)

    # ---- per-trust summaries ---------------------------------------------------------
    def _reference_segment(self) -> tuple[np.ndarray, np.ndarray]:
        """The segment a change is measured from: published where a league file gave one."""
        ref = np.asarray(self.nominal["segment"], dtype=float).copy()
        src = np.full(self.n, "recomputed", dtype=object)
        pub = self.panel.published_league if self.panel is not None else None
        if pub is not None and "segment" in pub:
            p = pd.array(pub["segment"].reindex(self.trust_codes), dtype="Int64")
            have = ~np.asarray(p.isna(), dtype=bool)
            ref[have] = p[have].astype(float)
            src[have] = "published"
        return ref, src

    def segment_probabilities(self) -> pd.DataFrame:
        """Share of replicates in which each trust is in segment 1, 2, 3, 4 and 5.

        Rows sum to 1 for every trust that is ranked in every replicate.

        Raises
        ------
        MethodError
            For jackknife replicates, which are leave-one-out tables, not draws.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> seg = np.array([[1, 3], [2, 3], [1, 4], [1, 3]])
        >>> r = Replicates("metrics", pd.Index(["A", "B"]), np.ones((4, 2)), seg, np.ones((4, 2), int),
        ...                {"average": np.ones(2), "segment": np.array([1, 3])})
        >>> r.segment_probabilities()["P_segment_1"].tolist()
        [0.75, 0.0]
        """
        if self.kind == "jackknife":
            raise MethodError("segment probabilities need bootstrap replicates: jackknife (leave-one-metric-out) "
                              "tables are not draws from a distribution; use source 'metrics' or 'sampling'")
        p = (self.segment[..., None] == np.arange(1, 6)).mean(axis=0)
        return pd.DataFrame(p, index=self.trust_codes, columns=[f"P_segment_{k}" for k in range(1, 6)])

    def cutoffs(self) -> np.ndarray:
        """The segment cut-offs of the method: fixed, or the nominal quartiles of the averages.

        Replicates built without a method use the ``nof-2025-26`` preset's cut-offs.
        """
        m = self.method if self.method is not None else load_method("nof-2025-26")
        if m.settings["segmentation"]["rule"] == "cutoffs":
            return np.asarray(m.cutoffs, dtype=float)
        avg = np.asarray(self.nominal.get("average_2dp", self.nominal["average"]), dtype=float)
        return quartile_cutoffs(avg, method=m.settings["segmentation"]["quantile_method"])

    def cutoff_distance(self) -> pd.DataFrame:
        """Distance from each trust's nominal average to the nearest segment cut-off, in SEs.

        ``cutoff_distance_se = (average - nearest_cutoff) / se``: positive on the worse
        (higher) side of the cut-off, negative on the better side; ``|value| < 1``
        means the segment boundary lies within one standard error. ``average`` is the
        unrounded nominal average and ``se`` is :meth:`se`.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> r = Replicates("metrics", pd.Index(["A"]), np.array([[2.0], [2.2]]), np.ones((2, 1), int),
        ...                np.ones((2, 1), int), {"average": np.array([2.1])})
        >>> round(float(r.cutoff_distance()["cutoff_distance_se"].iloc[0]), 4)   # (2.1 - 2.06) / 0.1414
        0.2828
        """
        avg = np.asarray(self.nominal["average"], dtype=float)
        cut = self.cutoffs()
        j = np.argmin(np.abs(avg[:, None] - cut[None, :]), axis=1)
        nearest = np.where(np.isnan(avg), np.nan, cut[j])
        se = self.se().to_numpy()
        d = avg - nearest
        with np.errstate(invalid="ignore", divide="ignore"):
            z = np.where(se > 0, d / np.where(se > 0, se, 1.0), np.where(d == 0, 0.0, np.sign(d) * np.inf))
        z = np.where(np.isnan(se) | np.isnan(avg), np.nan, z)
        return pd.DataFrame({"nearest_cutoff": nearest, "cutoff_distance_se": z}, index=self.trust_codes)

    def summary(self, coverage: float = 0.9) -> pd.DataFrame:
        """Per-trust summary of the replicates.

        Parameters
        ----------
        coverage : float, default 0.9
            Central share of the replicates inside the percentile intervals (0.9 gives the
            5th-95th percentiles). Percentiles use the ``inverted_cdf`` definition, so rank
            bounds are whole ranks that occurred.

        Returns
        -------
        pandas.DataFrame
            Indexed by trust code. Bootstrap columns: ``trust_name``, ``average``
            (nominal, unrounded), ``average_2dp``, ``se``, ``average_low``,
            ``average_high``, ``segment``, ``rank`` (nominal league rank), ``rank_low``,
            ``rank_high``, ``rank_median``, ``rank_mean`` (expected rank), ``P_segment_1``
            ... ``P_segment_5``, ``reference_segment`` (published where given, else
            recomputed) and ``reference_source``, ``P_other_segment`` (a segment other
            than the reference), ``nearest_cutoff``, ``cutoff_distance_se``, then the
            published rank/segment and the official likely ranges when the input had them,
            then ``coverage``, ``source``, ``data``. Jackknife: ``rank_low``/``rank_high``
            are the least and greatest rank over the leave-one-out tables and
            ``n_segment_changes`` counts the single-metric removals that change the
            segment (no probabilities).

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> avg = np.array([[1.9, 2.5], [2.1, 2.7], [2.0, 2.6]])
        >>> r = Replicates("metrics", pd.Index(["A", "B"]), avg, np.array([[1, 3], [2, 3], [1, 3]]),
        ...                np.array([[1, 2], [1, 2], [1, 2]]),
        ...                {"average": np.array([2.0, 2.6]), "average_2dp": np.array([2.0, 2.6]),
        ...                 "segment": np.array([1, 3]), "rank": np.array([1, 2])})
        >>> r.summary()[["rank", "rank_low", "rank_high", "P_other_segment"]].round(3)  # doctest: +NORMALIZE_WHITESPACE
                    rank  rank_low  rank_high  P_other_segment
        trust_code
        A              1       1.0        1.0            0.333
        B              2       2.0        2.0            0.000
        """
        coverage = check_coverage(coverage)
        # the summary of a set of replicates is asked for several times per report (headline,
        # positions, trend): computed once per coverage, each caller gets its own copy
        cache = self.__dict__.setdefault("_summaries", {})
        if coverage not in cache:
            cache[coverage] = self._summary(coverage)
        return cache[coverage].copy()

    def _summary(self, coverage: float) -> pd.DataFrame:
        lo_q, hi_q = (1 - coverage) / 2, 1 - (1 - coverage) / 2
        nom = self.nominal
        avg = np.asarray(nom["average"], dtype=float)
        out = pd.DataFrame(index=self.trust_codes)
        out["trust_name"] = self.trust_names
        out["average"] = avg
        out["average_2dp"] = np.asarray(nom.get("average_2dp", np.round(avg, 2)), dtype=float)
        out["se"] = self.se().to_numpy()
        seg_nom = np.asarray(nom.get("segment", np.zeros(self.n)), dtype=np.int64)
        out["segment"] = seg_nom
        out["rank"] = np.asarray(nom.get("rank", np.zeros(self.n)), dtype=np.int64)
        ranks = _nan_ranks(self.rank)
        all_nan = np.isnan(ranks).all(axis=0)
        filled = np.where(all_nan, 0.0, ranks)  # keeps nan-quantiles quiet; restored below
        if self.kind == "jackknife":
            out["rank_low"] = np.where(all_nan, np.nan, np.nanmin(filled, axis=0))
            out["rank_high"] = np.where(all_nan, np.nan, np.nanmax(filled, axis=0))
            out["n_segment_changes"] = (self.segment != seg_nom).sum(axis=0).astype(np.int64)
        else:
            a_ok = ~np.isnan(self.average).all(axis=0)
            a = np.where(a_ok, self.average, 0.0)
            qa = nanquantile(a, [lo_q, hi_q], axis=0)
            out["average_low"] = np.where(a_ok, qa[0], np.nan)
            out["average_high"] = np.where(a_ok, qa[1], np.nan)
            q = nanquantile(filled, [lo_q, 0.5, hi_q], axis=0, method="inverted_cdf")
            out["rank_low"] = np.where(all_nan, np.nan, q[0])
            out["rank_high"] = np.where(all_nan, np.nan, q[2])
            out["rank_median"] = np.where(all_nan, np.nan, q[1])
            out["rank_mean"] = np.where(all_nan, np.nan, np.nanmean(filled, axis=0))
            probs = self.segment_probabilities()
            for c in probs.columns:
                out[c] = probs[c].to_numpy()
            ref, src = self._reference_segment()
            out["reference_segment"] = pd.array(np.where(ref > 0, ref, np.nan), dtype="Int64")
            out["reference_source"] = src
            other = (self.segment != ref[None, :]).mean(axis=0)
            out["P_other_segment"] = np.where(ref > 0, other, np.nan)
        cd = self.cutoff_distance()
        out["nearest_cutoff"] = cd["nearest_cutoff"].to_numpy()
        out["cutoff_distance_se"] = cd["cutoff_distance_se"].to_numpy()
        for k, v in self.published().items():
            out[k] = v
        out["coverage"] = coverage
        out["source"] = self.source
        out["data"] = self.data_label
        return out

    def published(self) -> dict:
        """Published rank and segment, and the official likely ranges, where the input has them.

        Returns a dict of column name -> array (aligned to :attr:`trust_codes`); empty when
        the panel has no league-table rows. Likely-range columns appear only when at least
        one trust has a value.
        """
        pub = self.panel.published_league if self.panel is not None else None
        if pub is None:
            return {}
        pub = pub.reindex(self.trust_codes)
        out = {}
        for src, dst, dtype in [("rank", "published_rank", "Int64"), ("segment", "published_segment", "Int64"),
                                ("average_range_low", "likely_range_average_low", float),
                                ("average_range_high", "likely_range_average_high", float),
                                ("rank_range_low", "likely_range_rank_low", "Int64"),
                                ("rank_range_high", "likely_range_rank_high", "Int64")]:
            if src not in pub:
                continue
            col = pd.array(pub[src].to_numpy(), dtype=dtype) if dtype == "Int64" else pub[src].to_numpy(dtype=float)
            present = ~np.asarray(pd.isna(col), dtype=bool)
            if dst.startswith("published") or present.any():
                out[dst] = col
        return out

    def rankability(self, *, estimator: str = "hedges") -> pd.Series:
        """Rankability of the table under this source: see :func:`rankability`."""
        return rankability(pd.Series(np.asarray(self.nominal["average"], dtype=float), index=self.trust_codes),
                           self.se(), estimator=estimator)

    def cap_boundary(self):
        """The average below which a trust is in a segment better than the deficit cap.

        Returns a number (fixed cut-offs: the cut-off between segments ``cap - 1`` and
        ``cap`` plus half a unit of the published rounding, since segments are taken from
        the 2-dp average) or a function of the averages (quartile rule: their
        ``(cap - 1) / 4`` quantile, which rises with every average), or None when the
        override cannot move anyone (switched off, or cap 1).
        """
        m = self.method if self.method is not None else load_method("nof-2025-26")
        o = m.settings["override"]
        cap = int(o.get("cap", 3))
        if not o.get("enabled", True) or cap < 2:
            return None
        half = 0.5 * 10.0 ** -m.decimals
        seg = m.settings["segmentation"]
        if seg["rule"] == "cutoffs":
            return float(m.cutoffs[cap - 2]) + half
        qm = seg["quantile_method"]
        return lambda x: float(np.quantile(np.asarray(x, dtype=float), (cap - 1) / 4, method=qm)) + half

    def league_sets(self, coverage: float = 0.95, *, draws: int = 1000, seed=0):
        """Confidence sets for the *league* rank (:func:`nhs_league.ranks.league_rank_sets`).

        From the nominal (unrounded) averages and :meth:`covariance`, with the deficit flags
        fixed and segment-5 trusts last. Trusts without an average or a league rank are left
        out (``table`` is indexed by the rest).
        """
        from dataclasses import replace

        # asked for twice per report (positions, rank sets) with the same arguments: computed once,
        # each caller gets its own copy of the frames (as with summary)
        whole = (int, np.integer)
        if not (isinstance(draws, whole) and isinstance(seed, whole)) or isinstance(seed, bool):
            return self._league_sets(coverage, draws=draws, seed=seed)  # e.g. a Generator: its draws move on
        key = (check_coverage(coverage), int(draws), int(seed))
        cache = self.__dict__.setdefault("_league_sets_cache", {})
        if key not in cache:
            cache[key] = self._league_sets(coverage, draws=draws, seed=seed)
        sets = cache[key]
        return replace(sets, table=sets.table.copy(), ahead=sets.ahead.copy())

    def _league_sets(self, coverage: float, *, draws: int, seed):
        from .ranks import league_rank_sets

        avg = np.asarray(self.nominal["average"], dtype=float)
        rank = np.asarray(self.nominal.get("rank", np.ones(self.n)), dtype=np.int64)
        ok = np.isfinite(avg) & (rank > 0)
        est = pd.Series(avg[ok], index=self.trust_codes[ok])
        cov = self.covariance().loc[est.index, est.index]
        deficit = np.asarray(self.nominal.get("in_deficit", np.zeros(self.n, bool)), dtype=bool)[ok]
        last = (np.asarray(self.nominal.get("segment", np.zeros(self.n)), dtype=np.int64) == 5)[ok]
        t = self.cap_boundary()
        if t is None:
            deficit, t = np.zeros(len(est), bool), np.inf
        return league_rank_sets(est, cov, in_deficit=deficit, cap_cutoff=t, last=last, coverage=coverage,
                                draws=draws, seed=seed)

    def headlines(self, coverage: float = 0.95, *, league=None, nhse=None) -> pd.Series:
        """One line per trust that says what each interval is, e.g. ``"published 26th of 134
        (segment 3, capped by the deficit rule); 95% confidence set for its league rank
        12th–51st (metric basket); NHS England's likely range 20th–35th (bootstrap range); 38%
        chance of a different segment"``.

        The rank named first is the published league rank where a league-table file gave
        one, else the recomputed one. ``league`` is :meth:`league_sets` at ``coverage``
        (computed when not given). NHS England's likely range is the published one where the
        league-table file has it, else ``nhse`` (a :func:`nhse_likely_ranges` table, marked
        "reproduced"). Percentile ranges of the rank are bootstrap ranges and never appear
        here. Jackknife replicates give the leave-one-metric-out rank range instead.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> r = Replicates("metrics", pd.Index(["A"]), np.array([[2.0], [2.1], [2.2], [2.3]]),
        ...                np.array([[1], [2], [2], [1]]), np.array([[1], [1], [1], [1]]),
        ...                {"average": np.array([2.0]), "segment": np.array([1]), "rank": np.array([1])})
        >>> r.headlines(0.5).iloc[0]
        'recomputed 1st of 1 (segment 1); 50% confidence set for its league rank 1st–1st (metric basket); 50% chance of a different segment'
        """
        s = self.summary(coverage if self.kind == "bootstrap" else 0.9)
        n_ranked = int((s["rank"] > 0).sum())
        pub = s["published_rank"] if "published_rank" in s else pd.Series(pd.NA, index=s.index)
        pub_seg = s["published_segment"] if "published_segment" in s else pd.Series(pd.NA, index=s.index)
        raw = self.nominal.get("raw_segment")
        raw = pd.Series(np.asarray(raw) if raw is not None else s["segment"].to_numpy(), index=s.index)
        deficit = pd.Series(np.asarray(self.nominal.get("in_deficit", np.zeros(self.n, bool)), dtype=bool),
                            index=s.index)
        if self.kind == "bootstrap" and league is None and n_ranked > 0:
            try:
                league = self.league_sets(coverage)
            except ValueError:  # e.g. fewer than two replicates: no covariance, so no confidence set
                league = None
        sets = league.table if league is not None else None
        pct = f"{coverage * 100:g}%"
        basket = {"metrics": "metric basket", "nhse": "metric basket", "sampling": "sampling noise",
                  "domains": "domain basket"}
        lines = []
        for code, row in s.iterrows():  # formatting only: one string per trust
            p = pub.loc[code]
            seg = pub_seg.loc[code] if not pd.isna(pub_seg.loc[code]) else row["segment"]
            if not pd.isna(p) and int(p) > 0:
                head = f"published {ordinal(p)} of {n_ranked}"
            elif row["rank"] > 0:
                head = f"recomputed {ordinal(row['rank'])} of {n_ranked}"
            else:
                lines.append("not ranked")
                continue
            capped = bool(deficit.loc[code]) and int(raw.loc[code]) < int(row["segment"])
            head += f" (segment {int(seg)}{', capped by the deficit rule' if capped else ''})"
            if self.kind == "jackknife":
                lines.append(f"{head}; rank {ordinal(row['rank_low'])}–{ordinal(row['rank_high'])} when any one "
                             f"metric is left out; segment changes in {row['n_segment_changes']} of those tables")
                continue
            parts = [head]
            if sets is not None and code in sets.index:
                parts.append(f"{pct} confidence set for its league rank {ordinal(sets.at[code, 'lower'])}–"
                             f"{ordinal(sets.at[code, 'upper'])} ({basket[self.source]})")
            lo, hi = row.get("likely_range_rank_low", pd.NA), row.get("likely_range_rank_high", pd.NA)
            if not (pd.isna(lo) or pd.isna(hi)):
                parts.append(f"NHS England's likely range {ordinal(lo)}–{ordinal(hi)} (bootstrap range)")
            elif nhse is not None and code in nhse.index and not pd.isna(nhse.at[code, "NHSE_range_rank_low"]):
                parts.append(f"NHS England's likely range (reproduced) {ordinal(nhse.at[code, 'NHSE_range_rank_low'])}"
                             f"–{ordinal(nhse.at[code, 'NHSE_range_rank_high'])} (bootstrap range)")
            parts.append(f"{row['P_other_segment']:.0%} chance of a different segment")
            lines.append("; ".join(parts))
        return pd.Series(lines, index=s.index, name="headline", dtype=object)

    # ---- across quarters -------------------------------------------------------------
    def rebuild(self, panel: Panel) -> "Replicates":
        """The same source, method and settings applied to another panel (e.g. another quarter)."""
        fn = {"sampling": sampling_replicates, "metrics": basket_bootstrap,
              "metrics-jackknife": basket_jackknife, "nhse": nhse_replicates}[self.source]
        if self.method is None:
            raise MethodError("these replicates carry no method: pass Replicates for the other quarter instead")
        if "scores" in self.params:
            raise MethodError("these replicates resample a given score matrix, which belongs to one panel: pass "
                              "Replicates for the other quarter instead")
        return fn(panel, self.method, **self.params)

    def quarter_change(self, previous, *, coverage: float = 0.95) -> pd.DataFrame:
        """Is each trust's change in average score since ``previous`` larger than its noise?

        ``z = (a_now - a_before) / sqrt(se_now^2 + se_before^2)`` with the standard errors
        of each quarter's replicates, treating the two quarters' errors as independent. A
        change is called ``"worse"`` (the average rose; lower is better) or ``"better"``
        when ``|z|`` exceeds the two-sided normal critical value at ``coverage``, else
        ``"within noise"``. Trusts are matched by code; trusts in only one quarter are
        listed in ``result.attrs["unmatched"]``.

        Parameters
        ----------
        previous : Replicates or Panel
            The earlier quarter; a Panel is turned into replicates with this object's
            source, method and settings (:meth:`rebuild`).
        coverage : float, default 0.95

        Returns
        -------
        pandas.DataFrame
            Indexed by trust code (this quarter's order): ``trust_name``,
            ``average_before``, ``average``, ``change``, ``se_before``, ``se``, ``z``,
            ``verdict``, ``coverage``.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> def reps(avg, spread):
        ...     a = np.array([avg - spread, avg + spread])
        ...     return Replicates("metrics", pd.Index(["A", "B"]), a, np.ones((2, 2), int),
        ...                       np.ones((2, 2), int), {"average": np.asarray(avg)})
        >>> before = reps(np.array([2.0, 2.0]), np.array([0.01, 0.3]))
        >>> now = reps(np.array([2.3, 2.3]), np.array([0.01, 0.3]))
        >>> now.quarter_change(before)["verdict"].tolist()
        ['worse', 'within noise']
        """
        coverage = check_coverage(coverage)
        prev = previous if isinstance(previous, Replicates) else self.rebuild(previous)
        codes = self.trust_codes[self.trust_codes.isin(prev.trust_codes)]
        unmatched = sorted(set(self.trust_codes) ^ set(prev.trust_codes))
        here = pd.Series(np.asarray(self.nominal["average"], float), index=self.trust_codes).reindex(codes)
        there = pd.Series(np.asarray(prev.nominal["average"], float), index=prev.trust_codes).reindex(codes)
        se_now = self.se().reindex(codes).to_numpy()
        se_before = prev.se().reindex(codes).to_numpy()
        d = here.to_numpy() - there.to_numpy()
        sd = np.sqrt(se_now ** 2 + se_before ** 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            z = np.where(sd > 0, d / np.where(sd > 0, sd, 1.0), np.where(d == 0, 0.0, np.sign(d) * np.inf))
        z = np.where(np.isnan(sd) | np.isnan(d), np.nan, z)
        crit = NormalDist().inv_cdf(1 - (1 - coverage) / 2)
        verdict = np.where(np.isnan(z), "unknown",
                           np.where(np.abs(z) > crit, np.where(d > 0, "worse", "better"), "within noise"))
        names = pd.Series(self.trust_names, index=self.trust_codes).reindex(codes)
        out = pd.DataFrame({"trust_name": names.to_numpy(), "average_before": there.to_numpy(),
                            "average": here.to_numpy(), "change": d, "se_before": se_before, "se": se_now,
                            "z": z, "verdict": verdict.astype(object), "coverage": coverage},
                           index=pd.Index(codes, name="trust_code"))
        out.attrs["unmatched"] = unmatched
        return out


# --------------------------------------------------------------------------------------
# Rankability
# --------------------------------------------------------------------------------------
def rankability(estimates, se, *, estimator: str = "hedges") -> pd.Series:
    """Rankability ρ = τ² / (τ² + median σ²_j): the share of the spread that is real.

    Lingsma et al. (2009) and van Dishoeck et al. (2011) define rankability as the share of
    the variation between units not due to chance, with τ² the between-unit variance of
    the true values and σ²_j unit j's sampling (here: replicate) variance. τ² is
    estimated net of noise by the method of moments:

    * ``"hedges"`` (default; unweighted):
      ``τ² = max(0, s²(θ̂) − mean σ²_j)``, ``s²`` the sample variance (ddof=1) of the
      estimates. Robust to zero or tiny σ_j.
    * ``"dersimonian-laird"`` (inverse-variance weighted):
      ``τ² = max(0, (Q − (k − 1)) / (Σw − Σw²/Σw))``, ``w = 1/σ²``,
      ``Q = Σ w (θ̂ − θ̄_w)²``; needs every σ_j > 0.

    Units with a missing estimate or standard error are left out.

    Returns
    -------
    pandas.Series
        ``rho``, ``tau2``, ``median_sigma2``, ``n`` (units used), ``estimator``.
        ``rho`` is 1 when every σ_j is 0 and the estimates differ; NaN with fewer
        than two units or when both τ² and σ² are 0.

    Examples
    --------
    >>> r = rankability([1.0, 2.0, 3.0, 4.0], [0.5, 0.5, 0.5, 0.5])
    >>> round(float(r["tau2"]), 4), round(float(r["rho"]), 4)   # s² = 1.6667; 1.6667 - 0.25
    (1.4167, 0.85)
    """
    if estimator not in RANKABILITY_ESTIMATORS:
        raise MethodError(f"rankability estimator {estimator!r}: expected one of {RANKABILITY_ESTIMATORS}")
    th = np.asarray(estimates, dtype=float).ravel()
    s = np.asarray(se, dtype=float).ravel()
    if th.shape != s.shape:
        raise ValueError(f"estimates ({th.size}) and se ({s.size}) differ in length")
    if np.any(s < 0):
        raise ValueError("se contains negative standard errors")
    ok = np.isfinite(th) & np.isfinite(s)
    th, s2 = th[ok], s[ok] ** 2
    k = len(th)
    if k < 2:
        return pd.Series({"rho": np.nan, "tau2": np.nan, "median_sigma2": np.nan, "n": k, "estimator": estimator})
    if estimator == "hedges":
        tau2 = max(0.0, float(np.var(th, ddof=1) - s2.mean()))
    else:
        if np.any(s2 <= 0):
            raise MethodError("the DerSimonian-Laird rankability estimator needs every standard error > 0; "
                              "use estimator='hedges'")
        w = 1.0 / s2
        mean_w = (w * th).sum() / w.sum()
        q = float((w * (th - mean_w) ** 2).sum())
        tau2 = max(0.0, (q - (k - 1)) / float(w.sum() - (w ** 2).sum() / w.sum()))
    med = float(np.median(s2))
    denom = tau2 + med
    rho = tau2 / denom if denom > 0 else np.nan
    return pd.Series({"rho": rho, "tau2": tau2, "median_sigma2": med, "n": k, "estimator": estimator})


# --------------------------------------------------------------------------------------
# Source 1: sampling noise
# --------------------------------------------------------------------------------------
def read_denominators(path) -> pd.DataFrame:
    """Read a denominators table: a CSV with ``Trust_code``, ``Metric_ID``, ``Denominator``.

    Returns the wide table (index trust code, columns metric ID) that
    :func:`sampling_replicates` takes as ``denominators``.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "den.csv")
    >>> _ = open(p, "w").write("Trust_code,Metric_ID,Denominator\\nR1,OF0023,1200\\nR2,OF0023,900\\n")
    >>> read_denominators(p)["OF0023"].tolist()
    [1200.0, 900.0]
    """
    from .guards import MAX_MAGNITUDE, THOUSANDS
    from .io import read_raw_csv, row_of

    raw = read_raw_csv(path)
    missing = [c for c in ("Trust_code", "Metric_ID", "Denominator") if c not in raw.columns]
    if missing:
        raise InputError(f"a denominators table needs the column '{missing[0]}' (columns: Trust_code, "
                         "Metric_ID, Denominator)", file=path, row=1, column=missing[0])
    text = raw["Denominator"].where(~raw["Denominator"].str.contains(",", regex=False)
                                    | raw["Denominator"].str.fullmatch(THOUSANDS), "not a number")
    den = pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce")
    bad = den.isna() | ~(den > 0) | ~(den <= MAX_MAGNITUDE)  # also inf, 1e309, a decimal comma
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"a denominator must be a positive number, got {raw['Denominator'].iloc[i]!r}",
                         file=path, row=row_of(raw, i), column="Denominator")
    long = pd.DataFrame({"trust_code": raw["Trust_code"], "metric_id": raw["Metric_ID"].str.upper(),
                         "denominator": den.to_numpy(dtype=float)})
    dup = long.duplicated(["trust_code", "metric_id"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(f"duplicate denominator for trust {long['trust_code'].iloc[i]} and metric "
                         f"{long['metric_id'].iloc[i]}", file=path, row=row_of(raw, i), column="Trust_code")
    wide = long.pivot(index="trust_code", columns="metric_id", values="denominator")
    wide.columns.name = None
    return wide


def _denominator_table(panel: Panel, denominators) -> np.ndarray:
    """Align a user's denominators table (trust code x metric ID) to the panel, (n, m)."""
    out = np.full(panel.values.shape, np.nan)
    if denominators is None:
        return out
    if not isinstance(denominators, pd.DataFrame):
        raise InputError("denominators must be a table (pandas DataFrame): rows trust codes, columns Metric_IDs")
    try:
        t = denominators.apply(pd.to_numeric, errors="raise").astype(float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"the denominators table holds a value that is not a number ({exc})") from None
    t.index = t.index.astype(str)
    if not t.index.is_unique:
        raise InputError(f"the denominators table lists trust {t.index[t.index.duplicated()][0]} twice")
    rows, cols = panel.trusts.index.isin(t.index), pd.Index(panel.metric_ids).isin(t.columns)
    if not rows.any() or not cols.any():
        raise InputError(f"the denominators table shares no trust and metric with the "
                         f"{panel.trust_type} panel of {panel.quarter} (trusts e.g. {list(t.index[:3])}, "
                         f"metrics {list(t.columns[:5])})")
    aligned = t.reindex(index=panel.trusts.index, columns=panel.metric_ids).to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        bad = aligned <= 0
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise InputError(f"the denominators table gives trust {panel.trusts.index[i]} a non-positive "
                         f"denominator for {panel.metric_ids[j]}")
    return aligned


@dataclass
class SamplingPlan:
    """What the parametric bootstrap redraws: see :func:`sampling_plan`."""

    table: pd.DataFrame  # per metric
    binomial: np.ndarray  # (n, m) bool: redraw as binomial
    poisson: np.ndarray  # (n, m) bool: redraw as Poisson
    count: np.ndarray  # (n, m) numerator (successes / events)
    denominator: np.ndarray  # (n, m)
    scale: np.ndarray  # (m,)

    @property
    def n_resampled(self) -> int:
        return int(self.binomial.sum() + self.poisson.sum())


def sampling_plan(panel: Panel, method, denominators=None) -> SamplingPlan:
    """Decide, metric by metric and trust by trust, what the sampling bootstrap redraws.

    A cell (trust, metric) is redrawn when the catalogue gives the metric a sampling
    model (``binomial`` or ``poisson``), its score is recomputed from the value (rule
    ``continuous`` or ``finance_position`` and not replaced by a published score), the
    value is present, and a denominator is known — from the data file's ``Denominator``
    column, else from ``denominators``. The numerator is the file's ``Numerator``, else
    ``value / scale * denominator``.

    Returns
    -------
    SamplingPlan
        ``table`` has one row per scored metric: ``metric_id``, ``name``, ``rule``,
        ``distribution``, ``scale``, ``n_values``, ``n_resampled``,
        ``n_denominators_from_file``, ``n_denominators_from_table``, ``resampled``
        (bool: at least one trust redrawn) and ``status`` (why not, or how much).

    Raises
    ------
    InputError
        A binomial numerator outside [0, denominator]; a malformed denominators table.

    Examples
    --------
    >>> from nhs_league.pipeline import Panel
    >>> from nhs_league.catalogue import load_catalogue
    >>> trusts = pd.DataFrame({"trust_name": ["A", "B"], "trust_subtype": "", "region": "",
    ...                        "source_file": "x.csv", "source_row": [2, 3]},
    ...                       index=pd.Index(["R1", "R2"], name="trust_code"))
    >>> v = np.array([[50.0, 3.0], [60.0, 4.0]])
    >>> p = Panel("2025Q3", "acute", trusts, load_catalogue().loc[["OF0023", "OF0061"]], v, v * np.nan,
    ...           np.array([[5.0, np.nan], [np.nan, np.nan]]), np.array([[10.0, np.nan], [np.nan, np.nan]]),
    ...           {}, pd.array([pd.NA] * 2, dtype="boolean"), np.zeros(2, bool))
    >>> sampling_plan(p, "nof-2025-26").table[["metric_id", "n_resampled", "status"]].values.tolist()
    [['OF0023', 1, 'partly resampled: 1 of 2 trusts have no denominator and stay fixed'], ['OF0061', 0, 'fixed: no sampling model in the catalogue (distribution none)']]
    """
    method = load_method(method)
    n, m = panel.values.shape
    meta = panel.metrics
    dist = meta["distribution"].to_numpy(dtype=object)
    rules = meta["rule"].to_numpy(dtype=object)
    scale = meta["scale"].to_numpy(dtype=float)
    scale = np.where(np.isnan(scale), 1.0, scale)
    pub_mode = method.settings["scoring"]["published_scores"]
    value_rule = np.isin(rules, _VALUE_RULES)
    published_used = ~np.isnan(panel.published) & (
        (pub_mode == "prefer_published") | ((pub_mode == "where_no_rule") & (rules == "published"))[None, :])
    if pub_mode == "never":
        published_used = np.zeros((n, m), bool)
    have_value = ~np.isnan(panel.values)
    den_file = np.where(panel.denominators > 0, panel.denominators, np.nan)
    den_user = _denominator_table(panel, denominators)
    from_file = ~np.isnan(den_file)
    from_table = ~from_file & ~np.isnan(den_user)
    den = np.where(from_file, den_file, den_user)
    modelled = np.isin(dist, _MODELS)[None, :] & value_rule[None, :]
    redraw = modelled & have_value & ~np.isnan(den) & ~published_used
    with np.errstate(invalid="ignore", divide="ignore"):
        count = np.where(~np.isnan(panel.numerators) & from_file, panel.numerators, panel.values / scale * den)
    binom = redraw & (dist == "binomial")[None, :]
    pois = redraw & (dist == "poisson")[None, :]
    with np.errstate(invalid="ignore"):
        bad = binom & ((count < -1e-9) | (count > den + 1e-9))
        bad |= pois & (count < -1e-9)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        t = panel.trusts.iloc[i]
        raise InputError(f"metric {panel.metric_ids[j]} of trust {panel.trusts.index[i]}: numerator {count[i, j]:g} "
                         f"is impossible for a {dist[j]} count with denominator {den[i, j]:g}",
                         file=t["source_file"], column="Numerator")
    status = []
    for j in range(m):  # one line of text per metric (metadata, not a hot path)
        nv, nr = int(have_value[:, j].sum()), int(redraw[:, j].sum())
        if dist[j] not in _MODELS:
            s = "fixed: no sampling model in the catalogue (distribution none)"
        elif not value_rule[j]:
            s = f"fixed: scored by rule '{rules[j]}', not from the value"
        elif published_used[:, j].any() and nr == 0:
            s = "fixed: the published score is used"
        elif nr == 0:
            s = "fixed: no denominators"
        elif nr < nv:
            s = f"partly resampled: {nv - nr} of {nv} trusts have no denominator and stay fixed"
        else:
            s = "resampled"
        status.append(s)
    table = pd.DataFrame({
        "metric_id": panel.metric_ids,
        "name": meta["name"].to_numpy(dtype=object),
        "rule": rules,
        "distribution": dist,
        "scale": scale,
        "n_values": have_value.sum(0).astype(np.int64),
        "n_resampled": redraw.sum(0).astype(np.int64),
        "n_denominators_from_file": (redraw & from_file).sum(0).astype(np.int64),
        "n_denominators_from_table": (redraw & from_table).sum(0).astype(np.int64),
        "resampled": redraw.any(0),
        "status": status,
    })
    return SamplingPlan(table, binom, pois, np.where(redraw, count, np.nan), np.where(redraw, den, np.nan), scale)


def sampling_values(panel: Panel, method, *, draws: int = 1000, seed=0, denominators=None,
                    decimals: int | None = None) -> tuple[np.ndarray, SamplingPlan]:
    """Replicate metric values ``(R, n, m)`` drawn from each metric's sampling distribution.

    The drawing step of :func:`sampling_replicates` (same arguments and random stream), for
    callers that want the values themselves. Cells not chosen by :func:`sampling_plan`
    keep the panel's value in every replicate.

    Returns
    -------
    (values, plan)

    Examples
    --------
    >>> from nhs_league.pipeline import Panel
    >>> from nhs_league.catalogue import load_catalogue
    >>> trusts = pd.DataFrame({"trust_name": ["A", "B"], "trust_subtype": "", "region": "",
    ...                        "source_file": "x.csv", "source_row": [2, 3]},
    ...                       index=pd.Index(["R1", "R2"], name="trust_code"))
    >>> v = np.array([[50.0], [60.0]])
    >>> p = Panel("2025Q3", "acute", trusts, load_catalogue().loc[["OF0023"]], v, v * np.nan,
    ...           np.array([[5.0], [np.nan]]), np.array([[10.0], [np.nan]]), {},
    ...           pd.array([pd.NA] * 2, dtype="boolean"), np.zeros(2, bool))
    >>> vals, plan = sampling_values(p, "nof-2025-26", draws=3, seed=0)
    >>> vals.shape, vals[:, 1, 0].tolist()   # R2 has no denominator: fixed
    ((3, 2, 1), [60.0, 60.0, 60.0])
    """
    method = load_method(method)
    draws = check_draws(draws)
    plan = sampling_plan(panel, method, denominators)
    if plan.n_resampled == 0:
        raise InputError(
            f"the sampling source is unavailable for this input: no {panel.trust_type} metric in {panel.quarter} "
            "has both a sampling model (binomial or Poisson in the catalogue, scored from its value) and a "
            "denominator; give a denominators table (Trust_code, Metric_ID, Denominator) or use the metric-basket "
            "source", file=_files(panel), column="Denominator")
    rng = np.random.default_rng(seed)
    R = draws
    n, m = panel.values.shape
    values = np.empty((R, n * m))
    values[:] = panel.values.reshape(-1)
    scale_cell = np.broadcast_to(plan.scale, (n, m)).reshape(-1)
    den = plan.denominator.reshape(-1)
    cnt = plan.count.reshape(-1)
    bi = np.flatnonzero(plan.binomial.reshape(-1))
    if len(bi):
        trials = np.rint(den[bi]).astype(np.int64)
        p = np.clip(cnt[bi] / np.maximum(trials, 1), 0.0, 1.0)
        x = rng.binomial(trials, p, size=(R, len(bi)))
        values[:, bi] = x * (scale_cell[bi] / den[bi])
    po = np.flatnonzero(plan.poisson.reshape(-1))
    if len(po):
        x = rng.poisson(np.maximum(cnt[po], 0.0), size=(R, len(po)))
        values[:, po] = x * (scale_cell[po] / den[po])
    values = values.reshape(R, n, m)
    if decimals is not None:
        values = np.round(values, int(decimals))
    return values, plan


def sampling_replicates(panel: Panel, method, *, draws: int = 1000, seed=0, denominators=None,
                        decimals: int | None = None) -> Replicates:
    """Parametric bootstrap of sampling noise, re-running the whole pipeline per replicate.

    For every cell chosen by :func:`sampling_plan`: binomial metrics draw
    ``X ~ Binomial(round(d), c / d)`` and use ``X / d * scale``; Poisson metrics draw
    ``X ~ Poisson(c)`` and use ``X / d * scale`` (``c`` numerator, ``d`` denominator).
    Other cells keep their value. Then :func:`nhs_league.pipeline.compute` re-scores
    every metric (relative, rank-based), averages, segments (with the override) and
    ranks each replicate table.

    Parameters
    ----------
    panel : Panel
    method : Method or str
    draws : int, default 1000
        Number of replicates R.
    seed : int or numpy.random.SeedSequence, default 0
    denominators : pandas.DataFrame, optional
        Denominators where the data carry none: rows trust codes, columns Metric_IDs
        (see :func:`read_denominators`). Used only for cells without a file denominator.
    decimals : int, optional
        Round redrawn values to this many decimals, e.g. to match published precision
        (ties then occur as in the published values). Default: no rounding.

    Returns
    -------
    Replicates
        ``source="sampling"``; ``resampled`` is the per-metric table.

    Raises
    ------
    InputError
        When no metric can be redrawn (no sampling model with a denominator): the
        sampling source is unavailable for this input.

    Examples
    --------
    >>> from nhs_league.pipeline import Panel
    >>> from nhs_league.catalogue import load_catalogue
    >>> cat = load_catalogue(); meta = cat.loc[["OF0023"]]
    >>> trusts = pd.DataFrame({"trust_name": ["A", "B", "C"], "trust_subtype": "", "region": "",
    ...                        "source_file": "x.csv", "source_row": [2, 3, 4]},
    ...                       index=pd.Index(["R1", "R2", "R3"], name="trust_code"))
    >>> v = np.array([[60.0], [70.0], [80.0]]); d = np.array([[100.0], [100.0], [100.0]])
    >>> p = Panel("2025Q3", "acute", trusts, meta, v, v * np.nan, v, d, {},
    ...           pd.array([pd.NA] * 3, dtype="boolean"), np.zeros(3, bool))
    >>> r = sampling_replicates(p, "nof-2025-26", draws=200, seed=1)
    >>> r.average.shape, bool(r.resampled["resampled"].iloc[0])
    ((200, 3), True)
    """
    method = load_method(method)
    values, plan = sampling_values(panel, method, draws=draws, seed=seed, denominators=denominators,
                                   decimals=decimals)
    res = compute(panel, method, values)
    nominal = compute(panel, method)
    return Replicates("sampling", panel.trusts.index, res["average"], res["segment"], res["rank"], nominal,
                      synthetic=panel.synthetic, resampled=plan.table, method=method, kind="bootstrap",
                      independent=False, trust_names=panel.trusts["trust_name"].to_numpy(dtype=object),
                      panel=panel, params={"draws": int(draws), "seed": seed, "denominators": denominators,
                                           "decimals": decimals})


# --------------------------------------------------------------------------------------
# Source 2: the choice of metrics
# --------------------------------------------------------------------------------------
def _basket_table(panel: Panel, scores: np.ndarray, how: str) -> pd.DataFrame:
    have = ~np.isnan(scores)
    return pd.DataFrame({"metric_id": panel.metric_ids, "name": panel.metrics["name"].to_numpy(dtype=object),
                         "rule": panel.metrics["rule"].to_numpy(dtype=object),
                         "n_scored": have.sum(0).astype(np.int64), "resampled": have.any(0),
                         "status": np.where(have.any(0), how, "not scored for any trust")})


def _scored(panel: Panel, method: Method, nominal: dict | None = None) -> tuple[dict, np.ndarray]:
    nominal = compute(panel, method) if nominal is None else nominal
    sc = nominal["scores"]
    if not (~np.isnan(sc)).any():
        raise InputError(f"no {panel.trust_type} trust has a scored metric in {panel.quarter}: the metric-basket "
                         "source needs metric scores", file=_files(panel), column="Value")
    return nominal, sc


# replicates drawn per block: keeps the (block, n, k_max) working arrays near 4 MB however many are asked
# (small enough to stay in the processor's cache between the passes over them: 5,000 replicates of 134
# trusts ran about a quarter faster than in 30 MB blocks; the numbers do not depend on the block size)
_BLOCK_CELLS = 500_000


def _basket_averages(panel: Panel, method: Method, sc: np.ndarray, draws: int, seed, trusts=None, *,
                     general: bool = False, weights=None) -> np.ndarray:
    """The replicate averages of :func:`basket_bootstrap`, in blocks of replicates (see
    :func:`_basket_block`); one random stream, so the numbers do not depend on the block size."""
    n = sc.shape[0]
    kmax = int((~np.isnan(sc)).sum(axis=1).max())
    block = max(1, _BLOCK_CELLS // max(1, n * kmax))
    rng = np.random.default_rng(seed)
    scratch = {}  # the blocks' working arrays, allocated once and reused by every block
    parts = [_basket_block(panel, method, sc, min(block, draws - start), rng, trusts, general=general,
                           weights=weights, scratch=scratch)
             for start in range(0, draws, block)]
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)


def _scratch(scratch: dict, name: str, shape: tuple, dtype) -> np.ndarray:
    """A working array of ``shape`` from ``scratch`` (made on first use, at the first block's size):
    the blocks of one run write into the same memory instead of fresh arrays."""
    buf = scratch.get(name)
    if buf is None or buf.shape[1:] != shape[1:] or buf.shape[0] < shape[0]:
        buf = scratch[name] = np.empty(shape, dtype=dtype)
    return buf[:shape[0]]


def _basket_block(panel: Panel, method: Method, sc: np.ndarray, draws: int, rng, trusts=None, *,
                  general: bool = False, weights=None, scratch: dict | None = None) -> np.ndarray:
    """The replicate averages of :func:`basket_bootstrap`, shape ``(draws, n)``; with ``trusts``
    (positions), only those columns, from the same random draws (so the same numbers).

    Each trust's slot ``j < k`` draws one of its ``k`` scored metrics. For the (geometric) mean
    the weighted sums are gathered straight from ``score x weight`` and ``weight`` tables by flat
    index; other aggregations (and ``general=True``, which the tests compare with) gather the
    drawn scores and weights and call :func:`nhs_league.scoring.aggregate_scores`. Both give the
    same numbers: the same products summed in the same order.
    """
    n, m = sc.shape
    have = ~np.isnan(sc)
    s = method.settings["average"]
    w = np.broadcast_to(domain_weights(have, panel.domain_index, s["weights"], panel.metric_ids)
                        if weights is None else weights, sc.shape)
    k = have.sum(axis=1)
    kmax = int(k.max())
    order = np.argsort(~have, axis=1, kind="stable")[:, :kmax]  # each trust's scored metrics first
    scratch = {} if scratch is None else scratch
    # always every trust's draws: a subset keeps its numbers
    u = rng.random(out=_scratch(scratch, "u", (draws, n, kmax), np.float64))
    sel = np.arange(n) if trusts is None else np.asarray(trusts, dtype=np.int64)
    if trusts is not None:
        u, k, order = u[:, sel], k[sel], order[sel]
    ns = len(sel)
    agg = s["aggregation"]
    if general or agg not in ("mean", "geometric_mean"):
        pos = np.minimum((u * k[:, None]).astype(np.int64), np.maximum(k - 1, 0)[:, None])  # (R, ns, kmax)
        inside = np.arange(kmax)[None, :] < k[:, None]  # (ns, kmax): a trust draws k of its own
        col = np.take(order.ravel(), pos + (np.arange(ns) * kmax)[:, None])  # metric column drawn
        rows = np.arange(ns)[None, :, None]
        sc_r = np.where(inside, sc[sel][rows, col], np.nan)
        w_r = np.where(inside, w[sel][rows, col], 0.0)
        return aggregate_scores(sc_r, weights=w_r, aggregation=agg, trim=float(s.get("trim", 0.1)))
    # The fast path gathers from one small lookup table per (trust, slot, drawn position): the flat
    # index into the (n, m) tables of the metric drawn, or, for a slot past the trust's k metrics, a
    # zero appended to the tables (what multiplying by "inside" gave). Position k stands for k - 1:
    # u * k can round up to k, which the general path clips. Same products, summed in the same order.
    slot = np.arange(kmax)
    inside = slot[None, :] < k[:, None]  # (ns, kmax): a trust draws k of its own
    drawn = np.minimum(np.arange(kmax + 1)[None, :], np.maximum(k - 1, 0)[:, None])  # (ns, kmax + 1)
    flat = np.take_along_axis(order, drawn, axis=1) + (sel * m)[:, None]  # (ns, kmax + 1)
    lookup = np.where(inside[:, :, None], flat[:, None, :], n * m)  # (ns, kmax, kmax + 1)
    np.multiply(u, k[:, None], out=u)
    at = _scratch(scratch, "at", u.shape, np.int64)
    np.copyto(at, u, casting="unsafe")  # drawn position, 0 to k (R, ns, kmax): truncated, as astype does
    at += ((np.arange(ns)[:, None] * kmax + slot[None, :]) * (kmax + 1))
    # flat index of the drawn metric, or of the appended zero (every index is in range: "clip" clips nothing)
    lin = np.take(lookup.ravel(), at, out=_scratch(scratch, "lin", u.shape, np.int64), mode="clip")
    drawn = u if trusts is None else _scratch(scratch, "drawn", u.shape, np.float64)  # u is no longer needed
    ww = np.where(have, w, 0.0)
    x = np.where(have, np.log(np.where(have, sc, 1.0)) if agg == "geometric_mean" else sc, 0.0)
    if np.all(ww[have] == 1.0):  # equal weights: the drawn weights sum to k (exactly), no gather needed
        total = np.broadcast_to(k.astype(float), lin.shape[:-1])
    else:
        total = np.take(np.append(ww.ravel(), 0.0), lin, out=drawn, mode="clip").sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        avg = np.take(np.append((x * ww).ravel(), 0.0), lin, out=drawn, mode="clip").sum(axis=-1) / total
    avg = np.where(total > 0, avg, np.nan)
    return np.exp(avg) if agg == "geometric_mean" else avg


def basket_bootstrap_averages(panel: Panel, method, trust_codes, *, draws: int = 1000, seed=0,
                              nominal: dict | None = None) -> pd.DataFrame:
    """The replicate averages of :func:`basket_bootstrap` for a few trusts only.

    The same random draws and the same numbers as those trusts' columns of
    ``basket_bootstrap(panel, method, draws=draws, seed=seed).average``, without
    classifying every replicate table (no segments or ranks): what a one-trust view such as
    the trust profile's trend needs.

    ``nominal``, when the caller already has it, is ``pipeline.compute(panel, method)`` (its
    ``scores`` are what is resampled): it is not computed again.

    Returns
    -------
    pandas.DataFrame
        ``(draws, len(trust_codes))``, columns the trust codes.

    Examples
    --------
    >>> from nhs_league.sensitivity import example_panel
    >>> p = example_panel(20, seed=1)
    >>> code = p.trusts.index[4]
    >>> one = basket_bootstrap_averages(p, "nof-2025-26", [code], draws=200, seed=3)
    >>> full = basket_bootstrap(p, "nof-2025-26", draws=200, seed=3)
    >>> bool(np.array_equal(one[code].to_numpy(), full.average[:, 4]))
    True
    """
    method = load_method(method)
    draws = check_draws(draws)
    sc = _scored(panel, method, nominal)[1]
    idx = panel.trusts.index.get_indexer(list(trust_codes))
    if (idx < 0).any():
        missing = [c for c, i in zip(trust_codes, idx) if i < 0]
        raise InputError(f"trust {missing[0]} is not in the {panel.trust_type} table of {panel.quarter}",
                         file=_files(panel), column="Trust_code")
    avg = _basket_averages(panel, method, sc, draws, seed, trusts=idx)
    return pd.DataFrame(avg, columns=pd.Index(list(trust_codes), name="trust_code"))


def basket_bootstrap(panel: Panel, method, *, draws: int = 1000, seed=0) -> Replicates:
    """Bootstrap over each trust's own metric scores (uncertainty from the choice of metrics).

    In each replicate every trust's ``k`` scored metrics are replaced by ``k`` draws with
    replacement from them (each with the weight it has in the nominal average), the
    average is recomputed with the method's aggregation, then the segment (cut-offs or
    quartiles, override, segment 5) and league rank with
    :func:`nhs_league.pipeline.classify`. Metric scores themselves are not re-scored:
    the question is how much the average depends on which of the trust's scores went
    into it. Trusts are resampled independently.

    Parameters
    ----------
    panel : Panel
    method : Method or str
    draws : int, default 1000
    seed : int or numpy.random.SeedSequence, default 0

    Returns
    -------
    Replicates
        ``source="metrics"``, ``independent=True``.

    Examples
    --------
    >>> from nhs_league.pipeline import Panel
    >>> from nhs_league.catalogue import load_catalogue
    >>> meta = load_catalogue().loc[["OF0023", "OF0010", "OF0011"]]
    >>> trusts = pd.DataFrame({"trust_name": ["A", "B", "C"], "trust_subtype": "", "region": "",
    ...                        "source_file": "x.csv", "source_row": [2, 3, 4]},
    ...                       index=pd.Index(["R1", "R2", "R3"], name="trust_code"))
    >>> v = np.array([[90.0, 50.0, 40.0], [80.0, 70.0, 60.0], [70.0, 60.0, 50.0]])
    >>> p = Panel("2025Q3", "acute", trusts, meta, v, v * np.nan, v * np.nan, v * np.nan, {},
    ...           pd.array([pd.NA] * 3, dtype="boolean"), np.zeros(3, bool))
    >>> r = basket_bootstrap(p, "nof-2025-26", draws=500, seed=3)
    >>> r.average.shape, bool(r.se().iloc[0] > 0)
    ((500, 3), True)
    """
    method = load_method(method)
    draws = check_draws(draws)
    nominal, sc = _scored(panel, method)
    avg = _basket_averages(panel, method, sc, draws, seed)
    out = classify(avg, nominal["in_deficit"], nominal["intensive_support"], method)
    return Replicates("metrics", panel.trusts.index, avg, out["segment"], out["rank"], nominal,
                      synthetic=panel.synthetic, resampled=_basket_table(panel, sc, "resampled within each trust"),
                      method=method, kind="bootstrap", independent=True,
                      trust_names=panel.trusts["trust_name"].to_numpy(dtype=object), panel=panel,
                      params={"draws": draws, "seed": seed})


def basket_jackknife(panel: Panel, method) -> Replicates:
    """Leave one metric out at a time: replicate ``j`` is the whole table without metric ``j``.

    Each replicate drops one scored metric for every trust and recomputes averages
    (weights renormalised as in :func:`nhs_league.pipeline.compute`), segments and ranks;
    other metrics' scores are unchanged (scores are relative within a metric). A trust
    not scored on metric ``j`` keeps its average in replicate ``j``; its jackknife
    standard error uses only the replicates that removed one of its own metrics
    (:attr:`Replicates.affected`), ``se = sqrt((k - 1) / k * Σ (a_(j) − a_(.))²)``.

    Returns
    -------
    Replicates
        ``source="metrics-jackknife"``, ``kind="jackknife"``; one replicate per scored
        metric.

    Examples
    --------
    >>> from nhs_league.pipeline import Panel
    >>> from nhs_league.catalogue import load_catalogue
    >>> meta = load_catalogue().loc[["OF0023", "OF0010", "OF0011"]]
    >>> trusts = pd.DataFrame({"trust_name": ["A", "B", "C"], "trust_subtype": "", "region": "",
    ...                        "source_file": "x.csv", "source_row": [2, 3, 4]},
    ...                       index=pd.Index(["R1", "R2", "R3"], name="trust_code"))
    >>> v = np.array([[90.0, 60.0, 40.0], [80.0, 70.0, 60.0], [70.0, 50.0, 50.0]])
    >>> p = Panel("2025Q3", "acute", trusts, meta, v, v * np.nan, v * np.nan, v * np.nan, {},
    ...           pd.array([pd.NA] * 3, dtype="boolean"), np.zeros(3, bool))
    >>> round(float(basket_jackknife(p, "nof-2025-26").se().iloc[0]), 4)  # scores 1, 2.5, 4: sd/sqrt(3)
    0.866
    """
    method = load_method(method)
    nominal, sc = _scored(panel, method)
    n, m = sc.shape
    used = np.flatnonzero((~np.isnan(sc)).any(axis=0))
    S = np.broadcast_to(sc, (len(used), n, m)).copy()
    S[np.arange(len(used)), :, used] = np.nan
    res = compute(panel, method, scores=S)
    affected = ~np.isnan(sc[:, used].T)  # (J, n)
    return Replicates("metrics-jackknife", panel.trusts.index, res["average"], res["segment"], res["rank"], nominal,
                      synthetic=panel.synthetic, resampled=_basket_table(panel, sc, "left out in turn"),
                      method=method, kind="jackknife", independent=True, affected=affected,
                      trust_names=panel.trusts["trust_name"].to_numpy(dtype=object), panel=panel, params={})


# --------------------------------------------------------------------------------------
# Source 4: NHS England's likely ranges, reproduced
# --------------------------------------------------------------------------------------
LIKELY_RANGE_DIR = Path(__file__).parent / "data" / "uncertainty"
NHSE_COLUMNS = ("NHSE_range_average_low", "NHSE_range_average_high", "NHSE_range_rank_low", "NHSE_range_rank_high")
_PRESET_KEYS = {"name": str, "resample": str, "joint": bool, "draws": int, "coverage": float,
                "average_quantile": str, "rank_quantile": str, "decimals": int}


def load_likely_range_preset(name_or_path="nhse-likely-range") -> dict:
    """The settings of the likely-range reproduction (``data/uncertainty/nhse-likely-range.yaml``).

    >>> p = load_likely_range_preset()
    >>> p["draws"], p["coverage"], p["rank_quantile"]
    (20000, 0.95, 'inverted_cdf')
    """
    if isinstance(name_or_path, dict):
        data, where = dict(name_or_path), "likely-range settings"
    else:
        path, data = read_preset(name_or_path, LIKELY_RANGE_DIR, "likely-range preset")
        where = str(path)
    if not isinstance(data, dict):
        raise MethodError(f"{where}: a likely-range preset is a mapping")
    missing = sorted(set(_PRESET_KEYS) - set(data))
    unknown = sorted(set(data) - set(_PRESET_KEYS))
    if missing or unknown:
        raise MethodError(f"{where}: " + "; ".join(([f"missing {missing}"] if missing else [])
                                                   + ([f"unknown {unknown}"] if unknown else [])))
    if data["resample"] != "each_trust_own_scores" or data["joint"] is not True:
        raise MethodError(f"{where}: only resample: each_trust_own_scores with joint: true is implemented")
    for key in ("average_quantile", "rank_quantile"):
        if data[key] not in QUANTILE_METHODS:
            raise MethodError(f"{where}: {key} must be a numpy quantile method, one of {QUANTILE_METHODS}")
    data["draws"] = check_draws(data["draws"], name=f"{where}: draws")
    data["coverage"] = check_coverage(data["coverage"], name=f"{where}: coverage")
    return data


def _score_matrix(panel: Panel, method: Method, scores, nominal: dict):
    """The (n, m) score matrix to resample and its weights: the pipeline's own, or ``scores``."""
    if scores is None:
        return nominal["scores"], None
    if isinstance(scores, pd.DataFrame):
        missing = panel.trusts.index.difference(scores.index)
        if len(missing):
            raise InputError(f"scores: trust {missing[0]} of the {panel.trust_type} table of {panel.quarter} has "
                             "no row", column="Trust_code")
        scores = scores.reindex(panel.trusts.index).to_numpy(dtype=float)
    sc = np.asarray(scores, dtype=float)
    if sc.ndim != 2 or sc.shape[0] != panel.n:
        raise ValueError(f"scores must have shape ({panel.n}, m), got {sc.shape}")
    if method.settings["average"]["weights"] != "per_metric" and sc.shape[1] != len(panel.metric_ids):
        raise MethodError("scores with their own columns can be averaged only with average.weights: per_metric")
    w = np.ones(sc.shape) if sc.shape[1] != len(panel.metric_ids) else None
    return sc, w


def nhse_replicates(panel: Panel, method, *, draws: int | None = None, seed=0, scores=None,
                    preset="nhse-likely-range") -> Replicates:
    """NHS England's "likely range" method, reproduced: replicate tables for ``--source nhse``.

    Found by fitting the Q4 2025/26 mental health and community league table
    (docs/uncertainty.md §5): in each replicate every trust's ``k`` metric scores are
    replaced by ``k`` draws with replacement from its own scores (all trusts in every
    replicate), the average is recomputed, and the replicate table is classified as the
    published one is (:func:`nhs_league.pipeline.classify`: averages rounded to 2 dp,
    segmented by the method's rule, deficit trusts capped at segment 3, ranked by
    (segment, average)). :func:`nhse_likely_ranges` then takes the 2.5th and 97.5th
    percentiles. The draws are those of :func:`basket_bootstrap` (same seed, same numbers);
    what differs is the preset's replicate count and the published rounding.

    Parameters
    ----------
    panel : Panel
    method : Method or str
    draws : int, optional
        Default: the preset's (20,000).
    seed : int or numpy.random.SeedSequence
    scores : numpy.ndarray or pandas.DataFrame, optional
        The metric score matrix to resample, ``(n, m)`` in the panel's trust order (or a
        frame indexed by trust code, any columns: e.g. NHS England's published ``OF1xxx``
        scores). Default: the scores the pipeline computes (``compute(panel, method)``).
        Columns other than the panel's metrics are averaged with equal weights.
    preset : str, path or dict

    Returns
    -------
    Replicates
        ``source="nhse"``, ``independent=True``; ``params`` holds ``draws``, ``seed``,
        ``preset`` (and ``scores`` when given).

    Examples
    --------
    >>> from nhs_league.sensitivity import example_panel
    >>> r = nhse_replicates(example_panel(12, seed=2), "nof-2025-26", draws=400, seed=1)
    >>> r.source, r.average.shape
    ('nhse', (400, 12))
    """
    method = load_method(method)
    settings = load_likely_range_preset(preset)
    draws = settings["draws"] if draws is None else check_draws(draws)
    nominal = compute(panel, method)
    sc, w = _score_matrix(panel, method, scores, nominal)
    if not (~np.isnan(sc)).any():
        raise InputError(f"no {panel.trust_type} trust has a scored metric in {panel.quarter}: NHS England's "
                         "likely-range method needs metric scores", file=_files(panel), column="Value")
    empty = np.flatnonzero(~(~np.isnan(sc)).any(axis=1))
    if len(empty):
        raise InputError(f"trust {panel.trusts.index[empty[0]]} has no metric score to resample",
                         file=_files(panel), column="Value")
    if scores is not None:
        s = method.settings["average"]
        w0 = w if w is not None else domain_weights(~np.isnan(sc), panel.domain_index, s["weights"],
                                                    panel.metric_ids)
        avg0 = aggregate_scores(sc, weights=w0, aggregation=s["aggregation"], trim=float(s.get("trim", 0.1)))
        nominal = {**nominal, **classify(avg0, nominal["in_deficit"], nominal["intensive_support"], method),
                   "average": avg0, "scores": sc}
    avg = _basket_averages(panel, method, sc, draws, seed, weights=w)
    out = classify(avg, nominal["in_deficit"], nominal["intensive_support"], method)
    params = {"draws": draws, "seed": seed, "preset": preset}
    if scores is not None:
        params["scores"] = scores
    table = _basket_table(panel, sc, "resampled within each trust") if w is None else None
    return Replicates("nhse", panel.trusts.index, avg, out["segment"], out["rank"], nominal,
                      synthetic=panel.synthetic, resampled=table, method=method, kind="bootstrap",
                      independent=True, trust_names=panel.trusts["trust_name"].to_numpy(dtype=object),
                      panel=panel, params=params)


def nhse_likely_ranges(reps: Replicates, preset=None) -> pd.DataFrame:
    """``NHSE_range_average_low/high`` (2 dp) and ``NHSE_range_rank_low/high`` per trust.

    The central ``coverage`` share (preset: 95%) of the replicate averages and league ranks,
    as NHS England's ``Likely_range_of_average_score`` and ``Likely_range_of_rank`` are
    made (docs/uncertainty.md §5). A *bootstrap range*, not a confidence set: it reflects
    only which metrics went into each average, and percentile ranges of ranks under-cover
    at the ends of the table (docs/ranks.md).

    Examples
    --------
    >>> from nhs_league.sensitivity import example_panel
    >>> r = nhse_replicates(example_panel(12, seed=2), "nof-2025-26", draws=400, seed=1)
    >>> t = nhse_likely_ranges(r)
    >>> list(t.columns), bool((t["NHSE_range_rank_low"] <= t["NHSE_range_rank_high"]).all())
    (['NHSE_range_average_low', 'NHSE_range_average_high', 'NHSE_range_rank_low', 'NHSE_range_rank_high'], True)
    """
    if reps.kind != "bootstrap":
        raise MethodError("likely ranges need bootstrap replicates, not leave-one-out tables")
    p = load_likely_range_preset(preset if preset is not None else reps.params.get("preset", "nhse-likely-range"))
    a = (1 - p["coverage"]) / 2
    qa = np.quantile(reps.average, [a, 1 - a], axis=0, method=p["average_quantile"])
    ranks = _nan_ranks(reps.rank)
    none = np.isnan(ranks).all(axis=0)
    qr = nanquantile(np.where(none, 0.0, ranks), [a, 1 - a], axis=0, method=p["rank_quantile"])
    rounded = round_scores(qa, p["decimals"], "half_up")
    out = pd.DataFrame({NHSE_COLUMNS[0]: rounded[0], NHSE_COLUMNS[1]: rounded[1],
                        NHSE_COLUMNS[2]: pd.array(np.where(none, np.nan, np.ceil(qr[0] - 1e-9)), dtype="Int64"),
                        NHSE_COLUMNS[3]: pd.array(np.where(none, np.nan, np.floor(qr[1] + 1e-9)), dtype="Int64")},
                       index=reps.trust_codes)
    return out


# --------------------------------------------------------------------------------------
# Quarter on quarter: paired bootstrap of the metric-level changes, with multiplicity control
# --------------------------------------------------------------------------------------
MULTIPLICITY = {
    "unadjusted": "each trust's test at its own level: about alpha x trusts false moves expected by chance alone",
    "holm": "Holm (1979) step-down: the chance of even one false move among all trusts is at most alpha",
    "bh": "Benjamini-Hochberg (1995): on average at most a share alpha of the moves reported are false",
}


def holm_adjust(p) -> np.ndarray:
    """Holm's step-down adjusted p-values (familywise error), NaN left out.

    >>> holm_adjust([0.01, 0.04, 0.03]).round(3).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = len(ok)
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out[order] = adj
    return out


def bh_adjust(p) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (false discovery rate; ``scipy.stats.false_discovery_control``).

    >>> bh_adjust([0.01, 0.04, 0.03]).round(3).tolist()
    [0.03, 0.04, 0.04]
    """
    from scipy.stats import false_discovery_control

    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = false_discovery_control(p[ok], method="bh")
    return out


def _score_frame(panel: Panel, method: Method, scores) -> pd.DataFrame:
    if scores is not None:
        f = scores if isinstance(scores, pd.DataFrame) else pd.DataFrame(scores, index=panel.trusts.index)
        return f.astype(float)
    return pd.DataFrame(compute(panel, method)["scores"], index=panel.trusts.index, columns=panel.metric_ids)


def paired_quarter_change(now: Panel, before: Panel, method_now, method_before=None, *, draws: int = 1000,
                          seed=0, coverage: float = 0.95, scores_now=None, scores_before=None) -> pd.DataFrame:
    """Has each trust's average score changed by more than the choice of its metrics explains?

    A paired bootstrap over the trust's metrics: the two quarters score mostly the same
    metrics, so in each replicate the trust draws, with replacement, as many metrics as it
    has in either quarter (from that union), and the *same* draws give both quarters'
    replicate averages (a metric the trust lacks in one quarter is skipped there). Their
    difference is the replicate change; its standard deviation is the paired standard error,
    which is smaller than ``sqrt(se_now² + se_before²)`` whenever a trust's scores are
    correlated across quarters (they are: the same metrics, slowly moving values).

    ``se`` is the bootstrap standard deviation times ``sqrt(k / (k − 1))`` (``k`` metrics in
    the union: the bootstrap's own shrinkage of a mean of ``k`` values undone), ``z = change /
    se`` and the two-sided p-value is Student's t with ``k − 1`` degrees of freedom (a trust has
    only 6–30 metrics, and the normal tail would call too many moves after a multiplicity
    correction). Three readings of "moved", named in :data:`MULTIPLICITY`: unadjusted
    (``p < 1 − coverage``), Holm (familywise) and Benjamini–Hochberg (false discovery rate),
    both over the trusts compared.

    Parameters
    ----------
    now, before : Panel
        The two quarters (same trust type). Trusts are matched by code; the others are in
        ``attrs["unmatched"]``.
    method_now, method_before : Method or str
        Each quarter's method preset (``method_before`` defaults to ``method_now``).
    scores_now, scores_before : pandas.DataFrame, optional
        Metric score matrices (trust codes × metric IDs) to use instead of the pipeline's,
        e.g. NHS England's published scores.
    draws, seed, coverage

    Returns
    -------
    pandas.DataFrame
        Indexed by trust code: ``trust_name``, ``average_before``, ``average``, ``change``,
        ``se`` (paired), ``se_independent`` (the two quarters' bootstrap SEs combined as if
        independent), ``lower``/``upper`` (percentile range of the replicate changes at
        ``coverage``), ``z``, ``p``, ``p_holm``, ``p_bh``, ``moved`` / ``moved_holm`` /
        ``moved_bh`` ("better", "worse" or ""), ``n_metrics_both``. ``attrs``: ``alpha``,
        ``n_tests``, ``expected_by_chance`` (alpha × trusts: false moves expected from the
        unadjusted tests if no trust truly moved), ``unmatched``, ``multiplicity``.

    Examples
    --------
    >>> from nhs_league.sensitivity import example_panel
    >>> p = example_panel(15, seed=3)
    >>> t = paired_quarter_change(p, p, "nof-2025-26", draws=200, seed=0)
    >>> bool((t["change"] == 0).all() and (t["se"] == 0).all() and (t["moved_holm"] == "").all())
    True
    """
    method_now = load_method(method_now)
    method_before = method_now if method_before is None else load_method(method_before)
    coverage = check_coverage(coverage)
    draws = check_draws(draws)
    for m in (method_now, method_before):
        w = m.settings["average"]["weights"]
        if w == "per_domain" or m.settings["average"]["aggregation"] != "mean":
            raise MethodError(f"method {m.name!r}: the paired quarter comparison needs a (weighted) mean of the "
                              "metric scores with per-metric weights")
    a = _score_frame(now, method_now, scores_now)
    b = _score_frame(before, method_before, scores_before)
    codes = a.index[a.index.isin(b.index)]
    unmatched = sorted(set(a.index) ^ set(b.index))
    cols = a.columns.union(b.columns)
    A = a.reindex(index=codes, columns=cols).to_numpy(dtype=float)
    B = b.reindex(index=codes, columns=cols).to_numpy(dtype=float)

    def weights(m):
        w = m.settings["average"]["weights"]
        return np.array([float(w.get(c, 1.0)) if isinstance(w, dict) else 1.0 for c in cols])

    wa, wb = weights(method_now), weights(method_before)
    ha, hb = ~np.isnan(A), ~np.isnan(B)
    union = ha | hb
    n, m = A.shape
    k = union.sum(axis=1)
    kmax = max(1, int(k.max()) if n else 1)
    order = np.argsort(~union, axis=1, kind="stable")[:, :kmax]
    rng = np.random.default_rng(seed)
    u = rng.random((draws, n, kmax))
    pos = np.minimum((u * k[:, None]).astype(np.int64), np.maximum(k - 1, 0)[:, None])
    inside = (np.arange(kmax)[None, :] < k[:, None]).astype(float)
    col = np.take_along_axis(np.broadcast_to(order, (draws, n, kmax)), pos, axis=2)
    lin = col + (np.arange(n) * m)[:, None]

    def replicate(S, have, w):
        ww = np.where(have, w[None, :], 0.0)
        x = np.where(have, S, 0.0) * ww
        tot = (np.take(ww.ravel(), lin) * inside).sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(tot > 0, (np.take(x.ravel(), lin) * inside).sum(axis=-1) / tot, np.nan)

    def nominal(S, have, w):
        ww = np.where(have, w[None, :], 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(ww.sum(1) > 0, (np.where(have, S, 0.0) * ww).sum(1) / ww.sum(1), np.nan)

    ra, rb = replicate(A, ha, wa), replicate(B, hb, wb)
    d_rep = ra - rb
    avg_a, avg_b = nominal(A, ha, wa), nominal(B, hb, wb)
    change = avg_a - avg_b
    # the bootstrap SE of a mean of k values is sd * sqrt((k - 1) / k) / sqrt(k): scaled back to
    # sd / sqrt(k), and the p-value from Student's t with k - 1 degrees of freedom (few metrics)
    kf = k.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        infl = np.where(kf > 1, np.sqrt(kf / (kf - 1)), np.nan)
        se = np.nanstd(d_rep, axis=0, ddof=1) * infl
        se_ind = np.sqrt(np.nanvar(ra, axis=0, ddof=1) + np.nanvar(rb, axis=0, ddof=1)) * infl
        lo_q, hi_q = (1 - coverage) / 2, 1 - (1 - coverage) / 2
        lo, hi = nanquantile(d_rep, [lo_q, hi_q], axis=0)
        z = np.where(se > 0, change / np.where(se > 0, se, 1.0), np.where(change == 0, 0.0, np.sign(change) * np.inf))
    z = np.where(np.isnan(se) | np.isnan(change), np.nan, z)
    from scipy.stats import t as student

    p = np.where(np.isnan(z), np.nan, 2 * student.sf(np.abs(z), np.maximum(kf - 1, 1)))
    alpha = 1 - coverage
    p_holm, p_bh = holm_adjust(p), bh_adjust(p)
    direction = np.where(change > 0, "worse", "better")

    def moved(pv):
        return np.where(pv < alpha, direction, "").astype(object)

    names = now.trusts["trust_name"].reindex(codes).to_numpy(dtype=object)
    out = pd.DataFrame({"trust_name": names, "average_before": avg_b, "average": avg_a, "change": change, "se": se,
                        "se_independent": se_ind, "lower": lo, "upper": hi, "z": z, "p": p, "p_holm": p_holm,
                        "p_bh": p_bh, "moved": moved(p), "moved_holm": moved(p_holm), "moved_bh": moved(p_bh),
                        "n_metrics_both": (ha & hb).sum(axis=1).astype(np.int64)},
                       index=pd.Index(codes, name="trust_code"))
    n_tests = int((~np.isnan(p)).sum())
    out.attrs.update(alpha=alpha, n_tests=n_tests, expected_by_chance=alpha * n_tests, unmatched=unmatched,
                     multiplicity=dict(MULTIPLICITY), coverage=coverage)
    return out


# --------------------------------------------------------------------------------------
# Domain-level data (published domain scores only, e.g. the real Q3 2025/26 extract)
# --------------------------------------------------------------------------------------
def domain_basket_averages(domain_scores, weights, *, draws: int = 1000, seed=0) -> np.ndarray:
    """Replicate averages ``(draws, n)`` from a bootstrap over each trust's own domain scores.

    Each replicate draws, for every trust independently, as many of its domain scores as it has
    (with replacement) and averages them with the domain ``weights`` of the scores drawn. A trust
    with no domain score gets NaN.

    >>> a = domain_basket_averages(np.array([[1.0, 1.0, 1.0], [1.0, 2.0, np.nan]]), np.ones(3), draws=200, seed=0)
    >>> a.shape, bool(np.all(a[:, 0] == 1.0)), bool(np.all((a[:, 1] >= 1) & (a[:, 1] <= 2)))
    ((200, 2), True, True)
    """
    draws = check_draws(draws)
    S = np.asarray(domain_scores, dtype=float)
    w = np.asarray(weights, dtype=float)
    n, m = S.shape
    have = np.isfinite(S)
    k = have.sum(axis=1)
    order = np.argsort(~have, axis=1, kind="stable")  # each trust's present domains first
    rng = np.random.default_rng(seed)
    pick = np.minimum((rng.random((draws, n, m)) * k[None, :, None]).astype(np.int64),
                      np.maximum(k - 1, 0)[None, :, None])
    idx = np.take_along_axis(np.broadcast_to(order, (draws, n, m)), pick, axis=2)
    used = np.arange(m)[None, None, :] < k[None, :, None]
    vals = np.take_along_axis(np.broadcast_to(np.nan_to_num(S), (draws, n, m)), idx, axis=2)
    wt = np.where(used, w[idx], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(k[None, :] > 0, (vals * wt).sum(-1) / wt.sum(-1), np.nan)


def domain_basket_bootstrap(domain_scores, weights, average, in_deficit, intensive_support, method: Method, *,
                            trust_codes, trust_names=None, draws: int = 1000, seed=0,
                            synthetic: bool = False) -> Replicates:
    """Replicate league tables from a bootstrap over each trust's published domain scores.

    For domain-level data (published averages and domain scores, no per-metric scores). The
    replicate averages (:func:`domain_basket_averages`, with the nominal domain ``weights``) are
    anchored on the published average: replicate = published + (replicate - the weighted mean of
    the trust's own domain scores), so that only the change the resampling makes moves a trust.
    Each replicate is segmented and ranked with ``method``. Source ``domains``: it reflects which
    domains count, not sampling noise, and with five domains it is coarse.
    """
    S = np.asarray(domain_scores, dtype=float)
    w = np.asarray(weights, dtype=float)
    avg = np.asarray(average, dtype=float)
    have = np.isfinite(S)
    with np.errstate(invalid="ignore", divide="ignore"):
        base = np.where(have, S, 0.0) @ w / (have * w[None, :]).sum(axis=1)
    reps = avg[None, :] + (domain_basket_averages(S, w, draws=draws, seed=seed) - base[None, :])
    deficit = np.asarray(in_deficit, dtype=bool)
    seg5 = np.asarray(intensive_support, dtype=bool)
    r = classify(reps, deficit, seg5, method)
    nom = classify(avg, deficit, seg5, method)
    nominal = {"average": avg, "average_2dp": nom["average_2dp"], "segment": nom["segment"], "rank": nom["rank"]}
    return Replicates("domains", pd.Index(trust_codes), reps, r["segment"], r["rank"], nominal, synthetic=synthetic,
                      method=method, kind="bootstrap", independent=True,
                      trust_names=None if trust_names is None else np.asarray(trust_names, dtype=object),
                      params={"draws": draws, "seed": seed, "weights": w.tolist()})
