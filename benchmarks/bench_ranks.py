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

import argparse
import platform
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

try:
    import nhs_league.ranks  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from nhs_league.ranks import rank_confidence_sets  # noqa: E402

try:
    import multiple_inference
    from multiple_inference.confidence_set import MarginalRanking, SimultaneousRanking
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


def theirs(est, se, simultaneous, draws):
    """multiple-inference ranks 1 = largest, so feed it -estimates (lower is better)."""
    mean = -est.to_numpy()
    cov = np.diag(se.to_numpy() ** 2)
    if simultaneous:
        res = SimultaneousRanking(mean, cov).fit(n_samples=draws)
        # fast=False forces the stepdown (its "auto" switches it off for >= 100 units)
        ci = res.conf_int(0.05, fast=False)
    else:
        res = MarginalRanking(mean, cov).fit(n_samples=draws)
        ci = res.conf_int(0.05, fast=False)
    ci = np.asarray(ci, dtype=np.int64)
    return pd.DataFrame({"lower": ci[:, 0], "upper": ci[:, 1]}, index=est.index)


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
        width = float((r_ours["upper"] - r_ours["lower"] + 1).mean())
        # Monte Carlo noise yardstick: ours against itself with another seed
        self_same, self_diff = agreement(r_ours, ours(est, se, simultaneous, args.draws, seed=1))
        print(f"\n[{kind}]")
        print(f"  nhs_league          best of {args.repeats}: {t_ours * 1000:8.1f} ms   "
              f"peak memory (tracemalloc) {peak / 2 ** 20:.1f} MiB   mean set size {width:.1f}")
        print(f"  MC noise yardstick  ours seed 0 vs seed 1: identical bounds {self_same:.1%}, "
              f"max |diff| {self_diff}")
        if multiple_inference is None:
            continue
        reps = max(2, args.repeats // 2)
        t_theirs, r_theirs = best_time(lambda: theirs(est, se, simultaneous, args.draws), reps)
        same, diff = agreement(r_ours, r_theirs)
        print(f"  multiple-inference  best of {reps}: {t_theirs * 1000:8.1f} ms")
        print(f"  speed-up            {t_theirs / t_ours:.1f}x")
        print(f"  agreement           identical bounds {same:.1%} of units, max |diff| {diff}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
