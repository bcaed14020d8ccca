"""``nhs-league table``: the league table of one quarter and trust type, as CSV."""

from __future__ import annotations

from pathlib import Path

from ..backtest import metric_score_table
from ..errors import InputError
from ..files import OutputError, OutputExistsError, write_csv
from ..pipeline import compute, league_table, league_table_from_published
from .common import add_input_arguments, check_output_file, emit, load


def register(sub) -> None:
    p = sub.add_parser(
        "table", help="compute a league table",
        description="Compute the league table of one quarter and trust type. From a data file the "
                    "whole method is re-run (scores, averages, segments, override, ranks); from a "
                    "league-table file the raw segment, override and ranks are re-derived from the "
                    "published averages and deficit flags.")
    add_input_arguments(p)
    p.add_argument("--metric-scores", default=None, metavar="FILE",
                   help="also write every metric score used, long form (Quarter, Trust_code, Metric_ID, "
                        "Value, Score, Source = recomputed or published); needs a data file")
    p.set_defaults(run=run)


def _check_scores_file(args) -> None:
    out = args.metric_scores
    if out is None:
        return
    p = Path(out)
    if args.output not in (None, "-") and Path(args.output).resolve() == p.resolve():
        raise OutputError("--metric-scores and --output name the same file")
    if p.is_dir():
        raise OutputError(f"{p} is a folder: give a file name for --metric-scores")
    if p.exists() and not args.force:
        raise OutputExistsError(f"{p} exists: pass --force to overwrite it")


def run(args) -> int:
    check_output_file(args)
    _check_scores_file(args)
    ld = load(args)
    if ld.has_metrics or not ld.has_league:
        panel = ld.panel()  # without rows of either kind: the panel names the problem
        result = compute(panel, ld.method)
        table = league_table(panel, ld.method, result)
        ld.notes.extend(panel.notes)
        if args.metric_scores:
            write_csv(metric_score_table(panel, ld.method, result), args.metric_scores, force=args.force)
            ld.notes.append(f"wrote {args.metric_scores} (metric scores)")
    else:
        if args.metric_scores:
            raise InputError("--metric-scores needs a data file (metric rows); the input holds league-table "
                             "rows only", file=", ".join(sorted(ld.inputs.files)), column="Metric_ID")
        table = league_table_from_published(ld.inputs, ld.quarter, ld.trust_type, ld.method)
        s5 = ld.method.settings["segment5"]
        if s5["source"] == "flag" and s5["in_league_table"] != "as_scored" and table["Published_segment"].isna().all():
            ld.notes.append("the league-table file gives no Segment, so no trust can be placed in segment 5 "
                            "(intensive support); give the trusts with a method preset (segment5: source: list)")
    emit(table, args.output, force=args.force, notes=ld.notes)
    return 0
