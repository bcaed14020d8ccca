"""Readers of the official NOF files (nhs_league.io), on tiny hand-written files."""

import pickle
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import (DATA_HEADER_Q1, DATA_HEADER_Q3, LEAGUE_HEADER_Q1, data_row,
                      league_row)
from nhs_league import io as io_module
from nhs_league.catalogue import load_catalogue
from nhs_league.errors import InputError, Problems
from nhs_league.io import (canonical_header, file_kind, read_data_file,
                           read_inputs, read_league_file, read_raw_csv, select_quarter)
from nhs_league.methods import load_method
from nhs_league.pipeline import build_panel, league_table

TIDY_METRIC_COLUMNS = [
    "source_file", "source_row", "quarter", "region", "trust_type", "trust_subtype", "trust_code",
    "trust_name", "domain", "sub_domain", "metric_id", "metric_description", "reporting_date", "units",
    "value", "suppressed", "numerator", "denominator", "median_value", "lower_quartile",
    "upper_quartile", "published_rank",
]
TIDY_LEAGUE_COLUMNS = [
    "source_file", "source_row", "quarter", "region", "trust_type", "trust_subtype", "trust_code",
    "trust_name", "average_score", "average_range_low", "average_range_high", "segment", "in_deficit",
    "rank", "rank_range_low", "rank_range_high",
]


def test_data_file_becomes_the_documented_tidy_metric_table(data_file):
    p = data_file([("R1", "OF0023", 61.5), ("R2", "OF0023", 70.25)])
    t = read_data_file(p)
    assert list(t.columns) == TIDY_METRIC_COLUMNS
    assert t["source_row"].tolist() == [2, 3]
    assert t["trust_type"].tolist() == ["acute", "acute"]
    pd.testing.assert_series_equal(t["value"], pd.Series([61.5, 70.25], name="value"))
    assert t["quarter"].tolist() == ["2025Q3", "2025Q3"]
    assert not t.attrs["synthetic"]
    assert list(t.attrs["files"]) == [str(p)]


def test_q3_file_with_several_quarters_uses_only_the_quarter_asked_for(data_file):
    rows = [data_row("R1", "OF0023", 80, quarter="Q2 2025/26"), data_row("R2", "OF0023", 50, quarter="Q2 2025/26"),
            data_row("R1", "OF0023", 40, quarter="Q3 2025/26"), data_row("R2", "OF0023", 90, quarter="Q3 2025/26"),
            data_row("R3", "OF0023", 60, quarter="Q1 2025/26")]
    inputs = read_inputs([data_file(rows)])
    assert inputs.quarters == ["2025Q1", "2025Q2", "2025Q3"]
    assert select_quarter(inputs, "Q3 2025/26") == "2025Q3"
    panel = build_panel(inputs, "2025Q3", "acute")
    assert panel.trusts.index.tolist() == ["R1", "R2"]  # R3 only has a Q1 row
    np.testing.assert_array_equal(panel.values[:, panel.metric_ids.index("OF0023")], [40.0, 90.0])
    t = league_table(panel, load_method("nof-2025-26"))
    # in Q3 R2 (90%) is best on the single metric; in Q2 it would have been R1.
    assert t["Trust_code"].tolist() == ["R2", "R1"]
    assert t["Quarter"].unique().tolist() == ["2025Q3"]


def test_q1_variant_takes_the_quarter_from_the_file_name(data_file):
    rows = [data_row("R1", "OF0023", 60), data_row("R2", "OF0023", 70)]
    p = data_file(rows, header=DATA_HEADER_Q1, name="nof-acute-trust-data-q1-25-26.csv")
    t = read_data_file(p)
    assert "Quarter" not in t.columns and t["quarter"].tolist() == ["2025Q1", "2025Q1"]
    assert t["reporting_date"].tolist() == ["Dec-25", "Dec-25"]


def test_q1_variant_takes_the_quarter_from_the_folder_name(data_file):
    rows = [data_row("R1", "OF0023", 60), data_row("R2", "OF0023", 70)]
    p = data_file(rows, header=DATA_HEADER_Q1, name="2025Q1/nhs-oversight-framework-acute-trust-data.csv")
    assert read_data_file(p)["quarter"].tolist() == ["2025Q1", "2025Q1"]


def test_q1_variant_without_a_quarter_anywhere_holds_the_quarter_asked_for(data_file):
    rows = [data_row("R1", "OF0023", 60), data_row("R2", "OF0023", 70)]
    p = data_file(rows, header=DATA_HEADER_Q1, name="nhs-oversight-framework-acute-trust-data.csv")
    inputs = read_inputs([p])
    assert inputs.metrics["quarter"].tolist() == ["", ""]
    assert select_quarter(inputs, "2025Q1") == "2025Q1"
    panel = build_panel(inputs, "2025Q1", "acute")
    assert panel.quarter == "2025Q1" and panel.n == 2


def test_star_and_blank_are_suppressed_values(data_file):
    p = data_file([("R1", "OF0023", 60), ("R2", "OF0023", "*"), ("R3", "OF0023", ""), ("R4", "OF0023", 50),
                   ("R2", "OF0061", 7), ("R3", "OF0061", 6)])
    t = read_data_file(p)
    assert np.isnan(t["value"].iloc[1]) and np.isnan(t["value"].iloc[2])
    assert t["suppressed"].tolist() == [False, True, False, False, False, False]
    panel = build_panel(read_inputs([p]), "2025Q3", "acute")
    from nhs_league.pipeline import metric_scores
    s = metric_scores(panel, load_method("nof-2025-26"))
    j = panel.metric_ids.index("OF0023")
    # only R1 and R4 have a value: N = 2, so R1 (60%) scores 1 and R4 (50%) scores 4.
    np.testing.assert_array_equal(s[:, j], [1.0, np.nan, np.nan, 4.0])


@pytest.mark.parametrize("bad, good", [
    ("Metric_descripton", "Metric_description"), ("Trust_cod", "Trust_code"), ("Trsut_code", "Trust_code"),
    (" metric id ", "Metric_ID"), ("TRUST_NAME", "Trust_name"), ("Reporting date", "Reporting_date"),
    ("Lower_quartle", "Lower_quartile"), ("Quater", "Quarter"), ("Average_scor", "Average_score"),
    ("Sub-domain", "Sub-domain"), ("Sub_domain", "Sub-domain"),
])
def test_canonical_header_accepts_case_spacing_and_one_letter_slips(bad, good):
    assert canonical_header(bad) == good


@pytest.mark.parametrize("far", ["Trust_colum", "Trust colum", "Notes", "Commentary", "Metric", "Trust",
                                 "Rnk", "Organisation", "ICB_code"])
def test_headers_far_from_any_known_column_are_not_mapped(far):
    assert canonical_header(far) is None


def test_misspelt_headers_read_and_unknown_headers_ignored_not_mis_mapped(write_csv):
    header = ["Trust_type", "Trust_cod", "Trust_nme", "Metric_ID", "Metric_descripton", "Value",
              "Trust_colum", "Notes", "Quarter"]
    rows = [["Acute trust", "R1", "One", "OF0023", "RTT 18 weeks", "61", "XX", "see note", "Q3 2025/26"],
            ["Acute trust", "R2", "Two", "OF0023", "RTT 18 weeks", "58", "YY", "", "Q3 2025/26"]]
    p = write_csv("misspelt-q3-25-26.csv", header, rows)
    raw = read_raw_csv(p)
    assert list(raw.columns) == ["Trust_type", "Trust_code", "Trust_name", "Metric_ID", "Metric_description",
                                 "Value", "Quarter"]
    t = read_data_file(p)
    assert t["trust_code"].tolist() == ["R1", "R2"]
    assert t["trust_name"].tolist() == ["One", "Two"]
    assert t["metric_description"].tolist() == ["RTT 18 weeks"] * 2
    # the far-off columns left no trace anywhere in the table
    assert not t.isin(["XX", "YY", "see note"]).any().any()


def test_two_headers_standing_for_one_column_are_an_error(write_csv):
    from nhs_league.errors import InputError
    p = write_csv("x.csv", ["Trust_type", "Trust_code", "Trust_cod", "Trust_name", "Metric_ID", "Value"],
                  [["Acute trust", "R1", "R1", "One", "OF0023", "60"]])
    with pytest.raises(InputError, match="two columns stand for 'Trust_code'") as ei:
        read_raw_csv(p)
    assert ei.value.row == 1 and ei.value.column == "Trust_cod"


def test_bom_and_crlf_read_exactly_like_a_plain_file(data_file):
    rows = [data_row("R1", "OF0023", 60), data_row("R2", "OF0023", "*"), data_row("R3", "OF0061", 7.5)]
    plain = read_data_file(data_file(rows, name="plain-q3-25-26.csv"))
    bom = read_data_file(data_file(rows, name="bom-q3-25-26.csv", bom=True))
    crlf = read_data_file(data_file(rows, name="crlf-q3-25-26.csv", crlf=True))
    both = read_data_file(data_file(rows, name="both-q3-25-26.csv", bom=True, crlf=True))
    for other in (bom, crlf, both):
        pd.testing.assert_frame_equal(other.drop(columns="source_file"), plain.drop(columns="source_file"))
    assert bom.columns[0] == "source_file" and "Region" not in bom.columns
    assert crlf["quarter"].iloc[-1] == "2025Q3"  # no stray '\r' on the last column


def test_cp1252_file_is_read(tmp_path):
    p = tmp_path / "cp-q3-25-26.csv"
    p.write_bytes("Trust_type,Trust_code,Trust_name,Metric_ID,Value\n"
                  "Acute trust,R1,H\xf4pital,OF0023,60\n".encode("latin-1"))
    assert read_data_file(p)["trust_name"].tolist() == ["H\u00f4pital"]


def test_numerator_and_denominator_columns_are_kept(data_file):
    header = DATA_HEADER_Q3 + ["Numerator", "Denominator"]
    rows = [data_row("R1", "OF0023", 60, Numerator="600", Denominator="1000"),
            data_row("R2", "OF0023", 75, Numerator="1,500", Denominator="2,000"),
            data_row("R3", "OF0023", "*", Numerator="", Denominator="")]
    t = read_data_file(data_file(rows, header=header))
    pd.testing.assert_series_equal(t["numerator"], pd.Series([600.0, 1500.0, np.nan], name="numerator"))
    pd.testing.assert_series_equal(t["denominator"], pd.Series([1000.0, 2000.0, np.nan], name="denominator"))


def test_percent_signs_and_thousands_separators_in_values(data_file):
    t = read_data_file(data_file([("R1", "OF0023", "61.5%"), ("R2", "OF0020", "1,234")]))
    pd.testing.assert_series_equal(t["value"], pd.Series([61.5, 1234.0], name="value"))


def test_trust_type_labels_and_aliases(data_file):
    rows = [data_row("R1", "OF0061", 7, trust_type="Mental health and community trust"),
            data_row("R2", "OF0061", 7, trust_type="Non-acute hospital trust"),
            data_row("R3", "OF0061", 7, trust_type="AMBULANCE TRUST"),
            data_row("R4", "OF0061", 7, trust_type="Acute trust")]
    t = read_data_file(data_file(rows))
    assert t["trust_type"].tolist() == ["mental-health-and-community", "mental-health-and-community",
                                        "ambulance", "acute"]


def test_league_file_becomes_the_documented_tidy_league_table(league_file):
    rows = [league_row("R1", 2.06, "Yes", segment="3", rank="2", avg_range="1.9 - 2.2", rank_range="1 - 5"),
            league_row("R2", 1.95, "No", segment="1", rank="1", avg_range="1.8 \u2013 2.1", rank_range="1 to 3")]
    t = read_league_file(league_file(rows))
    assert list(t.columns) == TIDY_LEAGUE_COLUMNS
    pd.testing.assert_series_equal(t["average_score"], pd.Series([2.06, 1.95], name="average_score"))
    pd.testing.assert_series_equal(t["segment"], pd.Series([3, 1], name="segment", dtype="Int64"))
    pd.testing.assert_series_equal(t["rank"], pd.Series([2, 1], name="rank", dtype="Int64"))
    pd.testing.assert_series_equal(t["in_deficit"], pd.Series([True, False], name="in_deficit", dtype="boolean"))
    pd.testing.assert_series_equal(t["average_range_low"], pd.Series([1.9, 1.8], name="average_range_low"))
    pd.testing.assert_series_equal(t["average_range_high"], pd.Series([2.2, 2.1], name="average_range_high"))
    pd.testing.assert_series_equal(t["rank_range_low"], pd.Series([1, 1], name="rank_range_low", dtype="Int64"))
    pd.testing.assert_series_equal(t["rank_range_high"], pd.Series([5, 3], name="rank_range_high", dtype="Int64"))
    assert t["quarter"].tolist() == ["2025Q3", "2025Q3"]


def test_league_file_with_segment_rank_and_ranges_blank(league_file):
    t = read_league_file(league_file([("R1", 2.06, "Yes"), ("R2", 2.50, "")]))
    assert t["segment"].isna().all() and t["rank"].isna().all()
    assert t["rank_range_low"].isna().all() and np.isnan(t["average_range_high"]).all()
    pd.testing.assert_series_equal(t["in_deficit"], pd.Series([True, pd.NA], name="in_deficit", dtype="boolean"))


def test_league_file_with_segment_rank_and_ranges_absent(write_csv):
    p = write_csv("nhs-oversight-framework-acute-trust-league-table.csv",
                  ["Trust_type", "Trust_code", "Trust_name", "Average_score"],
                  [["Acute trust", "R1", "One", "2.06"], ["Acute trust", "R2", "Two", "2.51"]])
    t = read_league_file(p)
    assert list(t.columns) == TIDY_LEAGUE_COLUMNS
    assert t["segment"].isna().all() and t["rank"].isna().all() and t["in_deficit"].isna().all()
    assert t["quarter"].tolist() == ["", ""]
    pd.testing.assert_series_equal(t["average_score"], pd.Series([2.06, 2.51], name="average_score"))


def test_q1_league_file_reads_the_quarter_from_reporting_date(league_file):
    rows = [league_row("R1", 2.0, "No", quarter="Q1 2025/26")]
    t = read_league_file(league_file(rows, header=LEAGUE_HEADER_Q1, name="acute-league-table.csv"))
    assert t["quarter"].tolist() == ["2025Q1"]


def test_q1_league_file_with_a_date_in_reporting_date_falls_back_to_the_file_name(league_file):
    rows = [league_row("R1", 2.0, "No", quarter="Jun-25")]
    t = read_league_file(league_file(rows, header=LEAGUE_HEADER_Q1, name="acute-league-table-q1-25-26.csv"))
    assert t["quarter"].tolist() == ["2025Q1"]


def test_read_inputs_recognises_each_kind_from_its_header(data_file, league_file):
    d = data_file([("R1", "OF0023", 60), ("R2", "OF0023", 70)])
    lg = league_file([("R1", 2.0, "No"), ("R2", 2.4, "Yes")])
    assert file_kind(read_raw_csv(d)) == "data" and file_kind(read_raw_csv(lg)) == "league"
    inputs = read_inputs([lg, d])
    assert len(inputs.metrics) == 2 and len(inputs.league) == 2
    assert set(inputs.files) == {str(d), str(lg)}
    assert not inputs.synthetic and inputs.unknown_metrics == []


def test_a_data_file_is_not_accepted_as_a_league_file_and_vice_versa(data_file, league_file):
    from nhs_league.errors import InputError
    with pytest.raises(InputError, match="expected a league-table file"):
        read_league_file(data_file([("R1", "OF0023", 60)]))
    with pytest.raises(InputError, match="expected a NOF data file"):
        read_data_file(league_file([("R1", 2.0, "No")]))


def test_synthetic_files_are_marked(data_file):
    header = DATA_HEADER_Q3 + ["Data_source"]
    rows = [data_row("R1", "OF0023", 60, Data_source="SYNTHETIC"), data_row("R2", "OF0023", 50, Data_source="SYNTHETIC")]
    inputs = read_inputs([data_file(rows, header=header)])
    assert inputs.synthetic
    t = league_table(build_panel(inputs, "2025Q3", "acute"), load_method("nof-2025-26"))
    assert t["Data"].unique().tolist() == ["SYNTHETIC"]


# --- the fast path of read_raw_csv ------------------------------------------------------------
_CELL = st.text(alphabet=st.sampled_from(list("ab1.*- \t\xa0é")), max_size=4)


def test_a_quoted_file_is_read_by_the_csv_module(tmp_path):
    p = tmp_path / "q.csv"
    p.write_text('Trust_code,Trust_name\nR1,"Name, with comma"\n', encoding="utf-8")
    raw = read_raw_csv(p)
    pd.testing.assert_series_equal(raw["Trust_name"], pd.Series(["Name, with comma"], dtype="str", name="Trust_name"))


# --------------------------------------------------------------------------------------
# The parsed-input cache shared by the notebooks of one build
# --------------------------------------------------------------------------------------
