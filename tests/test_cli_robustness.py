"""Robustness of the ``nhs-league`` command line to the mistakes an analyst makes by accident.

Each bad input gives exit status 2 and exactly one line on standard error, naming the file,
row and column where there is one, without a traceback; each good but unusual input gives
the table it should. Every test here is the regression test of a problem found by trying
to break the CLI (see the report of the QA pass); the library raises InputError/MethodError,
the CLI only prints it.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import DATA_HEADER_Q1, DATA_HEADER_Q3, LEAGUE_HEADER_Q3, csv_bytes, league_row
from nhs_league import sensitivity as sens
from nhs_league.errors import InputError, MethodError
from nhs_league.files import OutputError, atomic_write_text
from nhs_league.io import read_data_file, read_inputs, read_league_file, select_quarter
from nhs_league.methods import load_method

ROOT = Path(__file__).resolve().parents[1]
SYN = ROOT / "data" / "synthetic" / "2025-26"
SYN_Q3 = SYN / "q3-25-26"
ACUTE_Q3_DATA = SYN_Q3 / "nhs-oversight-framework-acute-trust-data-q3-25-26-v2.csv"
ACUTE_Q3_LEAGUE = SYN_Q3 / "nhs-oversight-framework-acute-trust-league-table-q3-25-26-v2.csv"
AMB_Q3_DATA = SYN_Q3 / "nhs-oversight-framework-ambulance-trust-data-q3-25-26-v2.csv"
AMB_Q3_LEAGUE = SYN_Q3 / "nhs-oversight-framework-ambulance-trust-league-table-q3-25-26-v2.csv"
MH_Q1_DATA = SYN / "q1-25-26" / "nhs-oversight-framework-non-acute-hospital-trust-data.csv"
MH_Q1_LEAGUE = SYN / "q1-25-26" / "nhs-oversight-framework-non-acute-hospital-trust-league-table.csv"
ACUTE_Q1_DATA = SYN / "q1-25-26" / "nhs-oversight-framework-acute-trust-data.csv"

# three acute trusts on two metrics: a small, clean data file
ROWS = [("R1", "OF0023", 60.0), ("R2", "OF0023", 70.0), ("R3", "OF0023", 80.0),
        ("R1", "OF0061", 6.5), ("R2", "OF0061", 7.0), ("R3", "OF0061", 7.5)]
Q3 = ["--quarter", "2025Q3", "--trust-type", "acute"]
AMB = [AMB_Q3_DATA, "--quarter", "2025Q3", "--trust-type", "ambulance"]


@pytest.fixture(scope="module", autouse=True)
def _synthetic_year():
    if not ACUTE_Q3_DATA.exists():
        pytest.skip("the synthetic year is not in data/synthetic (run `nhs-league synth`)")


def one_error_line(code, out, err, *fragments, file=None, row=None, column=None) -> str:
    """Assert exit 2, nothing on stdout, and one stderr line holding every fragment; return it."""
    assert code == 2, err
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    line = lines[0]
    assert line.startswith("nhs-league"), line
    for f in fragments:
        assert f in line, (f, line)
    if file is not None:
        assert str(file) in line, line
    if row is not None:
        assert f"row {row}," in line or f"row {row}:" in line, line
    if column is not None:
        assert f"column '{column}'" in line, line
    return line


def table_of(out: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(out), dtype={"Trust_code": str})


# ---------------------------------------------------------------------------------------------
# Files that are not CSV files
# ---------------------------------------------------------------------------------------------

def test_a_folder_given_as_an_input_file(run_cli):
    # was: IsADirectoryError traceback from read_raw_csv (table and validate)
    code, out, err = run_cli("table", SYN_Q3, *Q3)
    one_error_line(code, out, err, "is a folder, not a CSV file", file=SYN_Q3)
    code, out, err = run_cli("validate", SYN_Q3)
    assert code == 2 and "Traceback" not in err
    assert out.splitlines() == [f"{SYN_Q3}: this is a folder, not a CSV file: give the files in it"]


def test_a_folder_given_as_a_denominators_table(run_cli, tmp_path):
    code, out, err = run_cli("ranks", AMB_Q3_DATA, "--quarter", "2025Q3", "--trust-type", "ambulance",
                             "--source", "sampling", "--denominators", tmp_path, "--draws", "10")
    one_error_line(code, out, err, "is a folder", file=tmp_path)


def test_a_nonexistent_file(run_cli, tmp_path):
    code, out, err = run_cli("table", tmp_path / "nope.csv", *Q3)
    one_error_line(code, out, err, "file not found", file=tmp_path / "nope.csv")


def test_utf16_file_reads_like_the_utf8_file(tmp_path):
    # was: read as Windows-1252, every cell full of NUL characters ("cannot parse quarter label '\x00Q...'")
    text = csv_bytes(LEAGUE_HEADER_Q3, [league_row("R1", 2.0), league_row("R2", 2.5, "Yes")]).decode()
    utf8, utf16 = tmp_path / "a-q3-25-26.csv", tmp_path / "b-q3-25-26.csv"
    utf8.write_text(text, encoding="utf-8")
    utf16.write_bytes(text.encode("utf-16"))  # with a byte-order mark, as Excel's "Unicode" CSV
    assert utf16.read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")
    a, b = read_league_file(utf8), read_league_file(utf16)
    pd.testing.assert_frame_equal(b.drop(columns="source_file"), a.drop(columns="source_file"))


def test_bytes_that_are_neither_utf8_nor_cp1252(run_cli, tmp_path):
    # was: "cannot read as CSV: 'charmap' codec can't decode ..." without a row
    p = tmp_path / "junk-q3-25-26.csv"
    p.write_bytes(b"Trust_type,Trust_code,Trust_name,Metric_ID,Value\nAcute trust,R1,One,OF0023,6\x8f\n")
    code, out, err = run_cli("table", p, *Q3)
    one_error_line(code, out, err, "byte 0x8f", "not text in UTF-8 or Windows-1252", file=p, row=2)


def test_a_binary_file_with_nul_bytes(run_cli, tmp_path):
    p = tmp_path / "bin-q3-25-26.csv"
    p.write_bytes(b"Trust_type,Trust_code\n\x00\x01\x02,R1\n")
    code, out, err = run_cli("table", p, *Q3)
    one_error_line(code, out, err, "NUL bytes", file=p, row=2)


@pytest.mark.parametrize("content, fragment", [
    (b"\xff\xfe\x00\x01 not text", "can't decode byte 0xff"),
    (b"", "No columns to parse"),
    (b'trust_code,quarter\nR1,"Q3 2025/26\n', "EOF inside string"),
])
def test_an_unreadable_real_data_extract(run_cli, tmp_path, content, fragment):
    # was: a pandas traceback (UnicodeDecodeError, EmptyDataError, ParserError) from read_extract
    from nhs_league.realdata import EXTRACT_FILE

    p = tmp_path / EXTRACT_FILE
    p.write_bytes(content)
    code, out, err = run_cli("report", "--data", p, "--list", "--output", tmp_path / "reports")
    one_error_line(code, out, err, "cannot read the real-data extract", fragment, file=p)


def test_a_catalogue_that_is_not_utf8_text(run_cli, tmp_path):
    # was: a UnicodeDecodeError traceback from pandas
    p = tmp_path / "catalogue.csv"
    p.write_bytes(b"\xff\xfe\x00\x01 not text")
    code, out, err = run_cli("table", ACUTE_Q3_DATA, *Q3, "--catalogue", p)
    one_error_line(code, out, err, "cannot read catalogue", "can't decode byte 0xff", file=p)


@pytest.mark.parametrize("content, fragment", [
    (b"reports:\n  - notebook: [\n", "not valid YAML"),  # was: a four-line message from PyYAML
    (b"\xff\xfe\x01 not text", "not a text file in UTF-8"),  # was: a UnicodeDecodeError traceback
])
def test_an_unreadable_report_suite(run_cli, tmp_path, content, fragment):
    p = tmp_path / "suite.yaml"
    p.write_bytes(content)
    code, out, err = run_cli("report", "--suite", p, "--list", "--output", tmp_path / "reports")
    one_error_line(code, out, err, fragment, file=p)


# ---------------------------------------------------------------------------------------------
# Rows and line numbers
# ---------------------------------------------------------------------------------------------

def _lines(*rows: list[str]) -> str:
    return "".join(",".join(r) + "\n" for r in rows)


HEAD = ["Trust_type", "Trust_code", "Trust_name", "Metric_ID", "Value", "Quarter"]


def test_row_numbers_count_blank_lines_and_multiline_cells(tmp_path):
    # was: pandas skipped the blank line and the message named row 3 for the bad value on line 4
    p = tmp_path / "blank-q3-25-26.csv"
    p.write_text(_lines(HEAD, ["Acute trust", "R1", "One", "OF0023", "61", "Q3 2025/26"]) + "\n"
                 + _lines(["Acute trust", "R2", "Two", "OF0023", "6O", "Q3 2025/26"]))
    with pytest.raises(InputError) as ei:
        read_data_file(p)
    assert (ei.value.row, ei.value.column) == (4, "Value")
    # a quoted cell spanning two lines: the next row starts on line 4
    q = tmp_path / "multi-q3-25-26.csv"
    q.write_text(_lines(HEAD, ["Acute trust", "R1", '"One\nline two"', "OF0023", "61", "Q3 2025/26"],
                        ["Acute trust", "R2", "Two", "OF0023", "6O", "Q3 2025/26"]))
    with pytest.raises(InputError) as ei:
        read_data_file(q)
    assert (ei.value.row, ei.value.column) == (4, "Value")


def test_source_rows_skip_blank_lines(tmp_path):
    p = tmp_path / "gaps-q3-25-26.csv"
    p.write_text(_lines(HEAD) + "\n"
                 + _lines(["Acute trust", "R1", "One", "OF0023", "61", "Q3 2025/26"]) + "\n\n"
                 + _lines(["Acute trust", "R2", "Two", "OF0023", "62", "Q3 2025/26"]))
    assert read_data_file(p)["source_row"].tolist() == [3, 6]  # header on line 2, rows on lines 3 and 6


def test_trailing_commas_on_every_row_read_like_a_clean_file(tmp_path, data_file):
    # was: pandas took the first column as the index and shifted every column left by one
    clean = data_file(ROWS, name="clean-q3-25-26.csv")
    body = clean.read_text().splitlines()
    trailing = tmp_path / "trailing-q3-25-26.csv"
    trailing.write_text(body[0] + "\n" + "".join(line + ",\n" for line in body[1:]))
    a, b = read_data_file(clean), read_data_file(trailing)
    pd.testing.assert_frame_equal(b.drop(columns="source_file"), a.drop(columns="source_file"))


def test_rows_of_empty_cells_and_a_trailing_blank_line_are_ignored(run_cli, tmp_path):
    # spreadsheets leave ",,,,,," rows after the last record: was "cannot parse quarter label ''"
    clean = ACUTE_Q3_LEAGUE.read_text()
    width = clean.splitlines()[0].count(",")
    padded = tmp_path / "padded-q3-25-26.csv"
    padded.write_text(clean + ("," * width + "\r\n") * 2 + "\n")
    code, out_clean, err = run_cli("table", ACUTE_Q3_LEAGUE, *Q3)
    assert code == 0, err
    code, out_padded, err = run_cli("table", padded, *Q3)
    assert code == 0, err
    assert out_padded == out_clean


def test_a_row_with_too_few_cells(run_cli, tmp_path):
    # was: the missing cells became NaN and the message blamed the quarter ("cannot parse quarter label ''")
    p = tmp_path / "short-q3-25-26.csv"
    p.write_text(_lines(HEAD, ["Acute trust", "R1", "One", "OF0023", "61", "Q3 2025/26"],
                        ["Acute trust", "R2", "Two", "OF0023", "60"]))
    code, out, err = run_cli("table", p, *Q3)
    one_error_line(code, out, err, "has 5 cells but the header has 6 columns", file=p, row=3)


def test_a_row_with_an_extra_cell(run_cli, tmp_path):
    p = tmp_path / "long-q3-25-26.csv"
    p.write_text(_lines(HEAD, ["Acute trust", "R1", "One", "OF0023", "61", "Q3 2025/26"],
                        ["Acute trust", "R2", "Two", "OF0023", "60", "Q3 2025/26", "oops"]))
    code, out, err = run_cli("table", p, *Q3)
    one_error_line(code, out, err, "has 7 cells but the header has 6 columns", file=p, row=3)


def test_a_header_repeated_exactly(run_cli, tmp_path):
    # was: the message named pandas' renamed column 'Average_score.1', not a header in the file
    header = LEAGUE_HEADER_Q3[:7] + ["Average_score"] + LEAGUE_HEADER_Q3[7:]
    rows = [[*r[:7], r[6], *r[7:]] for r in ([league_row("R1", 2.0)[c] for c in LEAGUE_HEADER_Q3],)]
    p = tmp_path / "dup-q3-25-26.csv"
    p.write_text(_lines(header, *rows))
    code, out, err = run_cli("table", p, *Q3)
    one_error_line(code, out, err, "two columns stand for 'Average_score'", "'Average_score' twice",
                   "columns 7 and 8", file=p, row=1, column="Average_score")


def test_a_header_only_file(run_cli, write_csv):
    p = write_csv("header-q3-25-26.csv", DATA_HEADER_Q3, [])
    code, out, err = run_cli("table", p, *Q3)
    one_error_line(code, out, err, "header but no rows", file=p, row=2)


# ---------------------------------------------------------------------------------------------
# The same data twice, and quarters
# ---------------------------------------------------------------------------------------------

def test_the_same_file_given_twice(run_cli):
    # was: a league-table file given twice listed every trust twice (268 rows for 134 trusts)
    code, out, err = run_cli("table", ACUTE_Q3_LEAGUE, ACUTE_Q3_LEAGUE, *Q3)
    one_error_line(code, out, err, "this file is given twice", file=ACUTE_Q3_LEAGUE)


def test_two_league_files_with_the_same_trusts(run_cli, league_file):
    a = league_file([("R1", 2.0, "No"), ("R2", 2.5, "No")], name="a-q3-25-26.csv")
    b = league_file([("R2", 2.5, "No"), ("R3", 2.9, "No")], name="b-q3-25-26.csv")
    code, out, err = run_cli("table", a, b, *Q3)
    one_error_line(code, out, err, "duplicate trust row", "trust_code=R2", f"also on row 2 of {b}", file=a,
                   row=3, column="Trust_code")


def test_a_file_without_a_quarter_mixed_with_a_file_that_holds_it(run_cli, data_file):
    # was: both files' rows were taken as the quarter asked for, and the later file's values
    # silently won: Q1 figures published as Q3 when the Q3 file came first on the command line
    q3 = data_file(ROWS, name="acute-data-q3-25-26.csv")
    q1 = data_file([(c, m, v + 1) for c, m, v in ROWS], name="acute-data.csv", header=DATA_HEADER_Q1)
    for order in ((q3, q1), (q1, q3)):
        code, out, err = run_cli("table", *order, *Q3)
        one_error_line(code, out, err, "does not say its quarter", "also in", str(q3), file=q1, row=2)
    # asking for another quarter is fine: only the unnamed file's rows are taken, and a note says so
    code, out, err = run_cli("table", q3, q1, "--quarter", "2025Q1", "--trust-type", "acute")
    assert code == 0, err
    assert f"nhs-league: note: {q1} does not say which quarter it holds: taken as Q1 2025/26 (--quarter)" \
        in err.splitlines()
    t = table_of(out).set_index("Trust_code").sort_index()
    assert set(t["Quarter"]) == {"2025Q1"}
    # the Q1 values (one more than Q3's) rank the same way, but OF0061 6.5/7.0/7.5 -> 7.5/8.0/8.5
    assert t["Rank"].tolist() == [3, 2, 1]


def test_library_check_on_unstated_quarters(data_file):
    q3 = data_file(ROWS, name="acute-data-q3-25-26.csv")
    q1 = data_file(ROWS, name="acute-data.csv", header=DATA_HEADER_Q1)
    inputs = read_inputs([q3, q1])
    with pytest.raises(InputError, match="does not say its quarter") as ei:
        select_quarter(inputs, "2025Q3")
    assert (ei.value.file, ei.value.row, ei.value.column) == (str(q1), 2, "Trust_code")
    assert select_quarter(inputs, "2025Q1") == "2025Q1"


def test_mixing_q1_and_q3_files_with_their_quarters_named(run_cli):
    # the committed synthetic year names Q1 in the folder: each quarter is taken from its own file
    both = [ACUTE_Q1_DATA, ACUTE_Q3_DATA]
    code, out_q3, err = run_cli("table", *both, *Q3)
    assert code == 0, err
    code, alone_q3, err = run_cli("table", ACUTE_Q3_DATA, *Q3)
    assert code == 0 and out_q3 == alone_q3
    code, out_q1, err = run_cli("table", *both, "--quarter", "2025Q1", "--trust-type", "acute")
    assert code == 0, err
    code, alone_q1, _ = run_cli("table", ACUTE_Q1_DATA, "--quarter", "2025Q1", "--trust-type", "acute")
    assert out_q1 == alone_q1
    assert set(table_of(out_q1)["Method"]) == {load_method("nof-2025-26-q1").label}


def test_a_quarter_not_in_the_file(run_cli):
    code, out, err = run_cli("table", ACUTE_Q3_DATA, "--quarter", "2025Q2", "--trust-type", "acute")
    one_error_line(code, out, err, "quarter Q2 2025/26 (2025Q2) is not in the input; it holds Q3 2025/26",
                   file=ACUTE_Q3_DATA, column="Quarter")


# ---------------------------------------------------------------------------------------------
# Trust types
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["table", "ranks"])
def test_a_trust_type_the_data_file_does_not_hold(run_cli, command):
    # was: "no ambulance trust rows ... in the league-table files" for a data file, after a
    # SYNTHETIC note (two lines on standard error)
    code, out, err = run_cli(command, ACUTE_Q3_DATA, "--quarter", "2025Q3", "--trust-type", "ambulance")
    line = one_error_line(code, out, err, "no ambulance trust rows for 2025Q3 in the data files",
                          "it holds acute trust rows only", file=ACUTE_Q3_DATA, column="Trust_type")
    assert "league-table" not in line and "SYNTHETIC" not in line


def test_a_trust_type_the_league_file_does_not_hold(run_cli):
    code, out, err = run_cli("table", ACUTE_Q3_LEAGUE, "--quarter", "2025Q3", "--trust-type", "non-acute")
    one_error_line(code, out, err, "no mental health and community trust rows for 2025Q3",
                   "it holds acute trust rows only", file=ACUTE_Q3_LEAGUE, column="Trust_type")


def test_non_acute_is_an_alias_and_the_q1_non_acute_hospital_file_reads(run_cli):
    args = [MH_Q1_DATA, MH_Q1_LEAGUE, "--quarter", "Q1 2025/26"]
    code, a, err = run_cli("table", *args, "--trust-type", "non-acute")
    assert code == 0, err
    code, b, err = run_cli("table", *args, "--trust-type", "mental-health-and-community")
    assert code == 0 and a == b
    t = table_of(a)
    assert len(t) == 61 and set(t["Trust_type"]) == {"Mental health and community trust"}
    assert set(t["Quarter"]) == {"2025Q1"} and set(t["Method"]) == {load_method("nof-2025-26-q1").label}
    # the recomputed table reproduces the published one (Q1: quartiles, not cut-offs)
    pd.testing.assert_series_equal(t["Segment"], t["Published_segment"], check_names=False)
    pd.testing.assert_series_equal(t["Rank"], t["Published_rank"], check_names=False)


def test_ambulance_ten_trusts_table_and_ranks(run_cli):
    code, out, err = run_cli("table", AMB_Q3_DATA, AMB_Q3_LEAGUE, "--quarter", "2025Q3", "--trust-type",
                             "ambulance")
    assert code == 0, err
    t = table_of(out)
    assert len(t) == 10
    pd.testing.assert_series_equal(t["Rank"], t["Published_rank"], check_names=False)
    code, out, err = run_cli("ranks", AMB_Q3_DATA, "--quarter", "2025Q3", "--trust-type", "ambulance",
                             "--draws", "100")
    assert code == 0, err
    r = table_of(out)
    assert len(r) == 10
    assert ((r["Rank_lower"] <= r["Average_rank"]) & (r["Average_rank"] <= r["Rank_upper"])).all()
    assert r["Rank_upper"].max() <= 10


# ---------------------------------------------------------------------------------------------
# Route 2: a league-table file with Segment and Rank blank
# ---------------------------------------------------------------------------------------------

def test_route_2_with_blank_segment_and_rank_rederives_the_published_values(run_cli, tmp_path):
    pub = pd.read_csv(ACUTE_Q3_LEAGUE, dtype=str, keep_default_na=False)
    blank = pub.assign(Segment="", Rank="", Likely_range_of_rank="", Likely_range_of_average_score="")
    p = tmp_path / "blank-q3-25-26.csv"
    blank.to_csv(p, index=False)
    want = pub.set_index("Trust_code").sort_index()
    # the league shows segments 1-4 (segment 5 is reported beside it, as OF5005 is): the published
    # averages and deficit flags alone re-derive every published segment and rank
    assert set(want["Segment"]) <= {"1", "2", "3", "4"}
    code, out, err = run_cli("table", p, *Q3)
    assert code == 0, err
    assert "gives no Segment" not in err
    t = table_of(out).set_index("Trust_code").sort_index()
    assert len(t) == 134 and set(t["Data"]) == {"SYNTHETIC"}
    assert t["Published_segment"].isna().all() and t["Published_rank"].isna().all()
    np.testing.assert_array_equal(t["Segment"].to_numpy(), want["Segment"].astype(int).to_numpy())
    np.testing.assert_array_equal(t["Rank"].to_numpy(), want["Rank"].astype(int).to_numpy())
    # where a preset ranks segment 5 last, a file without a Segment cannot say who is in it: a note says so
    import yaml
    from nhs_league.methods import PRESET_DIR
    preset = yaml.safe_load((PRESET_DIR / "nof-2025-26.yaml").read_text())
    preset["name"] = "segment5-last"
    preset["segment5"].update(in_league_table="last")
    m = tmp_path / "segment5-last.yaml"
    m.write_text(yaml.safe_dump(preset))
    code, out, err = run_cli("table", p, *Q3, "--method", m)
    assert code == 0, err
    assert any(line.startswith("nhs-league: note: the league-table file gives no Segment") for line in err.splitlines())


# ---------------------------------------------------------------------------------------------
# Notes never come before an error; notes still come with a result
# ---------------------------------------------------------------------------------------------

def test_the_synthetic_note_is_printed_with_a_result_not_before_an_error(run_cli, tmp_path):
    code, out, err = run_cli("table", ACUTE_Q3_DATA, *Q3)
    assert code == 0
    lines = err.splitlines()
    assert lines[0] == "nhs-league: note: the input is SYNTHETIC data: results are not about real trusts"
    # the synthetic acute file alone holds part of the population NHS England scores some metrics across
    assert len(lines) == 2 and "scored within the trust type" in lines[1]
    existing = tmp_path / "exists.csv"
    existing.write_text("keep\n")
    for command in ("table", "ranks"):
        code, out, err = run_cli(command, ACUTE_Q3_DATA, *Q3, "--output", existing)
        one_error_line(code, out, err, "exists: pass --force", file=existing)
    assert existing.read_text() == "keep\n"


# ---------------------------------------------------------------------------------------------
# --output
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["table", "ranks"])
def test_output_onto_a_folder(run_cli, tmp_path, command):
    # was: IsADirectoryError traceback after the whole computation
    code, out, err = run_cli(command, ACUTE_Q3_DATA, *Q3, "--output", tmp_path, "--force")
    one_error_line(code, out, err, "is a folder: give a file name for --output", file=tmp_path)


def test_output_below_a_file(run_cli, tmp_path):
    f = tmp_path / "a-file.csv"
    f.write_text("x\n")
    code, out, err = run_cli("table", ACUTE_Q3_DATA, *Q3, "--output", f / "t.csv")
    one_error_line(code, out, err, f"{f} is a file, not a folder")


def test_sensitivity_output_below_a_file(run_cli, tmp_path):
    # was: a traceback from mkdir after the whole analysis had run
    f = tmp_path / "a-file.csv"
    f.write_text("x\n")
    code, out, err = run_cli("sensitivity", *AMB, "--scenarios", "5", "--sobol-n", "8", "--output", f / "sub")
    one_error_line(code, out, err, f"{f} is a file, not a folder")


def test_output_into_a_folder_that_does_not_exist_yet_is_created(run_cli, tmp_path):
    target = tmp_path / "new" / "sub" / "t.csv"
    code, out, err = run_cli("table", ACUTE_Q3_DATA, *Q3, "--output", target)
    assert code == 0, err
    code, direct, _ = run_cli("table", ACUTE_Q3_DATA, *Q3)
    assert target.read_text() == direct


def test_atomic_write_onto_a_folder_is_an_output_error(tmp_path):
    with pytest.raises(OutputError, match="is a folder"):
        atomic_write_text(tmp_path, "x")


# ---------------------------------------------------------------------------------------------
# Method presets and scenario spaces
# ---------------------------------------------------------------------------------------------

BAD_YAML = "name: x\nscoring: [unclosed\n  bad: : :\n"


def test_invalid_yaml_preset_is_one_line_with_line_and_column(run_cli, tmp_path):
    # was: PyYAML's multi-line message (8 lines on standard error)
    p = tmp_path / "bad.yaml"
    p.write_text(BAD_YAML)
    code, out, err = run_cli("table", ACUTE_Q3_DATA, *Q3, "--method", p)
    one_error_line(code, out, err, f"{p}, line 3, column 6: not valid YAML:")
    with pytest.raises(MethodError, match=r"line 3, column 6: not valid YAML"):
        sens.load_space(p)


def test_a_folder_as_method_or_space(run_cli, tmp_path):
    # was: IsADirectoryError traceback
    code, out, err = run_cli("table", ACUTE_Q3_DATA, *Q3, "--method", tmp_path)
    one_error_line(code, out, err, "is a folder, not a method preset file", file=tmp_path)
    with pytest.raises(MethodError, match="is a folder, not a scenario space file"):
        sens.load_space(tmp_path)


def test_an_unknown_method_name(run_cli):
    code, out, err = run_cli("table", ACUTE_Q3_DATA, *Q3, "--method", "nof-2030")
    one_error_line(code, out, err, "no method preset 'nof-2030'", "nof-2025-26")


def test_a_preset_that_is_not_text(tmp_path):
    p = tmp_path / "binary.yaml"
    p.write_bytes(b"\xff\xfe\x00\x8f")
    with pytest.raises(MethodError, match="not a text file in UTF-8"):
        load_method(p)


# ---------------------------------------------------------------------------------------------
# Numeric options
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, fragment", [
    (["--draws", "-5"], "--draws must be at least 2, got -5"),
    (["--coverage", "1.5"], "--coverage must be between 0 and 1"),
    (["--coverage", "nan"], "--coverage must be between 0 and 1"),
    (["--seed", "-1"], "--seed must be 0 or more"),
])
def test_bad_ranks_options(run_cli, args, fragment):
    code, out, err = run_cli("ranks", *AMB, *args)
    one_error_line(code, out, err, fragment)


@pytest.mark.parametrize("args, fragment", [
    (["--scenarios", "0"], "--scenarios must be at least 1"),
    (["--sobol-n", "0"], "Sobol base sample size must be a power of 2"),  # was: 0 silently meant the default
    (["--sobol-n", "-8"], "Sobol base sample size must be a power of 2"),  # was: a traceback
    (["--sobol-n", "3"], "Sobol base sample size must be a power of 2"),
    (["--oat-draws", "0"], "--oat-draws must be at least 1"),  # was: accepted, no random-weight rows
    (["--seed", "-2"], "the seed must be a whole number, 0 or more"),  # was: a traceback
    (["--space", "nope"], "no scenario space 'nope'"),
])
def test_bad_sensitivity_options(run_cli, tmp_path, args, fragment):
    code, out, err = run_cli("sensitivity", *AMB, "--output", tmp_path / "s", "--scenarios", "5", *args)
    one_error_line(code, out, err, fragment)
    assert not (tmp_path / "s").exists()


def test_library_rejects_the_same_options(tmp_path):
    data = sens.from_panel(sens.example_panel(12, seed=1), load_method("nof-2025-26"))
    with pytest.raises(MethodError, match="power of 2"):
        sens.sobol_analysis(data, "default", 0)
    with pytest.raises(MethodError, match="at least 1"):
        sens.one_at_a_time(data, "default", draws=0)
    with pytest.raises(MethodError, match="seed"):
        sens.monte_carlo(data, "default", 5, seed=-1)


def test_sensitivity_on_a_single_trust(run_cli, tmp_path):
    # was: numpy RuntimeWarnings on standard error, then "the output is missing (NaN) ..."
    one = tmp_path / "one-q3-25-26.csv"
    raw = pd.read_csv(AMB_Q3_DATA, dtype=str, keep_default_na=False)
    raw[raw["Trust_code"] == raw["Trust_code"].iloc[0]].to_csv(one, index=False)
    code, out, err = run_cli("sensitivity", one, "--quarter", "2025Q3", "--trust-type", "ambulance",
                             "--scenarios", "5", "--sobol-n", "8", "--output", tmp_path / "s")
    one_error_line(code, out, err, "at least 2 trusts", "has 1 ambulance trust", file=one, column="Trust_code")


@pytest.mark.parametrize("argv, message", [
    (["table"], "nhs-league table: error: the following arguments are required: INPUT, --quarter, --trust-type"),
    (["table", str(ACUTE_Q3_DATA), "--trust-type", "acute"],
     "nhs-league table: error: the following arguments are required: --quarter"),
    (["tabel", str(ACUTE_Q3_DATA)], "nhs-league: error: argument COMMAND: invalid choice: 'tabel'"),
    ([], "nhs-league: error: the following arguments are required: COMMAND"),
    (["ranks", str(AMB_Q3_DATA), "--quarter", "2025Q3", "--trust-type", "ambulance", "--source", "bogus"],
     "nhs-league ranks: error: argument --source: invalid choice: 'bogus'"),
    (["sensitivity", str(AMB_Q3_DATA), "--quarter", "2025Q3", "--trust-type", "ambulance", "--scenarios", "abc"],
     "nhs-league sensitivity: error: argument --scenarios: invalid int value: 'abc'"),  # was usage + error, 8 lines
])
def test_usage_errors_are_one_line(capsys, argv, message):
    # argparse printed the usage block before the error; now one line pointing at --help
    from nhs_league.cli import main
    with pytest.raises(SystemExit) as ei:
        main(argv)
    assert ei.value.code == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert captured.out == "" and len(lines) == 1, captured.err
    assert lines[0].startswith(message) and lines[0].endswith("--help')"), lines[0]


# ---------------------------------------------------------------------------------------------
# Determinism: the same input and seed give the same bytes; quarter spellings are one quarter
# ---------------------------------------------------------------------------------------------

def test_table_is_byte_identical_and_quarter_spellings_agree(run_cli):
    outs = [run_cli("table", ACUTE_Q3_DATA, ACUTE_Q3_LEAGUE, "--quarter", q, "--trust-type", "acute")
            for q in ("2025Q3", "Q3 2025/26", "2025Q3")]
    assert all(code == 0 for code, _, _ in outs)
    assert outs[0][1] == outs[1][1] == outs[2][1]
    assert len(outs[0][1].splitlines()) == 135


@pytest.mark.parametrize("source", ["metrics", "sampling"])
def test_ranks_is_byte_identical_under_a_seed(run_cli, source):
    def run(quarter, seed):
        code, out, err = run_cli("ranks", ACUTE_Q3_DATA, "--quarter", quarter, "--trust-type", "acute",
                                 "--draws", "100", "--seed", seed, "--source", source)
        assert code == 0, err
        return out
    a, b, c = run("2025Q3", 4), run("Q3 2025/26", 4), run("2025Q3", 5)
    assert a == b
    assert a != c
    assert set(table_of(a)["Source"]) == {source}
