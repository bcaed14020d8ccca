"""Funnel plot limits with overdispersion (Spiegelhalter 2005; Spiegelhalter et al. 2012).

References: D. J. Spiegelhalter (2005), "Funnel plots for comparing institutional
performance", Statistics in Medicine 24:1185–1202; D. J. Spiegelhalter, C. Sherlaw-Johnson,
M. Bardsley, I. Blunt, C. Wood and O. Grigg (2012), "Statistical methods for healthcare
regulation: rating, screening and surveillance", JRSS A 175:1–47. Section 5 of the
statistics notes.

Method (identical for both data types, on a variance-stabilised scale):

1. Transform each unit's value ``y_i`` with standard error ``s_i`` that depends only on
   its denominator (the "precision"):

   * proportions ``r/n``: arcsine square root, ``y = asin(sqrt(r/n))``,
     ``s = 1 / (2 sqrt(n))``;
   * indirectly standardised ratios ``O/E`` (Poisson): square root,
     ``y = sqrt(O/E)``, ``s = 1 / (2 sqrt(E))``.

   The transforms make the within-unit variance free of the unknown rate, so the limits
   are symmetric on the transformed scale. For small denominators they differ slightly
   from exact binomial / Poisson limits; that is the price of a single, consistent
   overdispersion model.
2. ``z_i = (y_i − y_0) / s_i`` against the target ``y_0`` (transformed pooled value
   ``Σr/Σn`` or ``ΣO/ΣE`` unless a target is given).
3. Winsorise the z-scores: values below the ``winsor`` quantile (linear interpolation,
   R's default "type 7") are set to it, likewise above the ``1 − winsor`` quantile.
4. ``φ = mean(z_w²)``. If ``n φ > n − 1`` the additive random-effects variance is
   ``τ² = (n φ − (n − 1)) / (Σw − Σw²/Σw)`` with ``w_i = 1/s_i²``; otherwise ``τ² = 0``.
5. Limits at each level: ``y_0 ± z_α sqrt(s² + τ²)`` (``z_α`` the two-sided normal
   quantile: 1.96 for 0.95, 3.09 for 0.998), back-transformed (``sin²`` / square,
   after clipping to the transform's range). A unit outside a limit is flagged ``"high"``
   or ``"low"`` — neutral words: whether high is good depends on the metric.

No plotting here; :meth:`FunnelResult.curve` gives the limit lines for a chart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from statistics import NormalDist

import numpy as np
import pandas as pd

__all__ = ["FunnelResult", "funnel_limits", "funnel_limits_ratio", "level_label"]


def level_label(level: float) -> str:
    """Column suffix for a limit level: ``0.95 -> "95"``, ``0.998 -> "99.8"``.

    Examples
    --------
    >>> level_label(0.998)
    '99.8'
    """
    return f"{100 * level:.10g}"


# --------------------------------------------------------------------------------------
# Transforms
# --------------------------------------------------------------------------------------
def _transform(kind: str, value):
    if kind == "proportion":
        return np.arcsin(np.sqrt(value))
    return np.sqrt(value)


def _back(kind: str, y):
    if kind == "proportion":
        return np.sin(np.clip(y, 0.0, np.pi / 2)) ** 2
    return np.clip(y, 0.0, None) ** 2


def _sd(denominator):
    # both transforms: var ≈ 1 / (4 n) (proportion) or 1 / (4 E) (Poisson ratio)
    return 0.5 / np.sqrt(denominator)


# --------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FunnelResult:
    """Funnel plot limits and per-unit verdicts.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per unit (input order and labels): ``numerator``, ``denominator``,
        ``value`` (numerator / denominator), ``z`` (z-score against the target, no
        overdispersion), ``z_winsorised``, ``z_adjusted`` (``(y − y0)/sqrt(s² + τ²)``),
        then for each level L (label from :func:`level_label`, e.g. "95", "99.8"):
        ``lower_L``, ``upper_L`` (limits on the value's scale) and ``outlier_L``
        (``"high"``, ``"low"`` or ``None``).
    target : float
        Target on the value scale (pooled value unless given).
    phi : float
        Overdispersion ratio: mean squared winsorised z-score.
    tau2 : float
        Additive between-unit variance on the transformed scale (0 if not
        overdispersed or ``overdispersion=False``).
    levels : tuple of float
        Limit levels.
    kind : str
        ``"proportion"`` or ``"ratio"``.
    winsor : float
        Winsorisation fraction used in each tail.
    """

    table: pd.DataFrame
    target: float
    phi: float
    tau2: float
    levels: tuple
    kind: str
    winsor: float
    _critical: tuple = field(repr=False, default=())

    @property
    def overdispersed(self) -> bool:
        """True when an additive random effect was added (``tau2 > 0``)."""
        return self.tau2 > 0

    def curve(self, denominators) -> pd.DataFrame:
        """Limit lines over a grid of denominators, for plotting.

        Parameters
        ----------
        denominators : array-like of float
            Positive denominators (sample sizes, or expected counts for ratios).

        Returns
        -------
        pandas.DataFrame
            Indexed by ``denominator`` (the grid, in the given order); columns
            ``target`` and ``lower_L``/``upper_L`` for each level.

        Examples
        --------
        >>> res = funnel_limits([10, 20, 30], [100, 100, 100])
        >>> res.curve([100]).round(4).columns.tolist()
        ['target', 'lower_95', 'upper_95', 'lower_99.8', 'upper_99.8']
        """
        n = np.asarray(denominators, dtype=float).ravel()
        if not np.all(np.isfinite(n)) or np.any(n <= 0):
            raise ValueError("curve: denominators must be finite and > 0")
        y0 = _transform(self.kind, self.target)
        sd = np.sqrt(_sd(n) ** 2 + self.tau2)
        cols = {"target": np.full(n.shape, self.target)}
        for level, zc in zip(self.levels, self._critical):
            lab = level_label(level)
            cols[f"lower_{lab}"] = _back(self.kind, y0 - zc * sd)
            cols[f"upper_{lab}"] = _back(self.kind, y0 + zc * sd)
        return pd.DataFrame(cols, index=pd.Index(n, name="denominator"))


# --------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------
def _as_counts(num, den, index, kind: str, names: tuple[str, str]):
    """Validated float arrays and labels. With ``index`` the inputs are positional;
    otherwise labels come from the first Series and the other input is aligned to them."""
    nname, dname = names
    labels = None
    if index is not None:
        labels = pd.Index(index)
    elif isinstance(num, pd.Series):
        labels = num.index
    elif isinstance(den, pd.Series):
        labels = den.index

    def values(x, name):
        if isinstance(x, pd.Series):
            if index is None and not x.index.equals(labels):
                if not x.index.is_unique or set(x.index) != set(labels):
                    raise ValueError(f"{name}: labels do not match the other input's labels")
                x = x.reindex(labels)
        try:
            if isinstance(x, pd.Series):
                x = x.to_numpy(dtype=float, na_value=np.nan)
            return np.asarray(x, dtype=float).ravel()
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must be numeric: {exc}") from None

    r = values(num, nname)
    n = values(den, dname)
    if r.shape != n.shape:
        raise ValueError(f"{nname} has {r.size} values but {dname} has {n.size}")
    if labels is None:
        labels = pd.RangeIndex(len(r))
    if len(labels) != len(r):
        raise ValueError(f"index has {len(labels)} labels for {len(r)} units")
    if len(r) < 2:
        raise ValueError("a funnel plot compares units: need at least 2")

    def where(mask):
        return labels[mask].tolist()[:5]

    bad = ~np.isfinite(r)
    if bad.any():
        raise ValueError(f"{nname} is missing or infinite for {where(bad)}")
    bad = ~np.isfinite(n)
    if bad.any():
        raise ValueError(f"{dname} is missing or infinite for {where(bad)}")
    bad = n <= 0
    if bad.any():
        raise ValueError(f"{dname} must be > 0: not so for {where(bad)}")
    bad = r < 0
    if bad.any():
        raise ValueError(f"{nname} must be >= 0: negative for {where(bad)}")
    if kind == "proportion":
        bad = r > n
        if bad.any():
            raise ValueError(f"{nname} exceeds {dname} (proportion above 1) for {where(bad)}")
    return r, n, labels


def _check_options(levels, winsor):
    try:
        levels = tuple(float(x) for x in np.atleast_1d(levels))
    except (TypeError, ValueError):
        raise ValueError(f"levels must be numbers in (0, 1), got {levels!r}") from None
    if not levels or any(not 0 < x < 1 for x in levels):
        raise ValueError(f"levels must be numbers in (0, 1), got {levels}")
    if len({level_label(x) for x in levels}) != len(levels):
        raise ValueError(f"levels must be distinct, got {levels}")
    try:
        winsor = float(winsor)
    except (TypeError, ValueError):
        raise ValueError(f"winsor must be a number in [0, 0.5), got {winsor!r}") from None
    if not 0 <= winsor < 0.5:
        raise ValueError(f"winsor must be in [0, 0.5), got {winsor}")
    return levels, winsor


# --------------------------------------------------------------------------------------
# Core
# --------------------------------------------------------------------------------------
def _funnel(kind, r, n, labels, *, levels, winsor, overdispersion, target) -> FunnelResult:
    value = r / n
    if target is None:
        target = float(r.sum() / n.sum())
    else:
        target = float(target)
        upper = 1.0 if kind == "proportion" else np.inf
        if not (np.isfinite(target) and 0 <= target <= upper):
            raise ValueError(f"target must be in [0, {upper}] for a {kind}, got {target}")
    y = _transform(kind, value)
    y0 = float(_transform(kind, target))
    s = _sd(n)
    z = (y - y0) / s

    if winsor > 0:
        lo, hi = np.quantile(z, [winsor, 1 - winsor])  # linear = R type 7
        zw = np.clip(z, lo, hi)
    else:
        zw = z.copy()
    k = len(z)
    phi = float(np.mean(zw ** 2))
    tau2 = 0.0
    if overdispersion and k * phi > k - 1:
        w = 1.0 / s ** 2
        tau2 = float((k * phi - (k - 1)) / (w.sum() - (w ** 2).sum() / w.sum()))

    sd = np.sqrt(s ** 2 + tau2)
    z_adj = (y - y0) / sd
    table = pd.DataFrame({"numerator": r, "denominator": n, "value": value, "z": z,
                          "z_winsorised": zw, "z_adjusted": z_adj}, index=labels)
    crit = []
    for level in levels:
        zc = NormalDist().inv_cdf(0.5 + level / 2)
        crit.append(zc)
        lab = level_label(level)
        table[f"lower_{lab}"] = _back(kind, y0 - zc * sd)
        table[f"upper_{lab}"] = _back(kind, y0 + zc * sd)
        flag = np.full(k, None, dtype=object)
        flag[z_adj > zc] = "high"
        flag[z_adj < -zc] = "low"
        # object dtype keeps None (pandas would otherwise infer str and turn None into NaN)
        table[f"outlier_{lab}"] = pd.Series(flag, index=labels, dtype=object)
    return FunnelResult(table=table, target=target, phi=phi, tau2=tau2, levels=levels,
                        kind=kind, winsor=winsor, _critical=tuple(crit))


def funnel_limits(numerators, denominators, *, levels=(0.95, 0.998), winsor=0.10,
                  overdispersion=True, index=None, target=None) -> FunnelResult:
    """Funnel plot limits for proportions, with a Spiegelhalter overdispersion correction.

    Parameters
    ----------
    numerators, denominators : pandas.Series or array-like
        Events and sample sizes per unit (0 <= numerator <= denominator, denominator > 0).
        Series are aligned by label; labels come from ``index``, else from the Series.
    levels : sequence of float, default (0.95, 0.998)
        Two-sided limit levels.
    winsor : float, default 0.10
        Fraction of z-scores winsorised in each tail before estimating φ (0 disables).
    overdispersion : bool, default True
        Add the additive random effect τ² when ``n φ > n − 1``. ``False`` gives plain
        (within-unit noise only) limits; φ is still reported.
    index : sequence, optional
        Unit labels when the inputs are plain arrays.
    target : float, optional
        Target proportion; default the pooled ``Σ numerators / Σ denominators``.

    Returns
    -------
    FunnelResult

    Raises
    ------
    ValueError
        Fewer than 2 units; missing values; a denominator <= 0; a negative numerator;
        a numerator above its denominator; bad ``levels``/``winsor``/``target``.

    Examples
    --------
    >>> res = funnel_limits([5, 12, 20, 80, 40, 60], [100, 100, 200, 400, 300, 500],
    ...                     index=list("ABCDEF"))
    >>> round(res.target, 4), round(res.phi, 3), round(res.tau2, 5)
    (0.1356, 1.978, 0.00137)
    >>> res.table["outlier_95"].tolist()
    ['low', None, None, None, None, None]
    """
    levels, winsor = _check_options(levels, winsor)
    r, n, labels = _as_counts(numerators, denominators, index, "proportion",
                              ("numerators", "denominators"))
    return _funnel("proportion", r, n, labels, levels=levels, winsor=winsor,
                   overdispersion=overdispersion, target=target)


def funnel_limits_ratio(observed, expected, *, levels=(0.95, 0.998), winsor=0.10,
                        overdispersion=True, index=None, target=1.0) -> FunnelResult:
    """Funnel plot limits for indirectly standardised ratios O/E (Poisson counts).

    Square-root transform: ``y = sqrt(O/E)``, ``s = 1 / (2 sqrt(E))``; otherwise exactly
    as :func:`funnel_limits` (the "denominator" is the expected count).

    Parameters
    ----------
    observed, expected : pandas.Series or array-like
        Observed counts (>= 0) and expected counts (> 0) per unit.
    levels, winsor, overdispersion, index
        As :func:`funnel_limits`.
    target : float or None, default 1.0
        Target ratio; 1 for ratios standardised to the whole population, ``None`` for the
        pooled ``ΣO / ΣE``.

    Returns
    -------
    FunnelResult
        ``numerator``/``denominator`` columns hold O and E; ``value`` is O/E.

    Examples
    --------
    >>> res = funnel_limits_ratio([30, 45, 20], [35.0, 40.0, 22.0], index=["X", "Y", "Z"])
    >>> res.target, res.tau2
    (1.0, 0.0)
    """
    levels, winsor = _check_options(levels, winsor)
    r, n, labels = _as_counts(observed, expected, index, "ratio", ("observed", "expected"))
    return _funnel("ratio", r, n, labels, levels=levels, winsor=winsor,
                   overdispersion=overdispersion, target=target)
