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

__all__ = ["FunnelResult", "funnel_limits", "funnel_limits_ratio", "false_alarm_rate", "level_label",
           "PHI_METHODS", "OVERDISPERSION"]


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
    if kind == "ratio-log":
        with np.errstate(divide="ignore"):
            return np.log(value)
    return np.sqrt(value)


def _back(kind: str, y):
    if kind == "proportion":
        return np.sin(np.clip(y, 0.0, np.pi / 2)) ** 2
    if kind == "ratio-log":
        return np.exp(y)
    return np.clip(y, 0.0, None) ** 2


def _sd(denominator, kind: str = "proportion"):
    # arcsine and square root: var ≈ 1 / (4 n) (proportion) or 1 / (4 E) (Poisson ratio);
    # log ratio (SHMI): var ≈ 1 / E
    if kind == "ratio-log":
        return 1.0 / np.sqrt(denominator)
    return 0.5 / np.sqrt(denominator)


PHI_METHODS = ("winsorised", "truncated", "unwinsorised")
OVERDISPERSION = ("additive", "multiplicative", "none")


def _overdispersion(z, s, winsor: float, phi_method: str):
    """φ and the additive τ² from z-scores ``(..., n)`` and within-unit SDs ``(..., n)``.

    ``winsorised``: z clipped at the ``winsor`` / ``1 − winsor`` quantiles (R type 7), then
    φ = mean z²; ``truncated``: units at or beyond those quantiles left out of φ and τ²
    (NHS Digital's SHMI, FunnelPlotR's ``sr_method = "SHMI"``); ``unwinsorised``: all z.
    τ² = (k φ − (k − 1)) / (Σw − Σw²/Σw), w = 1/s², over the k units used; 0 if negative.
    Returns ``(phi, tau2, z_used)`` with ``z_used`` the winsorised z (NaN where truncated).
    """
    z = np.asarray(z, dtype=float)
    s = np.broadcast_to(np.asarray(s, dtype=float), z.shape)
    if phi_method == "unwinsorised" or winsor == 0:
        keep = np.ones(z.shape, bool)
        zw = z.copy()
    else:
        lo = np.quantile(z, winsor, axis=-1, keepdims=True)  # linear = R type 7
        hi = np.quantile(z, 1 - winsor, axis=-1, keepdims=True)
        if phi_method == "winsorised":
            keep = np.ones(z.shape, bool)
            zw = np.clip(z, lo, hi)
        else:
            keep = (z > lo) & (z < hi)
            zw = np.where(keep, z, np.nan)
    k = keep.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        phi = np.where(keep, zw, 0.0).__pow__(2).sum(axis=-1) / k
        w = np.where(keep, 1.0 / s ** 2, 0.0)
        denom = w.sum(axis=-1) - (w ** 2).sum(axis=-1) / w.sum(axis=-1)
        tau2 = np.where((k * phi > k - 1) & (denom > 0), (k * phi - (k - 1)) / denom, 0.0)
    return phi, tau2, zw


def _poisson_limits(expected, level: float, target: float = 1.0):
    """Exact Poisson limits of O/E for a unit whose observed count equals its expected one
    (Garwood's chi-square form): ``[χ²_{α/2}(2E) / 2, χ²_{1−α/2}(2E + 2) / 2] / E``, times the target."""
    from scipy.stats import chi2

    e = np.asarray(expected, dtype=float)
    a = (1 - level) / 2
    return target * chi2.ppf(a, 2 * e) / 2 / e, target * chi2.ppf(1 - a, 2 * e + 2) / 2 / e


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
    method: str = "cqc"
    phi_method: str = "winsorised"
    overdispersion: str = "additive"

    @property
    def description(self) -> str:
        """How the limits were made, in words (for captions)."""
        scale = {"proportion": "arcsine-square-root scale", "ratio": "square-root scale (CQC)",
                 "ratio-log": "log scale (SHMI)"}[self.kind]
        phi = {"winsorised": f"φ from z-scores winsorised at {self.winsor:.0%} each end",
               "truncated": f"φ from z-scores with the {self.winsor:.0%} at each end left out",
               "unwinsorised": "φ from all z-scores"}[self.phi_method if self.winsor > 0 else "unwinsorised"]
        od = {"additive": f"additive random effect τ² = {self.tau2:.3g}" if self.tau2 > 0
              else "no overdispersion found (τ² = 0)",
              "multiplicative": f"variance multiplied by φ = {self.phi:.3g}" if self.phi > 1
              else "no overdispersion found (φ <= 1)",
              "none": "no overdispersion allowed for"}[self.overdispersion]
        return f"limits on the {scale}; {phi}; {od}"

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
        cols = {"target": np.full(n.shape, self.target)}
        for level, zc in zip(self.levels, self._critical):
            lo, hi = _limits(self.kind, self.target, n, zc, level, self.tau2, self.phi, self.overdispersion,
                             self.method)
            lab = level_label(level)
            cols[f"lower_{lab}"], cols[f"upper_{lab}"] = lo, hi
        return pd.DataFrame(cols, index=pd.Index(n, name="denominator"))


def _limits(kind, target, n, zc, level, tau2, phi, overdispersion, method):
    """Lower and upper limits on the value scale for denominators ``n``."""
    if method == "shmi" and not (overdispersion == "additive" and tau2 > 0) and not (
            overdispersion == "multiplicative" and phi > 1):
        return _poisson_limits(n, level, target)  # SHMI without overdispersion: exact Poisson limits
    y0 = _transform(kind, target)
    s = _sd(n, kind)
    if overdispersion == "additive":
        sd = np.sqrt(s ** 2 + tau2)
    elif overdispersion == "multiplicative":
        sd = s * np.sqrt(max(1.0, phi))
    else:
        sd = s
    return _back(kind, y0 - zc * sd), _back(kind, y0 + zc * sd)


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


def _check_options(levels, winsor, phi_method="winsorised", overdispersion=True):
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
    if phi_method not in PHI_METHODS:
        raise ValueError(f"phi_method must be one of {PHI_METHODS}, got {phi_method!r}")
    od = {True: "additive", False: "none"}.get(overdispersion, overdispersion) \
        if isinstance(overdispersion, bool) else overdispersion
    if od not in OVERDISPERSION:
        raise ValueError(f"overdispersion must be True, False or one of {OVERDISPERSION}, got {overdispersion!r}")
    return levels, winsor, od


# --------------------------------------------------------------------------------------
# Core
# --------------------------------------------------------------------------------------
def _funnel(kind, r, n, labels, *, levels, winsor, overdispersion, target, phi_method="winsorised",
            method="cqc") -> FunnelResult:
    value = r / n
    if target is None:
        target = float(r.sum() / n.sum())
    else:
        target = float(target)
        upper = 1.0 if kind == "proportion" else np.inf
        lower_ok = target > 0 if kind == "ratio-log" else target >= 0
        if not (np.isfinite(target) and lower_ok and target <= upper):
            raise ValueError(f"target must be in [0, {upper}] for a {kind}, got {target}")
    y = _transform(kind, value)
    y0 = float(_transform(kind, target))
    s = _sd(n, kind)
    z = (y - y0) / s
    phi, tau2, zw = _overdispersion(z, s, winsor, phi_method)
    phi, tau2 = float(phi), float(tau2)
    if overdispersion != "additive":
        tau2_used = 0.0
    else:
        tau2_used = tau2
    k = len(z)
    if overdispersion == "multiplicative":
        z_adj = z / np.sqrt(max(1.0, phi))
    else:
        z_adj = (y - y0) / np.sqrt(s ** 2 + tau2_used)
    table = pd.DataFrame({"numerator": r, "denominator": n, "value": value, "z": z,
                          "z_winsorised": zw, "z_adjusted": z_adj}, index=labels)
    crit = []
    for level in levels:
        zc = NormalDist().inv_cdf(0.5 + level / 2)
        crit.append(zc)
        lab = level_label(level)
        lo, hi = _limits(kind, target, n, zc, level, tau2_used, phi, overdispersion, method)
        table[f"lower_{lab}"], table[f"upper_{lab}"] = lo, hi
        if method == "shmi":
            table[f"lower_{lab}_poisson"], table[f"upper_{lab}_poisson"] = _poisson_limits(n, level, target)
        flag = np.full(k, None, dtype=object)
        flag[value > hi] = "high"
        flag[value < lo] = "low"
        # object dtype keeps None (pandas would otherwise infer str and turn None into NaN)
        table[f"outlier_{lab}"] = pd.Series(flag, index=labels, dtype=object)
    return FunnelResult(table=table, target=target, phi=phi, tau2=tau2_used, levels=levels,
                        kind=kind, winsor=winsor, _critical=tuple(crit), method=method,
                        phi_method=phi_method if winsor > 0 else "unwinsorised", overdispersion=overdispersion)


def funnel_limits(numerators, denominators, *, levels=(0.95, 0.998), winsor=0.10,
                  overdispersion=True, index=None, target=None, phi_method="winsorised") -> FunnelResult:
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
    overdispersion : bool or str, default True
        ``True`` / ``"additive"``: add the random effect τ² when ``n φ > n − 1``;
        ``"multiplicative"``: multiply the within-unit variance by φ when φ > 1
        (Spiegelhalter 2005's multiplicative model); ``False`` / ``"none"``: plain limits
        (within-unit noise only); φ is still reported.
    index : sequence, optional
        Unit labels when the inputs are plain arrays.
    target : float, optional
        Target proportion; default the pooled ``Σ numerators / Σ denominators``.
    phi_method : str, default "winsorised"
        How the z-scores enter φ: ``"winsorised"`` (clipped at the ``winsor`` quantiles),
        ``"truncated"`` (those beyond left out) or ``"unwinsorised"`` (all of them). The
        winsorised default underestimates τ² when units are few (docs/ranks.md, "False
        alarms"); ``"unwinsorised"`` does not.

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
    levels, winsor, od = _check_options(levels, winsor, phi_method, overdispersion)
    r, n, labels = _as_counts(numerators, denominators, index, "proportion",
                              ("numerators", "denominators"))
    return _funnel("proportion", r, n, labels, levels=levels, winsor=winsor,
                   overdispersion=od, target=target, phi_method=phi_method)


def funnel_limits_ratio(observed, expected, *, method="cqc", levels=(0.95, 0.998), winsor=0.10,
                        overdispersion=True, index=None, target=1.0, phi_method=None) -> FunnelResult:
    """Funnel plot limits for indirectly standardised ratios O/E (Poisson counts).

    Two methods:

    * ``"cqc"`` (default): square-root transform, ``y = sqrt(O/E)``, ``s = 1 / (2 sqrt(E))``,
      z-scores winsorised for φ; otherwise exactly as :func:`funnel_limits` (the
      "denominator" is the expected count).
    * ``"shmi"``: NHS Digital's SHMI method, as FunnelPlotR's ``sr_method = "SHMI"``:
      expected counts rounded to 2 dp; log transform, ``y = log(O/E)``, ``s = 1/sqrt(E)``,
      ``z = sqrt(E) log(O/E)``; φ from the z-scores strictly inside their 10% and 90%
      quantiles (truncation by rank, not winsorising), τ² = (kφ − (k − 1)) / (ΣE − ΣE²/ΣE)
      over those k units; limits ``target · exp(±z_α sqrt(1/E + τ²))``. Where no
      overdispersion is allowed for or found (τ² = 0), the limits are the exact Poisson
      ones, ``[χ²_{α/2}(2E)/2, χ²_{1−α/2}(2E + 2)/2] / E`` (also given as
      ``lower_L_poisson`` / ``upper_L_poisson`` columns). Needs every observed count > 0.

    Parameters
    ----------
    observed, expected : pandas.Series or array-like
        Observed counts (>= 0) and expected counts (> 0) per unit.
    method : {"cqc", "shmi"}
    levels, winsor, overdispersion, index
        As :func:`funnel_limits`.
    target : float or None, default 1.0
        Target ratio; 1 for ratios standardised to the whole population, ``None`` for the
        pooled ``ΣO / ΣE``.
    phi_method : str, optional
        Default ``"winsorised"`` (cqc) or ``"truncated"`` (shmi); see :func:`funnel_limits`.

    Returns
    -------
    FunnelResult
        ``numerator``/``denominator`` columns hold O and E; ``value`` is O/E.

    Examples
    --------
    >>> res = funnel_limits_ratio([30, 45, 20], [35.0, 40.0, 22.0], index=["X", "Y", "Z"])
    >>> res.target, res.tau2
    (1.0, 0.0)
    >>> shmi = funnel_limits_ratio([30, 45, 20], [35.0, 40.0, 22.0], method="shmi", index=["X", "Y", "Z"])
    >>> shmi.kind, round(float(shmi.table.loc["X", "upper_95"]), 4)  # exact Poisson, E = 35
    ('ratio-log', 1.3908)
    """
    if method not in ("cqc", "shmi"):
        raise ValueError(f"method must be 'cqc' or 'shmi', got {method!r}")
    phi_method = ("truncated" if method == "shmi" else "winsorised") if phi_method is None else phi_method
    levels, winsor, od = _check_options(levels, winsor, phi_method, overdispersion)
    r, n, labels = _as_counts(observed, expected, index, "ratio", ("observed", "expected"))
    if method == "shmi":
        n = np.round(n, 2)
        if (n <= 0).any():
            raise ValueError(f"expected rounds to 0 at 2 dp for {labels[n <= 0].tolist()[:5]}")
        if (r <= 0).any():
            raise ValueError(f"the SHMI method takes log(O/E): observed must be > 0, not so for "
                             f"{labels[r <= 0].tolist()[:5]}")
    return _funnel("ratio-log" if method == "shmi" else "ratio", r, n, labels, levels=levels, winsor=winsor,
                   overdispersion=od, target=target, phi_method=phi_method, method=method)


def false_alarm_rate(denominators, *, tau2: float, kind: str = "proportion", target: float = 0.2, level=0.95,
                     sims: int = 500, seed=0, **options) -> float:
    """Share of units outside the ``level`` limits when nothing but random variation is at work.

    Each simulated data set draws every unit's true value around ``target`` with a
    between-unit variance ``tau2`` on the transformed scale (a pure random-effects truth:
    no unit is special), then its count (binomial for proportions, Poisson for ratios) for
    the given denominators, and computes the limits with ``options`` (``winsor``,
    ``phi_method``, ``overdispersion``; ratios also ``method``). A method that estimates τ²
    well flags about ``1 − level`` of the units. All data sets at once (no loop over them).

    >>> n = np.linspace(200, 3000, 40)
    >>> r = false_alarm_rate(n, tau2=0.002, sims=200, seed=1, phi_method="unwinsorised")
    >>> 0.02 < r < 0.09
    True
    """
    n = np.asarray(denominators, dtype=float).ravel()
    rng = np.random.default_rng(seed)
    method = options.pop("method", "cqc")
    phi_method = options.pop("phi_method", "truncated" if method == "shmi" and kind == "ratio" else "winsorised")
    levels, winsor, od = _check_options(level, options.pop("winsor", 0.10), phi_method,
                                        options.pop("overdispersion", True))
    if options:
        raise ValueError(f"unknown options {sorted(options)}")
    tk = "ratio-log" if (kind == "ratio" and method == "shmi") else kind
    if tk == "ratio-log":
        n = np.round(n, 2)
    y0 = float(_transform(tk, target))
    truth = _back(tk, y0 + rng.normal(0.0, np.sqrt(tau2), (sims, len(n))))
    if kind == "proportion":
        r = rng.binomial(np.round(n).astype(np.int64), np.clip(truth, 0, 1)).astype(float)
    else:
        r = rng.poisson(truth * n).astype(float)
        if tk == "ratio-log":
            r = np.maximum(r, 0.5)  # log(0) is undefined: a zero count is taken as half an event
    value = r / n
    s = _sd(n, tk)
    z = (_transform(tk, value) - y0) / s
    phi, t2, _ = _overdispersion(z, s, winsor, phi_method)
    zc = NormalDist().inv_cdf(0.5 + levels[0] / 2)
    if od == "additive":
        sd = np.sqrt(s ** 2 + t2[:, None])
    elif od == "multiplicative":
        sd = s * np.sqrt(np.maximum(1.0, phi))[:, None]
    else:
        sd = np.broadcast_to(s, z.shape)
    lo, hi = _back(tk, y0 - zc * sd), _back(tk, y0 + zc * sd)
    if tk == "ratio-log":
        plo, phi_ = _poisson_limits(n, levels[0], target)
        use_p = (t2 <= 0)[:, None] if od == "additive" else ((phi <= 1)[:, None] if od == "multiplicative" else True)
        lo, hi = np.where(use_p, plo, lo), np.where(use_p, phi_, hi)
    return float(((value < lo) | (value > hi)).mean())
