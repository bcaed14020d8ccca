"""Download a quarter's official NOF files by name, checked, from the registry of where they are.

The registry (``nhs_league/data/registry.yaml``, extended or corrected with ``registry=FILE``) lists
for each quarter, organisation type and kind (``data`` or ``league-table``) NHS England's file
name, the URL where it was seen, its SHA-256 where known, the publication page to look at and the
date it was seen. A URL that has not been seen is ``null``: nothing is guessed, and asking for such
a file is an error that names the page to look at.

A download is checked before anything is written:

* the HTTP status, and that the body arrived whole (``Content-Length`` is honoured);
* its size against a limit (``max_bytes``), before and while reading;
* that it is not an HTML page (an error or log-in page served with status 200);
* that it is a CSV file whose header has the columns of its kind (``Metric_ID`` ... for a data
  file, ``Average_score`` ... for a league table), read with the reader's own header rules;
* its SHA-256 against the registry's, where the registry knows it.

Every file of a request is downloaded and checked first, then written atomically
(:func:`nhs_league.files.atomic_write_bytes`) under NHS England's own name; an interrupted or
failed run writes nothing. An existing file is only replaced with ``force``.

Only the standard library's :mod:`urllib` is used. Every network problem is an
:class:`~nhs_league.errors.InputError` naming the URL and the publication page, printed by the CLI on
one line with exit status 2.
"""

from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import http.client
import io as _io
import re
import shlex
import socket
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import __version__, orgtypes
from .errors import InputError
from .files import OutputError, OutputExistsError, atomic_write_bytes
from .quarters import Quarter, parse_quarter

REGISTRY_PATH = Path(__file__).parent / "data" / "registry.yaml"
KINDS = ("data", "league-table")
DEFAULT_DIR = Path("data") / "raw"
DEFAULT_TIMEOUT = 30.0  # seconds without a byte from the server
DEFAULT_MAX_BYTES = 200_000_000
CHUNK = 64 * 1024
_FIELDS = ("quarter", "trust_type", "kind", "file_name", "url", "sha256", "publication_page", "date_seen",
           "source", "note")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Entry:
    """One official file: quarter code, organisation type, kind and what is known about it."""

    quarter: str
    trust_type: str
    kind: str
    file_name: str | None = None
    url: str | None = None
    sha256: str | None = None
    publication_page: str | None = None
    date_seen: str | None = None
    source: str = ""
    note: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.quarter, self.trust_type, self.kind)

    @property
    def what(self) -> str:
        return f"the {Quarter.parse(self.quarter).label} {self.trust_type} {self.kind} file"


@dataclass
class Registry:
    entries: dict = field(default_factory=dict)  # key -> Entry
    default_page: str | None = None
    sources: list = field(default_factory=list)

    def page_for(self, quarter: str, trust_type: str | None = None) -> str:
        for e in self.entries.values():
            if e.quarter == quarter and (trust_type is None or e.trust_type == trust_type) and e.publication_page:
                return e.publication_page
        return self.default_page or "NHS England's NHS Oversight Framework pages"


def _read_registry_file(path) -> tuple[list[dict], str | None]:
    import yaml

    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("registry file not found", file=p) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the registry: {exc}", file=p) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise InputError(f"{where}not valid YAML: {' '.join(str(getattr(exc, 'problem', exc)).split())}",
                         file=p) from None
    if not isinstance(data, dict) or not isinstance(data.get("entries", []), list):
        raise InputError("a registry is a mapping with a list 'entries'", file=p)
    return data.get("entries") or [], data.get("default_publication_page")


def _check_entry(raw, path, i: int) -> dict:
    where = dict(file=path, column=f"entries[{i}]")
    if not isinstance(raw, dict):
        raise InputError("an entry is a mapping of quarter, trust_type, kind, file_name, url, ...", **where)
    unknown = sorted(set(raw) - set(_FIELDS))
    if unknown:
        raise InputError(f"unknown field(s) {unknown}; the fields are {list(_FIELDS)}", **where)
    for f in ("quarter", "trust_type", "kind"):
        if raw.get(f) in (None, ""):
            raise InputError(f"'{f}' is missing", **where)
    out = {k: v for k, v in raw.items()}
    out["quarter"] = parse_quarter(str(raw["quarter"]), file=path, column=f"entries[{i}].quarter").code
    try:
        out["trust_type"] = orgtypes.parse(raw["trust_type"])
    except InputError as exc:
        raise InputError(exc.message, file=path, column=f"entries[{i}].trust_type") from None
    if raw["kind"] not in KINDS:
        raise InputError(f"kind must be one of {list(KINDS)}, got {raw['kind']!r}", **where)
    url = raw.get("url")
    if url is not None and not (isinstance(url, str) and re.match(r"^https?://[^\s/]+/\S*$", url)):
        raise InputError(f"url must be an http(s) URL or null, got {url!r}", **where)
    name = raw.get("file_name")
    if name is not None and not (isinstance(name, str) and _SAFE_NAME.match(name) and ".." not in name):
        raise InputError(f"file_name must be a plain file name (no folders), got {name!r}", **where)
    sha = raw.get("sha256")
    if sha is not None:
        if not (isinstance(sha, str) and _HEX64.match(sha.lower())):
            raise InputError(f"sha256 must be 64 hexadecimal digits or null, got {sha!r}", **where)
        out["sha256"] = sha.lower()
    seen = raw.get("date_seen")
    if isinstance(seen, (_dt.date, _dt.datetime)):
        out["date_seen"] = seen.isoformat()[:10]
    elif seen is not None:
        try:
            out["date_seen"] = _dt.date.fromisoformat(str(seen)).isoformat()
        except ValueError:
            raise InputError(f"date_seen must be a date YYYY-MM-DD or null, got {seen!r}", **where) from None
    for f in ("publication_page", "source", "note"):
        if raw.get(f) is not None and not isinstance(raw[f], str):
            raise InputError(f"{f} must be text", **where)
    return out


def load_registry(extra=None) -> Registry:
    """The built-in registry, with the entries of ``extra`` (a YAML file) added or replacing fields.

    Examples
    --------
    >>> reg = load_registry()
    >>> e = reg.entries[("2025Q1", "acute", "data")]
    >>> e.url.rsplit("/", 3)[1:]
    ['2025', '09', 'nhs-oversight-framework-acute-trust-data.csv']
    >>> reg.entries[("2025Q4", "mental-health-and-community", "league-table")].sha256[:12]
    'd06dcf5e5f99'
    """
    reg = Registry()
    for path in [REGISTRY_PATH] + ([Path(extra)] if extra else []):
        items, page = _read_registry_file(path)
        if page:
            reg.default_page = str(page)
        for i, raw in enumerate(items):
            e = _check_entry(raw, path, i)
            key = (e["quarter"], e["trust_type"], e["kind"])
            fields = {k: e[k] for k in _FIELDS if k in e}
            if fields.get("url") and not fields.get("file_name"):  # saved under the name the URL gives
                fields["file_name"] = fields["url"].rsplit("/", 1)[-1].split("?")[0]
            base = reg.entries.get(key)
            entry = replace(base, **fields) if base is not None else Entry(**fields)
            reg.entries[key] = replace(entry, source=entry.source or "", note=entry.note or "")
        reg.sources.append(str(path))
    return reg


def select(reg: Registry, quarter: str, trust_types=None, kinds=KINDS) -> list[Entry]:
    """The registry entries asked for, each with a URL; else an :class:`InputError` naming the page.

    Without ``trust_types``: every organisation type scored in the quarter's financial year.
    """
    q = Quarter.parse(quarter)
    types = list(trust_types) if trust_types else list(orgtypes.types_for_year(q.year))
    wanted = [(q.code, t, k) for t in types for k in kinds]
    missing = [w for w in wanted if w not in reg.entries]
    if missing:
        qq, t, k = missing[0]
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise InputError(f"the registry has no entry for the {q.label} {t} {k} file{more}: look for it on "
                         f"{reg.page_for(q.code, t)} and add it with --registry FILE", file="registry")
    out = [reg.entries[w] for w in wanted]
    unknown = [e for e in out if not e.url]
    if unknown:
        e = unknown[0]
        named = f" ({e.file_name})" if e.file_name else ""
        more = f" (and {len(unknown) - 1} more of the {len(out)} files asked for)" if len(unknown) > 1 else ""
        raise InputError(f"the URL of {e.what}{named} is not known{more}: look for it on "
                         f"{e.publication_page or reg.page_for(e.quarter)} and add it with --registry FILE "
                         "(or leave it out with --trust-type / --kind)", file="registry")
    return out


# ----------------------------------------------------------------------------- downloading


class Progress:
    """A one-line progress bar on a text stream (``\\r``-updated when it is a terminal)."""

    def __init__(self, stream=None, width: int = 24, every: float = 0.1):
        self.stream = sys.stderr if stream is None else stream
        self.width = width
        self.every = every
        self._last = 0.0
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def _line(self, name: str, done: int, total: int | None) -> str:
        mb = f"{done / 1e6:.1f}"
        if total:
            k = min(self.width, int(self.width * done / total))
            return f"  {name} [{'#' * k}{'.' * (self.width - k)}] {mb} of {total / 1e6:.1f} MB"
        return f"  {name} {mb} MB"

    def start(self, name: str, total: int | None) -> None:
        self._last = 0.0
        if not self.tty:
            size = f" ({total / 1e6:.1f} MB)" if total else ""
            print(f"nhs-league: downloading {name}{size}", file=self.stream, flush=True)

    def update(self, name: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        if self.tty and now - self._last >= self.every:
            self._last = now
            print("\r" + self._line(name, done, total), end="", file=self.stream, flush=True)

    def finish(self, name: str, done: int, total: int | None) -> None:
        if self.tty:
            print("\r" + self._line(name, done, total or done), file=self.stream, flush=True)


def _fail(e: Entry, message: str, page=None) -> InputError:
    return InputError(f"{message}: nothing written; look for the file on {page or e.publication_page or 'the NOF pages'}",
                      file=e.url)


def download(e: Entry, *, timeout: float = DEFAULT_TIMEOUT, max_bytes: int = DEFAULT_MAX_BYTES,
             progress: Progress | None = None, deadline: float | None = None) -> bytes:
    """The body at ``e.url``, whole, or an :class:`InputError` naming the URL and the page.

    ``timeout`` bounds every wait for the server (connecting, the headers, each read);
    ``deadline`` (a :func:`time.monotonic` value) bounds the whole download; ``max_bytes`` its size.
    """
    req = urllib.request.Request(e.url, headers={"User-Agent": f"nhs-league/{__version__}"})
    name = e.file_name or e.url
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 - http(s) only, checked in the registry
    except urllib.error.HTTPError as exc:
        raise _fail(e, f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, (socket.timeout, TimeoutError)):
            raise _fail(e, f"no answer within {timeout:g} s (--timeout)") from None
        raise _fail(e, f"cannot reach the server ({reason}; offline?)") from None
    except (socket.timeout, TimeoutError):
        raise _fail(e, f"no answer within {timeout:g} s (--timeout)") from None
    except (http.client.HTTPException, OSError) as exc:
        raise _fail(e, f"the connection failed ({type(exc).__name__}: {exc})") from None
    with resp:
        length = resp.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        if total is not None and total > max_bytes:
            raise _fail(e, f"the file is {total / 1e6:.1f} MB, over the limit of {max_bytes / 1e6:.1f} MB (--max-mb)")
        ctype = (resp.headers.get("Content-Type") or "").lower()
        if "html" in ctype:
            raise _fail(e, f"the server sent an HTML page, not a CSV file (Content-Type {ctype}; an error or "
                           "log-in page?)")
        buf = _io.BytesIO()
        done = 0
        prog = progress or Progress(_io.StringIO())
        prog.start(name, total)
        # bounded: every read returns within `timeout` or raises, and the loop ends at max_bytes + 1,
        # at the end of the body or at the deadline
        while True:
            try:
                chunk = resp.read1(CHUNK)  # what has arrived, up to CHUNK: the progress bar moves
            except (socket.timeout, TimeoutError):
                raise _fail(e, f"the server stopped sending for {timeout:g} s after {done} bytes (--timeout)") from None
            except http.client.IncompleteRead as exc:
                got = done + len(exc.partial)
                raise _fail(e, f"the download stopped after {got} of {total or '?'} bytes") from None
            except (http.client.HTTPException, OSError) as exc:
                raise _fail(e, f"the download broke off after {done} bytes ({type(exc).__name__})") from None
            if not chunk:
                break
            done += len(chunk)
            if done > max_bytes:
                raise _fail(e, f"the file is over the limit of {max_bytes / 1e6:.1f} MB (--max-mb)")
            buf.write(chunk)
            prog.update(name, done, total)
            if deadline is not None and time.monotonic() > deadline:
                raise _fail(e, f"the download took too long ({done} bytes so far)")
        if total is not None and done != total:
            raise _fail(e, f"the download stopped after {done} of {total} bytes")
        prog.finish(name, done, total)
    return buf.getvalue()


def _header(data: bytes) -> list[str]:
    first = data[:65536].split(b"\n", 1)[0]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data[:131072].decode("utf-16", errors="replace").split("\n", 1)[0]
    else:
        try:
            text = first.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = first.decode("cp1252", errors="replace")
    return next(csv.reader([text.rstrip("\r")]), [])


def check_content(e: Entry, data: bytes) -> str:
    """Check a downloaded body; returns its SHA-256. An :class:`InputError` says what is wrong."""
    from .io import DATA_REQUIRED, LEAGUE_REQUIRED, canonical_header

    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype", b"<html", b"<?xml", b"<head", b"<body")) or b"<html" in head[:512]:
        raise _fail(e, "the server sent an HTML page, not a CSV file (an error or log-in page?)")
    if not data.strip():
        raise _fail(e, "the file is empty")
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _fail(e, "the file is binary, not a CSV file")
    cols = {canonical_header(c) for c in _header(data)} - {None}
    need = DATA_REQUIRED if e.kind == "data" else LEAGUE_REQUIRED
    lacking = [c for c in need if c not in cols]
    if lacking:
        raise _fail(e, f"not a NOF {e.kind} CSV file: its header lacks {', '.join(lacking)}")
    digest = hashlib.sha256(data).hexdigest()
    if e.sha256 and digest != e.sha256:
        raise _fail(e, f"SHA-256 {digest} differs from the registry's {e.sha256}")
    return digest


@dataclass
class Fetched:
    entry: Entry
    path: Path
    sha256: str
    size: int
    checked: bool  # the registry knew the SHA-256 and it matched


def target_dir(quarter: str, directory=None) -> Path:
    return Path(directory) if directory else DEFAULT_DIR / Quarter.parse(quarter).code


def fetch(quarter, *, trust_types=None, kinds=KINDS, directory=None, force: bool = False, registry=None,
          timeout: float = DEFAULT_TIMEOUT, max_bytes: int = DEFAULT_MAX_BYTES, progress: Progress | None = None,
          total_seconds: float | None = None) -> list[Fetched]:
    """Download, check and write a quarter's official files; returns what was written.

    Every file is downloaded and checked before any is written; each is then written atomically.
    ``total_seconds`` bounds each download's duration (default: 20 x ``timeout``, at least 10 min).
    """
    q = Quarter.parse(quarter)
    reg = registry if isinstance(registry, Registry) else load_registry(registry)
    entries = select(reg, q.code, trust_types, kinds)
    out_dir = target_dir(q.code, directory)
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"cannot write into {out_dir}: it is a file, not a folder")
    targets = [out_dir / e.file_name for e in entries]
    if not force:
        existing = [p for p in targets if p.exists() or p.is_symlink()]
        if existing:
            raise OutputExistsError(f"{existing[0]} exists ({len(existing)} of the {len(targets)} files do): "
                                    "pass --force to download and overwrite")
    span = total_seconds if total_seconds is not None else max(600.0, 20 * timeout)
    bodies = []
    for e in entries:
        data = download(e, timeout=timeout, max_bytes=max_bytes, progress=progress,
                        deadline=time.monotonic() + span)
        bodies.append((e, data, check_content(e, data)))
    done = []
    for (e, data, digest), p in zip(bodies, targets):
        atomic_write_bytes(p, data, force=force)
        done.append(Fetched(e, p, digest, len(data), bool(e.sha256)))
    return done


def next_command(fetched: list[Fetched]) -> list[str]:
    """The ``nhs-league table`` commands to run on what was fetched (one per organisation type)."""
    out = []
    by_type: dict[str, list[Fetched]] = {}
    for f in fetched:
        by_type.setdefault(f.entry.trust_type, []).append(f)
    for t, fs in by_type.items():
        data = [f for f in fs if f.entry.kind == "data"] or fs
        q = fs[0].entry.quarter
        out.append(f"nhs-league table {' '.join(shlex.quote(str(f.path)) for f in data)} --quarter {q} "
                   f"--trust-type {t}")
    return out


__all__ = ["Entry", "Registry", "REGISTRY_PATH", "KINDS", "load_registry", "select", "download", "check_content",
           "fetch", "next_command", "Progress", "Fetched", "target_dir"]
