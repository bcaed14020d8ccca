"""``nhs-league validate``: list every problem in the input files."""

from __future__ import annotations

import sys

from ..catalogue import load_catalogue
from ..errors import InputError, Problems
from ..io import read_inputs
from ..pipeline import build_panel
from .common import notes_for


def register(sub) -> None:
    p = sub.add_parser(
        "validate", help="check input files and list every problem",
        description="Read NOF data and league-table files and list every problem found, one per "
                    "line (file, row, column, what is wrong). Exit 0 when clean, 2 otherwise.")
    p.add_argument("inputs", nargs="+", metavar="INPUT")
    p.add_argument("--catalogue", default=None, help="extra metric catalogue CSV")
    p.set_defaults(run=run)


def run(args) -> int:
    catalogue = load_catalogue(args.catalogue)
    problems = Problems(collect=True)
    inputs = read_inputs(args.inputs, problems, catalogue=catalogue)
    if len(inputs.metrics):
        for (q, t), _ in inputs.metrics.groupby(["quarter", "trust_type"]):
            if not t:
                continue
            try:
                build_panel(inputs, q, t, catalogue=catalogue)
            except InputError as exc:
                problems.add(exc)
    for p in problems.items:
        print(f"{p}", file=sys.stdout)
    for note in notes_for(inputs):
        print(f"note: {note}", file=sys.stderr)
    n_rows = len(inputs.metrics) + len(inputs.league)
    if problems:
        print(f"{len(problems.items)} problem(s) in {len(args.inputs)} file(s)", file=sys.stderr)
        return 2
    print(f"ok: {len(args.inputs)} file(s), {n_rows} rows, quarters {', '.join(inputs.quarters) or 'not stated'}",
          file=sys.stderr)
    return 0
