"""Benchmark of `nhs-league report`: the default suite's wall time, the time per notebook, and the floor.

The floor is what any notebook report costs before it does any work: starting the report kernel
and importing what *every* notebook imports (its first code cell: ``from nhs_league import charts,
report``, which brings numpy, pandas and matplotlib), measured by executing a one-cell notebook
through papermill with the runner's own options (``report.PAPERMILL_OPTIONS``, same kernel).
Imports only some notebooks make (scipy.stats through ``nhs_league.funnel`` in the trust profile,
SALib and scipy.stats for the Sobol indices in the sensitivity report) count as those notebooks'
work. The earlier floor (before 2026-11-25) imported those too; it is still measured ("union floor")
so the old and new ratios can be compared.

Each notebook also gets its *own floor*: the kernel start plus importing exactly the modules that
notebook ends up importing. They are recorded, not guessed: the notebook is executed once with its
suite parameters and an extra last cell that writes ``sorted(sys.modules)``; a bare kernel is
recorded the same way, and the own-floor notebook imports (``importlib.import_module``, in sorted
order) every module the notebook had loaded that the bare kernel had not -- scipy.stats and SALib
for the sensitivity report included. The strict floor stays the headline; the own floor shows how
much of a notebook's time is import cost and how much is work. Goal (issue 14): each notebook within
2x its own floor, and the suite at least 3x faster than the naive route (the papermill CLI, then the
nbconvert CLI, once per notebook, one after another) on the same notebooks and inputs, measured side
by side in one run (``--naive-jobs``). It also times the 61 trust profiles of NHS England's MH&C release
built in parallel, as `make report` builds them (``--skip-real-profiles`` to leave that out).

Run:  .venv/bin/python benchmarks/bench_report.py [--repeat 3] [--skip-suite]
Writes nothing into the project: reports go to a temporary folder. Figures go into README.md (Speed) and docs/reports.md (Speed).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import papermill

from nhs_league import report

#: What every notebook imports (each one's first code cell).
FLOOR_SOURCE = "from nhs_league import charts, report"
#: The earlier floor: the union of what any notebook imports (pulls in scipy.stats).
UNION_FLOOR_SOURCE = ("import numpy, pandas, matplotlib\n"
                      "from nhs_league import charts, report, ranks, uncertainty, sensitivity, funnel, pipeline")


def floor_notebook(kernel: str, folder: Path, source: str = FLOOR_SOURCE, name: str = "floor") -> Path:
    """A notebook with a parameters cell and one cell that only imports ``source``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    cell = nbformat.v4.new_code_cell("x = 1  # a parameter")
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(source)]
    src = folder / f"{name}.ipynb"
    nbformat.write(nb, str(src))
    return src


MODULES_CELL = ("import json as _j, sys as _s\n"
                "with open({path!r}, 'w') as _f:\n"
                "    _j.dump(sorted(_s.modules), _f)")


def loaded_modules(src: Path, params: dict, kernel: str, folder: Path, name: str) -> list[str]:
    """The modules loaded in the kernel after executing ``src`` with ``params`` (plus one cell)."""
    nb = nbformat.read(str(src), as_version=4)
    dump = folder / f"{name}-modules.json"
    nb.cells.append(nbformat.v4.new_code_cell(MODULES_CELL.format(path=str(dump))))
    tmp = folder / f"{name}-modules.ipynb"
    nbformat.write(nb, str(tmp))
    papermill.execute_notebook(str(tmp), str(folder / f"{name}-modules-out.ipynb"), parameters=params,
                               kernel_name=kernel, cwd=str(folder), execution_timeout=report.CELL_TIMEOUT,
                               **report.PAPERMILL_OPTIONS)
    return json.loads(dump.read_text())


def own_floor_source(modules: list[str], bare: list[str]) -> str:
    """One cell importing every module in ``modules`` that the bare kernel did not have loaded."""
    extra = sorted(set(modules) - set(bare) - {"__main__"})
    return ("import importlib\n"
            f"for _m in {extra!r}:\n"
            "    try:\n"
            "        importlib.import_module(_m)\n"
            "    except Exception:\n"
            "        pass")


def floor_once(src: Path, kernel: str, folder: Path, i: int) -> float:
    """Seconds to execute ``src`` as the runner executes a report (same kernel and options)."""
    t = time.perf_counter()
    papermill.execute_notebook(str(src), str(folder / f"{src.stem}-{i}.ipynb"), parameters={"x": i},
                               kernel_name=kernel, cwd=str(folder), execution_timeout=report.CELL_TIMEOUT,
                               **report.PAPERMILL_OPTIONS)
    return time.perf_counter() - t


def per_notebook(kernel: str, folder: Path, repeat: int, only=None) -> tuple:
    """Each notebook alone on the synthetic Q4 acute table (as in the default suite), one at a
    time, each run right after a floor run so that both see the same load on a shared machine.

    Each notebook parses every input file it reads (there is no parsed-input cache). Each round
    runs each notebook twice, back to back ("cold" and "warm": the second finds the operating
    system's file cache and the byte-compiled package warm); the ratios are of the second runs.

    Returns, per notebook, papermill execution seconds (warm), total seconds (with HTML export and
    manifest) and the ratio of each run to the floor run just before it; then the floor runs and
    the union-floor runs (one per round); then each notebook's own-floor runs, the ratio of each
    run to its own-floor run, the top-level packages the notebook imports beyond a bare kernel, the
    per-cell seconds, and the cold runs' execution seconds.
    """
    plan = report.plan_suite(quarter="2025Q4", trust_type="acute")
    chosen = {}
    for job in plan.jobs:  # one job per notebook; the synthetic data
        if job.dataset == "synthetic" and job.notebook not in chosen and (not only or job.notebook in only):
            chosen[job.notebook] = job
    src = floor_notebook(kernel, folder)
    union = floor_notebook(kernel, folder, UNION_FLOOR_SOURCE, "union-floor")
    bare = loaded_modules(floor_notebook(kernel, folder, "pass", "bare"), {"x": 0}, kernel, folder, "bare")
    own_src, imported = {}, {}
    for name, job in chosen.items():
        mods = loaded_modules(job.notebook_path, report.check_parameters(job.notebook_path, job.parameters),
                              kernel, folder, name)
        imported[name] = sorted({m.split(".")[0] for m in set(mods) - set(bare)} - {"__main__"})
        own_src[name] = floor_notebook(kernel, folder, own_floor_source(mods, bare), f"own-floor-{name}")
    own = {name: [] for name in chosen}
    own_paired = {name: [] for name in chosen}
    execute = {name: [] for name in chosen}
    total = {name: [] for name in chosen}
    paired = {name: [] for name in chosen}
    cells = {name: [] for name in chosen}
    cold = {name: [] for name in chosen}
    floors, union_floors = [], []
    k = 0
    report.export_html(nbformat.read(str(src), as_version=4), "warm-up")  # the runner makes its exporter once
    for i in range(repeat):
        union_floors.append(floor_once(union, kernel, folder, i))
        for name, job in chosen.items():
            floors.append(floor_once(src, kernel, folder, k))
            own[name].append(floor_once(own_src[name], kernel, folder, k))
            k += 1
            build_dir = folder / f"one-build-{i}"
            for run in ("cold", "warm"):
                (r,) = report.build([job], output=folder / f"one-{i}-{run}", build_dir=build_dir, jobs=1,
                                    progress=False)
                if not r.ok:
                    raise SystemExit(r.line())
                if run == "cold":
                    cold[name].append(r.execute_seconds)
            cells[name].append(cell_seconds(r.executed))
            execute[name].append(r.execute_seconds)
            total[name].append(r.seconds)
            paired[name].append(r.execute_seconds / floors[-1])
            own_paired[name].append(r.execute_seconds / own[name][-1])
    return execute, total, paired, floors, union_floors, own, own_paired, imported, cells, cold


def cell_seconds(executed: Path) -> list[tuple[str, float]]:
    """Each code cell's first line and its duration as papermill recorded it in the executed notebook."""
    nb = nbformat.read(str(executed), as_version=4)
    out = []
    for c in nb.cells:
        if c.cell_type == "code":
            first = next((ln for ln in c.source.splitlines() if ln.strip() and not ln.startswith("#")), "")
            out.append((first[:70], float(c.metadata.get("papermill", {}).get("duration") or 0.0)))
    return out


def cell_medians(runs: list) -> list[tuple[str, float]]:
    """Median duration of each cell over the runs (the cells are the same in every run)."""
    return [(runs[0][j][0], statistics.median(r[j][1] for r in runs)) for j in range(len(runs[0]))]


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


def naive_route(jobs, folder: Path) -> float:
    """Wall seconds of the naive route on ``jobs``: for each, one after another, the papermill CLI
    (``papermill IN OUT -y PARAMS -k nhs-league``) and then the nbconvert CLI (``jupyter nbconvert
    --to html --no-input OUT``), each a fresh process, as an analyst without the runner would do."""
    import subprocess
    import yaml

    bin_dir = Path(sys.executable).parent
    papermill_cli, jupyter_cli = str(bin_dir / "papermill"), str(bin_dir / "jupyter")
    params = report.validate_jobs(jobs)
    t = time.perf_counter()
    for i, (job, prm) in enumerate(zip(jobs, params)):
        out = folder / f"naive-{i}-{job.name}.ipynb"
        for cmd in ([papermill_cli, str(job.notebook_path), str(out), "-y", yaml.safe_dump(prm), "-k", report.KERNEL_NAME,
                     "--cwd", str(folder)],
                    [jupyter_cli, "nbconvert", "--to", "html", "--no-input", str(out)]):
            res = subprocess.run(cmd, capture_output=True, text=True)
            if res.returncode:
                raise SystemExit(f"naive route failed: {' '.join(cmd[:2])}: {res.stderr.strip().splitlines()[-1:]}")
    return time.perf_counter() - t


def runner_route(jobs, folder: Path) -> float:
    """Wall seconds of ``nhs-league report`` (``report.build``, default --jobs) on the same jobs."""
    t = time.perf_counter()
    results = report.build(jobs, output=folder / "runner", build_dir=folder / "runner-build", progress=False,
                           force=True)
    wall = time.perf_counter() - t
    failed = [r for r in results if not r.ok]
    if failed:
        raise SystemExit(failed[0].line())
    return wall


def side_by_side(folder: Path, n_jobs: int) -> dict:
    """The naive route and the runner on the same notebooks and inputs, in one run: the first
    ``n_jobs`` jobs of the default suite that use the synthetic Q4 data (all five notebooks)."""
    plan = report.plan_suite(quarter="2025Q4")
    jobs = [j for j in plan.jobs if j.dataset == "synthetic"][:n_jobs]
    runner = runner_route(jobs, folder)
    naive = naive_route(jobs, folder)
    return {"jobs": len(jobs), "naive_s": naive, "runner_s": runner, "speed_up": naive / runner}


def real_profiles(folder: Path) -> dict | None:
    """The trust profiles of the default suite built on NHS England's official MH&C release (one per
    trust of the latest quarter), on every core at once as `make report` builds them; None when
    ../shared does not hold the release."""
    jobs = [j for j in report.plan_suite().jobs if j.dataset == "real-mhc" and j.notebook == "trust_profile"]
    if not jobs:
        return None
    t = time.perf_counter()
    results = report.build(jobs, output=folder / "real-profiles", build_dir=folder / "real-profiles-build",
                           progress=False, force=True)
    wall = time.perf_counter() - t
    failed = [r for r in results if not r.ok]
    if failed:
        raise SystemExit(failed[0].line())
    each = [r.seconds for r in results]
    return {"reports": len(results), "wall_s": wall, "sum_s": sum(each), "median_report_s": statistics.median(each),
            "parallelism": sum(each) / wall}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-suite", action="store_true")
    ap.add_argument("--notebooks", nargs="*", help="only these notebooks (default: all five)")
    ap.add_argument("--naive-jobs", type=int, default=10,
                    help="reports timed side by side by the naive route and by the runner (0 to skip)")
    ap.add_argument("--skip-per-notebook", action="store_true")
    ap.add_argument("--skip-real-profiles", action="store_true",
                    help="do not time the 61 trust profiles on NHS England's MH&C release")
    args = ap.parse_args(argv)
    # byte-compile the package as `make report` does (each kernel imports it afresh; where
    # PYTHONDONTWRITEBYTECODE is set nothing is cached otherwise)
    compileall.compile_dir(str(Path(report.__file__).parent), quiet=1)
    kernel = report.ensure_kernel()
    print(f"cores: {os.cpu_count()}, kernel: {kernel}, python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        side = {}
        if args.naive_jobs:
            side = side_by_side(folder, args.naive_jobs)
            print(f"naive route (papermill CLI then nbconvert CLI, one report after another) vs the runner, "
                  f"{side['jobs']} reports: {side['naive_s']:.1f} s vs {side['runner_s']:.1f} s wall, "
                  f"{side['speed_up']:.2f}x faster (goal >= 3x: {'met' if side['speed_up'] >= 3 else 'NOT met'})")
        real = None
        if not args.skip_real_profiles:
            real = real_profiles(folder)
            if real:
                print(f"real MH&C trust profiles: {real['reports']} reports on {os.cpu_count()} cores, wall "
                      f"{real['wall_s']:.1f} s (sum of report times {real['sum_s']:.1f} s, median report "
                      f"{real['median_report_s']:.2f} s, parallelism {real['parallelism']:.2f})")
            else:
                print("real MH&C trust profiles: skipped, ../shared does not hold NHS England's MH&C release")
        if args.skip_per_notebook:
            print(json.dumps({"side_by_side": side, "real_profiles": real}, indent=2))
            return 0
        execute, total, paired, floors, union_floors, own, own_paired, imported, cells, cold = per_notebook(
            kernel, folder, args.repeat, args.notebooks)
        f_med, f_min = statistics.median(floors), min(floors)
        u_med = statistics.median(union_floors)
        print(f"floor (kernel start + `{FLOOR_SOURCE}`, via papermill): median {f_med:.2f} s, "
              f"min {f_min:.2f} s over {len(floors)} runs")
        print(f"union floor (the earlier floor: also imports sensitivity, funnel -> scipy.stats): median "
              f"{u_med:.2f} s over {len(union_floors)} runs")
        print(f"{'notebook (2025Q4 acute)':24s} {'execute s':>10s} {'x floor':>8s} {'<=2x':>7s} "
              f"{'x union':>8s} {'own fl s':>8s} {'x own':>6s} {'<=2x':>7s} {'total s':>8s} {'cold s':>7s}   (medians of "
              f"{args.repeat}; second of two runs; x floor = median of each run / the floor run just before it; "
              "min/min ratio in brackets; cold s = the first of the two runs)")
        rows = {}
        for name in execute:
            e, t = statistics.median(execute[name]), statistics.median(total[name])
            ratio, ratio_min = statistics.median(paired[name]), min(execute[name]) / f_min
            o, o_ratio = statistics.median(own[name]), statistics.median(own_paired[name])
            c = statistics.median(cold[name])
            rows[name] = {"execute_s": e, "total_s": t, "x_floor": ratio, "x_floor_min": ratio_min,
                          "x_union_floor": e / u_med, "own_floor_s": o, "x_own_floor": o_ratio,
                          "own_floor_imports": imported[name], "runs_s": execute[name],
                          "paired_ratios": paired[name], "own_floor_runs_s": own[name],
                          "own_paired_ratios": own_paired[name], "cold_execute_s": c, "cold_runs_s": cold[name]}
            print(f"{name:24s} {e:10.2f} {ratio:8.2f} {'yes' if ratio <= 2 else 'NO':>7s} {e / u_med:8.2f} "
                  f"{o:8.2f} {o_ratio:6.2f} {'yes' if o_ratio <= 2 else 'NO':>7s} {t:8.2f} {c:7.2f}   ({ratio_min:.2f})")
        for name in execute:
            print(f"  {name} imports beyond a bare kernel: {', '.join(imported[name])}")
        print("where the time goes (median seconds per code cell, as papermill records them; the first "
              "code cell after the parameters holds the floor's imports):")
        for name in execute:
            med = cell_medians(cells[name])
            rows[name]["cells_s"] = med
            print(f"  {name}: " + "; ".join(f"{sec:.2f} {src[:38]}" for src, sec in med if sec >= 0.05))
        out = {"floor_median_s": f_med, "floor_min_s": f_min, "union_floor_median_s": u_med, "notebooks": rows,
               "side_by_side": side, "real_profiles": real}
        if not args.skip_suite:
            wall, tot, n = suite(folder)
            print(f"default suite: {n} reports, wall {wall:.1f} s, sum of notebook times {tot:.1f} s, "
                  f"parallelism {tot / wall:.2f} (cores {os.cpu_count()})")
            out.update(suite_wall_s=wall, suite_notebook_sum_s=tot, suite_reports=n)
        print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
