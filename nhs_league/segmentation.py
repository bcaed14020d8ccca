"""Segments: from the average metric score to segments 1-4, the financial override, segment 5.

How a segment is decided, in order (nof-method.md §1):

1. raw segment from the 2-dp average score: fixed cut-offs (from Q2 2025/26:
   ``<= 2.06`` -> 1, ``<= 2.35`` -> 2, ``<= 2.70`` -> 3, else 4) or quartiles within the
   trust type (Q1 2025/26);
2. the financial override: a trust in deficit is capped at segment 3 (1 and 2 become 3);
3. segment 5 (intensive support) comes from an external list, not from scoring.

All functions accept arrays with leading replicate axes; trusts are on the last axis.
"""

from __future__ import annotations

import numpy as np

# Floating-point guard for comparisons of 2-dp averages with 2-dp cut-offs.
_EPS = 1e-9


def cutoff_segments(average, cutoffs=(2.06, 2.35, 2.70)) -> np.ndarray:
    """Raw segment 1-4 by fixed cut-offs: 1 + the number of cut-offs the average exceeds.

    Examples
    --------
    >>> cutoff_segments(np.array([2.06, 2.07, 2.35, 2.36, 2.70, 2.71])).tolist()
    [1, 2, 2, 3, 3, 4]
    """
    a = np.asarray(average, dtype=float)
    c = np.asarray(cutoffs, dtype=float)
    seg = 1 + (a[..., None] > c + _EPS).sum(axis=-1)
    return np.where(np.isnan(a), 0, seg).astype(np.int64)


def nanquantile(a, q, *, axis: int, method: str = "linear") -> np.ndarray:
    """:func:`numpy.nanquantile`, through :func:`numpy.quantile` when ``a`` holds no NaN: the same
    values, where nanquantile goes row by row in Python (slow for many replicates or trusts)."""
    a = np.asarray(a, dtype=float)
    if np.isnan(a).any():
        return np.nanquantile(a, q, axis=axis, method=method)
    return np.quantile(a, q, axis=axis, method=method)


def quartile_cutoffs(average, *, method: str = "linear") -> np.ndarray:
    """The 25th, 50th and 75th percentiles of the averages on the last axis (shape ``(..., 3)``)."""
    return np.moveaxis(nanquantile(average, [0.25, 0.5, 0.75], axis=-1, method=method), 0, -1)


def quartile_segments(average, *, method: str = "linear", boundary: str = "better") -> np.ndarray:
    """Raw segment 1-4 by quartiles of the averages within the trust type (the Q1 rule).

    ``boundary='better'`` puts a trust exactly on a quartile into the better segment
    (``average <= q``); ``'worse'`` into the worse one. NHS England has not published either
    choice, nor the quantile definition, so both are inputs.

    Examples
    --------
    >>> quartile_segments(np.array([1.0, 2.0, 3.0, 4.0, 5.0])).tolist()
    [1, 1, 2, 3, 4]
    >>> quartile_segments(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), boundary="worse").tolist()
    [1, 2, 3, 4, 4]
    """
    a = np.asarray(average, dtype=float)
    q = quartile_cutoffs(a, method=method)[..., None, :]
    if boundary == "better":
        seg = 1 + (a[..., None] > q + _EPS).sum(axis=-1)
    elif boundary == "worse":
        seg = 1 + (a[..., None] >= q - _EPS).sum(axis=-1)
    else:
        raise ValueError("boundary must be 'better' or 'worse'")
    return np.where(np.isnan(a), 0, seg).astype(np.int64)


def apply_override(raw_segment, in_deficit, *, cap: int = 3, enabled: bool = True) -> np.ndarray:
    """Cap trusts in deficit at segment ``cap``: a better segment becomes ``cap``; worse stay.

    The override never improves a segment.

    >>> apply_override(np.array([1, 2, 3, 4, 1]), np.array([True, True, True, True, False])).tolist()
    [3, 3, 3, 4, 1]
    """
    raw = np.asarray(raw_segment, dtype=np.int64)
    if not enabled:
        return raw.copy()
    d = np.asarray(in_deficit, dtype=bool)
    return np.where(d & (raw < cap) & (raw > 0), cap, raw)


def apply_segment5(segment, intensive_support) -> np.ndarray:
    """Segment 5 for trusts in intensive support (Recovery Support Programme).

    >>> apply_segment5(np.array([1, 3, 4]), np.array([False, True, False])).tolist()
    [1, 5, 4]
    """
    return np.where(np.asarray(intensive_support, dtype=bool), 5, np.asarray(segment, dtype=np.int64))


def deficit_from_metrics(planned, variance, *, tolerance: float = 0.0) -> np.ndarray:
    """In deficit [D, acute Q3 129/129]: planned surplus/deficit < 0 or YTD variance to plan < 0.

    ``tolerance`` shifts both thresholds (``< -tolerance``); non-acute tolerances are unknown.
    Missing values count as not in deficit on that measure.

    >>> deficit_from_metrics(np.array([1.0, -0.1, 0.0, np.nan]), np.array([0.0, 0.0, -0.2, np.nan])).tolist()
    [False, True, True, False]
    """
    p = np.asarray(planned, dtype=float)
    v = np.asarray(variance, dtype=float)
    with np.errstate(invalid="ignore"):
        return (np.nan_to_num(p, nan=0.0) < -tolerance) | (np.nan_to_num(v, nan=0.0) < -tolerance)
