"""Backtest: every recomputed figure against the one NHS England published, step by step.

An official data file carries NHS England's own results beside the raw values: metric scores
(OF1###), domain scores and segments (OF4###), the average (OF5002), the unadjusted and
adjusted segment (OF5003, OF5000), the deficit flag (OF5004) and, in Q1-Q2 2025/26, the final
segment with segment 5 (OF5005). A league-table file adds the rank. :func:`backtest_panel`
recomputes one quarter and trust type and compares each step; :func:`metric_score_table` lists
every metric score used, with where it came from.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .catalogue import (ADJUSTED_SEGMENT_ID, AVERAGE_SCORE_ID, DEFICIT_FLAG_ID, DOMAIN_SCORE_IDS,
                        DOMAIN_SEGMENT_IDS, DOMAINS, FINAL_SEGMENT_ID, UNADJUSTED_SEGMENT_ID)
from .league import league_ranks
from .methods import Method
from .pipeline import Panel, _scores_and_source, compute, finance_parts
from .scoring import round_scores

SUMMARY_COLUMNS = ["Quarter", "Trust_type", "Step", "Metric_ID", "Source", "Compared", "Exact", "Share_exact"]
MISMATCH_COLUMNS = ["Quarter", "Trust_type", "Trust_code", "Step", "Metric_ID", "Published", "Recomputed"]
SCORE_COLUMNS = ["Quarter", "Trust_code", "Metric_ID", "Value", "Score", "Source"]


def metric_score_table(panel: Panel, method: Method, result: dict | None = None) -> pd.DataFrame:
    """Every metric score used, long form: ``Quarter, Trust_code, Metric_ID, Value, Score, Source``.

    ``Metric_ID`` is the score ID (OF1###); ``Value`` the raw value scored (blank for score-only
    metrics and the combined finance score); ``Score`` is given to 2 dp as NHS England publishes
    it (the average uses the unrounded scores); ``Source`` is ``recomputed`` or ``published``.
    The two finance band scores (OF1079, OF1081), which do not count in the average, are listed
    too, so that every score row of the official file has its counterpart.

    >>> from nhs_league.sensitivity import example_panel
    >>> from nhs_league.methods import load_method
    >>> t = metric_score_table(example_panel(5, seed=0), load_method("nof-2025-26"))
    >>> list(t.columns), sorted(set(t["Source"]))  # the example's infection rates take published scores
    (['Quarter', 'Trust_code', 'Metric_ID', 'Value', 'Score', 'Source'], ['published', 'recomputed'])
    """
    scores, used = _scores_and_source(panel, method)
    if result is not None:
        scores = result["scores"]
    ids = [sid if isinstance(sid, str) and sid else mid
           for mid, sid in zip(panel.metrics["metric_id"], panel.metrics["score_id"])]
    n, m = scores.shape
    frames = [pd.DataFrame({
        "Quarter": panel.quarter,
        "Trust_code": np.repeat(panel.trusts.index.to_numpy(), m),
        "Metric_ID": np.tile(ids, n),
        "Value": panel.values.ravel(),
        "Score": round_scores(scores, method.decimals).ravel(),
        "Source": np.where(used, "published", "recomputed").ravel(),
    })]
    for j in np.flatnonzero(panel.metrics["rule"].to_numpy() == "finance_lookup"):
        _, a, b = finance_parts(panel, j)
        p = panel.metrics["rule_params"].iloc[j]
        for mid, band in ((p["planned_metric"], a), (p["variance_metric"], b)):
            sid = _score_id(mid)
            frames.append(pd.DataFrame({"Quarter": panel.quarter, "Trust_code": panel.trusts.index.to_numpy(),
                                        "Metric_ID": sid, "Value": panel.inputs.get(mid), "Score": band,
                                        "Source": "recomputed"}))
    t = pd.concat(frames, ignore_index=True)
    t = t[t["Score"].notna()]
    return t.sort_values(["Trust_code", "Metric_ID"], kind="stable").reset_index(drop=True)[SCORE_COLUMNS]


def _score_id(metric_id: str) -> str:
    return "OF1" + metric_id[3:] if metric_id.startswith("OF0") else metric_id


def backtest_panel(panel: Panel, method: Method) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Compare every step of the recompute with NHS England's published figures.

    Returns ``(summary, mismatches)``: one summary row per step (and per metric for metric
    scores) with the number compared and the number exactly equal (2 dp for scores); one
    mismatch row per trust and step that differs. A step with nothing published is left out.
    """
    r = compute(panel, method)
    _, used = _scores_and_source(panel, method)
    res = panel.published_results
    steps: list[tuple] = []  # (step, metric, source, published (n,), recomputed (n,))
    dec = method.decimals
    rounding = method.settings["average"]["rounding"]
    for j, (mid, sid) in enumerate(zip(panel.metric_ids, panel.metrics["score_id"])):
        if not isinstance(sid, str) or np.isnan(panel.published[:, j]).all():
            continue
        rec = round_scores(r["scores"][:, j], dec, rounding)
        mine = ~used[:, j]
        if mine.any():
            steps.append(("metric score", sid, "recomputed", np.where(mine, panel.published[:, j], np.nan),
                          np.where(mine, rec, np.nan)))
        if (~mine & ~np.isnan(panel.published[:, j])).any():
            steps.append(("metric score", sid, "published", np.where(~mine, panel.published[:, j], np.nan),
                          np.where(~mine, rec, np.nan)))
    for j in np.flatnonzero(panel.metrics["rule"].to_numpy() == "finance_lookup"):
        _, a, b = finance_parts(panel, j)
        p = panel.metrics["rule_params"].iloc[j]
        for mid, band in ((p["planned_metric"], a), (p["variance_metric"], b)):
            if mid in panel.published_inputs:
                steps.append(("metric score", _score_id(mid), "recomputed", panel.published_inputs[mid], band))
    if res is not None:
        dom = round_scores(r["domain_scores"], dec, rounding)
        for k, d in enumerate(DOMAINS):
            steps.append(("domain score", DOMAIN_SCORE_IDS[d], "recomputed", res[DOMAIN_SCORE_IDS[d]].to_numpy(),
                          dom[:, k]))
        for k, d in enumerate(DOMAINS):
            segs = np.where(np.isnan(dom[:, k]), np.nan, r["domain_segments"][:, k])
            steps.append(("domain segment", DOMAIN_SEGMENT_IDS[d], "recomputed",
                          res[DOMAIN_SEGMENT_IDS[d]].to_numpy(), segs))
        steps += [
            ("average", AVERAGE_SCORE_ID, "recomputed", res[AVERAGE_SCORE_ID].to_numpy(), r["average_2dp"]),
            ("unadjusted segment", UNADJUSTED_SEGMENT_ID, "recomputed", res[UNADJUSTED_SEGMENT_ID].to_numpy(),
             r["raw_segment"]),
        ]
        deficit, src = panel.deficit(method)
        how = "published flag" if (src == "published flag").all() else "rule" if (src != "published flag").all() \
            else "published flag where given, else rule"
        steps += [
            ("deficit flag", DEFICIT_FLAG_ID, how, res[DEFICIT_FLAG_ID].to_numpy(), deficit.astype(float)),
            ("segment", ADJUSTED_SEGMENT_ID, "recomputed", res[ADJUSTED_SEGMENT_ID].to_numpy(), r["segment"]),
            ("final segment (with segment 5)", FINAL_SEGMENT_ID, "recomputed", res[FINAL_SEGMENT_ID].to_numpy(),
             r["final_segment"]),
        ]
    if panel.published_league is not None and "rank" in panel.published_league:
        steps.append(("rank", "league table", "recomputed",
                      panel.published_league["rank"].to_numpy(dtype=float), r["rank"].astype(float)))
    elif res is not None and not res[ADJUSTED_SEGMENT_ID].isna().all():
        seg, avg = res[ADJUSTED_SEGMENT_ID].to_numpy(), res[AVERAGE_SCORE_ID].to_numpy()
        ok = ~np.isnan(seg) & ~np.isnan(avg)
        pub_rank = np.full(panel.n, np.nan)
        pub_rank[ok] = league_ranks(seg[ok].astype(int), avg[ok], decimals=dec)
        steps.append(("rank", "from OF5000 and OF5002", "recomputed", pub_rank, r["rank"].astype(float)))
    return _tabulate(panel, steps)


def _tabulate(panel: Panel, steps) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, bad = [], []
    codes = panel.trusts.index.to_numpy()
    for step, metric, source, pub, rec in steps:
        pub = np.asarray(pub, dtype=float)
        rec = np.asarray(rec, dtype=float)
        have = ~np.isnan(pub)
        if not have.any():
            continue
        same = have & ~np.isnan(rec) & (np.abs(pub - np.nan_to_num(rec)) < 5e-7)
        rows.append((panel.quarter, panel.trust_type, step, metric, source, int(have.sum()), int(same.sum()),
                     round(float(same.sum() / have.sum()), 4)))
        for i in np.flatnonzero(have & ~same):
            bad.append((panel.quarter, panel.trust_type, codes[i], step, metric, pub[i], rec[i]))
    return (pd.DataFrame(rows, columns=SUMMARY_COLUMNS),
            pd.DataFrame(bad, columns=MISMATCH_COLUMNS).sort_values(["Step", "Metric_ID", "Trust_code"],
                                                                     kind="stable").reset_index(drop=True))
