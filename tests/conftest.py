"""Shared fixtures: tiny official-format CSV files, the real-data location, a CLI runner.

Tiny files are written into ``tmp_path`` with the official NHS England column names
(nof-method.md §2), so the readers are exercised exactly as on published files.
"""

from __future__ import annotations

import csv
import io as _io
from pathlib import Path

import pytest

from nhs_league.catalogue import load_catalogue

# ../shared beside the project folder (tests/ -> project -> its parent).
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_DATA_RAW = SHARED / "data-raw"

# Official data-file columns: Q3 variant (Quarter column) and Q1 variant (no Quarter column).
DATA_HEADER_Q3 = [
    "Region", "Trust_type", "Trust_subtype", "Trust_code", "Trust_name", "Domain", "Sub-domain",
    "Metric_ID", "Metric_description", "Reporting_date", "Units", "Value", "Median_value",
    "Lower_quartile", "Upper_quartile", "Rank", "Quarter",
]
DATA_HEADER_Q1 = [c for c in DATA_HEADER_Q3 if c != "Quarter"]
LEAGUE_HEADER_Q3 = [
    "Region", "Trust_type", "Trust_subtype", "Trust_code", "Trust_name", "Quarter", "Average_score",
    "Likely_range_of_average_score", "Segment", "Trust_in_financial_deficit", "Rank",
    "Likely_range_of_rank",
]
LEAGUE_HEADER_Q1 = [("Reporting_date" if c == "Quarter" else c) for c in LEAGUE_HEADER_Q3]

TYPE_LABEL = {
    "acute": "Acute trust",
    "mental-health-and-community": "Mental health and community trust",
    "ambulance": "Ambulance trust",
}


def csv_bytes(header, rows, *, bom: bool = False, crlf: bool = False) -> bytes:
    """CSV text for ``header`` and ``rows`` (lists in header order, or dicts by column)."""
    buf = _io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n" if crlf else "\n")
    w.writerow(header)
    for r in rows:
        w.writerow([r.get(c, "") for c in header] if isinstance(r, dict) else list(r))
    data = buf.getvalue().encode("utf-8")
    return (b"\xef\xbb\xbf" + data) if bom else data


@pytest.fixture
def write_csv(tmp_path):
    """``write_csv(name, header, rows, bom=False, crlf=False) -> Path`` in ``tmp_path``."""

    def _write(name, header, rows, *, bom=False, crlf=False) -> Path:
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(csv_bytes(header, rows, bom=bom, crlf=crlf))
        return p

    return _write


def data_row(code, metric_id, value, *, trust_type="acute", quarter="Q3 2025/26", units=None,
             subtype="Acute - Large", name=None, **extra) -> dict:
    """One official data-file row as a dict; ``units`` defaults to the catalogue's units."""
    cat = load_catalogue()
    if units is None:
        units = cat.at[metric_id, "units"] if metric_id in cat.index else ""
    row = {
        "Region": "London", "Trust_type": TYPE_LABEL.get(trust_type, trust_type), "Trust_subtype": subtype,
        "Trust_code": code, "Trust_name": name or f"Trust {code}", "Domain": "", "Sub-domain": "",
        "Metric_ID": metric_id, "Metric_description": f"metric {metric_id}", "Reporting_date": "Dec-25",
        "Units": units, "Value": value if isinstance(value, str) else repr(float(value)), "Median_value": "",
        "Lower_quartile": "", "Upper_quartile": "", "Rank": "", "Quarter": quarter,
    }
    row.update(extra)
    return row


@pytest.fixture
def data_file(write_csv):
    """``data_file(rows, name=..., header=DATA_HEADER_Q3, **kw) -> Path``.

    ``rows`` are dicts from :func:`data_row` or ``(code, metric_id, value)`` tuples.
    """

    def _make(rows, *, name="nhs-oversight-framework-acute-trust-data-q3-25-26-v2.csv",
              header=None, bom=False, crlf=False, **kw) -> Path:
        dicts = [r if isinstance(r, dict) else data_row(*r, **kw) for r in rows]
        return write_csv(name, header or DATA_HEADER_Q3, dicts, bom=bom, crlf=crlf)

    return _make


def league_row(code, average, deficit="No", *, trust_type="acute", quarter="Q3 2025/26", segment="",
               rank="", avg_range="", rank_range="", name=None) -> dict:
    """One official league-table row as a dict."""
    return {
        "Region": "London", "Trust_type": TYPE_LABEL.get(trust_type, trust_type),
        "Trust_subtype": "Acute - Large", "Trust_code": code, "Trust_name": name or f"Trust {code}",
        "Quarter": quarter, "Reporting_date": quarter, "Average_score": average if isinstance(average, str)
        else f"{average:.2f}", "Likely_range_of_average_score": avg_range, "Segment": segment,
        "Trust_in_financial_deficit": deficit, "Rank": rank, "Likely_range_of_rank": rank_range,
    }


@pytest.fixture
def league_file(write_csv):
    """``league_file(rows, name=..., header=LEAGUE_HEADER_Q3) -> Path``; rows from :func:`league_row`
    or ``(code, average, deficit)`` tuples."""

    def _make(rows, *, name="nhs-oversight-framework-acute-trust-league-table-q3-25-26-v2.csv",
              header=None, **kw) -> Path:
        dicts = [r if isinstance(r, dict) else league_row(*r, **kw) for r in rows]
        return write_csv(name, header or LEAGUE_HEADER_Q3, dicts)

    return _make


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data-raw`` (real published figures); skips the test when it is absent."""
    if not SHARED_DATA_RAW.is_dir():
        pytest.skip(f"real data not available: {SHARED_DATA_RAW} is absent (the project's "
                    "../shared folder holds the published NOF figures; tests never copy them)")
    return SHARED_DATA_RAW


@pytest.fixture(scope="session")
def q3_extract(shared_data):
    """The third-party Q3 2025/26 extract read by :func:`nhs_league.realdata.read_extract`."""
    from nhs_league.realdata import EXTRACT_FILE, EXTRACT_FOLDER, read_extract

    path = shared_data / EXTRACT_FOLDER / EXTRACT_FILE
    if not path.exists():  # ../shared is there, so its data must be: a moved file is a failure, not a skip
        pytest.fail(f"{shared_data} is present but the real-data extract {path} is not: the real-data "
                    "tests skip only when ../shared/data-raw is absent")
    return read_extract(path)


@pytest.fixture
def run_cli(capsys):
    """``run_cli(*argv) -> (exit code, stdout, stderr)`` through ``nhs_league.cli.main``."""
    from nhs_league.cli import main

    def _run(*argv):
        capsys.readouterr()
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return _run
