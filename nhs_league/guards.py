"""Checks on the numbers read from input files that no format variant may bypass.

The readers in :mod:`nhs_league.io` parse text to numbers; these functions then refuse what a
number can hold but a NOF figure cannot: infinity, overflow (``1e309`` reads as infinity), a
magnitude no published figure comes near, a rank that is fractional, negative or larger than
the file, and a likely range whose ends are reversed or outside what they bound. Each problem
is an :class:`~nhs_league.errors.InputError` naming file, row and column, reported through the
reader's :class:`~nhs_league.errors.Problems` (first one raised, or all collected by
``nhs-league validate``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import InputError, Problems

#: Largest magnitude accepted for any published figure. The largest NOF figures are counts and
#: finance figures in GBP thousands, below 1e9; a bound keeps every sum and square of values
#: (z-scores, variances) finite in float64.
MAX_MAGNITUDE = 1e12
#: A number written with thousands separators, the only commas a number may hold ("1,234.5").
THOUSANDS = r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?"
#: Largest rank accepted. England has about 210 NHS trusts, and a rank counts trusts of one type;
#: a bound (rather than the number of rows of the file) still reads a file cut down to some rows.
MAX_RANK = 1000
#: How many problems of one kind one column reports (the rest are the same mistake).
_SHOWN = 20


def _row(raw: pd.DataFrame, i) -> int:
    lines = raw.attrs.get("lines")
    return int(lines[i]) if lines is not None else int(i) + 2


def _cells(raw: pd.DataFrame, col: str) -> pd.Series:
    return raw[col] if col in raw.columns else pd.Series([""] * len(raw), dtype=object)


def refuse_non_finite(raw: pd.DataFrame, col: str, vals: np.ndarray, problems: Problems,
                      text=None) -> np.ndarray:
    """Report every cell of ``col`` whose number is infinite, overflows, or exceeds
    :data:`MAX_MAGNITUDE`; return ``vals`` with those cells set to NaN (so that a collecting
    run goes on without them). ``text``: the cells as written (default ``raw[col]``)."""
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(vals) & ~(np.abs(vals) <= MAX_MAGNITUDE)
    if not bad.any():
        return vals
    text = _cells(raw, col) if text is None else text
    path = raw.attrs.get("path")
    for i in np.flatnonzero(bad)[:_SHOWN]:
        what = ("not a finite number" if not np.isfinite(vals[i])
                else f"a magnitude above {MAX_MAGNITUDE:g}, which no NOF figure reaches")
        problems.add(InputError(f"{str(text.iloc[i])[:40]!r} is {what}", file=path, row=_row(raw, i), column=col))
    vals = vals.copy()
    vals[bad] = np.nan
    return vals


def whole_numbers(raw: pd.DataFrame, col: str, vals: np.ndarray, problems: Problems, *, low: int = 1,
                  high: int | None = None, what: str = "rank", text=None) -> pd.array:
    """``vals`` (floats, NaN where blank) as a nullable integer array, refusing fractional values
    and values outside ``[low, high]`` (``high`` defaults to :data:`MAX_RANK`). Refused cells
    become NA."""
    high = MAX_RANK if high is None else high
    text = _cells(raw, col) if text is None else text
    path = raw.attrs.get("path")
    with np.errstate(invalid="ignore"):
        frac = ~np.isnan(vals) & (np.floor(vals) != vals)
        out_of = ~np.isnan(vals) & ~frac & ((vals < low) | (vals > high))
    for i in np.flatnonzero(frac)[:_SHOWN]:
        problems.add(InputError(f"{what} {str(text.iloc[i])[:40]!r} is not a whole number", file=path,
                                row=_row(raw, i), column=col))
    for i in np.flatnonzero(out_of)[:_SHOWN]:
        problems.add(InputError(f"{what} {str(text.iloc[i])[:40]!r} is outside {low}-{high}", file=path, row=_row(raw, i), column=col))
    keep = ~np.isnan(vals) & ~frac & ~out_of
    ints = np.zeros(len(vals), dtype=np.int64)
    ints[keep] = vals[keep].astype(np.int64)
    return pd.arrays.IntegerArray(ints, ~keep)


def check_range(raw: pd.DataFrame, col: str, lo: np.ndarray, hi: np.ndarray, problems: Problems, *,
                bounds: tuple[float, float] | None = None, what: str = "range"):
    """Refuse a likely range whose low end is above its high end, or (``bounds``) outside them;
    return ``lo, hi`` with refused ranges set to NaN."""
    path = raw.attrs.get("path")
    text = _cells(raw, col)
    with np.errstate(invalid="ignore"):
        rev = lo > hi
        outside = ~rev & ((lo < bounds[0]) | (hi > bounds[1])) if bounds else np.zeros(len(lo), bool)
    for i in np.flatnonzero(rev)[:_SHOWN]:
        problems.add(InputError(f"{what} {text.iloc[i]!r} is reversed: its low end is above its high end",
                                file=path, row=_row(raw, i), column=col))
    for i in np.flatnonzero(outside)[:_SHOWN]:
        problems.add(InputError(f"{what} {text.iloc[i]!r} is outside [{bounds[0]:g}, {bounds[1]:g}]",
                                file=path, row=_row(raw, i), column=col))
    bad = rev | outside
    if bad.any():
        lo, hi = lo.copy(), hi.copy()
        lo[bad] = hi[bad] = np.nan
    return lo, hi
