"""The ``nhs-league`` command line: one front door to every capability.

Each command lives in ``nhs_league/commands/<name>.py`` with a ``register(subparsers)``
function. Whatever goes wrong ends as one line on standard error, without a traceback:

* errors in the input, the method or the options (:class:`~nhs_league.errors.NHSLeagueError`)
  exit 2;
* errors from the system (disk full, permission denied, a read-only file system, a file that
  vanished: any :class:`OSError`) and a run that does not fit in memory (:class:`MemoryError`)
  exit 2 too, and no output is left half-written (:mod:`nhs_league.files` writes atomically);
* anything else is a defect of this program: one line saying so, exit 70 (``EX_SOFTWARE`` of
  BSD's sysexits.h; not 1, which ``backtest`` uses for "a figure does not match").

``--debug`` (before or after the command name), or the environment variable
``NHS_LEAGUE_DEBUG=1``, shows the traceback as well. Every command, including ones added
later, gets this handling and the ``--debug`` and ``--max-bytes`` options from here.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
import warnings

from . import __version__
from .errors import NHSLeagueError, ProblemList

COMMANDS = ["fetch", "table", "validate", "backtest", "synth", "ranks", "sensitivity", "whatif", "context", "report"]
DEBUG_ENV = "NHS_LEAGUE_DEBUG"
EXIT_DEFECT = 70  # EX_SOFTWARE: an internal error (a bug), as opposed to bad input (2)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (the sub-command parsers share it)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {' '.join(str(message).split())} (see '{self.prog} --help')\n")


def _add_common_options(p, *, top: bool) -> None:
    """``--debug`` and ``--max-bytes`` on the main parser and on every sub-command parser.

    On a sub-command the default is SUPPRESS, so that a value given before the command name
    is not reset by the sub-command's parser.
    """
    from .files import parse_byte_size

    default = {} if top else {"default": argparse.SUPPRESS}
    p.add_argument("--debug", action="store_true", help="show the full traceback of an error",
                   **({"default": False} if top else default))
    p.add_argument("--max-bytes", type=parse_byte_size, metavar="SIZE",
                   help="largest input file read, in bytes (suffixes k, M, G; default 1G): a larger "
                        "file is refused before it is read",
                   **({"default": None} if top else default))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="nhs-league",
        description="Re-compute NHS Oversight Framework league tables and show how much of each "
                    "league position is real.")
    parser.add_argument("--version", action="version", version=f"nhs-league {__version__}")
    _add_common_options(parser, top=True)
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
    for p in sub.choices.values():
        _add_common_options(p, top=False)
    return parser


def _one_line(text) -> str:
    return " ".join(str(text).split())


def system_error_text(exc: BaseException) -> str:
    """An error from the operating system, on one line: what failed and on which file."""
    if isinstance(exc, MemoryError):
        return ("out of memory: the run needs more memory than the machine has; use fewer draws or "
                "scenarios, or smaller inputs")
    what = exc.strerror if isinstance(exc, OSError) and exc.strerror else (str(exc) or type(exc).__name__)
    files = [f for f in (getattr(exc, "filename", None), getattr(exc, "filename2", None)) if f]
    return _one_line(f"{' -> '.join(map(str, files))}: {what}" if files else what)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = bool(getattr(args, "debug", False)) or os.environ.get(DEBUG_ENV, "") not in ("", "0")
    from .files import input_size_limit

    try:
        with input_size_limit(getattr(args, "max_bytes", None)), warnings.catch_warnings():
            warnings.showwarning = _one_line_warning  # a library's warning is one line too, never a stack
            code = int(args.run(args) or 0)
        sys.stdout.flush()  # a full disk under a redirected stdout fails here, not at exit
        return code
    except ProblemList as exc:
        for p in exc.problems:
            print(f"nhs-league: error: {_one_line(p)}", file=sys.stderr)
        _traceback(debug)
        return 2
    except NHSLeagueError as exc:
        print(f"nhs-league: error: {_one_line(exc)}", file=sys.stderr)
        _traceback(debug)
        return 2
    except KeyboardInterrupt:
        print("nhs-league: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    except (OSError, MemoryError) as exc:
        _quiet_stdout()
        print(f"nhs-league: error: {system_error_text(exc)}", file=sys.stderr)
        _traceback(debug)
        return 2
    except Exception as exc:  # a defect: still one line, the traceback on request
        if isinstance(exc, RuntimeError) and "symlink loop" in str(exc).lower():  # pathlib's resolve()
            print(f"nhs-league: error: {_one_line(exc)}: a loop of symbolic links", file=sys.stderr)
            _traceback(debug)
            return 2
        msg = _one_line(exc)
        print(f"nhs-league: internal error: {type(exc).__name__}{': ' + msg if msg else ''} (a bug in "
              f"nhs-league; run again with --debug for the traceback)", file=sys.stderr)
        _traceback(debug)
        return EXIT_DEFECT


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"nhs-league: warning: {category.__name__}: {_one_line(message)}", file=sys.stderr)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's final flush of output that could not be
    written (a closed pipe, a full disk) does not print a second error at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor (captured)
        pass


def _traceback(debug: bool) -> None:
    if debug:
        traceback.print_exc(file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
