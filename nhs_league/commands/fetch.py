"""``nhs-league fetch``: download a quarter's official data and league-table files, checked."""

from __future__ import annotations

import argparse
import sys

from .. import orgtypes
from ..fetch import DEFAULT_DIR, DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT, KINDS, Progress, fetch, next_command
from ..quarters import parse_quarter


def _positive(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return v


def register(sub) -> None:
    p = sub.add_parser(
        "fetch", help="download a quarter's official NHS England files",
        description="Download a quarter's official NOF data and league-table files from NHS England, as "
                    "listed in the registry (nhs_league/data/registry.yaml; add or correct entries with "
                    "--registry FILE), and save them under NHS England's own file names. Each download is "
                    "checked (HTTP status, whole body, size limit, not an HTML page, a CSV header of its kind, "
                    "the SHA-256 where the registry knows it) and every file is checked before any is written; "
                    "files are written atomically and an existing file is only replaced with --force.")
    p.add_argument("quarter", metavar="QUARTER", help="quarter, e.g. 2025Q4 or 'Q4 2025/26'")
    p.add_argument("--trust-type", action="extend", nargs="+", default=None, metavar="T",
                   help=f"organisation type, repeatable (default: every type scored that year): {orgtypes.describe()}")
    p.add_argument("--kind", action="extend", nargs="+", default=None, choices=KINDS,
                   help="data and/or league-table (default: both)")
    p.add_argument("--dir", default=None, metavar="DIR",
                   help=f"folder to write into (default: {DEFAULT_DIR}/<quarter>/, git-ignored)")
    p.add_argument("--registry", default=None, metavar="FILE",
                   help="YAML file of registry entries that add to or replace the built-in ones")
    p.add_argument("--timeout", type=_positive, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help=f"longest wait for the server at any point (default {DEFAULT_TIMEOUT:g})")
    p.add_argument("--max-mb", type=_positive, default=DEFAULT_MAX_BYTES / 1e6, metavar="MB",
                   help=f"refuse a file larger than this (default {DEFAULT_MAX_BYTES / 1e6:g})")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.set_defaults(run=run)


def run(args) -> int:
    q = parse_quarter(args.quarter, column="QUARTER")
    types = [orgtypes.parse(t) for t in args.trust_type] if args.trust_type else None
    kinds = tuple(dict.fromkeys(args.kind)) if args.kind else KINDS
    done = fetch(q.code, trust_types=types, kinds=kinds, directory=args.dir, force=args.force,
                 registry=args.registry, timeout=args.timeout, max_bytes=int(args.max_mb * 1e6),
                 progress=Progress(sys.stderr))
    for f in done:
        check = "SHA-256 matches the registry" if f.checked else f"SHA-256 {f.sha256} (not in the registry)"
        print(f"nhs-league: wrote {f.path} ({f.size / 1e6:.1f} MB, {check})", file=sys.stderr)
        print(f.path)
    print("nhs-league: next, for example:", file=sys.stderr)
    for cmd in next_command(done):
        print(cmd)
    return 0
