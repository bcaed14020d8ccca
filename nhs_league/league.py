"""The league table order: within trust type, by adjusted segment, then by the 2-dp average.

Equal (segment, average) share a rank and the next rank is skipped (competition
ranking, "1224"). A segment-3 trust with a better average ranks below every segment-2 trust.
"""

from __future__ import annotations

import numpy as np

from .scoring import competition_rank


def league_ranks(segment, average_2dp, *, decimals: int = 2) -> np.ndarray:
    """Competition ranks by (segment, rounded average), trusts on the last axis.

    Trusts with segment 0 or a ``NaN`` average (not ranked) get rank 0.

    Examples
    --------
    >>> league_ranks(np.array([2, 1, 2, 3, 2]), np.array([2.2, 2.5, 2.1, 1.5, 2.2])).tolist()
    [3, 1, 2, 5, 3]
    """
    seg = np.asarray(segment, dtype=np.int64)
    avg = np.asarray(average_2dp, dtype=float)
    f = 10 ** decimals
    ok = (seg > 0) & ~np.isnan(avg)
    key = np.where(ok, seg * (10.0 * f) + np.rint(np.nan_to_num(avg) * f), np.nan)
    r = competition_rank(key, axis=-1)
    return np.where(ok, np.nan_to_num(r), 0).astype(np.int64)
