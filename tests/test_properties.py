"""Property tests (hypothesis): invariants of scoring, the override, ranks and input order."""

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from conftest import DATA_HEADER_Q3, csv_bytes, data_row
from nhs_league.io import read_inputs
from nhs_league.league import league_ranks
from nhs_league.methods import load_method
from nhs_league.pipeline import build_panel, classify, league_table
from nhs_league.scoring import continuous_scores
from nhs_league.segmentation import apply_override

NOF = load_method("nof-2025-26")
FEW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# metric values on a coarse grid so that ties happen often; NaN = no value
values_1d = st.lists(st.one_of(st.none(), st.integers(0, 12)), min_size=2, max_size=30).map(
    lambda xs: np.array([np.nan if x is None else x / 2 for x in xs], dtype=float))
matrices = st.integers(2, 25).flatmap(lambda n: st.integers(1, 5).flatmap(lambda m: hnp.arrays(
    float, (n, m), elements=st.one_of(st.just(np.nan), st.integers(0, 8).map(float)))))


@FEW
@given(matrices, st.data())
def test_scores_lie_in_1_to_4_and_missing_values_stay_missing(v, data):
    hib = data.draw(hnp.arrays(bool, v.shape[1]))
    s = continuous_scores(v, hib)
    have = ~np.isnan(s)
    assert ((s[have] >= 1.0) & (s[have] <= 4.0)).all()
    assert not (have & np.isnan(v)).any()
    n = (~np.isnan(v)).sum(axis=0)
    np.testing.assert_array_equal(have.sum(axis=0), np.where(n >= 2, n, 0))


@FEW
@given(values_1d, st.booleans())
def test_best_scores_1_and_a_unique_worst_scores_4(v, higher):
    s = continuous_scores(v[:, None], [higher])[:, 0]
    have = ~np.isnan(v)
    if have.sum() < 2:
        assert np.isnan(s).all()
        return
    best = np.nanmax(v) if higher else np.nanmin(v)
    worst = np.nanmin(v) if higher else np.nanmax(v)
    assert (s[v == best] == 1.0).all()
    if (v == worst).sum() == 1 and worst != best:
        assert s[v == worst][0] == 4.0
    # a better value never scores worse
    key = -v if higher else v
    i, j = np.nonzero(have[:, None] & have[None, :] & (key[:, None] < key[None, :]))
    assert (s[i] <= s[j]).all()


@FEW
@given(hnp.arrays(np.int64, st.integers(1, 40), elements=st.integers(0, 4)), st.data(), st.integers(1, 4))
def test_the_override_never_improves_a_segment(raw, data, cap):
    deficit = data.draw(hnp.arrays(bool, raw.shape))
    adj = apply_override(raw, deficit, cap=cap)
    assert (adj >= raw).all()  # larger segment number = worse
    assert (adj[~deficit] == raw[~deficit]).all()
    assert (adj[deficit & (raw > 0)] >= cap).all()


averages = hnp.arrays(float, st.integers(1, 40), elements=st.integers(100, 400).map(lambda x: x / 100))


@FEW
@given(averages, st.data())
def test_override_through_classify_never_improves_a_segment(avg, data):
    deficit = data.draw(hnp.arrays(bool, avg.shape))
    none = np.zeros(avg.shape, bool)
    with_o = classify(avg, deficit, none, NOF)
    without = classify(avg, deficit, none, NOF.replace(override={"enabled": False}))
    assert (with_o["segment"] >= without["segment"]).all()
    np.testing.assert_array_equal(with_o["raw_segment"], without["segment"])


@FEW
@given(averages, st.data())
def test_ranks_are_a_competition_ranking_consistent_with_segment_then_average(avg, data):
    seg = data.draw(hnp.arrays(np.int64, avg.shape, elements=st.integers(1, 5)))
    r = league_ranks(seg, avg)
    key = seg * 1000 + np.rint(avg * 100)
    # rank = 1 + number of trusts strictly ahead
    np.testing.assert_array_equal(r, 1 + (key[None, :] < key[:, None]).sum(axis=1))
    ahead = key[:, None] < key[None, :]
    assert (r[:, None] < r[None, :])[ahead].all()
    assert (r[:, None] == r[None, :])[key[:, None] == key[None, :]].all()
    assert r.min() == 1


trust_tables = st.integers(3, 12).flatmap(lambda n: st.tuples(
    st.just(n),
    hnp.arrays(float, (n, 4), elements=st.one_of(st.just(np.nan), st.integers(0, 20).map(lambda x: 5.0 * x))),
    hnp.arrays(float, (n, 2), elements=st.integers(-4, 4).map(lambda x: x / 2)),
    st.randoms(use_true_random=False),
))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trust_tables)
def test_the_league_table_does_not_depend_on_input_row_order(table):
    n, vals, fin, rnd = table
    vals[:, 0] = np.where(np.isnan(vals[:, 0]), 50.0, vals[:, 0])  # every trust has a scored metric
    metrics = ["OF0023", "OF0010", "OF0011", "OF0061"]
    rows = []
    for i in range(n):
        code = f"T{i:02d}"
        for j, mid in enumerate(metrics):
            v = vals[i, j]
            rows.append(data_row(code, mid, "*" if np.isnan(v) else (v / 10 if mid == "OF0061" else v)))
        rows.append(data_row(code, "OF0079", fin[i, 0]))
        rows.append(data_row(code, "OF0081", fin[i, 1]))
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    with tempfile.TemporaryDirectory() as d:
        tables = []
        for name, rs in (("a", rows), ("b", shuffled)):
            p = Path(d) / f"{name}-q3-25-26.csv"
            p.write_bytes(csv_bytes(DATA_HEADER_Q3, rs))
            panel = build_panel(read_inputs([p]), "2025Q3", "acute")
            tables.append(league_table(panel, NOF))
    pd.testing.assert_frame_equal(tables[0], tables[1])
    assert tables[0]["Rank"].min() == 1
