"""Organisation types as data, the 2026/27 preset (defined thresholds, --provisional) and the
SYNTHETIC 2026/27 ICB quarter."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from nhs_league import orgtypes, synth_icb
from nhs_league.errors import MethodError
from nhs_league.fetch import load_registry
from nhs_league.io import read_inputs
from nhs_league.methods import PRESET_DIR, default_method_for, load_method, resolve_for
from nhs_league.segmentation import cutoff_segments

from conftest import DATA_HEADER_Q3, data_row

ROOT = Path(__file__).resolve().parents[1]
ICB_DIR = ROOT / "data" / "synthetic" / "2026-27"
ICB_DATA, ICB_LEAGUE = (ICB_DIR / rel for rel in synth_icb.file_names())


# ---- organisation types ----------------------------------------------------------------------


def test_the_four_types_and_their_names_come_from_the_data_file():
    assert orgtypes.codes() == ("acute", "mental-health-and-community", "ambulance", "icb")
    assert orgtypes.types_for_year(2025) == ("acute", "mental-health-and-community", "ambulance")
    assert orgtypes.types_for_year(2026) == orgtypes.codes()
    raw = yaml.safe_load(orgtypes.ORG_TYPES_PATH.read_text())["types"]
    for code, t in raw.items():
        for name in [code, t["label"], *t["trust_type_strings"], *t["aliases"]]:
            assert orgtypes.parse(name) == code
            assert orgtypes.parse(name.upper().replace("-", " ")) == code


def test_reader_takes_every_trust_type_string(write_csv):
    raw = yaml.safe_load(orgtypes.ORG_TYPES_PATH.read_text())["types"]
    rows, want = [], []
    for i, (code, t) in enumerate(raw.items()):
        for j, s in enumerate(t["trust_type_strings"]):
            rows.append(data_row(f"X{i}{j}", "OF0082", 5.0, trust_type=s))
            want.append(code)
    got = read_inputs([write_csv("types.csv", DATA_HEADER_Q3, rows)]).metrics
    assert got["trust_type"].tolist() == want


def test_every_registry_file_name_names_its_own_type():
    for e in load_registry().entries.values():
        if e.file_name:
            assert orgtypes.from_file_name(e.file_name) == [e.trust_type], e.file_name


def test_a_new_type_needs_no_code(tmp_path, write_csv):
    """A copy of the types file with a new type ('hospice'), a catalogue row for it, and the command
    line computes a hospice league table: no code was changed."""
    types = yaml.safe_load(orgtypes.ORG_TYPES_PATH.read_text())
    types["types"]["hospice"] = {"label": "Hospice", "trust_type_strings": ["Hospice"], "aliases": ["hospices"],
                                 "file_name_fragments": ["hospice"], "first_year": 2025}
    tfile = tmp_path / "types.yaml"
    tfile.write_text(yaml.safe_dump(types))
    cat = pd.read_csv(ROOT / "nhs_league" / "data" / "metrics.csv", dtype=str, keep_default_na=False)
    row = cat[cat["metric_id"] == "OF0082"].copy()
    row["trust_types"] = "hospice"
    row.to_csv(tmp_path / "extra.csv", index=False)
    p = write_csv("nhs-oversight-framework-hospice-data-q3-25-26.csv", DATA_HEADER_Q3,
                  [data_row(f"H{i}", "OF0082", v, trust_type="Hospice") for i, v in enumerate([4.0, 6.0, 5.0])])
    env = {**os.environ, orgtypes.ORG_TYPES_ENV: str(tfile)}
    r = subprocess.run([sys.executable, "-m", "nhs_league.cli", "table", str(p), "--quarter", "2025Q3",
                        "--trust-type", "hospices", "--catalogue", str(tmp_path / "extra.csv")],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    t = pd.read_csv(io.StringIO(r.stdout))
    assert t["Trust_code"].tolist() == ["H0", "H2", "H1"]  # sickness absence: lower is better
    assert set(t["Trust_type"]) == {"Hospice"}
    # without the copy, the type is unknown: one line, exit 2
    r = subprocess.run([sys.executable, "-m", "nhs_league.cli", "table", str(p), "--quarter", "2025Q3",
                        "--trust-type", "hospice"], capture_output=True, text=True, timeout=120,
                       env={k: v for k, v in os.environ.items() if k != orgtypes.ORG_TYPES_ENV})
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and "unknown trust type 'hospice'" in r.stderr


def test_report_suite_all_means_the_types_of_the_quarters_year():
    from nhs_league.report import plan_suite

    suite = {"notebooks": {"league_table": {"needs": ["table"]}}, "datasets": {"d": {"paths": []}}, "defaults": {},
             "reports": [{"notebook": "league_table", "data": "d", "quarters": ["2025Q4", "2026Q1"],
                          "trust_types": "all"}]}
    jobs = plan_suite(suite).jobs
    assert [(j.quarter, j.trust_type) for j in jobs] == [
        ("2025Q4", "acute"), ("2025Q4", "mental-health-and-community"), ("2025Q4", "ambulance"),
        ("2026Q1", "acute"), ("2026Q1", "mental-health-and-community"), ("2026Q1", "ambulance"), ("2026Q1", "icb")]


# ---- the 2026/27 preset ------------------------------------------------------------------------


def test_2026_27_is_the_default_from_q1_2026_27():
    assert default_method_for("2026Q1").name == "nof-2026-27"
    assert default_method_for("2025Q4").name == "nof-2025-26-q4"
    m = load_method("nof-2026-27")
    assert set(m.thresholds) == set(orgtypes.codes()) and all(v is None for v in m.thresholds.values())
    assert m.settings["override"]["enabled"] and m.settings["override"]["cap"] == 3  # the deficit adjustment
    assert all(m.metric_list(t) is None for t in orgtypes.codes())  # each type's catalogue list


def test_unresolved_thresholds_never_run_silently():
    from nhs_league.pipeline import classify

    m = load_method("nof-2026-27")
    with pytest.raises(MethodError, match="defined thresholds"):
        classify(np.array([2.0, 2.5]), np.zeros(2, bool), np.zeros(2, bool), m)
    with pytest.raises(MethodError, match="defined thresholds"):
        m.cutoffs


def test_metric_lists_name_known_types_only():
    m = load_method("nof-2026-27")
    s = m.to_dict()
    s["scoring"]["metric_lists"] = {"hospital": ["OF0023"]}
    with pytest.raises(MethodError, match=r"unknown organisation type\(s\) \['hospital'\]"):
        type(m)(s.pop("name"), s.pop("description"), s)


@pytest.mark.parametrize("thresholds, message", [
    ({"icb": [2.0, 2.5]}, "three increasing numbers"),
    ({"icb": [2.5, 2.0, 2.7]}, "three increasing numbers"),
    ({"hospital": [2.0, 2.3, 2.6]}, "unknown organisation type"),
    ("2.0", "a list of three numbers, 'provisional', or a mapping"),
])
def test_bad_thresholds_are_method_errors(thresholds, message):
    m = load_method("nof-2026-27")
    s = m.to_dict()
    s["segmentation"]["thresholds"] = thresholds
    with pytest.raises(MethodError, match=message):
        type(m)(s.pop("name"), s.pop("description"), s)


def test_table_refuses_2026_27_without_thresholds(run_cli):
    code, out, err = run_cli("table", ICB_DATA, "--quarter", "2026Q1", "--trust-type", "icb")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "nhs-league: error: method 'nof-2026-27': NHS England has not published the 2026/27 segment thresholds "
        "for icb organisations (segmentation.thresholds.icb is null): give them in a copy of the preset, or pass "
        "--provisional to use the provisional cut-offs 2.06 / 2.35 / 2.7, every output labelled PROVISIONAL"]


def test_provisional_uses_the_2025_26_cutoffs_and_labels_every_row(run_cli):
    code, out, err = run_cli("table", ICB_DATA, "--quarter", "2026Q1", "--trust-type", "icb", "--provisional")
    assert code == 0, err
    t = pd.read_csv(io.StringIO(out))
    labels = {m.rsplit(" (", 1)[0] for m in t["Method"]}  # the label ends with the fingerprint
    assert len(t) == 42 and labels == {"nof-2026-27 PROVISIONAL (2025/26 cut-offs)"}
    assert set(t["Data"]) == {"SYNTHETIC"}
    assert "nhs-league: note: PROVISIONAL: nof-2026-27 PROVISIONAL (2025/26 cut-offs)" in err
    raw = pd.Series(cutoff_segments(t["Average_score"].to_numpy(), (2.06, 2.35, 2.70)), name="Raw_segment")
    pd.testing.assert_series_equal(t["Raw_segment"], raw, check_dtype=False)
    # the synthetic league-table file was made the same way
    lg = pd.read_csv(ICB_LEAGUE).set_index("Trust_code")
    mine = t.set_index("Trust_code")
    pd.testing.assert_series_equal(mine["Segment"], lg.loc[mine.index, "Segment"], check_dtype=False)
    pd.testing.assert_series_equal(mine["Rank"], lg.loc[mine.index, "Rank"], check_dtype=False)


def test_given_thresholds_run_without_provisional(tmp_path, run_cli):
    data = yaml.safe_load((PRESET_DIR / "nof-2026-27.yaml").read_text())
    data["name"] = "my-2026-27"
    data["segmentation"]["thresholds"]["icb"] = [1.9, 2.2, 2.5]
    p = tmp_path / "my.yaml"
    p.write_text(yaml.safe_dump(data))
    code, out, err = run_cli("table", ICB_DATA, "--quarter", "2026Q1", "--trust-type", "icb", "--method", p)
    assert code == 0, err
    t = pd.read_csv(io.StringIO(out))
    assert {m.rsplit(" (", 1)[0] for m in t["Method"]} == {"my-2026-27"} and "PROVISIONAL" not in err
    raw = pd.Series(cutoff_segments(t["Average_score"].to_numpy(), (1.9, 2.2, 2.5)), name="Raw_segment")
    pd.testing.assert_series_equal(t["Raw_segment"], raw, check_dtype=False)
    assert resolve_for(load_method(p), "icb").cutoffs == (1.9, 2.2, 2.5)
    with pytest.raises(MethodError, match="acute"):
        resolve_for(load_method(p), "acute")  # only the ICB thresholds were given


def test_metric_list_of_a_type_limits_what_is_scored(tmp_path, run_cli):
    data = yaml.safe_load((PRESET_DIR / "nof-2026-27.yaml").read_text())
    data["scoring"]["metric_lists"]["icb"] = ["SYI001", "SYI002", "OF0080"]  # OF0080: the combined finance score
    p = tmp_path / "three.yaml"
    p.write_text(yaml.safe_dump(data))
    code, out, err = run_cli("table", ICB_DATA, "--quarter", "2026Q1", "--trust-type", "icb", "--method", p,
                             "--provisional")
    assert code == 0, err
    assert pd.read_csv(io.StringIO(out))["N_metrics"].max() == 3
    data["scoring"]["metric_lists"]["icb"] = ["SYI001", "OF9999"]
    p.write_text(yaml.safe_dump(data))
    code, out, err = run_cli("table", ICB_DATA, "--quarter", "2026Q1", "--trust-type", "icb", "--method", p,
                             "--provisional")
    assert code == 2 and len(err.splitlines()) == 1 and "OF9999" in err


def test_unknown_2026_27_metric_ids_are_named_one_line_each(tmp_path, run_cli):
    text = ICB_DATA.read_text()
    lines = text.splitlines()
    syi = [x for x in lines if ",SYI001," in x]
    extra = [syi[0].replace(",SYI001,", ",OF2101,"), syi[0].replace(",SYI001,", ",OF2102,"),
             syi[1].replace(",SYI001,", ",OF2102,")]
    assert all(",OF21" in x for x in extra)  # the rows were really changed
    p = tmp_path / ICB_DATA.name
    p.write_text("\n".join([*lines, *extra]) + "\n")
    code, out, err = run_cli("table", p, "--quarter", "2026Q1", "--trust-type", "icb", "--provisional")
    assert code == 0, err
    notes = [x for x in err.splitlines() if "is not in the metric catalogue" in x]
    assert len(notes) == 2
    assert notes[0].startswith(f"nhs-league: note: Metric_ID OF2101 ({p}, first on row {len(lines) + 1}; 1 row)")
    assert notes[1].startswith(f"nhs-league: note: Metric_ID OF2102 ({p}, first on row {len(lines) + 2}; 2 rows)")
    code, out, err = run_cli("validate", p)
    assert code == 0 and sum("OF2101" in x for x in err.splitlines()) == 1


# ---- the synthetic 2026/27 ICB quarter ---------------------------------------------------------


def test_committed_icb_quarter_is_a_fresh_generation():
    files = synth_icb.generate()
    assert sorted(files) == sorted(synth_icb.file_names())
    for rel, text in files.items():
        assert (ICB_DIR / rel).read_text(encoding="utf-8") == text, f"regenerate: nhs-league synth --year 2026-27 --force"


def test_icb_quarter_has_42_icbs_all_labelled_synthetic():
    inputs = read_inputs([ICB_DATA, ICB_LEAGUE])
    assert inputs.synthetic and inputs.unknown_metrics == []
    assert set(inputs.metrics["trust_type"]) == {"icb"} and set(inputs.league["trust_type"]) == {"icb"}
    assert inputs.metrics["trust_code"].nunique() == 42 and len(inputs.league) == 42
    assert inputs.quarters == ["2026Q1"]
    for f in (ICB_DATA, ICB_LEAGUE):
        t = pd.read_csv(f, dtype=str)
        assert t.columns[0] == "Quarter" and set(t["Data_source"]) == {"SYNTHETIC"}
        assert t["Trust_code"].str.match(r"^ZZ9\d\d$").all()
    by_region = pd.read_csv(ICB_LEAGUE)["Region"].value_counts()
    assert by_region.sum() == 42 and len(by_region) == 7


def test_the_2025_26_year_has_no_icbs():
    from nhs_league.synth import YEAR_TYPES, file_names

    assert YEAR_TYPES == ("acute", "mental-health-and-community", "ambulance")
    assert sorted(file_names(3)) == sorted(YEAR_TYPES)


def test_synth_cli_writes_the_icb_quarter_and_refuses_to_overwrite(tmp_path, run_cli):
    code, out, err = run_cli("synth", "--year", "2026-27", "--output", tmp_path)
    assert code == 0 and "42 ICBs" in err
    for rel in synth_icb.file_names():
        assert (tmp_path / rel).read_bytes() == (ICB_DIR / rel).read_bytes()
    code, out, err = run_cli("synth", "--year", "2026-27", "--output", tmp_path)
    assert code == 2 and "exists" in err and "--force" in err


def test_reports_take_the_thresholds_of_a_preset_copy(tmp_path):
    from nhs_league.report import prepare

    with pytest.raises(MethodError, match="not published the 2026/27 segment thresholds for icb"):
        prepare(quarter="2026Q1", trust_type="icb", data=[str(ICB_DATA)])
    data = yaml.safe_load((PRESET_DIR / "nof-2026-27.yaml").read_text())
    data["segmentation"]["thresholds"] = [1.9, 2.2, 2.5]  # one list: every type, on an aligned basis
    p = tmp_path / "aligned.yaml"
    p.write_text(yaml.safe_dump(data))
    ctx = prepare(quarter="2026Q1", trust_type="icb", data=[str(ICB_DATA)], method=str(p))
    assert ctx.method.cutoffs == (1.9, 2.2, 2.5) and not ctx.method.provisional
    pd.testing.assert_series_equal(
        ctx.table["Raw_segment"], pd.Series(cutoff_segments(ctx.table["Average_score"].to_numpy(), (1.9, 2.2, 2.5)),
                                            index=ctx.table.index, name="Raw_segment"), check_dtype=False)


def test_report_provisional_points_2026_27_jobs_at_a_provisional_copy(tmp_path, run_cli):
    from nhs_league.report import prepare

    args = ["report", "--data", ICB_DIR, "--quarter", "2026Q1", "--trust-type", "icb", "--list",
            "--build-dir", tmp_path / "build", "--output", tmp_path / "out"]
    code, out, err = run_cli(*args)
    assert code == 2 and out == "" and _one_error_line(err).endswith("every output labelled PROVISIONAL")
    code, out, err = run_cli(*args, "--provisional")
    assert code == 0 and str(tmp_path / "out" / "2026Q1" / "icb" / "league_table.html") in out.splitlines()
    copy = tmp_path / "build" / "presets" / "nof-2026-27-provisional.yaml"
    assert yaml.safe_load(copy.read_text())["segmentation"]["thresholds"] == {t: "provisional" for t in orgtypes.codes()}
    ctx = prepare(quarter="2026Q1", trust_type="icb", data=[str(ICB_DATA)], method=str(copy))
    assert ctx.method.provisional and ctx.method.name == "nof-2026-27 PROVISIONAL (2025/26 cut-offs)"
    banner = ctx.banner()
    assert "PROVISIONAL — segments use stand-in cut-offs 2.06 / 2.35 / 2.7" in banner.text
    assert "SYNTHETIC DATA" in banner.text


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nhs-league: error: "), err
    return lines[0]
