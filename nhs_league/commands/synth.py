"""``nhs-league synth``: write the deterministic SYNTHETIC 2025/26 year in the official formats."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..synth import DEFAULT_OUTPUT, DEFAULT_SEED, write_year


def _seed(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError("the seed must be 0 or more")
    return v


def register(sub) -> None:
    p = sub.add_parser(
        "synth", help="write the SYNTHETIC 2025/26 year (fictional trusts)",
        description="Write a whole SYNTHETIC 2025/26 year (Q1-Q4; 134 acute, 61 mental health and "
                    "community, 10 ambulance fictional trusts) as NHS England data and league-table "
                    "CSV files. The same seed always gives byte-identical files. Existing files are "
                    "not overwritten without --force.")
    p.add_argument("--output", default=None, metavar="DIR",
                   help=f"folder to write into (default: {DEFAULT_OUTPUT})")
    p.add_argument("--seed", type=_seed, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.add_argument("--year", choices=("2025-26", "2026-27"), default="2025-26",
                   help="2025-26: the synthetic year of trusts (default); 2026-27: a SYNTHETIC Q1 2026/27 of "
                        "42 fictional ICBs, segmented PROVISIONALLY (default folder data/synthetic/2026-27)")
    p.set_defaults(run=run)


def run(args) -> int:
    if args.year == "2026-27":
        from .. import synth_icb

        out = Path(args.output) if args.output else synth_icb.DEFAULT_OUTPUT
        seed = args.seed if args.seed != DEFAULT_SEED else synth_icb.DEFAULT_SEED
        paths = synth_icb.write_quarter(out, seed=seed, force=args.force)
        print(f"nhs-league: wrote {len(paths)} SYNTHETIC files (42 ICBs, {synth_icb.QUARTER.label}, seed {seed}) "
              f"to {out}", file=sys.stderr)
        return 0
    out = Path(args.output) if args.output else DEFAULT_OUTPUT
    paths = write_year(out, seed=args.seed, force=args.force)
    size = sum(p.stat().st_size for p in paths)
    print(f"nhs-league: wrote {len(paths)} SYNTHETIC files ({size / 1e6:.1f} MB, seed {args.seed}) to {out}",
          file=sys.stderr)
    return 0
