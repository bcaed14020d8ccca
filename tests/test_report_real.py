"""Report helpers on NHS England's official MH&C release (read in place from ../shared)."""

import numpy as np
import pandas as pd
import pytest

from nhs_league import report

pytestmark = pytest.mark.realdata
FOLDER = "nhse_nof_mhc_2025_26_q4_release"


@pytest.fixture(scope="module")
def ctx(shared_data):
    files = sorted((shared_data / FOLDER).glob("*.csv"))
    if len(files) != 2:
        pytest.fail(f"{shared_data} is present but {FOLDER} does not hold its two files")
    return report.prepare(quarter="2025Q4", trust_type="mental-health-and-community",
                          data=[str(p) for p in files], draws=50, seed=1)


def test_the_override_note_says_where_a_capped_trust_would_sit(ctx):
    t = ctx.table.set_index("Trust_code")
    capped = t[(t["Trust_in_financial_deficit"] == "Yes") & (t["Raw_segment"] < t["Segment"])]
    assert len(capped) > 0
    code = "RWR" if "RWR" in capped.index else capped.index[0]
    note = report.override_note(ctx, code)
    assert f"caps it at segment {int(t.loc[code, 'Segment'])}" in note
    assert f"segment {int(t.loc[code, 'Raw_segment'])}, at league rank" in note
    # the rank without the override: the trusts ahead of it by (raw segment, average), counted by hand
    key = list(zip(t["Raw_segment"].where(t["Trust_in_financial_deficit"] == "Yes", t["Segment"]), t["Average_score"]))
    me = (t.loc[code, "Raw_segment"], t.loc[code, "Average_score"])
    ahead = sum(1 for k, c in zip(key, t.index) if c != code and k < me)
    assert f"league rank {ahead + 1} instead of {int(t.loc[code, 'Rank'])}" in note
    free = t[t["Trust_in_financial_deficit"] == "No"].index[0]
    assert "does not apply" in report.override_note(ctx, free)


def test_raw_values_sit_beside_the_files_peer_median_and_quartiles(ctx, shared_data):
    raw = pd.read_csv(next((shared_data / FOLDER).glob("*data.csv")), encoding="utf-8-sig")
    q4 = raw[(raw["Quarter"] == "Q4 2025/26") & (raw["Metric_ID"] == "OF0084")].set_index("Trust_code")
    code = q4.index[0]
    tab = report.raw_value_table(ctx, code).set_index("metric")
    row = tab.loc["Staff survey: engagement"]
    assert row["value"] == q4.loc[code, "Value"]
    assert (row["peer_median"], row["peer_lower_quartile"], row["peer_upper_quartile"]) == tuple(
        q4.loc[code, ["Median_value", "Lower_quartile", "Upper_quartile"]].astype(float))
    assert row["score_from"] == "recomputed" and row["peers_with_a_value"] == 61
    assert tab.loc["Sickness absence rate", "score_from"] == "published"  # scored across trust types
    n_metrics = int(ctx.table.set_index("Trust_code").loc[code, "N_metrics"])
    assert np.isfinite(tab["score"]).sum() == n_metrics  # every score that enters its average, and no other
