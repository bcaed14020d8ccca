"""Time NHS England's likely-range reproduction (``--source nhse``) on the committed synthetic year.

Per trust type of Q3 2025/26: ``nhse_replicates`` (20,000 replicates, the preset's count) plus
``nhse_likely_ranges``, best of ``--repeats`` runs. The figures go into docs/uncertainty.md §5.

    .venv/bin/python benchmarks/bench_likely_range.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from nhs_league.io import read_inputs
from nhs_league.methods import default_method_for
from nhs_league.pipeline import build_panel
from nhs_league.uncertainty import nhse_likely_ranges, nhse_replicates

ROOT = Path(__file__).resolve().parent.parent / "data" / "synthetic" / "2025-26" / "q3-25-26"


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args(argv)
    inputs = read_inputs(sorted(ROOT.glob("*.csv")))
    method = default_method_for("2025Q3")
    for trust_type in ("acute", "mental-health-and-community", "ambulance"):
        panel = build_panel(inputs, "2025Q3", trust_type)
        best = float("inf")
        for _ in range(a.repeats):  # whole calls, timed
            t0 = time.perf_counter()
            reps = nhse_replicates(panel, method, seed=0)
            nhse_likely_ranges(reps)
            best = min(best, time.perf_counter() - t0)
        print(f"{trust_type:28} {panel.n:4d} trusts x {len(panel.metric_ids):2d} metrics, {reps.draws} replicates: "
              f"{best:.2f} s (SYNTHETIC)")


if __name__ == "__main__":
    main()
