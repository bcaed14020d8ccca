"""Tests for nhs_league.funnel: Spiegelhalter (2005) funnel limits with overdispersion."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from nhs_league.funnel import FunnelResult, funnel_limits, funnel_limits_ratio, level_label

Z95 = 1.959963984540054  # Φ⁻¹(0.975)
Z998 = 3.090232306167813  # Φ⁻¹(0.999)


def r7_quantile(sorted_values, q):
    """R's default ("type 7") sample quantile, written out by hand."""
    h = (len(sorted_values) - 1) * q
    lo = math.floor(h)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (h - lo) * (sorted_values[hi] - sorted_values[lo])


# A small overdispersed dataset: 6 trusts, proportions between 5% and 30%.
UNITS = ["T1", "T2", "T3", "T4", "T5", "T6"]
NUM = [5, 30, 40, 90, 60, 150]
DEN = [100, 100, 200, 400, 300, 500]


def test_worked_example_by_hand():
    res = funnel_limits(pd.Series(NUM, index=UNITS), pd.Series(DEN, index=UNITS))
    assert isinstance(res, FunnelResult)

    # --- independent arithmetic, straight from Spiegelhalter (2005) ---
    target = sum(NUM) / sum(DEN)  # 375 / 1600
    y0 = math.asin(math.sqrt(target))
    s = [1 / (2 * math.sqrt(n)) for n in DEN]
    y = [math.asin(math.sqrt(r / n)) for r, n in zip(NUM, DEN)]
    z = [(yi - y0) / si for yi, si in zip(y, s)]
    zs = sorted(z)
    lo, hi = r7_quantile(zs, 0.10), r7_quantile(zs, 0.90)
    # with n = 6: h = 0.5, so lo is halfway between the two smallest z, hi likewise
    assert lo == pytest.approx((zs[0] + zs[1]) / 2)
    zw = [min(max(v, lo), hi) for v in z]
    n = len(z)
    phi = sum(v * v for v in zw) / n
    assert n * phi > n - 1  # overdispersed
    w = [1 / si ** 2 for si in s]
    tau2 = (n * phi - (n - 1)) / (sum(w) - sum(wi * wi for wi in w) / sum(w))
    # one limit: the upper 95% limit of T3 (n = 200)
    upper95_t3 = math.sin(y0 + Z95 * math.sqrt(s[2] ** 2 + tau2)) ** 2
    lower998_t6 = math.sin(y0 - Z998 * math.sqrt(s[5] ** 2 + tau2)) ** 2

    assert res.target == pytest.approx(target, rel=1e-12)
    assert res.phi == pytest.approx(phi, rel=1e-12)
    assert res.tau2 == pytest.approx(tau2, rel=1e-12)
    assert res.overdispersed
    np.testing.assert_allclose(res.table["z"].to_numpy(), z, rtol=1e-12)
    np.testing.assert_allclose(res.table["z_winsorised"].to_numpy(), zw, rtol=1e-12)
    assert res.table.loc["T3", "upper_95"] == pytest.approx(upper95_t3, rel=1e-12)
    assert res.table.loc["T6", "lower_99.8"] == pytest.approx(lower998_t6, rel=1e-12)
    pd.testing.assert_series_equal(res.table["value"],
                                   pd.Series(np.divide(NUM, DEN), index=UNITS, name="value"))
    # the values above, as numbers, so a change of formula shows up in review
    assert res.target == pytest.approx(0.234375)
    assert res.phi == pytest.approx(4.010112, rel=1e-6)
    assert res.tau2 == pytest.approx(0.003812134, rel=1e-6)


def test_overdispersion_widens_limits_and_changes_verdicts():
    od = funnel_limits(NUM, DEN, index=UNITS)
    plain = funnel_limits(NUM, DEN, index=UNITS, overdispersion=False)
    assert plain.tau2 == 0.0 and not plain.overdispersed
    assert plain.phi == pytest.approx(od.phi)  # φ is reported either way
    assert (od.table["upper_95"] > plain.table["upper_95"]).all()
    assert (od.table["lower_95"] < plain.table["lower_95"]).all()
    pd.testing.assert_series_equal(plain.table["z_adjusted"], plain.table["z"], check_names=False)
    # without the random effect 5/100 (z = -5.6) and 150/500 (z = +3.3) are outside
    # even the 99.8% limits; with it only 5/100 (adjusted z = -3.5) stays outside
    assert plain.table["outlier_99.8"].tolist() == ["low", None, None, None, None, "high"]
    assert od.table["outlier_99.8"].tolist() == ["low", None, None, None, None, None]
    assert od.table["outlier_95"].tolist() == ["low", None, None, None, None, None]


def test_no_overdispersion_gives_tau2_zero():
    # every unit exactly on the pooled target: all z = 0, φ = 0 <= (n - 1)/n
    res = funnel_limits([10, 20, 40, 5], [100, 200, 400, 50])
    assert res.target == pytest.approx(0.1)
    assert res.phi == pytest.approx(0.0, abs=1e-20)
    assert res.tau2 == 0.0
    # mild scatter with n φ just below n − 1 also keeps τ² = 0
    num, den = [52, 48, 101, 99], [500, 500, 1000, 1000]
    res = funnel_limits(num, den)
    assert len(num) * res.phi <= len(num) - 1
    assert res.tau2 == 0.0
    plain = funnel_limits(num, den, overdispersion=False)
    pd.testing.assert_frame_equal(res.table, plain.table)


def test_outliers_flagged_against_limits():
    num = [50, 52, 49, 51, 50, 48, 95, 20, 50, 51]
    den = [500] * 10
    res = funnel_limits(num, den, index=list("abcdefghij"), winsor=0.2)
    t = res.table
    for lab in ("95", "99.8"):
        expected = np.where(t["value"] > t[f"upper_{lab}"], "high",
                            np.where(t["value"] < t[f"lower_{lab}"], "low", None))
        pd.testing.assert_series_equal(
            t[f"outlier_{lab}"], pd.Series(expected, index=t.index, name=f"outlier_{lab}", dtype=object))
    assert t.loc["g", "outlier_99.8"] == "high"
    assert t.loc["h", "outlier_99.8"] == "low"
    assert t["outlier_95"].dtype == object
    assert t["outlier_95"].drop(["g", "h"]).isna().all()


def test_custom_levels_target_and_no_winsorisation():
    res = funnel_limits(NUM, DEN, levels=(0.9,), winsor=0.0, target=0.2)
    assert res.levels == (0.9,)
    assert [c for c in res.table.columns if c.startswith(("lower", "upper", "outlier"))] == \
        ["lower_90", "upper_90", "outlier_90"]
    pd.testing.assert_series_equal(res.table["z_winsorised"], res.table["z"], check_names=False)
    assert res.target == 0.2
    assert res.phi == pytest.approx(float(np.mean(res.table["z"] ** 2)))
    assert level_label(0.998) == "99.8" and level_label(0.95) == "95"


def test_curve_matches_table_and_narrows():
    res = funnel_limits(NUM, DEN, index=UNITS)
    curve = res.curve(DEN)
    assert list(curve.columns) == ["target", "lower_95", "upper_95", "lower_99.8", "upper_99.8"]
    for col in curve.columns[1:]:
        np.testing.assert_allclose(curve[col].to_numpy(), res.table[col].to_numpy(), rtol=1e-14)
    grid = np.array([50.0, 100, 1_000, 10_000, 1e6])
    c = res.curve(grid)
    assert (np.diff(c["upper_95"]) < 0).all() and (np.diff(c["lower_95"]) > 0).all()
    # with τ² > 0 the funnel does not close: the limits tend to y0 ± z·τ
    y0 = math.asin(math.sqrt(res.target))
    assert c["upper_95"].iloc[-1] == pytest.approx(math.sin(y0 + Z95 * math.sqrt(res.tau2 + 0.25e-6)) ** 2)
    with pytest.raises(ValueError, match="> 0"):
        res.curve([0, 10])


def test_ratio_funnel_by_hand():
    obs = [30, 45, 20, 80, 12]
    exp_ = [35.0, 40.0, 22.0, 60.0, 15.0]
    res = funnel_limits_ratio(obs, exp_, index=list("VWXYZ"))
    assert res.target == 1.0 and res.kind == "ratio"
    z = [2 * (math.sqrt(o) - math.sqrt(e)) for o, e in zip(obs, exp_)]  # CQC z-score
    np.testing.assert_allclose(res.table["z"].to_numpy(), z, rtol=1e-12)
    zs = sorted(z)
    zw = [min(max(v, r7_quantile(zs, 0.1)), r7_quantile(zs, 0.9)) for v in z]
    n = len(z)
    phi = sum(v * v for v in zw) / n
    assert res.phi == pytest.approx(phi, rel=1e-12)
    w = [4 * e for e in exp_]
    tau2 = 0.0
    if n * phi > n - 1:
        tau2 = (n * phi - (n - 1)) / (sum(w) - sum(x * x for x in w) / sum(w))
    assert res.tau2 == pytest.approx(tau2, abs=1e-15)
    upper = (1 + Z95 * math.sqrt(1 / (4 * exp_[3]) + tau2)) ** 2
    assert res.table.loc["Y", "upper_95"] == pytest.approx(upper, rel=1e-12)
    pooled = funnel_limits_ratio(obs, exp_, target=None)
    assert pooled.target == pytest.approx(sum(obs) / sum(exp_))


def test_series_inputs_are_aligned_by_label():
    num = pd.Series(NUM, index=UNITS)
    den = pd.Series(DEN, index=UNITS).iloc[::-1]  # same labels, other order
    a = funnel_limits(num, den)
    b = funnel_limits(NUM, DEN, index=UNITS)
    pd.testing.assert_frame_equal(a.table, b.table)


@pytest.mark.parametrize(
    "num, den, message",
    [
        ([1, 2, 3], [10, 0, 10], r"denominators must be > 0.*\[1\]"),
        ([1, 2, 3], [10, -5, 10], "denominators must be > 0"),
        ([1, 20, 3], [10, 10, 10], r"numerators exceeds denominators.*\[1\]"),
        ([1, -2, 3], [10, 10, 10], r"numerators must be >= 0.*\[1\]"),
        ([1, np.nan, 3], [10, 10, 10], "missing"),
        ([1, 2, 3], [10, 10], "3 values but denominators has 2"),
        ([1], [10], "at least 2"),
        (["a", "b"], [10, 10], "numeric"),
    ],
)
def test_invalid_inputs_raise(num, den, message):
    with pytest.raises(ValueError, match=message):
        funnel_limits(num, den)


def test_invalid_options_raise():
    with pytest.raises(ValueError, match="levels"):
        funnel_limits(NUM, DEN, levels=(0.95, 1.2))
    with pytest.raises(ValueError, match="distinct"):
        funnel_limits(NUM, DEN, levels=(0.95, 0.95))
    with pytest.raises(ValueError, match="winsor"):
        funnel_limits(NUM, DEN, winsor=0.5)
    with pytest.raises(ValueError, match="target"):
        funnel_limits(NUM, DEN, target=1.5)
    with pytest.raises(ValueError, match="expected must be > 0"):
        funnel_limits_ratio([1, 2], [1.0, 0.0])
    with pytest.raises(ValueError, match="labels"):
        funnel_limits(pd.Series([1, 2], index=["a", "b"]), pd.Series([5, 5], index=["a", "c"]))
    # ratios may exceed 1
    assert funnel_limits_ratio([10, 30], [5.0, 20.0]).table["value"].tolist() == [2.0, 1.5]


# ---- SHMI mode, unwinsorised and multiplicative options, false alarms -----------------
OBS = [12, 30, 55, 41, 80, 95, 130, 60, 22, 150]
EXP = [15.004, 27.5, 40.126, 44.0, 70.3, 110.0, 100.2, 58.0, 30.0, 160.0]


def test_shmi_mode_by_hand():
    res = funnel_limits_ratio(OBS, EXP, method="shmi", index=[f"U{i}" for i in range(10)])
    e = [round(x, 2) for x in EXP]  # expected counts rounded to 2 dp
    z = [math.sqrt(ei) * math.log(o / ei) for o, ei in zip(OBS, e)]
    zs = sorted(z)
    lo, hi = r7_quantile(zs, 0.10), r7_quantile(zs, 0.90)
    kept = [(zi, ei) for zi, ei in zip(z, e) if lo < zi < hi]  # truncation: the extremes are left out
    assert len(kept) == 8
    k = len(kept)
    phi = sum(zi * zi for zi, _ in kept) / k
    assert k * phi > k - 1
    sw = sum(ei for _, ei in kept)
    tau2 = (k * phi - (k - 1)) / (sw - sum(ei * ei for _, ei in kept) / sw)  # w = 1/s² = E
    assert res.kind == "ratio-log" and res.method == "shmi" and res.phi_method == "truncated"
    assert res.phi == pytest.approx(phi, rel=1e-12) and res.tau2 == pytest.approx(tau2, rel=1e-12)
    np.testing.assert_allclose(res.table["denominator"], e)
    np.testing.assert_allclose(res.table["z"], z, rtol=1e-12)
    assert res.table["z_winsorised"].isna().sum() == 2
    upper = math.exp(Z95 * math.sqrt(1 / e[2] + tau2))
    assert res.table["upper_95"].iloc[2] == pytest.approx(upper, rel=1e-12)
    assert res.table["z_adjusted"].iloc[2] == pytest.approx(math.log(OBS[2] / e[2]) / math.sqrt(1 / e[2] + tau2))
    curve = res.curve([e[2]])
    assert curve["upper_95"].iloc[0] == pytest.approx(upper, rel=1e-12)


def test_shmi_without_overdispersion_uses_exact_poisson_limits():
    from scipy.stats import chi2

    res = funnel_limits_ratio(OBS, EXP, method="shmi", overdispersion=False)
    e = np.round(EXP, 2)
    np.testing.assert_allclose(res.table["lower_95"], chi2.ppf(0.025, 2 * e) / 2 / e, rtol=1e-12)
    np.testing.assert_allclose(res.table["upper_99.8"], chi2.ppf(0.999, 2 * e + 2) / 2 / e, rtol=1e-12)
    np.testing.assert_allclose(res.table["lower_95"], res.table["lower_95_poisson"])
    v = res.table["value"]
    assert ((res.table["outlier_95"] == "high") == (v > res.table["upper_95"])).all()


def test_shmi_refuses_zero_observed_and_cqc_stays_the_default():
    with pytest.raises(ValueError, match="observed must be > 0"):
        funnel_limits_ratio([0, 3, 4], [2.0, 3.0, 4.0], method="shmi")
    with pytest.raises(ValueError, match="method"):
        funnel_limits_ratio([1, 3, 4], [2.0, 3.0, 4.0], method="nope")
    a = funnel_limits_ratio(OBS, EXP)
    b = funnel_limits_ratio(OBS, EXP, method="cqc")
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.kind == "ratio" and a.method == "cqc"


def test_unwinsorised_phi_and_multiplicative_adjustment():
    un = funnel_limits(NUM, DEN, phi_method="unwinsorised")
    zero = funnel_limits(NUM, DEN, winsor=0)
    assert un.phi == pytest.approx(zero.phi) and un.tau2 == pytest.approx(zero.tau2)
    z = un.table["z"].to_numpy()
    assert un.phi == pytest.approx(np.mean(z ** 2), rel=1e-12)
    mult = funnel_limits(NUM, DEN, phi_method="unwinsorised", overdispersion="multiplicative")
    assert mult.tau2 == 0 and mult.phi > 1
    target = sum(NUM) / sum(DEN)
    y0 = math.asin(math.sqrt(target))
    s = 1 / (2 * math.sqrt(DEN[3]))
    assert mult.table["upper_95"].iloc[3] == pytest.approx(math.sin(y0 + Z95 * math.sqrt(mult.phi) * s) ** 2)
    np.testing.assert_allclose(mult.table["z_adjusted"], z / math.sqrt(mult.phi), rtol=1e-12)
    assert "variance multiplied by" in mult.description and "winsorised" in funnel_limits(NUM, DEN).description
    with pytest.raises(ValueError, match="phi_method"):
        funnel_limits(NUM, DEN, phi_method="median")
    with pytest.raises(ValueError, match="overdispersion"):
        funnel_limits(NUM, DEN, overdispersion="both")


def test_false_alarm_rates_under_a_random_effects_truth():
    """The winsorised default flags far more than 5% of units when only random variation is at work;
    the unwinsorised φ comes close to 5% (docs/ranks.md, "False alarms")."""
    from nhs_league.funnel import false_alarm_rate

    n = np.geomspace(200, 5000, 61)
    default = false_alarm_rate(n, tau2=0.002, sims=400, seed=3)
    plain = false_alarm_rate(n, tau2=0.002, sims=400, seed=3, phi_method="unwinsorised")
    assert default > 0.10 and 0.035 < plain < 0.065, (default, plain)
    shmi = false_alarm_rate(n / 20, tau2=0.002, kind="ratio", target=1.0, sims=400, seed=3, method="shmi")
    assert shmi < default
    assert false_alarm_rate(n, tau2=0.002, sims=50, seed=9) == false_alarm_rate(n, tau2=0.002, sims=50, seed=9)
