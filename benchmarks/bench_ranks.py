"""Benchmark: nhs_league.ranks against the PyPI package ``multiple-inference`` (1.2.0).

Both compute the Mogstad–Romano–Shaikh–Wilhelm confidence sets for ranks with a
parametric-bootstrap critical value and the stepdown procedure. ``multiple-inference`` is a
benchmark peer only, never a dependency of nhs_league: it lives in its own venv.

    python3 -m venv .venv-bench
    .venv-bench/bin/pip install -r benchmarks/requirements-peer.txt
    .venv-bench/bin/python benchmarks/bench_ranks.py

Without ``multiple-inference`` importable the script prints a note and times only ours
(``.venv/bin/python benchmarks/bench_ranks.py``). nhs_league is imported from this
checkout (no install needed in the peer venv).

Set-up: 134 units ("trusts"), averages near 2.4 with standard errors 0.10–0.15 (seeded),
independent estimates (diagonal covariance), 1,000 draws, stepdown, 95% coverage,
simultaneous and marginal two-sided sets. Times are the best of several repeats of the
whole user-facing call (for the peer: model construction, ``fit`` and ``conf_int``),
excluding imports.
"""

from __future__ import annotations

import os

# Single-threaded BLAS for both libraries: a fair comparison, and stable on a shared
# machine (multi-threaded BLAS spin-waits badly under load). Must precede numpy.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

try:
    import nhs_league.ranks  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from nhs_league.ranks import rank_confidence_sets  # noqa: E402

try:
    import warnings

    import multiple_inference
    from multiple_inference.confidence_set import MarginalRanking, SimultaneousRanking

    # its q-value spline fit overflows harmlessly; keep the output readable
    warnings.filterwarnings("ignore", category=RuntimeWarning, module="multiple_inference")
except ImportError as exc:  # degrade gracefully
    multiple_inference = None
    PEER_ERROR = str(exc)


def make_data(p: int, seed: int) -> tuple[pd.Series, pd.Series]:
    rng = np.random.default_rng(seed)
    labels = [f"R{i:03d}" for i in range(p)]
    averages = np.clip(rng.normal(2.4, 0.35, p), 1.0, 4.0)
    se = rng.uniform(0.10, 0.15, p)
    return pd.Series(averages, index=labels), pd.Series(se, index=labels)


def ours(est, se, simultaneous, draws, seed=0):
    return rank_confidence_sets(est, se=se, simultaneous=simultaneous, stepdown=True,
                                draws=draws, seed=seed, coverage=0.95)


def theirs_fit(est, se, simultaneous, draws):
    """multiple-inference ranks 1 = largest, so feed it -estimates (lower is better)."""
    mean = -est.to_numpy()
    cov = np.diag(se.to_numpy() ** 2)
    model = SimultaneousRanking(mean, cov) if simultaneous else MarginalRanking(mean, cov)
    return model.fit(n_samples=draws)


def theirs_sets(results, index):
    # fast=False forces the stepdown (its "auto" drops it for >= 100 simultaneous units)
    ci = np.asarray(results.conf_int(0.05, fast=False), dtype=np.int64)
    return pd.DataFrame({"lower": ci[:, 0], "upper": ci[:, 1]}, index=index)


def theirs(est, se, simultaneous, draws):
    return theirs_sets(theirs_fit(est, se, simultaneous, draws), est.index)


def best_time(fn, repeats):
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def agreement(a: pd.DataFrame, b: pd.DataFrame) -> tuple[float, int]:
    same = (a["lower"] == b["lower"]) & (a["upper"] == b["upper"])
    diff = max(int((a["lower"] - b["lower"]).abs().max()), int((a["upper"] - b["upper"]).abs().max()))
    return float(same.mean()), diff


def size(sets: pd.DataFrame) -> float:
    return float((sets["upper"] - sets["lower"] + 1).mean())


def peak_memory(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=134)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=5, help="repeats for ours (peer: max(2, repeats // 2))")
    ap.add_argument("--seed", type=int, default=20240101)
    args = ap.parse_args(argv)

    est, se = make_data(args.units, args.seed)
    print(f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}")
    print(f"{args.units} units, {args.draws} draws, stepdown, 95% coverage, diagonal covariance")
    if multiple_inference is None:
        print(f"NOTE: multiple-inference is not importable ({PEER_ERROR}); timing nhs_league only.")
    else:
        version = getattr(multiple_inference, "__version__", None)
        if version is None:
            from importlib.metadata import version as _v
            version = _v("multiple-inference")
        print(f"peer: multiple-inference {version}")

    for simultaneous in (True, False):
        kind = "simultaneous" if simultaneous else "marginal"
        t_ours, r_ours = best_time(lambda: ours(est, se, simultaneous, args.draws), args.repeats)
        peak = peak_memory(lambda: ours(est, se, simultaneous, args.draws))
        # Monte Carlo noise yardstick: ours (seed 0) against ours with seeds 1..4
        yard = [agreement(r_ours, ours(est, se, simultaneous, args.draws, seed=s)) for s in range(1, 5)]
        y_lo, y_hi = min(y[0] for y in yard), max(y[0] for y in yard)
        y_diff = max(y[1] for y in yard)
        print(f"\n[{kind}]")
        print(f"  nhs_league          best of {args.repeats}: {t_ours * 1000:8.1f} ms   "
              f"peak memory (tracemalloc) {peak / 2 ** 20:.1f} MiB")
        print(f"  mean set size       ours {size(r_ours):.1f} ranks")
        print(f"  MC noise yardstick  ours seed 0 vs seeds 1-4: identical bounds "
              f"{y_lo:.0%}-{y_hi:.0%} of units, max |diff| {y_diff}")
        if multiple_inference is None:
            continue
        reps = max(2, args.repeats // 2)
        t_theirs, r_theirs = best_time(lambda: theirs(est, se, simultaneous, args.draws), reps)
        fitted = theirs_fit(est, se, simultaneous, args.draws)
        t_ci, _ = best_time(lambda: theirs_sets(fitted, est.index), reps)
        same, diff = agreement(r_ours, r_theirs)
        verdict = "within" if (same >= y_lo and diff <= y_diff) else "OUTSIDE"
        print(f"  multiple-inference  best of {reps}: {t_theirs * 1000:8.1f} ms "
              f"(of which conf_int {t_ci * 1000:.1f} ms)   mean set size {size(r_theirs):.1f}")
        print(f"  speed-up            {t_theirs / t_ours:.1f}x (conf_int alone: {t_ci / t_ours:.1f}x)")
        print(f"  agreement           identical bounds {same:.0%} of units, max |diff| {diff}: "
              f"{verdict} Monte Carlo noise")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
