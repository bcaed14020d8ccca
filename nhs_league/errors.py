"""Exceptions raised by nhs_league.

Every error about input data names the file, the row (the line number in the file,
the header being line 1) and the column, so that an analyst can open the file and
find the cell. The CLI prints ``str(error)`` on one line and exits with status 2.
"""

from __future__ import annotations


class NHSLeagueError(Exception):
    """Base class of every error nhs_league raises on purpose."""


class InputError(NHSLeagueError, ValueError):
    """A problem with an input file: names the file, row and column where known.

    Examples
    --------
    >>> str(InputError("not a number: 'abc'", file="a.csv", row=7, column="Value"))
    "a.csv, row 7, column 'Value': not a number: 'abc'"
    >>> str(InputError("no rows for 2024Q1", file="/d/a.csv, /d/b.csv, /d/c.csv", column="Quarter"))
    "column 'Quarter': no rows for 2024Q1 (files: a.csv, b.csv and 1 more)"
    """

    def __init__(self, message: str, *, file=None, row=None, column=None):
        self.message = message
        self.file = None if file is None else str(file)
        self.row = row
        self.column = column
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        files = [f for f in (self.file or "").split(", ") if f]
        if len(files) > 2:  # the reason first, then a short list: never a wall of paths
            names = [f.replace("\\", "/").rsplit("/", 1)[-1] for f in files]
            tail = f" (files: {names[0]}, {names[1]} and {len(names) - 2} more)"
            at = ", ".join(x for x in ([f"row {self.row}"] if self.row is not None else [])
                           + ([f"column '{self.column}'"] if self.column is not None else []))
            return f"{at + ': ' if at else ''}{self.message}{tail}"
        if self.file is not None:
            where.append(self.file)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:  # a command-line option is not a column of a file
            col = str(self.column)
            where.append(f"option {col}" if col.startswith("-") else f"column '{col}'")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class MethodError(NHSLeagueError, ValueError):
    """A method preset, or a method choice, that cannot be applied."""


class ProblemList(NHSLeagueError):
    """Several input problems found at once (raised by validation in collect mode)."""

    def __init__(self, problems):
        self.problems = list(problems)
        first = str(self.problems[0]) if self.problems else "no problems"
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(first + more)


class Problems:
    """Collects input problems; raises on the first one unless ``collect`` is true.

    Readers report every problem through :meth:`add`; ``nhs-league validate`` runs them
    with ``collect=True`` to list every problem, everything else stops at the first.
    """

    def __init__(self, collect: bool = False):
        self.collect = collect
        self.items: list[InputError] = []

    def add(self, error: InputError) -> None:
        if not self.collect:
            raise error
        self.items.append(error)

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise ProblemList(self.items)
