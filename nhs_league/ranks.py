"""Confidence sets for ranks (Mogstad, Romano, Shaikh & Wilhelm, 2024).

Reference: M. Mogstad, J. P. Romano, A. M. Shaikh and D. Wilhelm (2024), "Inference for
Ranks with Applications to Mobility across Neighborhoods and Academic Achievement across
Countries", Review of Economic Studies 91(1). See ``docs/ranks.md`` and section 2 of the
statistics notes.

Every public function here is a view of one computation, :func:`_rejections`: a
Romano–Wolf (stepdown) multiple test of the pairwise hypotheses

    H_jk : unit j is *not* better than unit k,

with statistic ``t_jk = (θ̂_j − θ̂_k) / sqrt(Σ_jj + Σ_kk − 2 Σ_jk)`` (θ oriented so that
larger is better) and a critical value taken from the maximum of the same standardised
differences of draws ``Z ~ N(0, Σ̂)`` over the hypotheses still in play. Rejecting H_jk
says "j is significantly better than k". The rank set of j is then
``[1 + #units significantly better than j, p − #units significantly worse than j]``.

* Simultaneous sets use one family of all p(p − 1) ordered pairs: the p sets cover the
  true ranks jointly with probability ≈ ``coverage``.
* Marginal sets use, for each unit j, only the 2(p − 1) hypotheses involving j (one
  critical value per unit): each set covers on its own, and is narrower.
* One-sided sets keep only the hypotheses needed for one bound. For simultaneous sets
  over all units this is still every ordered pair (so the bound equals the corresponding
  bound of the two-sided simultaneous set); for marginal sets it halves the family.

Implementation notes
--------------------
* Units are processed in a canonical order (best estimate first; ties by smaller
  variance, then input order), and the draws are generated in that order, so relabelling
  or permuting the input permutes the output exactly for a fixed ``seed``.
* Critical values are the ``inverted_cdf`` (order-statistic) quantile of the simulated
  maxima: the smallest simulated value whose empirical CDF reaches ``coverage``.
* A hypothesis is rejected only when its statistic is positive and exceeds the critical
  value, so ``lower <= rank <= upper`` always holds (this matters only for coverage < 0.5).
* The draws × p × p tensor of standardised differences (144 MB for p = 134 and 1,000
  draws) is never materialised. The first step sweeps over the p − 1 diagonals of the
  pair matrix in slabs of draws; later stepdown steps recompute exactly only the few
  simulated maxima that can move the critical value (see :class:`_NullMaxima`). Every
  temporary is at most ``_CHUNK_BYTES`` = 1 MiB (or one draw's p × p block, if larger)
  and only a handful are alive at once; the rest is O(draws · p + p²): draws, maxima
  and a dozen p × p matrices. Peak memory (tracemalloc), 1,000 draws: p = 134, 5 MiB
  (simultaneous) / 11 MiB (marginal); p = 500, 21 / 40 MiB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .methods import check_coverage, check_draws

__all__ = [
    "rank_confidence_sets",
    "one_sided_rank_sets",
    "tau_best_set",
    "tau_worst_set",
    "significance_matrix",
    "adjacent_pairs",
    "runs",
    "league_rank_sets",
    "LeagueRankSets",
    "separation_places",
]

# Target size of one temporary array in the engine (slabs and chunks of draws).
_CHUNK_BYTES = 1 << 20
_SIDES = ("two-sided", "lower", "upper")


# --------------------------------------------------------------------------------------
# Input handling
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Problem:
    """Validated inputs, in canonical order (see module notes)."""

    labels: pd.Index  # unit labels, input order
    values: np.ndarray  # estimates on the original scale, input order
    order: np.ndarray  # order[c] = input position of the unit at canonical position c
    theta: np.ndarray  # oriented estimates (larger = better), canonical order
    cov: np.ndarray  # covariance, canonical order
    diagonal: bool  # cov is diagonal
    sd_diff: np.ndarray  # p×p sd of θ̂_j − θ̂_k, canonical order
    inv_sd: np.ndarray  # p×p 1/sd_diff on valid pairs, 0 elsewhere
    valid: np.ndarray  # p×p: off-diagonal pair whose difference has positive variance
    stat: np.ndarray  # p×p t_jk (±inf for zero-variance pairs), canonical order

    @property
    def p(self) -> int:
        return len(self.theta)


def _as_estimates(estimates) -> pd.Series:
    if isinstance(estimates, pd.DataFrame):
        raise ValueError("estimates must be a pandas Series (one value per unit), got a DataFrame")
    s = estimates if isinstance(estimates, pd.Series) else pd.Series(np.asarray(estimates).ravel())
    if len(s) == 0:
        raise ValueError("estimates is empty: need at least one unit")
    if not s.index.is_unique:
        dup = s.index[s.index.duplicated()].unique().tolist()[:5]
        raise ValueError(f"estimates has duplicated labels, e.g. {dup}")
    try:
        values = s.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"estimates must be numeric: {exc}") from None
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(
            f"estimates contains NaN or infinite values for {s.index[bad].tolist()[:5]}"
        )
    return pd.Series(values, index=s.index, name=s.name)


def _as_covariance(est: pd.Series, cov, se) -> np.ndarray:
    p = len(est)
    if (cov is None) == (se is None):
        raise ValueError("give exactly one of `cov` (covariance matrix) or `se` (standard errors)")
    if se is not None:
        if isinstance(se, pd.Series):
            if not se.index.is_unique or set(se.index) != set(est.index):
                raise ValueError("`se` is a Series whose labels differ from the estimates' labels")
            se = se.reindex(est.index)
        try:
            sd = np.asarray(se, dtype=float).ravel()
        except (TypeError, ValueError) as exc:
            raise ValueError(f"`se` must be numeric: {exc}") from None
        if sd.shape != (p,):
            raise ValueError(f"`se` has {sd.size} values for {p} estimates")
        if not np.all(np.isfinite(sd)):
            raise ValueError("`se` contains NaN or infinite values")
        if np.any(sd < 0):
            raise ValueError("`se` contains negative standard errors")
        return np.diag(sd * sd)

    if isinstance(cov, pd.DataFrame):
        missing = est.index.difference(cov.index).union(est.index.difference(cov.columns))
        if len(missing) or cov.shape != (p, p):
            raise ValueError(
                f"`cov` DataFrame must have the estimates' labels as index and columns "
                f"(shape {cov.shape}, expected {(p, p)}; missing {missing.tolist()[:5]})"
            )
        cov = cov.reindex(index=est.index, columns=est.index)
    try:
        c = np.array(cov, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"`cov` must be numeric: {exc}") from None
    if c.shape != (p, p):
        raise ValueError(f"`cov` has shape {c.shape}, expected {(p, p)} for {p} estimates")
    if not np.all(np.isfinite(c)):
        raise ValueError("`cov` contains NaN or infinite values")
    scale = max(float(np.abs(c).max()), np.finfo(float).tiny)
    if not np.allclose(c, c.T, rtol=1e-8, atol=1e-12 * scale):
        raise ValueError("`cov` is not symmetric")
    c = (c + c.T) / 2
    if np.any(np.diag(c) < 0):
        raise ValueError("`cov` has negative variances on its diagonal")
    if p > 1 and np.linalg.eigvalsh(c)[0] < -1e-10 * scale:
        raise ValueError("`cov` is not positive semi-definite")
    return c


def _check_options(coverage, draws) -> tuple[float, int]:
    return check_coverage(coverage), check_draws(draws)


def _prepare(estimates, cov, se, lower_is_better: bool) -> _Problem:
    est = _as_estimates(estimates)
    c = _as_covariance(est, cov, se)
    values = est.to_numpy()
    oriented = -values if lower_is_better else values.copy()
    var = np.diag(c).copy()
    p = len(values)
    # canonical order: best first; ties by smaller variance, then input position
    order = np.lexsort((np.arange(p), var, -oriented))
    theta = oriented[order]
    c = c[np.ix_(order, order)]
    d = np.diag(c)
    var_diff = d[:, None] + d[None, :] - 2.0 * c
    tol = 1e-14 * (d[:, None] + d[None, :])
    valid = var_diff > tol
    np.fill_diagonal(valid, False)
    sd_diff = np.sqrt(np.where(valid, var_diff, 0.0))
    inv_sd = np.divide(1.0, sd_diff, out=np.zeros_like(sd_diff), where=valid)
    diff = theta[:, None] - theta[None, :]
    # zero-variance pairs: known order, so +inf if j is better, -inf otherwise
    stat = np.where(valid, diff * inv_sd, np.where(diff > 0, np.inf, -np.inf))
    np.fill_diagonal(stat, -np.inf)
    diagonal = np.count_nonzero(c - np.diag(d)) == 0
    return _Problem(
        labels=est.index, values=values, order=order, theta=theta, cov=c,
        diagonal=bool(diagonal), sd_diff=sd_diff, inv_sd=inv_sd, valid=valid, stat=stat,
    )


def _draws(problem: _Problem, draws: int, seed) -> np.ndarray:
    """Draws × p matrix of Z ~ N(0, Σ̂), in canonical order."""
    rng = np.random.default_rng(seed)
    e = rng.standard_normal((draws, problem.p))
    if problem.diagonal:
        return e * np.sqrt(np.diag(problem.cov))
    try:
        factor = np.linalg.cholesky(problem.cov)
    except np.linalg.LinAlgError:  # singular but PSD
        w, v = np.linalg.eigh(problem.cov)
        factor = v * np.sqrt(np.clip(w, 0.0, None))
    return e @ factor.T


# --------------------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------------------
def _chunk_size(p: int) -> int:
    return max(1, _CHUNK_BYTES // (8 * p * p))


def _argmax_rows(a):
    """Row-wise maximum and its position of a 2-D array (argmax + gather: fast)."""
    arg = a.argmax(axis=1)
    return a[np.arange(len(a)), arg], arg


class _NullMaxima:
    """Critical values from the maxima of the null statistics over the hypotheses in play.

    The null draw of the statistic of H_jk is ``D_jk = (Z_j − Z_k) / sd_jk``.
    Simultaneous (``play_col is None``): one family, hypothesis (j, k) in play where
    ``play_row[j, k]``; one maximum per draw. Marginal: family i holds (i, k) where
    ``play_row[i, k]`` (null ``D_ik``) and (k, i) where ``play_col[i, k]`` (null
    ``D_ki = −D_ik``); one maximum per unit and draw. ``values`` is families × draws.

    First pass (exact, every draw): while both directions of every pair are in play
    (the first step of two-sided sets) the maximum over a pair is ``|D_jk|``, and the
    pairs (j, j + t) of one diagonal offset t are contiguous slices of the p × draws
    matrix of draws: the sweep loops over the p − 1 offsets, each step vectorised over
    all units and a slab of draws. Otherwise whole draws are processed in chunks of
    draws × p × p. Temporaries stay under ``_CHUNK_BYTES`` each.

    Stepdown steps (exact, lazy): rejecting hypotheses only shrinks the family, so a
    stored maximum stays an upper bound of the current one, and stays exact if the
    hypothesis attaining it (``arg``, when known) is still in play. The critical value
    is an order statistic near the top, so :meth:`critical_values` recomputes only the
    stale entries among the largest stored values of each family, doubling their number
    until the order statistic is pinned down (the m-th largest exact value is at least
    every bound left out). This touches a few per cent of the entries.
    """

    first_round = 2  # first round recomputes the top 2m values (usually enough)

    def __init__(self, z, inv_sd, play_row, play_col=None):
        r, p = z.shape
        self.r, self.p = r, p
        self.z = z  # draws × p
        self.zt = np.ascontiguousarray(z.T)  # p × draws
        self.inv_sd = inv_sd
        self.simultaneous = play_col is None
        self.pen_row = np.where(play_row, 0.0, -np.inf)
        self.pen_col = None if self.simultaneous else np.where(play_col, 0.0, -np.inf)
        shape = (1 if self.simultaneous else p, r)
        self.values = np.empty(shape)  # maximum, or an upper bound when not fresh
        self.fresh = np.ones(shape, dtype=bool)  # values[f, s] is exact
        # maximising hypothesis, -1 if unknown; simultaneous: j * p + k for (j, k);
        # marginal (family i): k for (i, k), p + k for (k, i)
        self.arg = np.full(shape, -1, dtype=np.intp)
        symmetric = bool(np.array_equal(play_row, play_row.T)) and (
            self.simultaneous or bool(np.array_equal(play_row, play_col)))
        if symmetric and p > 1:
            self._diagonal_sweep()
        else:
            self._recompute_draws(np.arange(r))

    # -- first pass, symmetric families ------------------------------------------------
    def _diagonal_sweep(self):
        p, r = self.p, self.r
        full = bool(np.all(self.pen_row[~np.eye(p, dtype=bool)] == 0))
        step = max(1, _CHUNK_BYTES // (8 * p))  # draws per slab
        buf = np.empty(p * min(step, r))
        for r0 in range(0, r, step):
            zc = np.ascontiguousarray(self.zt[:, r0:r0 + step])  # p × n
            n = zc.shape[1]
            acc = np.full((len(self.values), n), -np.inf)
            for t in range(1, p):
                # a[j] = |Z_j − Z_(j+t)| / sd: the larger of D_(j, j+t) and D_(j+t, j)
                a = buf[:(p - t) * n].reshape(p - t, n)
                np.subtract(zc[:p - t], zc[t:], out=a)
                np.abs(a, out=a)
                a *= np.diagonal(self.inv_sd, t)[:, None]
                if not full:
                    a += np.diagonal(self.pen_row, t)[:, None]
                if self.simultaneous:
                    np.maximum(acc[0], a.max(axis=0), out=acc[0])
                else:  # the pair belongs to the families of j and of j + t
                    np.maximum(acc[:p - t], a, out=acc[:p - t])
                    np.maximum(acc[t:], a, out=acc[t:])
            self.values[:, r0:r0 + n] = acc

    # -- exact recomputation -------------------------------------------------------------
    def _recompute_draws(self, rows):
        """Exact maxima of whole draws ``rows`` (every family), chunks of draws × p × p."""
        p = self.p
        m = _chunk_size(p)
        d_buf = np.empty((min(m, len(rows)), p, p))
        for start in range(0, len(rows), m):
            idx = rows[start:start + m]
            n = len(idx)
            zc = self.z[idx]
            d = d_buf[:n]
            np.subtract(zc[:, :, None], zc[:, None, :], out=d)
            d *= self.inv_sd  # d[s, j, k] = D_jk
            if self.simultaneous:
                d += self.pen_row
                self.values[0, idx], self.arg[0, idx] = _argmax_rows(d.reshape(n, -1))
            else:
                val, arg = self._combine(d.reshape(n * p, p), np.tile(np.arange(p), n))
                self.values[:, idx] = val.reshape(n, p).T
                self.arg[:, idx] = arg.reshape(n, p).T
            self.fresh[:, idx] = True

    def _combine(self, d, units):
        """Marginal maxima of rows ``d[e] = D_(units[e], k)`` over k (in place in ``d``)."""
        row, row_arg = _argmax_rows(d + self.pen_row[units])  # hypotheses (i, k)
        col, col_arg = _argmax_rows(np.subtract(self.pen_col[units], d, out=d))  # (k, i)
        use_col = col > row
        return np.where(use_col, col, row), np.where(use_col, col_arg + self.p, row_arg)

    def _recompute_entries(self, units, rows):
        """Exact marginal maxima of the (unit, draw) entries given."""
        m = max(1, _CHUNK_BYTES // (8 * self.p))
        for start in range(0, len(units), m):
            i, r = units[start:start + m], rows[start:start + m]
            d = self.zt[i, r][:, None] - self.z[r]  # d[e, k] = Z_i − Z_k
            d *= self.inv_sd[i]  # D_ik
            self.values[i, r], self.arg[i, r] = self._combine(d, i)
            self.fresh[i, r] = True

    # -- stepdown ------------------------------------------------------------------------
    def drop(self, new_row, new_col=None):
        """Remove newly rejected hypotheses (same layout as the ``play_*`` masks)."""
        self.pen_row[new_row] = -np.inf
        if self.simultaneous:
            left = new_row.reshape(1, -1)
        else:
            self.pen_col[new_col] = -np.inf
            left = np.concatenate([new_row, new_col], axis=1)  # p × 2p, coded like arg
        known = self.arg >= 0
        family = np.arange(len(left))[:, None]
        # exact still only if the maximiser is known and has not just left the family
        self.fresh &= known & ~left[family, np.where(known, self.arg, 0)]

    def critical_values(self, coverage):
        """The ⌈coverage · draws⌉-th smallest maximum of each family (exact).

        This is ``numpy.quantile(maxima, coverage, method="inverted_cdf")``: the
        smallest simulated value whose empirical CDF reaches ``coverage``.
        """
        nf, r = self.values.shape
        k = min(max(int(np.ceil(coverage * r)), 1), r)
        if self.fresh.all():
            crit = np.partition(self.values, k - 1, axis=1)[:, k - 1]
            return crit[0] if self.simultaneous else crit
        m = r - k + 1  # the m-th largest
        crit = np.empty(nf)
        todo = np.arange(nf)
        top = self.first_round * m
        while len(todo):
            top = min(top, r)
            vals = self.values[todo]
            idx = np.argpartition(vals, r - top, axis=1)[:, r - top:]  # largest bounds
            bound = np.take_along_axis(vals, idx, axis=1).min(axis=1)  # >= all left out
            fam = np.broadcast_to(todo[:, None], idx.shape)
            stale = ~self.fresh[fam, idx]
            if stale.any():
                if self.simultaneous:
                    self._recompute_draws(np.unique(idx[stale]))
                else:
                    self._recompute_entries(fam[stale], idx[stale])
            exact = self.values[fam, idx]
            mth = np.partition(exact, top - m, axis=1)[:, top - m]
            done = (mth >= bound) | (top == r)
            crit[todo[done]] = mth[done]
            todo = todo[~done]
            top *= 2
        return crit[0] if self.simultaneous else crit


def _rejections(problem: _Problem, *, coverage: float, simultaneous: bool, stepdown: bool,
                draws: int, seed, side: str = "two-sided") -> tuple[np.ndarray, np.ndarray]:
    """Run the (stepdown) multiple test; the one engine behind every public function.

    Returns ``(beats, beaten)``, p×p booleans in canonical order: ``beats[i, k]`` — unit i
    is significantly better than k in unit i's family; ``beaten[i, k]`` — k is
    significantly better than i in unit i's family. For simultaneous sets there is one
    family, and ``beaten`` is ``beats.T``.
    """
    if side not in _SIDES:
        raise ValueError(f"side must be one of {_SIDES}, got {side!r}")
    p = problem.p
    stat, valid = problem.stat, problem.valid
    z = _draws(problem, draws, seed)
    offdiag = ~np.eye(p, dtype=bool)

    if simultaneous:
        # every bound of every unit needs some ordered pair: the family is all of them
        family = offdiag
        rejected = np.zeros((p, p), dtype=bool)
        maxima = _NullMaxima(z, problem.inv_sd, family & valid)
        while True:
            crit = maxima.critical_values(coverage)
            new = family & ~rejected & (stat > max(crit, 0.0))
            if not new.any():
                break
            rejected |= new
            if not stepdown:
                break
            maxima.drop(new)
        return rejected, rejected.T.copy()

    # marginal: family i = {(i, k)} (upper bound) and/or {(k, i)} (lower bound)
    fam_row = offdiag if side in ("two-sided", "upper") else np.zeros((p, p), dtype=bool)
    fam_col = offdiag if side in ("two-sided", "lower") else np.zeros((p, p), dtype=bool)
    stat_col = stat.T  # stat_col[i, k] = t_ki
    rej_row = np.zeros((p, p), dtype=bool)
    rej_col = np.zeros((p, p), dtype=bool)
    maxima = _NullMaxima(z, problem.inv_sd, fam_row & valid, fam_col & valid)
    while True:
        crit = maxima.critical_values(coverage)
        crit = np.maximum(crit, 0.0)[:, None]
        new_row = fam_row & ~rej_row & (stat > crit)
        new_col = fam_col & ~rej_col & (stat_col > crit)
        if not (new_row.any() or new_col.any()):
            break
        rej_row |= new_row
        rej_col |= new_col
        if not stepdown:
            break
        maxima.drop(new_row, new_col)
    return rej_row, rej_col


def _to_input_order(problem: _Problem, canonical: np.ndarray) -> np.ndarray:
    """Reorder a canonical-order vector (or square matrix) to input order."""
    inv = np.empty_like(problem.order)
    inv[problem.order] = np.arange(problem.p)
    if canonical.ndim == 1:
        return canonical[inv]
    return canonical[np.ix_(inv, inv)]


def _point_rank(problem: _Problem) -> np.ndarray:
    """Competition ("min") rank in input order, 1 = best."""
    oriented = problem.theta[_to_input_order(problem, np.arange(problem.p))]
    # oriented estimates in input order; rank 1 + number of strictly better units
    srt = np.sort(oriented)
    return (problem.p - np.searchsorted(srt, oriented, side="right") + 1).astype(np.int64)


def _sets(problem: _Problem, beats, beaten, side: str) -> pd.DataFrame:
    p = problem.p
    lower = 1 + beaten.sum(axis=1)
    upper = p - beats.sum(axis=1)
    if side == "lower":
        upper = np.full(p, p)
    elif side == "upper":
        lower = np.ones(p)
    out = pd.DataFrame(
        {
            "rank": _point_rank(problem),
            "lower": _to_input_order(problem, lower).astype(np.int64),
            "upper": _to_input_order(problem, upper).astype(np.int64),
        },
        index=problem.labels,
    )
    return out


_COMMON_DOC = """
    estimates : pandas.Series
        Point estimates, one per unit, indexed by unit label (e.g. trust code).
    cov : numpy.ndarray or pandas.DataFrame, optional
        p×p covariance matrix of the estimates (full or diagonal). A DataFrame is aligned
        to ``estimates.index`` on both axes. Give exactly one of ``cov`` and ``se``.
    se : pandas.Series or array-like, optional
        Standard errors (independent estimates: diagonal covariance). A Series is aligned
        by label.
    coverage : float, default 0.95
        Nominal coverage, in (0, 1).
    stepdown : bool, default True
        Romano–Wolf stepdown (recompute the critical value on the hypotheses not yet
        rejected until nothing new is rejected); ``False`` is the single-step test.
    draws : int, default 1000
        Number of Monte Carlo draws from N(0, Σ̂) for the critical value.
    seed : int or numpy.random.SeedSequence, default 0
        Seed for ``numpy.random.default_rng``; results are deterministic given the seed.
    lower_is_better : bool, default True
        Rank 1 goes to the lowest estimate (``False``: to the highest).
"""


def _doc(f):
    f.__doc__ = f.__doc__.replace("    {common}\n", _COMMON_DOC.lstrip("\n"))
    return f


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------
@_doc
def rank_confidence_sets(estimates, cov=None, *, se=None, coverage=0.95, simultaneous=True,
                         stepdown=True, draws=1000, seed=0, lower_is_better=True) -> pd.DataFrame:
    """Two-sided confidence sets for ranks (Mogstad, Romano, Shaikh & Wilhelm 2024).

    Parameters
    ----------
    {common}
    simultaneous : bool, default True
        ``True``: the sets cover all true ranks jointly (one family of all p(p − 1)
        pairwise hypotheses). ``False``: marginal sets, each covering its own unit's rank
        (family of the 2(p − 1) hypotheses involving that unit; narrower).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``estimates`` (same order), int64 columns ``rank`` (competition
        "min" rank of the estimates, 1 = best), ``lower`` and ``upper`` (the set is
        ``{lower, ..., upper}``; ``lower <= rank <= upper``).

    Raises
    ------
    ValueError
        Both or neither of ``cov``/``se``; NaN estimates; a covariance that is wrongly
        shaped, not symmetric or not positive semi-definite; coverage outside (0, 1);
        draws < 1.

    Notes
    -----
    Memory: the draws × p × p tensor (144 MB for p = 134 and 1,000 draws) is never
    built; draws are processed in slabs and chunks whose temporaries are at most 1 MiB
    each. Peak memory with 1,000 draws: about 5 MiB (simultaneous) or 11 MiB
    (marginal) for p = 134, 21 / 40 MiB for p = 500.

    Critical values are the ⌈coverage · draws⌉-th smallest simulated maximum
    (``numpy.quantile(..., method="inverted_cdf")``).

    Examples
    --------
    >>> import pandas as pd
    >>> est = pd.Series([1.0, 1.1, 5.0, 9.0], index=["A", "B", "C", "D"])
    >>> rank_confidence_sets(est, se=[0.1, 0.1, 0.1, 0.1])
       rank  lower  upper
    A     1      1      2
    B     2      1      2
    C     3      3      3
    D     4      4      4
    """
    coverage, draws = _check_options(coverage, draws)
    problem = _prepare(estimates, cov, se, lower_is_better)
    beats, beaten = _rejections(problem, coverage=coverage, simultaneous=simultaneous,
                                stepdown=stepdown, draws=draws, seed=seed)
    return _sets(problem, beats, beaten, "two-sided")


@_doc
def one_sided_rank_sets(estimates, cov=None, *, se=None, side="lower", coverage=0.95,
                        simultaneous=True, stepdown=True, draws=1000, seed=0,
                        lower_is_better=True) -> pd.DataFrame:
    """One-sided confidence sets for ranks: ``[lower, p]`` or ``[1, upper]``.

    ``side="lower"`` bounds how *good* a unit's true rank can be ("at best 7th");
    ``side="upper"`` bounds how *bad* it can be. Marginal one-sided sets test only the
    p − 1 hypotheses needed for the one bound, so their bound is at least as tight as
    the two-sided marginal one. Simultaneous one-sided sets over all units need every
    ordered pair, so their bound equals the two-sided simultaneous bound.

    Parameters
    ----------
    {common}
    side : {"lower", "upper"}, default "lower"
        Which bound is informative.
    simultaneous : bool, default True
        Joint (``True``) or per-unit (``False``) coverage.

    Returns
    -------
    pandas.DataFrame
        As :func:`rank_confidence_sets`; ``upper`` is p for ``side="lower"`` and
        ``lower`` is 1 for ``side="upper"``.

    Examples
    --------
    >>> import pandas as pd
    >>> est = pd.Series([1.0, 1.1, 5.0], index=["A", "B", "C"])
    >>> one_sided_rank_sets(est, se=[0.1, 0.1, 0.1], side="lower")
       rank  lower  upper
    A     1      1      3
    B     2      1      3
    C     3      3      3
    """
    if side not in ("lower", "upper"):
        raise ValueError(f"side must be 'lower' or 'upper', got {side!r}")
    coverage, draws = _check_options(coverage, draws)
    problem = _prepare(estimates, cov, se, lower_is_better)
    beats, beaten = _rejections(problem, coverage=coverage, simultaneous=simultaneous,
                                stepdown=stepdown, draws=draws, seed=seed, side=side)
    return _sets(problem, beats, beaten, side)


def _check_tau(tau, p: int) -> int:
    if isinstance(tau, bool) or not isinstance(tau, (int, np.integer)) or not 1 <= tau <= p:
        raise ValueError(f"tau must be an integer between 1 and {p} (the number of units), got {tau!r}")
    return int(tau)


@_doc
def tau_best_set(estimates, tau, cov=None, *, se=None, coverage=0.95, stepdown=True,
                 draws=1000, seed=0, lower_is_better=True) -> pd.Series:
    """Units that could be among the true top ``tau`` ("who could really be top 10?").

    The set contains every unit whose one-sided simultaneous lower rank bound is
    ``<= tau``; with probability ≈ ``coverage`` it contains all of the truly best
    ``tau`` units (MRSW 2024, projection confidence set for the τ-best).

    Parameters
    ----------
    tau : int
        Size of the top group, 1 ≤ tau ≤ p.
    {common}

    Returns
    -------
    pandas.Series
        Boolean, indexed like ``estimates``, named ``"tau_best"``.

    Examples
    --------
    >>> import pandas as pd
    >>> est = pd.Series([1.0, 1.1, 5.0, 9.0], index=["A", "B", "C", "D"])
    >>> tau_best_set(est, 1, se=[0.1] * 4).tolist()
    [True, True, False, False]
    """
    sets = one_sided_rank_sets(estimates, cov, se=se, side="lower", coverage=coverage,
                               simultaneous=True, stepdown=stepdown, draws=draws, seed=seed,
                               lower_is_better=lower_is_better)
    tau = _check_tau(tau, len(sets))
    return (sets["lower"] <= tau).rename("tau_best")


@_doc
def tau_worst_set(estimates, tau, cov=None, *, se=None, coverage=0.95, stepdown=True,
                  draws=1000, seed=0, lower_is_better=True) -> pd.Series:
    """Units that could be among the true bottom ``tau``.

    The set contains every unit whose one-sided simultaneous upper rank bound is
    ``>= p - tau + 1``; with probability ≈ ``coverage`` it contains all of the truly
    worst ``tau`` units.

    Parameters
    ----------
    tau : int
        Size of the bottom group, 1 ≤ tau ≤ p.
    {common}

    Returns
    -------
    pandas.Series
        Boolean, indexed like ``estimates``, named ``"tau_worst"``.

    Examples
    --------
    >>> import pandas as pd
    >>> est = pd.Series([1.0, 5.0, 8.9, 9.0], index=["A", "B", "C", "D"])
    >>> tau_worst_set(est, 1, se=[0.1] * 4).tolist()
    [False, False, True, True]
    """
    sets = one_sided_rank_sets(estimates, cov, se=se, side="upper", coverage=coverage,
                               simultaneous=True, stepdown=stepdown, draws=draws, seed=seed,
                               lower_is_better=lower_is_better)
    p = len(sets)
    tau = _check_tau(tau, p)
    return (sets["upper"] >= p - tau + 1).rename("tau_worst")


def _better_matrix(problem: _Problem, beats, beaten) -> np.ndarray:
    """better[j, k]: j significantly better than k in *both* units' families.

    For simultaneous sets the two families are the same one; for marginal sets this is
    the conservative, symmetric verdict (the pair is rejected at the larger of the two
    units' critical values).
    """
    return beats & beaten.T


@_doc
def significance_matrix(estimates, cov=None, *, se=None, coverage=0.95, simultaneous=True,
                        stepdown=True, draws=1000, seed=0, lower_is_better=True) -> pd.DataFrame:
    """Pairwise verdicts of the rank test: who is significantly better than whom.

    Parameters
    ----------
    {common}
    simultaneous : bool, default True
        Use the family of the simultaneous sets (all pairs, familywise error control
        over the whole table). ``False`` uses the marginal families; a pair is then marked
        only if *both* units' marginal families reject it (symmetric, conservative).

    Returns
    -------
    pandas.DataFrame
        p×p int64, index and columns = ``estimates.index``: +1 where the row unit is
        significantly better than the column unit, −1 where significantly worse, 0 where
        the test cannot tell them apart (and on the diagonal). Antisymmetric.

    Examples
    --------
    >>> import pandas as pd
    >>> est = pd.Series([1.0, 1.1, 5.0], index=["A", "B", "C"])
    >>> significance_matrix(est, se=[0.1, 0.1, 0.1])
       A  B  C
    A  0  0  1
    B  0  0  1
    C -1 -1  0
    """
    coverage, draws = _check_options(coverage, draws)
    problem = _prepare(estimates, cov, se, lower_is_better)
    beats, beaten = _rejections(problem, coverage=coverage, simultaneous=simultaneous,
                                stepdown=stepdown, draws=draws, seed=seed)
    better = _to_input_order(problem, _better_matrix(problem, beats, beaten))
    m = better.astype(np.int64) - better.T.astype(np.int64)
    return pd.DataFrame(m, index=problem.labels, columns=problem.labels)


@_doc
def adjacent_pairs(estimates, cov=None, *, se=None, coverage=0.95, simultaneous=True,
                   stepdown=True, draws=1000, seed=0, lower_is_better=True) -> pd.DataFrame:
    """Can the units ranked k and k + 1 be told apart?

    Units are put in rank order (best first; ties by smaller standard error, then input
    order) and each consecutive pair is looked up in the same multiple test as the
    chosen confidence sets (see :func:`significance_matrix`).

    Parameters
    ----------
    {common}
    simultaneous : bool, default True
        Family of the simultaneous (``True``) or marginal (``False``) sets.

    Returns
    -------
    pandas.DataFrame
        One row per consecutive pair (p − 1 rows, RangeIndex), columns: ``position``
        (k, 1-based position in rank order), ``unit``, ``next_unit``, ``rank``,
        ``next_rank`` (point ranks), ``estimate``, ``next_estimate``, ``difference``
        (``next_estimate - estimate``), ``se`` (standard error of the difference),
        ``z`` (``difference / se``), ``distinguishable`` (bool).

    Examples
    --------
    >>> import pandas as pd
    >>> est = pd.Series([1.0, 1.1, 5.0], index=["A", "B", "C"])
    >>> adjacent_pairs(est, se=[0.1, 0.1, 0.1])[["unit", "next_unit", "distinguishable"]]
      unit next_unit  distinguishable
    0    A         B            False
    1    B         C             True
    """
    coverage, draws = _check_options(coverage, draws)
    problem = _prepare(estimates, cov, se, lower_is_better)
    beats, beaten = _rejections(problem, coverage=coverage, simultaneous=simultaneous,
                                stepdown=stepdown, draws=draws, seed=seed)
    better = _better_matrix(problem, beats, beaten)  # canonical = rank order
    p = problem.p
    a, b = np.arange(p - 1), np.arange(1, p)
    rank = _point_rank(problem)[problem.order]
    values = problem.values[problem.order]
    diff = values[b] - values[a]
    sd = problem.sd_diff[a, b]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd > 0, diff / np.where(sd > 0, sd, 1.0), np.sign(diff) * np.inf)
    labels = problem.labels[problem.order]
    return pd.DataFrame(
        {
            "position": (a + 1).astype(np.int64),
            "unit": labels[a],
            "next_unit": labels[b],
            "rank": rank[a],
            "next_rank": rank[b],
            "estimate": values[a],
            "next_estimate": values[b],
            "difference": diff,
            "se": sd,
            "z": z,
            "distinguishable": better[a, b] | better[b, a],
        }
    )


def runs(adjacent: pd.DataFrame) -> pd.Series:
    """Label runs of units that cannot be told apart from their rank neighbours.

    A new run starts after every distinguishable adjacent pair, so consecutive units
    share a label while each is statistically indistinguishable from the next (for
    caterpillar charts: shade each run as a block).

    Parameters
    ----------
    adjacent : pandas.DataFrame
        Output of :func:`adjacent_pairs` (columns ``unit``, ``next_unit``,
        ``distinguishable``, rows in rank order).

    Returns
    -------
    pandas.Series
        int64 run labels 1, 2, ..., indexed by unit in rank order, named ``"run"``.
        Empty if ``adjacent`` is empty (a single unit has no pairs).

    Examples
    --------
    >>> import pandas as pd
    >>> est = pd.Series([1.0, 1.1, 5.0], index=["A", "B", "C"])
    >>> runs(adjacent_pairs(est, se=[0.1, 0.1, 0.1])).tolist()
    [1, 1, 2]
    """
    need = {"unit", "next_unit", "distinguishable"}
    if not need.issubset(adjacent.columns):
        missing = sorted(need - set(adjacent.columns))
        raise ValueError(f"adjacent must be the output of adjacent_pairs (missing {missing})")
    if len(adjacent) == 0:
        return pd.Series([], dtype=np.int64, name="run")
    units = [adjacent["unit"].iloc[0], *adjacent["next_unit"].tolist()]
    if list(adjacent["unit"].iloc[1:]) != list(adjacent["next_unit"].iloc[:-1]):
        raise ValueError("adjacent rows are not consecutive pairs in rank order")
    steps = adjacent["distinguishable"].to_numpy(dtype=bool).astype(np.int64)
    labels = np.concatenate([[1], 1 + np.cumsum(steps)])
    return pd.Series(labels, index=pd.Index(units, name="unit"), name="run", dtype=np.int64)


# --------------------------------------------------------------------------------------
# Confidence sets for the league rank (segment after the override, then average)
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LeagueRankSets:
    """Confidence sets for the *league* rank, from a simultaneous region of the averages.

    Attributes
    ----------
    table : pandas.DataFrame
        Indexed by unit (input order): ``league_rank`` (point: 1 + units ahead at the
        estimates), ``lower``, ``upper`` (the confidence set), ``surely_ahead`` (units
        ahead of it over the whole region), ``surely_behind``, ``in_deficit``, ``last``.
    ahead : pandas.DataFrame
        Boolean ``ahead.loc[k, j]``: unit k is ahead of unit j in the league over the
        whole confidence region.
    critical_value : float
        ``c`` of the region (see :func:`league_rank_sets`).
    cutoff : tuple
        The cap boundary at the estimates and its bounds over the region ``(t, t_lo, t_hi)``.
    coverage : float
    """

    table: pd.DataFrame
    ahead: pd.DataFrame
    critical_value: float
    cutoff: tuple
    coverage: float

    def significance(self) -> pd.DataFrame:
        """+1 where the row unit is surely ahead of the column unit, −1 surely behind, 0 otherwise."""
        a = self.ahead.to_numpy()
        return pd.DataFrame(a.astype(np.int64) - a.T.astype(np.int64), index=self.ahead.index,
                            columns=self.ahead.columns)

    def top(self, tau: int) -> pd.Index:
        """Units that could be among the first ``tau`` of the league (set lower bound <= tau)."""
        tau = _check_tau(tau, len(self.table))
        return self.table.index[self.table["lower"].to_numpy() <= tau]

    def adjacent(self, order=None) -> pd.DataFrame:
        """League neighbours told apart or not: one row per consecutive pair in ``order``
        (default: by point league rank), columns ``position``, ``unit``, ``next_unit``,
        ``distinguishable``."""
        t = self.table
        units = (t.sort_values(["league_rank"], kind="stable").index if order is None
                 else pd.Index(list(order)))
        a = self.ahead.loc[units, units].to_numpy()
        i = np.arange(len(units) - 1)
        return pd.DataFrame({"position": (i + 1).astype(np.int64), "unit": units[i], "next_unit": units[i + 1],
                             "distinguishable": a[i, i + 1] | a[i + 1, i]})


def separation_places(significance, order, *, share: float = 0.5) -> int | None:
    """How far apart two units must typically be in ``order`` before the test tells them apart.

    For every distance d = 1, 2, ... the share of pairs d places apart (in ``order``) whose
    verdict is not 0; returns the smallest d at which that share reaches ``share``, or None
    if it never does. A typical-distance summary of the pair tests: it chains nothing.

    >>> import pandas as pd
    >>> sig = significance_matrix(pd.Series([1.0, 1.1, 1.2, 5.0]), se=[0.1] * 4)
    >>> separation_places(sig, sig.index)
    2
    """
    units = pd.Index(list(order))
    m = np.asarray(significance.loc[units, units].to_numpy()) != 0
    p = len(units)
    for d in range(1, p):  # p - 1 diagonals, each vectorised
        if np.diagonal(m, offset=d).mean() >= share:
            return d
    return None


def _region_critical_value(problem: _Problem, draws: int, seed, coverage: float) -> float:
    """(coverage) quantile of max(max_j |Z_j| / σ_j, max_{j,k} |Z_j − Z_k| / σ_jk), Z ~ N(0, Σ̂)."""
    z = _draws(problem, draws, seed)
    sd = np.sqrt(np.diag(problem.cov))
    inv = np.divide(1.0, sd, out=np.zeros_like(sd), where=sd > 0)
    level = np.abs(z * inv).max(axis=1)
    p = problem.p
    chunk = _chunk_size(p)
    pair = np.empty(draws)
    for start in range(0, draws, chunk):  # slabs of draws: at most _CHUNK_BYTES each
        zz = z[start:start + chunk]
        diffs = np.abs(zz[:, :, None] - zz[:, None, :]) * problem.inv_sd  # 0 on the diagonal
        pair[start:start + chunk] = diffs.reshape(len(zz), -1).max(axis=1)
    m = np.maximum(level, pair)
    return float(np.quantile(m, coverage, method="inverted_cdf"))


def league_rank_sets(estimates, cov=None, *, se=None, in_deficit, cap_cutoff, last=None, coverage=0.95,
                     draws=1000, seed=0) -> LeagueRankSets:
    """Confidence sets for the league rank: order by (segment after the override, average).

    The league puts a trust in deficit no higher than the cap segment (3), so it falls
    behind every trust whose average is below the cap boundary ``t`` (the cut-off between
    segments 2 and 3), and otherwise the league follows the average (lower is better).
    With the deficit flags fixed, unit k is ahead of unit j when

    * both have the same deficit status: ``θ_k < θ_j``;
    * k not in deficit, j in deficit: ``θ_k <= t`` or ``θ_k < θ_j``;
    * k in deficit, j not: ``θ_j > t`` and ``θ_k < θ_j``;
    * units flagged ``last`` (segment 5) come after all others, in order of θ.

    The region: ``|θ_j − θ̂_j| <= c σ_j`` for every j and ``|(θ_j − θ_k) − (θ̂_j − θ̂_k)| <=
    c σ_jk`` for every pair, one critical value ``c`` for both families (the ``coverage``
    quantile of the largest standardised deviation of ``Z ~ N(0, Σ̂)``), so the true θ lies
    in it with probability ≈ ``coverage``. "k surely ahead of j" means ahead at every θ in
    the region, checked on the pair's two-dimensional shadow of the region (a rectangle
    cut by a slab; exact for the rule above). When the region holds, every "surely" is
    true at once, so the sets ``[1 + #surely ahead, p − #surely behind]`` cover all league
    ranks jointly: a simultaneous, single-step confidence set.

    Parameters
    ----------
    estimates : pandas.Series
        Averages, lower is better.
    cov, se : as :func:`rank_confidence_sets`.
    in_deficit : array of bool
        The published (fixed) deficit flag.
    cap_cutoff : float or callable
        The boundary ``t`` (a trust with θ <= t is in a segment better than the cap).
        A callable maps a vector of averages to ``t`` and must not decrease in any of them
        (a quantile, for a quartile rule): ``t`` is then bounded over the region by its
        values at the box's lower and upper corners.
    last : array of bool, optional
        Units placed after all others (segment 5).
    coverage, draws, seed : as :func:`rank_confidence_sets`.

    Examples
    --------
    >>> import pandas as pd
    >>> est = pd.Series([1.8, 1.9, 2.6, 2.9], index=list("ABCD"))
    >>> s = league_rank_sets(est, se=[0.01] * 4, in_deficit=[True, False, False, False], cap_cutoff=2.35)
    >>> s.table[["league_rank", "lower", "upper"]]  # A is capped: behind B, ahead of C and D
       league_rank  lower  upper
    A            2      2      2
    B            1      1      1
    C            3      3      3
    D            4      4      4
    """
    coverage, draws = _check_options(coverage, draws)
    problem = _prepare(estimates, cov, se, lower_is_better=True)
    p = problem.p
    o = problem.order
    deficit = np.asarray(in_deficit, dtype=bool).ravel()
    lastv = np.zeros(p, bool) if last is None else np.asarray(last, dtype=bool).ravel()
    if deficit.shape != (p,) or lastv.shape != (p,):
        raise ValueError(f"in_deficit and last need one value per unit ({p})")
    v = problem.values[o]
    dfc, lst = deficit[o], lastv[o]
    c = _region_critical_value(problem, draws, seed, coverage)
    sd = np.sqrt(np.diag(problem.cov))
    lo, hi = v - c * sd, v + c * sd
    if callable(cap_cutoff):
        t0, t_lo, t_hi = (float(cap_cutoff(problem.values)), float(cap_cutoff(lo[np.argsort(o)])),
                          float(cap_cutoff(hi[np.argsort(o)])))
    else:
        t0 = t_lo = t_hi = float(cap_cutoff)
    # rows k, columns j: bounds of θ_j − θ_k over the rectangle and over the slab
    d_hat = v[None, :] - v[:, None]
    slab = c * problem.sd_diff
    dlo = np.maximum(d_hat - slab, lo[None, :] - hi[:, None])
    ahead_by_value = dlo > 0
    k_def, j_def = dfc[:, None], dfc[None, :]
    # k not in deficit, j in deficit: θ_k <= t everywhere, or θ_j > θ_k everywhere (or no θ_k > t at all)
    lo_k_cut = np.maximum(lo, t_lo)[:, None]
    empty = dlo > np.minimum(d_hat + slab, hi[None, :] - lo_k_cut)
    nd_over_d = (hi[:, None] <= t_lo) | ahead_by_value | empty
    # k in deficit, j not: θ_j > t everywhere and θ_k < θ_j everywhere
    d_over_nd = (lo[None, :] > t_hi) & ahead_by_value
    ahead = np.where(k_def == j_def, ahead_by_value, np.where(j_def, nd_over_d, d_over_nd))
    # segment 5 ("last"): behind every other unit, ordered by θ among themselves
    ahead = np.where(lst[:, None] == lst[None, :], ahead, ~lst[:, None] & lst[None, :])
    np.fill_diagonal(ahead, False)
    # point league order at the estimates (t at the estimates)
    vk, vj = v[:, None], v[None, :]
    pt = np.where(k_def == j_def, vk < vj, np.where(j_def, (vk <= t0) | (vk < vj), (vj > t0) & (vk < vj)))
    pt = np.where(lst[:, None] == lst[None, :], pt, ~lst[:, None] & lst[None, :])
    np.fill_diagonal(pt, False)
    back = np.argsort(o)
    ahead_in = ahead[np.ix_(back, back)]
    pt_in = pt[np.ix_(back, back)]
    n_ahead, n_behind = ahead_in.sum(axis=0), ahead_in.sum(axis=1)
    table = pd.DataFrame({"league_rank": (1 + pt_in.sum(axis=0)).astype(np.int64),
                          "lower": (1 + n_ahead).astype(np.int64), "upper": (p - n_behind).astype(np.int64),
                          "surely_ahead": n_ahead.astype(np.int64), "surely_behind": n_behind.astype(np.int64),
                          "in_deficit": deficit, "last": lastv}, index=problem.labels)
    return LeagueRankSets(table, pd.DataFrame(ahead_in, index=problem.labels, columns=problem.labels), c,
                          (t0, t_lo, t_hi), coverage)
