"""Coverage (and time) of the league-rank confidence sets at full table sizes.

Simulates data sets with a known truth and checks how often the 95% league-rank sets
(``nhs_league.ranks.league_rank_sets``) contain every trust's true league rank at once, and
how often each trust's set contains its own (per-trust coverage, which the simultaneous sets
over-achieve). Designs: 134 trusts (acute-like: averages 1.5-3.3, standard errors 0.10-0.20,
75% in deficit) and 61 trusts (MH&C-like: standard errors 0.15-0.25, 20% in deficit), each
also with all true averages equal (least favourable for the pair tests).

    .venv/bin/python benchmarks/bench_league_ranks.py [--reps 500] [--draws 1000]

The figures go into docs/ranks.md ("League rank").
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from nhs_league.ranks import league_rank_sets

T = 2.355


def true_rank(theta, deficit):
    seg = np.where(theta <= T, 2, 3)
    key = np.where(deficit, np.maximum(seg, 3), seg) * 100.0 + theta
    return 1 + (key[:, None] < key[None, :]).sum(axis=0)


def design(p, se_range, share_deficit, equal, seed):
    rng = np.random.default_rng(seed)
    theta = np.full(p, 2.2) if equal else np.sort(rng.uniform(1.5, 3.3, p))
    deficit = rng.random(p) < share_deficit
    se = rng.uniform(*se_range, p)
    return theta, se, deficit


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=500)
    ap.add_argument("--draws", type=int, default=1000)
    a = ap.parse_args(argv)
    print(f"{'design':34} {'joint coverage':>15} {'min per-trust':>14} {'median width':>13} {'s/set':>7}")
    for name, p, se_r, share in [("acute-like, 134 trusts", 134, (0.10, 0.20), 0.75),
                                 ("MH&C-like, 61 trusts", 61, (0.15, 0.25), 0.20)]:
        for equal in (False, True):
            theta, se, deficit = design(p, se_r, share, equal, seed=p)
            truth = true_rank(theta, deficit)
            rng = np.random.default_rng(1)
            joint, per, widths = 0, np.zeros(p), []
            t0 = time.perf_counter()
            for rep in range(a.reps):  # one simulated data set per iteration
                est = pd.Series(theta + rng.normal(0.0, se))
                t = league_rank_sets(est, se=se, in_deficit=deficit, cap_cutoff=T, draws=a.draws, seed=rep).table
                hit = ((t["lower"] <= truth) & (truth <= t["upper"])).to_numpy()
                joint += bool(hit.all())
                per += hit
                widths.append(float(np.median(t["upper"] - t["lower"] + 1)))
            dt = (time.perf_counter() - t0) / a.reps
            label = name + (", all equal" if equal else "")
            print(f"{label:34} {joint / a.reps:15.3f} {(per / a.reps).min():14.3f} {np.median(widths):13.0f} "
                  f"{dt:7.3f}")


if __name__ == "__main__":
    main()
