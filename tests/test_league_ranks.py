"""Confidence sets for the league rank (segment after the override, then average): ranks.league_rank_sets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nhs_league.league import league_ranks
from nhs_league.methods import load_method
from nhs_league.pipeline import classify
from nhs_league.ranks import (league_rank_sets, rank_confidence_sets, separation_places, significance_matrix)

NOF = load_method("nof-2025-26")
T = 2.35 + 0.005  # the 2|3 boundary on unrounded averages (2-dp average <= 2.35)
FEW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def true_league_rank(theta, deficit, t, last=None):
    """1 + number of units ahead by (segment after the cap, average): the brute-force definition."""
    p = len(theta)
    last = np.zeros(p, bool) if last is None else last
    seg = np.where(theta <= t, 2, 3)  # only the 2|3 boundary matters for the order
    seg = np.where(deficit, np.maximum(seg, 3), seg) + 10 * last
    key = seg * 100.0 + theta
    return 1 + (key[:, None] < key[None, :]).sum(axis=0)


def test_no_noise_gives_the_league_rank_of_classify():
    rng = np.random.default_rng(3)
    avg = np.round(rng.uniform(1.5, 3.2, 40), 2)
    deficit = rng.random(40) < 0.3
    out = classify(avg, deficit, np.zeros(40, bool), NOF)
    s = league_rank_sets(pd.Series(avg), se=np.zeros(40), in_deficit=deficit, cap_cutoff=T)
    t = s.table
    # ties (equal 2-dp averages, same segment) share a competition rank: the set spans the tie
    assert ((t["lower"] <= out["rank"]) & (out["rank"] <= t["upper"])).all()
    distinct = ~pd.Series(list(zip(out["segment"], avg))).duplicated(keep=False).to_numpy()
    np.testing.assert_array_equal(t["lower"].to_numpy()[distinct], out["rank"][distinct])
    np.testing.assert_array_equal(t["upper"].to_numpy()[distinct], out["rank"][distinct])


def test_brute_force_rule_at_the_estimates():
    rng = np.random.default_rng(8)
    theta = rng.uniform(1.6, 3.1, 25)
    deficit = rng.random(25) < 0.4
    last = rng.random(25) < 0.1
    s = league_rank_sets(pd.Series(theta), se=np.full(25, 0.05), in_deficit=deficit, cap_cutoff=T, last=last)
    np.testing.assert_array_equal(s.table["league_rank"].to_numpy(), true_league_rank(theta, deficit, T, last))
    t = s.table
    assert ((t["lower"] <= t["league_rank"]) & (t["league_rank"] <= t["upper"])).all()


def test_a_capped_trust_is_surely_behind_every_trust_surely_below_the_boundary():
    est = pd.Series([1.5, 2.0, 2.6, 3.0], index=list("ABCD"))
    s = league_rank_sets(est, se=[0.02, 0.02, 0.3, 0.02], in_deficit=[True, False, False, False], cap_cutoff=T)
    a = s.ahead
    assert a.loc["B", "A"] and not a.loc["A", "B"]  # B below the boundary for sure: ahead of capped A
    assert a.loc["A", "D"]  # A's average is surely better than D's, and D is surely above the boundary
    assert not a.loc["A", "C"] and not a.loc["C", "A"]  # C may be below the boundary: undecided
    pd.testing.assert_frame_equal(s.significance(), -s.significance().T)


def test_quartile_boundary_is_bounded_over_the_region():
    est = pd.Series(np.linspace(1.8, 2.8, 12))
    med = lambda x: float(np.quantile(x, 0.5))  # noqa: E731 (a monotone boundary)
    s = league_rank_sets(est, se=np.full(12, 0.1), in_deficit=np.arange(12) % 3 == 0, cap_cutoff=med)
    t0, t_lo, t_hi = s.cutoff
    assert t_lo < t0 < t_hi
    wide = league_rank_sets(est, se=np.full(12, 0.1), in_deficit=np.arange(12) % 3 == 0, cap_cutoff=t0)
    # an uncertain boundary can only widen the sets
    assert (s.table["lower"] <= wide.table["lower"]).all() and (s.table["upper"] >= wide.table["upper"]).all()


def test_adjacent_top_and_separation_views():
    est = pd.Series([1.5, 1.55, 2.0, 2.9, 2.92], index=list("ABCDE"))
    s = league_rank_sets(est, se=[0.02] * 5, in_deficit=[False, True, False, False, False], cap_cutoff=T)
    adj = s.adjacent()
    assert adj["unit"].tolist() == ["A", "C", "B", "D"] and adj["next_unit"].iloc[-1] == "E"
    assert adj["distinguishable"].tolist() == [True, True, True, False]
    assert list(s.top(2)) == ["A", "C"]
    order = s.table.sort_values("league_rank").index
    assert separation_places(s.significance(), order) == 1


def _simulate(theta, se, deficit, reps, seed, draws=400):
    rng = np.random.default_rng(seed)
    true = true_league_rank(theta, deficit, T)
    joint = 0
    for rep in range(reps):  # one simulated data set per iteration (a test loop, not a hot path)
        est = pd.Series(theta + rng.normal(0.0, se))
        t = league_rank_sets(est, se=se, in_deficit=deficit, cap_cutoff=T, draws=draws, seed=rep).table
        joint += bool(((t["lower"] <= true) & (true <= t["upper"])).all())
    return joint / reps


def test_coverage_by_simulation_small():
    """Joint coverage of all true league ranks >= 95% (less 3 Monte Carlo s.e.); full sizes in
    benchmarks/bench_league_ranks.py."""
    rng = np.random.default_rng(11)
    p, reps = 20, 150
    theta = np.sort(rng.uniform(1.8, 2.9, p))
    theta[5] = T - 0.01  # a deficit trust just below the boundary: the hardest case for the cap
    deficit = np.zeros(p, bool)
    deficit[[2, 5, 9, 15]] = True
    se = np.linspace(0.05, 0.15, p)
    floor = 0.95 - 3 * np.sqrt(0.95 * 0.05 / reps)
    assert _simulate(theta, se, deficit, reps, seed=1) >= floor


def test_coverage_with_everything_equal_is_not_trivial():
    """All true averages equal and on the boundary's better side: the sets must still cover,
    and must not be the whole table every time (the test has power on the deficit split)."""
    p = 10
    theta = np.full(p, 2.0)
    deficit = np.arange(p) < 3
    se = np.full(p, 0.02)
    assert _simulate(theta, se, deficit, 100, seed=2) >= 0.95 - 3 * np.sqrt(0.95 * 0.05 / 100)
    t = league_rank_sets(pd.Series(theta), se=se, in_deficit=deficit, cap_cutoff=T).table
    assert (t.loc[deficit, "lower"] == 8).all()  # capped trusts surely behind the 7 others


# ---- property tests ------------------------------------------------------------------
problems = st.integers(3, 12).flatmap(lambda p: st.tuples(
    st.lists(st.integers(150, 320), min_size=p, max_size=p),
    st.lists(st.integers(0, 20), min_size=p, max_size=p),
    st.lists(st.booleans(), min_size=p, max_size=p),
    st.integers(0, 10_000)))


@FEW
@given(problems)
def test_property_marginal_inside_simultaneous_and_stepdown_inside_single_step(prob):
    vals, ses, _, seed = prob
    est = pd.Series(np.array(vals) / 100)
    se = np.array(ses) / 100 + 0.001
    kw = dict(se=se, draws=300, seed=seed)
    sim = rank_confidence_sets(est, **kw)
    mar = rank_confidence_sets(est, simultaneous=False, **kw)
    single = rank_confidence_sets(est, stepdown=False, **kw)
    assert ((sim["lower"] <= mar["lower"]) & (mar["upper"] <= sim["upper"])).all()
    assert ((single["lower"] <= sim["lower"]) & (sim["upper"] <= single["upper"])).all()


@FEW
@given(problems)
def test_property_league_set_holds_the_published_rank_without_noise(prob):
    vals, _, deficit, _ = prob
    avg = np.array(vals) / 100
    deficit = np.array(deficit)
    published = league_ranks(classify(avg, deficit, np.zeros(len(avg), bool), NOF)["segment"], avg)
    t = league_rank_sets(pd.Series(avg), se=np.zeros(len(avg)), in_deficit=deficit, cap_cutoff=T).table
    assert ((t["lower"] <= published) & (published <= t["upper"])).all()


@FEW
@given(problems)
def test_property_league_sets_hold_the_point_and_are_permutation_equivariant(prob):
    vals, ses, deficit, seed = prob
    est = pd.Series(np.array(vals) / 100, index=[f"U{i}" for i in range(len(vals))])
    se = pd.Series(np.array(ses) / 100, index=est.index)
    d = np.array(deficit)
    s = league_rank_sets(est, se=se, in_deficit=d, cap_cutoff=T, draws=200, seed=seed).table
    assert ((s["lower"] <= s["league_rank"]) & (s["league_rank"] <= s["upper"])).all()
    perm = np.random.default_rng(seed).permutation(len(est))
    s2 = league_rank_sets(est.iloc[perm], se=se.iloc[perm], in_deficit=d[perm], cap_cutoff=T, draws=200,
                          seed=seed).table
    pd.testing.assert_frame_equal(s2.loc[s.index], s)


def test_bad_arguments():
    with pytest.raises(ValueError, match="one value per unit"):
        league_rank_sets(pd.Series([1.0, 2.0]), se=[0.1, 0.1], in_deficit=[True], cap_cutoff=T)
    with pytest.raises(ValueError, match="exactly one"):
        league_rank_sets(pd.Series([1.0, 2.0]), in_deficit=[True, False], cap_cutoff=T)


def test_significance_view_agrees_with_average_matrix_when_no_trust_is_in_deficit():
    rng = np.random.default_rng(5)
    est = pd.Series(rng.uniform(1.5, 3.0, 15))
    se = np.full(15, 0.08)
    s = league_rank_sets(est, se=se, in_deficit=np.zeros(15, bool), cap_cutoff=T)
    avg = significance_matrix(est, se=se, stepdown=False)
    # the league region adds the level box to the pair slabs, so it decides no more pairs than
    # the average test does (single step), and never the opposite way
    sig = s.significance()
    assert ((sig != 0) <= (avg != 0)).to_numpy().all() and ((sig * avg) >= 0).to_numpy().all()
