"""Sensitivity of the ranking to method choices (nhs_league.sensitivity, statistics.md §4).

The central checks compare a scenario with an *independent* route to the same table: the
pipeline run with the corresponding method preset (or on a panel with a metric removed, or
on the trusts of a peer set read afresh), so the vectorised scenario engine is held to the
pipeline's own answer.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from nhs_league import sensitivity as sens
from nhs_league.catalogue import DOMAINS
from nhs_league.errors import MethodError
from nhs_league.io import read_inputs
from nhs_league.methods import load_method
from nhs_league.pipeline import build_panel, domain_weights, league_table
from nhs_league.scoring import aggregate_scores

ROOT = Path(__file__).resolve().parents[1]
SYN_Q3 = ROOT / "data" / "synthetic" / "2025-26" / "q3-25-26"
SYN_FILES = [SYN_Q3 / "nhs-oversight-framework-acute-trust-data-q3-25-26-v2.csv",
             SYN_Q3 / "nhs-oversight-framework-acute-trust-league-table-q3-25-26-v2.csv"]
TABLE_COLS = ["Trust_code", "Average_score", "Raw_segment", "Segment", "Rank"]
METHOD = load_method("nof-2025-26")


@pytest.fixture(scope="module")
def panel():
    return sens.example_panel(60, seed=11)


@pytest.fixture(scope="module")
def data(panel):
    return sens.from_panel(panel, METHOD)


@pytest.fixture(scope="module")
def syn_inputs():
    if not all(p.exists() for p in SYN_FILES):
        pytest.skip("the synthetic year is not in data/synthetic (run `nhs-league synth`)")
    return read_inputs(SYN_FILES)


def _table(data, **choices):
    return sens.scenario_table(data, sens.evaluate(data, sens.scenario_params(data, **choices)))[TABLE_COLS]


def _pipeline_table(panel, method):
    return league_table(panel, method)[TABLE_COLS]


def _drop_metrics(panel, keep_mask):
    """The same panel with some metric columns removed (an independent leave-out route)."""
    from dataclasses import replace
    # a removed metric's values stay available as inputs: leaving the planned surplus/deficit
    # out of the average does not change who is in deficit
    inputs = {**{m: panel.values[:, j] for j, m in enumerate(panel.metric_ids) if not keep_mask[j]},
              **panel.inputs}
    return replace(panel, metrics=panel.metrics[keep_mask], values=panel.values[:, keep_mask],
                   published=panel.published[:, keep_mask], numerators=panel.numerators[:, keep_mask],
                   denominators=panel.denominators[:, keep_mask], inputs=inputs)


# ---- the registry ---------------------------------------------------------------------------

def test_every_choice_is_named_and_documented():
    t = sens.choices_table()
    assert list(t["choice"]) == list(sens.CHOICE_ORDER)
    assert (t["description"].str.len() > 20).all() and (t["applied"].str.len() > 20).all()
    for name in sens.available_spaces():  # presets use registered values only (else load raises)
        sp = sens.load_space(name)
        assert set(sp.choices) <= set(sens.CHOICES)


# ---- nominal = the pipeline -------------------------------------------------------------------

@pytest.mark.parametrize("method", [
    METHOD,
    load_method("nof-2025-26-q1"),
    METHOD.replace(average={"aggregation": "median"}),
    METHOD.replace(average={"aggregation": "trimmed_mean"}),
    METHOD.replace(average={"weights": "per_domain"}),
    METHOD.replace(average={"aggregation": "geometric_mean", "weights": "per_domain"}),
    METHOD.replace(override={"enabled": False}),
], ids=lambda m: m.name)
def test_nominal_scenario_reproduces_the_pipeline(panel, method):
    d = sens.from_panel(panel, method)
    pd.testing.assert_frame_equal(_table(d), _pipeline_table(panel, method))


def test_without_perturbation_every_scenario_is_the_nominal_table(panel, data):
    # weights drawn with noise amplitude 0, every other choice fixed at its nominal value
    space = sens.ScenarioSpace("still", "", {"weights": {"values": ["noise"], "noise": 0.0},
                                             "override": {"values": ["on"]},
                                             "segmentation": {"values": ["cutoffs"]}})
    mc = sens.monte_carlo(data, space, n=40, seed=5)
    expected = _pipeline_table(panel, METHOD).set_index("Trust_code").reindex(data.trusts.index)
    ranks = pd.DataFrame(mc.result["rank"], columns=data.trusts.index)
    pd.testing.assert_frame_equal(ranks, pd.DataFrame(np.tile(expected["Rank"].to_numpy(), (40, 1)),
                                                      columns=data.trusts.index))
    segs = pd.DataFrame(mc.result["segment"], columns=data.trusts.index)
    pd.testing.assert_frame_equal(segs, pd.DataFrame(np.tile(expected["Segment"].to_numpy(), (40, 1)),
                                                     columns=data.trusts.index))
    assert (mc.scenarios()["mean_abs_rank_change"] == 0).all()


def test_nominal_on_the_synthetic_year_reproduces_the_pipeline(syn_inputs):
    p = build_panel(syn_inputs, "2025Q3", "acute")
    d = sens.from_panel(p, METHOD)
    pd.testing.assert_frame_equal(_table(d), _pipeline_table(p, METHOD))
    assert d.synthetic and sens.scenario_table(d, sens.evaluate(d, sens.scenario_params(d)))["Data"].eq(
        "SYNTHETIC").all()


# ---- each single choice = the pipeline under the corresponding method -------------------------

@pytest.mark.parametrize("choice, value, change", [
    ("aggregation", "median", {"average": {"aggregation": "median"}}),
    ("aggregation", "trimmed_mean", {"average": {"aggregation": "trimmed_mean"}}),
    ("aggregation", "geometric_mean", {"average": {"aggregation": "geometric_mean"}}),
    ("scoring", "zscore", {"scoring": {"continuous": "zscore"}}),
    ("scoring", "minmax", {"scoring": {"continuous": "minmax"}}),
    ("scoring", "quartile_bands", {"scoring": {"continuous": "quartile_bands"}}),
    ("segmentation", "quartiles", {"segmentation": {"rule": "quartiles"}}),
    ("segmentation", "cutoffs_up", {"segmentation": {"cutoffs": [2.11, 2.40, 2.75]}}),
    ("segmentation", "cutoffs_down", {"segmentation": {"cutoffs": [2.01, 2.30, 2.65]}}),
    ("override", "off", {"override": {"enabled": False}}),
    ("weights", "per_domain", {"average": {"weights": "per_domain"}}),
])
def test_single_choice_matches_the_pipeline_with_that_method(panel, data, choice, value, change):
    pd.testing.assert_frame_equal(_table(data, **{choice: value}),
                                  _pipeline_table(panel, METHOD.replace(**change)))


def test_user_weights_match_the_pipeline_with_a_weight_mapping(panel, data):
    w = {data.columns[0]: 3.0, data.columns[5]: 0.5}
    space = sens.ScenarioSpace("u", "", {"weights": {"values": ["user"], "user": w}})
    got = _table(data, space=space, weights="user")
    pd.testing.assert_frame_equal(got, _pipeline_table(panel, METHOD.replace(average={"weights": w})))


@pytest.mark.parametrize("per_domain", [False, True])
def test_leave_out_metric_equals_the_pipeline_without_that_metric(panel, per_domain):
    method = METHOD.replace(average={"weights": "per_domain"}) if per_domain else METHOD
    d = sens.from_panel(panel, method)
    for j in (0, 9, len(d.columns) - 1):
        keep = np.ones(d.m, bool)
        keep[j] = False
        pd.testing.assert_frame_equal(_table(d, leave_out_metric=d.columns[j]),
                                      _pipeline_table(_drop_metrics(panel, keep), method))


def test_leave_out_domain_equals_the_pipeline_without_its_metrics(panel, data):
    for k, dom in enumerate(DOMAINS):
        keep = panel.domain_index != k
        pd.testing.assert_frame_equal(_table(data, leave_out_domain=dom),
                                      _pipeline_table(_drop_metrics(panel, keep), METHOD))


def test_peer_set_without_specialists_equals_the_pipeline_on_the_other_trusts(syn_inputs):
    from dataclasses import replace
    p = build_panel(syn_inputs, "2025Q3", "acute")
    d = sens.from_panel(p, METHOD)
    specialist = p.trusts["trust_subtype"].eq("Acute - Specialist")
    assert specialist.sum() > 0
    rest = syn_inputs.metrics[~syn_inputs.metrics["trust_code"].isin(p.trusts.index[specialist])]
    p_rest = build_panel(replace(syn_inputs, metrics=rest), "2025Q3", "acute")
    got = _table(d, peer_set="no_specialist")
    pd.testing.assert_frame_equal(got[got["Rank"] > 0].reset_index(drop=True), _pipeline_table(p_rest, METHOD))
    assert set(got.loc[got["Rank"] == 0, "Trust_code"]) == set(p.trusts.index[specialist])


# ---- the fast paths equal the plain functions ---------------------------------------------------

@pytest.mark.parametrize("geometric", [False, True])
@pytest.mark.parametrize("per_domain", [False, True])
def test_vectorised_weighted_average_equals_aggregate_scores(data, geometric, per_domain):
    rng = np.random.default_rng(3)
    S = data.scores("rank")
    V = rng.uniform(0.2, 2.0, (6, data.m))
    keep = rng.random((6, data.m)) > 0.15
    got = sens._weighted_average(S, V, keep, geometric, per_domain, data.column_domain)
    for r in range(6):
        Sk = np.where(keep[r], S, np.nan)
        if per_domain:
            W = domain_weights(~np.isnan(Sk), data.column_domain, "per_domain", data.columns) * V[r]
        else:
            W = V[r]
        want = aggregate_scores(Sk, weights=W, aggregation="geometric_mean" if geometric else "mean")
        np.testing.assert_allclose(got[r], want, rtol=1e-12, atol=1e-12)


def test_fast_median_equals_numpy_nanmedian():
    rng = np.random.default_rng(4)
    x = rng.uniform(1, 4, (50, 7, 9))
    x[rng.random(x.shape) < 0.3] = np.nan
    x[0, 0] = np.nan  # an all-missing row
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        want = np.nanmedian(x, axis=-1)
    np.testing.assert_array_equal(sens._nanmedian_last(x), want)


# ---- choices that cannot be applied fail loudly ---------------------------------------------------

def test_leaving_out_a_metric_that_no_trust_has_is_an_error(panel):
    from dataclasses import replace
    values, published = panel.values.copy(), panel.published.copy()
    j = list(panel.metric_ids).index("OF0023")
    values[:, j] = np.nan
    published[:, j] = np.nan
    d = sens.from_panel(replace(panel, values=values, published=published), METHOD)
    space = sens.ScenarioSpace("x", "", {"leave_out_metric": {"values": ["none", "OF0023"]}})
    with pytest.raises(MethodError, match="leave_out_metric.*OF0023.*no trust"):
        sens.monte_carlo(d, space, n=5)
    # 'each' expands only to metrics some trust has; OF0023 is not among them
    r = sens.resolve(sens.ScenarioSpace("y", "", {"leave_out_metric": {"values": ["none", "each"]}}), d)
    assert "OF0023" not in r.values["leave_out_metric"] and len(r.values["leave_out_metric"]) == d.m


def test_leaving_out_a_metric_not_in_the_data_is_an_error(data):
    space = sens.ScenarioSpace("x", "", {"leave_out_metric": {"values": ["OF0005"]}})  # a mental-health metric
    with pytest.raises(MethodError, match="leave_out_metric.*OF0005"):
        sens.resolve(space, data)


def _domain_data(subtypes=True, deficit=True):
    rng = np.random.default_rng(8)
    n = 30
    ds = pd.DataFrame(rng.uniform(1, 4, (n, 5)), index=[f"T{i:02d}" for i in range(n)], columns=list(DOMAINS))
    trusts = pd.DataFrame({"trust_name": ds.index, "trust_subtype": (
        ["Acute - Specialist"] * 4 + ["Acute - Large"] * (n - 4)) if subtypes else ""}, index=ds.index)
    avg = (ds @ np.array([0.4, 0.15, 0.15, 0.15, 0.15])).round(2)
    return sens.from_domain_scores(ds, avg, (rng.random(n) < 0.5) if deficit else None, method=METHOD,
                                   trusts=trusts)


@pytest.mark.parametrize("space, match", [
    ({"scoring": {"values": ["zscore"]}}, "scoring='zscore' cannot be applied: domain-level"),
    ({"leave_out_metric": {"values": ["none", "each"]}}, "leave_out_metric.*cannot be applied"),
    ({"baseline": {"values": ["direct", "anchored"]}, "scoring": {"values": ["rank", "zscore"]}},
     "scoring='rank' cannot be applied"),
])
def test_choices_that_need_raw_values_fail_on_domain_data(space, match):
    with pytest.raises(MethodError, match=match):
        sens.resolve(sens.ScenarioSpace("x", "", space), _domain_data())


def test_the_metric_level_default_space_fails_on_domain_data_naming_the_choice():
    with pytest.raises(MethodError, match="scoring"):
        sens.monte_carlo(_domain_data(), "default", n=5)


def test_peer_set_is_left_out_at_domain_level_and_an_error_without_the_subtype(data):
    # domain level: the published domain scores cannot be re-scored among fewer trusts, so the choice is
    # left out with a reason (never shown as "0.00 places of shift")
    sp = sens.ScenarioSpace("x", "", {"peer_set": {"values": ["all", "no_specialist"]}})
    for dd in (_domain_data(subtypes=False), _domain_data()):
        r = sens.resolve(sp, dd)
        assert r.values["peer_set"] == ["all"]
        assert any(n.startswith("choice peer_set left out: at domain level") for n in r.notes)
    sp2 = sens.ScenarioSpace("x", "", {"peer_set": {"values": ["all", "no_specialist"],
                                                    "exclude_subtypes": ["Acute - Tiny"]}})
    with pytest.raises(MethodError, match="peer_set='no_specialist'.*no trust has subtype"):
        sens.resolve(sp2, data)


def test_override_without_deficit_data_and_anchoring_without_averages_are_errors(data):
    with pytest.raises(MethodError, match="override cannot be applied"):
        sens.resolve(sens.ScenarioSpace("x", "", {"override": {"values": ["on", "off"]}}),
                     _domain_data(deficit=False))
    with pytest.raises(MethodError, match="baseline='anchored' cannot be applied"):
        sens.resolve(sens.ScenarioSpace("x", "", {"baseline": {"values": ["anchored"]}}), data)


@pytest.mark.parametrize("choices, match", [
    ({"weighting": {"values": ["nominal"]}}, "unknown choice 'weighting'"),
    ({"aggregation": {"values": ["mode"]}}, "aggregation.*unknown value"),
    ({"weights": {"values": ["noise"], "noise": 1.5}}, "noise must be from 0 to 1"),
    ({"override": {"values": []}}, "non-empty 'values'"),
    ({"segmentation": {"values": ["cutoffs_up"], "delta": 0}}, "delta must be from 1e-06 to 3"),
])
def test_bad_scenario_spaces_are_errors(choices, match):
    with pytest.raises(MethodError, match=match):
        sens.ScenarioSpace("bad", "", choices)


def test_user_weights_naming_unknown_columns_are_an_error(data):
    sp = sens.ScenarioSpace("u", "", {"weights": {"values": ["user"], "user": {"OF9999": 2}}})
    with pytest.raises(MethodError, match="weights='user'.*OF9999"):
        sens.resolve(sp, data)


# ---- Monte Carlo: parameters kept, seeded ---------------------------------------------------------

def test_monte_carlo_is_deterministic_under_the_seed_and_differs_between_seeds(data):
    a = sens.monte_carlo(data, "default", n=300, seed=7)
    b = sens.monte_carlo(data, "default", n=300, seed=7)
    c = sens.monte_carlo(data, "default", n=300, seed=8)
    pd.testing.assert_frame_equal(a.scenarios(), b.scenarios())
    pd.testing.assert_frame_equal(a.trust_summary(), b.trust_summary())
    with pytest.raises(AssertionError):
        pd.testing.assert_frame_equal(a.params, c.params)


def test_scenario_table_is_a_complete_record(data):
    mc = sens.monte_carlo(data, "default", n=200, seed=2)
    again = sens.evaluate(data, mc.params)  # re-run from the stored parameters alone
    for k in ("rank", "segment", "average_2dp"):
        np.testing.assert_array_equal(again[k], mc.result[k])


def test_monte_carlo_draws_every_value_and_weights_as_specified(data):
    mc = sens.monte_carlo(data, "default", n=3000, seed=1)
    p = mc.params
    res = sens.resolve("default", data)
    for c in res.factors:
        assert set(p[c]) == set(res.values[c]), c
    w = p[sens.weight_columns(data)].to_numpy()
    noise = p["weights"].eq("noise").to_numpy()
    assert (w[noise] >= 0.75).all() and (w[noise] <= 1.25).all() and w[noise].std() > 0.1
    np.testing.assert_allclose(w[p["weights"].eq("dirichlet").to_numpy()].sum(axis=1), data.m)
    np.testing.assert_array_equal(w[p["weights"].isin(["nominal", "per_domain"]).to_numpy()], 1.0)
    assert (p.loc[p["weights"].isin(["noise", "dirichlet"]), "weight_draw"] >= 0).all()
    # no scenario's weights are repeated by accident (fresh draws)
    assert not pd.DataFrame(w[noise]).duplicated().any()


def test_per_trust_and_per_table_summaries_agree_with_the_rank_changes(data):
    mc = sens.monte_carlo(data, "default", n=400, seed=4)
    d = mc.changes["rank_change"]
    ts = mc.trust_summary().set_index("Trust_code").reindex(data.trusts.index)
    nom = sens.nominal(data)
    i = 5  # one trust, by hand
    di = d[:, i][~np.isnan(d[:, i])]
    assert ts["Median_rank"].iloc[i] == pytest.approx(nom["rank"][i] + np.median(di))
    assert ts["Rank_p05"].iloc[i] == pytest.approx(nom["rank"][i] + np.percentile(di, 5))
    assert ts["Largest_shift"].iloc[i] == pytest.approx(np.abs(di).max())
    seg = mc.result["segment"][:, i]
    inc = mc.result["included"][:, i]
    assert ts["P_segment_change"].iloc[i] == pytest.approx(np.mean(seg[inc] != nom["segment"][i]))
    st = mc.scenarios()
    r = 17
    dr = d[r][~np.isnan(d[r])]
    assert st["mean_abs_rank_change"].iloc[r] == pytest.approx(np.abs(dr).mean())
    assert st["share_moved_10"].iloc[r] == pytest.approx(np.mean(np.abs(dr) >= 10))
    tab = mc.table_summary().set_index("statistic")
    assert tab.loc["share_segment_change", "mean"] == pytest.approx(st["share_segment_change"].mean())


def test_rank_changes_under_a_peer_set_are_measured_among_the_same_peers(syn_inputs):
    p = build_panel(syn_inputs, "2025Q3", "acute")
    d = sens.from_panel(p, METHOD)
    # no specialist, rank rule unchanged except for re-scoring: compare with nominal re-ranked among peers
    out = sens.evaluate(d, sens.scenario_params(d, peer_set="no_specialist"))
    cmp = sens.compare(d, out)
    inc = out["included"][0]
    nom = sens.nominal(d)
    ref = pd.Series(nom["rank"][inc]).rank(method="min").to_numpy()
    np.testing.assert_array_equal(cmp["reference_rank"][0, inc], ref)
    np.testing.assert_array_equal(cmp["rank_change"][0, inc], out["rank"][0, inc] - ref)
    assert np.isnan(cmp["rank_change"][0, ~inc]).all()


# ---- one at a time ------------------------------------------------------------------------------

def test_one_at_a_time_changes_exactly_one_choice(data):
    oat = sens.one_at_a_time(data, "default", draws=4)
    p = oat.params
    nominal = data.nominal_choices()
    for c in sens.CHOICE_ORDER:
        differs = p[c].ne(nominal[c])
        assert (~differs | p["oat_choice"].eq(c)).all(), c
    rows = p[p["oat_choice"] != "weights"]
    n_changed = sum(rows[c].ne(nominal[c]).astype(int) for c in sens.CHOICE_ORDER)
    assert (n_changed == 1).all()
    t = sens.choice_summary(oat)
    assert t.loc[t["value"] == "noise", "n_scenarios"].item() == 4
    # the summary of a one-scenario value is that scenario's statistics
    row = t[(t["choice"] == "override") & (t["value"] == "off")].iloc[0]
    one = sens.scenario_stats(sens.compare(data, sens.evaluate(data, sens.scenario_params(data, override="off"))))
    assert row["mean_abs_rank_change"] == pytest.approx(one["mean_abs_rank_change"].item())
    assert row["trusts_better_segment"] == one["trusts_better_segment"].item()


# ---- Sobol ----------------------------------------------------------------------------------------

def test_sobol_wrapper_recovers_the_ishigami_indices():
    a, b = 7.0, 0.1

    def ishigami(X):
        return np.sin(X[:, 0]) + a * np.sin(X[:, 1]) ** 2 + b * X[:, 2] ** 4 * np.sin(X[:, 0])

    pi = math.pi
    v1 = 0.5 * (1 + b * pi ** 4 / 5) ** 2
    v2 = a ** 2 / 8
    v13 = b ** 2 * pi ** 8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    t = sens.sobol_indices(ishigami, ["x1", "x2", "x3"], [(-pi, pi)] * 3, 2 ** 13, seed=1)
    np.testing.assert_allclose(t["S1"], [v1 / v, v2 / v, 0.0], atol=0.03)
    np.testing.assert_allclose(t["ST"], [(v1 + v13) / v, v2 / v, v13 / v], atol=0.03)
    assert abs(v1 / v - 0.314) < 0.001 and abs(v13 / v - 0.244) < 0.001  # the textbook values
    assert (t["S1_conf"] > 0).all() and (t["S1_conf"] < 0.1).all()
    assert t.attrs["n_evaluations"] == 2 ** 13 * 5


def test_sobol_analysis_finds_the_only_choice_that_matters(data):
    # weights vary (noise) but with zero amplitude: they cannot matter; the override can
    space = sens.ScenarioSpace("two", "", {"weights": {"values": ["noise"], "noise": 0.0},
                                           "override": {"values": ["on", "off"]}})
    t = sens.sobol_analysis(data, space, 256, seed=3).set_index("choice")
    assert list(t.index) == ["weights", "override"]
    assert t.loc["override", "S1"] == pytest.approx(1.0, abs=0.05)
    assert t.loc["override", "ST"] == pytest.approx(1.0, abs=0.05)
    assert abs(t.loc["weights", "ST"]) < 0.01
    assert t["Data"].eq("SYNTHETIC").all()


@pytest.mark.parametrize("seed", [0, 9])
def test_sobol_analysis_is_deterministic(data, seed):
    a = sens.sobol_analysis(data, "default", 32, seed=seed)
    np.random.seed(12345)  # the global state must not matter (SALib falls back on it for seed 0)
    b = sens.sobol_analysis(data, "default", 32, seed=seed)
    pd.testing.assert_frame_equal(a, b)
    c = sens.sobol_analysis(data, "default", 32, seed=seed + 1)
    with pytest.raises(AssertionError):
        pd.testing.assert_frame_equal(a, c)


# ---- concordance and implied weights ----------------------------------------------------------------

def test_concordance_is_pairwise_complete_spearman():
    rng = np.random.default_rng(6)
    df = pd.DataFrame(rng.normal(size=(40, 4)), columns=list("abcd"))
    df["b"] += df["a"]
    df.iloc[rng.random(40) < 0.2, 1] = np.nan
    df.iloc[rng.random(40) < 0.3, 3] = np.nan
    t = sens.concordance(df).set_index(["a", "b"])
    for x, y in [("a", "b"), ("b", "d"), ("c", "d")]:
        ok = df[x].notna() & df[y].notna()
        want = scipy.stats.spearmanr(df.loc[ok, x], df.loc[ok, y]).statistic
        assert t.loc[(x, y), "spearman"] == pytest.approx(want, abs=1e-12)
        assert t.loc[(x, y), "n"] == ok.sum()
    assert len(t) == 6


def test_implied_domain_weights_recover_known_weights():
    rng = np.random.default_rng(2)
    ds = pd.DataFrame(rng.uniform(1, 4, (80, 5)), columns=list(DOMAINS))
    w = np.array([0.46, 0.19, 0.12, 0.11, 0.12])
    avg = ds.to_numpy() @ w + rng.normal(0, 0.005, 80)
    ds.iloc[3, 0] = np.nan  # rows with a missing domain are left out of the fit
    got = sens.implied_domain_weights(ds, avg)
    np.testing.assert_allclose(got.to_numpy(), w, atol=0.01)
    assert got.sum() == pytest.approx(1.0) and got.attrs["n"] == 79 and got.attrs["rmse"] < 0.01


def test_anchored_domain_scenarios_start_from_the_published_averages():
    d = _domain_data()
    nom = sens.nominal(d)
    np.testing.assert_allclose(nom["average"], d.anchor)
    # anchored: published + (recomputed - recomputed at nominal); direct: recomputed itself
    a = sens.evaluate(d, sens.scenario_params(d, weights="per_domain"))["average"][0]
    direct = sens.evaluate(d, sens.scenario_params(d, weights="per_domain", baseline="direct"))["average"][0]
    fit = d.domain_scores @ d.nominal_weights
    np.testing.assert_allclose(direct, d.domain_scores.mean(axis=1))
    np.testing.assert_allclose(a, d.anchor + direct - fit)


# ---- the command line ---------------------------------------------------------------------------

def test_cli_writes_every_file_deterministically_and_refuses_to_overwrite(run_cli, tmp_path, syn_inputs):
    args = [*SYN_FILES, "--quarter", "2025Q3", "--trust-type", "acute", "--scenarios", "300", "--seed", "0",
            "--sobol-n", "32", "--oat-draws", "3"]
    code, out, err = run_cli("sensitivity", *args, "--output", tmp_path / "a")
    assert code == 0, err
    names = ["trusts.csv", "table.csv", "one_at_a_time.csv", "sobol.csv", "scenarios.csv", "choices.csv",
             "concordance_domains.csv", "concordance_metrics.csv"]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(names)
    for n in names:
        t = pd.read_csv(tmp_path / "a" / n)
        assert t["Data"].eq("SYNTHETIC").all(), n
    assert len(pd.read_csv(tmp_path / "a" / "scenarios.csv")) == 300
    assert len(pd.read_csv(tmp_path / "a" / "trusts.csv")) == 134
    code, _, err = run_cli("sensitivity", *args, "--output", tmp_path / "b")
    assert code == 0, err
    for n in names:
        assert (tmp_path / "a" / n).read_bytes() == (tmp_path / "b" / n).read_bytes(), n
    before = (tmp_path / "a" / "trusts.csv").read_bytes()
    code, _, err = run_cli("sensitivity", *args, "--output", tmp_path / "a")
    assert code == 2 and "--force" in err and len(err.strip().splitlines()) == 1  # checked before reading
    assert (tmp_path / "a" / "trusts.csv").read_bytes() == before
    code, _, err = run_cli("sensitivity", *args[:-6], "--scenarios", "50", "--sobol-n", "16", "--oat-draws", "2",
                           "--seed", "5", "--output", tmp_path / "a", "--force")
    assert code == 0, err
    assert (tmp_path / "a" / "trusts.csv").read_bytes() != before


def test_cli_errors_are_one_line(run_cli, tmp_path, syn_inputs):
    # the whole of standard error is the one error line (no SYNTHETIC note before it, no traceback)
    code, out, err = run_cli("sensitivity", SYN_FILES[1], "--quarter", "2025Q3", "--trust-type", "acute",
                             "--output", tmp_path / "x")
    assert code == 2 and out == "" and len(err.splitlines()) == 1, err
    assert err.startswith("nhs-league: error: ") and "domain score" in err
    code, out, err = run_cli("sensitivity", *SYN_FILES, "--quarter", "2025Q3", "--trust-type", "acute",
                             "--level", "domain", "--space", "default", "--output", tmp_path / "y")
    assert code == 2 and out == "" and len(err.splitlines()) == 1, err
    assert err.startswith("nhs-league: error: ") and "scoring" in err
    code, out, err = run_cli("sensitivity", *SYN_FILES, "--quarter", "2025Q3", "--trust-type", "acute")
    assert code == 2 and out == "" and len(err.splitlines()) == 1, err
    assert err.startswith("nhs-league: error: ") and "--output" in err


def test_cli_domain_level_rerun_with_force_leaves_no_stale_file(run_cli, tmp_path, syn_inputs):
    common = [*SYN_FILES, "--quarter", "2025Q3", "--trust-type", "acute", "--scenarios", "100",
              "--sobol-n", "16", "--oat-draws", "2", "--output", tmp_path]
    assert run_cli("sensitivity", *common)[0] == 0
    assert (tmp_path / "concordance_metrics.csv").exists()
    code, _, err = run_cli("sensitivity", *common, "--level", "domain", "--force")
    assert code == 0, err
    assert not (tmp_path / "concordance_metrics.csv").exists()  # a metric-level file would mislead
    choices = pd.read_csv(tmp_path / "choices.csv")
    assert choices["level"].eq("domain").all() and choices["space"].eq("domain").all()
    assert "nominal domain weights" in err


def test_sobol_on_one_trusts_rank(data):
    space = sens.ScenarioSpace("two", "", {"weights": {"values": ["noise"], "noise": 0.0},
                                           "override": {"values": ["on", "off"]}})
    off = sens.compare(data, sens.evaluate(data, sens.scenario_params(data, override="off")))["rank_change"][0]
    trust = data.trusts.index[int(np.nanargmax(np.abs(off)))]  # the trust the override moves most
    t = sens.sobol_analysis(data, space, 128, seed=2, output=trust).set_index("choice")
    assert t.loc["override", "S1"] == pytest.approx(1.0, abs=0.05) and abs(t.loc["weights", "ST"]) < 0.01
    assert t["output"].eq(trust).all()
    with pytest.raises(MethodError, match="Sobol output"):
        sens.sobol_analysis(data, space, 128, output="not-a-trust")


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 40).flatmap(lambda n: st.tuples(
    st.lists(st.sampled_from(["a", "b", "mean", "median"]), min_size=n, max_size=n),
    st.lists(st.booleans(), min_size=n, max_size=n),
    st.lists(st.sampled_from(["x", "y"]), min_size=n, max_size=n))))
def test_group_index_numbers_groups_as_a_sorted_groupby_does(keys):
    """The numpy grouping gives pandas' sorted groupby numbering and the first row of each group."""
    arrays = [np.asarray(k) for k in keys]
    codes, first = sens._group_index(*arrays)
    frame = pd.DataFrame({f"k{i}": a for i, a in enumerate(arrays)})
    expected = frame.groupby(list(frame.columns), sort=True).ngroup().to_numpy()
    np.testing.assert_array_equal(codes, expected)
    np.testing.assert_array_equal(first, [np.flatnonzero(expected == g)[0] for g in range(expected.max() + 1)])
