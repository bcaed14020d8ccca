"""The metric catalogue and the method presets (issue items 4 and 5)."""

import io
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import league_row
from nhs_league.catalogue import (CATALOGUE_PATH, COLUMNS, load_catalogue, metrics_for, score_id_map)
from nhs_league.errors import InputError, MethodError
from nhs_league.io import read_inputs
from nhs_league.methods import PRESET_DIR, available_presets, default_method_for, load_method
from nhs_league.pipeline import build_panel, league_table, league_table_from_published

A, M, AMB = "acute", "mental-health-and-community", "ambulance"

# nof-method.md §3, "Metrics known so far", written out by hand:
# ID: (documented trust types, domain, better direction, scoring as documented)
DOCUMENTED = {
    "OF0023": ({A}, "access", "higher", "continuous"),
    "OF0106": ({A}, "access", "higher", "unknown"),   # "above plan"; discrete rule [U]
    "OF0010": ({A}, "access", "higher", "continuous"),
    "OF0011": ({A}, "access", "higher", "continuous"),
    "OF0005": ({M}, "access", "lower", "continuous"),
    # §3 lists these two under access; NHS England's own MH&C file (§4) puts OF0016 in patient safety
    # and OF0057 in effectiveness and experience, and its domain scores OF4002 / OF4005 need them there
    "OF0016": ({M}, "patient_safety", "higher", "continuous"),
    "OF0057": ({M}, "effectiveness_experience", "higher", "continuous"),
    "OF0063": ({M}, "effectiveness_experience", "lower", "continuous"),
    "OF0061": ({A, M}, "patient_safety", "higher", "continuous"),
    "OF0084": ({A, M}, "people_workforce", "higher", "continuous"),
    "OF0082": ({A, M}, "people_workforce", "lower", "continuous"),
    "OF0079": ({A, M, AMB}, "finance_productivity", "higher", "finance"),
    "OF0080": ({A, M, AMB}, "finance_productivity", "lower", "finance"),
    "OF0081": ({A, M, AMB}, "finance_productivity", "higher", "finance"),
    "OF0085": ({A}, "finance_productivity", "higher", "continuous"),
    "OF0086": ({M}, "finance_productivity", "lower", "continuous"),
    "OF0020": ({A}, "patient_safety", "lower", "unknown"),
    "OF0048": ({A}, "patient_safety", "lower", "unknown"),
    "OF0088": ({A}, "patient_safety", "lower", "unknown"),
}


@pytest.mark.parametrize("mid", sorted(DOCUMENTED))
def test_every_documented_metric_is_in_the_catalogue_as_documented(mid):
    cat = load_catalogue()
    types, domain, better, scoring = DOCUMENTED[mid]
    assert mid in cat.index
    row = cat.loc[mid]
    assert row["domain"] == domain
    assert row["better"] == better
    # the documented types are all covered (the catalogue may add ambulance for all-trust surveys)
    assert types <= set(row["trust_types"])
    # ... and ICBs for the finance metrics, from 2026/27 (an assumption: docs/assumptions.md)
    assert set(row["trust_types"]) - types <= {AMB} | ({"icb"} if mid in ("OF0079", "OF0080", "OF0081") else set())
    if scoring == "continuous":
        assert row["rule"] == "continuous"
    elif scoring == "unknown":  # rule unknown: use the published OF1xxx score
        assert row["rule"] == "published"
        assert row["score_id"] == "OF1" + mid[3:]
    if mid in ("OF0079", "OF0081"):  # band scores OF1079 / OF1081, not in the average on their own
        assert row["rule"] == "input" and row["score_id"] == "OF1" + mid[3:]
        assert len(row["rule_params"]["edges"]) == 3
    if mid == "OF0080":  # the combined finance score OF1080 counts, from a lookup of the two bands
        assert row["rule"] == "finance_lookup" and row["score_id"] == "OF1080"
        assert (row["rule_params"]["planned_metric"], row["rule_params"]["variance_metric"]) == ("OF0079", "OF0081")
        assert np.asarray(row["rule_params"]["table"]).shape == (4, 4)


def test_score_ids_map_back_to_their_metrics():
    m = score_id_map(load_catalogue())
    assert m["OF1023"] == "OF0023" and m["OF1085"] == "OF0085" and m["OF1079"] == "OF0079"
    assert m["OF1081"] == "OF0081" and m["OF1080"] == "OF0080"
    assert m["OF1035"] == "OF0035" and m["OF1067"] == "OF0067"  # score-only metrics


def test_metrics_for_a_trust_type_lists_scored_rules_only():
    cat = load_catalogue()
    acute = metrics_for(cat, A)
    assert {"OF0023", "OF0080", "OF0085"} <= set(acute.index)
    assert "OF0081" not in acute.index and "OF0079" not in acute.index and "OF0005" not in acute.index
    assert "OF0081" in metrics_for(cat, A, scored_only=False).index
    assert set(acute["rule"]) <= {"continuous", "finance_lookup", "published"}


def _user_catalogue(tmp_path, rows, name="my-metrics.csv"):
    base = pd.read_csv(CATALOGUE_PATH, dtype=str, keep_default_na=False)
    user = pd.DataFrame(rows, columns=COLUMNS).astype(str)
    p = tmp_path / name
    pd.concat([base.iloc[:0], user]).to_csv(p, index=False)
    return p


NEW_ROW = ["OF0999", "OF1999", "A new access metric", "acute", "access", "lower", "continuous", "",
           "percentage", "binomial", "100", "0", "100", "", "test", "I"]


def test_user_catalogue_replaces_and_adds_rows(tmp_path):
    replaced = ["OF0023", "OF1023", "RTT turned round", "acute", "access", "lower", "continuous", "",
                "percentage", "binomial", "100", "0", "100", "", "test", "I"]
    p = _user_catalogue(tmp_path, [replaced, NEW_ROW])
    base = load_catalogue()
    cat = load_catalogue(extra=p)
    assert len(cat) == len(base) + 1
    assert cat.loc["OF0023", "better"] == "lower" and cat.loc["OF0023", "name"] == "RTT turned round"
    assert cat.loc["OF0999", "domain"] == "access" and cat.loc["OF0999", "trust_types"] == ("acute",)
    rest = [i for i in base.index if i != "OF0023"]
    pd.testing.assert_frame_equal(cat.loc[rest], base.loc[rest])
    assert load_catalogue().loc["OF0023", "better"] == "higher"  # the built-in stays as it was


def test_an_edited_user_catalogue_is_read_again(tmp_path):
    p = _user_catalogue(tmp_path, [NEW_ROW])
    assert load_catalogue(extra=p).loc["OF0999", "better"] == "lower"
    edited = list(NEW_ROW)
    edited[5] = "higher"
    edited[2] = "A new access metric, edited"  # the file's size changes as well as its content
    _user_catalogue(tmp_path, [edited])
    assert load_catalogue(extra=p).loc["OF0999", "better"] == "higher"


@pytest.mark.parametrize("column, value, fragment", [
    ("domain", "wellbeing", "unknown domain 'wellbeing'"),
    ("better", "up", "better must be 'higher' or 'lower'"),
    ("rule", "magic", "unknown rule 'magic'"),
    ("trust_types", "acute;hospice", "unknown trust type 'hospice'"),
    ("rule_params", "{not json", "rule_params is not JSON"),
    ("scale", "ten", "not a number: 'ten'"),
])
def test_bad_user_catalogue_rows_are_input_errors(tmp_path, column, value, fragment):
    row = list(NEW_ROW)
    row[COLUMNS.index(column)] = value
    p = _user_catalogue(tmp_path, [row])
    with pytest.raises(InputError) as ei:
        load_catalogue(extra=p)
    assert (ei.value.file, ei.value.row, ei.value.column) == (str(p), 2, column)
    assert fragment in ei.value.message


def test_user_catalogue_missing_columns_is_an_input_error(tmp_path):
    p = tmp_path / "thin.csv"
    p.write_text("metric_id,name\nOF0999,x\n")
    with pytest.raises(InputError, match="catalogue lacks column") as ei:
        load_catalogue(extra=p)
    assert ei.value.row == 1


def test_user_catalogue_with_a_metric_twice_is_an_input_error(tmp_path):
    p = _user_catalogue(tmp_path, [NEW_ROW, NEW_ROW])
    with pytest.raises(InputError, match="metric OF0999 appears twice"):
        load_catalogue(extra=p)


ROWS = [("R1", "OF0023", 60.0), ("R2", "OF0023", 70.0), ("R3", "OF0023", 80.0),
        ("R1", "OF0999", 5.0), ("R2", "OF0999", 30.0), ("R3", "OF0999", 20.0)]


def test_unknown_metric_ids_are_reported_not_silently_dropped(data_file):
    rows = [*ROWS, ("R1", "OF1023", 4.0), ("R1", "OF5002", 2.5), ("R1", "OF4000", 2.5), ("R2", "XX12", 1.0)]
    inputs = read_inputs([data_file(rows)])
    # score rows (OF1xxx of catalogue metrics) and summary rows are known; the rest are listed
    assert inputs.unknown_metrics == ["OF0999", "XX12"]
    panel = build_panel(inputs, "2025Q3", A)
    assert panel.metric_ids == ["OF0023"]
    assert sum("Metric_ID OF0999 (" in n for n in panel.notes) == 1  # one line each
    assert sum("Metric_ID XX12 (" in n for n in panel.notes) == 1


def test_cli_table_notes_unknown_metrics_and_scores_them_with_a_user_catalogue(data_file, tmp_path, run_cli):
    p = data_file(ROWS)
    code, out, err = run_cli("table", p, "--quarter", "2025Q3", "--trust-type", "acute")
    assert code == 0
    notes = [x for x in err.splitlines() if "OF0999" in x]
    assert len(notes) == 1 and notes[0].startswith("nhs-league: note: Metric_ID OF0999 (")
    assert notes[0].endswith("is not in the metric catalogue: not scored (describe it with --catalogue FILE)")
    t = pd.read_csv(io.StringIO(out))
    # OF0023 only: R3 (80%) 1.00, R2 (70%) 2.50, R1 (60%) 4.00
    assert t["Trust_code"].tolist() == ["R3", "R2", "R1"]
    assert t["N_metrics"].tolist() == [1, 1, 1]

    cat = _user_catalogue(tmp_path, [NEW_ROW])  # OF0999: lower is better
    code, out, err = run_cli("table", p, "--quarter", "2025Q3", "--trust-type", "acute", "--catalogue", cat)
    assert code == 0 and "not in the metric catalogue" not in err
    t = pd.read_csv(io.StringIO(out)).set_index("Trust_code")
    # OF0999 ranks R1 (5) 1.00, R3 (20) 2.50, R2 (30) 4.00; averages:
    # R1 (4 + 1) / 2 = 2.50, R2 (2.5 + 4) / 2 = 3.25, R3 (1 + 2.5) / 2 = 1.75
    pd.testing.assert_series_equal(t["Average_score"], pd.Series([1.75, 2.5, 3.25], name="Average_score",
                                                                 index=pd.Index(["R3", "R1", "R2"], name="Trust_code")))
    assert t["N_metrics"].tolist() == [2, 2, 2]
    assert t["Rank"].tolist() == [1, 2, 3]


# ---------------- method presets ----------------

def test_built_in_presets_load_by_name():
    assert {"nof-2025-26", "nof-2025-26-q1"} <= set(available_presets())
    m = load_method("nof-2025-26")
    assert m.name == "nof-2025-26" and m.cutoffs == (2.06, 2.35, 2.70)
    assert m.settings["segmentation"]["rule"] == "cutoffs"
    assert {f"nof-2025-26-q{q}" for q in range(1, 5)} <= set(available_presets())


def test_default_method_per_quarter():
    assert default_method_for("Q1 2025/26").name == "nof-2025-26-q1"
    assert default_method_for("2025Q2").name == "nof-2025-26-q2"
    assert default_method_for("2025Q3").name == "nof-2025-26-q3"
    assert default_method_for("2025Q4").name == "nof-2025-26-q4"
    assert default_method_for("2026Q1").name == "nof-2026-27"  # the 2026/27 framework (tests/test_orgtypes_2026.py)
    # the Q3 preset and the generic one act alike (the acute Q3 backtest reproduces them)
    assert default_method_for("2025Q3").settings == load_method("nof-2025-26").settings


def test_preset_loads_by_path_and_acts_like_the_built_in(tmp_path):
    p = tmp_path / "copy.yaml"
    shutil.copy(PRESET_DIR / "nof-2025-26.yaml", p)
    m = load_method(p)
    assert m.source == str(p)
    assert m.fingerprint() == load_method("nof-2025-26").fingerprint()


def _edited_copy(tmp_path, name, **changes):
    data = yaml.safe_load((PRESET_DIR / "nof-2025-26.yaml").read_text())
    data["name"] = name
    for dotted, value in changes.items():
        sec, key = dotted.split("__")
        data[sec][key] = value
    p = tmp_path / f"{name}.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


LEAGUE = [("R1", 2.00, "No"), ("R2", 2.10, "No"), ("R3", 2.30, "No"), ("R4", 2.40, "No"), ("R5", 2.80, "No"),
          ("R6", 2.10, "Yes")]


def test_a_copied_and_edited_preset_changes_the_table(league_file, tmp_path, run_cli):
    lf = league_file(LEAGUE)
    edited = _edited_copy(tmp_path, "my-cutoffs", segmentation__cutoffs=[2.15, 2.45, 2.75])
    code, out, _ = run_cli("table", lf, "--quarter", "2025Q3", "--trust-type", "acute")
    base = pd.read_csv(io.StringIO(out)).set_index("Trust_code").sort_index()
    code2, out2, _ = run_cli("table", lf, "--quarter", "2025Q3", "--trust-type", "acute", "--method", edited)
    new = pd.read_csv(io.StringIO(out2)).set_index("Trust_code").sort_index()
    assert code == code2 == 0
    # cut-offs 2.06/2.35/2.70: 2.00->1, 2.10->2, 2.30->2, 2.40->3, 2.80->4; R6 2.10 in deficit -> 3
    assert base["Raw_segment"].tolist() == [1, 2, 2, 3, 4, 2]
    assert base["Segment"].tolist() == [1, 2, 2, 3, 4, 3]
    # cut-offs 2.15/2.45/2.75: 2.00->1, 2.10->1, 2.30->2, 2.40->2, 2.80->4; R6 raw 1 in deficit -> 3
    assert new["Raw_segment"].tolist() == [1, 1, 2, 2, 4, 1]
    assert new["Segment"].tolist() == [1, 1, 2, 2, 4, 3]
    assert set(base["Method"]) == {load_method("nof-2025-26-q3").label}
    assert [s.split(" (")[0] for s in set(new["Method"])] == ["my-cutoffs"]


def test_an_edited_preset_without_the_override(league_file, tmp_path):
    inputs = read_inputs([league_file(LEAGUE)])
    off = load_method(_edited_copy(tmp_path, "no-override", override__enabled=False))
    t = league_table_from_published(inputs, "2025Q3", A, off).set_index("Trust_code")
    assert t.loc["R6", "Segment"] == 2 and t.loc["R6", "Trust_in_financial_deficit"] == "Yes"


BAD_PRESETS = [
    ({"segmentation__rule": "deciles"}, "segmentation.rule = 'deciles'"),
    ({"segmentation__cutoffs": [2.35, 2.06, 2.70]}, "three increasing numbers"),
    ({"segmentation__cutoffs": [2.06, 2.35]}, "three increasing numbers"),
    ({"segmentation__cutoffs": "low"}, "segmentation.cutoffs"),
    ({"segmentation__quantile_method": "guess"}, "quantile_method"),
    ({"scoring__continuous": "vibes"}, "scoring.continuous"),
    ({"scoring__min_trusts": 1}, "min_trusts must be at least 2"),
    ({"average__aggregation": "mode"}, "average.aggregation"),
    ({"average__trim": 0.5}, "average.trim must be from 0 to 0.5 (excluded)"),
    ({"average__weights": "per_trust"}, "average.weights"),
    ({"average__decimals": "two"}, "average.decimals must be a whole number"),
    ({"override__cap": 7}, "override.cap must be from 1 to 4"),
    ({"override__deficit": "vibes"}, "override.deficit"),
    ({"segment5__trusts": "RXX"}, "segment5.trusts must be a list"),
]


@pytest.mark.parametrize("changes, fragment", BAD_PRESETS)
def test_invalid_presets_are_method_errors(tmp_path, changes, fragment):
    p = _edited_copy(tmp_path, "bad", **changes)
    with pytest.raises(MethodError, match=None) as ei:
        load_method(p)
    assert fragment in str(ei.value)


def test_preset_with_a_missing_or_unknown_section(tmp_path):
    data = yaml.safe_load((PRESET_DIR / "nof-2025-26.yaml").read_text())
    del data["override"]
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(MethodError, match="section 'override' is missing"):
        load_method(tmp_path / "a.yaml")
    data = yaml.safe_load((PRESET_DIR / "nof-2025-26.yaml").read_text())
    data["extras"] = {"x": 1}
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(MethodError, match=r"unknown section 'extras'"):
        load_method(tmp_path / "b.yaml")


def test_preset_files_that_are_not_presets(tmp_path):
    (tmp_path / "broken.yaml").write_text("name: x\nscoring: [unclosed\n")
    with pytest.raises(MethodError, match="not valid YAML"):
        load_method(tmp_path / "broken.yaml")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(MethodError, match="a mapping with a 'name'"):
        load_method(tmp_path / "list.yaml")
    with pytest.raises(MethodError, match="no method preset 'nof-2030'"):
        load_method("nof-2030")


def test_cli_with_an_invalid_preset_prints_one_line(league_file, tmp_path, run_cli):
    bad = _edited_copy(tmp_path, "bad", override__cap=9)
    code, out, err = run_cli("table", league_file(LEAGUE), "--quarter", "2025Q3", "--trust-type", "acute",
                             "--method", bad)
    assert code == 2 and out == "" and len(err.splitlines()) == 1 and "override.cap must be from 1 to 4" in err


def test_method_replace_names_the_change_and_validates():
    m = load_method("nof-2025-26").replace(segmentation={"rule": "quartiles"})
    assert m.name == "nof-2025-26+segmentation.rule=quartiles"
    assert m.fingerprint() != load_method("nof-2025-26").fingerprint()
    with pytest.raises(MethodError):
        load_method("nof-2025-26").replace(league={"ranking": "dense"})
    with pytest.raises(MethodError, match="unknown method section"):
        load_method("nof-2025-26").replace(colour={"x": 1})


def test_every_output_table_records_the_preset(data_file, league_file, tmp_path):
    m = load_method(_edited_copy(tmp_path, "recorded-name"))
    inputs = read_inputs([data_file([r for r in ROWS if r[1] == "OF0023"]),
                          league_file([league_row("R1", 2.0), league_row("R2", 2.5), league_row("R3", 3.0)])])
    t1 = league_table(build_panel(inputs, "2025Q3", A), m)
    t2 = league_table_from_published(inputs, "2025Q3", A, m)
    for t in (t1, t2):
        assert t["Method"].tolist() == [m.label] * 3 and m.label.startswith("recorded-name (")
        assert t["Data"].tolist() == ["real"] * 3


def test_every_shipped_yaml_file_reads_the_same_with_the_c_and_the_python_loader():
    import yaml

    from nhs_league.methods import YAML_LOADER, read_yaml

    root = Path(__file__).resolve().parents[1]
    files = sorted((root / "nhs_league").rglob("*.yaml"))
    assert len(files) >= 5
    for f in files:
        assert read_yaml(f, "test") == yaml.load(f.read_text(encoding="utf-8"), Loader=yaml.SafeLoader), f
    assert issubclass(YAML_LOADER, getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # the C loader, keys checked
