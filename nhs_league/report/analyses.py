"""Analyses the report notebooks show: each combines library parts (no plotting here)."""

from __future__ import annotations


import numpy as np
import pandas as pd

from ..errors import InputError
from ..limits import check_memory, ranks_bytes, sensitivity_bytes
from ..io import rows_for
from ..methods import Method, default_method_for, load_method, resolve_for
from ..quarters import Quarter

from ..change import QuarterRun, compare_quarters as _compare_quarters, trend as _trend
from ..positions import Positions, estimates as _estimates, pair_summary, positions as _positions

from .parameters import _is_int
from .inputs import capabilities
from .notebook import ReportContext, median_trust


# ======================================================================================
# Analyses the notebooks show (each combines library parts; no plotting here)
# ======================================================================================
LEAGUE_COLUMNS = ["Rank", "Trust_code", "Trust_name", "Trust_subtype", "Average_score", "Raw_segment",
                  "Trust_in_financial_deficit", "Segment", "Published_segment", "Published_rank", "Data"]


def league_view(table: pd.DataFrame) -> pd.DataFrame:
    """The columns of a league table shown in a report (those present, in a fixed order)."""
    return table[[c for c in LEAGUE_COLUMNS if c in table.columns]]


def replicates(ctx: ReportContext, *, panel=None, method=None):
    """Replicate league tables from the source named by the ``uncertainty`` parameter.

    ``metrics`` (default): bootstrap over each trust's metric scores; ``metrics-jackknife``:
    leave one metric out; ``sampling``: parametric bootstrap of numerators/denominators.
    Cached on the context for its own panel.
    """
    from ..uncertainty import basket_bootstrap, basket_jackknife, nhse_replicates, sampling_replicates

    own = panel is None and method is None
    if own and "_replicates" in ctx.__dict__:
        return ctx.__dict__["_replicates"]
    panel = ctx.panel if panel is None else panel
    method = ctx.method if method is None else method
    source = ctx.extra.get("uncertainty", "metrics")
    if source != "metrics-jackknife":  # before the replicates are drawn: a run that cannot fit says so
        n, m = panel.values.shape
        check_memory(ranks_bytes(ctx.draws, n, m), f"draws = {ctx.draws:,} on {n} trusts x {m} metrics",
                     "use fewer draws")
    if source == "metrics-jackknife":
        reps = basket_jackknife(panel, method)
    elif source == "sampling":
        reps = sampling_replicates(panel, method, draws=ctx.draws, seed=ctx.seed)
    elif source == "nhse":
        reps = nhse_replicates(panel, method, seed=ctx.seed)
    else:
        reps = basket_bootstrap(panel, method, draws=ctx.draws, seed=ctx.seed)
    if own:
        ctx.__dict__["_replicates"] = reps
    return reps


def positions(ctx: ReportContext, reps=None) -> Positions:
    """Each trust's average with its interval, in order of the average, with the pair tests
    (:func:`nhs_league.positions.positions` at the report's coverage, draws and seed)."""
    reps = replicates(ctx) if reps is None else reps
    return _positions(reps, coverage=ctx.coverage, draws=ctx.draws, seed=ctx.seed)


def rank_set_table(ctx: ReportContext, reps=None, tau: int = 10) -> pd.DataFrame:
    """Marginal and simultaneous rank confidence sets, the τ-best / τ-worst sets, and the
    confidence set for the league rank.

    ``rank``, the marginal and simultaneous sets and ``could_be_top`` / ``could_be_bottom``
    are about the rank of the average score (1 = best). ``league_rank``, ``league_lower``,
    ``league_upper`` and ``could_be_top_in_league`` are about the league rank, which orders
    by segment (after the financial override) first.

    Returns
    -------
    pandas.DataFrame
        Indexed by trust code in order of the average: ``name``, ``average``, ``rank``,
        ``marginal_lower``/``_upper``, ``simultaneous_lower``/``_upper``, ``could_be_top``
        and ``could_be_bottom`` (τ = min(tau, trusts)), ``league_rank``, ``league_lower``,
        ``league_upper``, ``could_be_top_in_league``. ``attrs["tau"]`` holds the τ used.
    """
    from .. import ranks

    reps = replicates(ctx) if reps is None else reps
    est, cov = _estimates(reps)
    kw = dict(coverage=ctx.coverage, draws=ctx.draws, seed=ctx.seed)
    marg = ranks.rank_confidence_sets(est, cov, simultaneous=False, **kw)
    simu = ranks.rank_confidence_sets(est, cov, simultaneous=True, **kw)
    t = max(1, min(int(tau), len(est)))
    best = ranks.tau_best_set(est, t, cov, **kw)
    worst = ranks.tau_worst_set(est, t, cov, **kw)
    league = reps.league_sets(ctx.coverage, draws=ctx.draws, seed=ctx.seed).table
    names = pd.Series(reps.trust_names, index=reps.trust_codes)
    out = pd.DataFrame({
        "name": names.reindex(est.index), "average": est.round(3), "rank": marg["rank"],
        "marginal_lower": marg["lower"], "marginal_upper": marg["upper"],
        "simultaneous_lower": simu["lower"], "simultaneous_upper": simu["upper"],
        "could_be_top": best, "could_be_bottom": worst,
        "league_rank": pd.Series(reps.nominal["rank"], index=reps.trust_codes).reindex(est.index),
        "league_lower": league["lower"].reindex(est.index), "league_upper": league["upper"].reindex(est.index),
    }).sort_values(["rank", "average"], kind="stable")
    out["could_be_top_in_league"] = out["league_lower"] <= t
    out.attrs["tau"] = t
    return out


#: Replicates of the likely-range reproduction in a report: fewer than the preset's 20,000 (a report
#: draws it for every trust type and notebook); the score bounds then move by about 0.01 between seeds.
REPORT_NHSE_DRAWS = 5000


def position_ranges(ctx: ReportContext, reps=None, sets=None, *,
                    nhse_draws: int = REPORT_NHSE_DRAWS) -> tuple[pd.DataFrame, dict]:
    """Every range for each trust's position, for :func:`nhs_league.charts.position_ranges`.

    NHS England's published likely range of the rank (where a league-table file gave it),
    our reproduction of NHS England's method (:func:`nhs_league.uncertainty.nhse_replicates`
    on the same panel, the report's seed, ``nhse_draws`` replicates), our confidence set for the league rank and our
    marginal and simultaneous sets for the rank of the average (:func:`rank_set_table`).

    Returns
    -------
    frame : pandas.DataFrame
        Indexed by trust code in league order (published where given).
    facts : dict
        ``n``: trusts with both NHS England's range (published, else reproduced) and a marginal
        set; ``narrower``: how many of them have the narrower NHS England range;
        ``median_width_nhse`` and ``median_width_marginal`` (in places, both ends counted);
        ``which``: "published" or "reproduced".
    """
    from ..uncertainty import nhse_likely_ranges, nhse_replicates

    reps = replicates(ctx) if reps is None else reps
    sets = rank_set_table(ctx, reps) if sets is None else sets
    nh = nhse_likely_ranges(reps if reps.source == "nhse" else nhse_replicates(ctx.panel, ctx.method, seed=ctx.seed,
                                                                                draws=nhse_draws))
    codes = sets.index
    s = reps.summary(ctx.coverage)
    frame = pd.DataFrame({"name": sets["name"], "league_rank": sets["league_rank"],
                          "nhse_low": nh["NHSE_range_rank_low"].reindex(codes).astype(float),
                          "nhse_high": nh["NHSE_range_rank_high"].reindex(codes).astype(float),
                          "league_low": sets["league_lower"], "league_high": sets["league_upper"],
                          "marginal_low": sets["marginal_lower"], "marginal_high": sets["marginal_upper"],
                          "simultaneous_low": sets["simultaneous_lower"],
                          "simultaneous_high": sets["simultaneous_upper"]}, index=codes)
    which = "reproduced"
    if "likely_range_rank_low" in s:
        frame["published_low"] = s["likely_range_rank_low"].reindex(codes).astype(float)
        frame["published_high"] = s["likely_range_rank_high"].reindex(codes).astype(float)
        if frame["published_low"].notna().any():
            which = "published"
    if "published_rank" in s and s["published_rank"].notna().any():
        frame["league_rank"] = s["published_rank"].reindex(codes).astype(float).fillna(frame["league_rank"])
    frame = frame.sort_values(["league_rank"], kind="stable")
    lo, hi = (frame["published_low"], frame["published_high"]) if which == "published" else (
        frame["nhse_low"], frame["nhse_high"])
    w_n = hi - lo + 1
    w_m = frame["marginal_high"] - frame["marginal_low"] + 1
    ok = w_n.notna() & w_m.notna()
    facts = {"n": int(ok.sum()), "narrower": int((w_n[ok] < w_m[ok]).sum()), "which": which,
             "median_width_nhse": float(w_n[ok].median()) if ok.any() else float("nan"),
             "median_width_marginal": float(w_m[ok].median()) if ok.any() else float("nan")}
    return frame, facts


def segment_probability_table(reps) -> pd.DataFrame:
    """P(segment k) per trust (columns 1-4, and 5 when any trust is in it), in league order."""
    p = reps.segment_probabilities()
    p.columns = [int(c.rsplit("_", 1)[1]) for c in p.columns]
    if not (p[5] > 0).any():
        p = p.drop(columns=5)
    rank = pd.Series(reps.nominal["rank"], index=reps.trust_codes)
    order = rank.where(rank > 0, np.iinfo(np.int64).max).sort_values(kind="stable").index
    return p.loc[order]


def metric_score_frame(ctx: ReportContext) -> pd.DataFrame:
    """The 1-4 metric scores of the report's run: trusts (codes) by metrics (IDs)."""
    return pd.DataFrame(ctx.result["scores"], index=ctx.panel.trusts.index, columns=ctx.panel.metric_ids)


def pick_trust(ctx: ReportContext, trust_code: str) -> str:
    """``trust_code`` checked against the table; blank = the median-ranked trust."""
    table = ctx.table
    if not trust_code:
        return median_trust(table)
    code = trust_code.strip().upper()
    if code not in set(table["Trust_code"]):
        raise InputError(f"trust {trust_code!r} is not among the {len(table)} {ctx.trust_type} trusts of "
                         f"{ctx.quarter} in the inputs", column="trust_code")
    return code


def proportion_metrics(ctx: ReportContext, trust_code: str, *, min_trusts: int = 5) -> list[tuple]:
    """The trust's proportion metrics with numerators and denominators, for funnel plots.

    Returns a list of ``(metric_id, name, numerators, denominators, scale)`` where the two
    Series are indexed by trust code (trusts with a usable pair only) and ``scale`` turns
    a proportion into the published value (100 for percentages).
    """
    from ..catalogue import load_catalogue

    panel = ctx.panel
    cat = load_catalogue()
    out = []
    codes = panel.trusts.index
    for j, mid in enumerate(panel.metric_ids):  # a loop over metrics (tens), not trusts
        if mid not in cat.index or cat.at[mid, "distribution"] != "binomial":
            continue
        num = pd.Series(panel.numerators[:, j], index=codes)
        den = pd.Series(panel.denominators[:, j], index=codes)
        ok = num.notna() & den.notna() & (den > 0) & (num >= 0) & (num <= den)
        if ok.sum() < min_trusts or not ok.get(trust_code, False):
            continue
        scale = float(cat.at[mid, "scale"]) if str(cat.at[mid, "scale"]).strip() else 1.0
        out.append((mid, str(cat.at[mid, "name"]), num[ok], den[ok], scale))
    return out


def funnel_summary(ctx: ReportContext, trust_code: str, *, max_panels: int = 6,
                   min_trusts: int = 5) -> tuple[list, pd.DataFrame]:
    """Funnel limits for each of the trust's proportion metrics: the panels to draw and a table of all.

    Every metric from :func:`proportion_metrics` gets Spiegelhalter (2005) limits
    (:func:`nhs_league.funnel.funnel_limits`). The table lists them all, the trust's most outlying
    first (largest ``|z_adjusted|``); the panels are the first ``max_panels`` of that order, so a
    report draws the funnels that matter for this trust and lists the rest.

    Returns
    -------
    panels : list of (label, FunnelResult, scale)
        For :func:`nhs_league.charts.funnels`.
    table : pandas.DataFrame
        ``metric_id``, ``metric``, ``value`` and ``pooled`` (on the published scale), ``z_adjusted``
        (overdispersion allowed for), ``position`` (``above 99.8% limit``, ``below 95% limit``,
        ``within 95% limits``: a position, not a verdict, since for some metrics higher is better),
        ``false_alarms_95`` (the share of trusts these default limits put outside 95% when
        nothing but random between-trust variation of the fitted size is at work, simulated
        with :func:`nhs_league.funnel.false_alarm_rate` on the metric's own denominators; 5%
        would be right) and ``drawn`` (``"yes"`` when it has a panel, else ``"no"``).
    """
    from ..funnel import false_alarm_rate, funnel_limits, level_label

    if isinstance(max_panels, bool) or not _is_int(max_panels) or max_panels < 0:
        raise InputError(f"funnel_panels must be a whole number 0 or more, got {max_panels!r}",
                         column="funnel_panels")
    rows, results = [], []
    for mid, name, num, den, scale in proportion_metrics(ctx, trust_code, min_trusts=min_trusts):
        res = funnel_limits(num, den)
        me = res.table.loc[trust_code]
        position = f"within {level_label(min(res.levels))}% limits"
        for level in sorted(res.levels, reverse=True):  # the widest limit crossed
            side = me[f"outlier_{level_label(level)}"]
            if side is not None:
                position = f"{'above' if side == 'high' else 'below'} {level_label(level)}% limit"
                break
        alarm = false_alarm_rate(den.to_numpy(dtype=float), tau2=max(res.tau2, 1e-4), target=res.target,
                                 sims=300, seed=0)
        rows.append({"metric_id": mid, "metric": name, "value": float(me["value"]) * scale,
                     "pooled": res.target * scale, "z_adjusted": float(me["z_adjusted"]), "position": position,
                     "false_alarms_95": alarm})
        results.append((f"{name} ({mid})", res, scale))
    table = pd.DataFrame(rows, columns=["metric_id", "metric", "value", "pooled", "z_adjusted", "position",
                                        "false_alarms_95"])
    # most outlying first; ties by metric id
    order = np.lexsort((table["metric_id"].to_numpy(), -table["z_adjusted"].abs().to_numpy()))
    table = table.iloc[order].reset_index(drop=True)
    table["drawn"] = np.where(np.arange(len(table)) < max_panels, "yes", "no")
    panels = [results[i] for i in order[:max_panels]]
    return panels, table


def _method_for(ctx: ReportContext, quarter: str) -> Method:
    return resolve_for(load_method(ctx.method_requested) if ctx.method_requested else default_method_for(quarter),
                       ctx.trust_type)


def trend(ctx: ReportContext, trust_code: str) -> pd.DataFrame:
    """The trust's average, interval, rank and segment in every quarter of the inputs up to the
    report's (:func:`nhs_league.change.trend`).

    Each quarter uses its own method preset (Q1 2025/26 quartiles, cut-offs after) unless a
    method was given, and the same source of uncertainty as the report; quarters without
    metric-level data are left out.
    """
    runs = []
    upto = Quarter.parse(ctx.quarter).code
    for q in ctx.inputs.quarters:  # at most a handful of quarters; never after the report's quarter
        if Quarter.parse(q).code > upto:
            continue
        own = q == ctx.quarter
        if "metric_scores" not in (ctx.capabilities if own else capabilities(ctx.inputs, q, ctx.trust_type)):
            continue
        if own:
            runs.append(QuarterRun(ctx.panel, ctx.method, replicates(ctx)))
            continue
        panel, m = ctx.panel_for(q), _method_for(ctx, q)
        if trust_code not in panel.trusts.index:
            continue
        # the metric-basket source draws only this trust's averages in other quarters (same draws,
        # same numbers as its column of the full replicates); other sources need the full replicates
        reps = None if ctx.extra.get("uncertainty", "metrics") == "metrics" else replicates(ctx, panel=panel, method=m)
        runs.append(QuarterRun(panel, m, reps))
    return _trend(trust_code, runs, coverage=ctx.coverage, draws=ctx.draws, seed=ctx.seed)


def override_note(ctx: ReportContext, trust_code: str) -> str:
    """One sentence on the financial override for this trust: whether it applies, and where the trust
    would sit without it (segment and league rank, everything else as published)."""
    from ..pipeline import classify

    t = ctx.table.set_index("Trust_code")
    row = t.loc[trust_code]
    if row["Trust_in_financial_deficit"] != "Yes":
        return (f"{row['Trust_name']} is not in financial deficit ({row['Deficit_source']}): the financial "
                "override does not apply to it.")
    raw, seg = int(row["Raw_segment"]), int(row["Segment"])
    if raw >= seg:
        return (f"{row['Trust_name']} is in financial deficit ({row['Deficit_source']}), but its average already "
                f"puts it in segment {raw}: the override (a cap at segment "
                f"{ctx.method.settings['override']['cap']}) does not change its place.")
    off = ctx.method.replace(override={"enabled": False})
    avg = t["Average_score"].to_numpy(dtype=float)
    deficit = (t["Trust_in_financial_deficit"] == "Yes").to_numpy()
    free = classify(avg, deficit, np.zeros(len(t), bool), off)
    k = t.index.get_loc(trust_code)
    return (f"{row['Trust_name']} is in financial deficit ({row['Deficit_source']}), so the financial override "
            f"caps it at segment {seg}: its average alone ({row['Average_score']:.2f}) would put it in segment "
            f"{raw}, at league rank {int(free['rank'][k])} instead of {int(row['Rank'])} (everyone else as "
            "published). Its chance of a different segment reflects the cap as well as its scores.")


def raw_value_table(ctx: ReportContext, trust_code: str) -> pd.DataFrame:
    """The trust's raw value on each metric beside its peers' median and quartiles (from the file's
    ``Median_value`` / ``Lower_quartile`` / ``Upper_quartile`` where it gives them, else computed from
    the peers' values), its score and where the score came from."""
    from ..backtest import metric_score_table

    panel = ctx.panel
    i = panel.trusts.index.get_loc(trust_code)
    rows = rows_for(ctx.inputs.metrics, ctx.quarter, ctx.trust_type)
    stats = rows.drop_duplicates("metric_id").set_index("metric_id") if len(rows) else pd.DataFrame()
    scores = metric_score_table(panel, ctx.method, ctx.result).set_index(["Trust_code", "Metric_ID"])
    out = []
    for j, (mid, r) in enumerate(panel.metrics.iterrows()):
        v = panel.values[:, j]
        have = ~np.isnan(v)
        sid = r["score_id"] if isinstance(r["score_id"], str) else mid
        key = (trust_code, sid)
        med = lq = uq = np.nan
        if mid in stats.index and "median_value" in stats:
            med, lq, uq = (float(stats.loc[mid, c]) for c in ("median_value", "lower_quartile", "upper_quartile"))
        if np.isnan(med) and have.sum() >= 2:
            lq, med, uq = np.percentile(v[have], [25, 50, 75])
        out.append({"metric": r["name"], "better": r["better"], "value": v[i], "peer_median": med,
                    "peer_lower_quartile": lq, "peer_upper_quartile": uq, "peers_with_a_value": int(have.sum()),
                    "score": scores["Score"].get(key, np.nan), "score_from": scores["Source"].get(key, "")})
    return pd.DataFrame(out)


def compare_quarters(ctx: ReportContext, previous: str = "") -> pd.DataFrame:
    """Each trust's move between ``previous`` (blank = the quarter before) and ``ctx.quarter``:
    :func:`nhs_league.change.compare_quarters`, each quarter with its own method preset unless one
    was given. The previous quarter must be another quarter of the inputs with metric-level data."""
    prev_q = Quarter.parse(previous).code if previous else Quarter.parse(ctx.quarter).previous().code
    if prev_q == ctx.quarter:
        raise InputError("previous_quarter is the report's own quarter", column="previous_quarter")
    if "metric_scores" not in capabilities(ctx.inputs, prev_q, ctx.trust_type):
        raise InputError(f"the inputs hold no metric-level data for {ctx.trust_type} trusts in {prev_q}",
                         column="previous_quarter")
    return _compare_quarters(ctx.panel, ctx.panel_for(prev_q), ctx.method, _method_for(ctx, prev_q),
                             draws=ctx.draws, seed=ctx.seed, coverage=ctx.coverage, result_now=ctx.result)


def move_counts(cmp: pd.DataFrame) -> str:
    """One sentence with the three counts of moves and what chance alone would give."""
    a = cmp.attrs
    unadj, holm, bh = ((cmp[c] != "").sum() for c in ("moved", "moved_holm", "moved_bh"))
    return (f"{unadj} of {a['n_tests']} trusts moved at {a['alpha']:.0%} each, unadjusted (chance alone would "
            f"give about {a['expected_by_chance']:.1f}); {holm} after Holm's correction (the chance of even one "
            f"false move is at most {a['alpha']:.0%}); {bh} after Benjamini–Hochberg (on average at most "
            f"{a['alpha']:.0%} of the moves reported are false)")


def segment_moves(cmp: pd.DataFrame) -> pd.DataFrame:
    """Segment before x segment after: counts of trusts, and of those whose move is beyond noise."""
    t = pd.crosstab(cmp["segment_before"], cmp["segment"], rownames=["segment before"], colnames=["segment now"])
    return t

def sensitivity_data(ctx: ReportContext):
    """Sensitivity data at the richest level the inputs allow: metric level when they hold
    metric scores, else the published domain scores (as for the real Q3 extract)."""
    from ..sensitivity import from_inputs

    level = "metric" if ctx.has_metric_scores else "domain"
    if level == "domain" and "domain_scores" not in ctx.capabilities:
        raise InputError(f"the inputs hold neither metric-level data nor published domain scores for "
                         f"{ctx.trust_type} trusts in {ctx.quarter}: no sensitivity analysis is possible",
                         column="data")
    sd = from_inputs(ctx.inputs, ctx.quarter, ctx.trust_type, ctx.method, level=level)
    scenarios, n_base = int(ctx.extra.get("scenarios", 0) or 0), int(ctx.extra.get("sobol_n_base", 0) or 0)
    check_memory(sensitivity_bytes(scenarios, n_base, 0, sd.n), f"scenarios = {scenarios:,} with a Sobol base "
                 f"of {n_base:,} on {sd.n} trusts", "use fewer scenarios or a smaller sobol_n_base")
    return sd


def sensitivity_space(sd, space: str = "") -> str:
    """The scenario space: the one named, else ``default`` (metric level) or ``domain``."""
    return space or ("default" if sd.level == "metric" else "domain")


def rank_shift_frame(oat) -> pd.DataFrame:
    """Rank changes per trust under each one-at-a-time choice, one column per choice value.

    Leaving out each metric in turn is pooled into one column, and so are the draws of a
    random weight scheme (columns then have more rows than trusts; shorter ones are padded
    with NaN).
    """
    d = oat.changes["rank_change"]
    choice = oat.params["oat_choice"].to_numpy()
    value = oat.params["oat_value"].astype(str).to_numpy()
    label = np.where(choice == "leave_out_metric", "leave out one metric (each in turn)",
                     np.where(choice == "leave_out_domain", "leave out " + value,
                              choice + ": " + value))
    cols = {}
    for lab in pd.unique(label):  # a loop over choice values (tens), each a vector over trusts
        cols[lab] = pd.Series(d[label == lab].ravel()).dropna().reset_index(drop=True)
    return pd.DataFrame(cols)


def concordance_matrix(long: pd.DataFrame, labels=None) -> pd.DataFrame:
    """The long output of :func:`nhs_league.sensitivity.concordance` as a square matrix."""
    names = list(dict.fromkeys([*long["a"], *long["b"]]))
    v = np.where(np.eye(len(names), dtype=bool), 1.0, np.nan)
    a = pd.Index(names).get_indexer(long["a"])
    b = pd.Index(names).get_indexer(long["b"])
    v[a, b] = long["spearman"].to_numpy(float)
    v[b, a] = long["spearman"].to_numpy(float)
    out = pd.DataFrame(v, index=names, columns=names)
    if labels:
        out = out.rename(index=labels, columns=labels)
    return out
