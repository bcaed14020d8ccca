"""The notebook side: :class:`ReportContext` and :func:`prepare`, what every report notebook starts with."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from .. import orgtypes
from ..errors import InputError
from ..io import TRUST_TYPE_LABELS, Inputs, select_quarter
from ..methods import Method, default_method_for, load_method, resolve_for
from ..quarters import Quarter

from ._common import _LABEL_ATTR
from .parameters import _is_int, validate_values
from .inputs import capabilities, load_inputs


# ======================================================================================
# The notebook side
# ======================================================================================
@dataclass
class ReportContext:
    """Validated parameters and the inputs of one report (what a notebook works on)."""

    quarter: str
    trust_type: str
    paths: list
    inputs: Inputs
    method: Method
    seed: int = 0
    coverage: float = 0.95
    draws: int = 500
    extra: dict = field(default_factory=dict)
    method_requested: str = ""

    @property
    def synthetic(self) -> bool:
        return bool(self.inputs.synthetic)

    @property
    def label(self) -> str:
        """``"SYNTHETIC"`` or ``"real"`` (the ``Data`` column of the tables)."""
        return "SYNTHETIC" if self.synthetic else "real"

    @property
    def quarter_label(self) -> str:
        return Quarter.parse(self.quarter).label

    @property
    def trust_type_label(self) -> str:
        return TRUST_TYPE_LABELS[self.trust_type]

    @cached_property
    def capabilities(self) -> set[str]:
        return capabilities(self.inputs, self.quarter, self.trust_type)

    @property
    def has_metric_scores(self) -> bool:
        return "metric_scores" in self.capabilities

    @cached_property
    def panel(self):
        """The :class:`~nhs_league.pipeline.Panel` (metric-level data only)."""
        from ..pipeline import build_panel

        if not self.has_metric_scores:
            raise InputError(f"the inputs hold no metric-level data for {self.trust_type} trusts in "
                             f"{self.quarter}: this analysis needs a NOF data file", column="data")
        return build_panel(self.inputs, self.quarter, self.trust_type)

    def panel_for(self, quarter: str):
        """The panel of another quarter of the same inputs and trust type."""
        from ..pipeline import build_panel

        return build_panel(self.inputs, Quarter.parse(quarter).code, self.trust_type)

    @cached_property
    def result(self) -> dict:
        """``pipeline.compute`` on the panel with the method."""
        from ..pipeline import compute

        return compute(self.panel, self.method)

    @cached_property
    def table(self) -> pd.DataFrame:
        """The league table: a full recompute from metric data, else re-derived from the
        published averages and deficit flags of a league-table file."""
        from ..pipeline import league_table, league_table_from_published

        if self.has_metric_scores:
            return league_table(self.panel, self.method, self.result)
        if "table" not in self.capabilities:
            raise InputError(f"no {self.trust_type} rows for {self.quarter} in the inputs", column="data")
        return league_table_from_published(self.inputs, self.quarter, self.trust_type, self.method)

    @property
    def names(self) -> pd.Series:
        """Trust names by trust code."""
        return self.table.set_index("Trust_code")["Trust_name"]

    def coverage_note(self) -> str:
        """What the input lacks, said where it shows: fewer trusts than NHS England scores."""
        from .. import orgtypes

        try:
            expected = orgtypes.load()[self.trust_type].count
        except KeyError:
            expected = None
        try:
            n = len(self.table)
        except InputError:
            return ""
        if not expected or n >= expected:
            return ""
        return (f"{n} of the {expected} {TRUST_TYPE_LABELS[self.trust_type].lower()}s NHS England scores are in "
                f"this input: {expected - n} are absent, so recomputed ranks run to {n}, not {expected}, and every "
                "figure here is among these {n} only.").replace("{n}", str(n))

    def banner(self):
        """What the report is about: data label, quarter, trust type, method, files (escaped HTML)."""
        from ..charts import HTMLFragment, OKABE_ITO

        if self.synthetic:
            head = ("SYNTHETIC DATA — every figure in this report is computed from the project's "
                    "synthetic year. The trusts, names and values are made up; nothing here is about a "
                    "real NHS trust.")
            style = "background:#fff3cd;border:2px solid #000;"
        else:
            source = (self.inputs.metrics.attrs.get("source") or self.inputs.league.attrs.get("source")
                      or "published by NHS England, official files, Open Government Licence v3.0")
            head = f"REAL DATA — {source}."
            style = f"background:#eef5fb;border:2px solid {OKABE_ITO['blue']};"
        hashes = {Path(k).name: v for k, v in self.inputs.files.items()}
        files = "".join(
            f"<li>{html.escape(Path(p).name)}"
            + (f" — SHA-256 <code>{html.escape(hashes[Path(p).name])}</code>" if Path(p).name in hashes else "")
            + "</li>" for p in self.paths)
        rows = [("Quarter", f"{self.quarter_label} ({self.quarter})"), ("Trust type", self.trust_type_label),
                ("Method preset", f"{self.method.label}; full fingerprint {self.method.fingerprint()}"),
                ("Seed", str(self.seed)), ("Coverage", f"{self.coverage:.0%}"), ("Draws", str(self.draws))]
        rows += [(k.replace("_", " ").capitalize(), str(v) if v != "" else "(default)") for k, v in self.extra.items()]
        gap = self.coverage_note()
        if gap:
            rows.append(("Coverage", gap))
        table = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                        for k, v in rows)
        if self.method.provisional:  # 2026/27 thresholds not published: stand-in cut-offs
            head += (f" PROVISIONAL — segments use stand-in cut-offs "
                     f"{' / '.join(f'{c:g}' for c in self.method.cutoffs)} because NHS England has not "
                     f"published the segment thresholds for this organisation type.")
        text = f"{head}\n" + "\n".join(f"{k}: {v}" for k, v in rows)
        return HTMLFragment(f'<div class="nhs-banner" {_LABEL_ATTR}="{self.label}" '
                            f'style="{style}padding:8px;margin:6px 0">'
                            f"<p><strong>{html.escape(head)}</strong></p><table>{table}</table>"
                            f"<p>Input files:</p><ul>{files}</ul></div>", text)


def prepare(*, quarter, trust_type, data=(), method="", seed=0, coverage=0.95, draws=500, **extra) -> ReportContext:
    """Validate a notebook's parameters and read its inputs (the notebooks' second cell).

    Parameters
    ----------
    quarter : str
        Quarter code or label (``2025Q3``, ``Q3 2025/26``).
    trust_type : str
        ``acute``, ``mental-health-and-community`` (alias ``non-acute``) or ``ambulance``.
    data : list of str
        Input files (data files and/or league-table files, or the real-data extract);
        empty = the committed synthetic year.
    method : str
        Method preset name or YAML file; empty = NHS England's preset for the quarter.
    seed, coverage, draws
        Random seed, confidence level and number of replicates.
    **extra
        Other notebook parameters (shown in the banner, validated where known).

    Returns
    -------
    ReportContext

    Examples
    --------
    >>> ctx = prepare(quarter="2025Q4", trust_type="acute", data=[])  # doctest: +SKIP
    >>> ctx.label  # doctest: +SKIP
    'SYNTHETIC'
    """
    for name, value, kind in [("quarter", quarter, str), ("trust_type", trust_type, str), ("method", method, str)]:
        if not isinstance(value, kind):
            raise InputError(f"parameter {name!r} must be text, got {value!r}", column=name)
    if isinstance(seed, bool) or not _is_int(seed):
        raise InputError(f"parameter 'seed' must be a whole number, got {seed!r}", column="seed")
    if isinstance(draws, bool) or not _is_int(draws):
        raise InputError(f"parameter 'draws' must be a whole number, got {draws!r}", column="draws")
    if isinstance(coverage, bool) or not isinstance(coverage, (int, float)):
        raise InputError(f"parameter 'coverage' must be a number, got {coverage!r}", column="coverage")
    v = validate_values({"quarter": quarter, "trust_type": trust_type, "data": list(data), "method": method,
                         "seed": seed, "coverage": coverage, "draws": draws, **extra})
    paths = [Path(p) for p in v["data"]]
    inputs = load_inputs(paths)
    q = select_quarter(inputs, v["quarter"])
    # a thresholds preset (nof-2026-27) takes the type's thresholds; unpublished ones are an error here
    m = resolve_for(load_method(method) if method else default_method_for(q), v["trust_type"])
    extra_out = {k: v[k] for k in extra}
    return ReportContext(q, v["trust_type"], paths, inputs, m, int(seed), float(coverage), int(draws), extra_out,
                         method)


def override_effect(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The financial override in numbers: trusts per segment before/after, and who was capped.

    Parameters
    ----------
    table : pandas.DataFrame
        A league table (columns ``Raw_segment``, ``Segment``, ``Trust_code``, ``Trust_name``,
        ``Average_score``, ``Trust_in_financial_deficit``).

    Returns
    -------
    counts : pandas.DataFrame
        Indexed by segment 1-4 (and 5 if any), columns ``raw`` and ``adjusted``.
    capped : pandas.DataFrame
        The trusts whose segment the override changed, in league order.

    Examples
    --------
    >>> t = pd.DataFrame({"Trust_code": ["A", "B"], "Trust_name": ["a", "b"], "Average_score": [2.0, 2.5],
    ...                   "Raw_segment": [1, 3], "Segment": [3, 3], "Trust_in_financial_deficit": ["Yes", "No"],
    ...                   "Rank": [1, 1]})
    >>> override_effect(t)[0].loc[[1, 3]].to_dict("index")
    {1: {'raw': 1, 'adjusted': 0}, 3: {'raw': 1, 'adjusted': 2}}
    """
    segs = sorted(set(range(1, 5)) | set(pd.unique(table["Segment"])) - {0})
    counts = pd.DataFrame({
        "raw": table["Raw_segment"].value_counts().reindex(segs, fill_value=0).astype(np.int64),
        "adjusted": table["Segment"].value_counts().reindex(segs, fill_value=0).astype(np.int64),
    })
    counts.index.name = "segment"
    moved = table["Raw_segment"].to_numpy() != table["Segment"].to_numpy()
    moved &= table["Segment"].to_numpy() != 5
    cols = [c for c in ["Rank", "Trust_code", "Trust_name", "Average_score", "Trust_in_financial_deficit",
                        "Raw_segment", "Segment"] if c in table.columns]
    return counts, table.loc[moved, cols].reset_index(drop=True)


def median_trust(table: pd.DataFrame) -> str:
    """The trust code at the middle of the league order (ranked trusts only).

    Examples
    --------
    >>> median_trust(pd.DataFrame({"Trust_code": ["A", "B", "C"], "Rank": [1, 2, 3]}))
    'B'
    """
    ranked = table[table["Rank"] > 0].sort_values(["Rank", "Trust_code"], kind="stable")
    if not len(ranked):
        raise InputError("no ranked trust to pick a median from", column="trust_code")
    return str(ranked["Trust_code"].iloc[(len(ranked) - 1) // 2])
