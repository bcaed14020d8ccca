"""Safe reading and writing.

Writing: atomic replacement, never overwriting a published output (or a symlink) without force,
system errors (disk full, permission denied, read-only file system) as one-line
:class:`OutputError` s that leave the old file intact, and CSV cells that a spreadsheet would
run as a formula neutralised (:func:`neutralise_cell`).

Reading: :func:`read_input_bytes` reads at most :func:`max_input_bytes` bytes (``--max-bytes``),
so that an endless input (``/dev/zero``) or a huge file is refused before memory fills up.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import os
import re
import stat
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError, NHSLeagueError


class OutputError(NHSLeagueError):
    """An output cannot be written where it was asked for (a folder, a file as a folder, no permission)."""


class OutputExistsError(OutputError):
    """An output exists and ``force`` was not given."""


# ----------------------------------------------------------------------------------------------
# Reading: a size limit on every input file
# ----------------------------------------------------------------------------------------------
#: Largest input file read by default (256 MiB; the published NOF files are a few MB).
DEFAULT_MAX_BYTES = 256 * 1024 ** 2
_max_bytes: contextvars.ContextVar[int | None] = contextvars.ContextVar("nhs_league_max_bytes", default=None)
_SIZE = re.compile(r"^\s*(\d+)\s*([kmgt]?)(i?b)?\s*$", re.IGNORECASE)


def parse_byte_size(text) -> int:
    """A size in bytes from ``1000``, ``64k``, ``512M``, ``2G`` (powers of 1024).

    >>> parse_byte_size("64k"), parse_byte_size("2G")
    (65536, 2147483648)
    """
    import argparse

    m = _SIZE.match(str(text))
    if not m or int(m.group(1)) < 1:
        raise argparse.ArgumentTypeError(f"expected a size in bytes such as 1000000, 64k, 512M or 2G, got {text!r}")
    return int(m.group(1)) * 1024 ** " kmgt".index((m.group(2) or " ").lower())


def max_input_bytes() -> int:
    """The size limit on input files in force (``--max-bytes``, else :data:`DEFAULT_MAX_BYTES`)."""
    v = _max_bytes.get()
    return DEFAULT_MAX_BYTES if v is None else v


@contextlib.contextmanager
def input_size_limit(n: int | None):
    """Within the block, input files larger than ``n`` bytes are refused (None: the default)."""
    token = _max_bytes.set(n)
    try:
        yield
    finally:
        _max_bytes.reset(token)


def _human(n: int) -> str:
    for unit, size in (("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


#: The package's own data files (presets, catalogue) are not inputs: no size limit applies to them.
PACKAGE_DATA = Path(__file__).resolve().parent / "data"


def read_input_bytes(path, *, what: str = "file") -> bytes:
    """The bytes of an input file, at most :func:`max_input_bytes` of them (the package's own data
    files, under :data:`PACKAGE_DATA`, are read whole).

    A missing file, a folder, an unreadable file or one over the limit is an :class:`InputError`
    naming the file. The limit is checked on the size the file reports and, for files that
    report none (devices, pipes), while reading: an endless input stops at the limit.
    """
    p = Path(path)
    limit = max_input_bytes()
    try:
        if p.resolve().is_relative_to(PACKAGE_DATA):
            limit = max(limit, 1 << 30)
    except (OSError, RuntimeError):
        pass  # a loop of links: the read below says so
    size = f"{limit} bytes" + (f" ({_human(limit)})" if limit >= 1024 else "")
    too_big = InputError(f"the {what} is larger than the input limit of {size}: "
                         "pass --max-bytes to raise it", file=p)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise InputError(f"{what} not found", file=p) from None
    except OSError as exc:
        raise InputError(f"cannot read the {what}: {exc.strerror or exc}", file=p) from None
    if p.is_dir():
        raise InputError(f"this is a folder, not a {what}", file=p)
    if st.st_size > limit:
        raise too_big
    try:
        with open(p, "rb") as fh:
            chunks, total = [], 0
            while True:
                chunk = fh.read(min(1 << 20, limit + 1 - total))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
                if total > limit:
                    raise too_big
    except OSError as exc:
        raise InputError(f"cannot read the {what}: {exc.strerror or exc}", file=p) from None
    return b"".join(chunks)


#: The first bytes of files that are not text: what they are, and what to do.
_NOT_TEXT = ((b"PK\x03\x04", "this is an Excel workbook, not a CSV file (or another zip file): save the sheet as CSV first"),
             (b"\xd0\xcf\x11\xe0", "this is an Excel workbook, not a CSV file: save the sheet as CSV first"),
             (b"\x1f\x8b", "this is a gzip-compressed file, not a CSV file: unpack it first"),
             (b"BZh", "this is a bzip2-compressed file, not a CSV file: unpack it first"),
             (b"\xfd7zXZ\x00", "this is a xz-compressed file, not a CSV file: unpack it first"),
             (b"7z\xbc\xaf\x27\x1c", "this is a 7-Zip-compressed file, not a CSV file: unpack it first"),
             (b"\x28\xb5\x2f\xfd", "this is a Zstandard-compressed file, not a CSV file: unpack it first"),
             (b"%PDF", "this is a PDF document, not a CSV file"))


def not_text(data: bytes) -> str | None:
    """Why ``data`` is not a text file (a workbook, a compressed file, a PDF), or None."""
    return next((why for magic, why in _NOT_TEXT if data.startswith(magic)), None)


# ----------------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------------
_SYSTEM_WORDS = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
                 errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied",
                 errno.EPERM: "permission denied"}


def system_words(exc: OSError) -> str:
    """What an error from the system means, in words: ``the disk is full``, ``permission denied``..."""
    return _SYSTEM_WORDS.get(exc.errno) or exc.strerror or str(exc)


def _cannot_write(p: Path, exc: OSError, *, kept: bool) -> OutputError:
    why = system_words(exc)
    tail = "; the old file is left as it was" if kept else ""
    return OutputError(f"cannot write {p}: {why}{tail}")


def _kind(p: Path) -> str:
    """``missing``, ``link``, ``folder``, ``file``, ``stream`` (a character device such as /dev/null,
    or a FIFO) or ``special`` (a block device or a socket), without following a symlink."""
    try:
        mode = os.lstat(p).st_mode
    except FileNotFoundError:
        return "missing"
    except OSError:
        return "missing"  # an unreadable path: the write itself says why
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return "stream"
    return "special"


def _target_kind(p: Path) -> str:
    """What a symlink points to (following it), as :func:`_kind` words it."""
    try:
        mode = os.stat(p).st_mode
    except (OSError, RuntimeError):  # dangling, or a loop
        return "missing"
    return ("folder" if stat.S_ISDIR(mode) else "file" if stat.S_ISREG(mode)
            else "stream" if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) else "special")


def refuse_existing(p: Path, *, force: bool, what: str = "") -> None:
    """Refuse a folder, a block device or socket, and (without ``force``) an existing file or any
    symlink, dangling or not. A character device or FIFO (``/dev/null``, a pipe) is written into,
    never replaced, and needs no ``force``."""
    p = Path(p)
    kind = _kind(p)
    if kind == "link":
        if not force:
            raise OutputExistsError(f"{p} is a symbolic link (to {os.readlink(p)}): it is not followed; pass "
                                    f"--force to replace the link itself with the {what or 'output'} file")
        if _target_kind(p) == "folder":
            raise OutputError(f"{p} is a link to a folder: give a file name{' for ' + what if what else ''}")
        return
    if kind == "folder":
        raise OutputError(f"{p} is a folder: give a file name{' for ' + what if what else ''}")
    if kind == "special":
        raise OutputError(f"{p} is a device or a socket, not a file: give a file name{' for ' + what if what else ''}")
    if kind == "file" and not force:
        raise OutputExistsError(f"{p} exists: pass --force to overwrite it")


def _write_stream(p: Path, data: bytes) -> Path:
    """Write into a character device or FIFO in place (it cannot be replaced, and must not be)."""
    try:
        with open(p, "wb") as f:
            f.write(data)
            f.flush()
    except OSError as exc:
        raise _cannot_write(p, exc, kept=False) from None
    return p


def atomic_write_bytes(path, data: bytes, *, force: bool = True) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    A reader never sees a half-written file; a crash, a full disk or a refused write leaves the
    old file in place and is an :class:`OutputError`. With ``force=False`` an existing file, or a
    symlink, is an :class:`OutputExistsError`; with ``force`` a symlink is replaced by the file
    (its target is never written), except a link to a character device or FIFO (``/dev/stdout``),
    which is written into. A character device or FIFO itself (``/dev/null``, a named pipe) is
    written into and never replaced: renaming a file over ``/dev/null`` would remove the device.
    A block device or a socket is refused.
    """
    p = Path(path)
    refuse_existing(p, force=force)
    kind = _kind(p)
    if kind == "stream" or (kind == "link" and _target_kind(p) == "stream"):
        return _write_stream(p, data)
    kept = kind != "missing"
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    except OSError as exc:
        raise _cannot_write(p, exc, kept=kept) from None
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; outputs are meant to be read by others
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _cannot_write(p, exc, kept=kept) from None
        raise
    return p


def atomic_write_text(path, text: str, *, force: bool = True) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"), force=force)


#: First characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(text: str) -> str:
    """A text cell as a spreadsheet shows it, never runs it: a leading ``'`` before ``= + - @``.

    A cell that is a plain number (``-0.5``, ``+3``) is left as it is.

    >>> neutralise_cell("=HYPERLINK(1)"), neutralise_cell("-0.5"), neutralise_cell("Trust")
    ("'=HYPERLINK(1)", '-0.5', 'Trust')
    """
    if not text.startswith(FORMULA_STARTS):
        return text
    try:
        float(text)
        return text
    except ValueError:
        return "'" + text


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every text cell that a spreadsheet would run as a formula neutralised (a copy
    only when a cell changes; numeric columns are never touched)."""
    out = None
    for col in df.columns:
        s = df[col]
        if s.dtype.kind not in "OUS" and not isinstance(s.dtype, pd.StringDtype):
            continue
        try:
            risky = s.str.startswith(FORMULA_STARTS, na=False).to_numpy(dtype=bool)
        except AttributeError:  # an object column without any text
            continue
        if not risky.any():
            continue
        vals = s.to_numpy(dtype=object)
        fixed = vals.copy()
        fixed[risky] = [neutralise_cell(v) for v in vals[risky]]
        if out is None:
            out = df.copy()
        out[col] = pd.Series(fixed, index=df.index, dtype=s.dtype)
    return df if out is None else out


def csv_text(df: pd.DataFrame) -> str:
    """The project's one CSV format: UTF-8, LF line ends, no index, floats as Python repr, and text
    cells that start like a spreadsheet formula neutralised (:func:`neutralise_cell`)."""
    return neutralise_formulas(df).to_csv(index=False, lineterminator="\n")


def write_csv(df: pd.DataFrame, path, *, force: bool = True) -> Path:
    """Write a table as CSV atomically (``path='-'`` is not handled here)."""
    return atomic_write_text(path, csv_text(df), force=force)
