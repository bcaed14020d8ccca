"""Context: catchment deprivation, its association with the league, the deprivation-adjusted league.

Hand-made catchments with scores worked out by hand, a property test on area codes, bad input,
the command line, the sensitivity choice, and the real figures read in place from ../shared.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from nhs_league import context as cx
from nhs_league import sensitivity as sens
from nhs_league.errors import InputError, MethodError
from nhs_league.io import read_inputs
from nhs_league.synth import DEFAULT_OUTPUT, context_dir, generate_context

SYN_Q3 = DEFAULT_OUTPUT / "q3-25-26"
SYN_FILES = [SYN_Q3 / "nhs-oversight-framework-acute-trust-data-q3-25-26-v2.csv",
             SYN_Q3 / "nhs-oversight-framework-acute-trust-league-table-q3-25-26-v2.csv"]


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def hand(tmp_path):
    """Three areas, four trusts, in the OHID / IMD header names."""
    c = _write(tmp_path / "catch.csv",
               "nhs_trust22_code,ltla21_code,proportion_trust_came_from_ltla\n"
               "T1,X,0.5\nT1,Y,0.5\n"
               "T2,Z,1.0\n"
               "T3,X,0.2\nT3,Y,0.3\nT3,Z,0.5\n"
               "T4,Y,0.25\nT4,Z,0.75\n")
    i = _write(tmp_path / "index.csv",
               "ltla22_code,Score,Proportion,Income_Score,Housing_and_Access_Score\n"
               "X,10,0.1,0.1,30\nY,20,0.2,0.2,10\nZ,40,0.4,0.5,20\n")
    return c, i


# --------------------------------------------------------------------------------------------
# 6a. hand-made catchment
# --------------------------------------------------------------------------------------------

def test_hand_made_catchment_scores_are_the_share_weighted_means(hand):
    c, i = hand
    got = cx.catchment_scores(cx.read_catchment(c), cx.read_index(i))
    # by hand (Score): T1 = .5*10 + .5*20; T2 = 40; T3 = .2*10 + .3*20 + .5*40; T4 = .25*20 + .75*40
    # (housing): T1 = .5*30 + .5*10; T2 = 20; T3 = .2*30 + .3*10 + .5*20 = 19; T4 = .25*10 + .75*20
    want = pd.DataFrame({
        "IMD_score": [15.0, 40.0, 28.0, 35.0],
        "IMD_income_score": [0.15, 0.5, 0.33, 0.425],
        "IMD_housing_and_access_score": [20.0, 20.0, 19.0, 17.5],
        "Share_total": [1.0, 1.0, 1.0, 1.0],
        "N_areas": np.array([2, 1, 3, 2], dtype=np.int64),
    }, index=pd.Index(["T1", "T2", "T3", "T4"], name="trust_code"))
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12)
    assert got.attrs["notes"] == []


def test_shares_that_do_not_add_up_to_one_are_divided_by_their_total_and_named(tmp_path, hand):
    _, i = hand
    c = _write(tmp_path / "c2.csv", "trust_code,area_code,share\nA,X,0.2\nA,Z,0.2\nB,Y,1\n")
    got = cx.catchment_scores(cx.read_catchment(c), cx.read_index(i))
    assert got.loc["A", "IMD_score"] == pytest.approx((0.2 * 10 + 0.2 * 40) / 0.4)
    assert len(got.attrs["notes"]) == 1 and "A" in got.attrs["notes"][0] and "B" not in got.attrs["notes"][0]


# --------------------------------------------------------------------------------------------
# 6c. property: permuting area codes consistently changes nothing
# --------------------------------------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_areas=st.integers(2, 12), n_trusts=st.integers(1, 8))
def test_permuting_area_codes_consistently_leaves_every_trust_score_unchanged(seed, n_areas, n_trusts):
    rng = np.random.default_rng(seed)
    areas = np.array([f"A{k:03d}" for k in range(n_areas)], dtype=object)
    index = pd.DataFrame({"IMD_score": rng.uniform(5, 60, n_areas), "IMD_health_score": rng.normal(0, 1, n_areas)},
                         index=pd.Index(areas, name="area_code"))
    rows = []
    for t in range(n_trusts):
        k = int(rng.integers(1, n_areas + 1))
        pick = rng.choice(n_areas, k, replace=False)
        w = rng.dirichlet(np.ones(k))
        rows += [(f"T{t}", areas[a], s) for a, s in zip(pick, w)]
    catch = pd.DataFrame(rows, columns=["trust_code", "area_code", "share"])
    base = cx.catchment_scores(catch, index)
    perm = rng.permutation(n_areas)
    relabel = dict(zip(areas, areas[perm]))  # a bijection of the area codes, applied to both tables
    catch2 = catch.assign(area_code=catch["area_code"].map(relabel)).sample(frac=1.0, random_state=int(seed % 1000))
    index2 = index.rename(index=relabel).iloc[rng.permutation(n_areas)]
    got = cx.catchment_scores(catch2.reset_index(drop=True), index2)
    pd.testing.assert_frame_equal(got, base, check_exact=False, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------------------------
# bad input: one clear error naming file, row and column
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("body, row, column, words", [
    ("trust_code,area_code,share\nA,X,1.5\n", 2, "share", "outside [0, 1]"),
    ("trust_code,area_code,share\nA,X,0.5\nA,Y,abc\n", 3, "share", "not a number"),
    ("trust_code,area_code,share\nA,X,0.5\nA,X,0.5\n", 3, "area_code", "listed twice"),
    ("trust_code,area_code,share\n,X,0.5\n", 2, "trust_code", "empty"),
    ("trust_code,share\nA,0.5\n", 1, "area_code", "needs a area_code column"),
])
def test_bad_catchment_gives_file_row_and_column(tmp_path, body, row, column, words):
    p = _write(tmp_path / "bad.csv", body)
    with pytest.raises(InputError) as e:
        cx.read_catchment(p)
    assert e.value.row == row and e.value.column == column and words in e.value.message
    assert str(p) in str(e.value)


def test_area_missing_from_the_index_is_named_with_its_row(tmp_path, hand):
    _, i = hand
    c = _write(tmp_path / "c.csv", "trust_code,area_code,share\nA,X,0.5\nA,Q,0.5\n")
    with pytest.raises(InputError) as e:
        cx.catchment_scores(cx.read_catchment(c), cx.read_index(i))
    assert e.value.row == 3 and e.value.column == "area_code" and "Q" in e.value.message


def test_bad_index_value_and_missing_score_column(tmp_path):
    p = _write(tmp_path / "i.csv", "area_code,Score\nX,10\nY,\n")
    with pytest.raises(InputError) as e:
        cx.read_index(p)
    assert (e.value.row, e.value.column) == (3, "Score")
    p2 = _write(tmp_path / "i2.csv", "area_code,Income_Score\nX,10\n")
    with pytest.raises(InputError, match="Score column"):
        cx.read_index(p2)


def test_cli_bad_catchment_is_one_line_and_exit_2(tmp_path, run_cli):
    p = _write(tmp_path / "bad.csv", "trust_code,area_code,share\nZZ101,ZA0001,2\n")
    code, out, err = run_cli("context", *SYN_FILES, "--quarter", "2025Q3", "--trust-type", "acute",
                             "--catchment", p, "--output", tmp_path / "out")
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "bad.csv, row 2, column 'share'" in lines[0] and "Traceback" not in err
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------------------------
# the join: nobody dropped silently
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def syn_inputs():
    return read_inputs(SYN_FILES)


def test_join_names_every_unmatched_trust_in_one_note_line(tmp_path, syn_inputs):
    lg = syn_inputs.league
    codes = sorted(lg.loc[lg["trust_type"] == "acute", "trust_code"])
    keep = codes[2:]  # ZZ101 and ZZ102 get no catchment; QQ1 is in no league
    rows = "".join(f"{c},ZA0001,1\n" for c in keep) + "QQ1,ZA0002,1\n"
    c = _write(tmp_path / "c.csv", "trust_code,area_code,share\n" + rows)
    ctx = cx.load_context(syn_inputs, "2025Q3", "acute", catchment=c, index=cx.synthetic_paths()[1])
    join = [n for n in ctx.notes if n.startswith("catchment join")]
    assert len(join) == 1
    assert f"{codes[0]}, {codes[1]}" in join[0] and "QQ1" in join[0]
    assert len(ctx.table) == len(codes)  # nobody dropped from the league
    assert ctx.table.loc[ctx.table["Trust_code"].isin(codes[:2]), cx.SCORE].isna().all()
    adj = cx.adjusted_league(ctx)
    unadjusted = adj[adj["Trust_code"].isin(codes[:2])]
    np.testing.assert_array_equal(unadjusted["Adjustment"].to_numpy(), [0.0, 0.0])


def test_context_columns_from_the_league_join_the_table(syn_inputs):
    ctx = cx.load_context(syn_inputs, "2025Q3", "acute")
    lg = syn_inputs.league.set_index("trust_code").loc[ctx.table["Trust_code"]]
    np.testing.assert_array_equal(ctx.table["Trust_subtype"].to_numpy(), lg["trust_subtype"].to_numpy())
    np.testing.assert_array_equal(ctx.table["Region"].to_numpy(), lg["region"].to_numpy())
    assert ctx.synthetic and set(ctx.table["Data"]) == {"SYNTHETIC"}
    q = ctx.table["Deprivation_quintile"]
    assert sorted(q.value_counts().tolist()) == [26, 27, 27, 27, 27]
    # quintile 1 holds the least deprived: its highest score is below quintile 2's lowest
    assert ctx.table.loc[q == 1, cx.SCORE].max() < ctx.table.loc[q == 2, cx.SCORE].min()


def test_synthetic_context_files_are_committed_and_fresh():
    files = generate_context()
    for name, text in files.items():
        assert (context_dir() / name).read_text(encoding="utf-8") == text, f"stale {name}: run nhs-league synth --force"
    c, i = cx.synthetic_paths()
    assert cx.read_catchment(c).attrs["synthetic"] and cx.read_index(i).attrs["synthetic"]


# --------------------------------------------------------------------------------------------
# the adjustment and the association, against independent computations
# --------------------------------------------------------------------------------------------

def test_adjustment_is_the_ols_residual_plus_the_mean():
    rng = np.random.default_rng(4)
    x = rng.uniform(10, 40, 30)
    y = 2.4 + 0.01 * x + rng.normal(0, 0.2, 30)
    fit = sm.OLS(y, sm.add_constant(x)).fit()
    adj, b = cx.adjust_for_context(y, x)
    np.testing.assert_allclose(adj[0], fit.resid + y.mean(), rtol=0, atol=1e-12)
    assert b[0] == pytest.approx(fit.params[1], abs=1e-12)
    # scenarios on the leading axis, with a trust out of one scenario's table
    Y = np.stack([y, y * 1.1])
    Y[1, 3] = np.nan
    adj2, b2 = cx.adjust_for_context(Y, x)
    keep = np.arange(30) != 3
    fit2 = sm.OLS(Y[1, keep], sm.add_constant(x[keep])).fit()
    np.testing.assert_allclose(adj2[1, keep], fit2.resid + Y[1, keep].mean(), atol=1e-12)
    assert np.isnan(adj2[1, 3])


def test_association_matches_scipy_and_statsmodels(syn_inputs):
    ctx = cx.load_context(syn_inputs, "2025Q3", "acute")
    a = cx.association(ctx, draws=300, seed=3).set_index(["Measure", "Group"])
    d = ctx.table
    rho = scipy.stats.spearmanr(d[cx.SCORE], d["Average_score"]).statistic
    assert a.loc[("spearman_imd_average", "all"), "Estimate"] == pytest.approx(rho, abs=1e-6)
    r = a.loc[("spearman_imd_average", "all")]
    assert r["Low"] < r["Estimate"] < r["High"] and r["N"] == 134
    ns = d["Trust_subtype"] != "Acute - Specialist"
    assert a.loc[("spearman_imd_average", "non-specialist"), "N"] == ns.sum()
    q5 = d["Deprivation_quintile"] == 5
    assert a.loc[("mean_average_score", "quintile 5 (most deprived)"), "Estimate"] == pytest.approx(
        d.loc[q5, "Average_score"].mean(), abs=1e-6)
    share4 = (d.loc[q5, "Segment"] == 4).mean()
    assert a.loc[("share_segment_4", "quintile 5 (most deprived)"), "Estimate"] == pytest.approx(share4, abs=1e-6)
    fit = sm.OLS(d["Average_score"].to_numpy(), sm.add_constant(d[cx.SCORE].to_numpy())).fit(cov_type="HC3")
    assert a.loc[("ols_imd_per_10_points", "IMD only"), "Estimate"] == pytest.approx(10 * fit.params[1], abs=1e-6)
    assert a.loc[("ols_imd_per_10_points", "IMD only"), "High"] == pytest.approx(10 * fit.conf_int()[1, 1], abs=1e-6)
    assert {"mean_people_workforce_score", "spearman_imd_access"} <= set(a.index.get_level_values(0))
    pd.testing.assert_frame_equal(cx.association(ctx, draws=300, seed=3), a.reset_index())


def test_adjusted_league_reclassifies_with_the_quarter_method(syn_inputs):
    from nhs_league.pipeline import classify

    ctx = cx.load_context(syn_inputs, "2025Q3", "acute")
    adj = cx.adjusted_league(ctx).set_index("Trust_code").loc[ctx.table["Trust_code"]]
    m = ctx.method
    seg5 = ctx.table["Published_segment"].eq(5).to_numpy(bool)  # intensive support, as league_table_from_published
    r = classify(adj["Adjusted_average_score"].to_numpy(), ctx.table["Trust_in_financial_deficit"].eq("Yes").to_numpy(),
                 seg5, m)
    np.testing.assert_array_equal(adj["Adjusted_rank"].to_numpy(), r["rank"])
    np.testing.assert_array_equal(adj["Adjusted_segment"].to_numpy(), r["segment"])
    np.testing.assert_array_equal(adj["Rank_shift"].to_numpy(int), r["rank"] - ctx.table["Rank"].to_numpy())
    # the adjusted averages carry no linear trend on deprivation any more
    assert abs(np.polyfit(adj[cx.SCORE], adj["Adjusted_average_score"], 1)[0]) < 1e-6  # (6-dp output)


def test_sensitivity_choice_equals_the_adjusted_league(syn_inputs):
    data = sens.from_inputs(syn_inputs, "2025Q3", "acute", level="domain")
    ctx = cx.load_context(syn_inputs, "2025Q3", "acute", data.method)
    with pytest.raises(MethodError, match="context_adjustment"):
        sens.evaluate(data, sens.scenario_params(data, context_adjustment="deprivation"))
    res = sens.resolve(sens.load_space("domain"), data)
    assert res.values["context_adjustment"] == ["none"] and any("context_adjustment" in n for n in res.notes)
    dc = sens.with_context(data, ctx.table.set_index("Trust_code")[cx.SCORE])
    assert "context_adjustment" in sens.resolve(sens.load_space("domain"), dc).factors
    out = sens.evaluate(dc, sens.scenario_params(dc, context_adjustment="deprivation"))
    adj = cx.adjusted_league(ctx).set_index("Trust_code").loc[dc.trusts.index]
    np.testing.assert_allclose(out["average"][0], adj["Adjusted_average_score"].to_numpy(), atol=1e-6)
    np.testing.assert_array_equal(out["rank"][0], adj["Adjusted_rank"].to_numpy())
    sob = sens.sobol_analysis(dc, "domain", 64, seed=1)
    assert "context_adjustment" in set(sob["choice"])


# --------------------------------------------------------------------------------------------
# the command line
# --------------------------------------------------------------------------------------------

def _digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.csv"))}


def test_cli_context_writes_three_deterministic_files(tmp_path, run_cli):
    args = ["context", *SYN_FILES, "--quarter", "2025Q3", "--trust-type", "acute", "--draws", "200", "--seed", "5"]
    code, out, err = run_cli(*args, "--output", tmp_path / "a")
    assert code == 0, err
    assert sorted(_digests(tmp_path / "a")) == ["adjusted_league.csv", "association.csv", "trust_context.csv"]
    assert "ZZ901, ZZ902" in err and "SYNTHETIC" in err
    code, _, err = run_cli(*args, "--output", tmp_path / "b")
    assert code == 0 and _digests(tmp_path / "a") == _digests(tmp_path / "b")
    code, _, err = run_cli(*args, "--output", tmp_path / "a")
    assert code == 2 and "--force" in err
    assoc = pd.read_csv(tmp_path / "a" / "association.csv")
    assert list(assoc.columns[:6]) == ["Measure", "Group", "Estimate", "Low", "High", "N"]
    sp = assoc[assoc["Measure"] == "spearman_imd_average"]
    assert sorted(sp["Group"]) == ["all", "non-specialist"] and set(assoc["Data"]) == {"SYNTHETIC"}
    tc = pd.read_csv(tmp_path / "a" / "trust_context.csv")
    assert {"Trust_code", "IMD_score", "Trust_subtype", "Region", "Average_score", "Segment", "Rank"} <= set(tc.columns)
    adj = pd.read_csv(tmp_path / "a" / "adjusted_league.csv")
    assert {"Adjusted_average_score", "Adjusted_segment", "Adjusted_rank", "Rank_shift", "Segment_change",
            "Outside_rank_set"} <= set(adj.columns)
    assert adj["Rank_set_source"].str.contains("metric-basket bootstrap").all()


# --------------------------------------------------------------------------------------------
# 6b. the real figures, read in place from ../shared
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_ctx(q3_extract):
    return cx.load_context(q3_extract, "2025Q3", "acute")


@pytest.mark.realdata
def test_real_catchment_scores_match_a_direct_computation(shared_data, real_ctx):
    c = pd.read_csv(shared_data / cx.CONTEXT_FOLDER / cx.CATCHMENT_FILE)
    i = pd.read_csv(shared_data / cx.CONTEXT_FOLDER / cx.INDEX_FILE).set_index("ltla22_code")
    c["x"] = c["proportion_trust_came_from_ltla"] * i.loc[c["ltla21_code"], "Score"].to_numpy()
    want = c.groupby("nhs_trust22_code")["x"].sum() / c.groupby("nhs_trust22_code")["proportion_trust_came_from_ltla"].sum()
    got = real_ctx.table.set_index("Trust_code")[cx.SCORE]
    pd.testing.assert_series_equal(got, want.loc[got.index], check_names=False, rtol=1e-12)
    assert len(got) == 129 and got.notna().all()
    join = [n for n in real_ctx.notes if n.startswith("catchment join")]
    assert len(join) == 1 and "all 129 league trusts have a catchment" in join[0]
    assert "9 catchment trust(s) not in this league" in join[0] and "RA4, RAP, RBZ, REN, RGM, RP4, RPY, RRJ, RVY" in join[0]


@pytest.mark.realdata
def test_real_association_reproduces_the_checked_facts(real_ctx):
    a = cx.association(real_ctx, draws=500, seed=0).set_index(["Measure", "Group"])
    # facts checked in ../shared/data-raw/context_deprivation/README.md
    assert round(a.loc[("spearman_imd_average", "all"), "Estimate"], 2) == 0.05
    assert round(a.loc[("spearman_imd_average", "all"), "P_value"], 2) == 0.58
    assert a.loc[("spearman_imd_average", "all"), "N"] == 129
    assert round(a.loc[("spearman_imd_average", "non-specialist"), "Estimate"], 2) == 0.13
    assert round(a.loc[("spearman_imd_average", "non-specialist"), "P_value"], 2) == 0.17
    assert a.loc[("spearman_imd_average", "non-specialist"), "N"] == 118
    groups = [f"quintile {q}" for q in cx.QUINTILE_LABELS]
    means = [round(a.loc[("mean_average_score", g), "Estimate"], 2) for g in groups]
    assert means == [2.31, 2.46, 2.42, 2.57, 2.26]
    seg4 = [round(100 * a.loc[("share_segment_4", g), "Estimate"]) for g in groups]
    assert seg4 == [15, 35, 32, 42, 15]
    # the interval of the overall correlation covers zero: no monotone link is shown
    assert a.loc[("spearman_imd_average", "all"), "Low"] < 0 < a.loc[("spearman_imd_average", "all"), "High"]


@pytest.mark.realdata
def test_real_cli_runs_every_command_on_the_extract(tmp_path, run_cli, shared_data):
    from nhs_league.realdata import EXTRACT_FILE, EXTRACT_FOLDER

    e = shared_data / EXTRACT_FOLDER / EXTRACT_FILE
    q = ["--quarter", "2025Q3", "--trust-type", "acute"]
    code, out, err = run_cli("table", e, *q)
    assert code == 0, err
    t = pd.read_csv(__import__("io").StringIO(out))
    assert len(t) == 129 and (t["Segment"] == t["Published_segment"]).all() and "third-party" in err
    code, _, err = run_cli("context", e, *q, "--output", tmp_path / "ctx")  # defaults: 2000 draws, seed 0
    assert code == 0, err
    adj = pd.read_csv(tmp_path / "ctx" / "adjusted_league.csv")
    assert len(adj) == 129 and adj["Rank_set_source"].str.contains("domain scores").all()
    # the figures README.md and docs/context.md quote
    a = pd.read_csv(tmp_path / "ctx" / "association.csv").set_index(["Measure", "Group"])
    r = a.loc[("spearman_imd_average", "all")]
    assert (round(r["Low"], 2), round(r["High"], 2)) == (-0.11, 0.22)
    r = a.loc[("spearman_imd_average", "non-specialist")]
    assert (round(r["Low"], 2), round(r["High"], 2)) == (-0.05, 0.29)
    r = a.loc[("spearman_imd_people_workforce", "all")]
    assert (round(r["Estimate"], 2), round(r["Low"], 2), round(r["High"], 2)) == (0.50, 0.35, 0.62)
    others = [m for m in a.index.get_level_values(0).unique() if m.startswith("spearman_imd_")
              and m not in ("spearman_imd_average", "spearman_imd_people_workforce")]
    assert len(others) == 4 and all(a.loc[(m, "all"), "Low"] < 0 < a.loc[(m, "all"), "High"] for m in others)
    r = a.loc[("ols_imd_per_10_points", "with subtype and region")]
    assert (round(r["Estimate"], 3), round(r["Low"], 3), round(r["High"], 3)) == (0.036, -0.127, 0.199)
    s = adj["Rank_shift"].abs()
    assert round(s.mean(), 1) == 1.5 and s.max() == 37 and (adj["Segment_change"] != 0).sum() == 3
    assert not adj["Outside_rank_set"].any()
    shift = adj.set_index("Trust_code")["Rank_shift"]
    assert shift["R0A"] == -37 and shift["RAS"] == 36
    width = adj["Average_rank_upper"] - adj["Average_rank_lower"]
    assert width.median() == 116 and width.min() == 34
    code, _, err = run_cli("sensitivity", e, *q, "--context", "--scenarios", "200", "--sobol-n", "64",
                           "--oat-draws", "5", "--output", tmp_path / "sens")
    assert code == 0, err
    sob = pd.read_csv(tmp_path / "sens" / "sobol.csv")
    assert "context_adjustment" in set(sob["choice"])
    oat = pd.read_csv(tmp_path / "sens" / "one_at_a_time.csv")
    assert "context_adjustment" in set(oat["choice"])
    code, out, err = run_cli("ranks", e, *q, "--draws", "200")
    assert code == 0, err
    r = pd.read_csv(__import__("io").StringIO(out))
    assert len(r) == 129 and set(r["Source"]) == {"domains"} and set(r["Data"]) == {"real"}
    assert (r["Rank_lower"] <= r["Average_rank"]).all() and (r["Average_rank"] <= r["Rank_upper"]).all()
    assert r["Headline"].str.contains("(domain basket)", regex=False).all() and "not sampling noise" in err
    code, out, err = run_cli("ranks", e, *q, "--source", "metrics")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "per-metric scores" in err and out == ""


def test_domain_basket_bootstrap_is_anchored_and_independent_per_trust():
    from nhs_league.pipeline import classify
    from nhs_league.uncertainty import domain_basket_bootstrap

    S = np.array([[2.0, 2.0, 2.0, 2.0, 2.0], [1.0, 3.0, 1.0, 3.0, np.nan], [1.5, 2.5, 3.5, 1.5, 2.5]])
    w = np.array([0.4, 0.2, 0.2, 0.1, 0.1])
    avg = np.array([2.03, 1.9, 2.4])  # published averages, not exactly the weighted means
    from nhs_league.methods import default_method_for

    m = default_method_for("2025Q3")
    r = domain_basket_bootstrap(S, w, avg, np.zeros(3, bool), np.zeros(3, bool), m, trust_codes=["A", "B", "C"],
                                draws=400, seed=2)
    np.testing.assert_allclose(r.average[:, 0], np.full(400, 2.03), atol=1e-12)  # equal domain scores: no spread
    assert r.se()["B"] > 0 and r.se()["C"] > 0
    np.testing.assert_array_equal(r.nominal["rank"], classify(avg, np.zeros(3, bool), np.zeros(3, bool), m)["rank"])
    assert r.covariance().to_numpy()[0, 1] == 0.0  # independent trusts: diagonal


@pytest.mark.parametrize("extra, words", [
    (["--catchment", "/nonexistent/catch.csv"], "catchment file is not there"),
    (["--index", "/nonexistent/idx.csv"], "area index file is not there"),
    (["--draws", "3"], "--draws"),
    (["--coverage", "1.5"], "--coverage"),
])
def test_cli_context_bad_options_are_one_line_and_exit_2(tmp_path, run_cli, extra, words):
    code, out, err = run_cli("context", *SYN_FILES, "--quarter", "2025Q3", "--trust-type", "acute", *extra,
                             "--output", tmp_path / "out")
    assert code == 2 and out == "" and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and words in err
    assert not (tmp_path / "out").exists()


def test_cli_context_output_that_is_a_file_is_refused(tmp_path, run_cli):
    f = _write(tmp_path / "afile", "x")
    code, _, err = run_cli("context", *SYN_FILES, "--quarter", "2025Q3", "--trust-type", "acute", "--output", f)
    assert code == 2 and "not a directory" in err and f.read_text() == "x"
