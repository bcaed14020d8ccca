"""Quarter on quarter: the paired bootstrap of metric-level changes, Holm and Benjamini-Hochberg."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nhs_league.sensitivity import example_panel
from nhs_league.uncertainty import bh_adjust, holm_adjust, paired_quarter_change


def test_holm_and_bh_by_hand():
    p = np.array([0.01, 0.04, 0.03, 0.20, np.nan])
    # Holm: sorted 0.01, 0.03, 0.04, 0.20 times 4, 3, 2, 1 -> 0.04, 0.09, 0.08 -> running max 0.09, 0.20
    np.testing.assert_allclose(holm_adjust(p), [0.04, 0.09, 0.09, 0.20, np.nan])
    # BH: p * m / rank = 0.04, 0.0533, 0.06, 0.20 -> running min from the top
    np.testing.assert_allclose(bh_adjust(p), [0.04, 0.0533333333, 0.0533333333, 0.20, np.nan])
    assert np.isnan(holm_adjust([np.nan])).all()


def _scores(n, m, seed, shift=None, noise=0.05):
    rng = np.random.default_rng(seed)
    base = rng.uniform(1, 4, (n, m))
    now = np.clip(base + rng.normal(0, noise, (n, m)) + (0 if shift is None else shift[:, None]), 1, 4)
    codes = [f"T{i:02d}" for i in range(n)]
    cols = [f"M{j}" for j in range(m)]
    return pd.DataFrame(base, index=codes, columns=cols), pd.DataFrame(now, index=codes, columns=cols)


def _panel(codes):
    p = example_panel(len(codes), seed=0)
    p.trusts.index = pd.Index(codes, name="trust_code")
    return p


def test_pairing_shrinks_the_standard_error_and_finds_a_real_move():
    shift = np.zeros(30)
    shift[0] = -0.8  # one trust really improved on every metric
    before, now = _scores(30, 12, seed=1, shift=shift)
    p = _panel(list(before.index))
    t = paired_quarter_change(p, p, "nof-2025-26", scores_now=now, scores_before=before, draws=2000, seed=0)
    assert (t["se"] < t["se_independent"]).all()
    assert t.loc["T00", "moved_holm"] == "better" and t.loc["T00", "moved_bh"] == "better"
    assert (t.drop("T00")["moved_holm"] == "").all()
    np.testing.assert_allclose(t["change"], now.mean(axis=1) - before.mean(axis=1))
    assert t.attrs["n_tests"] == 30 and t.attrs["expected_by_chance"] == pytest.approx(1.5)
    # the corrections never call more moves than the unadjusted tests
    assert (t["moved_holm"] != "").sum() <= (t["moved_bh"] != "").sum() <= (t["moved"] != "").sum()


def test_null_moves_are_controlled():
    """No trust moves; 200 trusts: about 5% unadjusted false moves, Holm almost never any."""
    before, now = _scores(200, 10, seed=4, noise=0.3)
    p = _panel(list(before.index))
    t = paired_quarter_change(p, p, "nof-2025-26", scores_now=now, scores_before=before, draws=1000, seed=2)
    assert (t["moved"] != "").sum() <= 25
    assert (t["moved_holm"] != "").sum() <= 1


def test_metrics_in_one_quarter_only_and_unmatched_trusts():
    before, now = _scores(8, 5, seed=3)
    now.iloc[2, 4] = np.nan  # trust 2 lost a metric
    before = before.drop(index="T07")
    p_now, p_before = _panel(list(now.index)), _panel(list(before.index))
    t = paired_quarter_change(p_now, p_before, "nof-2025-26", scores_now=now, scores_before=before, draws=300)
    assert t.attrs["unmatched"] == ["T07"] and "T07" not in t.index
    assert t.loc["T02", "n_metrics_both"] == 4
    assert t.loc["T02", "average"] == pytest.approx(now.loc["T02"].iloc[:4].mean())
    a = paired_quarter_change(p_now, p_before, "nof-2025-26", scores_now=now, scores_before=before, draws=300)
    pd.testing.assert_frame_equal(a, t)


# ---- the real MH&C counts stated in docs/uncertainty.md §6 ---------------------------
STATED = {("2025Q1", "2025Q2"): (14, 1, 2, 0, 0), ("2025Q2", "2025Q3"): (14, 1, 0, 0, 0),
          ("2025Q3", "2025Q4"): (20, 1, 5, 0, 0)}


def test_real_mhc_quarter_on_quarter_counts(shared_data):
    from nhs_league.io import read_inputs
    from nhs_league.pipeline import build_panel

    path = shared_data / "nhse_nof_mhc_2025_26_q4_release" / "nhs-oversight-framework-mental-health-and-community-trust-data.csv"
    if not path.exists():
        pytest.fail(f"{shared_data} is present but {path} is not")
    inputs = read_inputs([path])
    m = inputs.metrics

    def published(q):
        x = m[m["quarter"] == q]
        ok = x["metric_id"].str.startswith("OF1") & ~x["metric_id"].isin(["OF1079", "OF1081"]) & (x["value"] > 0)
        scores = x[ok].pivot_table(index="trust_code", columns="metric_id", values="value")
        summ = x[x["metric_id"].isin(["OF5000", "OF5003"])].pivot_table(index="trust_code", columns="metric_id",
                                                                           values="value")
        return scores, summ

    for (a, b), stated in STATED.items():
        sa, ma = published(a)
        sb, mb = published(b)
        t = paired_quarter_change(build_panel(inputs, b, "mental-health-and-community"),
                                  build_panel(inputs, a, "mental-health-and-community"), "nof-2025-26",
                                  scores_now=sb, scores_before=sa, draws=2000, seed=0)
        codes = t.index
        seg = ma["OF5000"].reindex(codes) != mb["OF5000"].reindex(codes)
        raw = ma["OF5003"].reindex(codes) != mb["OF5003"].reindex(codes)
        got = (int(seg.sum()), int((seg & ~raw).sum()), int((t["moved"] != "").sum()),
               int((t["moved_holm"] != "").sum()), int((t["moved_bh"] != "").sum()))
        assert len(t) == 61 and got == stated, (a, b, got)
        assert (t["se"] < t["se_independent"]).mean() > 0.9
