"""papermill I/O for the runner: absolute local paths, no process-wide ``chdir``, atomic writes."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from ..files import atomic_write_bytes



#: papermill reads and writes local notebooks through a handler that calls ``os.chdir`` around each
#: read and write (to a folder kept in a module-wide attribute that threads set and restore in turn):
#: with two worker threads the process could be left in another folder. The runner's notebooks go
#: through this handler instead, registered with papermill's I/O registry under its own prefix.
PAPERMILL_SCHEME = "nhs-league-file://"
_io_lock = threading.Lock()
_io_registered = False


class _NotebookFiles:
    """papermill I/O for absolute local paths, without ``os.chdir``; writes are atomic."""

    @staticmethod
    def _path(path: str) -> str:
        return path[len(PAPERMILL_SCHEME):] if path.startswith(PAPERMILL_SCHEME) else path

    def read(self, path):
        with open(self._path(path), encoding="utf-8") as fh:
            return fh.read()

    def write(self, buf, path):  # the executed notebook, in the build folder
        atomic_write_bytes(self._path(path), buf.encode("utf-8"))

    def listdir(self, path):
        folder = self._path(path)
        return [PAPERMILL_SCHEME + os.path.join(folder, name) for name in os.listdir(folder)]

    def pretty_path(self, path):
        return self._path(path)


def papermill_path(path) -> str:
    """``path`` as the runner hands it to papermill: absolute, under :data:`PAPERMILL_SCHEME` (read by
    :class:`_NotebookFiles`), with braces doubled (papermill formats paths with the parameters)."""
    global _io_registered
    with _io_lock:
        if not _io_registered:
            from papermill.iorw import papermill_io

            papermill_io.register(PAPERMILL_SCHEME, _NotebookFiles())
            _io_registered = True
    return PAPERMILL_SCHEME + str(_absolute(path)).replace("{", "{{").replace("}", "}}")


def _absolute(path) -> Path:
    """``path`` made absolute against the working folder now (symlinks are not resolved)."""
    return Path(os.path.abspath(os.fspath(path)))
