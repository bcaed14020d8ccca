"""The domain analyses of change and position (nhs_league.change, nhs_league.positions), called on
panels directly, without a report: the trend of one trust, the paired comparison of two quarters,
averages in order with intervals, and what the pair tests say."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from nhs_league import change, positions
from nhs_league.io import read_inputs
from nhs_league.methods import default_method_for, resolve_for
from nhs_league.pipeline import build_panel, compute
from nhs_league.report import synthetic_files
from nhs_league.uncertainty import basket_bootstrap, basket_jackknife, paired_quarter_change

QUARTERS = ["2025Q1", "2025Q2", "2025Q3", "2025Q4"]


@pytest.fixture(scope="module")
def year():
    """Panels and presets of the committed synthetic year (acute trusts), quarter by quarter."""
    inputs = read_inputs(synthetic_files())
    return {q: (build_panel(inputs, q, "acute"), resolve_for(default_method_for(q), "acute")) for q in QUARTERS}


def test_trend_reproduces_each_quarters_own_run_and_bootstrap(year):
    code = year["2025Q4"][0].trusts.index[5]
    runs = [change.QuarterRun(*year[q]) for q in QUARTERS]
    got = change.trend(code, runs, coverage=0.9, draws=60, seed=4)
    assert got.columns.tolist() == change.TREND_COLUMNS
    assert got["quarter"].tolist() == ["Q1 2025/26", "Q2 2025/26", "Q3 2025/26", "Q4 2025/26"]
    for row, q in zip(got.itertuples(), QUARTERS):
        panel, m = year[q]
        i = panel.trusts.index.get_loc(code)
        nominal = compute(panel, m)
        full = basket_bootstrap(panel, m, draws=60, seed=4).average[:, i]  # the whole table's replicates
        lo, hi = np.nanquantile(full, [0.05, 0.95])
        assert (row.estimate, row.lower, row.upper) == (float(nominal["average"][i]), float(lo), float(hi))
        assert (row.league_rank, row.segment) == (int(nominal["rank"][i]), int(nominal["segment"][i]))
        assert row.method == m.name
    # each quarter's own cut-offs (the presets pin them per quarter) ...
    assert got["cutoffs"].tolist() == [" / ".join(f"{c:.2f}" for c in year[q][1].cutoffs) for q in QUARTERS]
    assert got["cutoffs"].nunique() > 1
    # ... and none shown for a quarter segmented by the quartile rule
    panel, m = year["2025Q1"]
    quartiles = m.replace(segmentation={"rule": "quartiles"})
    assert change.trend(code, [change.QuarterRun(panel, quartiles)], draws=20)["cutoffs"].tolist() == [""]


def test_trend_jackknife_interval_is_average_plus_minus_z_se_at_the_coverage(year):
    panel, m = year["2025Q4"]
    code = panel.trusts.index[0]
    reps = basket_jackknife(panel, m)
    got = change.trend(code, [change.QuarterRun(panel, m, reps)], coverage=0.8)
    z = NormalDist().inv_cdf(0.9)
    se = float(reps.se().loc[code])
    est = got["estimate"].iloc[0]
    assert got["lower"].iloc[0] == pytest.approx(est - z * se) and got["upper"].iloc[0] == pytest.approx(est + z * se)


def test_trend_leaves_out_quarters_without_the_trust(year):
    panel, m = year["2025Q3"]
    code = panel.trusts.index[2]
    without = panel.subset(panel.trusts.index != code)
    got = change.trend(code, [change.QuarterRun(without, m), change.QuarterRun(*year["2025Q4"])], draws=20)
    assert got["quarter"].tolist() == ["Q4 2025/26"]


def test_compare_quarters_adds_both_leagues_and_the_holm_verdict(year):
    (now, m_now), (before, m_before) = year["2025Q4"], year["2025Q3"]
    got = change.compare_quarters(now, before, m_now, m_before, draws=200, seed=1)
    raw = paired_quarter_change(now, before, m_now, m_before, draws=200, seed=1)
    pd.testing.assert_frame_equal(got[raw.columns].sort_index(), raw.sort_index())
    assert got["change"].is_monotonic_increasing  # most improved (lowest average is best) first
    for col, panel, m in (("league_rank", now, m_now), ("league_rank_before", before, m_before)):
        want = pd.Series(compute(panel, m)["rank"], index=panel.trusts.index).reindex(got.index)
        pd.testing.assert_series_equal(got[col], want, check_names=False)
    pd.testing.assert_series_equal(got["beyond_noise"], got["moved_holm"] != "", check_names=False)
    assert set(got.loc[~got["beyond_noise"], "verdict"]) <= {"within noise"}
    assert got.attrs["previous"] == "2025Q3" and got.attrs["previous_label"] == "Q3 2025/26"
    assert got.attrs["methods"] == {"2025Q3": m_before.name, "2025Q4": m_now.name}


def test_positions_are_in_order_of_the_average_with_intervals_around_it(year):
    panel, m = year["2025Q4"]
    reps = basket_bootstrap(panel, m, draws=200, seed=2)
    pos = positions.positions(reps, coverage=0.95, draws=400, seed=2)
    f = pos.frame
    assert f["estimate"].is_monotonic_increasing  # 1 (best) first: lower average is better
    assert (f["lower"] <= f["estimate"]).all() and (f["estimate"] <= f["upper"]).all()
    assert "95% percentile interval" in pos.label
    # the significance matrix is antisymmetric: i better than j exactly when j worse than i
    s = pos.significance.to_numpy()
    np.testing.assert_array_equal(s, -s.T)


def test_pair_summary_counts_without_chaining(year):
    panel, m = year["2025Q4"]
    reps = basket_bootstrap(panel, m, draws=200, seed=2)
    pos = positions.positions(reps, draws=400, seed=2)
    table, facts = positions.pair_summary(pos)
    assert table["League rank"].is_monotonic_increasing
    # every "better than" one trust reports is a "worse than" another reports
    assert table["Trusts significantly better by average"].sum() == table["Trusts significantly worse by average"].sum()
    # a trust cannot be surely behind more trusts than stand ahead of it in the league
    n = len(table)
    assert (table["Trusts surely ahead in the league"] <= table["League rank"] - 1).all()
    assert (table["Trusts surely behind in the league"] <= n - table["League rank"]).all()
    assert facts["pairs"] == n - 1 and 0 <= facts["adjacent_league"] <= facts["pairs"]
