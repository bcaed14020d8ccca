"""Benchmark: the core NOF pipeline for one quarter, all three trust types.

Times scoring, segmentation and the league tables of 205 trusts (134 acute, 61 mental health
and community, 10 ambulance; about 25 metrics each). Imports and file reading are excluded:
the panels are built first, then each stage is timed as the best of ``--repeats`` runs.

    .venv/bin/python benchmarks/bench_core.py                 # synthetic Q3 if present, else random
    .venv/bin/python benchmarks/bench_core.py --source random --seed 7

Stages, per trust type:

* ``scoring``       ``metric_scores`` (1-4 scores of every trust on every metric)
* ``segmentation``  ``classify`` on the averages (rounding, raw segment, override, segment 5, ranks)
* ``compute``       ``compute`` (scores, average, domain scores, deficit, segmentation, ranks)
* ``table``         ``compute`` + ``league_table`` (the published-format table)

Goal: the ``table`` column summed over the three trust types under 20 ms. With ``--replicates R``
it also times ``compute`` on ``R`` replicated value arrays at once (the bootstrap path).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
try:
    import nhs_league  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))
from nhs_league.catalogue import load_catalogue, metrics_for  # noqa: E402
from nhs_league.io import Inputs, read_inputs  # noqa: E402
from nhs_league.methods import default_method_for  # noqa: E402
from nhs_league.pipeline import build_panel, classify, compute, league_table, metric_scores  # noqa: E402

TYPES = {"acute": 134, "mental-health-and-community": 61, "ambulance": 10}
SYNTHETIC_Q3 = ROOT / "data" / "synthetic" / "2025-26" / "q3-25-26"
REAL_MHC = ROOT.parent / "shared" / "data-raw" / "nhse_nof_mhc_2025_26_q4_release"


def real_mhc_panels() -> dict:
    """NHS England's official MH&C release (../shared, read in place): one panel per quarter Q1-Q4."""
    files = sorted(REAL_MHC.glob("*.csv"))
    if not files:
        raise SystemExit(f"{REAL_MHC} is absent: the real MH&C release is read from ../shared")
    inputs = read_inputs(files)
    return {f"MH&C {q} (real)": build_panel(inputs, q, "mental-health-and-community")
            for q in ("2025Q1", "2025Q2", "2025Q3", "2025Q4")}


def synthetic_panels(quarter: str = "2025Q3") -> dict:
    files = sorted(SYNTHETIC_Q3.glob("*-data-*.csv"))
    inputs = read_inputs(files)
    return {t: build_panel(inputs, quarter, t) for t in TYPES}


def random_panels(seed: int, quarter: str = "2025Q3") -> dict:
    """Random tidy tables with the catalogue's metrics, ~10% missing values, seeded."""
    rng = np.random.default_rng(seed)
    cat = load_catalogue()
    parts = []
    for t, n in TYPES.items():
        ids = list(metrics_for(cat, t, scored_only=False)["metric_id"])
        codes = [f"{t[:2].upper()}{i:03d}" for i in range(n)]
        code, mid = np.repeat(codes, len(ids)), np.tile(ids, n)
        units = cat.loc[mid, "units"].to_numpy()
        value = np.where(units == "percentage", rng.uniform(0, 100, len(mid)), rng.normal(0, 1, len(mid)))
        value[rng.random(len(mid)) < 0.1] = np.nan
        rows = pd.DataFrame({"trust_type": t, "trust_code": code, "metric_id": mid, "value": value})
        pub = cat.loc[mid, "score_id"].notna().to_numpy() & (cat.loc[mid, "rule"] == "published").to_numpy()
        scores = rows[pub].assign(metric_id=lambda d: cat.loc[d["metric_id"], "score_id"].to_numpy(),
                                  value=lambda d: rng.uniform(1, 4, len(d)))
        parts += [rows, scores]
    m = pd.concat(parts, ignore_index=True)
    m["quarter"] = quarter
    m["source_file"], m["source_row"] = "random", np.arange(len(m)) + 2
    m["trust_name"] = m["trust_code"]
    m["trust_subtype"] = m["region"] = ""
    m["numerator"] = m["denominator"] = np.nan
    league = pd.DataFrame({c: pd.Series(dtype=object) for c in
                           ["source_file", "source_row", "quarter", "trust_type", "trust_code", "in_deficit"]})
    inputs = Inputs(m, league, synthetic=True)
    return {t: build_panel(inputs, quarter, t) for t in TYPES}


def best_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1000.0


def run(panels: dict, repeats: int, replicates: int, seed: int) -> pd.DataFrame:
    rows = []
    for t, p in panels.items():
        method = default_method_for(p.quarter)  # NHS England's preset for the quarter
        r = compute(p, method)
        deficit, _ = p.deficit(method)
        row = {
            "trust_type": t, "trusts": p.n, "metrics": len(p.metric_ids),
            "scoring_ms": best_ms(lambda: metric_scores(p, method), repeats),
            "segmentation_ms": best_ms(lambda: classify(r["average"], deficit, p.intensive_support, method),
                                       repeats),
            "compute_ms": best_ms(lambda: compute(p, method), repeats),
            "table_ms": best_ms(lambda: league_table(p, method, compute(p, method)), repeats),
        }
        if replicates:
            rng = np.random.default_rng(seed)
            reps = p.values[None] * rng.normal(1.0, 0.02, (replicates, *p.values.shape))
            row[f"compute_x{replicates}_ms"] = best_ms(lambda: compute(p, method, reps), max(3, repeats // 10))
        rows.append(row)
    out = pd.DataFrame(rows)
    total = {"trust_type": "all" if len(out) != 3 else "all three", "trusts": out["trusts"].sum(), "metrics": np.nan}
    total.update({c: out[c].sum() for c in out.columns if c.endswith("_ms")})
    return pd.concat([out, pd.DataFrame([total])], ignore_index=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", choices=["auto", "synthetic", "random", "real-mhc"], default="auto",
                    help="real-mhc: NHS England's MH&C release, Q1-Q4 (one panel per quarter)")
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--replicates", type=int, default=1000, help="0 to skip the replicate timing")
    ap.add_argument("--seed", type=int, default=20251)
    a = ap.parse_args(argv)
    source = a.source
    if source == "auto":
        source = "synthetic" if any(SYNTHETIC_Q3.glob("*-data-*.csv")) else "random"
    panels = (synthetic_panels() if source == "synthetic" else real_mhc_panels() if source == "real-mhc"
              else random_panels(a.seed))
    table = run(panels, a.repeats, a.replicates, a.seed)
    label = {"synthetic": "SYNTHETIC Q3 2025/26 files (all three types: cross-type metrics pooled)",
             "real-mhc": "NHS England's official MH&C release, Q1-Q4 2025/26 (real)"}.get(
        source, f"random panels (seed {a.seed})")
    print(f"nhs_league core pipeline, one quarter: {label}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
          f"{platform.machine()}; best of {a.repeats} runs, milliseconds")
    fmt = {c: (lambda x: f"{x:8.2f}") for c in table.columns if c.endswith("_ms")}
    table["metrics"] = table["metrics"].map(lambda x: "" if pd.isna(x) else str(int(x)))
    print(table.to_string(index=False, formatters=fmt))
    total = table.iloc[-1]["table_ms"]
    print(f"total (compute + league table, {len(table) - 1} panels): {total:.2f} ms - goal < 20 ms: "
          f"{'met' if total < 20 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
