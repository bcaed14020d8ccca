"""``nhs-league table``: the league table of one quarter and trust type, as CSV."""

from __future__ import annotations

from ..pipeline import league_table, league_table_from_published
from .common import add_input_arguments, check_output_file, emit, load


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
    check_output_file(args)
    ld = load(args)
    if (ld.has_metrics and not ld.extract) or not ld.has_league:
        table = league_table(ld.panel(), ld.method)  # without rows of either kind: the panel names the problem
    else:
        table = league_table_from_published(ld.inputs, ld.quarter, ld.trust_type, ld.method)
        if ld.method.settings["segment5"]["source"] == "flag" and table["Published_segment"].isna().all():
            ld.notes.append("the league-table file gives no Segment, so no trust can be placed in segment 5 "
                            "(intensive support); give the trusts with a method preset (segment5: source: list)")
    emit(table, args.output, force=args.force, notes=ld.notes)
    return 0
