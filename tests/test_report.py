"""The report runner: parameter validation, targets and --force, failures, manifests, atomic writes."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from jupyter_client.kernelspec import KernelSpecManager

from test_notebooks import write_fixture_year, write_league_only

from nhs_league import report
from nhs_league.errors import InputError
from nhs_league.files import OutputExistsError
from nhs_league.io import Inputs, file_sha256
from nhs_league.quarters import Quarter

LEAGUE_NB = report.NOTEBOOK_DIR / "league_table.ipynb"
FAST = {"draws": 40}


@pytest.fixture(scope="module")
def fixture_files(tmp_path_factory):
    return write_fixture_year(tmp_path_factory.mktemp("data"), n=10, script_name=False)


def _params(files, **kw):
    return {"quarter": "2025Q4", "trust_type": "acute", "data": [str(p) for p in files], **kw}


# --------------------------------------------------------------------------------------
# Parameter validation (no kernel needed)
# --------------------------------------------------------------------------------------
def test_valid_parameters_are_normalised(fixture_files):
    out = report.check_parameters(LEAGUE_NB, _params(fixture_files, quarter="Q4 2025/26", trust_type="Acute",
                                                     coverage=1 - 0.1))
    assert out["quarter"] == "2025Q4" and out["trust_type"] == "acute"
    assert out["data"] == [str(p.resolve()) for p in fixture_files]
    assert isinstance(out["coverage"], float)


def test_unknown_parameter_is_an_error_not_a_warning(fixture_files):
    with pytest.raises(InputError, match="unknown parameter.*'nonsense'"):
        report.check_parameters(LEAGUE_NB, _params(fixture_files, nonsense=1))


@pytest.mark.parametrize("bad, match", [
    ({"quarter": 2024}, "'quarter' must be text"),  # papermill's trap: -p quarter 2024 arrives as int
    ({"draws": "many"}, "'draws' must be a whole number"),
    ({"draws": 2.5}, "'draws' must be a whole number"),
    ({"seed": True}, "'seed' must be a whole number"),
    ({"data": "one.csv"}, "'data' must be a list"),
    ({"coverage": 1}, "'coverage' must be between 0 and 1"),
    ({"draws": 0}, "'draws' must be from 1 to 100,000"),
    ({"uncertainty": "vibes"}, "'uncertainty' must be one of"),
])
def test_parameter_types_and_ranges(fixture_files, bad, match):
    with pytest.raises(InputError, match=match):
        report.check_parameters(LEAGUE_NB, _params(fixture_files, **bad))


def test_bad_quarter(fixture_files):
    with pytest.raises(InputError, match="cannot parse quarter") as e:
        report.check_parameters(LEAGUE_NB, _params(fixture_files, quarter="Q5 2025/26"))
    assert e.value.column == "quarter"


def test_unknown_trust_type(fixture_files):
    with pytest.raises(InputError, match="unknown trust type") as e:
        report.check_parameters(LEAGUE_NB, _params(fixture_files, trust_type="hospice"))
    assert e.value.column == "trust_type"


def test_missing_data_file(fixture_files, tmp_path):
    with pytest.raises(InputError, match="data file not found"):
        report.check_parameters(LEAGUE_NB, _params([*fixture_files, tmp_path / "nope.csv"]))


def test_unknown_method(fixture_files):
    with pytest.raises(InputError, match="no method preset"):
        report.check_parameters(LEAGUE_NB, _params(fixture_files, method="no-such-preset"))


def test_command_line_values_take_the_type_of_the_default():
    assert report.coerce_text("quarter", "2024", "2025Q4") == "2024"
    assert report.coerce_text("draws", "200", 500) == 200
    assert report.coerce_text("coverage", "0.9", 0.95) == 0.9
    assert report.coerce_text("data", "a.csv, b.csv", []) == ["a.csv", "b.csv"]
    with pytest.raises(InputError, match="draws"):
        report.coerce_text("draws", "lots", 500)


def test_cli_unknown_parameter_exits_2_before_running(run_cli, fixture_files, tmp_path):
    code, out, err = run_cli("report", "--data", *fixture_files, "--param", "nonsense=1",
                             "--output", tmp_path / "out", "--build-dir", tmp_path / "b", "--quiet")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "nonsense" in lines[0]
    assert not (tmp_path / "out").exists() and not (tmp_path / "b").exists()


def test_cli_bad_quarter_exits_2(run_cli, fixture_files, tmp_path):
    code, _, err = run_cli("report", "--data", *fixture_files, "--quarter", "2025Q9", "--output", tmp_path / "o")
    assert code == 2 and "quarter" in err and len(err.strip().splitlines()) == 1


def test_plan_for_league_table_file_only(tmp_path):
    plan = report.plan_for_data([write_league_only(tmp_path)], quarter="2025Q4", trust_type="acute")
    assert [j.notebook for j in plan.jobs] == ["league_table"]
    skipped = dict(plan.skipped)
    assert "rank_uncertainty (2025Q4, acute)" in skipped
    assert "metric scores" in skipped["rank_uncertainty (2025Q4, acute)"]


def test_plan_for_data_defaults_to_latest_quarter_and_each_type(fixture_files):
    plan = report.plan_for_data(fixture_files)
    assert {(j.quarter, j.trust_type) for j in plan.jobs} == {("2025Q4", "acute")}
    qc = [j for j in plan.jobs if j.notebook == "quarter_comparison"]
    assert len(qc) == 1


def test_default_suite_validates_against_the_notebooks():
    try:
        report.synthetic_files()
    except InputError:
        pytest.skip("the synthetic year has not been generated (nhs-league synth)")
    plan = report.plan_suite()
    params = report.validate_jobs(plan.jobs)
    assert len(params) == len(plan.jobs)
    names = {j.notebook for j in plan.jobs}
    assert names == {"league_table", "rank_uncertainty", "sensitivity", "trust_profile", "quarter_comparison",
                     "context"}
    latest = {(j.notebook, j.trust_type) for j in plan.jobs if j.quarter == "2025Q4" and j.dataset == "synthetic"}
    for t in ("acute", "mental-health-and-community", "ambulance"):
        assert ("league_table", t) in latest and ("rank_uncertainty", t) in latest
    # every output target is distinct
    targets = [j.html_path(report.REPORTS_DIR) for j in plan.jobs]
    assert len(set(targets)) == len(targets)
    # the real-data reports are planned when ../shared holds the extract, and explained when not
    from nhs_league.realdata import default_extract_path

    real = [j for j in plan.jobs if j.dataset == "real-q3"]
    if default_extract_path().exists():
        assert {j.notebook for j in real} == {"league_table", "sensitivity", "context"}
    else:
        assert not real and any("real-q3" in w for w, _ in plan.skipped)
    assert any("per-metric scores" in why for _, why in plan.skipped)


def test_override_effect_counts_and_capped():
    t = pd.DataFrame({"Rank": [1, 2, 3, 4], "Trust_code": ["A", "B", "C", "D"], "Trust_name": list("abcd"),
                      "Average_score": [1.9, 2.0, 2.3, 2.9], "Trust_in_financial_deficit": ["No", "Yes", "Yes", "No"],
                      "Raw_segment": [1, 1, 2, 4], "Segment": [1, 3, 3, 4]})
    counts, capped = report.override_effect(t)
    want = pd.DataFrame({"raw": [2, 1, 0, 1], "adjusted": [1, 0, 2, 1]}, index=pd.Index([1, 2, 3, 4], name="segment"))
    pd.testing.assert_frame_equal(counts, want, check_dtype=False)
    assert capped["Trust_code"].tolist() == ["B", "C"]


def test_files_for_type_keeps_only_that_type(tmp_path):
    names = ["nhs-oversight-framework-acute-trust-data.csv", "nhs-oversight-framework-non-acute-hospital-trust-data.csv",
             "nhs-oversight-framework-mental-health-and-community-trust-data-q2-25-26-v2.csv", "other.csv"]
    got = [p.name for p in report.files_for_type([tmp_path / n for n in names], "mental-health-and-community")]
    assert got == names[1:]


def test_ensure_kernel_runs_this_interpreter():
    name = report.ensure_kernel()
    spec = KernelSpecManager().get_kernel_spec(name)
    assert spec.argv[0] in (sys.executable, "python")  # "python" is mapped to sys.executable by jupyter_client


def test_index_escapes_and_labels(tmp_path):
    d = tmp_path / "2025Q4" / "acute"
    d.mkdir(parents=True)
    (d / "x.manifest.json").write_text(json.dumps({"quarter": "2025Q4", "trust_type": "acute", "report": "x",
                                                   "title": "<script>alert(1)</script>", "data": "SYNTHETIC",
                                                   "html": "x.html", "method": {"preset": "p"}}))
    (d / "y.manifest.json").write_text(json.dumps({"quarter": "2025Q4", "trust_type": "acute", "report": "y",
                                                   "title": "Real one", "data": "real", "html": "y.html",
                                                   "method": {"preset": "p"}}))
    page = report.write_index(tmp_path, skipped=[("Basket <b>", "no metric scores")], notes=["a & b"]).read_text()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # real reports first, in their own section; the synthetic ones below, marked in their heading
    assert page.index("<h2>Real data</h2>") < page.index("<h2>SYNTHETIC data")
    assert page.index("Real one") < page.index("&lt;script&gt;alert(1)&lt;/script&gt;")
    assert page.count('<h3><span class="synthetic">SYNTHETIC</span>') == 1
    assert page.count('<h3><span class="real">REAL</span>') == 1
    assert "Basket &lt;b&gt;" in page and "a &amp; b" in page


def _executed_like(banner_html: str | None):
    """A small notebook as papermill returns it: a banner output (if any) and a table output."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    cells = [nbformat.v4.new_markdown_cell("# Title")]
    if banner_html is not None:
        cells.append(nbformat.v4.new_code_cell("ctx.banner()", outputs=[nbformat.v4.new_output(
            "execute_result", data={"text/html": banner_html, "text/plain": "banner"}, execution_count=1)]))
    cells.append(nbformat.v4.new_code_cell("table", outputs=[nbformat.v4.new_output(
        "execute_result", data={"text/html": "<p>x &quot;data-nhs-data=&quot;</p>", "text/plain": "t"},
        execution_count=2)]))
    nb.cells = cells
    return nb


def test_the_runner_reads_the_data_label_from_the_notebooks_banner(fixture_files):
    ctx = report.prepare(quarter="2025Q4", trust_type="acute", data=[str(p) for p in fixture_files], draws=20)
    assert report.label_of(_executed_like(ctx.banner().html)) == "SYNTHETIC"
    real = report.ReportContext(ctx.quarter, ctx.trust_type, ctx.paths,
                                Inputs(ctx.inputs.metrics, ctx.inputs.league, synthetic=False), ctx.method)
    assert report.label_of(_executed_like(real.banner().html)) == "real"
    assert report.label_of(_executed_like(None)) is None  # no banner: the runner reads the files instead


def test_html_export_reuses_exporters_without_leaking_between_reports():
    nb = _executed_like("<div>banner</div>")
    first = report.export_html(nb, "Report A")
    again = report.export_html(nb, "Report A")
    other = report.export_html(nb, "Report B")
    assert first == again
    assert "<title>Report B</title>" in other and "Report A" not in other
    assert 'src=""' not in first and "ctx.banner()" not in first  # no empty script tags, no code


def test_failure_line_when_no_executed_notebook_was_written():
    job = report.Job("league_table", {}, "league_table", "2025Q4", "acute")
    line = report.JobResult(job, False, 1.0, executed=None, error="DeadKernelError: died").line()
    assert "DeadKernelError: died" in line and "kernel stopped" in line and "None" not in line


# --------------------------------------------------------------------------------------
# Running notebooks (slow): one league table, then --force, failures, manifests
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def first_build(tmp_path_factory, fixture_files):
    base = tmp_path_factory.mktemp("run")
    written = []
    real_write = report.run.atomic_write_text

    def spy(path, text, *, force=True):
        written.append(Path(path))
        return real_write(path, text, force=force)

    plan = report.plan_for_data(fixture_files, quarter="2025Q4", trust_type="acute", notebooks=["league_table"],
                                parameters=FAST)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(report.run, "atomic_write_text", spy)  # the report pages and manifests
        mp.setattr(report.index, "atomic_write_text", spy)  # the index page
        results = report.build(plan, output=base / "out", build_dir=base / "build", jobs=1, progress=False)
    return {"base": base, "out": base / "out", "build": base / "build", "results": results, "written": written,
            "plan": plan}


@pytest.mark.slow
def test_build_writes_report_manifest_index_atomically(first_build):
    (r,) = first_build["results"]
    assert r.ok, r.line()
    out = first_build["out"]
    html = out / "2025Q4" / "acute" / "league_table.html"
    manifest = out / "2025Q4" / "acute" / "league_table.manifest.json"
    assert set(first_build["written"]) == {html, manifest, out / "index.html"}
    every = [p for p in out.rglob("*") if p.is_file()]
    assert sorted(every) == sorted([html, manifest, out / "index.html"])  # no temporary file left behind


@pytest.mark.slow
def test_manifest_contents(first_build, fixture_files):
    m = json.loads((first_build["out"] / "2025Q4" / "acute" / "league_table.manifest.json").read_text())
    assert m["package"] == "nhs_league" and m["package_version"] == report.__version__
    assert m["git_commit"] == "unknown" or re.fullmatch(r"[0-9a-f]{40}", m["git_commit"])
    assert m["python"] == ".".join(map(str, sys.version_info[:3]))
    assert m["pandas"] == pd.__version__ and m["numpy"] == np.__version__
    assert m["method"]["preset"] == "nof-2025-26-q4" and len(m["method"]["fingerprint"]) == 12
    assert m["parameters"]["draws"] == FAST["draws"] and m["parameters"]["quarter"] == "2025Q4"
    assert set(m["inputs"]) == {str(p.resolve()) for p in fixture_files}
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in m["inputs"].values())
    created = dt.datetime.fromisoformat(m["created"])
    assert abs((dt.datetime.now(dt.timezone.utc) - created).total_seconds()) < 3600
    assert m["data"] == "SYNTHETIC"
    assert Path(m["executed_notebook"]).exists()


@pytest.mark.slow
def test_a_rebuild_skips_what_is_up_to_date_and_rebuilds_what_is_not(first_build, run_cli, fixture_files):
    html = first_build["out"] / "2025Q4" / "acute" / "league_table.html"
    base = ["report", "--data", *fixture_files, "--quarter", "2025Q4", "--trust-type", "acute", "--notebook",
            "league_table", "--output", first_build["out"], "--build-dir", first_build["build"], "--quiet"]
    same = [*base, *[a for k, v in FAST.items() for a in ("--param", f"{k}={v}")]]
    before = html.read_bytes(), html.stat().st_ino
    # same code, parameters and inputs: skipped, exit 0, the report untouched
    code, _, err = run_cli(*same)
    assert code == 0, err
    assert "skipped 1 report(s) already up to date" in err and "0 report(s) written" in err
    assert (html.read_bytes(), html.stat().st_ino) == before
    # a parameter changed: out of date, rebuilt (atomically, by a rename)
    code, _, err = run_cli(*base, "--param", f"draws={FAST['draws'] + 7}")
    assert code == 0, err
    assert "1 report(s) written" in err and html.stat().st_ino != before[1]
    ino = html.stat().st_ino
    # --force rebuilds even what is up to date
    code, _, err = run_cli(*base, "--param", f"draws={FAST['draws'] + 7}", "--force")
    assert code == 0 and "1 report(s) written" in err and html.stat().st_ino != ino
    # the manifest records the key the next build compares with
    m1 = json.loads(html.with_name("league_table.manifest.json").read_text())
    assert m1["build_key"] == report.build_key(first_build["plan"].jobs[0], m1["parameters"], report.code_digest())


def test_the_build_key_follows_code_parameters_and_input_bytes(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("a\n1\n")
    job = report.Job("league_table", {}, "league_table", "2025Q4", "acute")
    key = report.build_key(job, {"draws": 40, "data": [str(f)]}, "code")
    assert key == report.build_key(job, {"draws": 40, "data": [str(f)]}, "code")
    assert key != report.build_key(job, {"draws": 41, "data": [str(f)]}, "code")
    assert key != report.build_key(job, {"draws": 40, "data": [str(f)]}, "other code")
    f.write_text("a\n2\n")
    assert key != report.build_key(job, {"draws": 40, "data": [str(f)]}, "code")


@pytest.mark.slow
def test_all_targets_are_checked_before_anything_runs(first_build, fixture_files, tmp_path):
    out, build_dir = tmp_path / "out", tmp_path / "build"
    plan = report.plan_for_data(fixture_files, quarter="2025Q4", trust_type="acute",
                                notebooks=["league_table", "rank_uncertainty"], parameters=FAST)
    existing = plan.jobs[1].html_path(out)
    existing.parent.mkdir(parents=True)
    existing.write_text("old")
    with pytest.raises(OutputExistsError):
        report.build(plan, output=out, build_dir=build_dir, progress=False)
    assert not build_dir.exists()  # nothing ran
    assert existing.read_text() == "old"


@pytest.mark.slow
def test_failing_cell_exits_2_and_keeps_the_executed_notebook(run_cli, fixture_files, tmp_path):
    code, _, err = run_cli("report", "--data", *fixture_files, "--quarter", "2025Q4", "--trust-type", "acute",
                           "--notebook", "trust_profile", "--param", "trust_code=NOPE", "--param", "draws=20",
                           "--output", tmp_path / "out", "--build-dir", tmp_path / "build", "--quiet")
    assert code == 2
    errors = [ln for ln in err.splitlines() if ln.startswith("nhs-league: error:")]
    assert len(errors) == 1
    line = errors[0]
    assert "notebook trust_profile" in line and "failed in cell" in line and "NOPE" in line
    kept = tmp_path / "build" / "2025Q4" / "acute" / "trust_profile-NOPE.ipynb"
    assert str(kept) in line and kept.exists()
    assert not (tmp_path / "out" / "2025Q4" / "acute" / "trust_profile-NOPE.html").exists()


# --------------------------------------------------------------------------------------
# Trend and the summary cache (speed changes must not change results)
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("source", ["metrics", "metrics-jackknife"])
def test_trend_rows_match_each_quarters_summary(fixture_files, source):
    # report.trend reads one trust's column of each quarter's replicates; every row must equal
    # that trust's row of the full summary of the same replicates
    ctx = report.prepare(quarter="2025Q4", trust_type="acute", data=[str(p) for p in fixture_files], seed=3,
                         draws=40, uncertainty=source)
    code = report.pick_trust(ctx, "")
    got = report.trend(ctx, code)
    want = []
    for q in ctx.inputs.quarters:
        own = q == ctx.quarter
        m = ctx.method if own else report._method_for(ctx, q)
        reps = report.replicates(ctx) if own else report.replicates(ctx, panel=ctx.panel_for(q), method=m)
        s = reps.summary(ctx.coverage if reps.kind == "bootstrap" else 0.9).loc[code]
        z = NormalDist().inv_cdf(0.5 + ctx.coverage / 2)  # jackknife: average ± z·SE at the report's coverage
        lo = s["average_low"] if "average_low" in s else s["average"] - z * s["se"]
        hi = s["average_high"] if "average_high" in s else s["average"] + z * s["se"]
        want.append({"quarter": Quarter.parse(q).label, "estimate": float(s["average"]),
                     "lower": float(lo), "upper": float(hi), "league_rank": int(s["rank"]),
                     "segment": int(s["segment"]), "method": m.name,
                     "cutoffs": " / ".join(f"{c:.2f}" for c in m.cutoffs)})
    assert len(want) == 2
    pd.testing.assert_frame_equal(got, pd.DataFrame(want, columns=got.columns))


def test_the_trend_stops_at_the_reports_quarter(fixture_files):
    ctx = report.prepare(quarter="2025Q3", trust_type="acute", data=[str(p) for p in fixture_files], seed=3, draws=40)
    assert "2025Q4" in ctx.inputs.quarters  # the file holds a later quarter ...
    got = report.trend(ctx, report.pick_trust(ctx, ""))
    assert got["quarter"].tolist() == ["Q3 2025/26"]  # ... which a Q3 report never shows


def test_replicates_summary_is_cached_but_callers_get_copies(fixture_files):
    ctx = report.prepare(quarter="2025Q4", trust_type="acute", data=[str(p) for p in fixture_files], seed=3,
                         draws=40)
    reps = report.replicates(ctx)
    first = reps.summary(0.95)
    kept = first.copy()
    first.loc[:, "average"] = -1.0  # a caller changing its frame must not change the next caller's
    pd.testing.assert_frame_equal(reps.summary(0.95), kept)
    assert not reps.summary(0.9)["average_low"].equals(kept["average_low"])  # coverage is part of the key


# --------------------------------------------------------------------------------------
# Funnel plots of the trust profile: the most outlying metrics drawn, every metric listed
# --------------------------------------------------------------------------------------
def test_funnel_summary_lists_every_proportion_metric_most_outlying_first(fixture_files):
    from nhs_league.funnel import false_alarm_rate, funnel_limits

    ctx = report.prepare(quarter="2025Q4", trust_type="acute", data=[str(p) for p in fixture_files], seed=3,
                         draws=40)
    code = "ZZ004"
    metrics = report.proportion_metrics(ctx, code)
    assert len(metrics) >= 3
    panels, table = report.funnel_summary(ctx, code, max_panels=2)
    # independent: each metric's limits computed here, sorted by |z_adjusted| of this trust
    want = []
    for mid, name, num, den, scale in metrics:
        res = funnel_limits(num, den)
        row = res.table.loc[code]
        if row["outlier_99.8"] is not None:
            pos = f"{'above' if row['outlier_99.8'] == 'high' else 'below'} 99.8% limit"
        elif row["outlier_95"] is not None:
            pos = f"{'above' if row['outlier_95'] == 'high' else 'below'} 95% limit"
        else:
            pos = "within 95% limits"
        want.append({"metric_id": mid, "metric": name, "value": row["value"] * scale,
                     "pooled": num.sum() / den.sum() * scale, "z_adjusted": row["z_adjusted"], "position": pos,
                     # the default's false-alarm rate on this metric's denominators, at the fitted tau2
                     "false_alarms_95": false_alarm_rate(den.to_numpy(dtype=float), tau2=max(res.tau2, 1e-4),
                                                         target=res.target, sims=300, seed=0)})
    want = pd.DataFrame(want)
    want = want.iloc[np.lexsort((want["metric_id"], -want["z_adjusted"].abs()))].reset_index(drop=True)
    want["drawn"] = ["yes", "yes"] + ["no"] * (len(want) - 2)
    pd.testing.assert_frame_equal(table, want, check_exact=False, rtol=1e-12)
    assert [p[0] for p in panels] == [f"{m} ({i})" for i, m in zip(want["metric_id"][:2], want["metric"][:2])]
    assert report.funnel_summary(ctx, code, max_panels=0)[0] == []
    with pytest.raises(InputError, match="funnel_panels"):
        report.funnel_summary(ctx, code, max_panels=-1)


def test_the_default_suite_builds_every_real_mhc_report(shared_data):
    """Issue 14 item 1: from NHS England's official MH&C release, the league table of each quarter,
    rank uncertainty and sensitivity of the latest, the three quarter comparisons and a profile of
    every trust of the latest quarter, each reading the official files in place."""
    release = shared_data / "nhse_nof_mhc_2025_26_q4_release"
    if not release.is_dir():
        pytest.skip(f"{release} is absent")
    plan = report.plan_suite()
    real = [j for j in plan.jobs if j.dataset == "real-mhc"]
    assert {j.trust_type for j in real} == {"mental-health-and-community"}
    kinds = sorted((j.notebook, j.quarter) for j in real if j.notebook != "trust_profile")
    assert kinds == sorted([("league_table", q) for q in ("2025Q1", "2025Q2", "2025Q3", "2025Q4")]
                           + [("rank_uncertainty", "2025Q4"), ("sensitivity", "2025Q4")]
                           + [("quarter_comparison", q) for q in ("2025Q2", "2025Q3", "2025Q4")])
    previous = {j.quarter: j.parameters["previous_quarter"] for j in real if j.notebook == "quarter_comparison"}
    assert previous == {"2025Q2": "2025Q1", "2025Q3": "2025Q2", "2025Q4": "2025Q3"}
    profiles = [j for j in real if j.notebook == "trust_profile"]
    ctx = report.prepare(quarter="2025Q4", trust_type="mental-health-and-community",
                         data=[str(p) for p in sorted(release.glob("*.csv"))])
    assert sorted(j.parameters["trust_code"] for j in profiles) == sorted(ctx.panel.trusts.index)
    assert len(profiles) == 61 and {j.quarter for j in profiles} == {"2025Q4"}
    for j in real:
        assert {Path(p).parent for p in j.parameters["data"]} == {release}  # read in place, never copied


@pytest.mark.slow
@pytest.mark.parametrize("errors, ok, calls", [
    (["Kernel didn't respond in 120 seconds"], True, 2),  # the port race once: a second kernel runs it
    (["something else went wrong"] * 3, False, 1),  # a failure of the notebook's own is final
    (["Kernel died before replying to kernel_info"] * 3, False, report.KERNEL_START_ATTEMPTS),  # bounded
])
def test_a_kernel_that_never_starts_is_started_again_and_other_errors_are_not(tmp_path, fixture_files, monkeypatch,
                                                                            errors, ok, calls):
    """jupyter_client's port race (a port taken between its choice and the kernel's bind) stops a
    kernel before it runs anything: the runner starts another one; a failure once cells run is final."""
    import papermill

    real, made = papermill.execute_notebook, []

    def flaky(*args, **kwargs):
        made.append(1)
        if len(made) <= len(errors):
            raise RuntimeError(errors[len(made) - 1])
        return real(*args, **kwargs)

    plan = report.plan_for_data(fixture_files, quarter="2025Q4", trust_type="acute", notebooks=["league_table"],
                                parameters=FAST)
    monkeypatch.setattr(papermill, "execute_notebook", flaky)
    (r,) = report.build(plan, output=tmp_path / "out", build_dir=tmp_path / "build", jobs=1, progress=False)
    assert r.ok is ok and len(made) == calls
    if ok:
        assert r.html.exists()
    else:
        assert errors[0] in r.error and not (tmp_path / "out" / "2025Q4").exists()
