"""Each step of the NOF method on tiny hand-made rows; every expected value is worked out by hand.

nof-method.md §1: metric scores -> average -> raw segment -> financial override -> segment 5
-> league ranks; and the two input routes (data file, league-table file).
"""

import io

import numpy as np
import pandas as pd
import pytest

from conftest import league_row
from nhs_league.io import read_inputs
from nhs_league.league import league_ranks
from nhs_league.methods import load_method
from nhs_league.pipeline import (build_panel, classify, compute, domain_scores, league_table,
                                 league_table_from_published, metric_scores, scoring_report)
from nhs_league.scoring import (aggregate_scores, banded_scores, competition_rank, continuous_scores,
                                finance_position_scores, round_scores)
from nhs_league.segmentation import (apply_override, apply_segment5, cutoff_segments, deficit_from_metrics,
                                     quartile_segments)

NOF = load_method("nof-2025-26")
nan = np.nan


# ---------------- continuous scoring ----------------

def test_competition_ranks_are_1224():
    np.testing.assert_array_equal(competition_rank(np.array([10.0, 20.0, 20.0, 30.0])), [1, 2, 2, 4])
    np.testing.assert_array_equal(competition_rank(np.array([5.0, nan, 1.0, 5.0])), [2, nan, 1, 2])


def test_continuous_rule_higher_is_better_with_ties_and_a_gap():
    v = np.array([[90.0], [80.0], [nan], [70.0], [80.0]])
    # ranks 1, 2, -, 4, 2 among N = 4 with a value: 1 + 3 (r - 1) / 3
    np.testing.assert_allclose(continuous_scores(v, [True])[:, 0], [1.0, 2.0, nan, 4.0, 2.0])


def test_continuous_rule_lower_is_better():
    v = np.array([[10.0], [30.0], [20.0]])
    np.testing.assert_allclose(continuous_scores(v, [False])[:, 0], [1.0, 4.0, 2.5])


def test_ties_take_the_lowest_rank():
    v = np.array([[5.0], [5.0], [5.0], [1.0]])
    np.testing.assert_allclose(continuous_scores(v, [True])[:, 0], [1.0, 1.0, 1.0, 4.0])


def test_n_counts_only_trusts_with_a_value():
    v = np.array([[50.0], [nan], [nan], [40.0], [30.0]])
    # N = 3, not 5: 1, 2.5, 4
    np.testing.assert_allclose(continuous_scores(v, [True])[:, 0], [1.0, nan, nan, 2.5, 4.0])


def test_a_metric_with_too_few_values_is_not_scored():
    v = np.array([[50.0, 1.0], [nan, 2.0], [nan, 3.0]])
    s = continuous_scores(v, [True, True])
    assert np.isnan(s[:, 0]).all()
    np.testing.assert_allclose(s[:, 1], [4.0, 2.5, 1.0])
    assert np.isnan(continuous_scores(v, [True, True], min_trusts=4)).all()


def test_metrics_are_scored_independently_and_replicates_vectorise():
    v = np.array([[1.0, 10.0], [2.0, 30.0], [3.0, 20.0]])
    s = continuous_scores(v, [True, False])
    np.testing.assert_allclose(s, [[4.0, 1.0], [2.5, 4.0], [1.0, 2.5]])
    reps = np.stack([v, v[::-1]])  # (2, 3, 2)
    sr = continuous_scores(reps, [True, False])
    np.testing.assert_allclose(sr[0], s)
    np.testing.assert_allclose(sr[1], s[::-1])


# ---------------- discrete finance position ----------------

def test_finance_position_bands():
    planned = np.array([1.0, -2.0, 0.0, -1.0, 0.0, 0.0, nan, -0.5])
    variance = np.array([0.0, 0.2, -0.1, -2.0, -1.5, -1.6, 0.0, nan])
    # 1 + [planned < 0] + [variance < 0] + [variance < -1.5], capped at 4; missing variance = on plan
    expected = [1.0, 2.0, 2.0, 4.0, 2.0, 3.0, nan, 2.0]
    np.testing.assert_allclose(finance_position_scores(planned, variance), expected)


def test_finance_position_cap_and_custom_bands():
    s = finance_position_scores(np.array([-1.0]), np.array([-2.0]), deficit_points=2)
    np.testing.assert_allclose(s, [4.0])  # 1 + 2 + 2 = 5, capped at 4
    s = finance_position_scores(np.array([-1.0, 1.0]), np.array([-0.5, -0.5]), variance_bands=[-1.0])
    np.testing.assert_allclose(s, [2.0, 1.0])


def test_banded_scores_both_directions():
    np.testing.assert_allclose(banded_scores(np.array([1.0, -0.5, -3.0, nan]), [0.0, -1.5]), [1, 2, 3, nan])
    np.testing.assert_allclose(banded_scores(np.array([5.0, 15.0, 25.0]), [10.0, 20.0], higher_is_better=False),
                               [1, 2, 3])


# ---------------- a whole acute table on four trusts ----------------
# OF0023 (access, higher):       A1 90, A2 80, A3 70, A4 60       -> 1, 2, 3, 4
# OF0010 (access, higher):       A1 50, A2 60, A3 *,  A4 70       -> 4, 2.5, -, 1 (N = 3)
# OF0061 (patient safety, hi):   A1 7,  A2 7,  A3 6,  A4 5        -> 1, 1, 3, 4 (tie "min")
# OF0079/OF0081 -> OF0080 (combined finance, OF1080): planned 1, -1, 0.5, 0 -> bands 1, 2, 1, 1
#                (edges 0 / -1 / -2); variance 0, 0, -2, -0.5 -> bands 1, 1, 4, 2 (edges 0 / -0.5 / -1);
#                lookup (1,1) 1, (2,1) 2, (1,4) 3, (1,2) 1 -> 1, 2, 3, 1
# averages: A1 7/4 = 1.75; A2 7.5/4 = 1.875 -> 1.88; A3 9/3 = 3.00; A4 10/4 = 2.50
ROWS = [
    ("A1", "OF0023", 90), ("A2", "OF0023", 80), ("A3", "OF0023", 70), ("A4", "OF0023", 60),
    ("A1", "OF0010", 50), ("A2", "OF0010", 60), ("A3", "OF0010", "*"), ("A4", "OF0010", 70),
    ("A1", "OF0061", 7), ("A2", "OF0061", 7), ("A3", "OF0061", 6), ("A4", "OF0061", 5),
    ("A1", "OF0079", 1.0), ("A2", "OF0079", -1.0), ("A3", "OF0079", 0.5), ("A4", "OF0079", 0.0),
    ("A1", "OF0081", 0.0), ("A2", "OF0081", 0.0), ("A3", "OF0081", -2.0), ("A4", "OF0081", -0.5),
]
CODES = pd.Index(["A1", "A2", "A3", "A4"], name="Trust_code")


@pytest.fixture
def panel(data_file):
    return build_panel(read_inputs([data_file(ROWS)]), "2025Q3", "acute")


def _col(panel, scores, mid):
    return scores[..., panel.metric_ids.index(mid)]


def test_metric_scores_on_the_small_table(panel):
    s = metric_scores(panel, NOF)
    assert set(panel.metric_ids) == {"OF0023", "OF0010", "OF0061", "OF0080"}  # OF0079, OF0081 are inputs
    np.testing.assert_allclose(_col(panel, s, "OF0023"), [1, 2, 3, 4])
    np.testing.assert_allclose(_col(panel, s, "OF0010"), [4, 2.5, nan, 1])
    np.testing.assert_allclose(_col(panel, s, "OF0061"), [1, 1, 3, 4])
    np.testing.assert_allclose(_col(panel, s, "OF0080"), [1, 2, 3, 1])


def test_average_domain_scores_segments_and_ranks(panel):
    t = league_table(panel, NOF).set_index("Trust_code").loc[CODES]
    pd.testing.assert_series_equal(t["Average_score_unrounded"], pd.Series([1.75, 1.875, 3.0, 2.5], index=CODES,
                                                                           name="Average_score_unrounded"))
    pd.testing.assert_series_equal(t["Average_score"], pd.Series([1.75, 1.88, 3.0, 2.5], index=CODES,
                                                                 name="Average_score"))
    assert t["N_metrics"].tolist() == [4, 4, 3, 4]
    # deficit from metrics (no league file): A2 planned < 0, A3 and A4 variance < 0
    assert t["Trust_in_financial_deficit"].tolist() == ["No", "Yes", "Yes", "Yes"]
    assert t["Deficit_source"].tolist() == ["OF0079/OF0081"] * 4
    assert t["Raw_segment"].tolist() == [1, 1, 4, 3]
    assert t["Segment"].tolist() == [1, 3, 4, 3]  # A2 capped at 3
    assert t["Rank"].tolist() == [1, 2, 4, 3]  # within segment 3, A2's 1.88 before A4's 2.50
    pd.testing.assert_series_equal(t["Domain_score_access"], pd.Series([2.5, 2.25, 3.0, 2.5], index=CODES,
                                                                       name="Domain_score_access"))
    pd.testing.assert_series_equal(t["Domain_score_patient_safety"],
                                   pd.Series([1.0, 1.0, 3.0, 4.0], index=CODES, name="Domain_score_patient_safety"))
    pd.testing.assert_series_equal(t["Domain_score_finance_productivity"],
                                   pd.Series([1.0, 2.0, 3.0, 1.0], index=CODES,
                                             name="Domain_score_finance_productivity"))
    assert t["Domain_score_people_workforce"].isna().all()
    # the table is in rank order
    full = league_table(panel, NOF)
    assert full["Trust_code"].tolist() == ["A1", "A2", "A4", "A3"]


def test_domain_scores_function():
    s = np.array([[1.0, 3.0, 2.0, nan], [4.0, nan, nan, 1.0]])
    d = domain_scores(s, np.array([0, 0, 2, 4]))
    np.testing.assert_allclose(d, [[2.0, nan, 2.0, nan, nan], [4.0, nan, nan, nan, 1.0]])


def test_average_is_a_plain_mean_of_metric_scores_not_of_domains():
    s = np.array([[1.0, 4.0, 1.0, 1.0], [3.0, nan, 3.0, 3.0]])
    np.testing.assert_allclose(aggregate_scores(s), [7 / 4, 3.0])


def test_per_domain_weights_average_the_domains(panel):
    r = compute(panel, NOF.replace(average={"weights": "per_domain"}))
    # A1: access (1 + 4) / 2 = 2.5, safety 1, finance 1 -> (2.5 + 1 + 1) / 3 = 1.5
    # A3: access 3, safety 3, finance 3 -> 3
    np.testing.assert_allclose(r["average"], [1.5, (2.25 + 1 + 2) / 3, 3.0, (2.5 + 4 + 1) / 3])


def test_other_aggregations():
    s = np.array([[1.0, 2.0, 4.0, 4.0, nan]])
    np.testing.assert_allclose(aggregate_scores(s, aggregation="median"), [3.0])
    np.testing.assert_allclose(aggregate_scores(s, aggregation="geometric_mean"), [(1 * 2 * 4 * 4) ** 0.25])
    # trim 0.25 of 4 scores cuts one from each end: mean(2, 4) = 3
    np.testing.assert_allclose(aggregate_scores(s, aggregation="trimmed_mean", trim=0.25), [3.0])
    assert np.isnan(aggregate_scores(np.array([[nan, nan]]))).all()


def test_rounding_half_up_and_half_even():
    x = np.array([2.125, 2.345, 1.875, 2.0649999])
    np.testing.assert_allclose(round_scores(x), [2.13, 2.35, 1.88, 2.06])
    np.testing.assert_allclose(round_scores(np.array([2.125]), rounding="half_even"), [2.12])


# ---------------- published scores ----------------

PUB_ROWS = [
    ("P1", "OF0023", 60), ("P2", "OF0023", 70), ("P3", "OF0023", 80), ("P4", "OF0023", "*"),
    ("P1", "OF1023", 4.0), ("P2", "OF1023", 2.6), ("P3", "OF1023", 1.0),
    ("P1", "OF0020", 1), ("P2", "OF0020", 2), ("P3", "OF0020", 3), ("P4", "OF0020", 4),
    ("P1", "OF1020", 1.0), ("P2", "OF1020", 2.0), ("P3", "OF1020", 3.0),
]


@pytest.fixture
def pub_panel(data_file):
    return build_panel(read_inputs([data_file([(c, m, v) for c, m, v in PUB_ROWS])]), "2025Q3", "acute")


def test_published_scores_are_used_where_the_rule_is_published(pub_panel):
    s = metric_scores(pub_panel, NOF)
    # OF0020 has rule "published": the OF1020 rows are used; P4 has none and is not scored
    np.testing.assert_allclose(_col(pub_panel, s, "OF0020"), [1.0, 2.0, 3.0, nan])
    # OF0023 has a rule: recomputed (P1 60% -> 4, P2 70% -> 2.5, P3 80% -> 1), not the published 2.6
    np.testing.assert_allclose(_col(pub_panel, s, "OF0023"), [4.0, 2.5, 1.0, nan])
    pref = metric_scores(pub_panel, NOF.replace(scoring={"published_scores": "prefer_published"}))
    np.testing.assert_allclose(_col(pub_panel, pref, "OF0023"), [4.0, 2.6, 1.0, nan])
    never = metric_scores(pub_panel, NOF.replace(scoring={"published_scores": "never"}))
    assert np.isnan(_col(pub_panel, never, "OF0020")).all()


def test_scoring_report_counts_and_agreement(pub_panel):
    rep = scoring_report(pub_panel, NOF).set_index("metric_id").loc[["OF0023", "OF0020"]]
    expected = pd.DataFrame({
        "rule": ["continuous", "published"],
        "n_values": [3, 4],
        "n_recomputed": [3, 0],
        "n_published_used": [0, 3],
        "n_both": [3, 0],
        "max_abs_difference": [0.1, nan],   # |2.5 - 2.6|
        "share_within_0_01": [2 / 3, nan],  # P1 and P3 agree, P2 does not
    }, index=pd.Index(["OF0023", "OF0020"], name="metric_id"))
    pd.testing.assert_frame_equal(rep, expected, check_dtype=False, atol=1e-12)


# ---------------- segments ----------------

def test_cutoff_boundaries_on_the_2dp_average():
    np.testing.assert_array_equal(cutoff_segments(np.array([2.06, 2.07, 2.35, 2.36, 2.70, 2.71, 1.0, 4.0])),
                                  [1, 2, 2, 3, 3, 4, 1, 4])


def test_classify_rounds_before_segmenting():
    avg = np.array([2.064, 2.065, 2.3549, 2.355, 2.7049, 2.705])
    r = classify(avg, np.zeros(6, bool), np.zeros(6, bool), NOF)
    np.testing.assert_allclose(r["average_2dp"], [2.06, 2.07, 2.35, 2.36, 2.70, 2.71])
    np.testing.assert_array_equal(r["raw_segment"], [1, 2, 2, 3, 3, 4])


AV6 = np.array([1.0, 1.5, 2.0, 2.5, 3.0, 3.5])


def test_quartiles_linear():
    # linear quartiles 1.625, 2.25, 2.875
    np.testing.assert_array_equal(quartile_segments(AV6), [1, 1, 2, 3, 4, 4])


def test_quartiles_quantile_method_is_configurable():
    # 'higher' quartiles are the observations 2.0, 2.5, 3.0
    np.testing.assert_array_equal(quartile_segments(AV6, method="higher"), [1, 1, 1, 2, 3, 4])
    np.testing.assert_array_equal(quartile_segments(AV6, method="higher", boundary="worse"), [1, 1, 2, 3, 4, 4])
    m = NOF.replace(segmentation={"rule": "quartiles", "quantile_method": "higher", "boundary": "better"})
    r = classify(AV6, np.zeros(6, bool), np.zeros(6, bool), m)
    np.testing.assert_array_equal(r["raw_segment"], [1, 1, 1, 2, 3, 4])
    m = m.replace(segmentation={"boundary": "worse"})
    np.testing.assert_array_equal(classify(AV6, np.zeros(6, bool), np.zeros(6, bool), m)["raw_segment"],
                                  [1, 1, 2, 3, 4, 4])


def test_the_q1_preset_uses_the_cut_offs_q1s_segments_pin_and_quartiles_remain_a_choice():
    q1 = load_method("nof-2025-26-q1")
    assert q1.settings["segmentation"]["rule"] == "cutoffs" and q1.cutoffs == (2.04, 2.32, 2.60)
    r = classify(np.array([2.04, 2.05, 2.32, 2.33, 2.60, 2.61]), np.zeros(6, bool), np.zeros(6, bool), q1)
    np.testing.assert_array_equal(r["raw_segment"], [1, 2, 2, 3, 3, 4])
    r = classify(AV6, np.zeros(6, bool), np.zeros(6, bool), q1.replace(segmentation={"rule": "quartiles"}))
    np.testing.assert_array_equal(r["raw_segment"], [1, 1, 2, 3, 4, 4])


def test_override_caps_at_3_and_never_improves():
    np.testing.assert_array_equal(apply_override(np.array([1, 2, 3, 4, 1, 2]), np.array([1, 1, 1, 1, 0, 0], bool)),
                                  [3, 3, 3, 4, 1, 2])
    np.testing.assert_array_equal(apply_override(np.array([1, 2, 3]), np.ones(3, bool), cap=2), [2, 2, 3])
    np.testing.assert_array_equal(apply_override(np.array([1, 2]), np.ones(2, bool), enabled=False), [1, 2])


def test_override_cap_is_a_method_setting():
    avg, d = np.array([1.5, 2.2, 2.5]), np.ones(3, bool)
    np.testing.assert_array_equal(classify(avg, d, np.zeros(3, bool), NOF)["segment"], [3, 3, 3])
    m = NOF.replace(override={"cap": 2})
    np.testing.assert_array_equal(classify(avg, d, np.zeros(3, bool), m)["segment"], [2, 2, 3])


def test_deficit_from_metrics():
    planned = np.array([1.0, -0.1, 0.0, nan, 0.0, -0.3])
    variance = np.array([0.0, 0.0, -0.2, nan, nan, 0.5])
    np.testing.assert_array_equal(deficit_from_metrics(planned, variance), [0, 1, 1, 0, 0, 1])
    np.testing.assert_array_equal(deficit_from_metrics(planned, variance, tolerance=0.25), [0, 0, 0, 0, 0, 1])


def test_published_deficit_flag_is_preferred_to_the_metrics(data_file, league_file):
    # metrics say: A1 no, A2 yes, A3 yes, A4 yes. Flags: A1 Yes, A2 No, A3 blank, A4 no row.
    lf = league_file([league_row("A1", 1.75, "Yes"), league_row("A2", 1.88, "No"), league_row("A3", 3.0, "")])
    panel = build_panel(read_inputs([data_file(ROWS), lf]), "2025Q3", "acute")
    d, src = panel.deficit(NOF)
    np.testing.assert_array_equal(d, [True, False, True, True])
    assert src.tolist() == ["published flag", "published flag", "OF0079/OF0081", "OF0079/OF0081"]
    d, _ = panel.deficit(NOF.replace(override={"deficit": "metrics"}))
    np.testing.assert_array_equal(d, [False, True, True, True])
    d, src = panel.deficit(NOF.replace(override={"deficit": "published_flag"}))
    np.testing.assert_array_equal(d, [True, False, False, False])
    assert src.tolist() == ["published flag", "published flag", "no data", "no data"]
    t = league_table(panel, NOF).set_index("Trust_code").loc[CODES]
    assert t["Segment"].tolist() == [3, 1, 4, 3]  # A1 capped by its flag; A2 not, by its flag
    pd.testing.assert_series_equal(t["Published_average_score"],
                                   pd.Series([1.75, 1.88, 3.0, nan], index=CODES, name="Published_average_score"))


def test_segment5_from_the_OF5007_flag(data_file):
    panel = build_panel(read_inputs([data_file([*ROWS, ("A1", "OF5007", 1)])]), "2025Q3", "acute")
    t = league_table(panel, NOF).set_index("Trust_code").loc[CODES]
    # as published (OF5000 / OF5005): the league segment stays 1-4, segment 5 is reported beside it
    assert t["Segment"].tolist() == [1, 3, 4, 3]
    assert t["Final_segment"].tolist() == [5, 3, 4, 3]
    assert t["Rank"].tolist() == [1, 2, 4, 3]
    last = league_table(panel, NOF.replace(segment5={"in_league_table": "last"})).set_index("Trust_code").loc[CODES]
    assert last["Segment"].tolist() == [5, 3, 4, 3]
    assert last["Rank"].tolist() == [4, 1, 3, 2]  # segment 5 ranks after every segment 1-4 trust
    ex = league_table(panel, NOF.replace(segment5={"in_league_table": "exclude"}))
    assert ex["Trust_code"].tolist() == ["A2", "A4", "A3", "A1"] and ex["Rank"].tolist() == [1, 2, 3, 0]
    none = league_table(panel, NOF.replace(segment5={"source": "none"})).set_index("Trust_code").loc[CODES]
    assert none["Final_segment"].tolist() == [1, 3, 4, 3]


def test_segment5_from_a_list(panel):
    m = NOF.replace(segment5={"source": "list", "trusts": ["A4"]})
    t = league_table(panel, m).set_index("Trust_code").loc[CODES]
    assert t["Final_segment"].tolist() == [1, 3, 4, 5] and t["Segment"].tolist() == [1, 3, 4, 3]
    np.testing.assert_array_equal(apply_segment5(np.array([1, 3, 4]), np.array([0, 1, 0], bool)), [1, 5, 4])


# ---------------- league ranks ----------------

def test_league_ranks_competition_1224():
    r = league_ranks(np.array([1, 1, 1, 2]), np.array([1.50, 1.60, 1.60, 1.20]))
    np.testing.assert_array_equal(r, [1, 2, 2, 4])


def test_segment_3_with_a_better_score_ranks_below_every_segment_2_trust():
    seg = np.array([2, 2, 3, 1, 2])
    avg = np.array([2.30, 2.35, 1.20, 2.00, 2.10])
    r = league_ranks(seg, avg)
    np.testing.assert_array_equal(r, [3, 4, 5, 1, 2])
    assert r[2] > r[seg == 2].max()


def test_unranked_trusts_get_rank_0():
    np.testing.assert_array_equal(league_ranks(np.array([1, 0, 2]), np.array([1.5, 1.0, nan])), [1, 0, 0])


# ---------------- the two input routes ----------------

LEAGUE_ROWS = [("L1", 2.06, "No"), ("L2", 2.07, "No"), ("L3", 2.35, "No"), ("L4", 2.70, "No"), ("L5", 2.71, "No"),
               ("L6", 2.00, "Yes")]
LCODES = pd.Index(["L1", "L2", "L3", "L4", "L5", "L6"], name="Trust_code")


def test_route_2_rederives_segments_and_ranks_from_a_league_file(league_file):
    inputs = read_inputs([league_file(LEAGUE_ROWS)])
    t = league_table_from_published(inputs, "2025Q3", "acute", NOF)
    assert t["Trust_code"].tolist() == ["L1", "L2", "L3", "L6", "L4", "L5"]
    t = t.set_index("Trust_code").loc[LCODES]
    assert t["Raw_segment"].tolist() == [1, 2, 2, 3, 4, 1]
    assert t["Segment"].tolist() == [1, 2, 2, 3, 4, 3]
    # L6 (2.00, in deficit, segment 3) ranks below both segment-2 trusts
    assert t["Rank"].tolist() == [1, 2, 3, 5, 6, 4]
    assert t["Deficit_source"].tolist() == ["published flag"] * 6
    assert t["Published_segment"].isna().all()


def test_route_2_with_other_cutoffs(league_file):
    inputs = read_inputs([league_file(LEAGUE_ROWS)])
    m = NOF.replace(name="wider", segmentation={"cutoffs": [2.10, 2.50, 2.75]})
    t = league_table_from_published(inputs, "2025Q3", "acute", m).set_index("Trust_code").loc[LCODES]
    assert t["Raw_segment"].tolist() == [1, 1, 2, 3, 3, 1]
    assert t["Segment"].tolist() == [1, 1, 2, 3, 3, 3]
    assert t["Rank"].tolist() == [1, 2, 3, 5, 6, 4]
    assert set(t["Method"]) == {m.label} and m.label.startswith("wider (")


def test_route_2_keeps_the_published_columns_alongside(league_file):
    rows = [league_row("L1", 2.06, "No", segment="1", rank="1", avg_range="1.9 - 2.2", rank_range="1 - 4"),
            league_row("L2", 2.50, "Yes", segment="3", rank="2")]
    t = league_table_from_published(read_inputs([league_file(rows)]), "2025Q3", "acute", NOF)
    pd.testing.assert_series_equal(t["Segment"].astype("Int64"), t["Published_segment"], check_names=False)
    pd.testing.assert_series_equal(t["Rank"].astype("Int64"), t["Published_rank"], check_names=False)
    assert t["Likely_range_average_low"].iloc[0] == 1.9 and t["Likely_range_rank_high"].iloc[0] == 4


def test_cli_picks_the_route_from_the_input(data_file, league_file, run_cli):
    code, out, _ = run_cli("table", data_file(ROWS), "--quarter", "2025Q3", "--trust-type", "acute")
    t1 = pd.read_csv(io.StringIO(out))
    assert code == 0 and "N_metrics" in t1.columns and t1["Trust_code"].tolist() == ["A1", "A2", "A4", "A3"]
    code, out, _ = run_cli("table", league_file(LEAGUE_ROWS), "--quarter", "Q3 2025/26", "--trust-type", "acute")
    t2 = pd.read_csv(io.StringIO(out))
    assert code == 0 and "N_metrics" not in t2.columns and "Published_segment" in t2.columns
    assert t2["Trust_code"].tolist() == ["L1", "L2", "L3", "L6", "L4", "L5"]


def test_cli_writes_the_output_file_and_refuses_to_overwrite(data_file, tmp_path, run_cli):
    out = tmp_path / "table.csv"
    args = ["table", data_file(ROWS), "--quarter", "2025Q3", "--trust-type", "acute", "--output", out]
    code, _, err = run_cli(*args)
    assert code == 0 and out.exists() and "wrote" in err
    first = out.read_bytes()
    code, _, err = run_cli(*args)
    assert code == 2 and "--force" in err and len(err.splitlines()) == 1
    code, _, _ = run_cli(*args, "--force")
    assert code == 0 and out.read_bytes() == first  # same input, byte-identical output


def test_domain_segments_use_each_domains_own_cutoffs():
    from nhs_league.methods import load_method
    from nhs_league.pipeline import domain_segments

    m = load_method("nof-2025-26")
    # access cut-offs 1.91/2.37/2.89; effectiveness 1.88/2.20/2.50: the same score 2.30 is
    # segment 2 in access and segment 3 in effectiveness and experience
    d = np.array([[2.30, 2.30, 2.30, 2.30, 2.30]])
    assert domain_segments(d, m).tolist() == [[2, 3, 2, 2, 3]]
    one_list = m.replace(domain_segmentation={"cutoffs": [2.06, 2.35, 2.70]})
    assert domain_segments(d, one_list).tolist() == [[2, 2, 2, 2, 2]]


def test_domain_cutoffs_must_name_every_domain():
    from nhs_league.errors import MethodError
    from nhs_league.methods import load_method

    m = load_method("nof-2025-26")
    with pytest.raises(MethodError, match="missing \\['finance_productivity'\\]"):
        m.replace(domain_segmentation={"cutoffs": {"access": [1, 2, 3], "effectiveness_experience": [1, 2, 3],
                                                    "patient_safety": [1, 2, 3], "people_workforce": [1, 2, 3]}})
