"""Tests of nhs_league.uncertainty: the three sources of rank uncertainty and their summaries.

Every input is a small hand-made file in the official NOF CSV format (read through
nhs_league.io and build_panel, as the CLI does), or a Replicates object built by hand
where the test checks a summary formula.
"""

from __future__ import annotations

import csv
import math

import numpy as np
import pandas as pd
import pytest

from nhs_league.errors import InputError, MethodError
from nhs_league.io import read_inputs
from nhs_league.methods import load_method
from nhs_league.pipeline import build_panel
from nhs_league.uncertainty import (Replicates, basket_bootstrap, basket_jackknife, ordinal, rankability,
                                    read_denominators, sampling_plan, sampling_replicates)

METHOD = load_method("nof-2025-26")
DATA_HEADER = ["Region", "Trust_type", "Trust_subtype", "Trust_code", "Trust_name", "Metric_ID", "Units",
               "Value", "Quarter", "Numerator", "Denominator"]
UNITS = {"OF0061": "score", "SYN002": "rate"}


def write_data(path, rows, *, with_counts=True, synthetic=False):
    """rows: (trust_code, metric_id, value, numerator, denominator); numbers or '' for blank."""
    header = DATA_HEADER if with_counts else DATA_HEADER[:-2]
    if synthetic:
        header = header + ["Data_source"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for code, mid, value, num, den in rows:
            line = ["London", "Acute trust", "", code, f"Trust {code}", mid, UNITS.get(mid, "percentage"),
                    value, "Q3 2025/26"]
            if with_counts:
                line += [num, den]
            if synthetic:
                line.append("SYNTHETIC")
            w.writerow(line)
    return path


def panel_of(*paths):
    return build_panel(read_inputs([str(p) for p in paths]), "2025Q3", "acute")


def random_rows(n=12, seed=5, big=False):
    """n acute trusts, four binomial metrics, one Poisson metric and one metric without a sampling model."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        code = f"R{i:02d}"
        for mid in ("OF0023", "OF0010", "OF0011", "OF0082"):
            den = 10 ** 9 if big else int(rng.integers(200, 2000))
            p = 0.5 + 0.4 * (i + 0.5 * rng.random()) / n  # distinct, well separated proportions
            num = int(round(p * den))
            rows.append((code, mid, repr(num / den * 100), num, den))
        den = 10 ** 9 if big else int(rng.integers(5000, 20000))
        num = int(round((0.02 + 0.005 * i + 0.001 * rng.random()) * den))
        rows.append((code, "SYN002", repr(num / den * 100), num, den))
        rows.append((code, "OF0061", f"{1 + 0.7 * rng.random() + 0.5 * i:.3f}", "", ""))
    return rows


@pytest.fixture
def data12(tmp_path):
    return write_data(tmp_path / "acute-q3-25-26.csv", random_rows())


# --------------------------------------------------------------------------------------
# Source 1: sampling noise
# --------------------------------------------------------------------------------------
def test_sampling_reruns_relative_scoring(tmp_path):
    # One metric; only trust A has a denominator, so only A's value is redrawn. B's value is
    # fixed, yet B's rank-based score must move whenever A's draw passes B's value.
    rows = [("RA", "OF0023", "70.0", 70, 100), ("RB", "OF0023", "72.5", "", ""),
            ("RC", "OF0023", "60.0", "", ""), ("RD", "OF0023", "90.0", "", ""),
            ("RA", "OF0061", "4.5", "", ""), ("RB", "OF0061", "3.5", "", ""),
            ("RC", "OF0061", "2.5", "", ""), ("RD", "OF0061", "1.5", "", "")]
    panel = panel_of(write_data(tmp_path / "x-q3-25-26.csv", rows))
    r = sampling_replicates(panel, METHOD, draws=400, seed=2)
    codes = list(r.trust_codes)
    a, b = r.average[:, codes.index("RA")], r.average[:, codes.index("RB")]
    # OF0023 (higher is better) among 4 trusts: D 1st always; A above B -> A score 2, B score 3.
    # OF0061 (higher is better): A 1.0, B 2.0. Average = mean of the two scores.
    a_above = np.isclose(a, (2.0 + 1.0) / 2)
    b_third = np.isclose(b, (3.0 + 2.0) / 2)
    b_second = np.isclose(b, (2.0 + 2.0) / 2)
    assert a_above.any() and (~a_above).any(), "A's draw must sometimes pass B's fixed value"
    np.testing.assert_array_equal(b_third, a_above)
    np.testing.assert_array_equal(b_second | b_third, np.ones(r.draws, bool))
    table = r.resampled.set_index("metric_id")
    assert table.loc["OF0023", "n_resampled"] == 1
    assert table.loc["OF0023", "status"].startswith("partly resampled: 3 of 4")
    assert table.loc["OF0061", "status"].startswith("fixed: no sampling model")
    assert not table.loc["OF0061", "resampled"]


def test_huge_denominators_collapse_to_nominal(tmp_path):
    panel = panel_of(write_data(tmp_path / "x-q3-25-26.csv", random_rows(big=True)))
    r = sampling_replicates(panel, METHOD, draws=200, seed=0)
    assert r.resampled.set_index("metric_id").loc["SYN002", "status"] == "resampled"  # the Poisson path
    s = r.summary(0.9)
    nominal = s["rank"].astype(float)
    pd.testing.assert_series_equal(s["rank_low"], nominal, check_names=False)
    pd.testing.assert_series_equal(s["rank_high"], nominal, check_names=False)
    pd.testing.assert_series_equal(s["P_other_segment"], pd.Series(0.0, index=s.index), check_names=False)
    assert float(r.rankability()["rho"]) > 0.999


def test_sampling_noise_moves_ranks_with_ordinary_denominators(data12):
    r = sampling_replicates(panel_of(data12), METHOD, draws=300, seed=0)
    s = r.summary(0.9)
    assert (s["rank_high"] > s["rank_low"]).any()


def test_sampling_is_seeded(data12):
    panel = panel_of(data12)
    a = sampling_replicates(panel, METHOD, draws=50, seed=7)
    b = sampling_replicates(panel, METHOD, draws=50, seed=7)
    c = sampling_replicates(panel, METHOD, draws=50, seed=8)
    np.testing.assert_array_equal(a.average, b.average)
    np.testing.assert_array_equal(a.rank, b.rank)
    assert not np.array_equal(a.average, c.average)


def test_sampling_unavailable_without_denominators(tmp_path):
    rows = [(code, mid, v, "", "") for code, mid, v, _, _ in random_rows(n=5)]
    panel = panel_of(write_data(tmp_path / "x-q3-25-26.csv", rows, with_counts=False))
    with pytest.raises(InputError, match="sampling source is unavailable") as exc:
        sampling_replicates(panel, METHOD, draws=10)
    assert exc.value.column == "Denominator"
    assert "x-q3-25-26.csv" in str(exc.value)


def test_denominators_table_enables_sampling(tmp_path):
    rows = [(code, mid, v, "", "") for code, mid, v, _, _ in random_rows(n=5)]
    panel = panel_of(write_data(tmp_path / "x-q3-25-26.csv", rows, with_counts=False))
    den = pd.DataFrame({"OF0023": [500.0] * 5}, index=[f"R{i:02d}" for i in range(5)])
    r = sampling_replicates(panel, METHOD, draws=20, seed=1, denominators=den)
    t = r.resampled.set_index("metric_id")
    assert t.loc["OF0023", "n_denominators_from_table"] == 5
    assert t.loc["OF0023", "n_denominators_from_file"] == 0
    assert t.loc["OF0010", "status"] == "fixed: no denominators"
    # the table read from a CSV file gives the same wide table
    p = tmp_path / "den.csv"
    p.write_text("Trust_code,Metric_ID,Denominator\n" + "".join(f"R{i:02d},of0023,500\n" for i in range(5)))
    pd.testing.assert_frame_equal(read_denominators(p), den.rename_axis("trust_code"), check_names=True)
    with pytest.raises(InputError, match="shares no trust and metric"):
        sampling_replicates(panel, METHOD, draws=5, denominators=pd.DataFrame({"OF9999": [1.0]}, index=["ZZZ"]))
    bad = tmp_path / "bad.csv"
    bad.write_text("Trust_code,Metric_ID,Denominator\nR00,OF0023,0\n")
    with pytest.raises(InputError, match="positive number") as exc:
        read_denominators(bad)
    assert (exc.value.row, exc.value.column) == (2, "Denominator")


def test_published_score_metrics_are_not_resampled(tmp_path):
    # OF0020 has a Poisson model but its score is taken as published (rule unknown).
    rows = [(c, "OF0023", v, 60 + i, 100) for i, (c, v) in enumerate([("RA", "60.0"), ("RB", "61.0")])]
    rows += [("RA", "OF0020", "5", 5, 1000), ("RB", "OF0020", "7", 7, 1000),
             ("RA", "OF1020", "1.0", "", ""), ("RB", "OF1020", "4.0", "", "")]
    plan = sampling_plan(panel_of(write_data(tmp_path / "x-q3-25-26.csv", rows)), METHOD)
    t = plan.table.set_index("metric_id")
    assert t.loc["OF0020", "status"] == "fixed: scored by rule 'published', not from the value"
    assert t.loc["OF0023", "n_resampled"] == 2


# --------------------------------------------------------------------------------------
# Source 2: the choice of metrics
# --------------------------------------------------------------------------------------
def three_metric_panel(tmp_path):
    # 3 trusts x 3 metrics (all higher is better). Ranks per metric give scores 1, 2.5, 4:
    #   A: 1st, 2nd, 3rd -> 1.0, 2.5, 4.0      B: 2nd, 3rd, 1st -> 2.5, 4.0, 1.0
    #   C: 3rd, 1st, 2nd -> 4.0, 1.0, 2.5
    vals = {"RA": (90, 60, 40), "RB": (80, 50, 70), "RC": (70, 70, 50)}
    rows = [(c, mid, f"{v:.1f}", "", "") for c, vs in vals.items() for mid, v in zip(("OF0023", "OF0010", "OF0011"), vs)]
    return panel_of(write_data(tmp_path / "x-q3-25-26.csv", rows))


def test_jackknife_se_by_hand(tmp_path):
    r = basket_jackknife(three_metric_panel(tmp_path), METHOD)
    # leaving out each metric in turn, trust A's average is (2.5+4)/2, (1+4)/2, (1+2.5)/2
    loo = np.array([3.25, 2.5, 1.75])
    np.testing.assert_allclose(r.average[:, 0], loo)
    mean = loo.mean()
    se_hand = math.sqrt((3 - 1) / 3 * float(((loo - mean) ** 2).sum()))  # = sqrt(0.75)
    assert se_hand == pytest.approx(math.sqrt(0.75))
    pd.testing.assert_series_equal(r.se(), pd.Series([se_hand] * 3, index=r.trust_codes, name="se"))
    s = r.summary()
    assert "P_segment_1" not in s
    with pytest.raises(MethodError, match="jackknife"):
        r.segment_probabilities()


def test_jackknife_skips_metrics_a_trust_lacks(tmp_path):
    rows = [("RA", "OF0023", "90.0", "", ""), ("RB", "OF0023", "80.0", "", ""), ("RC", "OF0023", "70.0", "", ""),
            ("RA", "OF0010", "60.0", "", ""), ("RB", "OF0010", "50.0", "", ""),
            ("RA", "OF0011", "40.0", "", ""), ("RB", "OF0011", "70.0", "", ""), ("RC", "OF0011", "50.0", "", "")]
    r = basket_jackknife(panel_of(write_data(tmp_path / "x-q3-25-26.csv", rows)), METHOD)
    # C has OF0023 (score 4) and OF0011 (score 2.5) only: leave-outs 2.5 and 4
    c = list(r.trust_codes).index("RC")
    assert r.affected[:, c].tolist() == [True, False, True]
    loo = np.array([2.5, 4.0])
    se_hand = math.sqrt(1 / 2 * float(((loo - loo.mean()) ** 2).sum()))
    assert r.se().iloc[c] == pytest.approx(se_hand)
    assert r.average[1, c] == pytest.approx(3.25)  # OF0010 removed: C's average unchanged


def test_basket_bootstrap_seeded_and_within_own_scores(tmp_path, data12):
    panel = panel_of(data12)
    a = basket_bootstrap(panel, METHOD, draws=300, seed=11)
    b = basket_bootstrap(panel, METHOD, draws=300, seed=11)
    c = basket_bootstrap(panel, METHOD, draws=300, seed=12)
    np.testing.assert_array_equal(a.average, b.average)
    np.testing.assert_array_equal(a.segment, b.segment)
    assert not np.array_equal(a.average, c.average)
    # every replicate average lies between the trust's own lowest and highest score
    sc = a.nominal["scores"]
    lo, hi = np.nanmin(sc, axis=1), np.nanmax(sc, axis=1)
    assert ((a.average >= lo - 1e-12) & (a.average <= hi + 1e-12)).all()
    # the bootstrap mean of a plain mean is unbiased: within Monte Carlo error of the nominal
    se = a.se().to_numpy()
    assert (np.abs(a.average.mean(axis=0) - a.nominal["average"]) <= 4 * se / math.sqrt(a.draws) + 1e-12).all()
    # trusts resampled independently: diagonal covariance by default
    cov = a.covariance()
    off = cov.to_numpy()[~np.eye(a.n, dtype=bool)]
    assert (off == 0).all() and (np.diag(cov.to_numpy()) > 0).all()


def test_basket_bootstrap_missing_metrics_and_constant_trust(tmp_path):
    panel = three_metric_panel(tmp_path)
    # give C only one scored metric by blanking two values: its average cannot move
    panel.values[2, 1:] = np.nan
    r = basket_bootstrap(panel, METHOD, draws=100, seed=0)
    assert r.se().iloc[2] == 0.0
    np.testing.assert_array_equal(r.average[:, 2], np.full(100, r.nominal["average"][2]))


# --------------------------------------------------------------------------------------
# Summaries
# --------------------------------------------------------------------------------------
def test_segment_probabilities_sum_to_one_and_median_inside(data12):
    r = sampling_replicates(panel_of(data12), METHOD, draws=300, seed=3)
    p = r.segment_probabilities()
    pd.testing.assert_series_equal(p.sum(axis=1), pd.Series(1.0, index=p.index))
    s = r.summary(0.9)
    assert (s["rank_low"] <= s["rank_median"]).all() and (s["rank_median"] <= s["rank_high"]).all()
    assert ((s["P_other_segment"] >= 0) & (s["P_other_segment"] <= 1)).all()
    # P(other segment) is 1 minus the probability of the reference (here recomputed) segment
    ref = s["segment"].to_numpy()
    expected = 1 - p.to_numpy()[np.arange(len(p)), ref - 1]
    np.testing.assert_allclose(s["P_other_segment"].to_numpy(), expected)


def hand_replicates(avg_reps, nominal_avg, *, method=METHOD, source="metrics"):
    avg_reps = np.asarray(avg_reps, float)
    R, n = avg_reps.shape
    return Replicates(source, pd.Index([f"T{i}" for i in range(n)]), avg_reps, np.ones((R, n), int),
                      np.tile(np.arange(1, n + 1), (R, 1)),
                      {"average": np.asarray(nominal_avg, float), "average_2dp": np.round(nominal_avg, 2),
                       "segment": np.ones(n, int), "rank": np.arange(1, n + 1)}, method=method)


def test_cutoff_distance_by_hand():
    # T0: replicates 2.0, 2.2, 2.1 -> sd 0.1; nominal 2.30 -> nearest cut-off 2.35 -> -0.5
    # T1: replicates 2.6, 3.0, 2.8 -> sd 0.2; nominal 2.80 -> nearest 2.70 -> +0.5
    r = hand_replicates([[2.0, 2.6], [2.2, 3.0], [2.1, 2.8]], [2.30, 2.80])
    d = r.cutoff_distance()
    pd.testing.assert_series_equal(d["nearest_cutoff"], pd.Series([2.35, 2.70], index=r.trust_codes, name="nearest_cutoff"))
    np.testing.assert_allclose(d["cutoff_distance_se"].to_numpy(), [-0.5, 0.5])
    # quartile segmentation: cut-offs are the quartiles 2, 3, 4 of the nominal averages 1..5
    q = load_method("nof-2025-26-q1").replace(segmentation={"rule": "quartiles"})
    reps = np.array([[1.0, 2.0, 3.0, 4.0, 5.0], [1.5, 2.5, 3.5, 4.5, 5.5]])
    r = hand_replicates(reps, [1.0, 2.0, 3.0, 4.0, 5.0], method=q)
    se = np.std([1.0, 1.5], ddof=1)
    np.testing.assert_allclose(r.cutoff_distance()["cutoff_distance_se"].to_numpy(),
                               [(1 - 2) / se, 0.0, 0.0, 0.0, (5 - 4) / se])


def test_rankability_by_hand_and_limits():
    # Hedges: s^2(0, 2, 6) = 28/3, mean sigma^2 = (1 + 1 + 4)/3 = 2 -> tau^2 = 22/3; median sigma^2 = 1
    r = rankability([0.0, 2.0, 6.0], [1.0, 1.0, 2.0])
    assert r["tau2"] == pytest.approx(22 / 3) and r["rho"] == pytest.approx((22 / 3) / (22 / 3 + 1))
    # DerSimonian-Laird: w = 1, 1, 1/4; mean_w = 14/9; Q = 612/81; c = 4/3 -> tau^2 = 25/6
    r = rankability([0.0, 2.0, 6.0], [1.0, 1.0, 2.0], estimator="dersimonian-laird")
    assert r["tau2"] == pytest.approx(25 / 6) and r["rho"] == pytest.approx(25 / 31)
    rng = np.random.default_rng(0)
    for noise in (10.0, 1.0, 0.1):
        est = rng.normal(0, 1, 50) + rng.normal(0, noise, 50)
        rho = rankability(est, np.full(50, noise))["rho"]
        assert 0.0 <= rho <= 1.0
    # noise -> 0: rho -> 1, for both estimators
    est = np.linspace(1, 4, 20)
    assert rankability(est, np.full(20, 1e-8))["rho"] == pytest.approx(1.0)
    assert rankability(est, np.full(20, 1e-8), estimator="dersimonian-laird")["rho"] == pytest.approx(1.0)
    # pure noise: nothing left to rank
    assert rankability([1.0, 1.0, 1.0], [0.5, 0.5, 0.5])["rho"] == 0.0
    with pytest.raises(MethodError, match="needs every standard error"):
        rankability([1.0, 2.0], [0.0, 1.0], estimator="dersimonian-laird")


def test_quarter_change_verdicts():
    def reps(codes, avg, spread):
        avg, spread = np.asarray(avg, float), np.asarray(spread, float)
        a = np.vstack([avg - spread, avg + spread])  # sd = spread * sqrt(2)
        return Replicates("metrics", pd.Index(codes), a, np.ones(a.shape, int), np.ones(a.shape, int),
                          {"average": avg})
    before = reps(["A", "B", "C", "D"], [2.0, 2.5, 2.0, 2.2], [0.01, 0.01, 0.2, 0.1])
    now = reps(["A", "B", "C", "E"], [2.3, 2.2, 2.1, 2.0], [0.01, 0.01, 0.2, 0.1])
    q = now.quarter_change(before, coverage=0.95)
    assert q.index.tolist() == ["A", "B", "C"]
    assert q["verdict"].tolist() == ["worse", "better", "within noise"]
    assert q.attrs["unmatched"] == ["D", "E"]
    # z for C by hand: change 0.1, se 0.2 * sqrt(2) in each quarter
    assert q.loc["C", "z"] == pytest.approx(0.1 / math.sqrt(2 * (0.2 * math.sqrt(2)) ** 2))
    # z_C = 0.25: inside the 95% critical value 1.96, outside the 10% one (0.1257)
    assert now.quarter_change(before, coverage=0.1).loc["C", "verdict"] == "worse"


def test_quarter_change_from_a_panel_rebuilds_the_same_source(tmp_path, data12):
    now = basket_bootstrap(panel_of(data12), METHOD, draws=100, seed=4)
    prev_rows = [(c, m, v if m != "OF0023" else repr(float(v) * 0.9), n, d) for c, m, v, n, d in random_rows(seed=6)]
    prev_panel = panel_of(write_data(tmp_path / "p-q3-25-26.csv", prev_rows))
    via_panel = now.quarter_change(prev_panel)
    via_reps = now.quarter_change(basket_bootstrap(prev_panel, METHOD, draws=100, seed=4))
    pd.testing.assert_frame_equal(via_panel, via_reps)


def test_summary_shows_published_and_likely_ranges(tmp_path, data12):
    league = tmp_path / "league-q3-25-26.csv"
    lines = ["Trust_type,Trust_code,Trust_name,Quarter,Average_score,Likely_range_of_average_score,Segment,"
             "Trust_in_financial_deficit,Rank,Likely_range_of_rank"]
    for i in range(12):
        lines.append(f"Acute trust,R{i:02d},Trust R{i:02d},Q3 2025/26,2.50,2.1 - 2.9,{1 + i % 4},No,{i + 1},"
                     f"{max(1, i - 2)} - {min(12, i + 3)}")
    league.write_text("\n".join(lines) + "\n")
    r = basket_bootstrap(panel_of(data12, league), METHOD, draws=100, seed=0)
    s = r.summary()
    idx = s.index
    pd.testing.assert_series_equal(s["likely_range_rank_low"],
                                   pd.Series([max(1, i - 2) for i in range(12)], index=idx, dtype="Int64",
                                             name="likely_range_rank_low"))
    pd.testing.assert_series_equal(s["likely_range_average_high"], pd.Series(2.9, index=idx,
                                                                             name="likely_range_average_high"))
    pd.testing.assert_series_equal(s["published_rank"], pd.Series(range(1, 13), index=idx, dtype="Int64",
                                                                  name="published_rank"))
    # the other-segment probability is measured from the published segment
    assert (s["reference_source"] == "published").all()
    published = np.array([1 + i % 4 for i in range(12)])
    np.testing.assert_allclose(s["P_other_segment"].to_numpy(), (r.segment != published).mean(axis=0))
    h = r.headlines().iloc[0]
    assert h.startswith("published 1st of 12 (segment 1); 95% confidence set for its league rank 1st–")
    assert "(metric basket); NHS England's likely range 1st–3rd (bootstrap range); " in h and "rank interval" not in h


def test_headline_by_hand():
    # T0: league ranks 1, 2, 1 over three replicates, segments 1, 2, 1; nominal rank 1, segment 1
    r = Replicates("metrics", pd.Index(["T0", "T1"]), np.array([[2.0, 2.5], [2.1, 2.4], [2.0, 2.6]]),
                   np.array([[1, 3], [2, 3], [1, 3]]), np.array([[1, 2], [2, 1], [1, 2]]),
                   {"average": np.array([2.0, 2.5]), "segment": np.array([1, 3]), "rank": np.array([1, 2])},
                   method=METHOD)
    h = r.headlines(coverage=0.9)
    # the averages differ by 0.5 with an SE of 0.115 (z = 4.3): the league sets are single ranks, and the
    # bootstrap range of the rank (1st-2nd for both) is not in the headline
    assert h.iloc[0] == ("recomputed 1st of 2 (segment 1); 90% confidence set for its league rank 1st–1st "
                         "(metric basket); 33% chance of a different segment")
    assert h.iloc[1] == ("recomputed 2nd of 2 (segment 3); 90% confidence set for its league rank 2nd–2nd "
                         "(metric basket); 0% chance of a different segment")
    assert [ordinal(k) for k in (1, 2, 3, 11, 12, 13, 21, 22, 111)] == \
        ["1st", "2nd", "3rd", "11th", "12th", "13th", "21st", "22nd", "111th"]


def test_sampling_covariance_is_full_and_synthetic_label(tmp_path):
    panel = panel_of(write_data(tmp_path / "x-q3-25-26.csv", random_rows(n=6), synthetic=True))
    r = sampling_replicates(panel, METHOD, draws=200, seed=0)
    assert r.synthetic and r.data_label == "SYNTHETIC" and (r.summary()["data"] == "SYNTHETIC").all()
    cov = r.covariance()
    np.testing.assert_allclose(cov.to_numpy(), np.cov(r.average, rowvar=False))
    # relative scoring: scores sum to a constant within a metric, so averages co-vary negatively
    assert (cov.to_numpy()[~np.eye(6, dtype=bool)] < 0).any()


def test_bad_arguments():
    with pytest.raises(MethodError, match="draws"):
        basket_bootstrap(None, METHOD, draws=0)
    r = hand_replicates([[1.0], [2.0]], [1.5])
    with pytest.raises(MethodError, match="coverage"):
        r.summary(1.5)
    with pytest.raises(MethodError, match="unknown source"):
        Replicates("guesswork", pd.Index(["A"]), np.ones((1, 1)), np.ones((1, 1)), np.ones((1, 1)), {"average": [1.0]})


@pytest.mark.parametrize("aggregation", ["mean", "geometric_mean"])
def test_basket_averages_fast_path_equals_the_general_one(aggregation):
    # the (geometric) mean path gathers weighted sums by flat index; it must give exactly the
    # numbers of gathering the drawn scores and calling aggregate_scores
    from nhs_league.sensitivity import example_panel
    from nhs_league.uncertainty import _basket_averages, _scored

    panel = example_panel(40, seed=5)
    method = load_method("nof-2025-26").replace(average={"aggregation": aggregation})
    _, sc = _scored(panel, method)
    fast = _basket_averages(panel, method, sc, 200, 11)
    slow = _basket_averages(panel, method, sc, 200, 11, general=True)
    np.testing.assert_array_equal(fast, slow)
    some = _basket_averages(panel, method, sc, 200, 11, trusts=[3, 17])
    np.testing.assert_array_equal(some, slow[:, [3, 17]])


def test_headline_names_the_cap_and_never_the_bootstrap_range():
    # T1 has the better average but is in deficit: raw segment 1, capped at 3, so second in the league
    avg = np.array([[2.0, 1.5], [2.02, 1.52], [1.98, 1.48], [2.01, 1.49]])
    r = Replicates("metrics", pd.Index(["T0", "T1"]), avg, np.array([[1, 3]] * 4), np.array([[1, 2]] * 4),
                   {"average": np.array([2.0, 1.5]), "segment": np.array([1, 3]), "raw_segment": np.array([1, 1]),
                    "rank": np.array([1, 2]), "in_deficit": np.array([False, True])}, method=METHOD)
    h = r.headlines(0.95)
    assert h.loc["T1"].startswith("recomputed 2nd of 2 (segment 3, capped by the deficit rule); 95% confidence set "
                                  "for its league rank 2nd–2nd (metric basket)")
    assert "capped" not in h.loc["T0"] and not h.str.contains("interval").any()
