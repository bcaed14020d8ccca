"""``nhs-league sensitivity``: how the league table moves under other method choices.

Writes, into the ``--output`` directory, one CSV per view (every file has a ``Data`` column,
SYNTHETIC when the input is synthetic):

* ``trusts.csv``         per trust: nominal rank, median rank, 5-95% band, largest shift,
                         probability of a segment change (Monte Carlo);
* ``table.csv``          per table: mean absolute rank change, share moving >= 10 places,
                         share changing segment (mean and 5/50/95% over scenarios);
* ``one_at_a_time.csv``  per choice and value, everything else nominal;
* ``sobol.csv``          Sobol first-order and total indices of each choice, with intervals;
* ``scenarios.csv``      every Monte Carlo scenario's parameters and its statistics;
* ``choices.csv``        every choice: nominal value, values used, what it means;
* ``concordance_domains.csv`` (and ``concordance_metrics.csv`` at metric level): Spearman
                         correlations between domains (metrics), with pairwise n.

The same inputs, space and seed give byte-identical files.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..files import OutputError, write_csv
from ..limits import (MAX_OAT_DRAWS, MAX_SCENARIOS, MAX_SOBOL_N, check_count, check_memory,
                      sensitivity_bytes)
from ..pipeline import DATA_LABEL
from .. import sensitivity as sens
from .common import add_input_arguments, check_output_folder, load, print_notes

FILES = ("trusts.csv", "table.csv", "one_at_a_time.csv", "sobol.csv", "scenarios.csv", "choices.csv",
         "concordance_domains.csv", "concordance_metrics.csv")


def register(sub) -> None:
    p = sub.add_parser(
        "sensitivity", help="sensitivity of the ranking to method choices",
        description="Re-run the league table under other method choices (weights, aggregation, "
                    "scoring rule, segmentation, financial override, leaving out a metric or a "
                    "domain, peer set): Monte Carlo over combined choices, one-at-a-time runs, "
                    "Sobol indices and cross-metric concordance. From a data file with metric values "
                    "the whole method is re-run; from domain scores only (--level domain) the "
                    "choices that need raw values are not available.")
    add_input_arguments(p, output_help="directory to write the CSV files into (required)")
    p.add_argument("--space", default=None,
                   help="scenario space preset name or YAML file (default: 'default' for metric-level "
                        f"data, 'domain' for domain-level data; built in: {', '.join(sens.available_spaces())})")
    p.add_argument("--level", choices=("auto", "metric", "domain"), default="auto",
                   help="metric values (metric) or published domain scores (domain); auto: metric "
                        "when the input has scored metric rows")
    p.add_argument("--scenarios", type=int, default=10_000, help="Monte Carlo scenarios (default 10000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--sobol-n", type=int, default=None,
                   help="Sobol base sample, a power of 2 (default: the space's sobol_n_base, else 1024)")
    p.add_argument("--oat-draws", type=int, default=None,
                   help="scenarios per random weight scheme in the one-at-a-time runs (default: the space's)")
    p.add_argument("--context", action="store_true",
                   help="vary the deprivation adjustment too (choice context_adjustment): join catchment "
                        "deprivation scores (default: the shared OHID catchments and IMD 2019, or the SYNTHETIC "
                        "ones for synthetic input)")
    p.add_argument("--catchment", default=None, metavar="FILE",
                   help="with --context: catchment CSV (trust code, area code, share of the trust's patients)")
    p.add_argument("--index", default=None, metavar="FILE",
                   help="with --context: area deprivation CSV (area code, Score, <Domain>_Score columns)")
    p.set_defaults(run=run)


def run(args) -> int:
    if not args.output:
        raise InputError("give --output DIR: the directory to write the CSV files into", column="--output")
    check_count(args.scenarios, "--scenarios", high=MAX_SCENARIOS)  # before the inputs are read
    if args.oat_draws is not None:
        check_count(args.oat_draws, "--oat-draws", high=MAX_OAT_DRAWS)
    sens._check_seed(args.seed)  # before the inputs are read: a bad option fails at once
    if args.sobol_n is not None:
        sens._check_n_base(args.sobol_n)
        check_count(args.sobol_n, "--sobol-n", low=2, high=MAX_SOBOL_N)
    out = Path(args.output)
    check_output_folder(out, files=FILES, force=args.force)
    ld = load(args)
    level = args.level
    if ld.extract:  # its raw OF00xx values are a handful of metrics, not the basket: domain level only
        if level == "metric":
            raise InputError("the real-data extract holds no per-metric scores: use --level domain (or auto)",
                             file=", ".join(sorted(ld.inputs.files)), column="--level")
        level = "domain"
    data = sens.from_inputs(ld.inputs, ld.quarter, ld.trust_type, ld.method, level=level,
                            catalogue=ld.catalogue)
    if args.context:
        from ..context import SCORE, load_context

        cx = load_context(ld.inputs, ld.quarter, ld.trust_type, ld.method, catchment=args.catchment,
                          index=args.index)
        data = sens.with_context(data, cx.table.set_index("Trust_code")[SCORE])
        ld.notes.extend(cx.notes)
    elif args.catchment or args.index:
        raise InputError("--catchment and --index are used only with --context", column="--context")
    space = sens.load_space(args.space or ("domain" if data.level == "domain" else "default"))
    n_base = int(args.sobol_n if args.sobol_n is not None else space.settings.get("sobol_n_base", 1024))
    check_count(n_base, f"the Sobol base sample (sobol_n_base of space {space.name!r})", low=2, high=MAX_SOBOL_N)
    oat = args.oat_draws if args.oat_draws is not None else int(space.settings.get("oat_draws", 100))
    check_memory(sensitivity_bytes(args.scenarios, n_base, oat * len(sens.CHOICE_ORDER), data.n),
                 f"--scenarios {args.scenarios:,} with a Sobol base of {n_base:,} on {data.n} trusts",
                 "use fewer --scenarios or a smaller --sobol-n")
    mc = sens.monte_carlo(data, space, args.scenarios, seed=args.seed)
    oat = sens.one_at_a_time(data, space, draws=args.oat_draws, seed=args.seed)
    sobol = sens.sobol_analysis(data, space, n_base, seed=args.seed)
    label = DATA_LABEL[bool(data.synthetic)]
    res = sens.resolve(space, data)
    reg = sens.choices_table().set_index("choice")
    choices = pd.DataFrame({
        "choice": list(sens.CHOICE_ORDER),
        "nominal": [res.nominal[c] for c in sens.CHOICE_ORDER],
        "values": ["; ".join(res.values[c]) for c in sens.CHOICE_ORDER],
        "varied": [c in res.factors for c in sens.CHOICE_ORDER],
        "description": [reg.at[c, "description"] for c in sens.CHOICE_ORDER],
        "applied": [reg.at[c, "applied"] for c in sens.CHOICE_ORDER],
    })
    choices.insert(0, "space", space.name)
    choices["level"] = data.level
    choices["method"] = data.method.label
    choices["Data"] = label
    tables = {
        "trusts.csv": mc.trust_summary(),
        "table.csv": mc.table_summary(),
        "one_at_a_time.csv": sens.choice_summary(oat),
        "sobol.csv": sobol,
        "scenarios.csv": mc.scenarios(),
        "choices.csv": choices,
        "concordance_domains.csv": sens.domain_concordance(data).assign(Data=label),
    }
    if data.level == "metric":
        tables["concordance_metrics.csv"] = sens.concordance(data).assign(Data=label)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write into {out}: {exc.strerror or exc}") from None
    print_notes(ld.notes + list(mc.notes))
    for name, df in tables.items():
        write_csv(df, out / name, force=True)
    for name in set(FILES) - set(tables):  # with --force: no stale file from an earlier run
        (out / name).unlink(missing_ok=True)
    print(f"nhs-league: wrote {len(tables)} files to {out} ({args.scenarios} scenarios, seed {args.seed}, "
          f"space {space.name}, {data.level} level{', SYNTHETIC data' if data.synthetic else ''})",
          file=sys.stderr)
    return 0
