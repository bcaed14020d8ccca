"""The synthetic 2025/26 year: deterministic, complete, readable, internally consistent, plausible."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nhs_league import cli, synth
from nhs_league.catalogue import load_catalogue, metrics_for
from nhs_league.errors import Problems
from nhs_league.io import read_inputs, read_raw_csv
from nhs_league.methods import default_method_for
from nhs_league.pipeline import build_panel, league_table, scoring_report
from nhs_league.quarters import Quarter, quarter_from_path

COMMITTED = synth.DEFAULT_OUTPUT
QUARTERS = [Quarter(2025, q).code for q in (1, 2, 3, 4)]
COUNTS = {"acute": 134, "mental-health-and-community": 61, "ambulance": 10}
REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data-raw" / "trustpulse_nof_q3_2025_26"


@pytest.fixture(scope="module")
def files() -> dict[str, str]:
    return synth.generate(synth.DEFAULT_SEED)


@pytest.fixture(scope="module")
def year(tmp_path_factory, files) -> Path:
    """A fresh generation written to disk (so the readers see real paths and folder names)."""
    root = tmp_path_factory.mktemp("synthetic") / "2025-26"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(text.encode("utf-8"))
    return root


@pytest.fixture(scope="module")
def inputs(year):
    problems = Problems(collect=True)
    got = read_inputs(sorted(year.rglob("*.csv")), problems)
    return got, problems


def _paths(year: Path, kind: str) -> list[Path]:
    return sorted(p for p in year.rglob("*.csv") if (kind == "league") == ("league-table" in p.name))


# ----------------------------------------------------------------------------- determinism


def test_committed_files_equal_a_fresh_generation(files):
    assert COMMITTED.is_dir(), f"{COMMITTED} is missing: run `nhs-league synth`"
    on_disk = sorted(str(p.relative_to(COMMITTED)) for p in COMMITTED.rglob("*") if p.is_file())
    assert on_disk == sorted(files), "the committed file set differs from a fresh generation"
    stale = [rel for rel, text in files.items() if (COMMITTED / rel).read_bytes() != text.encode("utf-8")]
    assert not stale, f"committed synthetic files are stale (run `nhs-league synth --force`): {stale[:3]}"


def test_same_seed_same_bytes_other_seed_differs(files):
    again = synth.generate(synth.DEFAULT_SEED)
    assert list(again) == list(files)
    assert all(again[k] == files[k] for k in files)
    other = synth.generate(synth.DEFAULT_SEED + 1)
    assert list(other) == list(files)
    assert all(other[k] != files[k] for k in files)


def test_file_names_quarters_and_encoding(files, year):
    assert len(files) == 24
    for rel, text in files.items():
        raw = text.encode("utf-8")
        folder_q = quarter_from_path(rel.split("/")[0])
        # the Q4 files take the real Q4 release's shape: a byte-order mark and Quarter first
        assert raw.startswith(b"\xef\xbb\xbf") == (folder_q.q == 4), rel
        assert b"\r" not in raw and raw.endswith(b"\n"), rel
        text = text.lstrip("\ufeff")
        assert folder_q is not None and folder_q.year == 2025, rel
        if folder_q.q == 1:
            assert re.fullmatch(r"q1-25-26/nhs-oversight-framework-(acute-trust|non-acute-hospital-trust|"
                                r"ambulance-trust)-(data|league-table)\.csv", rel), rel
        else:
            n = folder_q.q
            assert re.fullmatch(rf"q{n}-25-26/nhs-oversight-framework-(acute|ambulance|mental-health-and-community)"
                                rf"-trust-(data|league-table)-q{n}-25-26-v2\.csv", rel), rel
        header = text.split("\n", 1)[0].split(",")
        assert ("Quarter" in header) == (folder_q.q != 1), rel
        assert (header[0] == "Quarter") == (folder_q.q == 4), rel
        assert header[-1] == "Data_source"
        if "league-table" not in rel:
            assert {"Numerator", "Denominator", "Reporting_date"} <= set(header)
    # the readers give every row the quarter of its folder
    for p in year.rglob("*.csv"):
        want = quarter_from_path(p.parent.name).code
        got = read_inputs([p]).league if "league-table" in p.name else read_inputs([p]).metrics
        assert set(got["quarter"]) == {want}, p.name


# ----------------------------------------------------------------------------- readable


def test_every_file_reads_cleanly_and_is_synthetic(inputs):
    got, problems = inputs
    assert problems.items == []
    assert got.synthetic is True
    assert got.unknown_metrics == []
    assert got.quarters == QUARTERS


def test_validate_exits_0(year, capsys):
    rc = cli.main(["validate", *map(str, sorted(year.rglob("*.csv")))])
    captured = capsys.readouterr()
    assert rc == 0, captured.out + captured.err
    assert captured.out == ""
    assert "SYNTHETIC" in captured.err


# ----------------------------------------------------------------------------- structure


def test_counts_per_type_every_quarter(inputs):
    got, _ = inputs
    for table in (got.league, got.metrics):
        n = table.groupby(["quarter", "trust_type"])["trust_code"].nunique()
        want = pd.Series({(q, t): c for q in QUARTERS for t, c in COUNTS.items()}, name="trust_code")
        want.index.names = ["quarter", "trust_type"]
        pd.testing.assert_series_equal(n.sort_index(), want.sort_index())


def test_trusts_persist_across_quarters_with_fictional_codes(inputs):
    got, _ = inputs
    cols = ["trust_code", "trust_name", "trust_type", "trust_subtype", "region"]
    per_q = [got.league[got.league["quarter"] == q][cols].sort_values("trust_code").reset_index(drop=True)
             for q in QUARTERS]
    for later in per_q[1:]:
        pd.testing.assert_frame_equal(later, per_q[0])
    codes = per_q[0]["trust_code"]
    assert codes.str.fullmatch(r"ZZ\d{3}").all()
    assert codes.is_unique and per_q[0]["trust_name"].is_unique
    regions = {"North East and Yorkshire", "North West", "Midlands", "East of England", "London", "South East",
               "South West"}
    assert set(per_q[0]["region"]) == regions
    assert (per_q[0]["trust_subtype"] == "Acute - Specialist").sum() == 15


@pytest.mark.realdata
def test_names_and_codes_are_not_real(files, shared_data):
    # skips (through the shared_data fixture) only when ../shared/data-raw is absent
    profiles = shared_data / REAL.name / "trust_profiles.csv"
    assert profiles.exists(), f"{shared_data} is present but {profiles} is not"
    real = pd.read_csv(profiles, usecols=["org_code", "org_name"], dtype=str)
    real_words = {w for name in real["org_name"].dropna() for w in re.findall(r"[a-z']+", name.lower())}
    league = pd.concat([pd.read_csv(io.StringIO(t), dtype=str) for k, t in files.items()
                        if "league-table" in k and k.startswith("q3")])
    template_words = {w for ts in [*synth._NAME_TEMPLATES.values(), synth._SPECIALIST_TEMPLATES.values()]
                      for t in ts for w in re.findall(r"[a-z']+", t.lower())}
    place_words = {w for name in league["Trust_name"] for w in re.findall(r"[a-z']+", name.lower())} - template_words
    assert len(place_words) > 150
    assert place_words.isdisjoint(real_words), sorted(place_words & real_words)
    assert set(league["Trust_code"]).isdisjoint(set(real["org_code"]))
    assert not real["org_code"].str.startswith("ZZ").any()


def test_every_catalogue_metric_and_summary_row_is_present(inputs):
    got, _ = inputs
    cat = load_catalogue()
    m = got.metrics
    for t in COUNTS:
        rows = metrics_for(cat, t, scored_only=False)
        for q in ("2025Q2", "2025Q3"):
            have = set(m.loc[(m["trust_type"] == t) & (m["quarter"] == q), "metric_id"])
            # score-only metrics (OF1035, OF1067) and the combined finance score (OF1080) have no raw row
            score_only = (rows["rule"] == "published") & (rows["units"] == "score")
            raw = rows[~score_only & (rows["rule"] != "finance_lookup")]
            assert set(raw["metric_id"]) <= have, t
            assert set(rows.loc[rows["rule"].isin(["published", "finance_lookup", "input"]), "score_id"]) <= have, t
            assert not set(rows.loc[score_only, "metric_id"]) & have, t
            summary = {"OF4000", "OF4002", "OF4003", "OF4004", "OF4005", "OF4100", "OF4102", "OF4103", "OF4104",
                       "OF4105", "OF5000", "OF5002", "OF5003", "OF5004"}
            # segment 5 (OF5005) and the Recovery Support Programme flag (OF5007): Q1-Q2 only, as published
            assert summary | ({"OF5005", "OF5007"} if q == "2025Q2" else set()) <= have, (t, q)
            assert q == "2025Q2" or not {"OF5005", "OF5007"} & have, (t, q)
    assert "OF0081" in set(m["metric_id"])  # an 'input' metric


def test_specialists_have_fewer_metrics(inputs):
    got, _ = inputs
    m = got.metrics
    raw = m[(m["quarter"] == "2025Q3") & (m["trust_type"] == "acute") & m["metric_id"].str.match(r"^(OF0|OFX0|SYN0)")]
    n = raw.groupby(["trust_code", "trust_subtype"]).size().reset_index(name="n")
    spec = n.loc[n["trust_subtype"] == "Acute - Specialist", "n"]
    other = n.loc[n["trust_subtype"] != "Acute - Specialist", "n"]
    assert spec.max() < other.min()
    cancer = raw.loc[raw["trust_name"].str.contains("Cancer Centre"), "trust_code"].unique()
    assert len(cancer) == 3
    assert not raw[raw["trust_code"].isin(cancer) & (raw["metric_id"] == "OF0023")].shape[0]
    # catalogue not_for_subtypes are respected
    cat = load_catalogue()
    for mid, subs in cat["not_for_subtypes"].items():
        if subs:
            assert not raw[(raw["metric_id"] == mid) & raw["trust_subtype"].isin(subs)].shape[0], mid


def test_suppressed_and_blank_cells_exist(inputs):
    got, _ = inputs
    m = got.metrics
    raw = m[~m["metric_id"].str.match(r"^OF[1-5]")]
    assert raw["suppressed"].sum() >= 20
    blank = raw["value"].isna() & ~raw["suppressed"]
    assert blank.sum() >= 20
    assert (raw["value"].isna().mean()) < 0.05


def test_numerators_and_denominators_reproduce_values(year):
    cat = load_catalogue()
    counted = set(cat.index[cat["distribution"].isin(["binomial", "poisson"])])
    checked = 0
    for p in _paths(year, "data"):
        raw = read_raw_csv(p)
        ok = raw["Value"].ne("") & raw["Value"].ne("*")
        sub = raw[ok & raw["Metric_ID"].isin(counted)]
        assert sub["Numerator"].ne("").all() and sub["Denominator"].ne("").all(), p.name
        value = sub["Value"].astype(float).to_numpy()
        num = sub["Numerator"].astype(float).to_numpy()
        den = sub["Denominator"].astype(float).to_numpy()
        scale = sub["Metric_ID"].map(cat["scale"]).to_numpy(dtype=float)
        decimals = sub["Value"].str.split(".").str[1].fillna("").str.len().to_numpy()
        assert (num == np.round(num)).all() and (den > 0).all()
        np.testing.assert_array_less(np.abs(num / den * scale - value), 0.5 * 10.0 ** -decimals + 1e-9)
        others = raw[ok & ~raw["Metric_ID"].isin(counted)]
        assert others["Numerator"].eq("").all(), p.name
        checked += len(sub)
    assert checked > 10000


def test_values_are_plausible(inputs):
    got, _ = inputs
    m = got.metrics.dropna(subset=["value"])
    def vals(mid):
        return m.loc[m["metric_id"] == mid, "value"]
    for mid in ("OF0061", "OF0084", "OFX004"):
        assert vals(mid).between(5.0, 8.0).all() and 6.0 < vals(mid).median() < 7.5, mid
    fin = pd.concat([vals("OF0079"), vals("OF0081")])
    assert fin.between(-20, 5).all() and fin.between(-5, 3).mean() > 0.85
    pct = m[m["units"] == "percentage"]
    assert pct.loc[~pct["metric_id"].isin(["OF0085", "SYN013"]), "value"].between(0, 100).all()
    assert set(vals("OFX005")) == {1.0, 2.0, 3.0, 4.0}


# ----------------------------------------------------------------------------- consistency


def _league(year: Path, q: str, t: str) -> pd.DataFrame:
    files = synth.file_names(Quarter.parse(q).q)[t]
    return pd.read_csv(year / files[1], dtype={"Trust_code": str})


@pytest.mark.parametrize("q", QUARTERS)
def test_table_command_reproduces_the_league_files(year, tmp_path, q, capsys):
    for t in COUNTS:
        data_file = year / synth.file_names(Quarter.parse(q).q)[t][0]
        out = tmp_path / f"{q}-{t}.csv"
        rc = cli.main(["table", str(data_file), "--quarter", q, "--trust-type", t, "--output", str(out)])
        assert rc == 0, capsys.readouterr().err
        mine = pd.read_csv(out, dtype={"Trust_code": str}).set_index("Trust_code").sort_index()
        pub = _league(year, q, t).set_index("Trust_code").sort_index()
        cols = ["Average_score", "Segment", "Trust_in_financial_deficit", "Rank"]
        pd.testing.assert_frame_equal(mine[cols], pub[cols])
        assert (mine["Data"] == "SYNTHETIC").all()
        assert mine["Method"].iloc[0] == default_method_for(q).label
        # the league file lists trusts in rank order
        assert pd.Series(_league(year, q, t)["Rank"]).is_monotonic_increasing


def test_summary_rows_agree_with_league_files(inputs):
    got, _ = inputs
    m, lg = got.metrics, got.league.set_index(["quarter", "trust_code"]).sort_index()
    for mid, col in (("OF5002", "average_score"), ("OF5000", "segment")):
        rows = m[m["metric_id"] == mid].set_index(["quarter", "trust_code"])["value"].sort_index()
        pd.testing.assert_series_equal(rows, lg[col].astype(float), check_names=False)
    flag = m[m["metric_id"] == "OF5007"].set_index(["quarter", "trust_code"])["value"].sort_index()
    final = m[m["metric_id"] == "OF5005"].set_index(["quarter", "trust_code"])["value"].sort_index()
    pd.testing.assert_series_equal(flag == 1, final == 5, check_names=False)
    # the league segment (OF5000) stays 1-4; where segment 5 does not apply, OF5005 equals it
    adj = m[m["metric_id"] == "OF5000"].set_index(["quarter", "trust_code"])["value"].sort_index()
    assert adj.between(1, 4).all()
    pd.testing.assert_series_equal(final[flag == 0], adj.reindex(final.index)[flag == 0], check_names=False)


def test_published_score_path_is_exercised(inputs):
    got, _ = inputs
    for q in QUARTERS:
        panel = build_panel(got, q, "acute")
        rep = scoring_report(panel, default_method_for(q)).set_index("metric_id")
        pub = rep[rep["rule"] == "published"]
        assert len(pub) == 5 and (pub["n_published_used"] > 100).all()
        # some published scores stand in for a suppressed or blank value
        cols = (panel.metrics["rule"] == "published").to_numpy()
        assert (~np.isnan(panel.published[:, cols]) & np.isnan(panel.values[:, cols])).any()


def test_likely_ranges_contain_the_estimates(inputs):
    lg = inputs[0].league
    assert (lg["average_range_low"] <= lg["average_score"]).all()
    assert (lg["average_score"] <= lg["average_range_high"]).all()
    assert lg["average_range_low"].ge(1).all() and lg["average_range_high"].le(4).all()
    assert (lg["rank_range_low"] <= lg["rank"]).all() and (lg["rank"] <= lg["rank_range_high"]).all()
    assert (lg["average_range_high"] > lg["average_range_low"]).mean() > 0.99


# ----------------------------------------------------------------------------- realism


def test_share_of_acute_trusts_in_deficit(inputs):
    got, _ = inputs
    lg, m = got.league, got.metrics
    for q in QUARTERS:
        a = lg[(lg["quarter"] == q) & (lg["trust_type"] == "acute")]
        assert 0.55 <= a["in_deficit"].mean() <= 0.8, q
        # the flag is the deficit rule on the data file's OF0079 / OF0081 (nof-method.md §1.4)
        fin = m[(m["quarter"] == q) & m["metric_id"].isin(["OF0079", "OF0081"])]
        rule = fin.pivot(index="trust_code", columns="metric_id", values="value").lt(0).any(axis=1)
        flags = lg[lg["quarter"] == q].set_index("trust_code")["in_deficit"].astype(bool)
        pd.testing.assert_series_equal(rule.sort_index(), flags.sort_index(), check_names=False)
    non_acute = lg[lg["trust_type"] != "acute"]["in_deficit"].mean()
    assert non_acute < lg[lg["trust_type"] == "acute"]["in_deficit"].mean()


def test_quarter_on_quarter_movement_is_realistic(inputs):
    lg = inputs[0].league
    seg = lg.pivot(index="trust_code", columns="quarter", values="segment")
    avg = lg.pivot(index="trust_code", columns="quarter", values="average_score")
    for a, b in zip(QUARTERS, QUARTERS[1:]):
        changed = (seg[a] != seg[b]).mean()
        assert 0.05 <= changed <= 0.35, (a, b, changed)  # real Q1 -> Q2: 38 of 205
        assert avg[a].corr(avg[b]) > 0.8
    assert avg[QUARTERS[0]].corr(avg[QUARTERS[-1]]) < avg[QUARTERS[0]].corr(avg[QUARTERS[1]])
    m = inputs[0].metrics
    in_support = m[m["metric_id"] == "OF5007"].groupby("quarter")["value"].sum()
    assert list(in_support.index) == QUARTERS[:2]  # published in Q1-Q2 only
    assert (in_support >= 2).all() and (in_support <= 5).all()
    acute = lg[(lg["trust_type"] == "acute") & (lg["quarter"] == "2025Q3")]
    assert 0.3 < acute["average_score"].std() < 0.55
    assert set(acute["segment"]) == {1, 2, 3, 4}  # the league shows segments 1-4 (segment 5 is OF5005)


# ----------------------------------------------------------------------------- command line


def test_cli_refuses_to_overwrite_without_force(tmp_path, capsys):
    out = tmp_path / "year"
    assert cli.main(["synth", "--output", str(out), "--seed", "3"]) == 0
    capsys.readouterr()
    before = {p: p.read_bytes() for p in out.rglob("*.csv")}
    assert len(before) == 24
    (out / "q1-25-26" / "nhs-oversight-framework-acute-trust-data.csv").write_text("edited\n")
    rc = cli.main(["synth", "--output", str(out), "--seed", "3"])
    err = capsys.readouterr().err
    assert rc == 2
    assert len(err.strip().splitlines()) == 1 and "--force" in err
    assert (out / "q1-25-26" / "nhs-oversight-framework-acute-trust-data.csv").read_text() == "edited\n"
    assert cli.main(["synth", "--output", str(out), "--seed", "3", "--force"]) == 0
    assert {p: p.read_bytes() for p in out.rglob("*.csv")} == before


def test_cli_rejects_a_negative_seed(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["synth", "--output", str(tmp_path), "--seed", "-1"])
    assert exc.value.code == 2
    assert "seed" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_every_builtin_metric_has_a_profile():
    cat = load_catalogue()
    year = cat["trust_types"].map(lambda ts: bool(set(ts) & set(synth.YEAR_TYPES)))
    drawn = cat["rule"] != "finance_lookup"  # OF0080 is derived
    assert set(cat.loc[year & drawn, "metric_id"]) <= set(synth.PROFILES)
    from nhs_league import synth_icb  # the ICB-only metrics belong to the 2026/27 ICB quarter
    assert set(cat.loc[~year, "metric_id"]) <= set(synth_icb.PROFILES)
    kinds = {"binomial", "poisson", "normal", "rating", "plan", "variance"}
    assert {p["kind"] for p in synth.PROFILES.values()} <= kinds
    # proportion and rate metrics are drawn as counts, so they get numerators and denominators
    for mid, row in cat.iterrows():
        want = {"binomial": "binomial", "poisson": "poisson"}.get(row["distribution"])
        if want:
            assert (synth.PROFILES if year[mid] else synth_icb.PROFILES)[mid]["kind"] == want, mid


def test_a_metric_added_to_the_catalogue_gets_generic_values(tmp_path):
    extra = tmp_path / "extra.csv"
    extra.write_text(
        "metric_id,score_id,name,trust_types,domain,better,rule,rule_params,units,distribution,scale,"
        "lower_bound,upper_bound,not_for_subtypes,source,evidence\n"
        "OF0990,OF1990,Test proportion,ambulance,access,higher,continuous,,percentage,binomial,100,0,100,,test,U\n"
        "OF0991,,Test index,ambulance,access,lower,contextual,,index,none,1,0,10,,test,U\n")
    cat = load_catalogue(extra)
    files = synth.generate(5, catalogue=cat)
    root = tmp_path / "year"
    for rel, text in files.items():
        if "/nhs-oversight-framework-ambulance" in rel:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
    problems = Problems(collect=True)
    got = read_inputs(sorted(root.rglob("*.csv")), problems, catalogue=cat)
    assert problems.items == [] and got.unknown_metrics == []
    m = got.metrics
    for mid, lo, hi in (("OF0990", 0, 100), ("OF0991", 0, 10)):
        v = m.loc[m["metric_id"] == mid, "value"].dropna()
        assert len(v) >= 35 and v.between(lo, hi).all() and v.nunique() > 5, mid
    # the new scored metric counts in the average, and the league file still matches a recompute
    panel = build_panel(got, "2025Q3", "ambulance", catalogue=cat)
    assert "OF0990" in panel.metric_ids and "OF0991" not in panel.metric_ids
    mine = league_table(panel, default_method_for("2025Q3")).set_index("Trust_code").sort_index()
    pub = got.league[got.league["quarter"] == "2025Q3"].set_index("trust_code").sort_index()
    np.testing.assert_array_equal(mine["Average_score"].to_numpy(), pub["average_score"].to_numpy())
    np.testing.assert_array_equal(mine["Rank"].to_numpy(), pub["rank"].to_numpy(dtype=np.int64))


def test_cli_writes_the_synthetic_catchments_beside_the_year(tmp_path, capsys):
    from nhs_league.synth import generate_context

    out = tmp_path / "year"
    assert cli.main(["synth", "--output", str(out), "--seed", "3"]) == 0
    want = generate_context(3)
    assert {p.name: p.read_text() for p in (tmp_path / "context").glob("*.csv")} == want
    assert not list(out.rglob("synthetic-*.csv"))  # never inside the year's folder (the reports read it whole)
    rc = cli.main(["synth", "--output", str(tmp_path / "other"), "--context-output", str(tmp_path / "context"),
                   "--seed", "3"])
    assert rc == 2 and "--force" in capsys.readouterr().err
    assert not (tmp_path / "other").exists()  # refused before anything was written
    assert cli.main(["synth", "--output", str(tmp_path / "other"), "--context-output", str(tmp_path / "c2"),
                     "--seed", "4"]) == 0
    assert {p.name: p.read_text() for p in (tmp_path / "c2").glob("*.csv")} == generate_context(4)
