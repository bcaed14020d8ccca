"""``nhs-league context``: does catchment deprivation explain the league, and what would a
deprivation-adjusted league look like?

Writes, into the ``--output`` directory (every file has a ``Data`` column, SYNTHETIC when the
league or the catchment data are synthetic):

* ``trust_context.csv``  per trust: catchment scores (overall IMD and each domain), deprivation
                         quintile, subtype, region, average, segment, league rank, domain scores;
* ``association.csv``    one row per measure: ``Measure, Group, Estimate, Low, High, N`` (and
                         ``P_value``, ``Interval``, ``Data``): Spearman correlations with bootstrap
                         ranges, quintile means and segment shares, the OLS regression;
* ``adjusted_league.csv`` the deprivation-adjusted average, segment and rank beside the league's,
                         with the shifts and whether each lies outside the trust's rank set.

Same inputs and seed: byte-identical files.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from .. import context as cx
from ..errors import InputError
from ..files import OutputError, OutputExistsError, write_csv
from .common import add_input_arguments, load, print_notes

FILES = ("trust_context.csv", "association.csv", "adjusted_league.csv")


def register(sub) -> None:
    p = sub.add_parser(
        "context", help="catchment deprivation against the league, and a deprivation-adjusted league",
        description="Join each trust's catchment deprivation (share-weighted mean of its areas' IMD scores) "
                    "with the league of one quarter; measure the association (Spearman correlations with "
                    "bootstrap intervals, quintile means and segment shares, an OLS regression with robust "
                    "standard errors); and re-segment and re-rank a league whose averages are adjusted for "
                    "deprivation. Association only: ecological, catchments from admissions.")
    add_input_arguments(p, output_help="directory to write the CSV files into (required)")
    p.add_argument("--catchment", default=None, metavar="FILE",
                   help="catchment CSV: trust code, area code, share of the trust's patients (default: OHID's "
                        "acute catchments in ../shared, or the SYNTHETIC ones for synthetic input)")
    p.add_argument("--index", default=None, metavar="FILE",
                   help="area deprivation CSV: area code, Score, <Domain>_Score columns (default: IMD 2019 by "
                        "local authority in ../shared, or the SYNTHETIC one for synthetic input)")
    p.add_argument("--draws", type=int, default=2000,
                   help="bootstrap resamples for the intervals and the rank sets (default 2000)")
    p.add_argument("--coverage", type=float, default=0.95, help="confidence level of every interval (default 0.95)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0); same seed, same output")
    p.set_defaults(run=run)


def _check_output(args) -> Path:
    if not args.output:
        raise InputError("give --output DIR: the directory to write the CSV files into", column="--output")
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out} exists and is not a directory")
    parent = next((q for q in out.parents if q.exists()), None)
    if parent is not None and not parent.is_dir():
        raise OutputError(f"cannot write into {out}: {parent} is a file, not a folder")
    existing = [str(out / f) for f in FILES if (out / f).exists()]
    if existing and not args.force:
        raise OutputExistsError(f"{existing[0]} exists"
                                f"{f' (and {len(existing) - 1} more)' if len(existing) > 1 else ''}: "
                                "pass --force to overwrite")
    return out


def run(args) -> int:
    if args.draws < 10:
        raise InputError("--draws must be at least 10", column="--draws")
    if not 0 < args.coverage < 1:
        raise InputError(f"--coverage must be between 0 and 1, got {args.coverage:g}", column="--coverage")
    if args.seed < 0:
        raise InputError("--seed must be 0 or more", column="--seed")
    out = _check_output(args)
    ld = load(args)
    ctx = cx.load_context(ld.inputs, ld.quarter, ld.trust_type, ld.method, catchment=args.catchment,
                          index=args.index)
    assoc_seed, sets_seed = np.random.SeedSequence(args.seed).spawn(2)
    assoc = cx.association(ctx, draws=args.draws, coverage=args.coverage, seed=assoc_seed)
    try:
        sets = cx.rank_sets(ctx, ld.inputs, coverage=args.coverage, draws=args.draws, seed=sets_seed)
        sets_note = sets["source"].iloc[0]
    except InputError as exc:
        sets, sets_note = None, f"no rank sets: {exc.message}"
    adjusted = cx.adjusted_league(ctx, sets)
    tables = {"trust_context.csv": cx.trust_context_table(ctx), "association.csv": assoc,
              "adjusted_league.csv": adjusted}
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write into {out}: {exc.strerror or exc}") from None
    s = cx.shift_summary(adjusted)
    print_notes(ld.notes + ctx.notes + [
        f"adjusted league: slope {s['slope_per_10_points']:+.3f} average-score points per 10 IMD points; "
        f"mean |league rank shift| {s['mean_abs_rank_shift']:.1f}, largest {s['max_abs_rank_shift']}; "
        f"{s['segment_changes']} segment change(s); {s['outside_rank_set']} of {s['with_rank_set']} adjusted "
        f"average ranks outside the trust's rank set ({sets_note})"])
    for name, df in tables.items():
        write_csv(df, out / name, force=True)
    print(f"nhs-league: wrote {len(tables)} files to {out} ({len(ctx.table)} trusts, seed {args.seed}"
          f"{', SYNTHETIC data' if ctx.synthetic else ''})", file=sys.stderr)
    return 0
