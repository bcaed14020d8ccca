"""Where each trust stands, with its interval, and which pairs of trusts the data tell apart.

From a set of replicate league tables (:class:`~nhs_league.uncertainty.Replicates`):
:func:`positions` puts the trusts in order of the average, each with its interval, and runs the
simultaneous pair tests of both rankings: the rank of the average
(:func:`nhs_league.ranks.significance_matrix`, :func:`~nhs_league.ranks.adjacent_pairs`) and the
league rank (:meth:`~nhs_league.uncertainty.Replicates.league_sets`). :func:`pair_summary` counts,
trust by trust, what those tests say, without chaining pairwise results into a claim no test makes.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import pandas as pd

from . import ranks


@dataclass
class Positions:
    """Averages with intervals in order of the average, the pair tests of both rankings."""

    frame: pd.DataFrame  # index trust code (best first): name, estimate, lower, upper, se, league_rank, segment
    adjacent: pd.DataFrame  # ranks.adjacent_pairs (order of the average)
    significance: pd.DataFrame  # ranks.significance_matrix (rank of the average), +1/-1/0
    league: object  # ranks.LeagueRankSets (league rank)
    label: str  # what the intervals are


def estimates(reps) -> tuple[pd.Series, pd.DataFrame]:
    """The nominal averages of the trusts that have one, and the replicates' covariance of them."""
    est = pd.Series(reps.nominal["average"], index=reps.trust_codes, name="average", dtype=float)
    ok = est.notna().to_numpy()
    cov = reps.covariance()
    return est[ok], cov.loc[ok, ok]


def positions(reps, *, coverage: float = 0.95, draws: int = 1000, seed=0) -> Positions:
    """Each trust's average with its interval, in order of the average, with the pair tests.

    The interval is the percentile interval of the bootstrap replicates at ``coverage`` (jackknife:
    average ± z·SE). Pairs are judged with the simultaneous family at the same coverage, using the
    replicates' covariance (``draws`` simulation draws, ``seed``), for the rank of the average and for
    the league rank.
    """
    est, cov = estimates(reps)
    kw = dict(coverage=coverage, draws=draws, seed=seed)
    adj = ranks.adjacent_pairs(est, cov, **kw)
    sig = ranks.significance_matrix(est, cov, **kw)
    league = reps.league_sets(coverage, draws=draws, seed=seed)
    order = [adj["unit"].iloc[0], *adj["next_unit"]] if len(adj) else list(est.index)
    se = reps.se().reindex(est.index)
    if reps.kind == "bootstrap":
        s = reps.summary(coverage)
        lower, upper = s["average_low"].reindex(est.index), s["average_high"].reindex(est.index)
        how = f"{coverage:.0%} percentile interval, {reps.label}"
    else:
        z = NormalDist().inv_cdf(0.5 + coverage / 2)
        lower, upper = est - z * se, est + z * se
        how = f"{coverage:.0%} interval (average ± {z:.2f} jackknife SE), {reps.label}"
    by_code = (lambda v: pd.Series(v, index=reps.trust_codes).reindex(est.index))
    frame = pd.DataFrame({
        "name": by_code(reps.trust_names), "estimate": est, "lower": lower, "upper": upper, "se": se,
        "league_rank": by_code(reps.nominal["rank"]), "segment": by_code(reps.nominal["segment"]),
    }).loc[order]
    return Positions(frame, adj, sig, league, how)


def pair_summary(pos: Positions) -> tuple[pd.DataFrame, dict]:
    """What the pair tests say, trust by trust, without chaining them.

    Returns
    -------
    table : pandas.DataFrame
        In league order: ``Trust``, ``League rank``, ``Trusts surely ahead in the league``,
        ``Trusts surely behind in the league`` (league-rank test), ``Trusts significantly
        better by average``, ``Trusts significantly worse by average`` (average-rank test).
    facts : dict
        ``separation_league`` / ``separation_average``: how many places apart two trusts must
        typically be (half of the pairs that far apart told apart) in each ranking, or None;
        ``adjacent_league`` / ``adjacent_average``: adjacent pairs told apart, and ``pairs``.
    """
    lg = pos.league.table
    order = lg.sort_values(["league_rank"], kind="stable").index
    sig = pos.significance
    table = pd.DataFrame({
        "Trust": pos.frame["name"].reindex(order).to_numpy(), "League rank": lg.loc[order, "league_rank"].to_numpy(),
        "Trusts surely ahead in the league": lg.loc[order, "surely_ahead"].to_numpy(),
        "Trusts surely behind in the league": lg.loc[order, "surely_behind"].to_numpy(),
        "Trusts significantly better by average": (sig.loc[order] == -1).sum(axis=1).to_numpy(),
        "Trusts significantly worse by average": (sig.loc[order] == 1).sum(axis=1).to_numpy(),
    }, index=pd.Index(order, name="Trust code"))
    ladj = pos.league.adjacent(order)
    facts = {"separation_league": ranks.separation_places(pos.league.significance(), order),
             "separation_average": ranks.separation_places(sig, pos.frame.index),
             "adjacent_league": int(ladj["distinguishable"].sum()),
             "adjacent_average": int(pos.adjacent["distinguishable"].sum()), "pairs": len(ladj)}
    return table, facts
