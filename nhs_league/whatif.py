"""What would move a trust up a segment, and how close is it? (issue 15)

For one trust and a target segment (default: the next better one) this module finds

* per metric, the smallest change in the metric's own units that moves the trust into the
  target segment with everything else held fixed (:func:`what_if`);
* if no single metric can, the smallest combination: fewest metrics first, then the smallest
  total change measured as a share of the peer range;
* how close the trust is: the gap to each cut-off in average-score points, the probability
  under each available source of uncertainty that it is already on the other side, and how
  many trusts sit between it and the cut-off (:func:`closeness`).

**Search on the score scale.** A rank-based score changes only when the trust's value passes
another trust's value (ties take the best rank of their cluster, so *equalling* a peer's value
already gives the peer's rank) or a bookend (the standard, the floor). So the candidate values
of a metric are the scoring population's values that are better than the trust's, plus the
bookends; between two candidates the score cannot change. Every candidate of every metric of
a trust is evaluated in one replicated :func:`nhs_league.pipeline.compute` call of shape
``(K, n, m)``: the whole method is re-run on the changed inputs, so the relative re-scoring of
everyone, ties, bookends, cut-offs, the deficit cap and the league rank are those of the method.
A combination is screened on the trust's own scores (a trust's score on a metric depends only on
its own value of that metric and the others' unchanged values, and the mean is additive), then
checked by re-running the whole method on the combined change.

**Order of the untouched trusts.** The point estimate ranks on the official file's ``Rank``
(NHS England's order of unrounded values) where it is complete; the 2-dp ``Value`` ties trusts
that ``Rank`` tells apart. A what-if re-ranks on values, so :func:`ordered_values` first
breaks those 2-dp ties in ``Rank`` order (by less than half the smallest gap between distinct
values or to a bookend): ranking on these values gives every trust exactly its point-estimate
score (tested on the real release).

**Metrics scored across trust types.** Where NHS England scores a metric across several trust
types (catalogue ``population``) and the input holds only this type, the score is NHS England's
published one and the other types' values are unknown. Given every type's file, the metric is
re-scored exactly like the rest. Otherwise :func:`grid_population` reads, from the published
scores, where every trust of the other types stands (the grid positions this type's trusts do not
hold) and puts a stand-in there: a trust that *equals* another trust of its type then gets
exactly NHS England's score, because the number of trusts better than it is known. The search
uses only this type's values for such metrics, so each answer is enough but may not be the least:
a smaller change passing trusts of other types (values unknown) may do, and the row gives the
value known not to be enough (``Known_not_enough_value``): the exact threshold lies between the
two. A metric whose published positions cannot be read (no grid fits, or this type's order
disagrees with them) is reported as ``scored across trust types; give every type's file`` and left
out; so is every such metric with ``grid=False``. Score-only metrics (no raw value published) and
metrics the trust has no value for are reported as such.

**The deficit cap.** A trust in deficit is held at segment 3 whatever its average. Where the cap
binds (target better than the cap), the search runs on the segment without the cap and every
row says that no metric gain can lift the trust above segment 3 until it is out of deficit.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from itertools import product

import numpy as np
import pandas as pd

from .errors import InputError, MethodError
from .methods import Method, load_method
from .pipeline import DATA_LABEL, Panel, compute, domain_weights, metric_scores
from .scoring import round_scores
from .segmentation import cutoff_segments

STATUS_REACHES = "reaches the target"
STATUS_BEST = "already at the best score"
STATUS_NOT_ALONE = "cannot reach the target alone"
STATUS_CROSS_TYPE = "scored across trust types; give every type's file"
STATUS_SCORE_ONLY = "score only: no raw value published"
STATUS_NO_VALUE = "no value for this trust"
STATUS_NOT_IN_AVERAGE = "not a lever: does not change a score"
GRID_NOTE = (" (scored across trust types, on NHS England's published positions: enough, but a smaller change "
             "passing trusts of other types may be enough too)")

OPTION_COLUMNS = ["Quarter", "Trust_code", "Trust_name", "Target_segment", "Kind", "Option", "Metric_ID",
                  "Metric", "Units", "Better", "Current_value", "Needed_value", "Known_not_enough_value", "Change",
                  "Change_share_of_range",
                  "Current_score", "New_score", "Current_average", "New_average", "New_average_2dp",
                  "New_raw_segment", "New_segment", "New_league_rank", "Reaches_target", "Status"]
CLOSENESS_COLUMNS = ["Quarter", "Trust_code", "Trust_name", "Cutoff", "Between_segments", "Side", "Average_2dp",
                     "Gap_points", "Trusts_between", "P_other_side_metrics", "P_other_side_sampling",
                     "Inside_NHSE_likely_range"]


# --------------------------------------------------------------------------------------
# Values that rank as the point estimate does
# --------------------------------------------------------------------------------------
def _uses_file_rank(panel: Panel) -> np.ndarray:
    """(m,) the point estimate ranks metric j on the file's Rank (complete, no peers)."""
    m = len(panel.metric_ids)
    if panel.ranks is None or (panel.peers is not None and panel.peers.size):
        return np.zeros(m, bool)
    cont = panel.metrics["rule"].to_numpy() == "continuous"
    full = np.all(np.isnan(panel.ranks) == np.isnan(panel.values), axis=0)
    return cont & full & (~np.isnan(panel.values)).any(axis=0)


def ordered_values(panel: Panel) -> np.ndarray:
    """The panel's values with 2-dp ties broken in the file's ``Rank`` order, ``(n, m)``.

    For each continuous metric whose file ``Rank`` is complete, trusts with equal values but
    different ranks are moved apart in the better direction by multiples of ``eps`` (less than
    half the smallest gap between distinct values, or between a value and a bookend), so that
    ranking on the returned values reproduces the ranking on ``Rank``. Other metrics are
    returned as they are.

    Raises :class:`~nhs_league.errors.InputError` when the file's ``Rank`` contradicts its
    values (a better value ranked worse), which no tie-break can reproduce.

    >>> from nhs_league.sensitivity import example_panel
    >>> p = example_panel(8, seed=0)
    >>> bool(np.array_equal(ordered_values(p), p.values, equal_nan=True))  # no file Rank: unchanged
    True
    """
    out = panel.values.copy()
    std, flr = panel.rule_param_array
    hib = panel.higher_is_better
    for j in np.flatnonzero(_uses_file_rank(panel)):
        x = panel.values[:, j]
        have = ~np.isnan(x)
        key = np.where(hib[j], -x, x)[have]
        r = panel.ranks[have, j]
        o = np.lexsort((r, key))
        ks, rs = key[o], r[o]
        if np.any(np.diff(rs) < 0):
            i = np.flatnonzero(have)[o[np.flatnonzero(np.diff(rs) < 0)[0] + 1]]
            t = panel.trusts.iloc[i]
            raise InputError(f"the file's Rank of {panel.metric_ids[j]} contradicts its values (trust "
                             f"{panel.trusts.index[i]})", file=t["source_file"], row=int(t["source_row"]),
                             column="Rank")
        distinct = np.unique(ks)
        gaps = list(np.diff(distinct))
        for b in (std[j], flr[j]):
            if not np.isnan(b):
                bk = -b if hib[j] else b
                gaps += list(np.abs(distinct - bk)[np.abs(distinct - bk) > 0])
        gaps = [g for g in gaps if g > 0]
        if not gaps:
            continue
        eps = min(gaps) / (2.0 * (len(ks) + 1))
        # within a cluster of equal values, the number of distinct worse ranks below each trust
        shift = np.zeros(len(ks))
        start = 0
        while start < len(ks):
            stop = start + int(np.searchsorted(ks[start:], ks[start], side="right"))
            rr = rs[start:stop]
            u = np.unique(rr)
            shift[start:stop] = len(u) - 1 - np.searchsorted(u, rr)
            start = stop
        refined = np.empty(len(ks))
        refined[o] = ks - eps * shift
        out[have, j] = np.where(hib[j], -refined, refined)
    return out


# --------------------------------------------------------------------------------------
# Metrics scored across trust types: NHS England's published positions
# --------------------------------------------------------------------------------------
def grid_population(panel: Panel, method: Method, values=None) -> tuple[Panel, list[str]]:
    """Stand-ins for the other trust types' trusts of cross-type metrics, from the published grid.

    Where NHS England scores a metric across trust types and the input holds one type, each
    published score is a position ``k`` on a grid ``lo + (hi - lo) k / (N - 1)`` of the whole
    population (``N`` found by :func:`~nhs_league.scoring.unround_on_grid`). The positions that
    none of this type's trusts hold belong to trusts of other types, whose values are unknown but
    lie between the values of the neighbouring trusts of this type. One stand-in value is placed
    in that gap for each such position (inside the bookends), and the metric is scored across
    this type and the stand-ins: every trust of this type gets exactly its published score back
    (checked, else the metric is left out), and a trust that *equals* another trust of this type
    gets exactly the score NHS England's method would give it, because the number of trusts
    better than it is then known. Values strictly between two trusts of this type are not exact
    (the stand-ins' places are invented), so the search uses only this type's values as
    candidates and says that a smaller change, passing trusts of other types, may be enough.

    Returns the completed panel and the metric IDs completed this way.
    """
    from .scoring import unround_on_grid

    values = ordered_values(panel) if values is None else values
    complete = (panel.population_complete.copy() if panel.population_complete is not None
                else np.ones(len(panel.metric_ids), bool))
    rules = panel.metrics["rule"].to_numpy()
    std, flr = panel.rule_param_array
    hib = panel.higher_is_better
    if method.settings["scoring"]["continuous"] != "rank" or method.settings["scoring"]["published_scores"] == "never":
        return panel, []
    as_rounded = set(method.settings["scoring"].get("published_as_rounded") or ())
    stand_ins, done = {}, []
    for j in np.flatnonzero(~complete & (rules == "continuous")):
        mid = panel.metric_ids[j]
        if mid in as_rounded or mid not in set(panel.grid_metrics or ()):
            continue
        lo = 2.0 if not np.isnan(std[j]) else 1.0
        hi = 3.0 if not np.isnan(flr[j]) else 4.0
        pub = panel.published[:, j]
        x = values[:, j]
        if not np.array_equal(np.isnan(pub), np.isnan(x)):
            continue  # a trust with a value but no published score, or the reverse
        score, big_n = unround_on_grid(pub, lo=lo, hi=hi)
        if big_n is None:
            continue
        key = np.where(hib[j], -x, x)
        inside = ~np.isnan(pub) & (pub >= lo - 1e-9) & (pub <= hi + 1e-9)
        pos = np.round((score[inside] - lo) * (big_n - 1) / (hi - lo)).astype(int) + 1  # 1 = best
        k = key[inside]
        o = np.lexsort((pos, k))
        k, pos = k[o], pos[o]
        if np.any(np.diff(pos) < 0) or np.any((np.diff(k) == 0) != (np.diff(pos) == 0)):
            continue  # this type's order and the published positions disagree
        groups = np.unique(pos)
        count = np.array([np.sum(pos == g) for g in groups])
        gkey = np.array([k[pos == g][0] for g in groups])
        if np.any(groups[1:] < groups[:-1] + count[:-1]) or groups[-1] + count[-1] - 1 > big_n:
            continue
        # bookend keys bound the stand-ins: better than the floor, worse than the standard
        worst = (-flr[j] if hib[j] else flr[j]) if not np.isnan(flr[j]) else None
        best = (-std[j] if hib[j] else std[j]) if not np.isnan(std[j]) else None
        spread = float(np.ptp(gkey)) or 1.0
        filled = []
        n_before = groups[0] - 1
        if n_before:
            top = gkey[0] - (spread if best is None else gkey[0] - best)
            filled += list(np.linspace(top, gkey[0], n_before + 2)[1:-1])
        for a in range(len(groups) - 1):
            gap = groups[a + 1] - (groups[a] + count[a])
            if gap:
                filled += list(np.linspace(gkey[a], gkey[a + 1], gap + 2)[1:-1])
        n_after = big_n - (groups[-1] + count[-1] - 1)
        if n_after:
            bottom = gkey[-1] + (spread if worst is None else worst - gkey[-1])
            filled += list(np.linspace(gkey[-1], bottom, n_after + 2)[1:-1])
        filled = np.asarray(filled, float)
        stand_ins[j] = np.where(hib[j], -filled, filled)
    if not stand_ins:
        return panel, []
    width = max(len(v) for v in stand_ins.values())
    extra = np.full((width, len(panel.metric_ids)), np.nan)
    for j, v in stand_ins.items():
        extra[: len(v), j] = v
    real = panel.peers if panel.peers is not None and panel.peers.size else np.zeros((0, len(panel.metric_ids)))
    comp = complete.copy()
    comp[list(stand_ins)] = True
    out = replace(panel, peers=np.concatenate([real, extra]), population_complete=comp)
    got = metric_scores(out, method, values)
    want = metric_scores(panel, method)
    keep = []
    for j in stand_ins:
        if np.allclose(got[:, j], want[:, j], equal_nan=True, atol=1e-12, rtol=0):
            keep.append(j)
        else:
            extra[:, j] = np.nan
            comp[j] = complete[j]
    if len(keep) < len(stand_ins):
        out = replace(panel, peers=np.concatenate([real, extra]), population_complete=comp)
    done = [panel.metric_ids[j] for j in keep]
    return (out if keep else panel), done


# --------------------------------------------------------------------------------------
# Levers: what a trust can change, and the values at which its score can change
# --------------------------------------------------------------------------------------
@dataclass
class Lever:
    """One value a trust could change: a scored metric's value, or an input of a combined score."""

    lever_id: str  # the metric whose value changes (e.g. OF0061, or OF0079 for OF0080)
    column: int  # the scored metric (column of the panel) whose score it moves
    kind: str  # "value" (panel.values) or "input" (panel.inputs)
    group: int  # levers of one group move one score together (the two finance inputs)
    name: str
    units: str
    higher_is_better: bool
    status: str = ""
    current: float = np.nan
    candidates: np.ndarray = field(default_factory=lambda: np.zeros(0))  # values used in the re-run
    shown: np.ndarray = field(default_factory=lambda: np.zeros(0))  # the same, as reported (published precision)
    peer_range: float = np.nan
    on_grid: bool = False  # scored across trust types on NHS England's published positions (grid_population)


def levers(panel: Panel, method: Method, trust: int, values=None, on_grid=()) -> list[Lever]:
    """Every lever of trust ``trust`` (row), with its candidate values sorted smallest change first.

    ``on_grid``: metrics completed by :func:`grid_population`, whose candidates are this type's
    values only (the stand-ins' values are invented)."""
    values = ordered_values(panel) if values is None else values
    complete = panel.population_complete if panel.population_complete is not None else np.ones(
        len(panel.metric_ids), bool)
    peers = panel.peers if panel.peers is not None and panel.peers.size else None
    std, flr = panel.rule_param_array
    rules = panel.metrics["rule"].to_numpy()
    out: list[Lever] = []
    hib_all = panel.higher_is_better
    for j, mid in enumerate(panel.metric_ids):
        row = panel.metrics.iloc[j]
        hib = bool(hib_all[j])
        common = dict(name=str(row["name"]), units=str(row["units"]))
        if rules[j] == "finance_lookup":
            p = row["rule_params"]
            for key in ("planned_metric", "variance_metric"):
                imid = p[key]
                x = panel.inputs.get(imid, np.full(panel.n, np.nan))
                edges = np.asarray((panel.input_params.get(imid) or {}).get("edges") or [], float)
                lv = Lever(imid, j, "input", j, f"{_input_name(imid)} (for {_score_id(mid, row)})",
                           "percentage of income", True)
                lv.current = float(x[trust])
                if np.isnan(lv.current):
                    lv.status = STATUS_NO_VALUE
                else:
                    c = np.sort(edges[edges > lv.current])  # a value equal to an edge is not below it
                    lv.candidates = lv.shown = c
                    lv.peer_range = _range(x)
                out.append(lv)
            continue
        lv = Lever(mid, j, "value", j, higher_is_better=hib, **common)
        out.append(lv)
        if rules[j] == "published":
            lv.status = STATUS_SCORE_ONLY
            continue
        lv.current = float(panel.values[trust, j])
        if np.isnan(lv.current):
            lv.status = STATUS_NO_VALUE
            continue
        if rules[j] == "continuous":
            if not complete[j]:
                lv.status = STATUS_CROSS_TYPE
                continue
            pop = values[:, j]
            shown_pop = panel.values[:, j]
            others = np.delete(np.arange(panel.n), trust)
            cand, shown = pop[others], shown_pop[others]
            if peers is not None and mid not in on_grid:
                cand = np.concatenate([cand, peers[:, j]])
                shown = np.concatenate([shown, peers[:, j]])
            for b in (std[j], flr[j]):
                if not np.isnan(b):
                    cand, shown = np.append(cand, b), np.append(shown, b)
            cur = values[trust, j]
            ok = ~np.isnan(cand) & ((cand > cur) if hib else (cand < cur))
            cand, shown = cand[ok], shown[ok]
            cand, first = np.unique(cand, return_index=True)
            shown = shown[first]
            if not hib:
                cand, shown = cand[::-1], shown[::-1]
            lv.candidates, lv.shown = cand, shown
            lv.peer_range = _range(np.concatenate([shown_pop, peers[:, j]]) if peers is not None and mid not in on_grid
                                   else shown_pop)
            lv.on_grid = mid in on_grid
        elif rules[j] == "finance_position":
            lv.candidates = lv.shown = np.array([0.0]) if lv.current < 0 else np.zeros(0)
            lv.peer_range = _range(panel.values[:, j])
        else:
            lv.status = STATUS_NOT_IN_AVERAGE
    return out


def _range(x) -> float:
    x = np.asarray(x, float)
    x = x[~np.isnan(x)]
    return float(x.max() - x.min()) if x.size else np.nan


def _score_id(mid, row) -> str:
    sid = row.get("score_id")
    return sid if isinstance(sid, str) and sid else mid


def _input_name(mid: str) -> str:
    from .catalogue import load_catalogue
    cat = load_catalogue()
    return str(cat.loc[mid, "name"]) if mid in cat.index else mid


# --------------------------------------------------------------------------------------
# Re-running the method on changed inputs
# --------------------------------------------------------------------------------------
def rerun(panel: Panel, method: Method, trust: int, changes, values=None, *, rescore: str = "changed",
          base_scores=None) -> dict:
    """Re-run the whole method on ``K`` changed copies of the inputs in one call.

    ``changes`` is a list of ``K`` lists of ``(lever, value)``: in copy ``k`` trust ``trust``
    takes each given value. Returns :func:`~nhs_league.pipeline.compute`'s dict, every array
    with a leading axis ``K``.

    ``rescore="changed"`` (default) re-scores, in each copy, the metrics whose values changed,
    for every trust (scores are relative within a metric, so a changed value moves only its own
    metric's scores), takes the other metrics' scores from ``base_scores`` (computed when not
    given), and runs the rest of the method (average, segments, cap, ranks) on all of them;
    ``rescore="all"`` re-scores every metric of every copy. Both give the same numbers (tested);
    the first is what makes the search fast.
    """
    values = ordered_values(panel) if values is None else values
    K = len(changes)
    V = np.broadcast_to(values, (K,) + values.shape).copy()
    inputs = {k: np.broadcast_to(v, (K, panel.n)).copy() for k, v in panel.inputs.items()}
    for k, ch in enumerate(changes):
        for lv, x in ch:
            if lv.kind == "value":
                V[k, trust, lv.column] = x
            else:
                inputs[lv.lever_id][k, trust] = x
    p = replace(panel, inputs=inputs) if any(lv.kind == "input" for ch in changes for lv, _ in ch) else panel
    if rescore == "all":
        return compute(p, method, V)
    if rescore != "changed":
        raise ValueError("rescore must be 'changed' or 'all'")
    base = metric_scores(panel, method, values) if base_scores is None else base_scores
    sc = np.broadcast_to(base, V.shape).copy()
    copies = {}  # metric column -> the copies that change it, in order (one pass over the changes)
    for k, ch in enumerate(changes):
        for j in dict.fromkeys(lv.column for lv, _ in ch):
            copies.setdefault(j, []).append(k)
    for j in sorted(copies):
        rows = np.array(copies[j])
        one = _one_metric(p, j, {k: v[rows] for k, v in p.inputs.items()} if p is not panel else None)
        sc[rows, :, j] = metric_scores(one, method, V[rows][..., [j]])[..., 0]
    return compute(p, method, V, scores=sc)


def _one_metric(panel: Panel, j: int, inputs=None) -> Panel:
    """The panel restricted to scored metric ``j`` (its scoring needs nothing else)."""
    col = (lambda a: None if a is None else a[:, [j]])
    return replace(panel, metrics=panel.metrics.iloc[[j]], values=panel.values[:, [j]],
                   published=panel.published[:, [j]], numerators=panel.numerators[:, [j]],
                   denominators=panel.denominators[:, [j]], ranks=col(panel.ranks),
                   peers=None if panel.peers is None else panel.peers[:, [j]],
                   population_complete=None if panel.population_complete is None else panel.population_complete[[j]],
                   published_unrounded=col(panel.published_unrounded),
                   inputs=panel.inputs if inputs is None else inputs)


def _evaluate_levers(panel, method, trust, levs, values, base_scores=None):
    """One re-run for every candidate of every lever: per lever, the (Kl,) results for the trust."""
    changes, owner = [], []
    for li, lv in enumerate(levs):
        for x in lv.candidates:
            changes.append([(lv, x)])
            owner.append(li)
    if not changes:
        return {}
    r = rerun(panel, method, trust, changes, values, base_scores=base_scores)
    owner = np.array(owner)
    per = {}
    for li, lv in enumerate(levs):
        k = owner == li
        if k.any():
            per[li] = {key: r[key][k][:, trust] for key in ("average", "average_2dp", "raw_segment", "segment",
                                                            "rank")}
            per[li]["score"] = r["scores"][k][:, trust, lv.column]
    return per


# --------------------------------------------------------------------------------------
# The answer for one trust
# --------------------------------------------------------------------------------------
@dataclass
class WhatIf:
    """The answer for one trust: options (rows per metric and per combination), closeness, notes."""

    trust_code: str
    trust_name: str
    quarter: str
    current_segment: int
    target_segment: int
    cap_binds: bool
    raw_segment: int  # the segment without the deficit cap
    options: pd.DataFrame  # OPTION_COLUMNS
    notes: list
    synthetic: bool = False
    method: str = ""
    closeness: pd.DataFrame | None = None

    @property
    def singles(self) -> pd.DataFrame:
        return self.options[self.options["Kind"] == "single metric"]

    @property
    def combination(self) -> pd.DataFrame:
        return self.options[self.options["Kind"] == "combination"]

    def sentence(self) -> str:
        """The sentence a board member reads."""
        return board_sentence(self)


def _target(current: int, target) -> int:
    if target is None:
        return max(current - 1, 1)
    t = int(target)
    if not 1 <= t <= 4:
        raise InputError(f"--target-segment must be 1, 2, 3 or 4, got {target}")
    return t


@dataclass
class Prepared:
    """What every trust's search of one table shares (see :func:`prepare`)."""

    panel: Panel  # completed by grid_population where used
    method: Method
    values: np.ndarray  # ordered_values of the input panel
    on_grid: list
    base: dict  # compute on the ordered values


def prepare(panel: Panel, method, *, grid: bool = True) -> Prepared:
    """The tie-broken values, the completed population and the baseline run of one table, once.

    Pass the result to :func:`what_if` (``prepared=``) for each trust of the table.
    Raises :class:`~nhs_league.errors.MethodError` if the tie-broken values do not reproduce
    the point estimate (a guard; the tests check it on the real release).
    """
    method = load_method(method)
    values = ordered_values(panel)
    point = compute(panel, method)
    on_grid = []
    if grid:
        panel, on_grid = grid_population(panel, method, values)
    base = compute(panel, method, values)
    if not np.allclose(point["scores"], base["scores"], equal_nan=True, atol=1e-12, rtol=0):
        raise MethodError("the tie-broken values do not reproduce the point-estimate scores")
    return Prepared(panel, method, values, on_grid, base)


def what_if(panel: Panel, method, trust_code: str, target_segment=None, *, combinations: bool = True,
            max_metrics: int | None = None, grid: bool = True, prepared: Prepared | None = None) -> WhatIf:
    """What would move ``trust_code`` into ``target_segment`` (default: the next better segment).

    Parameters
    ----------
    panel, method
        The quarter's panel and method preset.
    trust_code : str
    target_segment : int, optional
        1-4 and better than the trust's segment; default the next better one.
    combinations : bool
        Search combinations when no single metric reaches the target.
    max_metrics : int, optional
        Largest combination searched (default: every lever).
    grid : bool
        Search metrics scored across trust types on NHS England's published positions
        (:func:`grid_population`) when the input holds only this type; ``False`` leaves them out.
    prepared : Prepared, optional
        :func:`prepare` of this panel and method (shared by all trusts of a table).

    Returns
    -------
    WhatIf
        ``options`` has one row per lever (``Kind = single metric``) with its smallest sufficient
        change or why there is none, and, when no single metric does it, one row per metric of
        the smallest combination (``Kind = combination``, ``Option = 1``). Every reported change
        is checked by re-running the whole method.

    Examples
    --------
    >>> from nhs_league.sensitivity import example_panel
    >>> p = example_panel(30, seed=2)
    >>> w = what_if(p, "nof-2025-26", p.trusts.index[5])   # in deficit: held at segment 3
    >>> w.current_segment, w.target_segment, w.cap_binds, int(w.singles["Reaches_target"].sum()), len(w.combination)
    (3, 2, True, 0, 2)
    """
    method = load_method(method)
    i = _trust_row(panel, trust_code)
    if prepared is None:
        prepared = prepare(panel, method, grid=grid)
    panel, values, on_grid, base = prepared.panel, prepared.values, prepared.on_grid, prepared.base
    seg = int(base["segment"][i])
    raw = int(base["raw_segment"][i])
    target = _target(seg, target_segment)
    notes = []
    ov = method.settings["override"]
    cap = int(ov["cap"])
    capped = bool(ov["enabled"]) and bool(base["in_deficit"][i]) and target < cap
    if bool(base["intensive_support"][i]) and method.settings["segment5"]["source"] != "none":
        notes.append("the trust is in intensive support (segment 5): that comes from an external list, not "
                     "from scoring, so no metric gain changes it")
    if target >= seg:
        notes.append(f"the trust is already in segment {seg}: target {target} is not better, nothing to search")
    if capped:
        notes.append(f"the trust is in financial deficit ({'; '.join(sorted(set(panel.deficit(method)[1][[i]])))}):"
                     f" no metric gain can lift it above segment {cap} until it is out of deficit; the search "
                     f"below is for segment {target} without the cap (now segment {raw} without it)")
    if method.settings["segmentation"]["rule"] != "cutoffs":
        notes.append("segments by quartiles: every trust's average moves the cut-offs; each answer is checked by "
                     "a full re-run, but the combination screen assumes fixed cut-offs")
    reach_key = "raw_segment" if capped else "segment"
    held = capped and raw <= target  # only the cap holds it back: nothing to search
    if held:
        notes.append(f"without the cap the trust would already be in segment {raw}: being out of deficit is all "
                     f"it needs")
    levs = levers(panel, method, i, values, on_grid)
    per = _evaluate_levers(panel, method, i, levs, values, base["scores"])
    cur_score = base["scores"][i]
    rows = []
    meta = dict(Quarter=panel.quarter, Trust_code=trust_code, Trust_name=str(panel.trusts["trust_name"].iloc[i]),
                Target_segment=target)
    for li, lv in enumerate(levs):
        row = dict(meta, Kind="single metric", Option=0, Metric_ID=lv.lever_id, Metric=lv.name, Units=lv.units,
                   Better="higher" if lv.higher_is_better else "lower", Current_value=lv.current,
                   Current_score=cur_score[lv.column], Current_average=base["average"][i])
        if lv.status or target >= seg or held:
            rows.append(dict(row, Status=lv.status or (
                f"only the deficit cap holds it: segment {raw} without the cap" if held else f"already in segment {seg}")))
            continue
        res = per.get(li)
        better = None if res is None else res["score"] < cur_score[lv.column] - 1e-12
        if res is None or not better.any():
            rows.append(dict(row, Status=STATUS_BEST))
            continue
        ok = res[reach_key] <= target
        k = int(np.argmax(ok)) if ok.any() else len(lv.candidates) - 1  # first success, else the best try
        reach = bool(ok[k])
        if reach and lv.on_grid:
            row["Known_not_enough_value"] = lv.shown[k - 1] if k > 0 else lv.current
        rows.append(dict(row, Needed_value=lv.shown[k] if reach else np.nan,
                         Change=round(lv.shown[k] - lv.current, 9) if reach else np.nan,
                         Change_share_of_range=_share(lv.shown[k] - lv.current, lv.peer_range) if reach else np.nan,
                         New_score=res["score"][k], New_average=res["average"][k],
                         New_average_2dp=res["average_2dp"][k], New_raw_segment=int(res["raw_segment"][k]),
                         New_segment=int(res["segment"][k]), New_league_rank=int(res["rank"][k]),
                         Reaches_target=reach,
                         Status=(STATUS_REACHES + _tie_note(lv, k) + (GRID_NOTE if lv.on_grid else "")) if reach else
                         f"{STATUS_NOT_ALONE}: at best ({lv.shown[k]:g}, the best value there is) average "
                         f"{res['average_2dp'][k]:.2f}, segment {int(res[reach_key][k])}"
                         f"{' without the cap' if capped else ''}"))
    options = pd.DataFrame(rows).reindex(columns=OPTION_COLUMNS)
    if combinations and target < seg and not held and not (options["Reaches_target"] == True).any():  # noqa: E712
        combo = _best_combination(panel, method, i, levs, per, base, target, reach_key, values, max_metrics, notes)
        if combo is not None:
            options = pd.concat([options, combo.assign(**meta).reindex(columns=OPTION_COLUMNS)], ignore_index=True)
    options["Reaches_target"] = options["Reaches_target"].astype("boolean")
    for c in ("New_raw_segment", "New_segment", "New_league_rank", "Option", "Target_segment"):
        options[c] = pd.array(options[c], dtype="Int64")
    if capped:
        options.loc[options["Reaches_target"].fillna(False).astype(bool), "Status"] = (
            f"{STATUS_REACHES} without the deficit cap (still segment {cap} while in deficit)")
    if on_grid:
        notes.append(f"{', '.join(on_grid)}: NHS England scores these across trust types; the input holds one type, "
                     "so they are re-scored on NHS England's published positions (every other type's trust stands where "
                     "the published scores put it). Equalling another trust's value of this type, as every answer does, "
                     "gives exactly NHS England's score; a smaller change that passes trusts of other types (whose "
                     "values are not in the input) may be enough: the least value lies after Known_not_enough_value")
    if any(options["Status"] == STATUS_CROSS_TYPE):
        cross = ", ".join(options.loc[options["Status"] == STATUS_CROSS_TYPE, "Metric_ID"])
        notes.append(f"{cross}: NHS England scores these across trust types and the input does not hold the other "
                     "types' values (nor published positions that can be read): a changed value cannot be re-scored as "
                     "NHS England does, so they are left out of the search (give every trust type's data file to "
                     "include them)")
    return WhatIf(trust_code, meta["Trust_name"], panel.quarter, seg, target, capped, raw, options, notes,
                  synthetic=panel.synthetic, method=method.name)


def _tie_note(lv: Lever, k: int) -> str:
    if lv.shown[k] == lv.current:
        return (" (the same 2-dp value: it must pass a trust that NHS England's unrounded order, the file's "
                "Rank, puts ahead)")
    return ""


def _share(change, rng) -> float:
    return float(abs(change) / rng) if rng and not np.isnan(rng) and rng > 0 else np.nan


def _trust_row(panel: Panel, trust_code: str) -> int:
    """The row of ``trust_code`` in the panel, or an InputError naming the file and column."""
    codes = panel.trusts.index
    if trust_code not in codes:
        raise InputError(f"trust {trust_code} is not in the {panel.trust_type} table of {panel.quarter}",
                         file=_files(panel), column="Trust_code")
    return int(codes.get_loc(trust_code))


def _files(panel: Panel) -> str | None:
    f = sorted(set(panel.trusts["source_file"].astype(str)))
    return ", ".join(f) or None


# --------------------------------------------------------------------------------------
# Combinations: fewest metrics first, then the smallest total change (share of peer range)
# --------------------------------------------------------------------------------------
def _group_levels(levs, per, cur_score, groups):
    """Per group of levers (one score each): its levels as arrays (count, cost, score, choice tuples)."""
    out = []
    for g in groups:
        members = [li for li, lv in enumerate(levs) if lv.group == g and not lv.status and li in per]
        if not members:
            continue
        if len(members) == 1:
            li = members[0]
            lv = levs[li]
            s = per[li]["score"]
            keep = s < cur_score[lv.column] - 1e-12
            cost = np.array([_share(x - lv.current, lv.peer_range) for x in lv.shown])
            cost = np.where(np.isnan(cost), np.abs(lv.shown - lv.current), cost)
            out.append((g, members, np.ones(keep.sum(), int), cost[keep], s[keep],
                        [((li, k),) for k in np.flatnonzero(keep)]))
        else:
            out.append((g, members, None, None, None, None))  # joint levels filled in by _joint_levels
    return out


def _best_combination(panel, method, i, levs, per, base, target, reach_key, values, max_metrics, notes):
    s = method.settings["average"]
    if s["aggregation"] != "mean":
        notes.append(f"combinations are searched only for the mean of scores (this method: {s['aggregation']})")
        return None
    sc = base["scores"][i]
    have = ~np.isnan(sc)
    w = np.broadcast_to(domain_weights(have[None], panel.domain_index, s["weights"], panel.metric_ids),
                        (1, len(sc)))[0]
    w = np.where(have, w, 0.0)
    total = w.sum()
    groups = sorted({lv.group for lv in levs if not lv.status})
    levels = _group_levels(levs, per, sc, groups)
    # joint levels of a group with several levers (the finance inputs): every pair of candidates, one re-run
    filled = []
    for g, members, cnt, cost, score, choice in levels:
        if cnt is None:
            opts = [[None] + list(range(len(levs[li].candidates))) for li in members]
            combos = [c for c in product(*opts) if any(x is not None for x in c)]
            ch = [[(levs[li], levs[li].candidates[k]) for li, k in zip(members, c) if k is not None] for c in combos]
            r = rerun(panel, method, i, ch, values, base_scores=base["scores"])
            score = r["scores"][:, i, levs[members[0]].column]
            cnt = np.array([sum(x is not None for x in c) for c in combos])
            cost = np.array([sum(_share(levs[li].shown[k] - levs[li].current, levs[li].peer_range)
                                 for li, k in zip(members, c) if k is not None) for c in combos])
            choice = [tuple((li, k) for li, k in zip(members, c) if k is not None) for c in combos]
            keep = score < sc[levs[members[0]].column] - 1e-12
            cnt, cost, score = cnt[keep], cost[keep], score[keep]
            choice = [c for c, kk in zip(choice, keep) if kk]
        if len(cnt):
            gain = w[levs[members[0]].column] * (sc[levs[members[0]].column] - score)
            filled.append((cnt, cost, gain, choice))
    if not filled:
        return None
    weighted = float(np.sum(np.where(have, w * sc, 0.0)))
    cuts = np.asarray(method.cutoffs, float) if method.settings["segmentation"]["rule"] == "cutoffs" else None

    def enough(gain):
        if cuts is None:
            return np.ones(np.shape(gain), bool)
        avg = (weighted - np.asarray(gain, float)) / total
        return cutoff_segments(round_scores(avg, method.decimals, s["rounding"]), cuts) <= target

    cap_total = sum(int(c.max()) for c, *_ in filled)
    most = cap_total if max_metrics is None else min(int(max_metrics), cap_total)
    # a lower bound on the values to change: each group's largest gain counted as one value, biggest first
    top = np.cumsum(np.sort([g.max() for _, _, g, _ in filled])[::-1])
    feasible = np.flatnonzero(enough(top))
    limit = int(feasible[0]) + 1 if len(feasible) else 2
    while limit <= most:
        found = _frontier_search(filled, limit, enough)
        for choice in found:
            rows = _check_combination(panel, method, i, levs, choice, base, target, reach_key, values)
            if rows is not None:
                return rows
        limit += 1
    notes.append("no combination of the searched metrics reaches the target"
                 + (f" (up to {most} metrics)" if max_metrics is not None else ""))
    return None


def _frontier_search(filled, limit, enough):
    """Cheapest combinations changing at most ``limit`` values, fewest values first, that are ``enough``.

    A multiple-choice knapsack solved exactly over Pareto frontiers: after each group, for each
    number of changed values, only the states that gain more than every cheaper state are kept
    (with back-pointers, so no combination is built until it is reported). Returns the
    sufficient states' choices, the fewest values first and then the cheapest.
    """
    front = {0: (np.zeros(1), np.zeros(1))}
    hist = []
    for cnt, cost, gain, _ in filled:
        parts: dict = {}
        for c0, (fc, fg) in front.items():
            idx = np.arange(len(fc))
            parts.setdefault(c0, []).append((fc, fg, np.full(len(fc), c0), idx, np.full(len(fc), -1)))
            for u in np.unique(cnt):
                c1 = c0 + int(u)
                if c1 > limit:
                    continue
                sel = np.flatnonzero(cnt == u)
                parts.setdefault(c1, []).append(((fc[:, None] + cost[sel][None, :]).ravel(),
                                                 (fg[:, None] + gain[sel][None, :]).ravel(),
                                                 np.full(len(fc) * len(sel), c0), np.repeat(idx, len(sel)),
                                                 np.tile(sel, len(fc))))
        front, step = {}, {}
        for c, ps in parts.items():
            cost_c, gain_c, pc, pi, lv = (np.concatenate(x) for x in zip(*ps))
            keep = _pareto(cost_c, gain_c)
            front[c] = (cost_c[keep], gain_c[keep])
            step[c] = (pc[keep], pi[keep], lv[keep])
        hist.append(step)
    out = []
    for c in sorted(k for k in front if k > 0):
        fc, fg = front[c]
        ok = np.flatnonzero(enough(fg))
        for k in ok[np.argsort(fc[ok], kind="stable")]:
            choice, cc, kk = (), c, int(k)
            for g in range(len(filled) - 1, -1, -1):
                pc, pi, lv = hist[g][cc]
                if lv[kk] >= 0:
                    choice = filled[g][3][lv[kk]] + choice
                cc, kk = int(pc[kk]), int(pi[kk])
            out.append(choice)
    return out


def _pareto(cost, gain):
    """Positions of the states no other beats: cheapest first, each gaining more than all cheaper ones."""
    o = np.lexsort((-gain, cost))
    g = gain[o]
    best = np.maximum.accumulate(g)
    keep = np.ones(len(g), bool)
    keep[1:] = g[1:] > best[:-1] + 1e-12
    return o[keep]


def _check_combination(panel, method, i, levs, choice, base, target, reach_key, values):
    """Re-run the whole method with every change of ``choice``; rows if it reaches the target."""
    ch = [(levs[li], levs[li].candidates[k]) for li, k in choice]
    r = rerun(panel, method, i, [ch], values, rescore="all")  # the check re-scores everything
    r = {k: (v[0] if np.ndim(v) == np.ndim(base[k]) + 1 else v) for k, v in r.items()}
    if int(r[reach_key][i]) > target:
        return None
    rows = []
    for li, k in choice:
        lv = levs[li]
        rows.append(dict(Kind="combination", Option=1, Metric_ID=lv.lever_id, Metric=lv.name, Units=lv.units,
                         Better="higher" if lv.higher_is_better else "lower", Current_value=lv.current,
                         Needed_value=lv.shown[k], Change=round(lv.shown[k] - lv.current, 9),
                         Change_share_of_range=_share(lv.shown[k] - lv.current, lv.peer_range),
                         Current_score=base["scores"][i, lv.column], New_score=r["scores"][i, lv.column],
                         Current_average=base["average"][i], New_average=r["average"][i],
                         New_average_2dp=r["average_2dp"][i], New_raw_segment=int(r["raw_segment"][i]),
                         New_segment=int(r["segment"][i]), New_league_rank=int(r["rank"][i]),
                         Known_not_enough_value=(lv.shown[k - 1] if k > 0 else lv.current) if lv.on_grid else np.nan,
                         Reaches_target=True, Status=f"{STATUS_REACHES} together ({len(choice)} metrics)"
                         + (GRID_NOTE if lv.on_grid else "")))
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
# How close the trust is
# --------------------------------------------------------------------------------------
def closeness(panel: Panel, method, trust_code: str, *, draws: int = 1000, seed=0, result: dict | None = None,
              denominators=None, sampling=None) -> tuple[pd.DataFrame, list[str]]:
    """Gap to each cut-off, probability of being on the other side, trusts in between.

    One row per cut-off of the method (fixed cut-offs, or the nominal quartiles of the
    averages under the quartile rule): ``Gap_points`` = the trust's 2-dp average minus the
    cut-off (positive: the trust is on the worse side; a 2-dp average equal to the cut-off is
    in the better segment); ``Trusts_between`` = other trusts of the type whose 2-dp average
    lies between the trust's and the cut-off (on the trust's side of it); ``P_other_side_*`` =
    share of bootstrap replicates whose 2-dp average is on the other side of the cut-off, per
    source of uncertainty (NaN where the source is unavailable, with a note);
    ``Inside_NHSE_likely_range`` = the cut-off lies within NHS England's published likely range
    of the average (blank without a league-table file).

    ``sampling``, when given, is the panel's :func:`~nhs_league.uncertainty.sampling_replicates`
    (computed once for all trusts of a table; otherwise it is computed here, or found unavailable).
    """
    from .uncertainty import basket_bootstrap_averages, sampling_replicates

    method = load_method(method)
    i = _trust_row(panel, trust_code)
    r = compute(panel, method) if result is None else result
    if method.settings["segmentation"]["rule"] == "cutoffs":
        cuts = np.asarray(method.cutoffs, float)
    else:
        from .segmentation import quartile_cutoffs
        cuts = quartile_cutoffs(r["average_2dp"], method=method.settings["segmentation"]["quantile_method"])
    dec, rounding = method.decimals, method.settings["average"]["rounding"]
    a = float(r["average_2dp"][i])
    others = np.delete(r["average_2dp"], i)
    notes = []
    probs = {}
    try:
        avg = basket_bootstrap_averages(panel, method, [trust_code], draws=draws, seed=seed, nominal=r)[trust_code]
        probs["metrics"] = round_scores(avg.to_numpy(), dec, rounding)
    except InputError as exc:
        notes.append(f"metric-basket bootstrap unavailable: {exc}")
    try:
        reps = sampling if sampling is not None else sampling_replicates(panel, method, draws=draws, seed=seed,
                                                                         denominators=denominators)
        probs["sampling"] = round_scores(reps.average[:, i], dec, rounding)
    except InputError as exc:
        notes.append(f"sampling-noise bootstrap unavailable: {str(exc).split(': ', 1)[-1]}")
    pub = panel.published_league
    lo = hi = np.nan
    if pub is not None and "average_range_low" in pub:
        lo, hi = float(pub["average_range_low"].iloc[i]), float(pub["average_range_high"].iloc[i])
    rows = []
    for k, c in enumerate(cuts):
        worse = a > c + 1e-9  # the trust is on the worse side of cut-off k
        if worse:
            between = int(np.sum((others > c + 1e-9) & (others < a - 1e-9)))
        else:
            between = int(np.sum((others > a + 1e-9) & (others <= c + 1e-9)))
        row = dict(Quarter=panel.quarter, Trust_code=trust_code, Trust_name=str(panel.trusts["trust_name"].iloc[i]),
                   Cutoff=float(c), Between_segments=f"{k + 1} and {k + 2}",
                   Side="worse (above)" if worse else "better (at or below)", Average_2dp=a,
                   Gap_points=round(a - float(c), 6), Trusts_between=between)
        for src in ("metrics", "sampling"):
            x = probs.get(src)
            row[f"P_other_side_{src}"] = (np.nan if x is None else
                                          float(np.mean(x <= c + 1e-9) if worse else np.mean(x > c + 1e-9)))
        row["Inside_NHSE_likely_range"] = (pd.NA if np.isnan(lo) else bool(lo <= c <= hi))
        rows.append(row)
    out = pd.DataFrame(rows, columns=CLOSENESS_COLUMNS)
    out["Inside_NHSE_likely_range"] = out["Inside_NHSE_likely_range"].astype("boolean")
    return out, notes


# --------------------------------------------------------------------------------------
# Output table and the sentence
# --------------------------------------------------------------------------------------
def output_table(w: WhatIf) -> pd.DataFrame:
    """The ``nhs-league whatif`` CSV: the option rows, then the closeness rows (``Kind = cut-off``)."""
    opt = w.options.copy()
    frames = [opt]
    if w.closeness is not None:
        c = w.closeness.copy()
        c["Kind"] = "cut-off"
        c["Target_segment"] = w.target_segment
        frames.append(c)
    cols = OPTION_COLUMNS + [c for c in CLOSENESS_COLUMNS if c not in OPTION_COLUMNS]
    t = pd.concat(frames, ignore_index=True).reindex(columns=cols)
    for c in ("Target_segment", "Option", "New_raw_segment", "New_segment", "New_league_rank", "Trusts_between"):
        t[c] = pd.array(t[c], dtype="Int64")
    t["Method"] = w.method
    t["Data"] = DATA_LABEL[bool(w.synthetic)]
    return t


def _fmt(x, units: str) -> str:
    if units in ("percentage", "percentage of income"):
        return f"{x:.2f}%"
    if units == "percentage points":
        return f"{x:.2f} percentage points"
    if units in ("score", "index", "rate", "rating"):
        return f"{x:.2f}"
    return f"{x:.2f} {units}"


def _phrase(row) -> str:
    out = (f"{row['Metric_ID']} {row['Metric']} from {_fmt(row['Current_value'], row['Units'])} "
           f"to {_fmt(row['Needed_value'], row['Units'])}")
    if pd.notna(row.get("Known_not_enough_value")):
        out += (f" (enough; the exact threshold lies between {_fmt(row['Known_not_enough_value'], row['Units'])} "
                f"and {_fmt(row['Needed_value'], row['Units'])})")
    return out


def board_sentence(w: WhatIf) -> str:
    """"Reaching segment 2 needs one of: ..." for the trust, in words."""
    t = w.target_segment
    if t >= w.current_segment:
        return f"{w.trust_name} is already in segment {w.current_segment}."
    if w.cap_binds and w.raw_segment <= t:
        return (f"{w.trust_name} is in financial deficit: no metric gain can lift it above segment 3 until it is "
                f"out of deficit; without the cap it would already be in segment {w.raw_segment}.")
    singles = w.singles[w.singles["Reaches_target"].fillna(False).astype(bool)]
    combo = w.combination
    lead = ""
    if w.cap_binds:
        lead = (f"{w.trust_name} is in financial deficit: no metric gain can lift it above segment 3 until it is out "
                f"of deficit. Without the cap, ")
    if len(singles):
        parts = [_phrase(r) for _, r in singles.sort_values("Change_share_of_range", kind="stable").iterrows()]
        body = f"reaching segment {t} needs one of: " + "; ".join(parts) + "."
    elif len(combo):
        parts = [_phrase(r) for _, r in combo.iterrows()]
        body = (f"no single metric can reach segment {t}; the smallest combination is: " + " and ".join(parts)
                + f" (average {combo['New_average_2dp'].iloc[0]:.2f}).")
    else:
        o = w.singles
        searched = o.loc[~o["Status"].isin([STATUS_CROSS_TYPE, STATUS_SCORE_ONLY, STATUS_NO_VALUE]), "Metric_ID"]
        body = (f"no change in the metrics that can be re-scored from this input ({', '.join(searched) or 'none'}), "
                f"alone or together, reaches segment {t}.")
        cross = o.loc[o["Status"] == STATUS_CROSS_TYPE, "Metric_ID"]
        if len(cross):
            body += (f" {len(cross)} metrics scored across trust types ({', '.join(cross)}) were not searched: "
                     "give every trust type's data file to include them.")
    if lead:
        return lead + body
    return body[0].upper() + body[1:]


def options_view(w: WhatIf) -> pd.DataFrame:
    """The options as a report shows them: words for column names, one row per metric and combination part."""
    o = w.options
    rank = np.where(o["Kind"] == "combination", 1, np.where(o["Reaches_target"].fillna(False).astype(bool), 0, 2))
    o = o.assign(_r=rank).sort_values(["_r", "Change_share_of_range"], kind="stable", na_position="last")
    return pd.DataFrame({
        "Option": np.where(o["Kind"] == "combination", "smallest combination", "one metric alone"),
        "Metric": (o["Metric_ID"] + " " + o["Metric"]).to_numpy(),
        "Now": o["Current_value"].to_numpy(dtype=float),
        "Needed": o["Needed_value"].to_numpy(dtype=float),
        "Change as share of peer range": o["Change_share_of_range"].to_numpy(dtype=float),
        "Score now": o["Current_score"].to_numpy(dtype=float),
        "New score": o["New_score"].to_numpy(dtype=float),
        "New average (2 dp)": o["New_average_2dp"].to_numpy(dtype=float),
        "New segment": _whole(o["New_segment"]),
        "New segment without the cap": _whole(o["New_raw_segment"]),
        "New league rank": _whole(o["New_league_rank"]),
        "Result": [_short_result(r) for _, r in o.iterrows()],
    }).reset_index(drop=True)


def _short_result(row) -> str:
    """A row's Status in a few words, for a report table (the caption carries the notes)."""
    status = str(row["Status"])
    if not bool(pd.notna(row["Reaches_target"]) and row["Reaches_target"]):
        if status.startswith(STATUS_NOT_ALONE):
            return f"cannot alone (at best average {row['New_average_2dp']:.2f})"
        return status
    text = "reaches it together" if row["Kind"] == "combination" else "reaches it"
    if "without the deficit cap" in status:
        text += " without the cap"
    if pd.notna(row.get("Known_not_enough_value")):
        text += f"; the exact threshold lies after {row['Known_not_enough_value']:g}"
    return text


def sentences(notes) -> str:
    """Notes as sentences (capitalised, full stop), for a caption."""
    return " ".join(n[:1].upper() + n[1:] + ("" if n.endswith(".") else ".") for n in notes)


def _whole(col) -> np.ndarray:
    """Whole numbers as text, blank where there is none (a report table shows no "<NA>")."""
    a = pd.array(col, dtype="Int64")
    return np.array(["" if pd.isna(x) else str(int(x)) for x in a], dtype=object)


def closeness_view(c: pd.DataFrame) -> pd.DataFrame:
    """The closeness figures with words for column names (the sampling column only where available)."""
    out = pd.DataFrame({
        "Cut-off (2-dp average)": c["Cutoff"].to_numpy(float),
        "Between segments": c["Between_segments"].to_numpy(),
        "Trust is": c["Side"].to_numpy(),
        "Gap (average-score points)": c["Gap_points"].to_numpy(float),
        "Other trusts in between": c["Trusts_between"].to_numpy(),
        "Chance already on the other side: metric-basket bootstrap": c["P_other_side_metrics"].to_numpy(float),
        "Chance already on the other side: sampling noise": c["P_other_side_sampling"].to_numpy(float),
        "Cut-off inside NHS England's likely range": c["Inside_NHSE_likely_range"].map(
            {True: "yes", False: "no"}).fillna("not published").to_numpy(),
    })
    if out["Chance already on the other side: sampling noise"].isna().all():
        out = out.drop(columns="Chance already on the other side: sampling noise")
    return out
