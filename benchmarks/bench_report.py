"""Benchmark of `nhs-league report`: the default suite's wall time, the time per notebook, and the floor.

The floor is what any notebook report costs before it does any work: starting a kernel and
importing what the notebooks import, measured by executing a one-cell notebook with those
imports through papermill (same kernel, same options as the runner). Goal: each notebook within
1.5x that floor, and the suite keeping both cores busy (sum of notebook times / wall time ~ 2).

Run:  .venv/bin/python benchmarks/bench_report.py [--repeat 3] [--skip-suite]
Writes nothing into the project: reports go to a temporary folder. Figures go into docs/reports.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import papermill

from nhs_league import report

FLOOR_SOURCE = ("import numpy, pandas, matplotlib\n"
                "from nhs_league import charts, report, ranks, uncertainty, sensitivity, funnel, pipeline")


def floor_seconds(kernel: str, folder: Path, repeat: int) -> list[float]:
    """Wall time of executing a one-cell notebook that only imports what the notebooks import."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    cell = nbformat.v4.new_code_cell("x = 1  # a parameter")
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(FLOOR_SOURCE)]
    src = folder / "floor.ipynb"
    nbformat.write(nb, str(src))
    out = []
    for i in range(repeat):
        t = time.perf_counter()
        papermill.execute_notebook(str(src), str(folder / f"floor-{i}.ipynb"), parameters={"x": i},
                                   kernel_name=kernel, cwd=str(folder), progress_bar=False,
                                   extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
        out.append(time.perf_counter() - t)
    return out


def per_notebook(folder: Path, repeat: int) -> dict[str, list[float]]:
    """Each notebook alone (one at a time) on the synthetic Q4 acute table, as in the default suite."""
    plan = report.plan_suite(quarter="2025Q4", trust_type="acute")
    chosen = {}
    for job in plan.jobs:  # one job per notebook; the synthetic data
        if job.dataset == "synthetic" and job.notebook not in chosen:
            chosen[job.notebook] = job
    times: dict[str, list[float]] = {name: [] for name in chosen}
    for i in range(repeat):
        for name, job in chosen.items():
            t = time.perf_counter()
            (r,) = report.build([job], output=folder / f"one-{i}", build_dir=folder / f"one-build-{i}", jobs=1,
                                progress=False)
            if not r.ok:
                raise SystemExit(r.line())
            times[name].append(time.perf_counter() - t)
    return times


def suite(folder: Path) -> tuple[float, float, int]:
    """The whole default suite with --jobs = cores: wall time, sum of notebook times, reports."""
    plan = report.plan_suite()
    t = time.perf_counter()
    results = report.build(plan, output=folder / "suite", build_dir=folder / "suite-build", progress=False)
    wall = time.perf_counter() - t
    failed = [r for r in results if not r.ok]
    if failed:
        raise SystemExit(failed[0].line())
    return wall, sum(r.seconds for r in results), len(results)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-suite", action="store_true")
    args = ap.parse_args(argv)
    kernel = report.ensure_kernel()
    print(f"cores: {os.cpu_count()}, kernel: {kernel}, python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        floor = floor_seconds(kernel, folder, args.repeat)
        f = statistics.median(floor)
        print(f"floor (kernel start + imports, one-cell notebook): median {f:.2f} s over {len(floor)} "
              f"({', '.join(f'{x:.2f}' for x in floor)})")
        times = per_notebook(folder, args.repeat)
        print(f"{'notebook (2025Q4 acute)':28s} {'median s':>9s} {'x floor':>8s} {'goal <= 1.5x':>13s}")
        rows = {}
        for name, ts in times.items():
            m = statistics.median(ts)
            rows[name] = m
            print(f"{name:28s} {m:9.2f} {m / f:8.2f} {'yes' if m <= 1.5 * f else 'NO':>13s}")
        out = {"floor_s": f, "per_notebook_s": rows}
        if not args.skip_suite:
            wall, total, n = suite(folder)
            print(f"default suite: {n} reports, wall {wall:.1f} s, sum of notebook times {total:.1f} s, "
                  f"parallelism {total / wall:.2f} (cores {os.cpu_count()})")
            out.update(suite_wall_s=wall, suite_notebook_sum_s=total, suite_reports=n)
        print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
