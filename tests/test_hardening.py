"""Hardening (issue 17): nothing silently wrong, no traceback, whatever the input.

One section per class of the issue. Each attack is run through the command line and must end
with exit 2 (70 for a defect of the program), exactly one line on standard error naming the
file, row and column where there is one, no traceback, and no output written. The property
tests that generate malformed files are in ``test_hardening_properties.py``.
"""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import DATA_HEADER_Q3, LEAGUE_HEADER_Q3, csv_bytes, data_row, league_row
from nhs_league import cli, files, limits
from nhs_league.catalogue import CATALOGUE_PATH, load_catalogue
from nhs_league.errors import InputError, MethodError
from nhs_league.files import atomic_write_text, neutralise_cell
from nhs_league.methods import PRESET_DIR, SCHEMA, default_method_for, load_method

ROOT = Path(__file__).resolve().parents[1]
SYN_Q3 = ROOT / "data" / "synthetic" / "2025-26" / "q3-25-26"
ACUTE = SYN_Q3 / "nhs-oversight-framework-acute-trust-data-q3-25-26-v2.csv"
AMB = SYN_Q3 / "nhs-oversight-framework-ambulance-trust-data-q3-25-26-v2.csv"
Q3A = ["--quarter", "2025Q3", "--trust-type", "acute"]
Q3B = ["--quarter", "2025Q3", "--trust-type", "ambulance"]
GOOD = [("R1", "OF0023", 60.0), ("R2", "OF0023", 70.0), ("R3", "OF0023", 80.0),
        ("R1", "OF0061", 6.5), ("R2", "OF0061", 7.0), ("R3", "OF0061", 7.5)]


def one_line(code, out, err, *fragments, exit_code=2) -> str:
    assert code == exit_code, err
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]


def edited_preset(tmp_path, edit, name="nof-2025-26") -> Path:
    data = yaml.safe_load((PRESET_DIR / "nof-2025-26.yaml").read_text())
    data["name"] = name
    edit(data)
    p = tmp_path / "edited.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return p


# ---------------------------------------------------------------------------------------------
# 1. Values: non-finite or overflowing, for every metric
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["inf", "-inf", "Infinity", "1e309", "-1e400", "9" * 400, "1e13"])
def test_a_non_finite_or_overflowing_value_on_a_metric_with_no_upper_bound(run_cli, data_file, tmp_path, text):
    # OFX006 (seconds, ambulance) has no upper bound: inf used to rank first, with exit 0
    rows = [data_row(f"R{i}", "OFX006", 400.0 + i, trust_type="ambulance") for i in range(1, 5)]
    rows[2]["Value"] = text
    out = tmp_path / "out.csv"
    code, stdout, err = run_cli("table", data_file(rows), *Q3B, "--output", out)
    one_line(code, stdout, err, "row 4", "column 'Value'", "finite" if "13" not in text else "magnitude")
    assert not out.exists()


def test_every_metric_of_the_catalogue_refuses_infinity(data_file):
    from nhs_league.io import read_data_file

    cat = load_catalogue()
    for mid in list(cat["metric_id"]) + list(cat["score_id"].dropna()):
        for text in ("inf", "-1e309"):
            p = data_file([data_row("R1", mid, 1.0), data_row("R2", mid, text)])
            with pytest.raises(InputError) as e:
                read_data_file(p)
            assert (e.value.row, e.value.column) == (3, "Value"), mid
            assert "is not a finite number" in e.value.message, (mid, e.value.message)


@pytest.mark.parametrize("column", ["Numerator", "Denominator", "Median_value", "Rank"])
def test_non_finite_numbers_in_any_numeric_column(run_cli, data_file, column):
    rows = [data_row(f"R{i}", "OF0023", 50.0 + i, Numerator="5", Denominator="10") for i in range(1, 4)]
    rows[1][column] = "1e309"
    header = DATA_HEADER_Q3 + ["Numerator", "Denominator"]
    code, out, err = run_cli("table", data_file(rows, header=header), *Q3A)
    one_line(code, out, err, "row 3", f"column '{column}'", "not a finite number")


# ---------------------------------------------------------------------------------------------
# 2. Method files: finite and in range, every key known, integers integers
# ---------------------------------------------------------------------------------------------
METHOD_ATTACKS = [
    (lambda d: d["average"].update(weights={"OF0023": float("nan")}), "average.weights must be finite"),
    (lambda d: d["average"].update(weights={"OF0023": float("inf"), "OF0061": 1}), "average.weights must be finite"),
    (lambda d: d["average"].update(weights={"OF0023": 0, "OF0061": 0}), "at least one positive"),
    (lambda d: d["segmentation"].update(cutoffs=[float("nan"), 2.35, 2.7]), "three finite numbers"),
    (lambda d: d["segmentation"].update(cutoffs=[2.06, 2.35, float("inf")]), "three finite numbers"),
    (lambda d: d["segmentation"].update(cutoffs=[-5, 2.35, 2.7]), "within the 1-4 score scale"),
    (lambda d: d["domain_segmentation"]["cutoffs"].update(access=[1.9, float("nan"), 2.9]), "finite numbers"),
    (lambda d: d["override"].update(tolerance=float("nan")), "override.tolerance must be a finite number"),
    (lambda d: d["override"].update(tolerance=float("-inf")), "override.tolerance must be a finite number"),
    (lambda d: d["override"].update(tolerence=0.5), "unknown key override.tolerence; did you mean 'tolerance'?"),
    (lambda d: d["average"].update(decimls=2), "unknown key average.decimls; did you mean 'decimals'?"),
    (lambda d: d.update(segmentaton=d.pop("segmentation")), "unknown section 'segmentaton'; did you mean "
                                                             "'segmentation'?"),
    (lambda d: d["average"].update(decimals=2.5), "average.decimals must be a whole number, got 2.5"),
    (lambda d: d["average"].update(decimals=2.0), "average.decimals must be a whole number"),
    (lambda d: d["average"].update(decimals=10 ** 6), "average.decimals must be from 0 to 12"),
    (lambda d: d["override"].update(cap=True), "override.cap must be a whole number"),
    (lambda d: d["override"].update(enabled="yes please"), "override.enabled must be true or false"),
    (lambda d: d["scoring"].update(min_trusts=2.5), "scoring.min_trusts must be a whole number"),
    (lambda d: d["average"].update(trim=float("nan")), "average.trim must be a finite number"),
    (lambda d: d["override"].update(planned_metric=7), "override.planned_metric must be text"),
    (lambda d: d.update(name=["a", "list"]), "'name' must be text"),
]


@pytest.mark.parametrize("edit, fragment", METHOD_ATTACKS)
def test_method_file_attacks(run_cli, tmp_path, edit, fragment):
    p = edited_preset(tmp_path, edit)
    out = tmp_path / "out.csv"
    code, stdout, err = run_cli("table", ACUTE, *Q3A, "--method", p, "--output", out)
    line = one_line(code, stdout, err, fragment)
    assert str(p) in line  # the file to open and fix
    assert not out.exists()


def test_every_key_of_the_shipped_presets_is_in_the_schema():
    for path in PRESET_DIR.glob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        for sec, body in data.items():
            if isinstance(body, dict):
                assert set(body) <= set(SCHEMA[sec]), (path.name, sec)


# ---------------------------------------------------------------------------------------------
# 3. League-table files: ranks and likely ranges
# ---------------------------------------------------------------------------------------------
def league_rows(**changes):
    rows = [league_row(f"R{i}", 2.0 + i / 10, segment="2", rank=str(i), avg_range="1.9 - 2.5",
                       rank_range=f"{i} - {i + 1}") for i in range(1, 5)]
    rows[1].update(changes)
    return rows


@pytest.mark.parametrize("changes, column, fragment", [
    ({"Rank": "1.5"}, "Rank", "not a whole number"),
    ({"Rank": "1e30"}, "Rank", "magnitude"),
    ({"Rank": "-3"}, "Rank", "outside 1-1000"),
    ({"Rank": "0"}, "Rank", "outside 1-1000"),
    ({"Rank": "5000"}, "Rank", "outside 1-1000"),
    ({"Likely_range_of_rank": "1.5 - 3"}, "Likely_range_of_rank", "not a whole number"),
    ({"Likely_range_of_rank": "4 - 2"}, "Likely_range_of_rank", "reversed"),
    ({"Likely_range_of_rank": "-3 - 2"}, "Likely_range_of_rank", "outside 1-1000"),
    ({"Likely_range_of_rank": "2 to"}, "Likely_range_of_rank", "cannot read range"),
    ({"Likely_range_of_rank": "1" + "0" * 400 + " - 2"}, "Likely_range_of_rank", "reversed"),
    ({"Likely_range_of_average_score": "2.8 - 2.1"}, "Likely_range_of_average_score", "reversed"),
    ({"Likely_range_of_average_score": "0.5 - 2.1"}, "Likely_range_of_average_score", "outside [1, 4]"),
    ({"Likely_range_of_average_score": "two - three"}, "Likely_range_of_average_score", "cannot read range"),
    ({"Average_score": "inf"}, "Average_score", "not a finite number"),
    ({"Segment": "2.5"}, "Segment", "is not 1-5"),
])
@pytest.mark.parametrize("command", ["table", "validate"])
def test_league_table_attacks(run_cli, league_file, tmp_path, changes, column, fragment, command):
    p = league_file(league_rows(**changes))
    if command == "table":
        out = tmp_path / "out.csv"
        code, stdout, err = run_cli("table", p, *Q3A, "--output", out)
        one_line(code, stdout, err, str(p), "row 3", f"column '{column}'", fragment)
        assert not out.exists()
    else:
        code, stdout, err = run_cli("validate", p)
        assert code == 2 and "Traceback" not in err
        assert any("row 3" in ln and f"column '{column}'" in ln and fragment in ln for ln in stdout.splitlines()), stdout


def test_good_ranks_and_ranges_still_read(run_cli, league_file):
    code, out, err = run_cli("table", league_file(league_rows()), *Q3A)
    assert code == 0, err
    t = pd.read_csv(io.StringIO(out))
    assert sorted(t["Published_rank"].tolist()) == [1, 2, 3, 4]


# ---------------------------------------------------------------------------------------------
# 4. Catalogues
# ---------------------------------------------------------------------------------------------
def catalogue_with(tmp_path, **changes) -> Path:
    raw = pd.read_csv(CATALOGUE_PATH, dtype=str, keep_default_na=False)
    row = raw[raw["metric_id"] == "OF0023"].copy()
    for k, v in changes.items():
        row[k] = v
    p = tmp_path / "cat.csv"
    p.write_text(row.to_csv(index=False))
    return p


@pytest.mark.parametrize("changes, column, fragment", [
    ({"metric_id": ""}, "metric_id", "metric_id is blank"),
    ({"metric_id": "OF 0023"}, "metric_id", "is not an ID"),
    ({"lower_bound": "100", "upper_bound": "0"}, "lower_bound", "above upper_bound"),
    ({"score_id": "OF0061"}, "score_id", "also the metric_id of a raw metric"),
    ({"metric_id": "OF9999", "score_id": "OF1061"}, "score_id", "given to two metrics"),
    ({"score_id": "OF5002"}, "score_id", "published summary row"),
    ({"metric_id": "OF4000", "score_id": ""}, "metric_id", "published summary row"),
    ({"upper_bound": "inf"}, "upper_bound", "finite number or blank"),
    ({"scale": "0"}, "scale", "scale must be positive"),
])
def test_catalogue_attacks_name_the_catalogue_file_and_row(run_cli, data_file, tmp_path, changes, column, fragment):
    cat = catalogue_with(tmp_path, **changes)
    out = tmp_path / "out.csv"
    code, stdout, err = run_cli("table", data_file(GOOD), *Q3A, "--catalogue", cat, "--output", out)
    one_line(code, stdout, err, f"{cat}, row 2, column '{column}'", fragment)
    assert not out.exists()


def test_catalogue_rows_are_counted_as_lines_of_the_file(tmp_path):
    raw = CATALOGUE_PATH.read_text().splitlines()
    header, row = raw[0], next(r for r in raw if r.startswith("OF0023,"))
    p = tmp_path / "cat.csv"
    p.write_text("\n".join([header, "", row.replace("OF0023,OF1023", ",OF1023")]) + "\n")
    with pytest.raises(InputError) as e:
        load_catalogue(p)
    assert (e.value.file, e.value.row, e.value.column) == (str(p), 3, "metric_id")


# ---------------------------------------------------------------------------------------------
# 5. Resource limits
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv, fragment", [
    (["ranks", ACUTE, *Q3A, "--draws", "1000000000"], "--draws must be at most 100,000"),
    (["sensitivity", ACUTE, *Q3A, "--scenarios", "1000000000", "--output", "x"], "--scenarios must be at most"),
    (["sensitivity", ACUTE, *Q3A, "--sobol-n", str(2 ** 30), "--output", "x"], "--sobol-n must be at most"),
    (["sensitivity", ACUTE, *Q3A, "--oat-draws", "1000000000", "--output", "x"], "--oat-draws must be at most"),
])
def test_documented_upper_bounds(run_cli, tmp_path, monkeypatch, argv, fragment):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(*argv)
    one_line(code, out, err, fragment)
    assert not (tmp_path / "x").exists()


def test_a_run_that_would_exceed_the_machine_says_how_much_it_needs(run_cli, monkeypatch, tmp_path):
    monkeypatch.setattr(limits, "available_memory", lambda: 512 * 1024 ** 2)
    code, out, err = run_cli("ranks", ACUTE, *Q3A, "--draws", "50000")
    need = limits.ranks_bytes(50000, 134, 28)  # 134 trusts, 28 scored metrics in the synthetic acute file
    line = one_line(code, out, err, "50,000 draws on 134 trusts x 28 metrics", f"about {limits.human_bytes(need)}",
                    "512.0 MiB available")
    assert "use fewer --draws" in line
    code, out, err = run_cli("sensitivity", ACUTE, *Q3A, "--scenarios", "900000", "--output", tmp_path / "s")
    one_line(code, out, err, "--scenarios 900,000", "of memory", "512.0 MiB available")
    assert not (tmp_path / "s").exists()


def test_the_memory_model_covers_what_a_run_uses():
    # measured peaks (limits docstring): 188 MB at 500 draws and 899 MB at 4,000 on 134 x 28; 476 MB
    # at 8,000 draws on 61 x 17
    assert limits.ranks_bytes(500, 134, 28) > 188e6 and limits.ranks_bytes(4000, 134, 28) > 899e6
    assert limits.ranks_bytes(8000, 61, 17) > 476e6
    assert limits.sensitivity_bytes(8000, 64, 5 * 9, 134) > 254e6


def test_input_size_limit(run_cli, data_file, tmp_path):
    p = data_file(GOOD)
    code, out, err = run_cli("table", p, *Q3A, "--max-bytes", "100")
    one_line(code, out, err, str(p), "larger than the input limit of 100 bytes", "--max-bytes")
    code, out, err = run_cli("--max-bytes", "1M", "table", p, *Q3A)
    assert code == 0, err
    code, out, err = run_cli("table", "/dev/zero", *Q3A, "--max-bytes", "64k")
    one_line(code, out, err, "/dev/zero", "larger than the input limit of 65536 bytes")
    cat = tmp_path / "cat.csv"
    cat.write_bytes(CATALOGUE_PATH.read_bytes())  # a user's catalogue is an input; the built-in one is not
    code, out, err = run_cli("table", p, *Q3A, "--catalogue", cat, "--max-bytes", "4k")
    one_line(code, out, err, f"{cat}: the catalogue file is larger than the input limit")


def test_a_bad_max_bytes_is_a_usage_error(data_file, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["table", str(data_file(GOOD)), *Q3A, "--max-bytes", "lots"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "--max-bytes" in err


# ---------------------------------------------------------------------------------------------
# 6. Errors from the system
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("err_no, words", [(errno.ENOSPC, "the disk is full"), (errno.EACCES, "permission denied"),
                                           (errno.EROFS, "the file system is read-only")])
@pytest.mark.parametrize("stage", ["fsync", "mkstemp"])
def test_system_errors_while_writing_leave_the_old_file(run_cli, data_file, tmp_path, monkeypatch, err_no, words,
                                                        stage):
    out = tmp_path / "out.csv"
    out.write_text("old table\n")

    def fail(*a, **k):
        raise OSError(err_no, os.strerror(err_no))

    monkeypatch.setattr(files.os if stage == "fsync" else files.tempfile, stage, fail)
    code, stdout, err = run_cli("table", data_file(GOOD), *Q3A, "--output", out, "--force")
    one_line(code, stdout, err, f"cannot write {out}: {words}", "old file is left as it was")
    assert out.read_text() == "old table\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.csv")] == []  # no temporary left


def test_an_os_error_anywhere_is_one_line(run_cli, monkeypatch, data_file):
    from nhs_league.commands import table

    def boom(args):
        raise PermissionError(errno.EACCES, "Permission denied", "/some/where")

    monkeypatch.setattr(table, "run", boom)
    code, out, err = run_cli("table", data_file(GOOD), *Q3A)
    one_line(code, out, err, "/some/where: Permission denied")


def test_memory_error_is_one_line(run_cli, monkeypatch, data_file):
    from nhs_league.commands import table

    def boom(args):
        raise MemoryError()

    monkeypatch.setattr(table, "run", boom)
    code, out, err = run_cli("table", data_file(GOOD), *Q3A)
    one_line(code, out, err, "out of memory")


def test_a_defect_is_one_line_with_exit_70_and_the_traceback_on_request(run_cli, monkeypatch, data_file):
    from nhs_league.commands import table

    def boom(args):
        raise KeyError("surprise\nsecond line")

    monkeypatch.setattr(table, "run", boom)
    code, out, err = run_cli("table", data_file(GOOD), *Q3A)
    one_line(code, out, err, "internal error: KeyError", "--debug", exit_code=cli.EXIT_DEFECT)
    for argv in (["--debug", "table", data_file(GOOD), *Q3A], ["table", data_file(GOOD), *Q3A, "--debug"]):
        code, out, err = run_cli(*argv)
        assert code == cli.EXIT_DEFECT and "Traceback (most recent call last)" in err and "KeyError" in err
    monkeypatch.setenv(cli.DEBUG_ENV, "1")
    code, out, err = run_cli("table", data_file(GOOD), *Q3A)
    assert code == cli.EXIT_DEFECT and "Traceback" in err


def test_debug_shows_the_traceback_of_an_input_error(run_cli, data_file):
    code, out, err = run_cli("table", data_file([("R1", "OF0023", "inf"), *GOOD[1:]]), *Q3A)
    one_line(code, out, err, "not a finite number")
    code, out, err = run_cli("table", data_file([("R1", "OF0023", "inf"), *GOOD[1:]]), *Q3A, "--debug")
    assert code == 2 and err.startswith("nhs-league: error:") and "Traceback" in err


def test_a_full_disk_under_standard_output(tmp_path):
    import subprocess
    import sys

    with open("/dev/full", "w") as full:
        r = subprocess.run([sys.executable, "-m", "nhs_league.cli", "table", str(AMB), *Q3B], stdout=full,
                           stderr=subprocess.PIPE, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr.splitlines() == ["nhs-league: error: cannot write the table to standard output: the disk is full"]


# ---------------------------------------------------------------------------------------------
# 7. Report parameters (the runner's path handling is in test_report_parallel.py)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("param, fragment", [
    ("quarter=123", "'quarter' is set for each report by the runner: give --quarter"),
    ("trust_type=banana", "give --trust-type"),
    ("data=x.csv", "give --data"),
    ("draws=1000000000", "'draws' must be from 1 to 100,000"),
    ("draws=2.5", "cannot read '2.5' as int"),
    ("coverage=nan", "'coverage' must be between 0 and 1"),
    ("coverage=inf", "'coverage' must be between 0 and 1"),
    ("seed=-1", "'seed' must be 0 or more"),
    ("bogus=1", "unknown parameter 'bogus'"),
    ("method=nope", "no method preset 'nope'"),
    ("uncertainty=vibes", "'uncertainty' must be one of"),
])
@pytest.mark.parametrize("with_data", [False, True])
def test_report_parameters_are_validated_like_options(run_cli, param, fragment, with_data):
    data = ["--data", str(SYN_Q3)] if with_data else []
    code, out, err = run_cli("report", "--list", *data, "--notebook", "league_table", "--param", param)
    one_line(code, out, err, "option --param", fragment)


def test_report_timeout_must_be_possible(run_cli, tmp_path):
    code, out, err = run_cli("report", "--data", str(SYN_Q3), "--notebook", "league_table", "--timeout", "-5",
                             "--output", tmp_path / "o", "--build-dir", tmp_path / "b", "--quiet")
    one_line(code, out, err, "--timeout must be a whole number of seconds")
    assert not (tmp_path / "b").exists()


# ---------------------------------------------------------------------------------------------
# 8. Provenance: preset name and fingerprint; formulas neutralised
# ---------------------------------------------------------------------------------------------
def test_an_edited_copy_of_a_preset_reads_as_edited(run_cli, tmp_path):
    official = load_method("nof-2025-26")
    p = edited_preset(tmp_path, lambda d: d["override"].update(tolerance=0.5))
    code, out, err = run_cli("table", ACUTE, *Q3A, "--method", p)
    assert code == 0, err
    label = set(pd.read_csv(io.StringIO(out))["Method"])
    edited = load_method(p)
    assert label == {f"nof-2025-26 (edited, {edited.fingerprint()[:8]})"}
    assert edited.fingerprint() != official.fingerprint()
    code, out, err = run_cli("table", ACUTE, *Q3A, "--method", "nof-2025-26")
    assert set(pd.read_csv(io.StringIO(out))["Method"]) == {f"nof-2025-26 ({official.fingerprint()[:8]})"}
    q3 = default_method_for("2025Q3")  # without --method: the quarter's own preset, not edited
    code, out, err = run_cli("table", ACUTE, *Q3A)
    assert set(pd.read_csv(io.StringIO(out))["Method"]) == {f"{q3.name} ({q3.fingerprint()[:8]})"}
    # a copy with only its description changed acts the same: not edited
    same = edited_preset(tmp_path, lambda d: d.update(description="my copy"))
    assert load_method(same).label == official.label


@pytest.mark.parametrize("name", ["=HYPERLINK(\"http://x\",\"click\")", "+1+1", "-2+3", "@SUM(A1)", "=1"])
def test_formula_cells_are_neutralised_in_csv_outputs(run_cli, data_file, tmp_path, name):
    rows = [data_row(c, m, v, name=name if c == "R2" else None) for c, m, v in GOOD]
    out = tmp_path / "out.csv"
    for target in (["--output", out], []):
        code, stdout, err = run_cli("table", data_file(rows), *Q3A, *target)
        assert code == 0, err
        text = out.read_text() if target else stdout
        t = pd.read_csv(io.StringIO(text), dtype={"Trust_name": str})
        assert t.loc[t["Trust_code"] == "R2", "Trust_name"].item() == "'" + name
        assert not any(c.startswith(("=", "+", "@")) for line in text.splitlines()[1:] for c in line.split(","))


def test_numbers_and_ordinary_text_are_not_neutralised():
    df = pd.DataFrame({"a": ["-0.5", "+3", "Trust", "-", "x=1"], "b": [-1.0, 2.0, -3.5, 0.0, 1.0]})
    text = files.csv_text(df)
    back = pd.read_csv(io.StringIO(text), dtype={"a": str})
    pd.testing.assert_series_equal(back["a"], pd.Series(["-0.5", "+3", "Trust", "'-", "x=1"], name="a"))
    pd.testing.assert_series_equal(back["b"], df["b"])
    assert neutralise_cell("\t=1") == "'\t=1"


# ---------------------------------------------------------------------------------------------
# 9. Symlinks
# ---------------------------------------------------------------------------------------------
def test_a_dangling_symlink_as_output_is_not_replaced_without_force(run_cli, data_file, tmp_path):
    link = tmp_path / "out.csv"
    link.symlink_to(tmp_path / "nowhere.csv")
    code, out, err = run_cli("table", data_file(GOOD), *Q3A, "--output", link)
    one_line(code, out, err, "is a symbolic link", "--force")
    assert link.is_symlink() and not (tmp_path / "nowhere.csv").exists()


def test_a_symlink_to_a_file_is_never_followed(run_cli, data_file, tmp_path):
    target = tmp_path / "precious.csv"
    target.write_text("keep me\n")
    link = tmp_path / "out.csv"
    link.symlink_to(target)
    code, out, err = run_cli("table", data_file(GOOD), *Q3A, "--output", link)
    one_line(code, out, err, "is a symbolic link")
    code, out, err = run_cli("table", data_file(GOOD), *Q3A, "--output", link, "--force")
    assert code == 0, err
    assert target.read_text() == "keep me\n"  # the target is not written through the link
    assert not link.is_symlink() and link.read_text().startswith("Quarter,")


def test_atomic_writes_refuse_symlinks_without_force(tmp_path):
    link = tmp_path / "a.txt"
    link.symlink_to(tmp_path / "gone")
    with pytest.raises(files.OutputExistsError, match="symbolic link"):
        atomic_write_text(link, "x", force=False)
    assert link.is_symlink()


def test_sensitivity_and_report_folders_behind_symlinks(run_cli, tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    code, out, err = run_cli("sensitivity", ACUTE, *Q3A, "--output", link, "--scenarios", "10")
    one_line(code, out, err, "is a symbolic link")
    (real / "trusts.csv").symlink_to(tmp_path / "elsewhere.csv")
    code, out, err = run_cli("sensitivity", ACUTE, *Q3A, "--output", real, "--scenarios", "10")
    one_line(code, out, err, "trusts.csv exists", "--force")
    code, out, err = run_cli("report", "--data", str(SYN_Q3), "--notebook", "league_table", "--output", link,
                             "--quiet")
    one_line(code, out, err, "is a symbolic link")
    assert list(real.iterdir()) == [real / "trusts.csv"]


# ---------------------------------------------------------------------------------------------
# Other classes of the issue: wording of the errors
# ---------------------------------------------------------------------------------------------
def test_option_errors_name_the_option_not_a_column(run_cli, data_file):
    code, out, err = run_cli("table", data_file(GOOD), "--quarter", "2025Q3", "--trust-type", "banana")
    one_line(code, out, err, "option --trust-type:")
    assert "column" not in err


@pytest.mark.parametrize("magic, kind", [(b"\x1f\x8b\x08\x00", "gzip"), (b"BZh91AY", "bzip2"),
                                         (b"\xfd7zXZ\x00\x00", "xz")])
def test_compressed_files_are_named_as_such(run_cli, tmp_path, magic, kind):
    p = tmp_path / "data-q3-25-26.csv"
    p.write_bytes(magic + b"\x00" * 64)
    code, out, err = run_cli("table", p, *Q3A)
    one_line(code, out, err, f"{kind}-compressed file", "unpack it first")


def test_an_unclosed_quote_is_named_where_it_opens(run_cli, tmp_path):
    rows = [data_row(f"R{i}", "OF0023", 50.0 + i) for i in range(1, 3000)]
    text = csv_bytes(DATA_HEADER_Q3, rows).decode().splitlines()
    text[3] = text[3].replace("Trust R3", '"Trust R3', 1)  # line 4: a quote that never closes
    p = tmp_path / "d-q3-25-26.csv"
    p.write_text("\n".join(text) + "\n")
    code, out, err = run_cli("table", p, *Q3A)
    one_line(code, out, err, "row 4:", "never closed")


def test_yaml_tags_are_not_executed(run_cli, tmp_path):
    p = tmp_path / "evil.yaml"
    p.write_text("name: !!python/object/apply:os.system ['touch " + str(tmp_path / "pwned") + "']\n")
    code, out, err = run_cli("table", ACUTE, *Q3A, "--method", p)
    one_line(code, out, err, str(p))
    assert not (tmp_path / "pwned").exists()


def test_a_league_file_given_as_method_and_a_folder_as_catalogue(run_cli, tmp_path, league_file):
    code, out, err = run_cli("table", ACUTE, *Q3A, "--method", league_file(league_rows()))
    one_line(code, out, err)
    code, out, err = run_cli("table", ACUTE, *Q3A, "--catalogue", tmp_path)
    one_line(code, out, err, "folder")


def test_many_problems_in_table_mode_stay_one_line(run_cli, data_file):
    rows = [data_row(f"R{i}", "OF0023", "inf") for i in range(1, 40)]
    code, out, err = run_cli("table", data_file(rows), *Q3A)
    one_line(code, out, err, "row 2,")


def test_good_files_still_give_the_same_table_through_a_file_and_stdout(run_cli, tmp_path):
    # the checks and the formula neutralisation change nothing in a good file's table
    code, out, err = run_cli("table", AMB, *Q3B)
    assert code == 0, err
    code2, _, err2 = run_cli("table", AMB, *Q3B, "--output", tmp_path / "t.csv")
    assert code2 == 0, err2
    assert (tmp_path / "t.csv").read_text() == out
    t = pd.read_csv(io.StringIO(out))
    assert not t["Trust_name"].str.startswith("'").any()


def test_the_real_data_extract_refuses_non_finite_values(shared_data, tmp_path):
    from nhs_league.realdata import EXTRACT_FILE, EXTRACT_FOLDER, read_extract

    raw = pd.read_csv(shared_data / EXTRACT_FOLDER / EXTRACT_FILE, dtype=str, keep_default_na=False)
    col = next(c for c in raw.columns if c.lower().startswith("of") and raw[c].ne("").any())
    i = int(np.flatnonzero(raw[col].ne("").to_numpy())[0])
    raw.loc[i, col] = "1e309"
    p = tmp_path / EXTRACT_FILE
    raw.to_csv(p, index=False)
    with pytest.raises(InputError) as e:
        read_extract(p)
    assert (e.value.row, e.value.column) == (i + 2, col) and "not a finite number" in e.value.message


@pytest.mark.parametrize("text", ["inf", "1e309", "1,5"])
def test_a_denominators_table_refuses_non_finite_and_decimal_commas(tmp_path, text):
    from nhs_league.uncertainty import read_denominators

    p = tmp_path / "den.csv"
    p.write_text(f"Trust_code,Metric_ID,Denominator\nR1,OF0023,1200\nR2,OF0023,{text if ',' not in text else chr(34) + text + chr(34)}\n")
    with pytest.raises(InputError) as e:
        read_denominators(p)
    assert (e.value.row, e.value.column) == (3, "Denominator")


# ---------------------------------------------------------------------------------------------
# Special files as outputs and inputs: never replaced, never a traceback
# ---------------------------------------------------------------------------------------------
def test_a_fifo_as_output_is_written_into_not_replaced(run_cli, data_file, tmp_path):
    import stat
    import threading

    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()), daemon=True)
    reader.start()
    code, out, err = run_cli("table", data_file(GOOD), *Q3A, "--output", fifo)
    reader.join(timeout=30)
    assert code == 0, err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert got and got[0].startswith(b"Quarter,")


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_a_character_device_as_output_is_never_replaced(run_cli, data_file, tmp_path):
    import stat

    null = tmp_path / "null"  # a copy of /dev/null's device node, so that a regression cannot harm /dev
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    full = tmp_path / "full"
    os.mknod(full, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    link = tmp_path / "stdout-like"
    link.symlink_to(null)
    for argv in (["--output", null], ["--output", null, "--force"], ["--output", link, "--force"]):
        code, out, err = run_cli("table", data_file(GOOD), *Q3A, *argv)
        assert code == 0, err
    assert stat.S_ISCHR(os.lstat(null).st_mode) and link.is_symlink()
    code, out, err = run_cli("table", data_file(GOOD), *Q3A, "--output", full, "--force")
    one_line(code, out, err, f"cannot write {full}: the disk is full")
    assert stat.S_ISCHR(os.lstat(full).st_mode)


def test_a_loop_of_symbolic_links_is_one_line(run_cli, tmp_path):
    loop = tmp_path / "loop.csv"
    loop.symlink_to(loop)
    code, out, err = run_cli("table", loop, *Q3A)
    one_line(code, out, err, "loop of symbolic links")
    code, out, err = run_cli("report", "--list", "--data", loop)
    one_line(code, out, err, "loop of symbolic links")


def test_report_replicates_check_the_memory_first(monkeypatch):
    from nhs_league import report

    monkeypatch.setattr(limits, "available_memory", lambda: 64 * 1024 ** 2)
    ctx = report.prepare(quarter="2025Q3", trust_type="acute", data=[str(ACUTE)], draws=90_000)
    with pytest.raises(MethodError, match="draws = 90,000 on 134 trusts .* of memory"):
        report.replicates(ctx)


def test_a_segment5_list_naming_an_absent_trust_says_so(run_cli, data_file, tmp_path):
    def edit(d):
        d["segment5"].update(source="list", trusts=["R1", "RXX"])

    code, out, err = run_cli("table", data_file(GOOD), *Q3A, "--method", edited_preset(tmp_path, edit))
    assert code == 0, err
    assert "segment5.trusts names 1 trust code(s) that no input holds, so they are in no segment 5: RXX" in err


@pytest.mark.parametrize("magic, fragment", [(b"\x1f\x8b\x08", "gzip-compressed"), (b"%PDF-1.7", "PDF document"),
                                             (b"PK\x03\x04", "Excel workbook")])
def test_a_catalogue_that_is_not_text_is_named_as_such(run_cli, data_file, tmp_path, magic, fragment):
    cat = tmp_path / "cat.csv"
    cat.write_bytes(magic + b"\x00" * 32)
    code, out, err = run_cli("table", data_file(GOOD), *Q3A, "--catalogue", cat)
    one_line(code, out, err, str(cat), fragment)


def test_the_size_limit_is_on_inputs_not_on_the_packages_own_files(tmp_path):
    import subprocess
    import sys

    p = tmp_path / "d-q3-25-26.csv"
    p.write_bytes(csv_bytes(DATA_HEADER_Q3, [data_row(c, m, v) for c, m, v in GOOD]))
    size = p.stat().st_size  # a fresh process, so that nothing is cached: the catalogue and preset are read
    r = subprocess.run([sys.executable, "-m", "nhs_league.cli", "table", str(p), *Q3A, "--max-bytes", str(size)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, "-m", "nhs_league.cli", "table", str(p), *Q3A, "--max-bytes",
                        str(size - 1)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.splitlines() == [
        f"nhs-league: error: {p}: the file is larger than the input limit of {size - 1} bytes"
        + (f" ({files._human(size - 1)})" if size - 1 >= 1024 else "") + ": pass --max-bytes to raise it"]


def test_a_library_warning_is_one_line(run_cli, monkeypatch, data_file):
    import warnings

    from nhs_league.commands import table

    def warn(args):
        warnings.warn("Mean of empty slice\nsecond line", RuntimeWarning)
        return 0

    monkeypatch.setattr(table, "run", warn)
    code, out, err = run_cli("table", data_file(GOOD), *Q3A)
    assert code == 0 and err.splitlines() == ["nhs-league: warning: RuntimeWarning: Mean of empty slice second line"]


def test_the_sensitivity_report_checks_the_memory_first(monkeypatch):
    from nhs_league import report

    monkeypatch.setattr(limits, "available_memory", lambda: 64 * 1024 ** 2)
    ctx = report.prepare(quarter="2025Q3", trust_type="acute", data=[str(ACUTE)], scenarios=900_000,
                         sobol_n_base=2 ** 16)
    with pytest.raises(MethodError, match="scenarios = 900,000 with a Sobol base of 65,536 on 134 trusts"):
        report.sensitivity_data(ctx)


@pytest.mark.parametrize("changes, column, fragment", [
    ({"rule_params": "[1, 2]"}, "rule_params", "must be a JSON object"),
    ({"rule_params": '{"edges": [NaN, 1]}'}, "rule_params", "not a finite number"),
    ({"rule_params": '{"edges": [1e400, 1]}'}, "rule_params", "not a finite number"),
    ({"trust_types": ""}, "trust_types", "trust_types is blank"),
])
def test_more_catalogue_attacks(run_cli, data_file, tmp_path, changes, column, fragment):
    cat = catalogue_with(tmp_path, **changes)
    code, stdout, err = run_cli("table", data_file(GOOD), *Q3A, "--catalogue", cat)
    one_line(code, stdout, err, f"{cat}, row 2, column '{column}'", fragment)


def test_a_key_given_twice_in_a_preset_is_an_error_at_its_line(run_cli, tmp_path):
    text = (PRESET_DIR / "nof-2025-26.yaml").read_text().splitlines()
    at = next(i for i, line in enumerate(text) if line.strip().startswith("tolerance:"))
    text.insert(at + 1, "  tolerance: 5.0")
    p = tmp_path / "dup.yaml"
    p.write_text("\n".join(text) + "\n")
    code, out, err = run_cli("table", ACUTE, *Q3A, "--method", p)
    one_line(code, out, err, f"{p}, line {at + 2}, column 3", "the key 'tolerance' is given twice")


def test_newer_commands_inherit_the_bounds_and_the_memory_check(run_cli, monkeypatch):
    code, out, err = run_cli("whatif", ACUTE, *Q3A, "--trust", "ZZ231", "--draws", "1000000000")
    one_line(code, out, err, "--draws must be at most 100,000")
    monkeypatch.setattr(limits, "available_memory", lambda: 64 * 1024 ** 2)
    code, out, err = run_cli("whatif", ACUTE, *Q3A, "--trust", "ZZ231", "--draws", "90000")
    one_line(code, out, err, "90,000 draws on 134 trusts", "of memory")
