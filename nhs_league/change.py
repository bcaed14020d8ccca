"""How trusts change between quarters: one trust's course over the quarters, and a paired
comparison of two quarters for every trust.

Both take panels and method presets (:class:`~nhs_league.pipeline.Panel`,
:class:`~nhs_league.methods.Method`), never files: the report layer
(:mod:`nhs_league.report.analyses`) decides which quarters an input supports and which preset each
quarter uses, then calls these.

- :func:`trend`: a trust's average with its interval, its league rank, its segment, the preset and
  its cut-offs, quarter by quarter.
- :func:`compare_quarters`: has each trust's average moved by more than the choice of its metrics
  explains? (:func:`nhs_league.uncertainty.paired_quarter_change`, read three ways: unadjusted, Holm,
  Benjamini–Hochberg), with both quarters' league ranks and segments.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

from .methods import Method
from .pipeline import Panel, compute
from .quarters import Quarter

#: The columns of :func:`trend`, in order.
TREND_COLUMNS = ["quarter", "estimate", "lower", "upper", "league_rank", "segment", "method", "cutoffs"]


@dataclass(frozen=True)
class QuarterRun:
    """One quarter of a trend: its panel, its method preset and, optionally, its replicates.

    ``replicates`` (a :class:`~nhs_league.uncertainty.Replicates`) gives the interval. Left as None,
    the interval comes from the metric-basket bootstrap of the one trust the trend is for
    (:func:`~nhs_league.uncertainty.basket_bootstrap_averages`: the same draws, and so the same
    numbers, as that trust's column of a full :func:`~nhs_league.uncertainty.basket_bootstrap`).
    """

    panel: Panel
    method: Method
    replicates: object = None


def _interval(col: np.ndarray, average: float, kind: str, se: float, coverage: float) -> tuple[float, float]:
    """Percentile interval of bootstrap replicate averages, or average ± z·SE for a jackknife."""
    if kind == "bootstrap":
        if np.isnan(col).all():
            return np.nan, np.nan
        lo, hi = np.nanquantile(col, [(1 - coverage) / 2, 1 - (1 - coverage) / 2])
        return float(lo), float(hi)
    z = NormalDist().inv_cdf(0.5 + coverage / 2)
    return average - z * se, average + z * se


def trend(trust_code: str, runs, *, coverage: float = 0.95, draws: int = 1000, seed=0) -> pd.DataFrame:
    """The trust's average, interval, league rank and segment in each quarter of ``runs``.

    Parameters
    ----------
    trust_code : str
        ODS code. A quarter whose panel does not hold the trust is left out.
    runs : iterable of QuarterRun
        The quarters to show, in the order given (the caller leaves out quarters after the report's).
    coverage, draws, seed
        The interval's coverage; the draws and seed of the one-trust basket bootstrap (quarters without
        replicates of their own).

    Returns
    -------
    pandas.DataFrame
        :data:`TREND_COLUMNS`: quarter label, unrounded average (``estimate``), the interval
        (bootstrap: percentile interval of the replicate averages; jackknife: average ± z·SE, z for
        ``coverage``), league rank and segment of the nominal run, the preset's name and its cut-offs
        ("a / b / c"; blank when the preset does not segment by cut-offs).
    """
    from .uncertainty import basket_bootstrap_averages

    rows = []
    for run in runs:  # a handful of quarters at most
        panel, m, reps = run.panel, run.method, run.replicates
        if trust_code not in panel.trusts.index:
            continue
        i = panel.trusts.index.get_loc(trust_code)
        if reps is not None:
            nominal, kind, col = reps.nominal, reps.kind, reps.average[:, i]
        else:
            nominal, kind = compute(panel, m), "bootstrap"
            col = basket_bootstrap_averages(panel, m, [trust_code], draws=draws, seed=seed,
                                            nominal=nominal)[trust_code].to_numpy()
        avg = float(np.asarray(nominal["average"], dtype=float)[i])
        se = float(reps.se().iloc[i]) if kind != "bootstrap" else np.nan
        lo, hi = _interval(col, avg, kind, se, coverage)
        by_cutoffs = m.settings["segmentation"]["rule"] == "cutoffs"
        rows.append({"quarter": Quarter.parse(panel.quarter).label, "estimate": avg, "lower": lo, "upper": hi,
                     "league_rank": int(nominal["rank"][i]), "segment": int(nominal["segment"][i]),
                     "method": m.name, "cutoffs": " / ".join(f"{c:.2f}" for c in m.cutoffs) if by_cutoffs else ""})
    return pd.DataFrame(rows, columns=TREND_COLUMNS)


def compare_quarters(now: Panel, before: Panel, method_now: Method, method_before: Method, *, draws: int = 1000,
                     seed=0, coverage: float = 0.95, result_now: dict | None = None) -> pd.DataFrame:
    """Each trust's move from ``before`` to ``now``, judged against the choice of its metrics.

    A paired bootstrap of the metric-level changes
    (:func:`nhs_league.uncertainty.paired_quarter_change`: the same metric draws in both quarters,
    each quarter scored with its own preset), with three readings of "moved": unadjusted, Holm
    (familywise) and Benjamini–Hochberg (false discovery rate). ``result_now`` is
    ``pipeline.compute(now, method_now)`` when the caller already has it.

    Returns
    -------
    pandas.DataFrame
        Indexed by trust code, sorted by change (most improved first): the columns of
        ``paired_quarter_change`` plus ``verdict`` (the Holm reading, or "within noise"),
        ``beyond_noise`` (Holm), ``league_rank_before``, ``league_rank``, ``segment_before`` and
        ``segment`` (each quarter's league, blank for a trust absent from it). ``attrs``: those of
        ``paired_quarter_change`` (``unmatched``, ``alpha``, ``n_tests``, ``expected_by_chance``,
        ``multiplicity``) plus ``previous`` (quarter code), ``previous_label`` and ``methods``
        (quarter code -> preset name).
    """
    from .uncertainty import paired_quarter_change

    ch = paired_quarter_change(now, before, method_now, method_before, draws=draws, seed=seed, coverage=coverage)
    ch["verdict"] = np.where(ch["moved_holm"] != "", ch["moved_holm"], "within noise")
    ch["beyond_noise"] = ch["moved_holm"] != ""
    now_result = compute(now, method_now) if result_now is None else result_now
    for col, panel, res in (("", now, now_result), ("_before", before, compute(before, method_before))):
        ch[f"league_rank{col}"] = pd.Series(res["rank"], index=panel.trusts.index).reindex(ch.index)
        ch[f"segment{col}"] = pd.Series(res["segment"], index=panel.trusts.index).reindex(ch.index)
    out = ch.sort_values(["change"], kind="stable")
    out.attrs.update(ch.attrs)
    prev = Quarter.parse(before.quarter)
    out.attrs.update(previous=prev.code, previous_label=prev.label,
                     methods={prev.code: method_before.name, Quarter.parse(now.quarter).code: method_now.name})
    return out
