"""Sensitivity analyses on the real Q3 2025/26 acute figures (domain level), each checked.

The third-party extract at ../shared/data-raw/trustpulse_nof_q3_2025_26/ carries, for 129 of the
134 acute trusts, the published average score, segment, rank, deficit flag and the five domain
scores (no per-metric scores). Every figure the library computes here is compared with the
published facts (nof-method.md §4) or with an independent computation written in this file
from the published columns: integer comparisons in hundredths against the cut-offs, pandas
ranks, a separately solved constrained least-squares fit. Tests skip when the data are absent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from nhs_league import sensitivity as sens
from nhs_league.catalogue import DOMAINS

pytestmark = pytest.mark.realdata

CUT_CENTS = np.array([206, 235, 270])  # the Q2+ cut-offs in hundredths


@pytest.fixture(scope="module")
def data(q3_extract):
    return sens.from_inputs(q3_extract, "2025Q3", "acute", level="domain")


@pytest.fixture(scope="module")
def pub(q3_extract, data):
    """Published columns by trust code (in the data's trust order), and the domain scores."""
    lg = q3_extract.league
    lg = lg[lg["trust_type"] == "acute"].set_index("trust_code").reindex(data.trusts.index)
    m = q3_extract.metrics
    ids = {"OF4000": "access", "OF4005": "effectiveness_experience", "OF4002": "patient_safety",
           "OF4004": "people_workforce", "OF4003": "finance_productivity"}
    dom = (m[(m["trust_type"] == "acute") & m["metric_id"].isin(list(ids))]
           .pivot(index="trust_code", columns="metric_id", values="value")
           .rename(columns=ids).reindex(index=data.trusts.index, columns=list(DOMAINS)))
    return pd.DataFrame({
        "average": lg["average_score"].astype(float),
        "segment": lg["segment"].astype(int),
        "rank": lg["rank"].astype(int),
        "deficit": lg["in_deficit"].astype(bool),
    }).join(dom)


# ---- independent helpers (plain pandas/numpy, not the library) -------------------------------

def _cents(x):
    return np.floor(np.asarray(x, float) * 100 + 0.5 + 1e-9).astype(int)  # 2-dp, half up


def _segments(avg, deficit, *, shift_cents=0, override=True):
    c = _cents(avg)
    raw = 1 + (c[:, None] > CUT_CENTS[None, :] + shift_cents).sum(axis=1)
    seg = np.where(override & deficit & (raw < 3), 3, raw)
    return seg, raw


def _ranks(seg, avg):
    return pd.Series(seg * 1000 + _cents(avg)).rank(method="min").to_numpy()


def _compare(pub, seg, avg):
    """Mean |rank change| and share changing segment against the published table (129 trusts)."""
    r0 = _ranks(pub["segment"].to_numpy(), pub["average"].to_numpy())
    r1 = _ranks(seg, avg)
    return np.abs(r1 - r0).mean(), np.mean(seg != pub["segment"].to_numpy()), int((seg != pub["segment"]).sum())


def _stats(data, **choices):
    out = sens.evaluate(data, sens.scenario_params(data, **choices))
    return sens.scenario_stats(sens.compare(data, out)).iloc[0], out


def _constrained_fit(pub):
    """Least squares with weights summing to 1, by the KKT system (a second, separate route)."""
    ok = pub[list(DOMAINS)].notna().all(axis=1)
    X = pub.loc[ok, list(DOMAINS)].to_numpy()
    y = pub.loc[ok, "average"].to_numpy()
    k = X.shape[1]
    A = np.block([[2 * X.T @ X, np.ones((k, 1))], [np.ones((1, k)), np.zeros((1, 1))]])
    b = np.concatenate([2 * X.T @ y, [1.0]])
    return np.linalg.solve(A, b)[:k]


def _weighted(pub, w):
    """Weighted mean of the domain scores present, weights renormalised over them."""
    D = pub[list(DOMAINS)].to_numpy()
    W = np.where(np.isnan(D), 0.0, np.asarray(w, float)[None, :])
    return (np.nan_to_num(D) * W).sum(axis=1) / W.sum(axis=1)


# ---- the nominal table --------------------------------------------------------------------------

def test_nominal_table_is_the_published_table(data, pub):
    nom = sens.nominal(data)
    assert data.n == 129
    pd.testing.assert_series_equal(pd.Series(nom["segment"], index=data.trusts.index, name="segment"),
                                   pub["segment"].astype(np.int64))
    # published ranks run over 134 trusts (5 missing): re-ranked among the 129 they must match ours
    rerank = pub["rank"].rank(method="min").astype(np.int64).rename("rank")
    pd.testing.assert_series_equal(pd.Series(nom["rank"], index=data.trusts.index, name="rank"), rerank)


def test_implied_domain_weights_reproduce_the_published_averages(data, pub):
    w = sens.implied_domain_weights(pub[list(DOMAINS)], pub["average"])
    np.testing.assert_allclose(w.to_numpy(), _constrained_fit(pub), atol=1e-10)
    np.testing.assert_allclose(data.nominal_weights, w.to_numpy())
    ok = pub[list(DOMAINS)].notna().all(axis=1)
    rmse = np.sqrt(np.mean((pub.loc[ok, list(DOMAINS)].to_numpy() @ w.to_numpy() - pub.loc[ok, "average"]) ** 2))
    assert rmse < 0.05 and w.attrs["rmse"] == pytest.approx(rmse) and w.attrs["n"] == 128
    # statistics.md: about 0.46 access, 0.19 effectiveness & experience, 0.12 each other domain
    np.testing.assert_allclose(w.to_numpy(), [0.46, 0.19, 0.12, 0.12, 0.12], atol=0.03)


# ---- the financial override ---------------------------------------------------------------------

def test_override_off_moves_36_trusts_up_10_from_segment_1_and_26_from_segment_2(data, pub):
    st, out = _stats(data, override="off")
    seg0 = sens.nominal(data)["segment"]
    up = out["segment"][0] < seg0
    assert int(up.sum()) == 36 and st["trusts_better_segment"] == 36 and st["trusts_worse_segment"] == 0
    raw = out["raw_segment"][0]
    assert int((up & (raw == 1)).sum()) == 10 and int((up & (raw == 2)).sum()) == 26
    # and the same against the independent computation
    seg, _ = _segments(pub["average"], pub["deficit"].to_numpy(), override=False)
    mean_abs, share, count = _compare(pub, seg, pub["average"])
    assert st["mean_abs_rank_change"] == pytest.approx(mean_abs)
    assert st["trusts_changing_segment"] == count == 36


# ---- the cut-offs ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value, shift", [("cutoffs_down", -5), ("cutoffs_up", 5)])
def test_cutoffs_shifted_by_five_hundredths(data, pub, value, shift):
    st, out = _stats(data, segmentation=value)
    seg, _ = _segments(pub["average"], pub["deficit"].to_numpy(), shift_cents=shift)
    mean_abs, share, count = _compare(pub, seg, pub["average"])
    assert st["trusts_changing_segment"] == count
    assert st["share_segment_change"] == pytest.approx(share)
    assert st["mean_abs_rank_change"] == pytest.approx(mean_abs)
    np.testing.assert_array_equal(out["segment"][0], seg)
    assert count > 0
    # moving cut-offs down can only worsen segments, up only improve them
    assert (st["trusts_better_segment"] == 0) if shift < 0 else (st["trusts_worse_segment"] == 0)


# ---- equal domain weights -------------------------------------------------------------------------

def test_equal_domain_weights_instead_of_the_published_averages(data, pub):
    st, out = _stats(data, weights="per_domain", baseline="direct")
    eq = pub[list(DOMAINS)].mean(axis=1, skipna=True).to_numpy()  # the mean of the domain scores
    seg, _ = _segments(eq, pub["deficit"].to_numpy())
    mean_abs, share, count = _compare(pub, seg, eq)
    assert st["mean_abs_rank_change"] == pytest.approx(mean_abs)
    assert st["share_segment_change"] == pytest.approx(share)
    assert st["trusts_changing_segment"] == count
    np.testing.assert_allclose(out["average_2dp"][0], _cents(eq) / 100)


def test_refitting_alone_moves_little(data, pub):
    """Implied weights applied directly (no anchoring): the fit's own error, the floor of the others."""
    st, _ = _stats(data, weights="nominal", baseline="direct")
    fit = _weighted(pub, _constrained_fit(pub))
    seg, _ = _segments(fit, pub["deficit"].to_numpy())
    mean_abs, share, count = _compare(pub, seg, fit)
    assert st["mean_abs_rank_change"] == pytest.approx(mean_abs)
    assert st["trusts_changing_segment"] == count


# ---- leaving out each domain ----------------------------------------------------------------------

@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("baseline", ["direct", "anchored"])
def test_leave_one_domain_out(data, pub, domain, baseline):
    st, out = _stats(data, leave_out_domain=domain, baseline=baseline)
    w = _constrained_fit(pub)
    w_out = np.where(np.array(DOMAINS) == domain, 0.0, w)  # renormalised over the rest by _weighted
    loo = _weighted(pub, w_out)
    if baseline == "anchored":
        loo = pub["average"].to_numpy() + (loo - _weighted(pub, w))
    seg, _ = _segments(loo, pub["deficit"].to_numpy())
    mean_abs, share, count = _compare(pub, seg, loo)
    assert st["mean_abs_rank_change"] == pytest.approx(mean_abs)
    assert st["share_segment_change"] == pytest.approx(share)
    assert st["trusts_changing_segment"] == count


# ---- concordance ----------------------------------------------------------------------------------

def test_domain_rank_concordance(data, pub):
    t = sens.domain_concordance(data).set_index(["a", "b"])
    assert len(t) == 10
    for (a, b), row in t.iterrows():
        ok = pub[a].notna() & pub[b].notna()
        want = scipy.stats.spearmanr(pub.loc[ok, a], pub.loc[ok, b]).statistic
        assert row["spearman"] == pytest.approx(want, abs=1e-12)
        assert row["n"] == ok.sum()
    assert t.loc[("access", "patient_safety"), "n"] == 128  # one trust has no access score


# ---- the Monte Carlo on the real data ----------------------------------------------------------------

def test_monte_carlo_on_the_real_data_is_labelled_real_and_reproducible(data):
    a = sens.monte_carlo(data, "domain", n=500, seed=1)
    b = sens.monte_carlo(data, "domain", n=500, seed=1)
    pd.testing.assert_frame_equal(a.trust_summary(), b.trust_summary())
    ts = a.trust_summary()
    assert ts["Data"].eq("real").all() and len(ts) == 129
    # the scenario table is a complete record on real data too
    again = sens.evaluate(data, a.params)
    np.testing.assert_array_equal(again["rank"], a.result["rank"])
