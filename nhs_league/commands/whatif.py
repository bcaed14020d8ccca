"""``nhs-league whatif``: what would move one trust up a segment, and how close it is."""

from __future__ import annotations

from ..limits import MAX_DRAWS, check_count, check_memory, ranks_bytes
from ..methods import check_draws
from ..whatif import closeness, output_table, what_if
from .common import add_input_arguments, check_output_file, emit, load


def register(sub) -> None:
    p = sub.add_parser(
        "whatif", help="what would move one trust into a better segment, and how close it is",
        description="For one trust: the smallest change in each single metric (in the metric's own units) that "
                    "moves it into the target segment with everything else held fixed, the smallest combination "
                    "when no single metric can (fewest metrics, then the smallest change as a share of the peer "
                    "range), each checked by re-running the whole method; then, per segment cut-off, the gap in "
                    "average-score points, the probability under each available source of uncertainty that the "
                    "trust is already on the other side, and how many trusts sit in between. Rows: Kind = "
                    "'single metric', 'combination' or 'cut-off'. For a metric that cannot reach the target "
                    "alone, the New_ columns give its best (the best value any trust has) and Needed_value is blank. "
                    "A metric NHS England scores across trust types, given one type's file, is re-scored on the "
                    "positions its published scores give the other types' trusts: the answer is enough, and the "
                    "exact threshold lies between it and Known_not_enough_value.")
    add_input_arguments(p)
    p.add_argument("--trust", required=True, metavar="CODE", help="ODS code of the trust, e.g. RAT")
    p.add_argument("--target-segment", type=int, default=None, metavar="S",
                   help="segment to reach, 1-4 (default: the next better segment)")
    p.add_argument("--draws", type=int, default=1000, help="bootstrap replicates for the closeness probabilities")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (same seed, same output)")
    p.set_defaults(run=run)


def run(args) -> int:
    check_output_file(args)
    draws = check_count(check_draws(args.draws, name="--draws"), "--draws", high=MAX_DRAWS)
    ld = load(args)
    panel = ld.panel()
    n, m = panel.values.shape
    check_memory(ranks_bytes(draws, n, m), f"{draws:,} draws on {n} trusts x {m} metrics", "use fewer --draws")
    w = what_if(panel, ld.method, args.trust.strip().upper(), args.target_segment)
    w.closeness, notes = closeness(panel, ld.method, w.trust_code, draws=draws, seed=args.seed)
    ld.notes.extend(panel.notes + w.notes + notes + [w.sentence()])
    emit(output_table(w), args.output, force=args.force, notes=ld.notes)
    return 0
