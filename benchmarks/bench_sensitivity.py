"""Benchmark: the method-choice Monte Carlo of nhs_league.sensitivity.

Goal (statistics.md §4, the project brief): 10,000 Monte Carlo scenarios over every method
choice of the ``default`` scenario space, on 134 acute trusts x ~28 metrics, in under 3 s on the
project's 2-core machine.

Data: the acute panel of the committed SYNTHETIC year (``data/synthetic/2025-26``, Q3) when it is
there, else a random SYNTHETIC panel of 134 trusts (``sensitivity.example_panel``).

What is timed, best of ``--repeats`` (default 3), imports excluded:

* ``cold``: build the sensitivity data from the panel (so the 8 score matrices, 4 scoring rules x
  2 peer sets, are computed inside the timing), run the Monte Carlo, and summarise per trust and
  per table;
* ``warm``: the same Monte Carlo and summaries on data whose score matrices are already cached;
* the one-at-a-time runs (100 draws per random weight scheme) and Sobol indices (n_base = 1024,
  i.e. 10,240 scenario evaluations plus SALib's bootstrap), for reference.

    .venv/bin/python benchmarks/bench_sensitivity.py [--scenarios 10000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
try:
    import nhs_league  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

from nhs_league import sensitivity as sens  # noqa: E402
from nhs_league.io import read_inputs  # noqa: E402
from nhs_league.methods import load_method  # noqa: E402
from nhs_league.pipeline import build_panel  # noqa: E402

SYN = ROOT / "data" / "synthetic" / "2025-26" / "q3-25-26"
FILES = [SYN / "nhs-oversight-framework-acute-trust-data-q3-25-26-v2.csv",
         SYN / "nhs-oversight-framework-acute-trust-league-table-q3-25-26-v2.csv"]


def load_panel():
    if all(p.exists() for p in FILES):
        return build_panel(read_inputs(FILES), "2025Q3", "acute"), "synthetic year, Q3 2025/26 acute (SYNTHETIC)"
    return sens.example_panel(134, seed=0), "random example panel (SYNTHETIC)"


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), times


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sobol-n", type=int, default=1024)
    args = ap.parse_args(argv)

    panel, what = load_panel()
    method = load_method("nof-2025-26")
    print(f"data: {what}: {panel.n} trusts x {len(panel.metric_ids)} metrics")
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")

    def cold():
        d = sens.from_panel(panel, method)
        mc = sens.monte_carlo(d, "default", args.scenarios, seed=1)
        mc.trust_summary()
        mc.table_summary()

    warm_data = sens.from_panel(panel, method)
    sens.monte_carlo(warm_data, "default", 10, seed=0)  # fills the score cache

    def warm():
        mc = sens.monte_carlo(warm_data, "default", args.scenarios, seed=1)
        mc.trust_summary()
        mc.table_summary()

    t_cold, all_cold = best_of(cold, args.repeats)
    t_warm, all_warm = best_of(warm, args.repeats)
    t_oat, _ = best_of(lambda: sens.choice_summary(sens.one_at_a_time(warm_data, "default")), args.repeats)
    t_sobol, _ = best_of(lambda: sens.sobol_analysis(warm_data, "default", args.sobol_n, seed=1), args.repeats)
    goal = 3.0
    print(f"Monte Carlo, {args.scenarios} scenarios, cold (scores computed): best of {args.repeats} "
          f"{t_cold:.3f} s  [{', '.join(f'{t:.3f}' for t in all_cold)}]  goal < {goal:.0f} s: "
          f"{'met' if t_cold < goal else 'NOT met'}")
    print(f"Monte Carlo, {args.scenarios} scenarios, warm (scores cached): best of {args.repeats} "
          f"{t_warm:.3f} s  [{', '.join(f'{t:.3f}' for t in all_warm)}]")
    print(f"one-at-a-time (all choices, 100 draws per random weight scheme): {t_oat:.3f} s")
    print(f"Sobol indices, n_base {args.sobol_n}: {t_sobol:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
