"""``nhs-league table``: the league table of one quarter and trust type, as CSV."""

from __future__ import annotations

from ..pipeline import league_table, league_table_from_published
from .common import add_input_arguments, emit, load


def register(sub) -> None:
    p = sub.add_parser(
        "table", help="compute a league table",
        description="Compute the league table of one quarter and trust type. From a data file the "
                    "whole method is re-run (scores, averages, segments, override, ranks); from a "
                    "league-table file the raw segment, override and ranks are re-derived from the "
                    "published averages and deficit flags.")
    add_input_arguments(p)
    p.set_defaults(run=run)


def run(args) -> int:
    ld = load(args)
    if ld.has_metrics:
        table = league_table(ld.panel(), ld.method)
    else:
        table = league_table_from_published(ld.inputs, ld.quarter, ld.trust_type, ld.method)
    emit(table, args.output, force=args.force)
    return 0
