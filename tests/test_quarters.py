"""Quarter and financial-year labels (nhs_league.quarters)."""

import pytest

from nhs_league.errors import InputError
from nhs_league.quarters import (Quarter, parse_financial_year, parse_quarter, quarter_from_path)


@pytest.mark.parametrize("label", [
    "Q3 2025/26", "2025Q3", "Q3 25/26", "2025/26 Q3", "Q3 2025-26", "25/26 Q3", "2025-Q3",
    "2025 Q3", "q3 2025/26", "  Q3 2025/26  ", "Q3 FY2025/26", "FY2025/26 Q3",
])
def test_every_documented_label_form_means_financial_year_2025_26_quarter_3(label):
    q = Quarter.parse(label)
    assert (q.year, q.q) == (2025, 3)
    assert q.code == "2025Q3"
    assert q.label == "Q3 2025/26"
    assert q.financial_year == "2025/26"


def test_code_is_financial_not_calendar_quarter():
    # Q1 of 2025/26 is April-June 2025; Q4 is January-March 2026 but still starts in 2025.
    assert Quarter.parse("Q4 2025/26") == Quarter(2025, 4)
    assert Quarter.parse("2025Q4").label == "Q4 2025/26"


@pytest.mark.parametrize("label", [
    "Q5 2025/26", "Q0 2025/26", "Q3 2025/27", "Q3 2025", "2025", "", "Quarter 3 2025/26", "Q3",
    "2025Q", "Dec-25", "Q3 2025/26 extra", "Apr 24 - Mar 25",
])
def test_bad_labels_are_value_errors(label):
    with pytest.raises(ValueError, match="cannot parse quarter label|consecutive"):
        Quarter.parse(label)


def test_parse_quarter_names_where_the_bad_label_came_from():
    with pytest.raises(InputError) as ei:
        parse_quarter("Q7 2025/26", file="x.csv", row=9, column="Quarter")
    e = ei.value
    assert (e.file, e.row, e.column) == ("x.csv", 9, "Quarter")
    assert "Q7 2025/26" in str(e)


def test_quarter_objects_pass_through_parse():
    q = Quarter(2024, 2)
    assert Quarter.parse(q) is q


@pytest.mark.parametrize("text, start", [("2025/26", 2025), ("25/26", 2025), ("2024-25", 2024),
                                         ("FY2026/27", 2026), ("1999/00", 1999)])
def test_financial_years(text, start):
    assert parse_financial_year(text) == start


@pytest.mark.parametrize("text", ["2025/27", "2025", "25", "Q3 2025/26", ""])
def test_bad_financial_years(text):
    with pytest.raises(ValueError):
        parse_financial_year(text)


@pytest.mark.parametrize("code, nxt, prev", [
    ("2025Q1", "2025Q2", "2024Q4"),
    ("2025Q3", "2025Q4", "2025Q2"),
    ("2025Q4", "2026Q1", "2025Q3"),
])
def test_next_and_previous_cross_financial_years(code, nxt, prev):
    q = Quarter.parse(code)
    assert q.next().code == nxt
    assert q.previous().code == prev
    assert q.next().previous() == q


def test_quarters_order_chronologically():
    qs = [Quarter.parse(s) for s in ["2026Q1", "Q4 2025/26", "2025Q1", "Q2 2025/26"]]
    assert [q.code for q in sorted(qs)] == ["2025Q1", "2025Q2", "2025Q4", "2026Q1"]
    assert str(Quarter(2025, 3)) == "2025Q3"


@pytest.mark.parametrize("path, code", [
    ("nhs-oversight-framework-acute-trust-data-q3-25-26-v2.csv", "2025Q3"),
    ("data/synthetic/2025Q1/nhs-oversight-framework-acute-trust-data.csv", "2025Q1"),
    ("league_q2_2025_26.csv", "2025Q2"),
    ("some/dir/file-2026Q1.csv", "2026Q1"),
])
def test_quarter_from_file_name(path, code):
    assert quarter_from_path(path).code == code


@pytest.mark.parametrize("path", ["nhs-oversight-framework-acute-trust-data.csv",
                                  "extract_2025_26.csv", "q3.csv"])
def test_no_quarter_in_file_name(path):
    assert quarter_from_path(path) is None
