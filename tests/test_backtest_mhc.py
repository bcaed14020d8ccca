"""The full-recompute backtest on NHS England's official MH&C release, Q1-Q4 2025/26.

The two official files are read in place from ``../shared/data-raw/`` (never copied); every test
skips with a reason when that folder is absent. From the raw values (OF00xx), the data file's
Rank column and, for metrics NHS England scores across trust types, the published score, the
engine must reproduce every published figure: metric scores, domain scores and segments, the
average, the unadjusted segment, the deficit flag, the segment, segment 5 and the rank.
"""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from nhs_league.backtest import backtest_panel, metric_score_table
from nhs_league.catalogue import DOMAIN_SCORE_IDS, DOMAIN_SEGMENT_IDS, DOMAINS, load_catalogue
from nhs_league.io import read_inputs
from nhs_league.methods import default_method_for
from nhs_league.pipeline import build_panel, compute, league_table
from nhs_league.segmentation import deficit_from_metrics

pytestmark = pytest.mark.realdata

FOLDER = "nhse_nof_mhc_2025_26_q4_release"
DATA = "nhs-oversight-framework-mental-health-and-community-trust-data.csv"
LEAGUE = "nhs-oversight-framework-mental-health-and-community-trust-league-table.csv"
MHC = "mental-health-and-community"
QUARTERS = ["2025Q1", "2025Q2", "2025Q3", "2025Q4"]
# metric scores NHS England derives within the trust type from this file's raw values
WITHIN_TYPE_SCORES = ["OF1061", "OF1084", "OF1079", "OF1081", "OF1080"]


@pytest.fixture(scope="module")
def files(shared_data):
    folder = shared_data / FOLDER
    data, league = folder / DATA, folder / LEAGUE
    if not data.exists() or not league.exists():
        pytest.fail(f"{shared_data} is present but the official MH&C release {folder} is not complete")
    return data, league


@pytest.fixture(scope="module")
def inputs(files):
    return read_inputs(list(files))


@pytest.fixture(scope="module")
def backtests(inputs):
    out = {}
    for q in QUARTERS:
        panel = build_panel(inputs, q, MHC)
        out[q] = (panel, *backtest_panel(panel, default_method_for(q)))
    return out


def test_every_metric_id_in_the_official_file_is_known_and_scored(inputs, files):
    assert inputs.unknown_metrics == []
    raw = pd.read_csv(files[0], encoding="utf-8-sig", dtype=str)
    ids = set(raw["Metric_ID"])
    cat = load_catalogue()
    known_scores = set(cat["score_id"].dropna())
    scores = {i for i in ids if i.startswith("OF1")}
    assert scores <= known_scores  # every score row has its catalogue entry, none "unknown, not scored"
    assert {i for i in ids if i.startswith("OF0")} <= set(cat["metric_id"])
    for q in QUARTERS:
        panel = build_panel(inputs, q, MHC)
        scored = {s if isinstance(s, str) else m for m, s in zip(panel.metric_ids, panel.metrics["score_id"])}
        held = set(raw.loc[raw["Quarter"] == f"Q{q[-1]} 2025/26", "Metric_ID"])
        assert {i for i in held & scores if i not in ("OF1079", "OF1081")} <= scored, q


@pytest.mark.parametrize("q", QUARTERS)
def test_every_published_figure_is_reproduced(backtests, q):
    panel, summary, mismatches = backtests[q]
    assert mismatches.empty, mismatches.head(20).to_string()
    by = summary.groupby("Step")[["Compared", "Exact"]].sum()
    pd.testing.assert_series_equal(by["Exact"], by["Compared"], check_names=False)
    for step in ("average", "unadjusted segment", "segment", "deficit flag", "rank"):
        assert by.loc[step, "Compared"] == 61, step
    # every domain score and domain segment NHS England published
    res = panel.published_results
    n_dom = int(res[list(DOMAIN_SCORE_IDS.values())].notna().sum().sum())
    assert by.loc["domain score", "Compared"] == n_dom >= 300
    assert by.loc["domain segment", "Compared"] == int(res[list(DOMAIN_SEGMENT_IDS.values())].notna().sum().sum())
    # the scores derived here from raw values: at least 99.5% exact at 2 dp (the goal); all of them are
    mine = summary[(summary["Step"] == "metric score") & (summary["Source"] == "recomputed")]
    assert set(mine["Metric_ID"]) == set(WITHIN_TYPE_SCORES)
    assert mine["Exact"].sum() / mine["Compared"].sum() >= 0.995
    assert mine["Compared"].sum() == 5 * 61
    if q in ("2025Q1", "2025Q2"):  # segment 5 (OF5005) is published in Q1-Q2
        assert by.loc["final segment (with segment 5)", "Compared"] == 61


def test_q4_ranks_equal_the_published_league_table(backtests, files):
    panel, summary, _ = backtests["2025Q4"]
    row = summary[summary["Step"] == "rank"].iloc[0]
    assert row["Metric_ID"] == "league table" and row["Exact"] == row["Compared"] == 61
    t = league_table(panel, default_method_for("2025Q4")).set_index("Trust_code").sort_index()
    lg = pd.read_csv(files[1], encoding="utf-8-sig").set_index("Trust_code").sort_index()
    pd.testing.assert_series_equal(t["Rank"].astype(float), lg["Rank"], check_names=False)
    pd.testing.assert_series_equal(t["Segment"].astype(float), lg["Segment"], check_names=False)
    pd.testing.assert_series_equal(t["Average_score"], lg["Average_score"], check_names=False)


def test_the_deficit_flag_is_the_published_one_where_the_rule_disagrees(backtests):
    disagree = {}
    for q, (panel, _, _) in backtests.items():
        method = default_method_for(q)
        flag, src = panel.deficit(method)
        assert set(src) == {"published flag"}
        planned, variance = panel.planned_and_variance(method)
        rule = deficit_from_metrics(planned, variance)
        disagree[q] = set(panel.trusts.index[rule != flag])
        assert 3 <= len(disagree[q]) <= 5, (q, disagree[q])
    # nof-method.md §4: RV9's small planned deficit is not flagged; RYG, with a surplus, is
    assert any("RV9" in v for v in disagree.values()) and any("RYG" in v for v in disagree.values())


def _strip(raw: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Drop every published row the method derives from this file, shuffle the rows, move the columns."""
    derived = (raw["Metric_ID"].isin(WITHIN_TYPE_SCORES) | raw["Metric_ID"].str.match(r"OF4\d\d\d$")
               | raw["Metric_ID"].isin(["OF5000", "OF5002", "OF5003", "OF5005"]))
    out = raw[~derived].sample(frac=1.0, random_state=seed)
    cols = list(out.columns)
    return out[cols[::-1]]


def test_the_recompute_comes_from_raw_values_stripped_shuffled_and_reordered(files, inputs, tmp_path):
    raw = pd.read_csv(files[0], encoding="utf-8-sig", dtype=str, keep_default_na=False)
    stripped = _strip(raw, seed=7)
    assert len(stripped) < len(raw) - 2000 and list(stripped.columns) != list(raw.columns)
    p = tmp_path / DATA
    stripped.to_csv(p, index=False)
    mine = read_inputs([p, files[1]])
    keep_published = {"OF1005", "OF1016", "OF1041", "OF1057", "OF1063", "OF1082", "OF1086", "OF1035", "OF1067"}
    assert set(stripped["Metric_ID"]) & set(WITHIN_TYPE_SCORES) == set()
    assert {i for i in set(stripped["Metric_ID"]) if i.startswith("OF1")} == keep_published
    for q in QUARTERS:
        method = default_method_for(q)
        a, b = build_panel(inputs, q, MHC), build_panel(mine, q, MHC)
        ta, tb = league_table(a, method), league_table(b, method)
        pd.testing.assert_frame_equal(ta, tb)
        pd.testing.assert_frame_equal(metric_score_table(a, method), metric_score_table(b, method))
        # and the stripped file's recompute equals NHS England's published results (from the full file)
        pub = a.published_results.reindex(tb["Trust_code"])
        np.testing.assert_array_equal(tb["Average_score"].to_numpy(), pub["OF5002"].to_numpy())
        np.testing.assert_array_equal(tb["Segment"].to_numpy(), pub["OF5000"].to_numpy())
        np.testing.assert_array_equal(tb["Raw_segment"].to_numpy(), pub["OF5003"].to_numpy())
        for k, d in enumerate(DOMAINS):
            want = pub[DOMAIN_SCORE_IDS[d]].to_numpy()
            np.testing.assert_array_equal(tb[f"Domain_score_{d}"].to_numpy(), want)


def test_without_the_cross_type_scores_the_engine_says_it_scores_within_the_type(files, tmp_path):
    raw = pd.read_csv(files[0], encoding="utf-8-sig", dtype=str, keep_default_na=False)
    bare = raw[~raw["Metric_ID"].str.startswith(("OF1", "OF4", "OF50"))]  # raw values only
    p = tmp_path / DATA
    bare.to_csv(p, index=False)
    panel = build_panel(read_inputs([p]), "2025Q4", MHC)
    notes = " ".join(panel.notes)
    assert "scored within the trust type" in notes and "OF0082" in notes
    t = league_table(panel, default_method_for("2025Q4"))
    assert t["Average_score"].notna().all()  # a table, and a note that it is not NHS England's scoring


def test_cross_type_metrics_are_scored_across_every_type_given(tmp_path):
    """With every trust type's file, OF0082 (sickness absence) is ranked among all their trusts."""
    from nhs_league.scoring import bookend_scores
    from pathlib import Path
    folder = Path(__file__).resolve().parents[1] / "data" / "synthetic" / "2025-26" / "q3-25-26"
    files = sorted(folder.glob("*-data-*.csv"))
    both = read_inputs(files)
    alone = read_inputs([f for f in files if "mental-health" in f.name])
    pooled = build_panel(both, "2025Q3", MHC)
    single = build_panel(alone, "2025Q3", MHC)
    j = pooled.metric_ids.index("OF0082")
    assert pooled.population_complete[j] and not single.population_complete[j]
    m = both.metrics
    allv = m[(m["metric_id"] == "OF0082") & (m["quarter"] == "2025Q3")].set_index("trust_code")["value"]
    assert allv.index.is_unique and len(allv) > 150
    direct = pd.Series(bookend_scores(allv.to_numpy()[:, None], [False])[:, 0], index=allv.index)
    method = default_method_for("2025Q3")
    got = pd.Series(compute(pooled, method)["scores"][:, j], index=pooled.trusts.index)
    pd.testing.assert_series_equal(got, direct.reindex(got.index), check_names=False)
    # alone, the type is scored within itself, and says so
    assert any("OF0082" in n and "within the trust type" in n for n in single.notes)
    own = pd.Series(compute(single, method)["scores"][:, single.metric_ids.index("OF0082")], index=single.trusts.index)
    assert not np.allclose(own.to_numpy(), got.reindex(own.index).to_numpy())


def _pinned(score, segment):
    """Intervals [a, b) each cut-off must lie in: a = highest score in the better segment, b = lowest in the worse."""
    return [(score[segment <= s].max(), score[segment > s].min()) for s in (1, 2, 3)]


@pytest.mark.parametrize("q", QUARTERS)
def test_each_quarters_preset_cut_offs_lie_where_the_published_segments_pin_them(inputs, q):
    panel = build_panel(inputs, q, MHC)
    res = panel.published_results
    method = default_method_for(q)
    assert method.name == f"nof-2025-26-q{q[-1]}"
    for (a, b), c in zip(_pinned(res["OF5002"], res["OF5003"]), method.cutoffs):
        assert a <= c < b, (q, a, c, b)
    for d in DOMAINS:
        ok = res[DOMAIN_SCORE_IDS[d]].notna()
        for (a, b), c in zip(_pinned(res.loc[ok, DOMAIN_SCORE_IDS[d]], res.loc[ok, DOMAIN_SEGMENT_IDS[d]]),
                             method.domain_cutoffs[d]):
            assert a <= c < b, (q, d, a, c, b)


def test_the_finance_lookup_holds_every_observed_pair(files):
    raw = pd.read_csv(files[0], encoding="utf-8-sig")
    w = raw[raw["Metric_ID"].isin(["OF1079", "OF1081", "OF1080"])].pivot_table(
        index=["Quarter", "Trust_code"], columns="Metric_ID", values="Value")
    prm = load_catalogue().loc["OF0080", "rule_params"]
    table, observed = np.asarray(prm["table"]), np.asarray(prm["observed"])
    a, b = w["OF1079"].astype(int).to_numpy() - 1, w["OF1081"].astype(int).to_numpy() - 1
    np.testing.assert_array_equal(table[a, b], w["OF1080"].to_numpy())
    seen = np.zeros((4, 4), int)
    seen[a, b] = 1
    np.testing.assert_array_equal(seen, observed)  # the catalogue marks exactly the cells the data show


def test_league_file_formats_are_read_by_header(inputs, files):
    lg = inputs.league.set_index("trust_code").sort_index()
    text = pd.read_csv(files[1], encoding="utf-8-sig", dtype=str).set_index("Trust_code").sort_index()
    lo_hi = text["Likely_range_of_average_score"].str.split(" to ", expand=True).astype(float)
    np.testing.assert_array_equal(lg["average_range_low"].to_numpy(), lo_hi[0].to_numpy())
    np.testing.assert_array_equal(lg["average_range_high"].to_numpy(), lo_hi[1].to_numpy())
    r = text["Likely_range_of_rank"].str.split(" to ", expand=True).astype(int)
    np.testing.assert_array_equal(lg["rank_range_low"].to_numpy(), r[0].to_numpy())
    assert str(lg["segment"].dtype) == "Int64" and set(lg["segment"]) == {1, 2, 3, 4}  # "1.0" read as 1
    assert set(lg["quarter"]) == {"2025Q4"}


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "nhs_league.cli", *map(str, args)], capture_output=True, text=True)


def test_backtest_command_exit_codes_and_mismatch_listing(files, tmp_path):
    ok = _cli("backtest", *files)
    assert ok.returncode == 0, ok.stderr
    assert "reproduced exactly; 0 mismatch(es)" in ok.stdout and "Traceback" not in ok.stderr
    raw = pd.read_csv(files[0], encoding="utf-8-sig", dtype=str, keep_default_na=False)
    i = raw.index[(raw["Metric_ID"] == "OF5002") & (raw["Trust_code"] == "RV3") & (raw["Quarter"] == "Q4 2025/26")]
    raw.loc[i, "Value"] = "1.99"  # a published average that the method does not give
    p = tmp_path / DATA
    raw.to_csv(p, index=False)
    bad = _cli("backtest", p, "--quarter", "2025Q4")
    assert bad.returncode == 1, bad.stderr
    line = [x.split() for x in bad.stdout.splitlines() if " RV3 " in f" {x} " and "OF5002" in x]
    # the mismatch names the trust, the step, the published and the recomputed value (and the rank NHS
    # England's figures would then give moves too: it is derived from OF5000 and OF5002)
    assert [x for x in line if x[3] == "average"] == [["2025Q4", MHC, "RV3", "average", "OF5002", "1.99", "1.55"]]
    broken = tmp_path / "broken.csv"
    broken.write_text("Quarter,Trust_code\nQ4 2025/26,RV3\n")
    err = _cli("backtest", broken)
    assert err.returncode == 2 and len(err.stderr.strip().splitlines()) == 1 and "Traceback" not in err.stderr


def test_table_writes_every_metric_score_with_its_source(files, tmp_path):
    out, scores = tmp_path / "t.csv", tmp_path / "scores.csv"
    r = _cli("table", files[0], "--quarter", "2025Q4", "--trust-type", MHC, "--output", out,
             "--metric-scores", scores)
    assert r.returncode == 0, r.stderr
    s = pd.read_csv(scores, dtype={"Trust_code": str})
    assert list(s.columns) == ["Quarter", "Trust_code", "Metric_ID", "Value", "Score", "Source"]
    assert set(s["Source"]) == {"recomputed", "published"}
    assert set(s.loc[s["Source"] == "recomputed", "Metric_ID"]) == set(WITHIN_TYPE_SCORES)
    only = s[s["Metric_ID"].isin(["OF1035", "OF1067"])]
    assert len(only) > 40 and only["Value"].isna().all() and set(only["Source"]) == {"published"}
    # the scores equal the published ones, row for row
    raw = pd.read_csv(files[0], encoding="utf-8-sig")
    pub = raw[(raw["Quarter"] == "Q4 2025/26") & raw["Metric_ID"].str.startswith("OF1")]
    merged = s.merge(pub[["Trust_code", "Metric_ID", "Value"]], on=["Trust_code", "Metric_ID"], suffixes=("", "_pub"))
    assert len(merged) == len(pub) == len(s)
    np.testing.assert_allclose(merged["Score"], merged["Value_pub"])
    rerun = _cli("table", files[0], "--quarter", "2025Q4", "--trust-type", MHC, "--output", tmp_path / "u.csv",
                 "--metric-scores", scores)
    assert rerun.returncode == 2 and "--force" in rerun.stderr  # never overwritten without --force


def test_cross_type_scores_are_the_rank_rule_on_a_larger_population(inputs):
    """The published scores of the metrics taken as published still obey the rule: they rise with NHS
    England's within-type Rank, ties share a score, they sit on the even-spread grid of N > n trusts,
    and OF0057's floor gives 4.00 exactly below 70%."""
    from nhs_league.scoring import unround_on_grid
    cross = ["OF0005", "OF0016", "OF0041", "OF0057", "OF0063", "OF0082", "OF0086"]
    for q in QUARTERS:
        panel = build_panel(inputs, q, MHC)
        for mid in cross:
            j = panel.metric_ids.index(mid)
            s, r, v = panel.published[:, j], panel.ranks[:, j], panel.values[:, j]
            have = ~np.isnan(s)
            order = np.lexsort((s[have], r[have]))
            ss, rr = s[have][order], r[have][order]
            assert (np.diff(ss) >= 0).all(), (q, mid)
            assert (np.diff(ss)[np.diff(rr) == 0] == 0).all(), (q, mid)  # equal Rank, equal score
            hi = 3.0 if mid == "OF0057" else 4.0
            _, n_grid = unround_on_grid(s, lo=1.0, hi=hi)
            inside = have & (s <= hi)
            assert n_grid is not None and n_grid > inside.sum(), (q, mid, n_grid)
            if mid == "OF0057":
                np.testing.assert_array_equal(s[have] == 4.0, v[have] < 70.0)
