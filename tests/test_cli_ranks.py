"""End-to-end tests of ``nhs-league ranks`` on small hand-made files in the official CSV format."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nhs_league.cli import main
from nhs_league.methods import load_method

HEADER = ["Region", "Trust_type", "Trust_subtype", "Trust_code", "Trust_name", "Metric_ID", "Units", "Value",
          "Quarter", "Numerator", "Denominator"]
BASE_COLUMNS = [
    "Quarter", "Trust_code", "Trust_name", "Trust_type", "Average_score", "Average_score_unrounded", "Average_se",
    "Segment", "Rank", "Average_rank", "Rank_lower", "Rank_upper", "Interval", "Coverage", "N_significantly_better",
    "N_significantly_worse", "Next_by_average_code", "Distinguishable_from_next_by_average", "League_rank_lower",
    "League_rank_upper", "N_surely_ahead_in_league", "N_surely_behind_in_league", "Next_in_league_code",
    "Distinguishable_from_next_in_league", "Bootstrap_range_rank_low", "Bootstrap_range_rank_high", "Median_rank",
    "Expected_rank",
    "P_segment_1", "P_segment_2", "P_segment_3", "P_segment_4", "P_other_segment", "Nearest_cutoff",
    "Cutoff_distance_se",
]
TAIL = ["Rankability", "Separation_places", "Headline", "Source", "Method", "Data"]
N = 10


def write_data(path, *, counts=True, synthetic=False):
    rng = np.random.default_rng(1)
    header = HEADER if counts else HEADER[:-2]
    header = header + (["Data_source"] if synthetic else [])
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for i in range(N):
            for mid in ("OF0023", "OF0010", "OF0011", "OF0082", "OF0061"):
                if mid == "OF0061":
                    value, num, den, units = f"{2 + 0.6 * i + rng.random():.3f}", "", "", "score"
                else:
                    den = int(rng.integers(300, 900))
                    num = int(round((0.55 + 0.03 * i + 0.02 * rng.random()) * den))
                    value, units = repr(num / den * 100), "percentage"
                row = ["North", "Acute trust", "", f"R{i:02d}", f"Trust {i}", mid, units, value, "Q3 2025/26"]
                row += [num, den] if counts else []
                row += ["SYNTHETIC"] if synthetic else []
                w.writerow(row)
    return path


def run(capsys, *args):
    code = main(["ranks", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def data(tmp_path):
    return write_data(tmp_path / "acute-data-q3-25-26.csv")


def test_columns_and_content(tmp_path, capsys, data):
    out = tmp_path / "ranks.csv"
    code, _, err = run(capsys, data, "--quarter", "2025Q3", "--trust-type", "acute", "--draws", "200",
                       "--output", out)
    assert code == 0, err
    t = pd.read_csv(out)
    assert list(t.columns) == BASE_COLUMNS + ["Average_se_jackknife"] + TAIL
    assert len(t) == N
    assert set(t["Source"]) == {"metrics"} and set(t["Data"]) == {"real"} and set(t["Interval"]) == {"simultaneous"}
    assert set(t["Method"]) == {load_method("nof-2025-26-q3").label} and set(t["Coverage"]) == {0.95}
    assert (t["Rank_lower"] <= t["Average_rank"]).all() and (t["Average_rank"] <= t["Rank_upper"]).all()
    assert (t["Bootstrap_range_rank_low"] <= t["Median_rank"]).all()
    assert (t["Median_rank"] <= t["Bootstrap_range_rank_high"]).all()
    assert (t["League_rank_lower"] <= t["Rank"]).all() and (t["Rank"] <= t["League_rank_upper"]).all()
    np.testing.assert_array_equal(t["N_significantly_better"], t["Rank_lower"] - 1)
    np.testing.assert_array_equal(t["N_surely_behind_in_league"], N - t["League_rank_upper"])
    np.testing.assert_allclose(t[[f"P_segment_{k}" for k in range(1, 5)]].sum(axis=1), 1.0)
    # rows in league order; the last trust by average has no next trust
    assert t["Rank"].is_monotonic_increasing
    assert t["Distinguishable_from_next_by_average"].isna().sum() == 1
    # the next trust in the league is the next row
    assert t["Next_in_league_code"].iloc[:-1].tolist() == t["Trust_code"].iloc[1:].tolist()
    assert "choice of metrics" in err
    assert t["Headline"].iloc[0].startswith("recomputed 1st of 10 (segment ")
    assert "95% confidence set for its league rank 1st–" in t["Headline"].iloc[0]
    assert not t["Headline"].str.contains("rank interval").any()


def test_same_seed_same_bytes(tmp_path, capsys, data):
    paths = [tmp_path / f"r{i}.csv" for i in range(3)]
    for p, seed in zip(paths, (5, 5, 6)):
        code, _, err = run(capsys, data, "--quarter", "Q3 2025/26", "--trust-type", "acute", "--draws", "100",
                           "--seed", seed, "--source", "sampling", "--output", p)
        assert code == 0, err
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()


def test_sampling_marginal_and_stdout(capsys, data):
    code, out, err = run(capsys, data, "--quarter", "2025Q3", "--trust-type", "acute", "--draws", "100",
                         "--source", "sampling", "--marginal", "--coverage", "0.9")
    assert code == 0, err
    t = pd.read_csv(pd.io.common.StringIO(out))
    assert list(t.columns) == BASE_COLUMNS + TAIL
    assert set(t["Source"]) == {"sampling"} and set(t["Interval"]) == {"marginal"} and set(t["Coverage"]) == {0.9}
    assert "resampled 4 of 5 metrics; fixed (no sampling model or no denominators): OF0061" in err


def test_sampling_without_denominators_fails_in_one_line(tmp_path, capsys):
    data = write_data(tmp_path / "nocounts-q3-25-26.csv", counts=False)
    code, out, err = run(capsys, data, "--quarter", "2025Q3", "--trust-type", "acute", "--source", "sampling")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "sampling source is unavailable" in err and "Denominator" in err
    # a denominators table makes it available
    den = tmp_path / "den.csv"
    den.write_text("Trust_code,Metric_ID,Denominator\n" + "".join(f"R{i:02d},OF0023,400\n" for i in range(N)))
    code, out, err = run(capsys, data, "--quarter", "2025Q3", "--trust-type", "acute", "--source", "sampling",
                         "--draws", "50", "--denominators", den)
    assert code == 0, err
    assert "resampled 1 of 5 metrics" in err


@pytest.mark.parametrize("args, message", [
    (["--coverage", "1.5"], "--coverage must be between 0 and 1"),
    (["--coverage", "abc"], "--coverage must be a number"),
    (["--draws", "0"], "--draws must be at least 2"),
    (["--seed", "x"], "--seed must be a whole number"),
    (["--denominators", "d.csv"], "--denominators is used only with --source sampling"),
    (["--trust-type", "dental"], "unknown trust type"),
])
def test_bad_options_exit_2_with_one_line(capsys, data, args, message):
    rest = list(args) + ([] if "--trust-type" in args else ["--trust-type", "acute"])
    code, out, err = run(capsys, data, "--quarter", "2025Q3", *rest)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err


def test_league_file_alone_is_refused(tmp_path, capsys):
    league = tmp_path / "league-q3-25-26.csv"
    league.write_text("Trust_type,Trust_code,Trust_name,Quarter,Average_score\n"
                      "Acute trust,R00,Trust 0,Q3 2025/26,2.10\nAcute trust,R01,Trust 1,Q3 2025/26,2.40\n")
    code, _, err = run(capsys, league, "--quarter", "2025Q3", "--trust-type", "acute")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "needs a NOF data file" in err


def test_likely_ranges_synthetic_label_and_force(tmp_path, capsys):
    data = write_data(tmp_path / "syn-q3-25-26.csv", synthetic=True)
    league = tmp_path / "syn-league-q3-25-26.csv"
    rows = ["Trust_type,Trust_code,Trust_name,Quarter,Average_score,Likely_range_of_average_score,Segment,"
            "Trust_in_financial_deficit,Rank,Likely_range_of_rank,Data_source"]
    rows += [f"Acute trust,R{i:02d},Trust {i},Q3 2025/26,2.5,2.2 - 2.8,3,No,{i + 1},{i + 1} - {i + 4},SYNTHETIC"
             for i in range(N)]
    league.write_text("\n".join(rows) + "\n")
    out = tmp_path / "o.csv"
    code, _, err = run(capsys, data, league, "--quarter", "2025Q3", "--trust-type", "acute", "--draws", "50",
                       "--output", out)
    assert code == 0, err
    t = pd.read_csv(out)
    for c in ("Published_rank", "Published_segment", "Likely_range_average_low", "Likely_range_average_high",
              "Likely_range_rank_low", "Likely_range_rank_high"):
        assert c in t.columns
    assert set(t["Data"]) == {"SYNTHETIC"}
    t = t.set_index("Trust_code").sort_index()
    pd.testing.assert_series_equal(t["Likely_range_rank_high"], pd.Series(np.arange(4, N + 4), index=t.index,
                                                                         name="Likely_range_rank_high"))
    assert t["Headline"].str.startswith("published ").all()
    code, _, err = run(capsys, data, league, "--quarter", "2025Q3", "--trust-type", "acute", "--draws", "50",
                       "--output", out)
    assert code == 2 and "--force" in err


SYNTHETIC_Q3 = Path(__file__).resolve().parent.parent / "data" / "synthetic" / "2025-26" / "q3-25-26"


def test_synthetic_year_sampling(tmp_path, capsys):
    files = sorted(SYNTHETIC_Q3.glob("*acute-trust*.csv")) if SYNTHETIC_Q3.exists() else []
    if len(files) < 2:
        pytest.skip("the synthetic year (data/synthetic/2025-26/q3-25-26) is not there")
    out = tmp_path / "syn.csv"
    code, _, err = run(capsys, *files, "--quarter", "2025Q3", "--trust-type", "acute", "--source", "sampling",
                       "--draws", "100", "--output", out)
    assert code == 0, err
    t = pd.read_csv(out)
    assert set(t["Data"]) == {"SYNTHETIC"} and "SYNTHETIC" in err
    assert {"Likely_range_rank_low", "Published_rank"} <= set(t.columns)
    ranked = t[t["Average_rank"].notna()]
    assert (ranked["Rank_lower"] <= ranked["Average_rank"]).all() and (ranked["Average_rank"] <= ranked["Rank_upper"]).all()
    assert "fixed (no sampling model or no denominators)" in err


def test_source_nhse_columns_beside_the_published_ranges_and_same_bytes(tmp_path, capsys):
    data = write_data(tmp_path / "syn-q3-25-26.csv", synthetic=True)
    league = tmp_path / "syn-league-q3-25-26.csv"
    rows = ["Trust_type,Trust_code,Trust_name,Quarter,Average_score,Likely_range_of_average_score,Segment,"
            "Trust_in_financial_deficit,Rank,Likely_range_of_rank,Data_source"]
    rows += [f"Acute trust,R{i:02d},Trust {i},Q3 2025/26,2.5,2.2 - 2.8,3,{'Yes' if i % 3 == 0 else 'No'},{i + 1},"
             f"{i + 1} - {i + 4},SYNTHETIC" for i in range(N)]
    league.write_text("\n".join(rows) + "\n")
    outs = []
    for k in range(2):
        out = tmp_path / f"nhse{k}.csv"
        code, _, err = run(capsys, data, league, "--quarter", "2025Q3", "--trust-type", "acute", "--source", "nhse",
                           "--draws", "400", "--output", out)
        assert code == 0, err
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    t = pd.read_csv(tmp_path / "nhse0.csv")
    cols = list(t.columns)
    nhse = ["NHSE_range_average_low", "NHSE_range_average_high", "NHSE_range_rank_low", "NHSE_range_rank_high"]
    assert cols[cols.index(nhse[0]):cols.index(nhse[0]) + 4] == nhse
    assert cols.index("Likely_range_rank_high") > cols.index(nhse[-1])  # the published ones beside ours
    assert set(t["Source"]) == {"nhse"} and "NHS England's likely-range method, reproduced" in err
    assert (t["NHSE_range_rank_low"] <= t["NHSE_range_rank_high"]).all()
    assert (t["NHSE_range_average_low"] <= t["Average_score"] + 0.005).all()
    # the headline quotes NHS England's published range where the league file has one
    assert t["Headline"].str.contains("NHS England's likely range ").all()
    assert t["Headline"].str.contains(", capped by the deficit rule").any() or not (t["Segment"] == 3).any()
