"""Benchmark: the sampling bootstrap of the whole NOF pipeline, 1,000 replicates, all 205 trusts.

Three panels (134 acute, 61 mental health and community, 10 ambulance trusts), each its own
table. Uses the committed synthetic year (data/synthetic/2025-26) when it is there and has
denominators, otherwise random panels built here (binomial/Poisson counts with
denominators for every metric the catalogue gives a sampling model).

Measured:

* ours: ``nhs_league.uncertainty.sampling_replicates`` (draw every replicate's values,
  then ``pipeline.compute`` on the (R, n, m) array: re-score every metric by rank,
  average, segment, override, league rank), best of 3; goal < 2 s for all three panels;
* the straightforward alternative: for each replicate build a long pandas DataFrame,
  ``groupby(metric).rank(method="min")`` for the scores, ``groupby(trust).mean()``,
  round, ``pd.cut`` into segments, override, sort and rank — on 50 replicates per panel,
  extrapolated to 1,000. Both are fed the same replicate values and must agree exactly
  on averages and ranks (checked before timing).

Run: ``.venv/bin/python benchmarks/bench_bootstrap.py [--draws 1000] [--naive-draws 50]``
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from nhs_league.catalogue import load_catalogue, metrics_for
from nhs_league.io import read_inputs
from nhs_league.methods import load_method
from nhs_league.pipeline import Panel, build_panel, compute
from nhs_league.uncertainty import sampling_replicates, sampling_values

ROOT = Path(__file__).resolve().parent.parent
SYNTHETIC = ROOT / "data" / "synthetic" / "2025-26"
TYPES = {"acute": 134, "mental-health-and-community": 61, "ambulance": 10}
QUARTER = "2025Q3"


# --------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------
def synthetic_panels():
    files = sorted(str(p) for p in SYNTHETIC.rglob("*.csv")) if SYNTHETIC.exists() else []
    if not files:
        return None, "no synthetic year under data/synthetic/2025-26"
    try:
        inputs = read_inputs(files)
        quarter = QUARTER if QUARTER in inputs.quarters else inputs.quarters[-1]
        panels = {t: build_panel(inputs, quarter, t) for t in TYPES}
    except Exception as exc:  # the synthetic year is optional input for a benchmark
        return None, f"synthetic year not usable ({exc})"
    if not all((p.denominators > 0).any() for p in panels.values()):
        return None, "synthetic year has no denominators"
    return panels, f"synthetic year {SYNTHETIC.relative_to(ROOT)} ({quarter})"


def random_panel(trust_type: str, n: int, rng) -> Panel:
    cat = load_catalogue()
    meta = metrics_for(cat, trust_type)
    meta = meta[meta["rule"] == "continuous"].copy()
    m = len(meta)
    dist = meta["distribution"].to_numpy()
    scale = np.nan_to_num(meta["scale"].to_numpy(dtype=float), nan=1.0)
    size = rng.lognormal(0, 0.5, n)[:, None]
    den = np.full((n, m), np.nan)
    num = np.full((n, m), np.nan)
    values = rng.normal(50, 10, (n, m))
    b = dist == "binomial"
    den[:, b] = np.rint(800 * size * rng.uniform(0.5, 1.5, (n, b.sum())))
    p = rng.beta(8, 3, (n, b.sum()))
    num[:, b] = rng.binomial(den[:, b].astype(np.int64), p)
    values[:, b] = num[:, b] / den[:, b] * scale[b]
    po = dist == "poisson"
    den[:, po] = np.rint(20000 * size * rng.uniform(0.5, 1.5, (n, po.sum())))
    num[:, po] = rng.poisson(den[:, po] * rng.uniform(0.002, 0.02, (n, po.sum())))
    values[:, po] = num[:, po] / den[:, po] * scale[po]
    missing = rng.random((n, m)) < 0.03
    values[missing] = num[missing] = den[missing] = np.nan
    codes = pd.Index([f"{trust_type[:2].upper()}{i:03d}" for i in range(n)], name="trust_code")
    trusts = pd.DataFrame({"trust_name": [f"Trust {c}" for c in codes], "trust_subtype": "", "region": "",
                           "source_file": "random", "source_row": np.arange(2, n + 2)}, index=codes)
    return Panel(QUARTER, trust_type, trusts, meta, values, np.full((n, m), np.nan), num, den, {},
                 pd.array([pd.NA] * n, dtype="boolean"), np.zeros(n, bool), synthetic=True)


# --------------------------------------------------------------------------------------
# The straightforward pandas loop
# --------------------------------------------------------------------------------------
def naive_tables(panel: Panel, method, values: np.ndarray, nominal: dict) -> tuple[np.ndarray, np.ndarray]:
    """One pandas pass per replicate; returns (average, rank) arrays (R, n)."""
    mids = panel.metric_ids
    rules = panel.metrics["rule"]
    cont = [m for m in mids if rules[m] == "continuous"]
    hib = panel.metrics["better"].eq("higher")
    fixed = pd.DataFrame(nominal["scores"], index=panel.trusts.index, columns=mids)[
        [m for m in mids if m not in cont]].stack().rename("score")  # not re-scored: not resampled
    cut = list(method.cutoffs)
    deficit = pd.Series(nominal["in_deficit"], index=panel.trusts.index)
    seg5 = pd.Series(nominal["intensive_support"], index=panel.trusts.index)
    avgs, ranks = [], []
    for r in range(values.shape[0]):  # the loop being measured
        df = (pd.DataFrame(values[r], index=panel.trusts.index, columns=mids)[cont]
              .rename_axis(columns="metric_id").stack().rename("value").reset_index())
        df["key"] = np.where(df["metric_id"].map(hib), -df["value"], df["value"])
        g = df.groupby("metric_id")["key"]
        df["score"] = 1 + 3 * (g.rank(method="min") - 1) / (g.transform("count") - 1)
        scores = pd.concat([df.set_index(["trust_code", "metric_id"])["score"], fixed])
        avg = scores.groupby(level="trust_code").mean().reindex(panel.trusts.index)
        avg2 = np.floor(avg * 100 + 0.5 + 1e-9) / 100
        seg = pd.cut(avg2, [-np.inf] + [c + 1e-9 for c in cut] + [np.inf], labels=[1, 2, 3, 4]).astype(int)
        seg = seg.where(~(deficit & (seg < 3)), 3).where(~seg5, 5)
        table = pd.DataFrame({"segment": seg, "average": avg2}).sort_values(["segment", "average"])
        table["rank"] = (table["segment"] * 1000 + (table["average"] * 100).round()).rank(method="min")
        avgs.append(avg.to_numpy())
        ranks.append(table["rank"].reindex(panel.trusts.index).to_numpy())
    return np.array(avgs), np.array(ranks, dtype=np.int64)


# --------------------------------------------------------------------------------------
def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--naive-draws", type=int, default=50)
    ap.add_argument("--random", action="store_true", help="use random panels even if the synthetic year exists")
    a = ap.parse_args(argv)
    panels, why = (None, "asked for random panels") if a.random else synthetic_panels()
    if panels is None:
        rng = np.random.default_rng(20251)
        panels = {t: random_panel(t, n, rng) for t, n in TYPES.items()}
        label = f"random panels built in the script ({why})"
    else:
        label = why
    method = load_method("nof-2025-26")
    print(f"input: {label}; SYNTHETIC")
    print(f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
          f"{platform.machine()}")
    for t, p in panels.items():
        print(f"  {t}: {p.n} trusts x {len(p.metric_ids)} metrics")

    # correctness first: the pandas loop and compute() agree on the same replicate values
    for t, p in panels.items():
        vals, _ = sampling_values(p, method, draws=a.naive_draws, seed=1)
        ours = compute(p, method, vals)
        avg, rank = naive_tables(p, method, vals, compute(p, method))
        np.testing.assert_allclose(ours["average"], avg, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(ours["rank"], rank)
    print(f"check: pandas loop and compute() agree on {a.naive_draws} replicates per panel")

    def ours_all():
        for p in panels.values():
            sampling_replicates(p, method, draws=a.draws, seed=0)

    ours_all()  # warm-up
    t_ours = best_of(ours_all)
    per_type = {t: best_of(lambda p=p: sampling_replicates(p, method, draws=a.draws, seed=0)) for t, p in panels.items()}
    t_draw = best_of(lambda: [sampling_values(p, method, draws=a.draws, seed=0) for p in panels.values()])

    def naive_all():
        for p in panels.values():
            vals, _ = sampling_values(p, method, draws=a.naive_draws, seed=0)
            naive_tables(p, method, vals, compute(p, method))

    t_naive = best_of(naive_all, repeat=1)
    t_naive_vals = best_of(lambda: [sampling_values(p, method, draws=a.naive_draws, seed=0) for p in panels.values()],
                           repeat=1)
    naive_loop = max(t_naive - t_naive_vals, 0.0)
    naive_full = naive_loop * a.draws / a.naive_draws + t_draw
    n_trusts = sum(p.n for p in panels.values())
    print(f"ours: sampling bootstrap, {a.draws} replicates x {n_trusts} trusts (3 panels), best of 3: {t_ours:.3f} s "
          f"({'under' if t_ours < 2 else 'OVER'} the 2 s goal)")
    for t, s in per_type.items():
        print(f"  {t}: {s:.3f} s")
    print(f"  of which drawing the values: {t_draw:.3f} s")
    print(f"pandas loop: {a.naive_draws} replicates per panel {naive_loop:.3f} s "
          f"-> {a.draws} replicates (extrapolated, plus the same draws) {naive_full:.1f} s")
    print(f"ratio pandas loop / ours: {naive_full / t_ours:.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
