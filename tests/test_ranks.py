"""Tests for nhs_league.ranks: confidence sets for ranks (Mogstad, Romano, Shaikh & Wilhelm)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nhs_league import ranks
from nhs_league.ranks import (
    adjacent_pairs,
    one_sided_rank_sets,
    rank_confidence_sets,
    runs,
    significance_matrix,
    tau_best_set,
    tau_worst_set,
)


def frame(rank, lower, upper, index):
    return pd.DataFrame(
        {"rank": np.asarray(rank, dtype=np.int64),
         "lower": np.asarray(lower, dtype=np.int64),
         "upper": np.asarray(upper, dtype=np.int64)},
        index=pd.Index(index),
    )


def contains(outer: pd.DataFrame, inner: pd.DataFrame) -> bool:
    """Every set of ``inner`` lies inside the matching set of ``outer``."""
    return bool(((outer["lower"] <= inner["lower"]) & (inner["upper"] <= outer["upper"])).all())


# --------------------------------------------------------------------------------------
# Worked examples
# --------------------------------------------------------------------------------------
FOUR = pd.Series([1.0, 1.1, 5.0, 9.0], index=["A", "B", "C", "D"])
FOUR_SE = pd.Series(0.1, index=FOUR.index)

# Hand derivation. Every pair has sd(θ̂_j − θ̂_k) = sqrt(0.1² + 0.1²) = 0.1414.
#   |t_AB| = 0.1 / 0.1414 = 0.71; every other |t| >= (5.0 − 1.1) / 0.1414 = 27.6.
# First step: the null maximum over all 12 ordered pairs is range(Z)/(0.1·√2) with Z four
# iid N(0, 0.1²) draws, i.e. the range of 4 standard normals over √2, whose 95% quantile is
# 3.63/√2 = 2.57. Later steps drop hypotheses, so c only falls, but the family still holds
# the single hypothesis "B better than A", so c >= 1.645. Any c in [0.71, 27.6] gives the
# same verdicts: A vs B undecided, every other pair decided in the direction of the
# estimates. Marginal families (sub-families) give c in the same range. Hence
#   A: 0 better, 2 worse -> [1, 4 − 2] = [1, 2]     B: 0 better, 2 worse -> [1, 2]
#   C: 2 better, 1 worse -> [3, 3]                  D: 3 better, 0 worse -> [4, 4]
FOUR_SETS = frame([1, 2, 3, 4], [1, 1, 3, 4], [2, 2, 3, 4], FOUR.index)


@pytest.mark.parametrize("simultaneous", [True, False])
@pytest.mark.parametrize("stepdown", [True, False])
def test_four_units_worked_by_hand(simultaneous, stepdown):
    got = rank_confidence_sets(FOUR, se=FOUR_SE, simultaneous=simultaneous, stepdown=stepdown)
    pd.testing.assert_frame_equal(got, FOUR_SETS)


def test_four_units_higher_is_better_reverses_ranks():
    # D best, C second, A and B tied-in-uncertainty at the bottom
    got = rank_confidence_sets(FOUR, se=FOUR_SE, lower_is_better=False)
    pd.testing.assert_frame_equal(got, frame([4, 3, 2, 1], [3, 3, 2, 1], [4, 4, 2, 1], FOUR.index))


def test_four_units_significance_matrix_adjacent_pairs_and_runs():
    m = significance_matrix(FOUR, se=FOUR_SE)
    expected = pd.DataFrame(
        [[0, 0, 1, 1],
         [0, 0, 1, 1],
         [-1, -1, 0, 1],
         [-1, -1, -1, 0]],
        index=FOUR.index, columns=FOUR.index, dtype=np.int64,
    )
    pd.testing.assert_frame_equal(m, expected)

    adj = adjacent_pairs(FOUR, se=FOUR_SE)
    pd.testing.assert_series_equal(adj["unit"], pd.Series(["A", "B", "C"], name="unit"),
                                   check_dtype=False)
    pd.testing.assert_series_equal(adj["next_unit"], pd.Series(["B", "C", "D"], name="next_unit"),
                                   check_dtype=False)
    pd.testing.assert_series_equal(adj["distinguishable"],
                                   pd.Series([False, True, True], name="distinguishable"))
    np.testing.assert_allclose(adj["difference"], [0.1, 3.9, 4.0])
    np.testing.assert_allclose(adj["se"], np.sqrt(0.02))
    np.testing.assert_allclose(adj["z"], adj["difference"] / adj["se"])
    pd.testing.assert_series_equal(
        runs(adj), pd.Series([1, 1, 2, 3], index=pd.Index(list("ABCD"), name="unit"),
                             name="run", dtype=np.int64),
        check_index_type=False,
    )


# Two units with sd(θ̂_A − θ̂_B) = 1 exactly (se = 1/√2 each), so t = θ̂_B − θ̂_A and the
# critical values are textbook normal quantiles:
#   two-sided family {A<B, B<A}: null max = |N(0,1)|  -> c = 1.95996
#   after one rejection the family is one hypothesis   -> c = 1.64485 (but t < 0 there)
#   one-sided marginal lower bound of B: {A better than B} -> c = 1.64485
# With 200,000 draws the Monte Carlo s.e. of these quantiles is ~0.005, so gaps of 0.05
# to either side give unambiguous verdicts.
TWO_SE = [2 ** -0.5, 2 ** -0.5]


@pytest.mark.parametrize(
    "gap, expected_lower, expected_upper",
    [(1.90, [1, 1], [2, 2]), (2.02, [1, 2], [1, 2])],
)
def test_two_units_analytic_critical_value(gap, expected_lower, expected_upper):
    est = pd.Series([0.0, gap], index=["A", "B"])
    for simultaneous in (True, False):
        got = rank_confidence_sets(est, se=TWO_SE, draws=200_000, simultaneous=simultaneous)
        pd.testing.assert_frame_equal(got, frame([1, 2], expected_lower, expected_upper, est.index))


def test_two_units_one_sided_marginal_uses_one_sided_quantile():
    est = pd.Series([0.0, 1.70], index=["A", "B"])  # 1.645 < 1.70 < 1.960
    two = rank_confidence_sets(est, se=TWO_SE, draws=200_000, simultaneous=False)
    pd.testing.assert_frame_equal(two, frame([1, 2], [1, 1], [2, 2], est.index))
    low = one_sided_rank_sets(est, se=TWO_SE, side="lower", draws=200_000, simultaneous=False)
    pd.testing.assert_frame_equal(low, frame([1, 2], [1, 2], [2, 2], est.index))
    up = one_sided_rank_sets(est, se=TWO_SE, side="upper", draws=200_000, simultaneous=False)
    pd.testing.assert_frame_equal(up, frame([1, 2], [1, 1], [1, 2], est.index))


# PISA 2018 mathematics, 37 OECD countries (OECD; as shipped with the csranks R package).
PISA = pd.DataFrame.from_records(
    [
        ("Australia", 491.3600252, 1.939833031), ("Austria", 498.9423138, 2.970998694),
        ("Belgium", 508.0703063, 2.262662011), ("Canada", 512.0169429, 2.357475749),
        ("Chile", 417.4065563, 2.41588757), ("Colombia", 390.9322732, 2.989559274),
        ("Czech Republic", 499.4676508, 2.460661531), ("Denmark", 509.3983746, 1.735002337),
        ("Estonia", 523.4145802, 1.743602224), ("Finland", 507.3013618, 1.967920411),
        ("France", 495.4075794, 2.320214487), ("Germany", 500.0437805, 2.647083096),
        ("Greece", 451.3703438, 3.091228197), ("Hungary", 481.0826364, 2.319596741),
        ("Iceland", 495.1873762, 1.953082603), ("Ireland", 499.632894, 2.198621128),
        ("Israel", 463.0345488, 3.498563228), ("Italy", 486.5898573, 2.780045867),
        ("Japan", 526.9732502, 2.471475318), ("Korea", 525.933002, 3.121394315),
        ("Latvia", 496.1263306, 1.962766789), ("Lithuania", 481.1911884, 1.953282039),
        ("Luxembourg", 483.421485, 1.097632409), ("Mexico", 408.8014734, 2.493225544),
        ("Netherlands", 519.2309824, 2.632277885), ("New Zealand", 494.489676, 1.705942856),
        ("Norway", 500.9637885, 2.219044878), ("Poland", 515.6478747, 2.602085176),
        ("Portugal", 492.4874062, 2.684570081), ("Slovak Republic", 486.1648542, 2.555595707),
        ("Slovenia", 508.8975441, 1.363877596), ("Spain", 481.3926126, 1.462417763),
        ("Sweden", 502.3877022, 2.654250935), ("Switzerland", 515.3147131, 2.908003898),
        ("Turkey", 453.5077774, 2.260406789), ("United Kingdom", 501.7698992, 2.564428111),
        ("United States", 478.2447174, 3.235444099),
    ],
    columns=["country", "score", "se"],
    index="country",
)


def test_pisa_example_matches_published_figures():
    # csranks documentation / MRSW: UK point rank 13, 95% marginal set 7-23; the 95%
    # top-5 set holds 12 countries. The UK's lower bound sits on a Monte Carlo knife-edge
    # (7 or 8 with 1,000 draws), so use 20,000 draws for it.
    marg = rank_confidence_sets(PISA.score, se=PISA.se, simultaneous=False,
                                lower_is_better=False, draws=20_000)
    pd.testing.assert_series_equal(marg.loc["United Kingdom"],
                                   pd.Series([13, 7, 23], index=["rank", "lower", "upper"],
                                             name="United Kingdom", dtype=np.int64))
    top5 = tau_best_set(PISA.score, 5, se=PISA.se, lower_is_better=False)
    assert int(top5.sum()) == 12
    # the five point-best countries are certainly in it
    best5 = PISA.score.sort_values(ascending=False).index[:5]
    assert top5.loc[best5].all()


# --------------------------------------------------------------------------------------
# Invariants
# --------------------------------------------------------------------------------------
def random_problem(p, seed, full_cov=False):
    rng = np.random.default_rng(seed)
    labels = [f"R{i:02d}" for i in range(p)]
    est = pd.Series(rng.normal(2.4, 0.3, p), index=labels)
    se = pd.Series(rng.uniform(0.05, 0.2, p), index=labels)
    if not full_cov:
        return est, se, None
    a = rng.normal(size=(p, p)) * 0.05
    cov = pd.DataFrame(a @ a.T + np.diag(se.to_numpy() ** 2), index=labels, columns=labels)
    return est, None, cov


@pytest.mark.parametrize("full_cov", [False, True])
@pytest.mark.parametrize("simultaneous", [True, False])
def test_permuting_and_relabelling_units_permutes_the_answer(full_cov, simultaneous):
    est, se, cov = random_problem(15, 1, full_cov)
    base = rank_confidence_sets(est, cov, se=se, simultaneous=simultaneous, draws=300, seed=7)
    perm = np.random.default_rng(2).permutation(15)
    new_labels = [f"X{i}" for i in perm]  # relabel too
    rename = dict(zip(est.index[perm], new_labels))
    est_p = est.iloc[perm].rename(rename)
    se_p = None if se is None else se.iloc[perm].rename(rename)
    cov_p = None if cov is None else cov.iloc[perm, perm].rename(index=rename, columns=rename)
    got = rank_confidence_sets(est_p, cov_p, se=se_p, simultaneous=simultaneous, draws=300, seed=7)
    pd.testing.assert_frame_equal(got, base.iloc[perm].rename(index=rename))
    sig = significance_matrix(est, cov, se=se, simultaneous=simultaneous, draws=300, seed=7)
    sig_p = significance_matrix(est_p, cov_p, se=se_p, simultaneous=simultaneous, draws=300, seed=7)
    pd.testing.assert_frame_equal(sig_p, sig.iloc[perm, perm].rename(index=rename, columns=rename))


def test_deterministic_under_seed_and_se_equals_diagonal_cov():
    est, se, _ = random_problem(20, 3)
    a = rank_confidence_sets(est, se=se, seed=11, draws=400)
    b = rank_confidence_sets(est, se=se, seed=11, draws=400)
    pd.testing.assert_frame_equal(a, b)
    # the same diagonal covariance given as an array, or as a shuffled labelled frame
    c = rank_confidence_sets(est, np.diag(se.to_numpy() ** 2), seed=11, draws=400)
    pd.testing.assert_frame_equal(a, c)
    shuffled = est.index[::-1]
    cov_df = pd.DataFrame(np.diag(se.reindex(shuffled).to_numpy() ** 2), index=shuffled, columns=shuffled)
    pd.testing.assert_frame_equal(a, rank_confidence_sets(est, cov_df, seed=11, draws=400))
    pd.testing.assert_frame_equal(a, rank_confidence_sets(est, se=se.iloc[::-1], seed=11, draws=400))


def test_higher_is_better_equals_negated_estimates():
    est, se, _ = random_problem(12, 4)
    a = rank_confidence_sets(est, se=se, lower_is_better=False, draws=300)
    b = rank_confidence_sets(-est, se=se, lower_is_better=True, draws=300)
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("simultaneous", [True, False])
def test_vanishing_standard_errors_give_the_point_rank(simultaneous):
    est, _, _ = random_problem(30, 5)
    got = rank_confidence_sets(est, se=np.full(30, 1e-9), simultaneous=simultaneous, draws=200)
    pd.testing.assert_series_equal(got["lower"], got["rank"], check_names=False)
    pd.testing.assert_series_equal(got["upper"], got["rank"], check_names=False)


def test_zero_covariance_and_exact_ties():
    # zero variance: the order is known; tied units cannot be separated
    est = pd.Series([3.0, 1.0, 2.0, 2.0], index=list("wxyz"))
    got = rank_confidence_sets(est, np.zeros((4, 4)), draws=50)
    pd.testing.assert_frame_equal(got, frame([4, 1, 2, 2], [4, 1, 2, 2], [4, 1, 3, 3], est.index))


def test_perfectly_correlated_pair_is_ordered_without_noise():
    # A and B share all their noise: their difference is known exactly
    cov = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    est = pd.Series([0.0, 0.001, 0.5], index=list("ABC"))
    got = rank_confidence_sets(est, cov, draws=500)
    assert got.loc["A", "upper"] <= 2 and got.loc["B", "lower"] >= 2
    sig = significance_matrix(est, cov, draws=500)
    assert sig.loc["A", "B"] == 1 and sig.loc["B", "A"] == -1


def test_single_unit():
    got = rank_confidence_sets(pd.Series([2.0], index=["only"]), se=[0.1])
    pd.testing.assert_frame_equal(got, frame([1], [1], [1], ["only"]))


# Hypothesis: random small problems; every structural invariant of the method.
problems = st.integers(2, 8).flatmap(
    lambda p: st.tuples(
        st.lists(st.floats(-5, 5, allow_nan=False), min_size=p, max_size=p),
        st.lists(st.floats(0.01, 2.0), min_size=p, max_size=p),
        st.integers(0, 2 ** 32 - 1),
        st.booleans(),
    )
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems)
def test_properties(problem):
    values, ses, seed, lower_is_better = problem
    p = len(values)
    est = pd.Series(values, index=[f"u{i}" for i in range(p)])
    kw = dict(se=ses, draws=150, seed=seed, lower_is_better=lower_is_better)
    sim = rank_confidence_sets(est, **kw)
    mar = rank_confidence_sets(est, simultaneous=False, **kw)
    sim_1 = rank_confidence_sets(est, stepdown=False, **kw)
    mar_1 = rank_confidence_sets(est, simultaneous=False, stepdown=False, **kw)
    for res in (sim, mar, sim_1, mar_1):
        pd.testing.assert_index_equal(res.index, est.index)
        assert (res.dtypes == np.int64).all()
        assert ((1 <= res["lower"]) & (res["lower"] <= res["rank"])
                & (res["rank"] <= res["upper"]) & (res["upper"] <= p)).all()
    expected_rank = est.rank(method="min", ascending=lower_is_better).astype(np.int64)
    pd.testing.assert_series_equal(sim["rank"], expected_rank, check_names=False)
    assert contains(sim, mar)  # simultaneous ⊇ marginal
    assert contains(sim_1, sim) and contains(mar_1, mar)  # stepdown ⊆ single step

    # one-sided: simultaneous bound = two-sided bound; marginal bound at least as tight
    low = one_sided_rank_sets(est, side="lower", **kw)
    pd.testing.assert_series_equal(low["lower"], sim["lower"])
    assert (low["upper"] == p).all()
    up = one_sided_rank_sets(est, side="upper", **kw)
    pd.testing.assert_series_equal(up["upper"], sim["upper"])
    assert (up["lower"] == 1).all()
    low_m = one_sided_rank_sets(est, side="lower", simultaneous=False, **kw)
    assert (low_m["lower"] >= mar["lower"]).all()

    # the significance matrix is antisymmetric and reproduces the simultaneous sets
    sig = significance_matrix(est, **kw)
    np.testing.assert_array_equal(sig.to_numpy(), -sig.to_numpy().T)
    pd.testing.assert_series_equal(1 + (sig == -1).sum(axis=1), sim["lower"], check_names=False)
    pd.testing.assert_series_equal(p - (sig == 1).sum(axis=1), sim["upper"], check_names=False)
    # marginal verdicts are a superset of simultaneous ones
    sig_m = significance_matrix(est, simultaneous=False, **kw)
    assert ((sig != 0) <= (sig_m != 0)).all().all()

    # adjacent pairs agree with the matrix; runs partition the units in rank order
    adj = adjacent_pairs(est, **kw)
    assert len(adj) == p - 1
    looked_up = [sig.loc[a, b] != 0 for a, b in zip(adj["unit"], adj["next_unit"])]
    assert adj["distinguishable"].tolist() == looked_up
    assert (adj["rank"] <= adj["next_rank"]).all()
    r = runs(adj)
    assert sorted(r.index) == sorted(est.index)
    assert r.iloc[0] == 1 and (np.diff(r.to_numpy()) >= 0).all()
    assert r.iloc[-1] == 1 + adj["distinguishable"].sum()

    # tau-best / tau-worst
    for tau in {1, p // 2 or 1, p}:
        tb = tau_best_set(est, tau, **kw)
        pd.testing.assert_series_equal(tb, (sim["lower"] <= tau).rename("tau_best"))
        assert tb.sum() >= tau
        tw = tau_worst_set(est, tau, **kw)
        assert tw.sum() >= tau


# --------------------------------------------------------------------------------------
# The optimised engine against a brute-force reference on the same draws
# --------------------------------------------------------------------------------------
def reference_bounds(problem, z, coverage, simultaneous, stepdown, side):
    """MRSW written out directly: the full draws × p × p tensor, np.quantile, loops."""
    p = problem.p
    t_stat, valid = problem.stat, problem.valid
    null = (z[:, :, None] - z[:, None, :]) * problem.inv_sd  # null[s, j, k] for H_jk
    off = ~np.eye(p, dtype=bool)

    def stepwise(family):  # family: boolean p × p over hypotheses (j, k)
        rejected = np.zeros((p, p), dtype=bool)
        while True:
            in_play = family & ~rejected
            maxima = np.where(in_play & valid, null, -np.inf).max(axis=(1, 2))
            crit = np.quantile(maxima, coverage, method="inverted_cdf")
            new = in_play & (t_stat > max(crit, 0.0))
            if not new.any():
                return rejected
            rejected |= new
            if not stepdown:
                return rejected

    lower, upper = np.ones(p, dtype=int), np.full(p, p)
    if simultaneous:
        rej = stepwise(off)
        lower, upper = 1 + rej.sum(axis=0), p - rej.sum(axis=1)
    else:
        for i in range(p):
            family = np.zeros((p, p), dtype=bool)
            if side in ("two-sided", "upper"):
                family[i, :] = off[i]  # "i better than k"
            if side in ("two-sided", "lower"):
                family[:, i] = off[:, i]  # "k better than i"
            rej = stepwise(family)
            lower[i], upper[i] = 1 + rej[:, i].sum(), p - rej[i, :].sum()
    if side == "lower":
        upper = np.full(p, p)
    elif side == "upper":
        lower = np.ones(p, dtype=int)
    return lower, upper


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    st.integers(2, 9),
    st.integers(0, 2 ** 32 - 1),
    st.sampled_from(["diag", "full", "degenerate"]),
    st.sampled_from([0.5, 0.8, 0.9, 0.95]),
    st.booleans(),
    st.booleans(),
    st.sampled_from(["two-sided", "lower", "upper"]),
    st.sampled_from([1, 2]),
)
def test_engine_matches_brute_force_reference(monkeypatch, p, seed, cov_kind, coverage,
                                              simultaneous, stepdown, side, first_round):
    # first_round=1 makes the lazy stepdown update take its doubling path often
    monkeypatch.setattr(ranks._NullMaxima, "first_round", first_round)
    rng = np.random.default_rng(seed)
    est = pd.Series(np.round(rng.normal(0, 1, p), 1))  # rounding makes ties likely
    if cov_kind == "diag":
        cov = np.diag(rng.uniform(0.01, 0.5, p))
    else:
        a = rng.normal(size=(p, p if cov_kind == "full" else 1))
        cov = a @ a.T * 0.1 + (np.diag(rng.uniform(0.01, 0.2, p)) if cov_kind == "full" else 0)
        if cov_kind == "degenerate":  # rank one plus two identical units: zero-variance pairs
            cov[0, :] = cov[:, 0] = 0.0
            cov[1, :] = cov[:, 1] = 0.0
    draws = 197
    if side == "two-sided":
        got = rank_confidence_sets(est, cov, coverage=coverage, simultaneous=simultaneous,
                                   stepdown=stepdown, draws=draws, seed=seed)
    else:
        got = one_sided_rank_sets(est, cov, side=side, coverage=coverage,
                                  simultaneous=simultaneous, stepdown=stepdown, draws=draws,
                                  seed=seed)
    problem = ranks._prepare(est, cov, None, True)
    z = ranks._draws(problem, draws, seed)
    lower, upper = reference_bounds(problem, z, coverage, simultaneous, stepdown, side)
    np.testing.assert_array_equal(got["lower"].to_numpy(), ranks._to_input_order(problem, lower))
    np.testing.assert_array_equal(got["upper"].to_numpy(), ranks._to_input_order(problem, upper))


@pytest.mark.parametrize("first_round", [1, 2])
@pytest.mark.parametrize("simultaneous", [True, False])
@pytest.mark.parametrize("seed, full_cov", [(0, False), (1, True), (2, False), (3, True)])
def test_engine_matches_reference_on_larger_problems(monkeypatch, seed, full_cov, simultaneous,
                                                     first_round):
    # 30 units: many rejections per stepdown step, so the lazy update must recompute
    # stale maxima and (with first_round=1) widen its search; compare bit for bit
    monkeypatch.setattr(ranks._NullMaxima, "first_round", first_round)
    est, se, cov = random_problem(30, seed, full_cov)
    got = rank_confidence_sets(est, cov, se=se, simultaneous=simultaneous, draws=300, seed=seed)
    problem = ranks._prepare(est, cov, se, True)
    z = ranks._draws(problem, 300, seed)
    lower, upper = reference_bounds(problem, z, 0.95, simultaneous, True, "two-sided")
    np.testing.assert_array_equal(got["lower"].to_numpy(), ranks._to_input_order(problem, lower))
    np.testing.assert_array_equal(got["upper"].to_numpy(), ranks._to_input_order(problem, upper))


@pytest.mark.parametrize("simultaneous", [True, False])
def test_chunk_size_does_not_change_the_answer(monkeypatch, simultaneous):
    est, se, _ = random_problem(40, 12)
    base = rank_confidence_sets(est, se=se, simultaneous=simultaneous, draws=500)
    low = one_sided_rank_sets(est, se=se, simultaneous=simultaneous, draws=500)
    monkeypatch.setattr(ranks, "_CHUNK_BYTES", 4096)  # many tiny slabs and chunks
    pd.testing.assert_frame_equal(
        rank_confidence_sets(est, se=se, simultaneous=simultaneous, draws=500), base)
    pd.testing.assert_frame_equal(
        one_sided_rank_sets(est, se=se, simultaneous=simultaneous, draws=500), low)


# --------------------------------------------------------------------------------------
# Coverage on simulated data with known truth
# --------------------------------------------------------------------------------------
def test_empirical_coverage_with_known_truth():
    theta = np.array([0.0, 0.1, 0.2, 0.5, 0.55, 0.6, 1.0, 1.1, 1.5, 1.6, 1.65, 2.0])
    se = np.linspace(0.08, 0.2, len(theta))
    p, reps = len(theta), 200
    labels = [f"T{i}" for i in range(p)]
    true_rank = pd.Series(theta, index=labels).rank(method="min").to_numpy()
    rng = np.random.default_rng(2024)
    joint = 0
    marginal_hits = np.zeros(p)
    top3_hits = 0
    for rep in range(reps):
        est = pd.Series(theta + rng.normal(0.0, se), index=labels)
        sim = rank_confidence_sets(est, se=se, draws=300, seed=rep)
        mar = rank_confidence_sets(est, se=se, draws=300, seed=rep, simultaneous=False)
        joint += bool(((sim["lower"] <= true_rank) & (true_rank <= sim["upper"])).all())
        marginal_hits += ((mar["lower"] <= true_rank) & (true_rank <= mar["upper"])).to_numpy()
        tb = tau_best_set(est, 3, se=se, draws=300, seed=rep)
        top3_hits += bool(tb.to_numpy()[true_rank <= 3].all())
    floor = 0.95 - 3 * np.sqrt(0.95 * 0.05 / reps)  # nominal minus 3 Monte Carlo s.e.
    assert joint / reps >= floor
    assert (marginal_hits / reps >= floor).all(), marginal_hits / reps
    assert top3_hits / reps >= floor


def test_coverage_is_sharp_in_the_least_favourable_configuration():
    # All true values equal: every true (min) rank is 1, so the simultaneous sets cover
    # iff nothing at all is rejected, whose probability is exactly the nominal level for
    # the first step. Coverage must therefore be ≈ 0.95: not below (size control), and
    # not far above (a critical value that is too large would show up here).
    p, reps = 6, 400
    se = np.linspace(0.1, 0.3, p)
    rng = np.random.default_rng(99)
    covered = 0
    for rep in range(reps):
        est = pd.Series(rng.normal(0.0, se))
        sim = rank_confidence_sets(est, se=se, draws=500, seed=rep)
        covered += bool((sim["lower"] == 1).all())
    mc = 3 * np.sqrt(0.95 * 0.05 / reps)
    assert 0.95 - mc <= covered / reps <= 0.95 + mc, covered / reps


# --------------------------------------------------------------------------------------
# Memory
# --------------------------------------------------------------------------------------
def test_memory_stays_far_below_the_full_tensor():
    # draws × p × p doubles for p = 134, 1,000 draws would be 144 MB
    p = 134
    assert ranks._chunk_size(p) * p * p * 8 <= 1 << 20
    est, se, _ = random_problem(p, 9)
    tracemalloc.start()
    try:
        rank_confidence_sets(est, se=se, simultaneous=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2 ** 20, peak


# --------------------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------------------
GOOD = pd.Series([1.0, 2.0, 3.0], index=list("abc"))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(), "exactly one of"),
        (dict(cov=np.eye(3), se=[1, 1, 1]), "exactly one of"),
        (dict(cov=np.eye(2)), "shape"),
        (dict(cov=np.eye(3)[:, :2]), "shape"),
        (dict(cov=np.array([[1.0, 2, 0], [2, 1, 0], [0, 0, 1]])), "positive semi-definite"),
        (dict(cov=np.array([[1.0, 0.5, 0], [0, 1, 0], [0, 0, 1]])), "symmetric"),
        (dict(cov=np.diag([1.0, np.nan, 1.0])), "NaN"),
        (dict(cov=pd.DataFrame(np.eye(3), index=list("abd"), columns=list("abd"))), "labels"),
        (dict(se=[1.0, 1.0]), "2 values for 3"),
        (dict(se=[1.0, -1.0, 1.0]), "negative"),
        (dict(se=pd.Series([1.0, 1, 1], index=list("xyz"))), "labels"),
        (dict(se=[1, 1, 1], coverage=0.0), "coverage"),
        (dict(se=[1, 1, 1], coverage=1.0), "coverage"),
        (dict(se=[1, 1, 1], coverage=1.5), "coverage"),
        (dict(se=[1, 1, 1], draws=0), "draws"),
        (dict(se=[1, 1, 1], draws=2.5), "draws"),
    ],
)
def test_invalid_inputs_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        rank_confidence_sets(GOOD, **kwargs)


def test_invalid_estimates_and_tau_raise():
    with pytest.raises(ValueError, match="NaN"):
        rank_confidence_sets(pd.Series([1.0, np.nan, 2.0], index=list("abc")), se=[1, 1, 1])
    with pytest.raises(ValueError, match="duplicated"):
        rank_confidence_sets(pd.Series([1.0, 2.0], index=["a", "a"]), se=[1, 1])
    with pytest.raises(ValueError, match="empty"):
        rank_confidence_sets(pd.Series([], dtype=float), se=[])
    with pytest.raises(ValueError, match="tau"):
        tau_best_set(GOOD, 0, se=[1, 1, 1])
    with pytest.raises(ValueError, match="tau"):
        tau_worst_set(GOOD, 4, se=[1, 1, 1])
    with pytest.raises(ValueError, match="side"):
        one_sided_rank_sets(GOOD, se=[1, 1, 1], side="two-sided")
    with pytest.raises(ValueError, match="adjacent_pairs"):
        runs(pd.DataFrame({"unit": ["a"]}))
