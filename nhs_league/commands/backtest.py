"""``nhs-league backtest``: every recomputed figure against NHS England's published one."""

from __future__ import annotations

import sys

import pandas as pd

from ..backtest import backtest_panel
from ..catalogue import TRUST_TYPES, load_catalogue
from ..errors import InputError, Problems
from ..io import parse_trust_type, read_inputs, rows_for, select_quarter
from ..methods import default_method_for, load_method, resolve_for
from ..pipeline import build_panel
from .common import notes_for, print_notes


def register(sub) -> None:
    p = sub.add_parser(
        "backtest", help="compare the recompute with NHS England's published results",
        description="Recompute every quarter and trust type of official data files that carry published "
                    "results (metric scores OF1###, domain scores and segments OF4###, OF5000/2/3/4/5, and "
                    "a league-table file's ranks) and compare each step. Prints a table of exact-match "
                    "counts, then every mismatch. Exit status 0 when everything matches, 1 when something "
                    "does not, 2 on bad input.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="official NOF data file(s) and league-table file(s)")
    p.add_argument("--quarter", default=None, help="one quarter, e.g. 2025Q4 (default: every quarter in the input)")
    p.add_argument("--trust-type", default=None, help="one trust type (default: every type in the input)")
    p.add_argument("--method", default=None,
                   help="method preset name or YAML file (default: NHS England's preset for each quarter)")
    p.add_argument("--catalogue", default=None, help="extra metric catalogue CSV")
    p.add_argument("--provisional", action="store_true",
                   help="with a preset whose segment thresholds are not published (nof-2026-27): use its "
                        "provisional cut-offs, labelled PROVISIONAL")
    p.set_defaults(run=run)


def run(args) -> int:
    catalogue = load_catalogue(args.catalogue)
    problems = Problems()
    inputs = read_inputs(args.inputs, problems, catalogue=catalogue)
    problems.raise_if_any()
    m = inputs.metrics
    if not len(m):
        raise InputError("backtest needs an official data file (one row per trust and metric)",
                         file=", ".join(sorted(inputs.files)) or None)
    quarters = [select_quarter(inputs, args.quarter)] if args.quarter else sorted(set(m["quarter"]) - {""}) or [
        select_quarter(inputs, None)]
    types = [parse_trust_type(args.trust_type)] if args.trust_type else [t for t in TRUST_TYPES
                                                                         if t in set(m["trust_type"])]
    summaries, mismatches, notes = [], [], notes_for(inputs)
    for q in quarters:
        preset = load_method(args.method) if args.method else default_method_for(q)
        for t in types:
            if not len(rows_for(m, q, t)):
                continue
            method = resolve_for(preset, t, provisional=args.provisional)  # 2026/27: the type's thresholds
            panel = build_panel(inputs, q, t, catalogue=catalogue)
            notes += [f"{q} {t}: {n}" for n in panel.notes if n not in notes]  # unknown IDs: said once
            s, bad = backtest_panel(panel, method)
            summaries.append(s.assign(Method=method.label))
            mismatches.append(bad)
    summary = pd.concat(summaries, ignore_index=True) if summaries else pd.DataFrame()
    bad = pd.concat(mismatches, ignore_index=True) if mismatches else pd.DataFrame()
    if not len(summary):
        raise InputError("the input carries no published results to compare with (no OF1###, OF4### or "
                         "OF5### rows, no league table)", file=", ".join(sorted(inputs.files)))
    print_notes(notes)
    out = sys.stdout
    with pd.option_context("display.width", 200, "display.max_rows", 10_000, "display.max_columns", 20):
        out.write("Exact matches, step by step (published vs recomputed; scores at 2 dp)\n")
        out.write(summary.to_string(index=False) + "\n")
        total, exact = int(summary["Compared"].sum()), int(summary["Exact"].sum())
        out.write(f"\n{exact} of {total} published figures reproduced exactly; {total - exact} mismatch(es).\n")
        if len(bad):
            out.write("\nMismatches\n" + bad.to_string(index=False) + "\n")
    return 0 if exact == total else 1
