"""``nhs-league ranks``: how much of each league position is real, one CSV row per trust.

From one source of uncertainty (``--source metrics``, the default: bootstrap over each
trust's metric scores; or ``--source sampling``: parametric bootstrap of numerators and
denominators through the whole pipeline; or ``--source domains``, the default and only source
for the real Q3 2025/26 extract, which carries no per-metric scores: bootstrap over each trust's
five published domain scores) the command builds replicate league tables
(:mod:`nhs_league.uncertainty`), takes the covariance of the trusts' average scores, and
computes confidence sets for the rank of each trust's average score (Mogstad, Romano,
Shaikh & Wilhelm 2024; :mod:`nhs_league.ranks`), the verdict for each pair of trusts
adjacent in that order, percentile intervals of the league rank, segment probabilities
and the distance to the nearest segment cut-off. Same input and seed: byte-identical CSV.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError, MethodError
from ..io import TRUST_TYPE_LABELS
from ..limits import MAX_DRAWS, check_count, check_memory, ranks_bytes
from ..methods import check_coverage
from ..ranks import adjacent_pairs, rank_confidence_sets, separation_places
from ..uncertainty import (SOURCES, basket_bootstrap, basket_jackknife, domain_basket_bootstrap,
                           load_likely_range_preset, nhse_likely_ranges,
                           nhse_replicates, read_denominators, sampling_replicates)
from .common import add_input_arguments, check_output_file, emit, load

CLI_SOURCES = ("metrics", "sampling", "nhse")
ALL_SOURCES = CLI_SOURCES + ("domains",)
DEFAULT_DRAWS = 1000  # replicates (metrics, sampling) and rank-test draws; nhse replicates: its preset's


def register(sub) -> None:
    p = sub.add_parser(
        "ranks", help="rank confidence sets, rank intervals and segment probabilities",
        description="Build replicate league tables from one source of uncertainty, then give each trust a "
                    "confidence set for the rank of its average score (Mogstad, Romano, Shaikh & Wilhelm "
                    "2024), whether it can be told apart from the next trust, a percentile interval of its "
                    "league rank, and the probability of each segment. Source 'metrics' (default) resamples "
                    "each trust's metric scores; 'sampling' redraws each metric from its numerator and "
                    "denominator and re-runs the whole pipeline (needs denominators); 'nhse' is NHS England's "
                    "likely-range method, reproduced (NHSE_range_* columns beside the published Likely_range_*).")
    add_input_arguments(p)
    p.add_argument("--source", default=None, choices=ALL_SOURCES,
                   help="metrics: bootstrap over each trust's metric scores (default); sampling: parametric "
                        "bootstrap of numerators/denominators through the whole pipeline; nhse: NHS England's "
                        "likely-range method, reproduced (20,000 replicates unless --draws is given); domains: "
                        "bootstrap over each trust's published domain scores (default for the real Q3 extract, "
                        "which has no per-metric scores)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--simultaneous", dest="simultaneous", action="store_true", default=True,
                   help="rank sets that cover all trusts' ranks jointly (default)")
    g.add_argument("--marginal", dest="simultaneous", action="store_false",
                   help="rank sets that each cover one trust's rank (narrower)")
    p.add_argument("--coverage", default="0.95",
                   help="confidence level of the rank sets and the percentile intervals (default 0.95)")
    p.add_argument("--draws", default=None,
                   help="number of replicates, and of rank-test draws (default 1000; --source nhse: 20,000 "
                        "replicates, 1,000 rank-test draws)")
    p.add_argument("--seed", default="0", help="random seed (default 0); same seed, same output")
    p.add_argument("--denominators", default=None,
                   help="CSV with Trust_code, Metric_ID, Denominator for --source sampling when the data "
                        "file has no Denominator column")
    p.set_defaults(run=run)


def _whole_number(text, name: str) -> int:
    try:
        return int(str(text).strip())
    except ValueError:
        raise MethodError(f"{name} must be a whole number, got {text!r}") from None


def _options(args) -> tuple[float, int | None, int]:
    coverage = check_coverage(args.coverage, name="--coverage")
    draws = None if args.draws is None else check_count(_whole_number(args.draws, "--draws"), "--draws", low=2,
                                                        high=MAX_DRAWS)
    seed = _whole_number(args.seed, "--seed")
    if seed < 0:
        raise MethodError(f"--seed must be 0 or more, got {args.seed}")
    return coverage, draws, seed


def rank_table(panel, method, *, source="metrics", coverage=0.95, simultaneous=True, draws=None, seed=0,
               denominators=None) -> pd.DataFrame:
    """The table ``nhs-league ranks`` writes, for one panel (see the module docstring).

    Columns: Quarter, Trust_code, Trust_name, Trust_type, Average_score (2 dp),
    Average_score_unrounded, Average_se, Segment, Rank (league rank); the **average-score
    ranking**: Average_rank, Rank_lower and Rank_upper (its confidence set), Interval
    (simultaneous/marginal), Coverage, N_significantly_better / N_significantly_worse,
    Next_by_average_code and Distinguishable_from_next_by_average; the **league ranking**:
    League_rank_lower / League_rank_upper (simultaneous confidence set for the league rank),
    N_surely_ahead_in_league / N_surely_behind_in_league, Next_in_league_code and
    Distinguishable_from_next_in_league; Bootstrap_range_rank_low/high, Median_rank,
    Expected_rank (of the league rank over the replicates: a bootstrap range, not a
    confidence set), P_segment_1-4 (and 5 when a trust is in segment 5), P_other_segment,
    Nearest_cutoff, Cutoff_distance_se, Average_se_jackknife (metrics source),
    NHSE_range_* (nhse source), Published_rank, Published_segment and Likely_range_* when a
    league-table file gave them, Rankability, Separation_places (how far apart in the
    league two trusts typically are before the test tells them apart), Headline, Source,
    Method, Data.
    """
    if source not in CLI_SOURCES:
        raise MethodError(f"unknown source {source!r}; expected one of {CLI_SOURCES}")
    rep_seed, rank_seed = np.random.SeedSequence(seed).spawn(2)
    rank_draws = DEFAULT_DRAWS if draws is None else draws
    jk = None
    if denominators is not None and source != "sampling":
        raise MethodError("--denominators is used only with --source sampling")
    if source == "sampling":
        reps = sampling_replicates(panel, method, draws=rank_draws, seed=rep_seed, denominators=denominators)
    elif source == "nhse":
        reps = nhse_replicates(panel, method, draws=draws, seed=rep_seed)
    else:
        reps = basket_bootstrap(panel, method, draws=rank_draws, seed=rep_seed)
        jk = basket_jackknife(panel, method)
    return _table(reps, jk, panel.quarter, panel.trust_type, method, source=source, coverage=coverage,
                  simultaneous=simultaneous, rank_draws=rank_draws, rank_seed=rank_seed)


def domain_rank_table(data, method, *, coverage=0.95, simultaneous=True, draws=None, seed=0) -> pd.DataFrame:
    """The ``ranks`` table for domain-level data (a :class:`~nhs_league.sensitivity.SensitivityData` built
    from published domain scores and averages, e.g. the real Q3 extract): replicates from
    :func:`~nhs_league.uncertainty.domain_basket_bootstrap` with the nominal (implied) domain weights.
    Same columns as :func:`rank_table`, without ``Average_se_jackknife``."""
    rep_seed, rank_seed = np.random.SeedSequence(seed).spawn(2)
    rank_draws = DEFAULT_DRAWS if draws is None else draws
    reps = domain_basket_bootstrap(data.domain_scores, data.nominal_weights, data.anchor, data.in_deficit,
                                   data.intensive_support, method, trust_codes=data.trusts.index,
                                   trust_names=data.trusts["trust_name"].to_numpy(), draws=rank_draws,
                                   seed=rep_seed, synthetic=data.synthetic)
    return _table(reps, None, data.quarter, data.trust_type, method, source="domains", coverage=coverage,
                  simultaneous=simultaneous, rank_draws=rank_draws, rank_seed=rank_seed)


def _table(reps, jk, quarter, trust_type, method, *, source, coverage, simultaneous, rank_draws,
           rank_seed) -> pd.DataFrame:
    s = reps.summary(coverage)
    codes = reps.trust_codes
    avg = s["average"].to_numpy()
    ok = np.isfinite(avg) & (s["rank"].to_numpy() > 0)
    est = pd.Series(avg[ok], index=codes[ok])
    cov = reps.covariance().loc[est.index, est.index]
    opts = dict(coverage=coverage, simultaneous=simultaneous, stepdown=True, draws=rank_draws, seed=rank_seed,
                lower_is_better=True)
    try:
        sets = rank_confidence_sets(est, cov, **opts)
        adj = adjacent_pairs(est, cov, **opts)
        league = reps.league_sets(coverage, draws=rank_draws, seed=rank_seed)
    except ValueError as exc:
        raise MethodError(f"rank confidence sets: {exc}") from None
    p = len(est)
    sets = sets.reindex(codes)
    nxt = adj.set_index("unit").reindex(codes)
    lg = league.table.reindex(codes)
    ladj = league.adjacent(order=pd.Series(s["rank"].to_numpy(), index=codes)[ok].sort_values(kind="stable").index)
    lnxt = ladj.set_index("unit").reindex(codes)
    t = pd.DataFrame({
        "Quarter": quarter,
        "Trust_code": codes.to_numpy(),
        "Trust_name": s["trust_name"].to_numpy(),
        "Trust_type": TRUST_TYPE_LABELS[trust_type],
        "Average_score": s["average_2dp"].to_numpy(),
        "Average_score_unrounded": np.round(avg, 6),
        "Average_se": np.round(s["se"].to_numpy(), 6),
        "Segment": s["segment"].to_numpy(),
        "Rank": s["rank"].to_numpy(),
        "Average_rank": pd.array(sets["rank"].to_numpy(), dtype="Int64"),
        "Rank_lower": pd.array(sets["lower"].to_numpy(), dtype="Int64"),
        "Rank_upper": pd.array(sets["upper"].to_numpy(), dtype="Int64"),
        "Interval": "simultaneous" if simultaneous else "marginal",
        "Coverage": coverage,
        "N_significantly_better": pd.array(sets["lower"].to_numpy() - 1, dtype="Int64"),
        "N_significantly_worse": pd.array(p - sets["upper"].to_numpy(), dtype="Int64"),
        "Next_by_average_code": nxt["next_unit"].to_numpy(dtype=object),
        "Distinguishable_from_next_by_average": pd.array(nxt["distinguishable"].to_numpy(dtype=object),
                                                         dtype="boolean"),
        "League_rank_lower": pd.array(lg["lower"].to_numpy(), dtype="Int64"),
        "League_rank_upper": pd.array(lg["upper"].to_numpy(), dtype="Int64"),
        "N_surely_ahead_in_league": pd.array(lg["surely_ahead"].to_numpy(), dtype="Int64"),
        "N_surely_behind_in_league": pd.array(lg["surely_behind"].to_numpy(), dtype="Int64"),
        "Next_in_league_code": lnxt["next_unit"].to_numpy(dtype=object),
        "Distinguishable_from_next_in_league": pd.array(lnxt["distinguishable"].to_numpy(dtype=object),
                                                        dtype="boolean"),
        "Bootstrap_range_rank_low": pd.array(s["rank_low"].to_numpy(), dtype="Int64"),
        "Bootstrap_range_rank_high": pd.array(s["rank_high"].to_numpy(), dtype="Int64"),
        "Median_rank": pd.array(s["rank_median"].to_numpy(), dtype="Int64"),
        "Expected_rank": np.round(s["rank_mean"].to_numpy(), 3),
    })
    seg_cols = [f"P_segment_{k}" for k in range(1, 5)]
    if (reps.segment == 5).any() or (s["segment"] == 5).any():
        seg_cols.append("P_segment_5")
    for c in seg_cols:
        t[c] = s[c].to_numpy()
    t["P_other_segment"] = s["P_other_segment"].to_numpy()
    t["Nearest_cutoff"] = np.round(s["nearest_cutoff"].to_numpy(), 6)
    t["Cutoff_distance_se"] = np.round(s["cutoff_distance_se"].to_numpy(), 3)
    if jk is not None:
        t["Average_se_jackknife"] = np.round(jk.se().to_numpy(), 6)
    nhse = None
    if source == "nhse":
        nhse = nhse_likely_ranges(reps)
        for c in nhse.columns:
            t[c] = nhse[c].to_numpy()
    for k, v in reps.published().items():
        t[k[0].upper() + k[1:]] = v
    t["Rankability"] = round(float(reps.rankability()["rho"]), 4)
    order = pd.Series(s["rank"].to_numpy(), index=codes)[ok].sort_values(kind="stable").index
    sep = separation_places(league.significance(), order)
    t["Separation_places"] = pd.array([sep] * len(t), dtype="Int64")
    t["Headline"] = reps.headlines(coverage, league=league, nhse=nhse).to_numpy()
    t["Source"] = reps.source
    t["Method"] = method.label
    t["Data"] = reps.data_label
    ranked = t["Rank"] > 0
    t = pd.concat([t[ranked].sort_values(["Rank", "Trust_code"], kind="stable"),
                   t[~ranked].sort_values("Trust_code")]).reset_index(drop=True)
    t.attrs["replicates"] = reps
    return t


def run(args) -> int:
    coverage, draws, seed = _options(args)
    check_output_file(args)
    ld = load(args)
    if len(ld.inputs.metrics) == 0:
        raise InputError("'ranks' needs a NOF data file (metric rows): a league-table file alone carries only "
                         "the averages, not the metric scores the uncertainty is built from",
                         file=", ".join(sorted(ld.inputs.files)) or None, column="Metric_ID")
    source = args.source or ("domains" if ld.extract else "metrics")
    if ld.extract and source != "domains":
        raise InputError(f"--source {source} cannot run on the real-data extract: it holds no per-metric scores "
                         "(OF1xxx rows) nor denominators; use --source domains (the default for it)",
                         file=", ".join(sorted(ld.inputs.files)), column="--source")
    if source == "domains":
        if args.denominators:
            raise MethodError("--denominators is used only with --source sampling")
        from ..sensitivity import from_inputs

        data = from_inputs(ld.inputs, ld.quarter, ld.trust_type, ld.method, level="domain")
        table = domain_rank_table(data, ld.method, coverage=coverage, simultaneous=args.simultaneous, draws=draws,
                                  seed=seed)
        reps = table.attrs.pop("replicates")
        sep = table["Separation_places"].iloc[0] if len(table) else pd.NA
        notes = ld.notes + data.notes + [
            f"intervals reflect {SOURCES[reps.source]} (coarse: five domains, not sampling noise); rankability "
            f"{table['Rankability'].iloc[0]:g}; "
            + (f"league neighbours about {sep} places apart can typically be told apart"
               if not pd.isna(sep) else "no two league positions can typically be told apart")]
        emit(table, args.output, force=args.force, notes=notes)
        return 0
    if args.denominators and source != "sampling":
        raise MethodError("--denominators is used only with --source sampling")
    den = read_denominators(args.denominators) if args.denominators else None
    panel = ld.panel()
    n, m = panel.values.shape
    planned = draws if draws is not None else (load_likely_range_preset()["draws"] if source == "nhse"
                                                else DEFAULT_DRAWS)
    check_memory(ranks_bytes(planned, n, m), f"{planned:,} draws on {n} trusts x {m} metrics", "use fewer --draws")
    table = rank_table(panel, ld.method, source=source, coverage=coverage, simultaneous=args.simultaneous,
                       draws=draws, seed=seed, denominators=den)
    reps = table.attrs.pop("replicates")
    sep = table["Separation_places"].iloc[0] if len(table) else pd.NA
    notes = ld.notes + [f"intervals reflect {SOURCES[reps.source]}; rankability {table['Rankability'].iloc[0]:g}; "
                        + (f"league neighbours about {sep} places apart can typically be told apart"
                           if not pd.isna(sep) else "no two league positions can typically be told apart")]
    if reps.source == "sampling":
        r = reps.resampled
        fixed = r.loc[~r["resampled"], "metric_id"].tolist()
        notes.append(f"resampled {int(r['resampled'].sum())} of {len(r)} metrics"
                     + (f"; fixed (no sampling model or no denominators): {', '.join(fixed)}" if fixed else ""))
    emit(table, args.output, force=args.force, notes=notes)
    return 0
