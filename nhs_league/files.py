"""Safe writing: atomic replacement, and never overwriting a published output without force."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from .errors import NHSLeagueError


class OutputError(NHSLeagueError):
    """An output cannot be written where it was asked for (a folder, a file as a folder, no permission)."""


class OutputExistsError(OutputError):
    """An output exists and ``force`` was not given."""


def atomic_write_bytes(path, data: bytes, *, force: bool = True) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    A reader never sees a half-written file; a crash leaves the old file in place.
    With ``force=False`` an existing file is an :class:`OutputExistsError`.
    """
    p = Path(path)
    if p.is_dir():
        raise OutputError(f"{p} is a folder: give a file name")
    if p.exists() and not force:
        raise OutputExistsError(f"{p} exists: pass --force to overwrite it")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    except OSError as exc:
        raise OutputError(f"cannot write {p}: {exc.strerror or exc}") from None
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; outputs are meant to be read by others
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return p


def atomic_write_text(path, text: str, *, force: bool = True) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"), force=force)


def csv_text(df: pd.DataFrame) -> str:
    """The project's one CSV format: UTF-8, LF line ends, no index, floats as Python repr."""
    return df.to_csv(index=False, lineterminator="\n")


def write_csv(df: pd.DataFrame, path, *, force: bool = True) -> Path:
    """Write a table as CSV atomically (``path='-'`` is not handled here)."""
    return atomic_write_text(path, csv_text(df), force=force)
