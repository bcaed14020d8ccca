"""The NOF pipeline for one quarter and one trust type, on arrays.

``build_panel`` turns the tidy tables read by :mod:`nhs_league.io` into a :class:`Panel`:
numpy arrays of shape ``(n_trusts, n_metrics)``. ``compute`` runs scoring, averaging,
segmentation, the financial override, segment 5 and ranking on a panel. ``compute`` accepts
replicated values of shape ``(R, n_trusts, n_metrics)`` and returns every result with the
same leading axis, so the bootstrap and the sensitivity analysis re-run the whole pipeline
thousands of times without going back through pandas. ``league_table`` formats one run as
the published table.

Two input routes:

* a **data file**: :func:`build_panel` then :func:`league_table` (full recompute);
* a **league-table file**: :func:`league_table_from_published` re-derives the raw
  segment, the override and the ranks from the published averages and deficit flags.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .catalogue import (ADJUSTED_SEGMENT_ID, AVERAGE_SCORE_ID, DEFICIT_FLAG_ID, DOMAIN_SCORE_IDS,
                        DOMAIN_SEGMENT_IDS, DOMAINS, FINAL_SEGMENT_ID, RSP_FLAG_ID, UNADJUSTED_SEGMENT_ID,
                        load_catalogue, metrics_for, population_of, score_id_map)
from .errors import InputError, MethodError
from .io import TRUST_TYPE_LABELS, Inputs, rows_for
from .league import league_ranks
from .methods import Method
from .scoring import (CONTINUOUS_RULES, aggregate_scores, bookend_scores, finance_lookup_scores,
                      finance_position_scores, round_scores, unround_on_grid)
from .segmentation import (apply_override, apply_segment5, cutoff_segments, deficit_from_metrics,
                           quartile_segments)

DATA_LABEL = {True: "SYNTHETIC", False: "real"}


@dataclass
class Panel:
    """One quarter and one trust type, as arrays. Rows are trusts, columns scored metrics."""

    quarter: str
    trust_type: str
    trusts: pd.DataFrame  # index trust_code: trust_name, trust_subtype, region, source_file, source_row
    metrics: pd.DataFrame  # catalogue rows of the scored metrics, in column order
    values: np.ndarray  # (n, m) raw values (NaN = no value)
    published: np.ndarray  # (n, m) published OF1### scores (NaN = none)
    numerators: np.ndarray  # (n, m)
    denominators: np.ndarray  # (n, m)
    inputs: dict  # metric_id -> (n,) values of 'input' metrics (e.g. OF0081)
    deficit_flag: pd.array  # (n,) published Trust_in_financial_deficit (boolean, NA = absent)
    intensive_support: np.ndarray  # (n,) bool, segment 5
    published_league: pd.DataFrame | None = None  # the published league rows, indexed like trusts
    synthetic: bool = False
    notes: list = field(default_factory=list)
    ranks: np.ndarray | None = None  # (n, m) the data file's Rank (NHS England's order), NaN = none
    peers: np.ndarray | None = None  # (k, m) values of other trust types' trusts scored with these
    population_complete: np.ndarray | None = None  # (m,) the whole scoring population is in the input
    published_unrounded: np.ndarray | None = None  # (n, m) published scores put back on their rank grid
    published_inputs: dict = field(default_factory=dict)  # input metric_id -> (n,) published band score
    published_results: pd.DataFrame | None = None  # OF5000/2/3/4/5, OF4xxx rows of the data file
    input_params: dict = field(default_factory=dict)  # input metric_id -> its catalogue rule_params
    grid_metrics: list = field(default_factory=list)  # metrics whose published scores were put on their grid

    def subset(self, mask) -> "Panel":
        """The same panel restricted to the trusts where ``mask`` is true (a peer-set choice)."""
        from dataclasses import replace

        mask = np.asarray(mask, dtype=bool)
        if mask.all():
            return self
        cut = (lambda a: None if a is None else a[mask])
        return replace(
            self, trusts=self.trusts[mask], values=self.values[mask], published=self.published[mask],
            numerators=self.numerators[mask], denominators=self.denominators[mask],
            inputs={k: v[mask] for k, v in self.inputs.items()}, deficit_flag=self.deficit_flag[mask],
            intensive_support=self.intensive_support[mask],
            published_league=None if self.published_league is None else self.published_league[mask],
            ranks=cut(self.ranks), published_unrounded=cut(self.published_unrounded),
            published_inputs={k: v[mask] for k, v in self.published_inputs.items()},
            published_results=None if self.published_results is None else self.published_results[mask])

    @property
    def rule_param_array(self):
        """(standard, floor) per scored metric, NaN where the catalogue gives none."""
        prm = [p if isinstance(p, dict) else {} for p in self.metrics["rule_params"]]
        std = np.array([float(p.get("standard", np.nan)) for p in prm])
        flr = np.array([float(p.get("floor", np.nan)) for p in prm])
        return std, flr

    @property
    def n(self) -> int:
        return len(self.trusts)

    @property
    def metric_ids(self) -> list[str]:
        return list(self.metrics.index)

    @property
    def higher_is_better(self) -> np.ndarray:
        return (self.metrics["better"] == "higher").to_numpy()

    @property
    def domain_index(self) -> np.ndarray:
        return np.array([DOMAINS.index(d) for d in self.metrics["domain"]], dtype=int)

    def planned_and_variance(self, method: Method):
        """(planned surplus/deficit, YTD variance) arrays used by the deficit rule."""
        o = method.settings["override"]
        def get(mid):
            if mid in self.inputs:
                return self.inputs[mid]
            if mid in self.metric_ids:
                return self.values[:, self.metric_ids.index(mid)]
            return np.full(self.n, np.nan)
        return get(o["planned_metric"]), get(o["variance_metric"])

    def deficit(self, method: Method) -> tuple[np.ndarray, np.ndarray]:
        """In deficit (bool) and where that came from, per the method's ``override.deficit`` rule."""
        rule = method.settings["override"]["deficit"]
        planned, variance = self.planned_and_variance(method)
        from_metrics = deficit_from_metrics(planned, variance,
                                            tolerance=float(method.settings["override"].get("tolerance", 0.0)))
        have_metrics = ~(np.isnan(planned) & np.isnan(variance))
        flag = np.asarray(self.deficit_flag.fillna(False), dtype=bool)
        have_flag = ~np.asarray(self.deficit_flag.isna(), dtype=bool)
        if rule == "published_flag":
            use_flag, use_metrics = have_flag, np.zeros(self.n, bool)
        elif rule == "metrics":
            use_flag, use_metrics = np.zeros(self.n, bool), have_metrics
        else:
            use_flag, use_metrics = have_flag, ~have_flag & have_metrics
        d = np.where(use_flag, flag, np.where(use_metrics, from_metrics, False))
        src = np.where(use_flag, "published flag",
                       np.where(use_metrics, f"{method.settings['override']['planned_metric']}/"
                                f"{method.settings['override']['variance_metric']}", "no data"))
        return d, src


def unknown_metric_notes(inputs: Inputs) -> list[str]:
    """One line per Metric_ID the catalogue does not know: where it is first, how many rows (never
    dropped silently)."""
    if not inputs.unknown_metrics:
        return []
    m = inputs.metrics
    rows = m[m["metric_id"].isin(inputs.unknown_metrics)].drop_duplicates("metric_id").set_index("metric_id")
    counts = m["metric_id"].value_counts()
    out = []
    for mid in inputs.unknown_metrics:
        where = (f" ({rows.at[mid, 'source_file']}, first on row {int(rows.at[mid, 'source_row'])}; "
                 f"{int(counts[mid])} row{'s' if counts[mid] != 1 else ''})") if mid in rows.index else ""
        out.append(f"Metric_ID {mid}{where} is not in the metric catalogue: not scored "
                   "(describe it with --catalogue FILE)")
    return out


def _pivot(rows: pd.DataFrame, trusts: pd.Index, metric_ids: list[str], column: str) -> np.ndarray:
    out = np.full((len(trusts), len(metric_ids)), np.nan)
    if len(rows) == 0 or not metric_ids:
        return out
    ti = trusts.get_indexer(rows["trust_code"])
    mi = pd.Index(metric_ids).get_indexer(rows["metric_id"])
    ok = (ti >= 0) & (mi >= 0)
    out[ti[ok], mi[ok]] = rows[column].to_numpy(dtype=float)[ok]
    return out


def build_panel(inputs: Inputs, quarter: str, trust_type: str, *, catalogue=None,
                require_metrics: bool = True) -> Panel:
    """Arrange one quarter and trust type of the inputs as a :class:`Panel`.

    Raises :class:`InputError` when the trust type is not in the input, or a trust has no
    scored metric.
    """
    catalogue = catalogue if catalogue is not None else load_catalogue()
    m = inputs.metrics
    rows = rows_for(m, quarter, trust_type)
    lg = inputs.league
    lrows = rows_for(lg, quarter, trust_type)
    if len(rows) == 0:
        raise _no_rows(inputs, quarter, trust_type, "data files" if len(m) else "input")
    first = rows.drop_duplicates("trust_code").set_index("trust_code")
    trusts = first[["trust_name", "trust_subtype", "region", "source_file", "source_row"]].copy()
    trusts = trusts.sort_index()
    scored = metrics_for(catalogue, trust_type)
    present = set(rows["metric_id"])
    sid = score_id_map(catalogue)
    present_scored = {sid[x] for x in present if x in sid} | present
    for mid, prm in zip(scored["metric_id"], scored["rule_params"]):  # a derived score needs only its inputs
        if isinstance(prm, dict) and prm.get("planned_metric") in present:
            present_scored.add(mid)
    scored = scored[scored["metric_id"].isin(present_scored)]
    notes = []
    listed = set(metrics_for(catalogue, trust_type, scored_only=False)["metric_id"])  # once, not per metric
    other = sorted(x for x in present & set(catalogue["metric_id"]) if x not in listed)
    if other:
        notes.append(f"metrics not scored for {trust_type} trusts in the catalogue, ignored: {', '.join(other)}")
    notes += unknown_metric_notes(inputs)
    mids = list(scored["metric_id"])
    values = _pivot(rows, trusts.index, mids, "value")
    score_rows = rows[rows["metric_id"].isin(list(sid))].assign(
        metric_id=lambda d: d["metric_id"].map(sid))
    published = _pivot(score_rows, trusts.index, mids, "value")
    num = _pivot(rows, trusts.index, mids, "numerator") if "numerator" in rows else np.full_like(values, np.nan)
    den = _pivot(rows, trusts.index, mids, "denominator") if "denominator" in rows else np.full_like(values, np.nan)
    input_ids = list(metrics_for(catalogue, trust_type, scored_only=False).query("rule == 'input'")["metric_id"])
    inputs_arr = {k: _pivot(rows, trusts.index, [k], "value")[:, 0] for k in input_ids}
    rsp = _pivot(rows, trusts.index, [RSP_FLAG_ID], "value")[:, 0]
    results = _published_results(rows, trusts.index)
    flag_values = results[DEFICIT_FLAG_ID].to_numpy()
    flag = pd.array(np.where(np.isnan(flag_values), None, flag_values == 1), dtype="boolean")
    pub = None
    if len(lrows):
        pub = lrows.drop_duplicates("trust_code").set_index("trust_code").reindex(trusts.index)
        league_flag = pd.array(pub["in_deficit"].to_numpy(), dtype="boolean")
        flag = pd.array(np.where(np.asarray(league_flag.isna(), bool), flag, league_flag), dtype="boolean")
    ranks = _pivot(rows, trusts.index, mids, "published_rank") if "published_rank" in rows else None
    inv_sid = {v: k for k, v in sid.items()}
    pub_inputs = {k: _pivot(rows, trusts.index, [inv_sid[k]], "value")[:, 0] for k in input_ids if k in inv_sid}
    panel = Panel(quarter, trust_type, trusts, scored.copy(), values, published, num, den, inputs_arr,
                  flag, np.nan_to_num(rsp) == 1, pub, inputs.synthetic, notes, ranks=ranks,
                  published_inputs=pub_inputs, published_results=results,
                  input_params={k: catalogue.loc[k, "rule_params"] for k in input_ids})
    _attach_population(panel, inputs, quarter)
    if require_metrics:
        _check_scoreable(panel)
    return panel


RESULT_IDS = [ADJUSTED_SEGMENT_ID, AVERAGE_SCORE_ID, UNADJUSTED_SEGMENT_ID, DEFICIT_FLAG_ID, FINAL_SEGMENT_ID,
              *DOMAIN_SCORE_IDS.values(), *DOMAIN_SEGMENT_IDS.values()]


def _published_results(rows: pd.DataFrame, trusts: pd.Index) -> pd.DataFrame:
    """The data file's published results (OF5000/2/3/4/5, OF4xxx), one column each, NaN = none."""
    arr = _pivot(rows, trusts, RESULT_IDS, "value")
    return pd.DataFrame(arr, index=trusts, columns=RESULT_IDS)


def _attach_population(panel: Panel, inputs: Inputs, quarter: str) -> None:
    """Scoring populations: peers of other trust types, and published scores on their grid.

    A metric NHS England scores across several trust types (catalogue ``population``) is
    recomputed across them when the input holds every one of those types for the quarter
    (``peers``). Otherwise its population is incomplete: the published score is used where the
    file has one, put back on the rank grid it was rounded from (``published_unrounded``).
    """
    m = inputs.metrics
    mids = panel.metric_ids
    here = m[m["quarter"].isin([quarter, ""])] if len(m) else m
    held = set(here["trust_type"]) if len(here) else set()
    complete = np.ones(len(mids), bool)
    peer_types = set()
    for j, (_, row) in enumerate(panel.metrics.iterrows()):
        pop = population_of(row)
        if pop:
            complete[j] = set(pop) <= held
            if complete[j]:
                peer_types |= set(pop) - {panel.trust_type}
    panel.population_complete = complete
    peers = np.zeros((0, len(mids)))
    if peer_types:
        prow = here[here["trust_type"].isin(peer_types)]
        codes = pd.Index(sorted(set(prow["trust_code"])))
        peers = _pivot(prow, codes, mids, "value")
        types = prow.drop_duplicates("trust_code").set_index("trust_code").reindex(codes)["trust_type"]
        for j, (_, row) in enumerate(panel.metrics.iterrows()):  # a peer counts only for metrics scored with it
            own = set(population_of(row)) - {panel.trust_type}
            peers[~types.isin(own).to_numpy(), j] = np.nan
    panel.peers = peers
    std, flr = panel.rule_param_array
    unr = panel.published.copy()
    short = []
    for j in np.flatnonzero(~complete & (panel.metrics["rule"].to_numpy() == "continuous")):
        lo = 2.0 if not np.isnan(std[j]) else 1.0
        hi = 3.0 if not np.isnan(flr[j]) else 4.0
        unr[:, j], _ = unround_on_grid(panel.published[:, j], lo=lo, hi=hi)
        short.append(mids[j])
    panel.published_unrounded = unr
    panel.grid_metrics = short
    with_pub = [m for m in short if not np.isnan(panel.published[:, mids.index(m)]).all()]
    without = [m for m in short if m not in with_pub]
    if with_pub:
        panel.notes.append(
            f"{', '.join(with_pub)}: NHS England scores these across trust types and the input holds only part of "
            f"that population for {quarter}, so the published scores are used (give every trust type's data "
            "file to recompute them)")
    if without:
        panel.notes.append(
            f"{', '.join(without)}: NHS England scores these across trust types; the input holds only part of that "
            f"population for {quarter} and no published scores, so they are scored within the trust type "
            "(give every trust type's data file to score them as NHS England does)")


def _no_rows(inputs: Inputs, quarter: str, trust_type: str, where: str) -> InputError:
    """The error for a trust type absent from the input, saying which trust types it holds."""
    held = set()
    for t in (inputs.metrics, inputs.league):
        if len(t):
            held |= set(t.loc[t["quarter"].isin([quarter, ""]), "trust_type"]) - {""}
    msg = f"no {TRUST_TYPE_LABELS[trust_type].lower()} rows for {quarter} in the {where}"
    if held:
        msg += (f"; for {quarter} it holds {' and '.join(TRUST_TYPE_LABELS[x].lower() for x in sorted(held))} "
                "rows only (check --trust-type)")
    return InputError(msg, file=", ".join(sorted(inputs.files)) or None, column="Trust_type")


def _check_scoreable(panel: Panel) -> None:
    usable = ~np.isnan(panel.values) | ~np.isnan(panel.published)
    none = np.flatnonzero(~usable.any(axis=1))
    if len(none):
        code = panel.trusts.index[none[0]]
        t = panel.trusts.iloc[none[0]]
        raise InputError(f"trust {code} ({t['trust_name']}) has no scored metric in {panel.quarter}",
                         file=t["source_file"], row=int(t["source_row"]), column="Value")


def metric_scores(panel: Panel, method: Method, values=None) -> np.ndarray:
    """The 1-4 score of every trust on every metric, ``(..., n, m)``; NaN = not scored.

    Scores are unrounded (NHS England averages unrounded scores). With ``values`` None the
    point estimate ranks on the data file's ``Rank`` where it is complete (NHS England's own
    order of unrounded values); replicated ``values`` are ranked as given.

    Examples
    --------
    >>> from nhs_league.sensitivity import example_panel
    >>> from nhs_league.methods import load_method
    >>> sc = metric_scores(example_panel(20, seed=1), load_method("nof-2025-26"))
    >>> bool(np.nanmin(sc) >= 1 and np.nanmax(sc) <= 4)
    True
    """
    return _scores_and_source(panel, method, values)[0]


def _scores_and_source(panel: Panel, method: Method, values=None):
    """Scores ``(..., n, m)`` and where each came from: ``(n, m)`` True = the published score."""
    point = values is None
    v = panel.values if point else np.asarray(values, dtype=float)
    sc = method.settings["scoring"]
    rules = panel.metrics["rule"].to_numpy()
    out = np.full(v.shape, np.nan)
    n = panel.n
    cont = rules == "continuous"
    min_trusts = int(sc.get("min_trusts", 2))
    complete = panel.population_complete if panel.population_complete is not None else np.ones(len(rules), bool)
    peers = panel.peers if panel.peers is not None and panel.peers.size else None
    if cont.any():
        hib = panel.higher_is_better[cont]
        vv = v[..., cont]
        if peers is not None:  # the whole scoring population: this type's trusts, then the peers
            p = np.broadcast_to(peers[:, cont], vv.shape[:-2] + peers[:, cont].shape)
            vv = np.concatenate([vv, p], axis=-2)
        if sc["continuous"] == "rank":
            std, flr = panel.rule_param_array
            order = None
            if point and panel.ranks is not None and peers is None:
                r = panel.ranks[:, cont]
                full = np.all(np.isnan(r) == np.isnan(vv), axis=0)  # the file ranks every trust it scores
                order = np.where(full, r, np.where(panel.higher_is_better[cont], -vv, vv))
            res = bookend_scores(vv, hib, standard=std[cont], floor=flr[cont], order=order, min_trusts=min_trusts)
        else:
            res = CONTINUOUS_RULES[sc["continuous"]](vv, hib, min_trusts=min_trusts)
        out[..., cont] = res[..., :n, :]
    for j in np.flatnonzero(rules == "finance_position"):
        p = dict(panel.metrics["rule_params"].iloc[j])
        variance = panel.inputs.get(p.pop("variance_metric", "OF0081"), np.full(panel.n, np.nan))
        out[..., j] = finance_position_scores(v[..., j], variance, **p)
    for j in np.flatnonzero(rules == "finance_lookup"):
        out[..., j] = finance_parts(panel, j)[0]
    pub = sc["published_scores"]
    used = np.zeros((n, len(rules)), bool)
    if pub != "never":
        take = (rules == "published") if pub == "where_no_rule" else np.ones(len(rules), bool)
        take = take | (cont & ~complete)  # NHS England's population is not all in the input
        published = panel.published_unrounded if panel.published_unrounded is not None else panel.published
        as_published = [mid in set(sc.get("published_as_rounded") or ()) for mid in panel.metric_ids]
        published = np.where(np.array(as_published, bool), panel.published, published)
        used = take & ~np.isnan(published)
        out = np.where(used, published, out)
    return out, used


def finance_parts(panel: Panel, j: int):
    """(combined score, planned band score, variance band score) of finance_lookup metric ``j``."""
    p = panel.metrics["rule_params"].iloc[j]
    edges = {}
    for key in ("planned_metric", "variance_metric"):  # the inputs' band edges live on their own rows
        mid = p[key]
        edges[key] = (panel.input_params.get(mid) or {}).get("edges")
        if edges[key] is None:
            raise MethodError(f"catalogue: {mid} (an input of {panel.metric_ids[j]}) has no band edges")
    planned = panel.inputs.get(p["planned_metric"], np.full(panel.n, np.nan))
    variance = panel.inputs.get(p["variance_metric"], np.full(panel.n, np.nan))
    return finance_lookup_scores(planned, variance, planned_edges=edges["planned_metric"],
                                 variance_edges=edges["variance_metric"], table=p["table"])


def domain_weights(have: np.ndarray, domain_index: np.ndarray, weights, metric_ids) -> np.ndarray:
    """Per-trust metric weights for the average: per metric, per domain, or a user mapping."""
    if weights == "per_metric":
        return np.ones(have.shape[-1])
    if weights == "per_domain":
        onehot = np.eye(len(DOMAINS))[domain_index]  # (m, 5)
        counts = have.astype(float) @ onehot  # (..., n, 5)
        with np.errstate(divide="ignore"):
            return np.where(have, 1.0 / counts[..., domain_index], 0.0)
    w = np.array([float(weights.get(mid, 1.0)) for mid in metric_ids])
    unknown = set(weights) - set(metric_ids)
    if unknown:
        raise MethodError(f"average.weights names metric(s) not in this table: {sorted(unknown)}")
    return w


def classify(average, in_deficit, intensive_support, method: Method) -> dict:
    """Raw segment, adjusted segment and rank from (rounded) averages; trusts on the last axis.

    Examples
    --------
    >>> from nhs_league.methods import load_method
    >>> r = classify(np.array([2.0, 2.3, 2.9, 2.1]), np.array([False, True, False, False]),
    ...              np.zeros(4, bool), load_method("nof-2025-26"))
    >>> r["raw_segment"].tolist(), r["segment"].tolist(), r["rank"].tolist()
    ([1, 2, 4, 2], [1, 3, 4, 2], [1, 3, 4, 2])
    """
    s = method.settings
    avg = round_scores(average, method.decimals, s["average"]["rounding"])
    seg_s = s["segmentation"]
    if seg_s["rule"] == "thresholds":  # a 2026/27 preset not yet given its thresholds (methods.resolve_for)
        raise method.unresolved_error()
    if seg_s["rule"] == "cutoffs":
        raw = cutoff_segments(avg, method.cutoffs)
    else:
        raw = quartile_segments(avg, method=seg_s["quantile_method"], boundary=seg_s["boundary"])
    adj = apply_override(raw, in_deficit, cap=int(s["override"]["cap"]), enabled=bool(s["override"]["enabled"]))
    seg5_src = s["segment5"]["source"]
    final = apply_segment5(adj, intensive_support) if seg5_src != "none" else adj
    place = s["segment5"]["in_league_table"]
    if place == "as_scored":  # the league shows segments 1-4; segment 5 is reported beside it [D]
        ranked = adj
    else:
        adj = final
        ranked = adj if place == "last" else np.where(adj == 5, 0, adj)
    rank = league_ranks(ranked, avg, decimals=method.decimals)
    return {"average_2dp": avg, "raw_segment": raw, "segment": adj, "final_segment": final, "rank": rank}


def compute(panel: Panel, method: Method, values=None, *, scores=None) -> dict:
    """Run the whole NOF pipeline on a panel; vectorised over leading axes of ``values``.

    Returns a dict of arrays: ``scores`` (..., n, m), ``average`` (unrounded), ``average_2dp``,
    ``raw_segment``, ``segment``, ``rank``, ``domain_scores`` and ``domain_segments``
    (..., n, 5), ``in_deficit``.

    Examples
    --------
    >>> from nhs_league.sensitivity import example_panel
    >>> from nhs_league.methods import load_method
    >>> p = example_panel(15, seed=0)
    >>> replicated = np.stack([p.values, p.values * 1.01])  # two replicates at once
    >>> compute(p, load_method("nof-2025-26"), replicated)["rank"].shape
    (2, 15)
    """
    s = method.settings
    sc = metric_scores(panel, method, values) if scores is None else scores
    have = ~np.isnan(sc)
    w = domain_weights(have, panel.domain_index, s["average"]["weights"], panel.metric_ids)
    avg = aggregate_scores(sc, weights=w, aggregation=s["average"]["aggregation"],
                           trim=float(s["average"].get("trim", 0.1)))
    deficit, _ = panel.deficit(method)
    seg5 = panel.intensive_support if s["segment5"]["source"] == "flag" else np.isin(
        panel.trusts.index, list(s["segment5"].get("trusts") or []))
    out = classify(avg, deficit, seg5, method)
    dom = domain_scores(sc, panel.domain_index)
    out.update(scores=sc, average=avg, in_deficit=deficit, intensive_support=seg5,
               domain_scores=dom, domain_segments=domain_segments(dom, method))
    return out


def domain_segments(domain_score_array, method: Method) -> np.ndarray:
    """Domain segments 1-4 from domain scores ``(..., n, 5)`` by the method's per-domain cut-offs.

    Each domain score is rounded as the average is (2 dp) and compared with that domain's
    cut-offs; 0 where the trust has no score in the domain.

    >>> from nhs_league.methods import load_method
    >>> d = np.array([[1.91, 1.92, 2.10, np.nan, 3.99]])
    >>> domain_segments(d, load_method("nof-2025-26")).tolist()
    [[1, 2, 1, 0, 4]]
    """
    s = method.settings["average"]
    rounded = round_scores(domain_score_array, method.decimals, s["rounding"])
    cuts = method.domain_cutoffs
    return np.stack([cutoff_segments(rounded[..., k], cuts[d]) for k, d in enumerate(DOMAINS)], axis=-1)


def domain_scores(scores, domain_index) -> np.ndarray:
    """Mean metric score in each of the five domains, ``(..., n, 5)`` (NaN where no metric).

    Examples
    --------
    >>> domain_scores(np.array([[1.0, 3.0, np.nan]]), np.array([0, 0, 4])).tolist()
    [[2.0, nan, nan, nan, nan]]
    """
    onehot = np.eye(len(DOMAINS))[domain_index]
    have = ~np.isnan(scores)
    total = np.where(have, scores, 0.0) @ onehot
    count = have.astype(float) @ onehot
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def league_table(panel: Panel, method: Method, result: dict | None = None) -> pd.DataFrame:
    """The league table of one quarter and trust type, in rank order, as published columns.

    Examples
    --------
    >>> from nhs_league.sensitivity import example_panel
    >>> from nhs_league.methods import load_method
    >>> t = league_table(example_panel(12, seed=3), load_method("nof-2025-26"))
    >>> t["Rank"].is_monotonic_increasing, t["Data"].iloc[0], t["Method"].iloc[0].startswith("nof-2025-26 (")
    (True, 'SYNTHETIC', True)
    """
    r = compute(panel, method) if result is None else result
    deficit, source = panel.deficit(method)
    n_metrics = (~np.isnan(r["scores"])).sum(axis=-1)
    t = pd.DataFrame({
        "Quarter": panel.quarter,
        "Trust_code": panel.trusts.index.to_numpy(),
        "Trust_name": panel.trusts["trust_name"].to_numpy(),
        "Trust_type": TRUST_TYPE_LABELS[panel.trust_type],
        "Trust_subtype": panel.trusts["trust_subtype"].to_numpy(),
        "Region": panel.trusts["region"].to_numpy(),
        "N_metrics": n_metrics.astype(np.int64),
        "Average_score_unrounded": np.round(r["average"], 6),
        "Average_score": r["average_2dp"],
        "Raw_segment": r["raw_segment"],
        "Trust_in_financial_deficit": np.where(deficit, "Yes", "No"),
        "Deficit_source": source,
        "Segment": r["segment"],
        "Final_segment": r["final_segment"],
        "Rank": r["rank"],
    })
    for k, d in enumerate(DOMAINS):
        t[f"Domain_score_{d}"] = round_scores(r["domain_scores"][:, k], method.decimals,
                                              method.settings["average"]["rounding"])
    for k, d in enumerate(DOMAINS):
        t[f"Domain_segment_{d}"] = r["domain_segments"][:, k]
    _add_published(t, panel.published_league)
    return _finish(t, method, panel.synthetic)


def _add_published(t: pd.DataFrame, pub: pd.DataFrame | None) -> None:
    if pub is None:
        return
    pub = pub.reindex(t["Trust_code"])
    t["Published_average_score"] = pub["average_score"].to_numpy(dtype=float)
    t["Published_segment"] = pd.array(pub["segment"].to_numpy(), dtype="Int64")
    t["Published_rank"] = pd.array(pub["rank"].to_numpy(), dtype="Int64")


def _finish(t: pd.DataFrame, method: Method, synthetic: bool) -> pd.DataFrame:
    t["Method"] = method.label
    t["Data"] = DATA_LABEL[bool(synthetic)]
    in_table = t["Rank"] > 0
    return (pd.concat([t[in_table].sort_values(["Rank", "Trust_code"], kind="stable"),
                       t[~in_table].sort_values("Trust_code")])
            .reset_index(drop=True))


def league_table_from_published(inputs: Inputs, quarter: str, trust_type: str, method: Method) -> pd.DataFrame:
    """Second route: re-derive raw segment, override and ranks from a league-table file.

    Uses the published ``Average_score`` and ``Trust_in_financial_deficit``; ``Segment``,
    ``Rank`` and the likely ranges may be absent or blank. A missing deficit flag counts as
    not in deficit, and says so in ``Deficit_source``.
    """
    lg = inputs.league
    rows = rows_for(lg, quarter, trust_type)
    if len(rows) == 0:
        raise _no_rows(inputs, quarter, trust_type, "league-table files" if len(lg) else "input")
    rows = rows.sort_values("trust_code").reset_index(drop=True)
    for i in np.flatnonzero(rows["average_score"].isna().to_numpy()):
        raise InputError("average score is missing", file=rows["source_file"].iloc[i],
                         row=int(rows["source_row"].iloc[i]), column="Average_score")
    flag = pd.array(rows["in_deficit"], dtype="boolean")
    deficit = np.asarray(flag.fillna(False), dtype=bool)
    published_seg = pd.array(rows["segment"], dtype="Int64")
    seg5 = np.asarray((published_seg == 5).fillna(False), dtype=bool)
    if method.settings["segment5"]["source"] == "list":
        seg5 = rows["trust_code"].isin(list(method.settings["segment5"].get("trusts") or [])).to_numpy()
    r = classify(rows["average_score"].to_numpy(dtype=float), deficit, seg5, method)
    t = pd.DataFrame({
        "Quarter": quarter,
        "Trust_code": rows["trust_code"].to_numpy(),
        "Trust_name": rows["trust_name"].to_numpy(),
        "Trust_type": TRUST_TYPE_LABELS[trust_type],
        "Trust_subtype": rows["trust_subtype"].to_numpy(),
        "Region": rows["region"].to_numpy(),
        "Average_score": r["average_2dp"],
        "Raw_segment": r["raw_segment"],
        "Trust_in_financial_deficit": np.where(deficit, "Yes", "No"),
        "Deficit_source": np.where(np.asarray(flag.isna(), bool), "no data", "published flag"),
        "Segment": r["segment"],
        "Rank": r["rank"],
        "Published_segment": published_seg,
        "Published_rank": pd.array(rows["rank"], dtype="Int64"),
        "Likely_range_average_low": rows["average_range_low"].to_numpy(dtype=float),
        "Likely_range_average_high": rows["average_range_high"].to_numpy(dtype=float),
        "Likely_range_rank_low": pd.array(rows["rank_range_low"], dtype="Int64"),
        "Likely_range_rank_high": pd.array(rows["rank_range_high"], dtype="Int64"),
    })
    return _finish(t, method, inputs.synthetic)


def scoring_report(panel: Panel, method: Method) -> pd.DataFrame:
    """Per metric: how many scores were recomputed, how many taken as published, and agreement.

    Columns: metric_id, rule, n_values, n_recomputed, n_published_used, n_both,
    max_abs_difference, share_within_0_01 (of the trusts with both a recomputed and a
    published score).
    """
    final = metric_scores(panel, method)
    recomputed = metric_scores(panel, method.replace(scoring={"published_scores": "never"}))
    rules = panel.metrics["rule"].to_numpy()
    used_pub = ~np.isnan(panel.published) & np.isclose(final, panel.published, equal_nan=False) & (
        (rules == "published") | (method.settings["scoring"]["published_scores"] == "prefer_published"))
    both = ~np.isnan(recomputed) & ~np.isnan(panel.published)
    diff = np.abs(recomputed - panel.published)
    with np.errstate(invalid="ignore"):
        rows = {
            "metric_id": panel.metric_ids,
            "rule": rules,
            "n_values": (~np.isnan(panel.values)).sum(0),
            "n_recomputed": (~np.isnan(final) & ~used_pub).sum(0),
            "n_published_used": used_pub.sum(0),
            "n_both": both.sum(0),
            "max_abs_difference": np.where(both.any(0), np.nanmax(np.where(both, diff, np.nan), axis=0,
                                                                  initial=-np.inf, where=both), np.nan),
            "share_within_0_01": np.where(both.any(0), (both & (diff <= 0.01 + 1e-9)).sum(0) / np.maximum(both.sum(0), 1),
                                          np.nan),
        }
    return pd.DataFrame(rows)

