"""Upper bounds on the sizes of a run, and the memory a run needs, checked before it starts.

A run that cannot finish should say so at once, in one line, rather than fill the machine's
memory and end in a ``MemoryError`` (or be killed). Two checks:

* **Bounds** on the counts a user gives (:data:`MAX_DRAWS`, :data:`MAX_SCENARIOS`,
  :data:`MAX_SOBOL_N`, :data:`MAX_OAT_DRAWS`): far above any useful value (the defaults are
  1,000 draws, 10,000 scenarios and a Sobol base of 1,024), they stop a typing slip such as
  ``--draws 1000000000`` before anything is read.
* **Memory**: once the inputs are read, :func:`check_memory` compares an estimate of the peak
  memory (:func:`ranks_bytes`, :func:`sensitivity_bytes`) with the memory the machine has
  available (``MemAvailable`` in ``/proc/meminfo``). The estimates are linear models fitted, with
  a margin, to peak resident sizes measured on the synthetic year (``/usr/bin/time -v``, 2026-12):

  ========================= ============================ ===================================
  command                   measured                     model (bytes)
  ========================= ============================ ===================================
  ``ranks`` (both sources)  acute, 134 trusts x 28       64 x draws x trusts x metrics
                            scored metrics: 177-188 MB
                            at 500 draws, 799-899 MB at
                            4,000; mental health, 61 x
                            17: 476 MB at 8,000
  ``sensitivity``           acute: 11 KB per scenario    100 x trusts x (scenarios + Sobol
                            or Sobol evaluation           evaluations + one-at-a-time runs)
  ========================= ============================ ===================================

  plus :data:`BASE_BYTES` for the interpreter and libraries.
"""

from __future__ import annotations

import os

from .errors import MethodError

MAX_DRAWS = 100_000
MAX_SCENARIOS = 1_000_000
MAX_SOBOL_N = 2 ** 20
MAX_OAT_DRAWS = 100_000
#: Memory of the interpreter, numpy, pandas and the inputs before the run's own arrays.
BASE_BYTES = 250 * 1024 ** 2
#: Most Sobol evaluations per base sample: ``factors + 2`` with every choice of the space varied.
SOBOL_EVALUATIONS_PER_BASE = 11


def check_count(value, name: str, *, low: int = 1, high: int) -> int:
    """A whole number in ``[low, high]``, else a one-line :class:`MethodError` naming ``name``.

    >>> check_count(1000, "--draws", high=MAX_DRAWS)
    1000
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise MethodError(f"{name} must be a whole number, got {value!r}")
    if value < low:
        raise MethodError(f"{name} must be at least {low:,}, got {value:,}")
    if value > high:
        raise MethodError(f"{name} must be at most {high:,} (the documented upper bound), got {value:,}")
    return value


def human_bytes(n: float) -> str:
    """``1.5 GiB``, ``320 MiB``, ..."""
    for unit, size in (("TiB", 1024 ** 4), ("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} bytes"


def available_memory() -> int | None:
    """Bytes of memory available to a new run (``MemAvailable``), or None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(need: float, what: str, advice: str) -> None:
    """Refuse, in one line, a run whose estimated peak memory ``need`` exceeds what is available."""
    have = available_memory()
    if have is not None and need > have:
        raise MethodError(f"{what} would need about {human_bytes(need)} of memory, and this machine has "
                          f"{human_bytes(have)} available: {advice}")


def ranks_bytes(draws: int, trusts: int, metrics: int) -> float:
    """Estimated peak memory of ``nhs-league ranks`` (see the module docstring)."""
    return BASE_BYTES + 64.0 * draws * trusts * max(metrics, 1)


def sensitivity_bytes(scenarios: int, sobol_n: int, oat: int, trusts: int) -> float:
    """Estimated peak memory of ``nhs-league sensitivity`` (see the module docstring)."""
    evaluations = scenarios + sobol_n * SOBOL_EVALUATIONS_PER_BASE + oat
    return BASE_BYTES + 100.0 * trusts * evaluations
