"""Benchmark: "what would move us up a segment?" for every trust of a quarter (issue 15).

Times :func:`nhs_league.whatif.what_if` (single-metric answers, the smallest combination where
no single metric does it, every answer re-run) for all trusts of one quarter and trust type, and
:func:`nhs_league.whatif.closeness` (gaps, trusts in between, metric-basket bootstrap of 1,000
replicates) on top. Inputs are read and the panel built before timing; each figure is the best of
``--repeats`` runs.

    .venv/bin/python benchmarks/bench_whatif.py            # real MH&C Q4 release if present, and synthetic Q4

Cases:

* ``real MH&C Q4``: NHS England's Q4 2025/26 mental health and community file (61 trusts), read
  from ../shared/data-raw/ in place. Seven of its metrics are scored across trust types and cannot
  be re-scored from one type's file, so fewer metrics are searched.
* ``synthetic MH&C Q4, all types``: the committed SYNTHETIC year's three Q4 data files, so every
  continuous metric's population is complete and every one is searched (the heavier case).

Also timed, for the candidates of one trust: one replicated ``compute`` of shape (K, n, m)
against ``K`` separate ``compute`` calls (what the vectorised search replaces).

Goal: all trusts of a quarter (61 MH&C) under 10 s.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
try:
    import nhs_league  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))
from nhs_league.errors import InputError, Problems  # noqa: E402
from nhs_league.io import read_inputs  # noqa: E402
from nhs_league.methods import default_method_for  # noqa: E402
from nhs_league.pipeline import build_panel, compute  # noqa: E402
from nhs_league.uncertainty import sampling_replicates  # noqa: E402
from nhs_league import whatif  # noqa: E402

REAL = ROOT.parent / "shared" / "data-raw" / "nhse_nof_mhc_2025_26_q4_release"
SYNTHETIC_Q4 = ROOT / "data" / "synthetic" / "2025-26" / "q4-25-26"
TYPE = "mental-health-and-community"


def best(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def case(label, files, repeats, draws):
    inputs = read_inputs(files, Problems())
    panel = build_panel(inputs, "2025Q4", TYPE)
    method = default_method_for("2025Q4")
    codes = list(panel.trusts.index)
    def every():
        prep = whatif.prepare(panel, method)  # shared by the table's trusts
        return [whatif.what_if(panel, method, c, prepared=prep) for c in codes]

    t_w, answers = best(every, repeats)
    def near():
        result = compute(panel, method)
        try:  # the sampling bootstrap, once for the table (it re-runs the whole method per replicate)
            reps = sampling_replicates(panel, method, draws=draws, seed=0)
        except InputError:
            reps = None  # unavailable (no denominators): each trust's row says so
        return [whatif.closeness(panel, method, c, draws=draws, seed=0, result=result, sampling=reps) for c in codes]

    t_c, _ = best(near, repeats)
    prep = whatif.prepare(panel, method)
    searched = sum(1 for lv in whatif.levers(prep.panel, method, 0, prep.values, prep.on_grid)
                   if lv.status not in (whatif.STATUS_CROSS_TYPE, whatif.STATUS_SCORE_ONLY))
    n_combo = sum(len(a.combination) > 0 for a in answers)
    n_single = sum(bool(a.singles["Reaches_target"].fillna(False).any()) for a in answers)
    print(f"{label}: {len(codes)} trusts, {len(panel.metric_ids)} scored metrics "
          f"({searched} levers searched for the first trust; {len(prep.on_grid)} metrics scored across trust types "
          "on NHS England's published positions)")
    print(f"  what_if, every trust:            {t_w:7.2f} s  ({t_w / len(codes) * 1000:.0f} ms per trust; "
          f"{n_single} answered by one metric, {n_combo} by a combination)")
    print(f"  closeness ({draws} draws), every trust: {t_c:7.2f} s")
    print(f"  both:                            {t_w + t_c:7.2f} s   (goal < 10 s)")
    # vectorised candidates vs one compute per candidate, for the trust with the most candidates
    pp, vals = prep.panel, prep.values
    i = int(np.argmax([sum(len(lv.candidates) for lv in whatif.levers(pp, method, k, vals, prep.on_grid))
                       for k in range(len(codes))]))
    levs = whatif.levers(pp, method, i, vals, prep.on_grid)
    changes = [[(lv, x)] for lv in levs for x in lv.candidates]
    t_vec, _ = best(lambda: whatif.rerun(pp, method, i, changes, vals), repeats)
    t_all, _ = best(lambda: whatif.rerun(pp, method, i, changes, vals, rescore="all"), repeats)
    t_loop, _ = best(lambda: [whatif.rerun(pp, method, i, [ch], vals, rescore="all") for ch in changes],
                     max(1, repeats // 2))
    print(f"  {codes[i]}'s {len(changes)} candidates: one (K, n, m) re-run re-scoring the changed metric "
          f"{t_vec * 1000:.1f} ms; re-scoring every metric {t_all * 1000:.1f} ms; one full re-run per candidate "
          f"{t_loop * 1000:.0f} ms ({t_loop / t_vec:.0f}x slower)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--draws", type=int, default=1000)
    args = ap.parse_args(argv)
    print(f"Python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    if REAL.exists():
        case("real MH&C Q4 2025/26 (NHS England)", sorted(REAL.glob("*.csv")), args.repeats, args.draws)
    else:
        print(f"real MH&C release not found at {REAL}: skipped")
    case("SYNTHETIC MH&C Q4, all three types' files", sorted(SYNTHETIC_Q4.glob("*-data-*.csv")), args.repeats,
         args.draws)


if __name__ == "__main__":
    main()
