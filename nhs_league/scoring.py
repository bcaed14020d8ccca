"""Metric scores (1.00 best to 4.00 worst) and the average metric score.

Every function works on numpy arrays shaped ``(..., n_trusts, n_metrics)`` (or
``(..., n_trusts)`` for one metric vector): the leading axes are replicates, so the
bootstrap and the sensitivity runs score thousands of tables in one call. Ranking is
always *within the trusts given*, i.e. within one trust type. ``NaN`` means "no value":
the trust is not scored on that metric.
"""

from __future__ import annotations

import warnings

import numpy as np


def competition_rank(keys, axis: int = -1) -> np.ndarray:
    """Competition ("1224", ties take the lowest rank) ranks of ``keys``, smallest first.

    ``NaN`` keys get ``NaN`` ranks and do not count. Works along ``axis`` for any shape.

    Examples
    --------
    >>> competition_rank(np.array([3.0, 1.0, 3.0, np.nan, 2.0])).tolist()
    [3.0, 1.0, 3.0, nan, 2.0]
    >>> competition_rank(np.array([[1.0, 1.0, 0.5]])).tolist()
    [[2.0, 2.0, 1.0]]
    """
    x = np.moveaxis(np.asarray(keys, dtype=float), axis, -1)
    n = x.shape[-1]
    if n == 0:
        return np.moveaxis(x.copy(), -1, axis)
    # ties get equal ranks whatever their order, so the (3x faster) unstable sort is enough; NaN sorts last
    order = np.argsort(x, axis=-1)
    xs = np.take_along_axis(x, order, axis=-1)
    new = np.empty(xs.shape, dtype=bool)
    new[..., 0] = True
    np.not_equal(xs[..., 1:], xs[..., :-1], out=new[..., 1:])
    idx = np.broadcast_to(np.arange(n), xs.shape)
    first = np.maximum.accumulate(np.where(new, idx, 0), axis=-1).astype(float) + 1.0
    first[np.isnan(xs)] = np.nan
    out = np.empty_like(first)
    np.put_along_axis(out, order, first, axis=-1)
    return np.moveaxis(out, -1, axis)


def _oriented(values, higher_is_better) -> np.ndarray:
    """Values turned so that smaller is better along the last (metric) axis."""
    v = np.asarray(values, dtype=float)
    hib = np.asarray(higher_is_better, dtype=bool)
    return np.where(hib, -v, v)


def continuous_scores(values, higher_is_better, *, min_trusts: int = 2) -> np.ndarray:
    """Rank-based 1-4 scores, the NOF continuous rule [D].

    Within each metric (last axis), rank the trusts that have a value (axis ``-2``) in the
    better direction, ties "min", and map ``score = 1 + 3 (rank - 1) / (N - 1)`` where
    ``N`` is the number of trusts with a value. A metric with fewer than ``min_trusts``
    values is not scored (``NaN``).

    Parameters
    ----------
    values : array, shape (..., n_trusts, n_metrics)
    higher_is_better : bool array, shape (n_metrics,)

    Examples
    --------
    >>> v = np.array([[90.0], [80.0], [np.nan], [70.0], [80.0]])
    >>> continuous_scores(v, [True]).ravel().tolist()
    [1.0, 2.0, nan, 4.0, 2.0]
    """
    key = _oriented(values, higher_is_better)
    rank = competition_rank(key, axis=-2)
    n = np.sum(~np.isnan(key), axis=-2, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = 1.0 + 3.0 * (rank - 1.0) / (n - 1.0)
    return np.where(n >= min_trusts, score, np.nan)


def bookend_scores(values, higher_is_better, *, standard=None, floor=None, order=None,
                   min_trusts: int = 2) -> np.ndarray:
    """The 2025/26 manual's continuous rule with its bookends [C], per metric (last axis).

    * ``standard`` (per metric, NaN = none): trusts meeting it (at least as good) score 1.00;
      the others are spread between 2.00 and 4.00;
    * ``floor`` (per metric, NaN = none): trusts failing it (worse) score 4.00; the others are
      spread between 1.00 and 3.00;
    * otherwise the trusts are spread between 1.00 and 4.00.

    "Spread" is by position [C]: the trusts between the bookends are ranked in the better
    direction, ties taking the best rank of their cluster ("min"), and scored
    ``lo + (hi - lo) (rank - 1) / (N - 1)`` with ``N`` the number of them. Scores are not
    rounded here (NHS England averages unrounded scores [D]). ``order`` (same shape as
    ``values``, smaller = better, NaN = none), when given, replaces the values as the ranking
    key: the official files' ``Rank`` column keeps NHS England's order of unrounded values,
    which the 2-dp ``Value`` loses [D].

    Examples
    --------
    >>> v = np.array([[95.0], [80.0], [60.0], [75.0], [np.nan]])
    >>> bookend_scores(v, [True], floor=[70.0]).ravel().tolist()
    [1.0, 2.0, 4.0, 3.0, nan]
    >>> bookend_scores(v, [True], standard=[90.0]).ravel().tolist()
    [1.0, 2.0, 4.0, 3.0, nan]
    """
    v = np.asarray(values, dtype=float)
    m = v.shape[-1]
    hib = np.broadcast_to(np.asarray(higher_is_better, dtype=bool), (m,))
    std = np.full(m, np.nan) if standard is None else np.asarray(standard, dtype=float)
    flr = np.full(m, np.nan) if floor is None else np.asarray(floor, dtype=float)
    key = _oriented(v, hib)
    have = ~np.isnan(key)
    with np.errstate(invalid="ignore"):
        meets = have & ~np.isnan(std) & (key <= np.where(hib, -std, std))
        fails = have & ~np.isnan(flr) & (key > np.where(hib, -flr, flr))
    mid = have & ~meets & ~fails
    k = key if order is None else np.asarray(order, dtype=float)
    rank = competition_rank(np.where(mid, k, np.nan), axis=-2)
    n_mid = mid.sum(axis=-2, keepdims=True)
    lo = np.where(~np.isnan(std), 2.0, 1.0)
    hi = np.where(~np.isnan(flr), 3.0, 4.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = np.where(n_mid > 1, lo + (hi - lo) * (rank - 1.0) / (n_mid - 1.0), lo)
    score = np.where(meets, 1.0, np.where(fails, 4.0, np.where(mid, spread, np.nan)))
    n = have.sum(axis=-2, keepdims=True)
    return np.where(n >= min_trusts, score, np.nan)


def unround_on_grid(scores, *, lo: float = 1.0, hi: float = 4.0, decimals: int = 2, n_min: int = 2,
                    n_max: int = 300) -> tuple[np.ndarray, int | None]:
    """Recover unrounded rank scores from published 2-dp scores of one metric.

    A rank score is ``lo + (hi - lo) k / (N - 1)`` for an integer position ``k``. Given the
    published scores (NaN = none; scores outside ``[lo, hi]`` are bookend scores and are kept),
    find the smallest ``N`` (``n_min`` to ``n_max``) whose grid, rounded to ``decimals``,
    holds every published score, and return the scores on that grid with ``N``. Where no
    ``N`` fits (or the grid is finer than the rounding, ``N > n_max``) the scores come back as
    they are, with ``None``. Used where NHS England scored a metric among trusts the input does
    not hold: the published score is then the only source, and its unrounded value is what
    NHS England averaged.

    >>> exact = 1 + 3 * np.arange(46) / 45          # 46 trusts, evenly spread
    >>> s, n = unround_on_grid(round_scores(exact))  # published to 2 dp
    >>> n, bool(np.allclose(s, exact))
    (46, True)
    """
    s = np.asarray(scores, dtype=float)
    inside = ~np.isnan(s) & (s >= lo - 1e-9) & (s <= hi + 1e-9)
    x = s[inside]
    if x.size == 0:
        return s.copy(), None
    f = 10.0 ** decimals
    lo_n = max(n_min, 2)
    big_n = np.arange(lo_n, n_max + 1, dtype=float)[:, None]
    k = np.round((x[None, :] - lo) * (big_n - 1) / (hi - lo))
    grid = lo + (hi - lo) * k / (big_n - 1)
    fits = np.all(np.abs(np.floor(grid * f + 0.5 + 1e-9) / f - x[None, :]) < 0.5 / f * 1e-3, axis=1)
    if not fits.any():
        return s.copy(), None
    i = int(np.argmax(fits))
    out = s.copy()
    out[inside] = grid[i]
    return out, int(big_n[i, 0])


def finance_lookup_scores(planned, variance, *, planned_edges, variance_edges, table) -> tuple:
    """Combined finance score (OF1080) from the two band scores, through a lookup table [D].

    ``planned`` (OF0079) and ``variance`` (OF0081) are each scored 1 + the number of their
    ``*_edges`` they fall below (OF1079, OF1081); ``table[a - 1][b - 1]`` is the combined score.
    Returns ``(combined, planned_band, variance_band)``; NaN where either input is missing.

    >>> c, a, b = finance_lookup_scores(np.array([0.5, -1.2, 1.0]), np.array([-0.7, 0.0, np.nan]),
    ...     planned_edges=[0, -1, -2], variance_edges=[0, -0.5, -1],
    ...     table=[[1, 1, 2, 3], [2, 3, 3, 4], [2, 3, 3, 4], [2, 3, 4, 4]])
    >>> c.tolist(), a.tolist(), b.tolist()
    ([2.0, 2.0, nan], [1.0, 3.0, 1.0], [3.0, 1.0, nan])
    """
    a = banded_scores(planned, planned_edges)
    b = banded_scores(variance, variance_edges)
    t = np.asarray(table, dtype=float)
    ok = ~np.isnan(a) & ~np.isnan(b)
    ia = np.where(ok, a, 1).astype(int) - 1
    ib = np.where(ok, b, 1).astype(int) - 1
    return np.where(ok, t[ia, ib], np.nan), a, b


def zscore_scores(values, higher_is_better, *, min_trusts: int = 2, spread: float = 2.0) -> np.ndarray:
    """Alternative rule: z-scores mapped linearly onto 1-4.

    ``score = 2.5 + 1.5 * z / spread`` with ``z`` in the worse direction, clipped to [1, 4].

    >>> s = zscore_scores(np.array([[1.0], [2.0], [3.0]]), [True])
    >>> bool(s[0, 0] > s[2, 0])
    True
    """
    key = _oriented(values, higher_is_better)
    n = np.sum(~np.isnan(key), axis=-2, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = np.nanmean(key, axis=-2, keepdims=True)
        sd = np.nanstd(key, axis=-2, keepdims=True, ddof=1)
        z = np.where(sd > 0, (key - mu) / sd, 0.0)
    score = np.clip(2.5 + 1.5 * z / spread, 1.0, 4.0)
    return np.where((n >= min_trusts) & ~np.isnan(key), score, np.nan)


def minmax_scores(values, higher_is_better, *, min_trusts: int = 2) -> np.ndarray:
    """Alternative rule: min-max scaling of the values to 1 (best) - 4 (worst).

    >>> minmax_scores(np.array([[10.0], [20.0], [40.0]]), [True]).ravel().tolist()
    [4.0, 3.0, 1.0]
    """
    key = _oriented(values, higher_is_better)
    n = np.sum(~np.isnan(key), axis=-2, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore", all="ignore"):
        lo = np.nanmin(np.where(n > 0, key, 0.0), axis=-2, keepdims=True)
        hi = np.nanmax(np.where(n > 0, key, 0.0), axis=-2, keepdims=True)
        score = np.where(hi > lo, 1.0 + 3.0 * (key - lo) / (hi - lo), 1.0)
    return np.where((n >= min_trusts) & ~np.isnan(key), score, np.nan)


def quartile_band_scores(values, higher_is_better, *, min_trusts: int = 2) -> np.ndarray:
    """Alternative rule: fixed thresholds at each metric's quartiles give discrete 1, 2, 3, 4.

    >>> quartile_band_scores(np.array([[1.0], [2.0], [3.0], [4.0], [5.0]]), [False]).ravel().tolist()
    [1.0, 1.0, 2.0, 3.0, 4.0]
    """
    key = _oriented(values, higher_is_better)
    n = np.sum(~np.isnan(key), axis=-2, keepdims=True)
    with np.errstate(all="ignore"):
        q = np.nanquantile(np.where(n > 0, key, 0.0), [0.25, 0.5, 0.75], axis=-2, keepdims=True)
    score = 1.0 + np.sum(key[None] > q, axis=0)
    return np.where((n >= min_trusts) & ~np.isnan(key), score.astype(float), np.nan)


CONTINUOUS_RULES = {
    "rank": continuous_scores,
    "zscore": zscore_scores,
    "minmax": minmax_scores,
    "quartile_bands": quartile_band_scores,
}


def banded_scores(values, edges, *, higher_is_better: bool = True, start: float = 1.0) -> np.ndarray:
    """Discrete scores from band edges: ``start`` plus the number of edges the value is worse than.

    With ``higher_is_better`` a value strictly below an edge is worse than it.

    >>> banded_scores(np.array([1.0, -0.5, -3.0, np.nan]), [0.0, -1.5]).tolist()
    [1.0, 2.0, 3.0, nan]
    """
    v = np.asarray(values, dtype=float)
    e = np.asarray(edges, dtype=float)
    worse = (v[..., None] < e) if higher_is_better else (v[..., None] > e)
    return np.where(np.isnan(v), np.nan, start + worse.sum(axis=-1))


def finance_position_scores(planned, variance, *, deficit_points: float = 1.0,
                            variance_bands=(0.0, -1.5), cap: float = 4.0) -> np.ndarray:
    """The finance position score (acute Q3): ``1 + [planned deficit] + band(adverse variance)``.

    ``planned`` is the planned surplus/deficit (OF0079, % of income) and ``variance`` the
    year-to-date variance to plan (OF0081). One point for a planned deficit; one more point
    for each band edge the variance falls below; capped at ``cap`` [I, band edges U]. A
    missing variance counts as on plan; a missing planned position gives ``NaN``.

    >>> finance_position_scores(np.array([1.0, -2.0, -2.0, 0.5]), np.array([0.0, 0.2, -2.0, -0.1])).tolist()
    [1.0, 2.0, 4.0, 2.0]
    """
    p = np.asarray(planned, dtype=float)
    v = np.nan_to_num(np.asarray(variance, dtype=float), nan=0.0)
    score = 1.0 + deficit_points * (p < 0) + (v[..., None] < np.asarray(variance_bands, float)).sum(-1)
    return np.where(np.isnan(p), np.nan, np.minimum(score, cap))


def aggregate_scores(scores, *, weights=None, aggregation: str = "mean", trim: float = 0.1) -> np.ndarray:
    """The average metric score of each trust: aggregate over the last (metric) axis.

    ``weights`` (shape ``(n_metrics,)`` or broadcastable) apply to ``mean`` and
    ``geometric_mean``; missing scores are left out and the weights of the rest renormalised.
    A trust with no scores gets ``NaN``.

    Examples
    --------
    >>> s = np.array([[1.0, 2.0, np.nan], [4.0, 4.0, 1.0]])
    >>> aggregate_scores(s).tolist()
    [1.5, 3.0]
    >>> aggregate_scores(s, aggregation="median").tolist()
    [1.5, 4.0]
    """
    s = np.asarray(scores, dtype=float)
    have = ~np.isnan(s)
    if aggregation in ("mean", "geometric_mean"):
        w = np.ones(s.shape[-1]) if weights is None else np.asarray(weights, dtype=float)
        w = np.where(have, w, 0.0)
        total = w.sum(axis=-1)
        x = np.log(s) if aggregation == "geometric_mean" else s
        with np.errstate(invalid="ignore", divide="ignore"):
            xw = np.where(have, x, 0.0)
            if np.broadcast_shapes(xw.shape, w.shape) == xw.shape:
                xw *= w  # in place: one (..., n, m) array fewer for many replicate tables
            else:
                xw = xw * w
            m = xw.sum(axis=-1) / total
        m = np.where(total > 0, m, np.nan)
        return np.exp(m) if aggregation == "geometric_mean" else m
    if aggregation == "median":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows give NaN, as wanted
            return np.nanmedian(s, axis=-1)
    if aggregation == "trimmed_mean":
        # sort so NaN go last, then cut floor(trim * k) from each end of the k present scores
        srt = np.sort(s, axis=-1)
        k = have.sum(axis=-1, keepdims=True)
        cut = np.floor(trim * k)
        pos = np.arange(s.shape[-1])
        keep = (pos >= cut) & (pos < k - cut)
        with np.errstate(invalid="ignore", divide="ignore"):
            m = np.where(keep, srt, 0.0).sum(-1) / keep.sum(-1)
        return np.where(keep.sum(-1) > 0, m, np.nan)
    raise ValueError(f"unknown aggregation {aggregation!r}")


def round_scores(x, decimals: int = 2, rounding: str = "half_up") -> np.ndarray:
    """Round averages as published: ``half_up`` (2.345 -> 2.35) or ``half_even``.

    A tiny guard (1e-9) absorbs binary representation error, so 2.345 rounds up even
    though it is stored as 2.34499999....

    >>> round_scores(np.array([2.345, 2.355, 1.0049999]), 2).tolist()
    [2.35, 2.36, 1.0]
    """
    f = 10.0 ** decimals
    x = np.asarray(x, dtype=float)
    if rounding == "half_even":
        return np.round(x, decimals)
    return np.floor(x * f + 0.5 + 1e-9) / f
