"""The ``nhs-league`` command line: one front door to every capability.

Each command lives in ``nhs_league/commands/<name>.py`` with a ``register(subparsers)``
function. Errors in the input or the method print one line to standard error and exit 2,
without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .errors import NHSLeagueError, ProblemList

COMMANDS = ["fetch", "table", "validate", "backtest", "synth", "ranks", "sensitivity", "whatif", "context", "report"]


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (the sub-command parsers share it)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="nhs-league",
        description="Re-compute NHS Oversight Framework league tables and show how much of each "
                    "league position is real.")
    parser.add_argument("--version", action="version", version=f"nhs-league {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        try:
            mod = importlib.import_module(f".commands.{name}", __package__)
        except ModuleNotFoundError as exc:
            if exc.name == f"{__package__}.commands.{name}":
                continue  # command not built yet
            raise
        mod.register(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except ProblemList as exc:
        for p in exc.problems:
            print(f"nhs-league: error: {p}", file=sys.stderr)
        return 2
    except NHSLeagueError as exc:
        print(f"nhs-league: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nhs-league: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
