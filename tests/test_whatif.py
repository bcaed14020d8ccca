"""What would move a trust up a segment (issue 15): hand-made panels, properties, the real MH&C release."""

from __future__ import annotations

import csv
from itertools import combinations, product

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from nhs_league.catalogue import load_catalogue
from nhs_league.methods import default_method_for, load_method
from nhs_league.pipeline import Panel, build_panel, compute, metric_scores
from nhs_league.sensitivity import example_panel
from nhs_league import whatif as W

from conftest import SHARED_DATA_RAW

METHOD = load_method("nof-2025-26")  # cut-offs 2.06 / 2.35 / 2.70, deficit cap at 3


def hand_panel(values, deficit=None) -> Panel:
    """Trusts A-E on three acute metrics with no bookends (higher is better): scores 1.00-4.00 by rank."""
    meta = load_catalogue().loc[["OF0023", "OF0010", "OF0011"]]
    codes = list("ABCDE")[: len(values)]
    trusts = pd.DataFrame({"trust_name": [f"Trust {c}" for c in codes], "trust_subtype": "", "region": "",
                           "source_file": "hand.csv", "source_row": np.arange(len(codes)) + 2},
                          index=pd.Index(codes, name="trust_code"))
    v = np.asarray(values, float)
    flag = pd.array([pd.NA] * len(codes) if deficit is None else deficit, dtype="boolean")
    return Panel("2025Q3", "acute", trusts, meta, v, v * np.nan, v * np.nan, v * np.nan, {}, flag,
                 np.zeros(len(codes), bool))


# A..E on each metric, best first: with 5 trusts the scores are 1.00, 1.75, 2.50, 3.25, 4.00.
HAND = [[90.0, 95.0, 95.0],
        [80.0, 90.0, 85.0],
        [70.0, 70.0, 80.0],
        [60.0, 60.0, 60.0],
        [50.0, 50.0, 50.0]]


def test_hand_panel_single_metric_answers_known_by_hand():
    # C scores 2.50 on every metric: average 2.50, segment 3. Segment 2 needs a 2-dp average <= 2.35:
    # equalling B's value on any one metric gives C rank 2 (ties take the best rank), score 1.75,
    # average (1.75 + 2.5 + 2.5) / 3 = 2.25. Any value short of B's leaves C third: average 2.50.
    p = hand_panel(HAND)
    w = W.what_if(p, METHOD, "C")
    assert (w.current_segment, w.target_segment, w.cap_binds) == (3, 2, False)
    got = w.singles.set_index("Metric_ID")
    expected = pd.DataFrame({"Needed_value": [80.0, 90.0, 85.0], "Change": [10.0, 20.0, 5.0],
                             "Change_share_of_range": [10 / 40, 20 / 45, 5 / 45], "New_score": [1.75] * 3,
                             "New_average_2dp": [2.25] * 3},
                            index=pd.Index(["OF0023", "OF0010", "OF0011"], name="Metric_ID"))
    pd.testing.assert_frame_equal(got[expected.columns], expected)
    assert got["New_segment"].tolist() == [2, 2, 2] and got["Reaches_target"].tolist() == [True] * 3
    assert len(w.combination) == 0
    # Segment 1 needs <= 2.06: one metric at A's value gives (1 + 2.5 + 2.5) / 3 = 2.00.
    w1 = W.what_if(p, METHOD, "C", target_segment=1)
    pd.testing.assert_series_equal(w1.singles.set_index("Metric_ID")["Needed_value"],
                                   pd.Series([90.0, 95.0, 95.0], index=expected.index, name="Needed_value"))
    assert w.sentence().startswith("Reaching segment 2 needs one of: OF0011 ")  # the smallest share first


def test_hand_panel_combination_known_by_hand():
    # E scores 4.00 everywhere (segment 4). Segment 3 needs a sum of scores below 3 x 2.705 = 8.115.
    # One metric at best (1.00) gives 9.00: no single metric can. Two metrics: pairs of new scores
    # summing below 4.115 work: (1.00, 1.75), (1.75, 1.75), (1.00, 2.50). Cheapest as a share of
    # each metric's range (40, 45, 45): OF0023 to A's 90 (1.0) + OF0010 to C's 70 (20/45 = 0.444), or
    # OF0010 to C's 70 (0.444) + OF0011 to A's 95 (1.0): 1.444 either way; every other pair costs more.
    p = hand_panel(HAND)
    w = W.what_if(p, METHOD, "E")
    assert not w.singles["Reaches_target"].fillna(False).any()
    assert set(w.singles["Status"].str.split(":").str[0]) == {W.STATUS_NOT_ALONE}
    c = w.combination
    assert len(c) == 2 and (c["New_segment"] == 3).all() and (c["Reaches_target"]).all()
    chosen = frozenset(zip(c["Metric_ID"], c["Needed_value"]))
    assert chosen in {frozenset({("OF0023", 90.0), ("OF0010", 70.0)}),
                      frozenset({("OF0010", 70.0), ("OF0011", 95.0)})}
    assert c["Change_share_of_range"].sum() == pytest.approx(1 + 20 / 45)
    assert c["New_average_2dp"].iloc[0] == pytest.approx((1.0 + 2.5 + 4.0) / 3, abs=0.005)
    # an independent brute force over every pair of candidate values agrees on the cheapest cost
    best = _brute_force_pair_cost(p, "E", 3)
    assert best == pytest.approx(c["Change_share_of_range"].sum())


def _brute_force_pair_cost(p, code, target):
    i = list(p.trusts.index).index(code)
    rng = np.nanmax(p.values, 0) - np.nanmin(p.values, 0)
    best = np.inf
    for a, b in combinations(range(p.values.shape[1]), 2):
        for xa, xb in product(p.values[:, a], p.values[:, b]):
            v = p.values.copy()
            if xa <= v[i, a] or xb <= v[i, b]:
                continue
            v[i, a], v[i, b] = xa, xb
            if compute(p, METHOD, v)["segment"][i] <= target:
                best = min(best, (xa - p.values[i, a]) / rng[a] + (xb - p.values[i, b]) / rng[b])
    return best


def test_hand_panel_deficit_cap_binds():
    p = hand_panel(HAND, deficit=[False, False, True, False, False])
    w = W.what_if(p, METHOD, "C")
    assert w.cap_binds and w.current_segment == 3 and w.target_segment == 2
    s = w.singles
    assert (s["New_raw_segment"] == 2).all() and (s["New_segment"] == 3).all()
    assert s["Status"].str.contains("without the deficit cap").all()
    assert "no metric gain can lift it above segment 3 until it is out of deficit" in w.sentence()
    assert any("financial deficit" in n for n in w.notes)


def test_already_best_and_already_top():
    p = hand_panel(HAND)
    w = W.what_if(p, METHOD, "A")
    assert w.target_segment == 1 and w.current_segment == 1
    assert w.sentence() == "Trust A is already in segment 1."
    # A best on OF0023 (1.00), second on OF0010 (70, tied with C, ties take the best rank: 1.75), worst
    # on OF0011 (40: 4.00): average 2.25, segment 2. Segment 1 needs <= 2.06. OF0023 cannot improve.
    # OF0010 at B's 90 gives (1 + 1 + 4) / 3 = 2.00; OF0011 at E's 50 (rank 4, 3.25) gives 2.00 too.
    hand = [row[:] for row in HAND]
    hand[0] = [90.0, 70.0, 40.0]
    w = W.what_if(hand_panel(hand), METHOD, "A", target_segment=1)
    assert w.current_segment == 2
    s = w.singles.set_index("Metric_ID")
    assert s.loc["OF0023", "Status"] == W.STATUS_BEST
    assert s.loc["OF0010", "Needed_value"] == 90.0 and s.loc["OF0011", "Needed_value"] == 50.0
    assert s.loc[["OF0010", "OF0011"], "New_average_2dp"].tolist() == [2.0, 2.0]


def test_ordered_values_breaks_two_dp_ties_in_file_rank_order():
    p = hand_panel([[70.0, 1, 1], [70.0, 2, 2], [70.0, 3, 3], [60.0, 4, 4], [50.0, 5, 5]])
    p.ranks = np.array([[3.0, 5, 5], [1, 4, 4], [1, 3, 3], [4, 2, 2], [5, 1, 1]])
    p.values[:, 1:] = [[1, 1], [2, 2], [3, 3], [4, 4], [5, 5]]
    v = W.ordered_values(p)
    # B and C tie on rank 1, A is third with the same 2-dp value: A is moved just below them
    assert v[1, 0] == v[2, 0] > v[0, 0] > 60.0
    np.testing.assert_array_equal(metric_scores(p, METHOD, values=v), metric_scores(p, METHOD))
    p.ranks[3, 0] = 1.0  # D (60) ranked above the 70s: the file contradicts its values
    with pytest.raises(W.InputError, match="Rank of OF0023 contradicts its values"):
        W.ordered_values(p)


# --------------------------------------------------------------------------------------
# Property: the suggested change reaches the target, anything smaller does not
# --------------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(8, 40), pick=st.integers(0, 10_000))
def test_property_needed_change_is_sufficient_and_minimal(seed, n, pick):
    p = example_panel(n, seed=seed)
    method = load_method("nof-2025-26")
    code = p.trusts.index[pick % n]
    w = W.what_if(p, method, code)
    i = pick % n
    key = "raw_segment" if w.cap_binds else "segment"
    levs = {lv.lever_id: lv for lv in W.levers(p, method, i)}
    for _, row in w.singles[w.singles["Reaches_target"].fillna(False).astype(bool)].iterrows():
        lv = levs[row["Metric_ID"]]
        need, cur = row["Needed_value"], row["Current_value"]
        assert W.rerun(p, method, i, [[(lv, need)]])[key][0, i] <= w.target_segment
        step = np.sign(need - cur)
        smaller = [cur + (need - cur) * f for f in (0.25, 0.5, 0.999999)] + [need - step * 1e-9 * max(1, abs(need))]
        r = W.rerun(p, method, i, [[(lv, x)] for x in smaller])
        assert (r[key][:, i] > w.target_segment).all(), (code, row["Metric_ID"], need)
    for _, row in w.combination.iterrows():  # a combination is checked by a full re-run
        assert row["New_segment" if not w.cap_binds else "New_raw_segment"] <= w.target_segment


# --------------------------------------------------------------------------------------
# The real MH&C release (NHS England's official files, read in place)
# --------------------------------------------------------------------------------------
MHC = SHARED_DATA_RAW / "nhse_nof_mhc_2025_26_q4_release"
MHC_DATA = MHC / "nhs-oversight-framework-mental-health-and-community-trust-data.csv"
def needs_mhc(f):
    """Real-data test: marked ``realdata`` and skipped when the release is not in ../shared."""
    return pytest.mark.realdata(pytest.mark.skipif(not MHC_DATA.exists(),
                                                   reason="real MH&C release not present in ../shared")(f))


@pytest.fixture(scope="module")
def mhc():
    from nhs_league.errors import Problems
    from nhs_league.io import read_inputs

    return read_inputs(sorted(MHC.glob("*.csv")), Problems())


def _raw(quarter="Q4 2025/26"):
    with open(MHC_DATA, encoding="utf-8-sig", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["Quarter"] == quarter]
    return pd.DataFrame(rows)


@needs_mhc
@pytest.mark.parametrize("quarter", ["2025Q1", "2025Q2", "2025Q3", "2025Q4"])
def test_real_ordered_values_reproduce_the_point_estimate(mhc, quarter):
    p = build_panel(mhc, quarter, "mental-health-and-community")
    m = default_method_for(quarter)
    on_values = metric_scores(p, m, values=p.values)
    assert not np.allclose(on_values, metric_scores(p, m), equal_nan=True)  # 2-dp ties do matter
    np.testing.assert_array_equal(metric_scores(p, m, values=W.ordered_values(p)), metric_scores(p, m))
    r, rv = compute(p, m), compute(p, m, W.ordered_values(p))
    for k in ("segment", "rank", "average_2dp"):
        np.testing.assert_array_equal(rv[k], r[k])


@needs_mhc
def test_real_q4_trusts_checked_by_hand(mhc):
    raw = _raw()
    val = raw.pivot(index="Trust_code", columns="Metric_ID", values="Value").astype(float)
    avg = val["OF5002"]
    p = build_panel(mhc, "2025Q4", "mental-health-and-community")
    m = default_method_for("2025Q4")  # cut-offs 2.02 / 2.29 / 2.57
    n_scores = (val[[c for c in val if c.startswith("OF1") and c not in ("OF1079", "OF1081")]] > 0).sum(axis=1)

    # RAT (segment 2, average 2.12, 11 scores): OF0084 staff engagement 7.04 scores 1 + 3 x 28 / 60 = 2.40
    # (rank 29 of 61). The trusts at 7.25 are ranked 12th: score 1.55 ... equalling the best of them
    # gives RAT that rank. By hand: 2.40 -> 1.30 lowers the average by 1.10 / 11 = 0.1000: 2.1245 -> 2.0245,
    # 2.02 at 2 dp, segment 1. The next lower value there is (7.24) leaves it at 2.03.
    w = W.what_if(p, m, "RAT")
    assert (w.current_segment, w.target_segment) == (2, 1) and avg["RAT"] == 2.12 and n_scores["RAT"] == 11
    row = w.singles.set_index("Metric_ID").loc["OF0084"]
    assert (row["Current_value"], row["Needed_value"]) == (7.04, 7.25)
    assert val.loc["RAT", "OF1084"] == 2.4
    assert by_hand_single(val, "RAT", "OF0084", 11, p_average(p, m, "RAT"), 2.02) == (7.25, 1.3)
    assert row["New_score"] == pytest.approx(1.3)
    assert row["New_average"] == pytest.approx(p_average(p, m, "RAT") - (2.4 - 1.3) / 11)
    assert row["New_average_2dp"] == 2.02 and row["New_segment"] == 1
    below = val.loc[(val["OF0084"] < 7.25) & (val["OF0084"] > 7.04), "OF1084"].min()  # the next value down
    assert round(p_average(p, m, "RAT") - (2.4 - below) / 11 + 1e-9, 2) > 2.02

    # R1L (Essex Partnership) is in deficit (OF5004 = 1), average 2.39: segment 3 with or without the cap.
    # Without the cap, OF0061 raising concerns from 6.56 to 6.85 (the best score held at 6.85) lowers the
    # average by (its score now - that score) / its number of scores, to 2.29 or below: segment 2 without the
    # cap, still 3 with it.
    w = W.what_if(p, m, "R1L")
    assert w.cap_binds and val.loc["R1L", "OF5004"] == 1 and (w.current_segment, w.raw_segment) == (3, 3)
    row = w.singles.set_index("Metric_ID").loc["OF0061"]
    assert (row["Current_value"], row["Needed_value"]) == (6.56, 6.85)
    value, score = by_hand_single(val, "R1L", "OF0061", n_scores["R1L"], p_average(p, m, "R1L"), 2.29)
    assert (value, score) == (6.85, pytest.approx(row["New_score"], abs=0.005))
    assert row["New_average_2dp"] <= 2.29 and (row["New_raw_segment"], row["New_segment"]) == (2, 3)
    assert w.sentence().startswith("Essex Partnership University NHS Foundation Trust is in financial "
                                   "deficit: no metric gain can lift it above segment 3 until it is out of "
                                   "deficit. Without the cap, reaching segment 2 needs one of: ")
    assert "OF0061 Staff survey: raising concerns from 6.56 to 6.85;" in w.sentence()
    # RXE (Rotherham Doncaster and South Humber): in deficit with a 2-dp average of 2.23, segment 2 without the
    # cap already: only being out of deficit moves it.
    w = W.what_if(p, m, "RXE")
    assert w.cap_binds and (w.current_segment, w.raw_segment, w.target_segment) == (3, 2, 2)
    assert not w.options["Reaches_target"].fillna(False).any() and len(w.combination) == 0
    assert w.sentence().endswith("without the cap it would already be in segment 2.")

    # RJ8, searching only the metrics scored within the type (grid=False): no single metric can reach segment 1;
    # OF0061 and OF0084 together can. (On the published positions OF0082 alone would do it.)
    w = W.what_if(p, m, "RJ8", grid=False)
    assert not w.singles["Reaches_target"].fillna(False).any()
    c = w.combination.set_index("Metric_ID")
    assert sorted(c.index) == ["OF0061", "OF0084"] and (c["New_segment"] == 1).all()
    s61 = val.loc[val["OF0061"] == c.loc["OF0061", "Needed_value"], "OF1061"].min()
    s84 = val.loc[val["OF0084"] == c.loc["OF0084", "Needed_value"], "OF1084"].min()
    by_hand = p_average(p, m, "RJ8") - ((val.loc["RJ8", "OF1061"] - s61) + (val.loc["RJ8", "OF1084"] - s84)) / \
        n_scores["RJ8"]
    assert c["New_average"].iloc[0] == pytest.approx(by_hand, abs=0.006)  # published scores are 2 dp
    assert c["New_average_2dp"].iloc[0] <= 2.02

    # without NHS England's published positions, cross-type metrics cannot be re-scored from one type's file
    assert W.what_if(p, m, "RJ8").singles.set_index("Metric_ID").loc["OF0082", "Reaches_target"]
    s = w.singles.set_index("Metric_ID")["Status"]
    assert (s[CROSS] == W.STATUS_CROSS_TYPE).all()
    assert s["OF0035"] == W.STATUS_SCORE_ONLY

    # On the published positions: RAT's OF0082 sickness absence from 5.88% to 4.67%, the value of the trust
    # published with OF1082 = 1.32; RAT's 2.50 becomes that trust's score: 2.1245 - (2.50 - 1.32) / 11 = 2.017,
    # 2.02, segment 1. The next trust of the type with a lower rate than 5.88% short of that (4.80%, OF1082 = 1.44)
    # would give 2.1245 - 1.06 / 11 = 2.028: 2.03, not enough; trusts of other types in between may be.
    w = W.what_if(p, m, "RAT")
    row = w.singles.set_index("Metric_ID").loc["OF0082"]
    assert (row["Current_value"], row["Needed_value"], row["Known_not_enough_value"]) == (5.88, 4.67, 4.80)
    assert val.loc[val["OF0082"] == 4.67, "OF1082"].tolist() == [1.32] and val.loc["RAT", "OF1082"] == 2.5
    assert row["New_score"] == pytest.approx(1.32, abs=0.005)
    assert round(p_average(p, m, "RAT") - (2.5 - 1.32) / 11, 2) == row["New_average_2dp"] == 2.02
    assert val.loc[val["OF0082"] == 4.80, "OF1082"].tolist() == [1.44]
    assert round(p_average(p, m, "RAT") - (2.5 - 1.44) / 11 + 1e-9, 2) == 2.03
    assert "a smaller change passing trusts of other types may be enough" in row["Status"]


CROSS = ["OF0005", "OF0016", "OF0057", "OF0063", "OF0082", "OF0041", "OF0086"]


@needs_mhc
@pytest.mark.parametrize("quarter", ["2025Q1", "2025Q2", "2025Q3", "2025Q4"])
def test_real_grid_population_is_exact_at_this_types_values(mhc, quarter):
    """Stand-ins on NHS England's published positions give back every published score, and a trust equalling
    another trust of its type gets exactly that trust's position on the grid (rescaled when it leaves the floor)."""
    from nhs_league.scoring import unround_on_grid

    p = build_panel(mhc, quarter, "mental-health-and-community")
    m = default_method_for(quarter)
    values = W.ordered_values(p)
    full, done = W.grid_population(p, m, values)
    rounded = set(m.settings["scoring"]["published_as_rounded"])
    assert done == [c for c in CROSS if c not in rounded]
    np.testing.assert_array_equal(metric_scores(full, m, values=values), metric_scores(p, m))
    std, flr = p.rule_param_array
    for mid in done:
        j = p.metric_ids.index(mid)
        lo, hi = 1.0, (3.0 if not np.isnan(flr[j]) else 4.0)
        grid, n_mid = unround_on_grid(p.published[:, j], lo=lo, hi=hi)
        hib = p.higher_is_better[j]
        have = np.flatnonzero(~np.isnan(values[:, j]))
        for i in have[:: max(1, len(have) // 6)]:
            better = [k for k in have if (values[k, j] > values[i, j] if hib else values[k, j] < values[i, j])]
            ch = [[(W.Lever(mid, j, "value", j, "", "", bool(hib)), values[k, j])] for k in better]
            if not ch:
                continue
            got = W.rerun(full, m, int(i), ch, values, rescore="all")["scores"][:, i, j]
            leaves_floor = p.published[i, j] > hi + 1e-9
            expected = np.array([grid[k] if not leaves_floor or grid[k] > hi else np.nan for k in better])
            if leaves_floor:  # one more trust between the bookends: positions k / (N - 1) become k / N
                expected = np.where(grid[better] > hi, 4.0, lo + (grid[better] - lo) * (n_mid - 1) / n_mid)
            np.testing.assert_allclose(got, expected, atol=1e-12, err_msg=f"{quarter} {mid} {p.trusts.index[i]}")


def by_hand_single(val, code, metric, n, average, cutoff):
    """From the file alone: the least value (and its published score) that takes ``code`` to ``cutoff``.

    The trust's score must fall to ``s`` with ``average - (score_now - s) / n < cutoff + 0.005`` (the 2-dp
    average at or below the cut-off). It can take the score of any trust ranked above it (the published
    score is lower) by equalling its value; the least change is the lowest such value, and among trusts
    with that 2-dp value the one ranked lowest whose score is still enough.
    """
    sid = "OF1" + metric[3:]
    now = val.loc[code, sid]
    allowed = now - (average - (cutoff + 0.005)) * n
    ahead = val[(val[sid] < now) & (val[sid] < allowed) & (val.index != code)]
    value = ahead[metric].min()
    return value, ahead.loc[ahead[metric] == value, sid].max()


def p_average(p, m, code):
    return float(compute(p, m)["average"][list(p.trusts.index).index(code)])


@needs_mhc
def test_real_closeness(mhc):
    p = build_panel(mhc, "2025Q4", "mental-health-and-community")
    m = default_method_for("2025Q4")
    c, notes = W.closeness(p, m, "RAT", draws=400, seed=1)
    assert c["Cutoff"].tolist() == [2.02, 2.29, 2.57]
    assert c["Gap_points"].tolist() == pytest.approx([0.10, -0.17, -0.45])
    table = compute(p, m)["average_2dp"]
    # trusts between RAT (2.12) and 2.02: 2-dp averages 2.03-2.11, RAT's ties (2.12) not counted
    assert c["Trusts_between"].iloc[0] == int(((table > 2.02) & (table < 2.12 - 1e-9)).sum())
    assert 0 < c["P_other_side_metrics"].iloc[0] < 0.5
    assert c["P_other_side_sampling"].isna().all() and any("sampling" in n for n in notes)
    assert c["Inside_NHSE_likely_range"].notna().all()


@needs_mhc
def test_cli_whatif(mhc, run_cli, tmp_path):
    files = sorted(MHC.glob("*.csv"))
    out = tmp_path / "rat.csv"
    args = [*files, "--quarter", "2025Q4", "--trust-type", "mental-health-and-community", "--trust", "RAT",
            "--draws", "200", "--output", out]
    code, _, err = run_cli("whatif", *args)
    assert code == 0, err
    assert "Reaching segment 1 needs one of" in err
    t = pd.read_csv(out)
    assert set(t["Kind"]) == {"single metric", "cut-off"} and (t["Data"] == "real").all()
    first = out.read_bytes()
    code, _, err = run_cli("whatif", *args)
    assert code == 2 and "pass --force" in err
    code, _, _ = run_cli("whatif", *args, "--force")
    assert code == 0 and out.read_bytes() == first  # same seed, byte-identical
    code, _, err = run_cli("whatif", *files, "--quarter", "2025Q4", "--trust-type", "mental-health-and-community",
                           "--trust", "ZZZ")
    assert code == 2 and err.count("\n") == 1 and "trust ZZZ is not in" in err and "Traceback" not in err
    code, _, err = run_cli("whatif", *files, "--quarter", "2025Q4", "--trust-type", "mental-health-and-community",
                           "--trust", "RAT", "--target-segment", "5")
    assert code == 2 and "--target-segment must be 1, 2, 3 or 4" in err


def test_all_trusts_of_a_synthetic_table(tmp_path):
    """Every trust of a synthetic table gets an answer checked by a re-run (no exception, labels)."""
    p = example_panel(25, seed=4)
    m = load_method("nof-2025-26")
    base = compute(p, m)
    for code in p.trusts.index:
        w = W.what_if(p, m, code)
        assert w.synthetic and len(w.singles) >= len(p.metric_ids)
        t = W.output_table(w)
        assert (t["Data"] == "SYNTHETIC").all()
        i = list(p.trusts.index).index(code)
        assert w.current_segment == base["segment"][i]


def _all_candidates(p, m, i):
    levs = W.levers(p, m, i)
    return [[(lv, x)] for lv in levs for x in lv.candidates]


@pytest.mark.parametrize("files", ["synthetic-all-types", "real-mhc"])
def test_rescoring_the_changed_metric_equals_rescoring_everything(files, mhc_inputs_or_skip):
    """The fast re-run (only the changed metric re-scored) gives the numbers of the full re-run."""
    inputs = mhc_inputs_or_skip(files)
    p = build_panel(inputs, "2025Q4", "mental-health-and-community")
    m = default_method_for("2025Q4")
    for i in (0, 7, 33):
        ch = _all_candidates(p, m, i)
        fast, full = W.rerun(p, m, i, ch), W.rerun(p, m, i, ch, rescore="all")
        for k in ("scores", "average", "average_2dp", "raw_segment", "segment", "rank", "domain_scores"):
            np.testing.assert_array_equal(fast[k], full[k], err_msg=k)


@pytest.fixture
def mhc_inputs_or_skip():
    from pathlib import Path

    from nhs_league.errors import Problems
    from nhs_league.io import read_inputs

    def get(which):
        if which == "real-mhc":
            if not MHC_DATA.exists():
                pytest.skip("real MH&C release not present in ../shared")
            return read_inputs(sorted(MHC.glob("*.csv")), Problems())
        folder = Path(__file__).resolve().parents[1] / "data" / "synthetic" / "2025-26" / "q4-25-26"
        return read_inputs(sorted(folder.glob("*-data-*.csv")), Problems())

    return get
