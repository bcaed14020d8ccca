"""Bad input: a specific InputError naming file, row and column; the CLI prints one line, exits 2.

Each case has a library-level test (the function that meets the problem raises InputError
with ``file``, ``row`` and ``column`` set) and a CLI test (``nhs-league table`` returns 2 and
writes exactly one line, without a traceback, naming the same place).
"""

import zipfile

import pytest

from conftest import DATA_HEADER_Q3, data_row, league_row
from nhs_league.errors import InputError
from nhs_league.io import read_data_file, read_inputs, read_league_file, select_quarter
from nhs_league.pipeline import build_panel

GOOD = [("R8", "OF0023", 55.0), ("R9", "OF0023", 65.0)]


# ---- builders: one per case; each returns the path of a file with exactly that problem ----

def missing_column(write_csv, **_):
    header = [c for c in DATA_HEADER_Q3 if c != "Value"]
    return write_csv("missing-q3-25-26.csv", header, [data_row("R1", "OF0023", 60)])


def empty_file(tmp_path, **_):
    p = tmp_path / "empty-q3-25-26.csv"
    p.write_bytes(b"")
    return p


def header_only(write_csv, **_):
    return write_csv("header-only-q3-25-26.csv", DATA_HEADER_Q3, [])


def unparseable_number(data_file, **_):
    return data_file([*GOOD, ("R1", "OF0023", "6O.5")])


def percentage_over_100(data_file, **_):
    return data_file([*GOOD, ("R1", "OF0023", 100.5)])


def negative_count(data_file, **_):
    return data_file([*GOOD, data_row("R1", "OF0020", -1, units="count")])


def duplicate_rows(data_file, **_):
    return data_file([*GOOD, ("R1", "OF0023", 60), ("R1", "OF0023", 61)])


def two_trust_types(data_file, **_):
    return data_file([*GOOD, ("R1", "OF0061", 7.0), data_row("R1", "OF0084", 7.1, trust_type="ambulance")])


def unknown_trust_type(data_file, **_):
    return data_file([*GOOD, data_row("R1", "OF0023", 60, trust_type="Hospice trust")])


def bad_quarter_label(data_file, **_):
    return data_file([*GOOD, data_row("R1", "OF0023", 60, quarter="Q3 of 2025")])


def quarter_not_held(data_file, **_):
    return data_file([data_row(c, m, v, quarter="Q2 2025/26") for c, m, v in GOOD])


def trust_without_scored_metrics(data_file, **_):
    # R1's only acute metric is suppressed; OF0063 is a mental-health metric, not scored for acute trusts
    return data_file([*GOOD, ("R1", "OF0023", "*"), ("R1", "OF0063", 3.0)])


def xlsx_as_csv(tmp_path, **_):
    p = tmp_path / "nhs-oversight-framework-acute-trust-data-q3-25-26.csv"
    with zipfile.ZipFile(p, "w") as z:  # a real (minimal) zip container, as .xlsx files are
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
    assert p.read_bytes()[:4] == b"PK\x03\x04"
    return p


# case -> (builder, expected row, expected column, a fragment of the message)
CASES = {
    "missing_column": (missing_column, 1, "Value", "required column 'Value' is missing"),
    "empty_file": (empty_file, None, None, "the file is empty"),
    "header_only": (header_only, 2, None, "header but no rows"),
    "unparseable_number": (unparseable_number, 4, "Value", "not a number: '6O.5'"),
    "percentage_over_100": (percentage_over_100, 4, "Value", "outside the possible range [0, 100]"),
    "negative_count": (negative_count, 4, "Value", "value -1 is outside the possible range [0, inf]"),
    "duplicate_rows": (duplicate_rows, 5, "Metric_ID", "duplicate metric row"),
    "two_trust_types": (two_trust_types, 5, "Trust_type", "listed under two trust types"),
    "unknown_trust_type": (unknown_trust_type, 4, "Trust_type", "unknown trust type 'Hospice trust'"),
    "bad_quarter_label": (bad_quarter_label, 4, "Quarter", "cannot parse quarter label 'Q3 of 2025'"),
    "quarter_not_held": (quarter_not_held, None, "Quarter", "quarter Q3 2025/26 (2025Q3) is not in the input"),
    "trust_without_scored_metrics": (trust_without_scored_metrics, 4, "Value", "trust R1 (Trust R1) has no scored metric"),
    "xlsx_as_csv": (xlsx_as_csv, None, None, "Excel workbook, not a CSV file"),
}


@pytest.fixture
def make(tmp_path, write_csv, data_file):
    def _make(case):
        return CASES[case][0](tmp_path=tmp_path, write_csv=write_csv, data_file=data_file)
    return _make


def _check(err: InputError, path, case):
    _, row, column, fragment = CASES[case]
    assert err.file == str(path)
    assert err.row == row
    assert err.column == column
    assert fragment in err.message


# ---- library level: the function that meets the problem raises the specific error ----

def test_missing_required_column(make):
    p = make("missing_column")
    with pytest.raises(InputError) as ei:
        read_data_file(p)
    _check(ei.value, p, "missing_column")


def test_empty_file_zero_bytes(make):
    p = make("empty_file")
    with pytest.raises(InputError) as ei:
        read_data_file(p)
    _check(ei.value, p, "empty_file")


def test_empty_file_header_only(make):
    p = make("header_only")
    with pytest.raises(InputError) as ei:
        read_data_file(p)
    _check(ei.value, p, "header_only")


def test_unparseable_number(make):
    p = make("unparseable_number")
    with pytest.raises(InputError) as ei:
        read_data_file(p)
    _check(ei.value, p, "unparseable_number")


def test_percentage_over_100(make):
    p = make("percentage_over_100")
    with pytest.raises(InputError) as ei:
        read_data_file(p)
    _check(ei.value, p, "percentage_over_100")


def test_negative_count(make):
    p = make("negative_count")
    with pytest.raises(InputError) as ei:
        read_data_file(p)
    _check(ei.value, p, "negative_count")


def test_duplicate_trust_metric_quarter_rows(make):
    p = make("duplicate_rows")
    with pytest.raises(InputError) as ei:
        read_data_file(p)
    _check(ei.value, p, "duplicate_rows")
    assert "also on row 4" in ei.value.message


def test_the_same_metric_in_two_quarters_is_not_a_duplicate(data_file):
    t = read_data_file(data_file([data_row("R1", "OF0023", 60, quarter="Q2 2025/26"),
                                  data_row("R1", "OF0023", 61, quarter="Q3 2025/26")]))
    assert t["quarter"].tolist() == ["2025Q2", "2025Q3"]


def test_trust_under_two_trust_types(make):
    p = make("two_trust_types")
    with pytest.raises(InputError) as ei:
        read_data_file(p)
    _check(ei.value, p, "two_trust_types")


def test_trust_under_two_trust_types_across_a_data_and_a_league_file(data_file, league_file):
    d = data_file(GOOD)
    lg = league_file([league_row("R9", 2.1, "No", trust_type="ambulance")])
    with pytest.raises(InputError, match="listed under two trust types") as ei:
        read_inputs([d, lg])
    assert ei.value.column == "Trust_type" and ei.value.row == 2 and ei.value.file in (str(d), str(lg))


def test_unknown_trust_type(make):
    p = make("unknown_trust_type")
    with pytest.raises(InputError) as ei:
        read_data_file(p)
    _check(ei.value, p, "unknown_trust_type")


def test_quarter_label_that_does_not_parse(make):
    p = make("bad_quarter_label")
    with pytest.raises(InputError) as ei:
        read_data_file(p)
    _check(ei.value, p, "bad_quarter_label")


def test_quarter_asked_for_that_the_file_does_not_hold(make):
    p = make("quarter_not_held")
    inputs = read_inputs([p])
    with pytest.raises(InputError) as ei:
        select_quarter(inputs, "Q3 2025/26")
    _check(ei.value, p, "quarter_not_held")
    assert "it holds Q2 2025/26" in ei.value.message


def test_quarter_asked_for_that_does_not_parse(make):
    inputs = read_inputs([make("quarter_not_held")])
    with pytest.raises(InputError, match="cannot parse quarter label 'third quarter'") as ei:
        select_quarter(inputs, "third quarter")
    assert ei.value.column == "--quarter"


def test_trust_with_no_scored_metrics(make):
    p = make("trust_without_scored_metrics")
    inputs = read_inputs([p])
    assert inputs.unknown_metrics == []
    with pytest.raises(InputError) as ei:
        build_panel(inputs, "2025Q3", "acute")
    _check(ei.value, p, "trust_without_scored_metrics")


def test_xlsx_given_as_csv(make):
    p = make("xlsx_as_csv")
    with pytest.raises(InputError) as ei:
        read_data_file(p)
    _check(ei.value, p, "xlsx_as_csv")


def test_league_file_problems_name_row_and_column(league_file):
    cases = [
        (league_row("R1", 4.5, "No"), "Average_score", "outside [1, 4]"),
        (league_row("R1", 2.0, "Maybe"), "Trust_in_financial_deficit", "expected Yes or No"),
        (league_row("R1", 2.0, "No", segment="7"), "Segment", "segment 7 is not 1-5"),
        (league_row("R1", 2.0, "No", avg_range="about two"), "Likely_range_of_average_score", "cannot read range"),
        (league_row("R1", "", "No"), "Average_score", "average score is blank"),
    ]
    for i, (row, column, fragment) in enumerate(cases):
        p = league_file([league_row("R0", 2.0, "No"), row], name=f"lt{i}-q3-25-26.csv")
        with pytest.raises(InputError) as ei:
            read_league_file(p)
        assert (ei.value.file, ei.value.row, ei.value.column) == (str(p), 3, column)
        assert fragment in ei.value.message


# ---- CLI: exit 2, exactly one line on stderr, no traceback ----

@pytest.mark.parametrize("case", sorted(CASES))
def test_cli_prints_one_line_and_exits_2(case, make, run_cli):
    p = make(case)
    code, out, err = run_cli("table", p, "--quarter", "2025Q3", "--trust-type", "acute")
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    _, row, column, fragment = CASES[case]
    line = lines[0]
    assert line.startswith("nhs-league: error: ") and str(p) in line and fragment in line
    if row is not None:
        assert f"row {row}" in line
    if column is not None:
        assert f"column '{column}'" in line


def test_cli_missing_input_file(run_cli, tmp_path):
    code, out, err = run_cli("table", tmp_path / "nope.csv", "--quarter", "2025Q3", "--trust-type", "acute")
    assert code == 2 and len(err.splitlines()) == 1 and "file not found" in err and "Traceback" not in err


def test_cli_unknown_trust_type_option(run_cli, data_file):
    code, out, err = run_cli("table", data_file(GOOD), "--quarter", "2025Q3", "--trust-type", "hospice")
    assert code == 2 and err.splitlines() == [
        "nhs-league: error: option --trust-type: unknown trust type 'hospice'; use acute, "
        "mental-health-and-community (alias non-acute), ambulance, icb (alias integrated-care-board)"]


# ---- validate: every problem, one per line ----

def test_validate_lists_every_problem_and_exits_2(data_file, run_cli):
    rows = [data_row("R1", "OF0023", "6O"),                      # row 2: not a number
            data_row("R2", "OF0023", 150),                       # row 3: percentage over 100
            data_row("R3", "OF0023", 50, trust_type="Hospice"),  # row 4: unknown trust type
            data_row("R4", "OF0023", 50), data_row("R4", "OF0023", 51),  # row 6: duplicate of row 5
            data_row("R5", "OF0023", 40, quarter="Q9 2025/26")]  # row 7: bad quarter label
    p = data_file(rows)
    code, out, err = run_cli("validate", p)
    assert code == 2
    lines = out.splitlines()
    expected = {(2, "Value", "not a number"), (3, "Value", "outside the possible range"),
                (4, "Trust_type", "unknown trust type"), (6, "Metric_ID", "duplicate metric row"),
                (7, "Quarter", "cannot parse quarter label")}
    for row, column, fragment in expected:
        assert any(f"{p}, row {row}, column '{column}': " in ln and fragment in ln for ln in lines), (row, out)
    assert all(ln.startswith(str(p)) for ln in lines)
    assert f"{len(lines)} problem(s) in 1 file(s)" in err
    assert "Traceback" not in out + err


def test_validate_exits_0_on_a_clean_file(data_file, run_cli):
    p = data_file([("R1", "OF0023", 60), ("R2", "OF0023", 70), ("R1", "OF0061", 7), ("R2", "OF0061", 6.5)])
    code, out, err = run_cli("validate", p)
    assert code == 0
    assert out == ""
    assert err.strip() == "ok: 1 file(s), 4 rows, quarters 2025Q3"


def test_numerator_above_denominator_for_a_percentage(data_file):
    header = DATA_HEADER_Q3 + ["Numerator", "Denominator"]
    p = data_file([data_row("R1", "OF0023", 60, Numerator="6", Denominator="10"),
                   data_row("R2", "OF0023", 60, Numerator="12", Denominator="10")], header=header)
    with pytest.raises(InputError) as ei:
        read_data_file(p)
    assert (ei.value.file, ei.value.row, ei.value.column) == (str(p), 3, "Numerator")
    assert ei.value.message == "impossible numerator/denominator 12/10"
