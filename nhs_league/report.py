"""The report builder behind ``nhs-league report``, and what the report notebooks call.

Two halves:

**The runner.** :func:`plan_suite` (the default suite of ``nhs_league/data/reports.yaml``) or
:func:`plan_for_data` (files given on the command line) turns a request into :class:`Job` s:
one notebook template with one parameter set. :func:`build` then

1. validates every job's parameters: types (against the literals in the notebook's
   ``parameters`` cell, read with :func:`papermill.inspect_notebook`; an unknown parameter is
   an error, not papermill's warning), the quarter parses, the trust type is known, the data
   files exist, the method preset loads;
2. checks every target (HTML report and its manifest) before running anything: an existing
   report is never overwritten without ``force``;
3. makes sure a Jupyter kernel that runs *this* interpreter is installed (:func:`ensure_kernel`);
4. executes the notebooks with papermill, in parallel (one thread per job drives its own kernel
   process; ``jobs`` at once), each with an explicit kernel, working folder and per-cell
   timeout; executed notebooks are kept in ``build/`` (ignored by git);
5. converts each executed notebook to HTML without code cells or prompts (nbconvert), writes it
   atomically to ``reports/<quarter>/<trust type>/<name>.html`` with ``<name>.manifest.json``
   beside it (package version, git commit, parameters, input-file SHA-256s, method preset,
   time, Python/pandas/numpy versions), and rewrites ``reports/index.html``.

A failing cell stops that notebook only; :func:`build` returns the failures, and the command
prints one line per failure (notebook, cell, error, where the executed notebook was kept)
and exits 2.

**The notebook side.** Every notebook's second cell calls :func:`prepare` with its
parameters: the same checks as the runner, then the inputs are read and a
:class:`ReportContext` gives the panel, the league table and the SYNTHETIC/real banner.

Paths are anchored on the package (``Path(__file__)``), never on the working directory.

Examples
--------
>>> jobs = plan_suite()  # doctest: +SKIP
>>> build(jobs, force=True)  # doctest: +SKIP
"""

from __future__ import annotations

import ast
import datetime as _dt
import hashlib
import html
import json
import os
import platform
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__, orgtypes
from .errors import InputError, MethodError
from .files import OutputExistsError, atomic_write_bytes, atomic_write_text
from .guards import MAX_RANK
from .limits import MAX_DRAWS, MAX_SCENARIOS, MAX_SOBOL_N, check_memory, ranks_bytes, sensitivity_bytes
from .io import (TRUST_TYPE_LABELS, Inputs, file_sha256, parse_trust_type,
                 read_inputs, rows_for, select_quarter)
from .methods import Method, default_method_for, load_method, read_yaml, resolve_for
from .quarters import Quarter

PACKAGE_DIR = Path(__file__).resolve().parent
ROOT = PACKAGE_DIR.parent
NOTEBOOK_DIR = ROOT / "notebooks"
SUITE_FILE = PACKAGE_DIR / "data" / "reports.yaml"
REPORTS_DIR = ROOT / "reports"
BUILD_DIR = ROOT / "build" / "notebooks"
SYNTHETIC_DIR = ROOT / "data" / "synthetic" / "2025-26"
KERNEL_NAME = "nhs-league"
CELL_TIMEOUT = 600  # seconds per cell
MAX_CELL_TIMEOUT = 24 * 3600  # the largest --timeout accepted
START_TIMEOUT = 120  # seconds for a kernel to start
TRUST_TYPES = tuple(TRUST_TYPE_LABELS)
#: Sources of the intervals a notebook can ask for (see nhs_league.uncertainty).
UNCERTAINTY_SOURCES = ("metrics", "metrics-jackknife", "sampling", "nhse")
#: The banner's attribute that tells the runner what the notebook read: SYNTHETIC or real data.
_LABEL_ATTR = "data-nhs-data"
_LABEL_IN_PAGE = re.compile(_LABEL_ATTR + r'="(SYNTHETIC|real)"')
#: What a report says where the inputs cannot support an interval.
NO_METRIC_SCORES = (
    "These inputs hold no per-metric scores (a league-table file, or the real Q3 2025/26 extract, "
    "which keeps only published averages, segments, domain scores and a few raw values). The "
    "metric-basket bootstrap needs each trust's metric scores, so no interval is shown here rather "
    "than an invented one.")

__all__ = [
    "Job", "JobResult", "ReportContext", "prepare", "plan_suite", "plan_for_data", "build",
    "check_parameters", "validate_values", "ensure_kernel", "notebook_parameters", "manifest",
    "write_index", "resolve_data", "synthetic_files", "override_effect", "median_trust",
    "load_inputs", "capabilities", "load_suite", "export_html", "label_of", "PAPERMILL_OPTIONS",
    "funnel_summary", "proportion_metrics",
]


# ======================================================================================
# Parameters: one set of checks for the runner and the notebooks
# ======================================================================================
def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _check_type(name: str, value, default, *, where=None):
    """``value`` must have the type of the notebook's default literal (int counts as float)."""
    if default is None:
        return value
    if isinstance(default, bool):
        ok = isinstance(value, bool)
        want = "true or false"
    elif isinstance(default, int):
        ok = _is_int(value)
        want = "a whole number"
    elif isinstance(default, float):
        ok = _is_int(value) or isinstance(value, (float, np.floating))
        want = "a number"
    elif isinstance(default, str):
        ok = isinstance(value, str)
        want = "text (in quotes in YAML, e.g. '2025Q3')"
    elif isinstance(default, (list, tuple)):
        ok = isinstance(value, (list, tuple)) and all(isinstance(x, (str, os.PathLike)) for x in value)
        want = "a list of text items"
    else:  # pragma: no cover - notebooks use only the literal types above
        ok = True
        want = type(default).__name__
    if not ok:
        raise InputError(f"parameter {name!r} must be {want}, got {value!r} ({type(value).__name__})",
                         file=where, column=name)
    if isinstance(default, float) and _is_int(value):
        return float(value)
    if isinstance(default, (list, tuple)):
        return [str(x) for x in value]
    return value


def coerce_text(name: str, text: str, default):
    """A ``KEY=VALUE`` value from the command line, converted to the type of the default.

    This is what avoids papermill's trap where ``-p quarter 2024`` arrives as an int: the
    notebook's default says ``quarter`` is text, so the value stays text.

    Examples
    --------
    >>> coerce_text("quarter", "2024", "2025Q3"), coerce_text("draws", "200", 500)
    ('2024', 200)
    >>> coerce_text("data", "a.csv,b.csv", [])
    ['a.csv', 'b.csv']
    """
    try:
        if isinstance(default, bool):
            low = text.strip().lower()
            if low not in ("true", "false", "yes", "no", "1", "0"):
                raise ValueError(text)
            return low in ("true", "yes", "1")
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
        if isinstance(default, (list, tuple)):
            return [x.strip() for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputError(f"parameter {name!r}: cannot read {text!r} as {type(default).__name__}",
                         column=name) from None
    return text


def validate_values(params: dict, *, where=None) -> dict:
    """Check the meaning of the common parameters; returns them normalised.

    Checks: ``quarter`` parses (returned as a code such as ``2025Q3``), ``previous_quarter``
    is blank or parses, ``trust_type`` is known, every ``data`` file exists (returned as
    absolute paths; an empty list means the committed synthetic year), ``method`` is blank
    or a preset that loads, ``seed`` >= 0, ``coverage`` in (0, 1), ``draws`` >= 1,
    ``tau`` >= 1, ``scenarios`` >= 1, ``sobol_n_base`` a power of 2, ``funnel_panels`` >= 0.

    Examples
    --------
    >>> validate_values({"quarter": "Q3 2025/26", "trust_type": "non-acute"})
    {'quarter': '2025Q3', 'trust_type': 'mental-health-and-community'}
    """
    out = dict(params)
    for key in ("quarter", "previous_quarter"):
        if key in out and not (key == "previous_quarter" and out[key] in ("", None)):
            try:
                out[key] = Quarter.parse(out[key]).code
            except ValueError as exc:
                raise InputError(str(exc), file=where, column=key) from None
    if "trust_type" in out:
        try:
            out["trust_type"] = parse_trust_type(out["trust_type"])
        except InputError as exc:
            raise InputError(exc.message, file=where, column="trust_type") from None
    if "data" in out:
        out["data"] = [str(p) for p in resolve_data(out["data"], where=where)]
    if out.get("method"):
        try:
            load_method(out["method"])
        except MethodError as exc:
            raise InputError(str(exc), file=where, column="method") from None
    if "uncertainty" in out and out["uncertainty"] not in UNCERTAINTY_SOURCES:
        raise InputError(f"parameter 'uncertainty' must be one of {list(UNCERTAINTY_SOURCES)}, got "
                         f"{out['uncertainty']!r}", file=where, column="uncertainty")
    checks = {"seed": lambda v: 0 <= v < 2 ** 63, "coverage": lambda v: 0 < v < 1,
              "draws": lambda v: 1 <= v <= MAX_DRAWS, "tau": lambda v: 1 <= v <= MAX_RANK,
              "scenarios": lambda v: 1 <= v <= MAX_SCENARIOS,
              "sobol_n_base": lambda v: 2 <= v <= MAX_SOBOL_N and (v & (v - 1)) == 0,
              "funnel_panels": lambda v: 0 <= v <= 100}
    words = {"seed": "must be 0 or more (and below 2**63)", "coverage": "must be between 0 and 1 (e.g. 0.95)",
             "draws": f"must be from 1 to {MAX_DRAWS:,}", "tau": f"must be from 1 to {MAX_RANK}",
             "scenarios": f"must be from 1 to {MAX_SCENARIOS:,}",
             "sobol_n_base": f"must be a power of 2 (e.g. 256), at most {MAX_SOBOL_N:,}",
             "funnel_panels": "must be from 0 to 100"}
    for key, ok in checks.items():
        if key in out and not ok(out[key]):
            raise InputError(f"parameter {key!r} {words[key]}, got {out[key]!r}", file=where, column=key)
    return out


def notebook_parameters(notebook) -> dict:
    """The parameters a notebook declares: ``{name: default value}`` (literals evaluated).

    Uses :func:`papermill.inspect_notebook` on the cell tagged ``parameters``.
    """
    import papermill

    path = Path(notebook)
    if not path.exists():
        raise InputError("notebook not found", file=path)
    spec = papermill.inspect_notebook(papermill_path(path))
    out = {}
    for name, info in spec.items():
        try:
            out[name] = ast.literal_eval(info["default"])
        except (ValueError, SyntaxError):
            raise InputError(f"the default of parameter {name!r} is not a plain literal: {info['default']!r}",
                             file=path, column=name) from None
    if not out:
        raise InputError("the notebook has no cell tagged 'parameters'", file=path)
    missed = sorted(_assigned_names(path) - set(out))
    if missed:
        raise InputError(f"papermill cannot read the parameter line(s) of {missed} (one plain literal per line; "
                         "no '=' inside the comment)", file=path, column=missed[0])
    return out


def _assigned_names(path: Path) -> set[str]:
    """Names assigned in the notebook's ``parameters`` cell, as Python itself reads it."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    names = set()
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            for node in ast.parse(cell.source).body:
                if isinstance(node, (ast.Assign, ast.AnnAssign)):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def check_parameters(notebook, params: dict, *, declared: dict | None = None) -> dict:
    """Validate ``params`` for ``notebook``: every name declared, types as the defaults, values sound.

    Raises :class:`InputError` naming the notebook and the parameter. Returns the
    normalised parameters (see :func:`validate_values`).
    """
    declared = notebook_parameters(notebook) if declared is None else declared
    name = Path(notebook).stem
    unknown = sorted(set(params) - set(declared))
    if unknown:
        raise InputError(f"unknown parameter(s) {unknown} for notebook {name}; it declares "
                         f"{sorted(declared)}", file=notebook, column=unknown[0])
    checked = {k: _check_type(k, v, declared[k], where=notebook) for k, v in params.items()}
    return validate_values(checked, where=notebook)


# ======================================================================================
# Data
# ======================================================================================
def synthetic_files(root=None) -> list[Path]:
    """The committed synthetic 2025/26 year: every CSV under ``data/synthetic/2025-26/``.

    Raises :class:`InputError` when it has not been generated (``nhs-league synth``).
    """
    d = Path(root) if root is not None else SYNTHETIC_DIR
    files = sorted(p for p in d.rglob("*.csv") if p.is_file()) if d.is_dir() else []
    if not files:
        raise InputError("the synthetic year is not there: run `nhs-league synth` first", file=d)
    return files


def resolve_data(data, *, where=None) -> list[Path]:
    """Input paths as absolute paths; folders expand to the CSV files under them.

    An empty list means the committed synthetic year; relative paths are taken from the
    project folder (not the working directory). A missing file is an :class:`InputError`.
    """
    if isinstance(data, (str, os.PathLike)):
        data = [data]
    if not data:
        return synthetic_files()
    out = []
    for item in data:
        p = Path(item).expanduser()
        if not p.is_absolute():
            p = ROOT / p  # anchored on the project folder, never the working directory
        if p.is_dir():
            found = sorted(x for x in p.rglob("*.csv") if x.is_file())
            if not found:
                raise InputError("folder holds no CSV file", file=p, column="data")
            out.extend(found)
        elif p.is_file():
            out.append(p.resolve())
        else:
            raise InputError("data file not found", file=p if where is None else f"{where}: {p}", column="data")
    return out


def _is_extract(path: Path) -> bool:
    from .realdata import EXTRACT_FILE

    return Path(path).name == EXTRACT_FILE


def load_inputs(paths) -> Inputs:
    """Read the inputs: official CSV files, or the real-data extract (read by its adapter)."""
    paths = [Path(p) for p in paths]
    extract = [p for p in paths if _is_extract(p)]
    if extract:
        if len(paths) > 1:
            raise InputError("the real-data extract must be read on its own, not with other files",
                             file=extract[0], column="data")
        from .realdata import read_extract

        return read_extract(extract[0])
    return read_inputs(paths)


def data_label(paths) -> str:
    """``"SYNTHETIC"`` when every input file is marked synthetic (``Data_source``), else ``"real"``."""
    from .io import _is_synthetic, read_raw_csv

    flags = []
    for p in paths:
        if _is_extract(Path(p)):
            flags.append(False)
            continue
        try:
            flags.append(_is_synthetic(read_raw_csv(p)))
        except InputError:
            flags.append(False)
    return "SYNTHETIC" if flags and all(flags) else "real"


def capabilities(inputs: Inputs, quarter: str, trust_type: str, *, catchment=None) -> set[str]:
    """What the inputs support for one quarter and trust type.

    * ``table``: a league table can be made (metric data or a league-table file);
    * ``metric_scores``: metric-level data, so the basket bootstrap and the rank sets work;
    * ``domain_scores``: published domain scores (``OF4000``-``OF4005``);
    * ``previous_quarter``: metric-level data for the quarter before as well;
    * ``catchments``: acute trusts, at least 10 of them in the catchment file (``catchment``, else
      the default for the data: the SYNTHETIC one in ``data/synthetic/context/`` or the shared one).

    The real-data extract holds no per-metric scores, so it never has ``metric_scores``.
    """
    from .catalogue import DOMAIN_SCORE_IDS, load_catalogue, score_id_map

    out = set()
    m, lg = inputs.metrics, inputs.league
    extract = any(_is_extract(Path(f)) for f in inputs.files)
    cat = load_catalogue()
    scored = set(cat.index[cat["rule"].isin(["continuous", "finance_position", "published"])]) | set(
        score_id_map(cat))
    here = rows_for(m, quarter, trust_type)
    if len(here) or len(rows_for(lg, quarter, trust_type)):
        out.add("table")
    if "table" in out and trust_type == "acute":  # catchments exist for acute trusts only
        from .context import catchment_coverage

        codes = set(here["trust_code"]) | set(rows_for(lg, quarter, trust_type)["trust_code"])
        if catchment_coverage(codes, synthetic=inputs.synthetic, catchment=catchment) >= 10:
            out.add("catchments")
    if not extract and len(here) and here["metric_id"].isin(scored).any():
        out.add("metric_scores")
    if len(here) and here["metric_id"].isin(list(DOMAIN_SCORE_IDS.values())).any():
        out.add("domain_scores")
    prev = rows_for(m, Quarter.parse(quarter).previous().code, trust_type)
    if not extract and len(prev) and (prev["quarter"] != "").any() and prev["metric_id"].isin(scored).any():
        out.add("previous_quarter")
    return out


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
        from .pipeline import build_panel

        if not self.has_metric_scores:
            raise InputError(f"the inputs hold no metric-level data for {self.trust_type} trusts in "
                             f"{self.quarter}: this analysis needs a NOF data file", column="data")
        return build_panel(self.inputs, self.quarter, self.trust_type)

    def panel_for(self, quarter: str):
        """The panel of another quarter of the same inputs and trust type."""
        from .pipeline import build_panel

        return build_panel(self.inputs, Quarter.parse(quarter).code, self.trust_type)

    @cached_property
    def result(self) -> dict:
        """``pipeline.compute`` on the panel with the method."""
        from .pipeline import compute

        return compute(self.panel, self.method)

    @cached_property
    def table(self) -> pd.DataFrame:
        """The league table: a full recompute from metric data, else re-derived from the
        published averages and deficit flags of a league-table file."""
        from .pipeline import league_table, league_table_from_published

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
        from . import orgtypes

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
        from .charts import HTMLFragment, OKABE_ITO

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


# ======================================================================================
# Analyses the notebooks show (each combines library parts; no plotting here)
# ======================================================================================
LEAGUE_COLUMNS = ["Rank", "Trust_code", "Trust_name", "Trust_subtype", "Average_score", "Raw_segment",
                  "Trust_in_financial_deficit", "Segment", "Published_segment", "Published_rank", "Data"]


def league_view(table: pd.DataFrame) -> pd.DataFrame:
    """The columns of a league table shown in a report (those present, in a fixed order)."""
    return table[[c for c in LEAGUE_COLUMNS if c in table.columns]]


def replicates(ctx: ReportContext, *, panel=None, method=None):
    """Replicate league tables from the source named by the ``uncertainty`` parameter.

    ``metrics`` (default): bootstrap over each trust's metric scores; ``metrics-jackknife``:
    leave one metric out; ``sampling``: parametric bootstrap of numerators/denominators.
    Cached on the context for its own panel.
    """
    from .uncertainty import basket_bootstrap, basket_jackknife, nhse_replicates, sampling_replicates

    own = panel is None and method is None
    if own and "_replicates" in ctx.__dict__:
        return ctx.__dict__["_replicates"]
    panel = ctx.panel if panel is None else panel
    method = ctx.method if method is None else method
    source = ctx.extra.get("uncertainty", "metrics")
    if source != "metrics-jackknife":  # before the replicates are drawn: a run that cannot fit says so
        n, m = panel.values.shape
        check_memory(ranks_bytes(ctx.draws, n, m), f"draws = {ctx.draws:,} on {n} trusts x {m} metrics",
                     "use fewer draws")
    if source == "metrics-jackknife":
        reps = basket_jackknife(panel, method)
    elif source == "sampling":
        reps = sampling_replicates(panel, method, draws=ctx.draws, seed=ctx.seed)
    elif source == "nhse":
        reps = nhse_replicates(panel, method, seed=ctx.seed)
    else:
        reps = basket_bootstrap(panel, method, draws=ctx.draws, seed=ctx.seed)
    if own:
        ctx.__dict__["_replicates"] = reps
    return reps


def _estimates(reps) -> tuple[pd.Series, pd.DataFrame]:
    est = pd.Series(np.asarray(reps.nominal["average"], dtype=float), index=reps.trust_codes, name="average")
    ok = est.notna().to_numpy()
    cov = reps.covariance()
    return est[ok], cov.loc[ok, ok]


@dataclass
class Positions:
    """Averages with intervals in order of the average, the pair tests of both rankings."""

    frame: pd.DataFrame  # index trust code (best first): name, estimate, lower, upper, league_rank, segment
    adjacent: pd.DataFrame  # ranks.adjacent_pairs (order of the average)
    significance: pd.DataFrame  # ranks.significance_matrix (rank of the average), +1/-1/0
    league: object  # ranks.LeagueRankSets (league rank)
    label: str  # what the intervals are


def positions(ctx: ReportContext, reps=None) -> Positions:
    """Each trust's average with its interval, in order of the average, with the pair tests.

    The interval is the percentile interval of the bootstrap replicates at ``ctx.coverage``
    (jackknife: average ± z·se). Pairs are judged with the simultaneous family at the same
    coverage, using the replicates' covariance, for the rank of the average
    (:func:`nhs_league.ranks.significance_matrix`) and for the league rank
    (:meth:`nhs_league.uncertainty.Replicates.league_sets`).
    """
    from statistics import NormalDist

    from . import ranks

    reps = replicates(ctx) if reps is None else reps
    est, cov = _estimates(reps)
    kw = dict(coverage=ctx.coverage, draws=ctx.draws, seed=ctx.seed)
    adj = ranks.adjacent_pairs(est, cov, **kw)
    sig = ranks.significance_matrix(est, cov, **kw)
    league = reps.league_sets(ctx.coverage, draws=ctx.draws, seed=ctx.seed)
    order = [adj["unit"].iloc[0], *adj["next_unit"]] if len(adj) else list(est.index)
    se = reps.se().reindex(est.index)
    if reps.kind == "bootstrap":
        s = reps.summary(ctx.coverage)
        lower, upper = s["average_low"].reindex(est.index), s["average_high"].reindex(est.index)
        how = f"{ctx.coverage:.0%} percentile interval, {reps.label}"
    else:
        z = NormalDist().inv_cdf(0.5 + ctx.coverage / 2)
        lower, upper = est - z * se, est + z * se
        how = f"{ctx.coverage:.0%} interval (average ± {z:.2f} jackknife SE), {reps.label}"
    names = pd.Series(reps.trust_names, index=reps.trust_codes)
    frame = pd.DataFrame({
        "name": names.reindex(est.index), "estimate": est, "lower": lower, "upper": upper, "se": se,
        "league_rank": pd.Series(reps.nominal["rank"], index=reps.trust_codes).reindex(est.index),
        "segment": pd.Series(reps.nominal["segment"], index=reps.trust_codes).reindex(est.index),
    }).loc[order]
    return Positions(frame, adj, sig, league, how)


def pair_summary(pos: Positions) -> tuple[pd.DataFrame, dict]:
    """What the pair tests say, trust by trust, without chaining them.

    Returns
    -------
    table : pandas.DataFrame
        In league order: ``Trust``, ``League rank``, ``Trusts surely ahead in the league``,
        ``Trusts surely behind in the league`` (league-rank test), ``Trusts significantly
        better by average``, ``Trusts significantly worse by average`` (average-rank test).
    facts : dict
        ``separation_league`` / ``separation_average``: how many places apart two trusts must
        typically be (half of the pairs that far apart told apart) in each ranking, or None;
        ``adjacent_league`` / ``adjacent_average``: adjacent pairs told apart, and ``pairs``.
    """
    from .ranks import separation_places

    lg = pos.league.table
    order = lg.sort_values(["league_rank"], kind="stable").index
    sig = pos.significance
    table = pd.DataFrame({
        "Trust": pos.frame["name"].reindex(order).to_numpy(), "League rank": lg.loc[order, "league_rank"].to_numpy(),
        "Trusts surely ahead in the league": lg.loc[order, "surely_ahead"].to_numpy(),
        "Trusts surely behind in the league": lg.loc[order, "surely_behind"].to_numpy(),
        "Trusts significantly better by average": (sig.loc[order] == -1).sum(axis=1).to_numpy(),
        "Trusts significantly worse by average": (sig.loc[order] == 1).sum(axis=1).to_numpy(),
    }, index=pd.Index(order, name="Trust code"))
    ladj = pos.league.adjacent(order)
    facts = {"separation_league": separation_places(pos.league.significance(), order),
             "separation_average": separation_places(sig, pos.frame.index),
             "adjacent_league": int(ladj["distinguishable"].sum()),
             "adjacent_average": int(pos.adjacent["distinguishable"].sum()), "pairs": len(ladj)}
    return table, facts


def rank_set_table(ctx: ReportContext, reps=None, tau: int = 10) -> pd.DataFrame:
    """Marginal and simultaneous rank confidence sets, the τ-best / τ-worst sets, and the
    confidence set for the league rank.

    ``rank``, the marginal and simultaneous sets and ``could_be_top`` / ``could_be_bottom``
    are about the rank of the average score (1 = best). ``league_rank``, ``league_lower``,
    ``league_upper`` and ``could_be_top_in_league`` are about the league rank, which orders
    by segment (after the financial override) first.

    Returns
    -------
    pandas.DataFrame
        Indexed by trust code in order of the average: ``name``, ``average``, ``rank``,
        ``marginal_lower``/``_upper``, ``simultaneous_lower``/``_upper``, ``could_be_top``
        and ``could_be_bottom`` (τ = min(tau, trusts)), ``league_rank``, ``league_lower``,
        ``league_upper``, ``could_be_top_in_league``. ``attrs["tau"]`` holds the τ used.
    """
    from . import ranks

    reps = replicates(ctx) if reps is None else reps
    est, cov = _estimates(reps)
    kw = dict(coverage=ctx.coverage, draws=ctx.draws, seed=ctx.seed)
    marg = ranks.rank_confidence_sets(est, cov, simultaneous=False, **kw)
    simu = ranks.rank_confidence_sets(est, cov, simultaneous=True, **kw)
    t = max(1, min(int(tau), len(est)))
    best = ranks.tau_best_set(est, t, cov, **kw)
    worst = ranks.tau_worst_set(est, t, cov, **kw)
    league = reps.league_sets(ctx.coverage, draws=ctx.draws, seed=ctx.seed).table
    names = pd.Series(reps.trust_names, index=reps.trust_codes)
    out = pd.DataFrame({
        "name": names.reindex(est.index), "average": est.round(3), "rank": marg["rank"],
        "marginal_lower": marg["lower"], "marginal_upper": marg["upper"],
        "simultaneous_lower": simu["lower"], "simultaneous_upper": simu["upper"],
        "could_be_top": best, "could_be_bottom": worst,
        "league_rank": pd.Series(reps.nominal["rank"], index=reps.trust_codes).reindex(est.index),
        "league_lower": league["lower"].reindex(est.index), "league_upper": league["upper"].reindex(est.index),
    }).sort_values(["rank", "average"], kind="stable")
    out["could_be_top_in_league"] = out["league_lower"] <= t
    out.attrs["tau"] = t
    return out


#: Replicates of the likely-range reproduction in a report: fewer than the preset's 20,000 (a report
#: draws it for every trust type and notebook); the score bounds then move by about 0.01 between seeds.
REPORT_NHSE_DRAWS = 5000


def position_ranges(ctx: ReportContext, reps=None, sets=None, *,
                    nhse_draws: int = REPORT_NHSE_DRAWS) -> tuple[pd.DataFrame, dict]:
    """Every range for each trust's position, for :func:`nhs_league.charts.position_ranges`.

    NHS England's published likely range of the rank (where a league-table file gave it),
    our reproduction of NHS England's method (:func:`nhs_league.uncertainty.nhse_replicates`
    on the same panel, the report's seed, ``nhse_draws`` replicates), our confidence set for the league rank and our
    marginal and simultaneous sets for the rank of the average (:func:`rank_set_table`).

    Returns
    -------
    frame : pandas.DataFrame
        Indexed by trust code in league order (published where given).
    facts : dict
        ``n``: trusts with both NHS England's range (published, else reproduced) and a marginal
        set; ``narrower``: how many of them have the narrower NHS England range;
        ``median_width_nhse`` and ``median_width_marginal`` (in places, both ends counted);
        ``which``: "published" or "reproduced".
    """
    from .uncertainty import nhse_likely_ranges, nhse_replicates

    reps = replicates(ctx) if reps is None else reps
    sets = rank_set_table(ctx, reps) if sets is None else sets
    nh = nhse_likely_ranges(reps if reps.source == "nhse" else nhse_replicates(ctx.panel, ctx.method, seed=ctx.seed,
                                                                                draws=nhse_draws))
    codes = sets.index
    s = reps.summary(ctx.coverage)
    frame = pd.DataFrame({"name": sets["name"], "league_rank": sets["league_rank"],
                          "nhse_low": nh["NHSE_range_rank_low"].reindex(codes).astype(float),
                          "nhse_high": nh["NHSE_range_rank_high"].reindex(codes).astype(float),
                          "league_low": sets["league_lower"], "league_high": sets["league_upper"],
                          "marginal_low": sets["marginal_lower"], "marginal_high": sets["marginal_upper"],
                          "simultaneous_low": sets["simultaneous_lower"],
                          "simultaneous_high": sets["simultaneous_upper"]}, index=codes)
    which = "reproduced"
    if "likely_range_rank_low" in s:
        frame["published_low"] = s["likely_range_rank_low"].reindex(codes).astype(float)
        frame["published_high"] = s["likely_range_rank_high"].reindex(codes).astype(float)
        if frame["published_low"].notna().any():
            which = "published"
    if "published_rank" in s and s["published_rank"].notna().any():
        frame["league_rank"] = s["published_rank"].reindex(codes).astype(float).fillna(frame["league_rank"])
    frame = frame.sort_values(["league_rank"], kind="stable")
    lo, hi = (frame["published_low"], frame["published_high"]) if which == "published" else (
        frame["nhse_low"], frame["nhse_high"])
    w_n = hi - lo + 1
    w_m = frame["marginal_high"] - frame["marginal_low"] + 1
    ok = w_n.notna() & w_m.notna()
    facts = {"n": int(ok.sum()), "narrower": int((w_n[ok] < w_m[ok]).sum()), "which": which,
             "median_width_nhse": float(w_n[ok].median()) if ok.any() else float("nan"),
             "median_width_marginal": float(w_m[ok].median()) if ok.any() else float("nan")}
    return frame, facts


def segment_probability_table(reps) -> pd.DataFrame:
    """P(segment k) per trust (columns 1-4, and 5 when any trust is in it), in league order."""
    p = reps.segment_probabilities()
    p.columns = [int(c.rsplit("_", 1)[1]) for c in p.columns]
    if not (p[5] > 0).any():
        p = p.drop(columns=5)
    rank = pd.Series(reps.nominal["rank"], index=reps.trust_codes)
    order = rank.where(rank > 0, np.iinfo(np.int64).max).sort_values(kind="stable").index
    return p.loc[order]


def metric_score_frame(ctx: ReportContext) -> pd.DataFrame:
    """The 1-4 metric scores of the report's run: trusts (codes) by metrics (IDs)."""
    return pd.DataFrame(ctx.result["scores"], index=ctx.panel.trusts.index, columns=ctx.panel.metric_ids)


def pick_trust(ctx: ReportContext, trust_code: str) -> str:
    """``trust_code`` checked against the table; blank = the median-ranked trust."""
    table = ctx.table
    if not trust_code:
        return median_trust(table)
    code = trust_code.strip().upper()
    if code not in set(table["Trust_code"]):
        raise InputError(f"trust {trust_code!r} is not among the {len(table)} {ctx.trust_type} trusts of "
                         f"{ctx.quarter} in the inputs", column="trust_code")
    return code


def proportion_metrics(ctx: ReportContext, trust_code: str, *, min_trusts: int = 5) -> list[tuple]:
    """The trust's proportion metrics with numerators and denominators, for funnel plots.

    Returns a list of ``(metric_id, name, numerators, denominators, scale)`` where the two
    Series are indexed by trust code (trusts with a usable pair only) and ``scale`` turns
    a proportion into the published value (100 for percentages).
    """
    from .catalogue import load_catalogue

    panel = ctx.panel
    cat = load_catalogue()
    out = []
    codes = panel.trusts.index
    for j, mid in enumerate(panel.metric_ids):  # a loop over metrics (tens), not trusts
        if mid not in cat.index or cat.at[mid, "distribution"] != "binomial":
            continue
        num = pd.Series(panel.numerators[:, j], index=codes)
        den = pd.Series(panel.denominators[:, j], index=codes)
        ok = num.notna() & den.notna() & (den > 0) & (num >= 0) & (num <= den)
        if ok.sum() < min_trusts or not ok.get(trust_code, False):
            continue
        scale = float(cat.at[mid, "scale"]) if str(cat.at[mid, "scale"]).strip() else 1.0
        out.append((mid, str(cat.at[mid, "name"]), num[ok], den[ok], scale))
    return out


def funnel_summary(ctx: ReportContext, trust_code: str, *, max_panels: int = 6,
                   min_trusts: int = 5) -> tuple[list, pd.DataFrame]:
    """Funnel limits for each of the trust's proportion metrics: the panels to draw and a table of all.

    Every metric from :func:`proportion_metrics` gets Spiegelhalter (2005) limits
    (:func:`nhs_league.funnel.funnel_limits`). The table lists them all, the trust's most outlying
    first (largest ``|z_adjusted|``); the panels are the first ``max_panels`` of that order, so a
    report draws the funnels that matter for this trust and lists the rest.

    Returns
    -------
    panels : list of (label, FunnelResult, scale)
        For :func:`nhs_league.charts.funnels`.
    table : pandas.DataFrame
        ``metric_id``, ``metric``, ``value`` and ``pooled`` (on the published scale), ``z_adjusted``
        (overdispersion allowed for), ``position`` (``above 99.8% limit``, ``below 95% limit``,
        ``within 95% limits``: a position, not a verdict, since for some metrics higher is better),
        ``false_alarms_95`` (the share of trusts these default limits put outside 95% when
        nothing but random between-trust variation of the fitted size is at work, simulated
        with :func:`nhs_league.funnel.false_alarm_rate` on the metric's own denominators; 5%
        would be right) and ``drawn`` (``"yes"`` when it has a panel, else ``"no"``).
    """
    from .funnel import false_alarm_rate, funnel_limits, level_label

    if isinstance(max_panels, bool) or not _is_int(max_panels) or max_panels < 0:
        raise InputError(f"funnel_panels must be a whole number 0 or more, got {max_panels!r}",
                         column="funnel_panels")
    rows, results = [], []
    for mid, name, num, den, scale in proportion_metrics(ctx, trust_code, min_trusts=min_trusts):
        res = funnel_limits(num, den)
        me = res.table.loc[trust_code]
        position = f"within {level_label(min(res.levels))}% limits"
        for level in sorted(res.levels, reverse=True):  # the widest limit crossed
            side = me[f"outlier_{level_label(level)}"]
            if side is not None:
                position = f"{'above' if side == 'high' else 'below'} {level_label(level)}% limit"
                break
        alarm = false_alarm_rate(den.to_numpy(dtype=float), tau2=max(res.tau2, 1e-4), target=res.target,
                                 sims=300, seed=0)
        rows.append({"metric_id": mid, "metric": name, "value": float(me["value"]) * scale,
                     "pooled": res.target * scale, "z_adjusted": float(me["z_adjusted"]), "position": position,
                     "false_alarms_95": alarm})
        results.append((f"{name} ({mid})", res, scale))
    table = pd.DataFrame(rows, columns=["metric_id", "metric", "value", "pooled", "z_adjusted", "position",
                                        "false_alarms_95"])
    # most outlying first; ties by metric id
    order = np.lexsort((table["metric_id"].to_numpy(), -table["z_adjusted"].abs().to_numpy()))
    table = table.iloc[order].reset_index(drop=True)
    table["drawn"] = np.where(np.arange(len(table)) < max_panels, "yes", "no")
    panels = [results[i] for i in order[:max_panels]]
    return panels, table


def _method_for(ctx: ReportContext, quarter: str) -> Method:
    return resolve_for(load_method(ctx.method_requested) if ctx.method_requested else default_method_for(quarter),
                       ctx.trust_type)


def trend(ctx: ReportContext, trust_code: str) -> pd.DataFrame:
    """The trust's average, interval, rank and segment in every quarter of the inputs.

    Each quarter uses its own method preset (Q1 2025/26 quartiles, cut-offs after) unless a
    method was given, and the same source of uncertainty as the report.
    """
    from .pipeline import compute
    from .uncertainty import basket_bootstrap_averages

    rows = []
    upto = Quarter.parse(ctx.quarter).code
    for q in ctx.inputs.quarters:  # at most a handful of quarters; never after the report's quarter
        if Quarter.parse(q).code > upto:
            continue
        caps = ctx.capabilities if q == ctx.quarter else capabilities(ctx.inputs, q, ctx.trust_type)
        if "metric_scores" not in caps:
            continue
        own = q == ctx.quarter
        panel = ctx.panel if own else ctx.panel_for(q)
        if trust_code not in panel.trusts.index:
            continue
        m = ctx.method if own else _method_for(ctx, q)
        i = panel.trusts.index.get_loc(trust_code)
        # only this trust's column of the replicates: the same figures as its row of
        # ``reps.summary`` (percentile interval of the replicate averages at the report's
        # coverage; jackknife: average ± 1.96 SE) without summarising every trust of the quarter;
        # another quarter's basket bootstrap draws only this trust's averages (same draws, same numbers)
        if own or ctx.extra.get("uncertainty", "metrics") != "metrics":
            reps = replicates(ctx) if own else replicates(ctx, panel=panel, method=m)
            nominal, kind, col = reps.nominal, reps.kind, reps.average[:, i]
        else:
            nominal, kind = compute(panel, m), "bootstrap"
            col = basket_bootstrap_averages(panel, m, [trust_code], draws=ctx.draws, seed=ctx.seed,
                                            nominal=nominal)[trust_code].to_numpy()
        avg = float(np.asarray(nominal["average"], dtype=float)[i])
        if kind == "bootstrap":
            cov = ctx.coverage
            lo, hi = ((np.nanquantile(col, [(1 - cov) / 2, 1 - (1 - cov) / 2]))
                      if not np.isnan(col).all() else (np.nan, np.nan))
        else:
            se = float(reps.se().iloc[i])
            lo, hi = avg - 1.96 * se, avg + 1.96 * se
        seg_rule = m.settings["segmentation"]["rule"]
        rows.append({"quarter": Quarter.parse(q).label, "estimate": avg, "lower": float(lo),
                     "upper": float(hi), "league_rank": int(nominal["rank"][i]),
                     "segment": int(nominal["segment"][i]), "method": m.name,
                     "cutoffs": " / ".join(f"{c:.2f}" for c in m.cutoffs) if seg_rule == "cutoffs" else ""})
    return pd.DataFrame(rows, columns=["quarter", "estimate", "lower", "upper", "league_rank", "segment", "method",
                                       "cutoffs"])


def override_note(ctx: ReportContext, trust_code: str) -> str:
    """One sentence on the financial override for this trust: whether it applies, and where the trust
    would sit without it (segment and league rank, everything else as published)."""
    from .pipeline import classify

    t = ctx.table.set_index("Trust_code")
    row = t.loc[trust_code]
    if row["Trust_in_financial_deficit"] != "Yes":
        return (f"{row['Trust_name']} is not in financial deficit ({row['Deficit_source']}): the financial "
                "override does not apply to it.")
    raw, seg = int(row["Raw_segment"]), int(row["Segment"])
    if raw >= seg:
        return (f"{row['Trust_name']} is in financial deficit ({row['Deficit_source']}), but its average already "
                f"puts it in segment {raw}: the override (a cap at segment "
                f"{ctx.method.settings['override']['cap']}) does not change its place.")
    off = ctx.method.replace(override={"enabled": False})
    avg = t["Average_score"].to_numpy(dtype=float)
    deficit = (t["Trust_in_financial_deficit"] == "Yes").to_numpy()
    free = classify(avg, deficit, np.zeros(len(t), bool), off)
    k = t.index.get_loc(trust_code)
    return (f"{row['Trust_name']} is in financial deficit ({row['Deficit_source']}), so the financial override "
            f"caps it at segment {seg}: its average alone ({row['Average_score']:.2f}) would put it in segment "
            f"{raw}, at league rank {int(free['rank'][k])} instead of {int(row['Rank'])} (everyone else as "
            "published). Its chance of a different segment reflects the cap as well as its scores.")


def raw_value_table(ctx: ReportContext, trust_code: str) -> pd.DataFrame:
    """The trust's raw value on each metric beside its peers' median and quartiles (from the file's
    ``Median_value`` / ``Lower_quartile`` / ``Upper_quartile`` where it gives them, else computed from
    the peers' values), its score and where the score came from."""
    from .backtest import metric_score_table

    panel = ctx.panel
    i = panel.trusts.index.get_loc(trust_code)
    rows = rows_for(ctx.inputs.metrics, ctx.quarter, ctx.trust_type)
    stats = rows.drop_duplicates("metric_id").set_index("metric_id") if len(rows) else pd.DataFrame()
    scores = metric_score_table(panel, ctx.method, ctx.result).set_index(["Trust_code", "Metric_ID"])
    out = []
    for j, (mid, r) in enumerate(panel.metrics.iterrows()):
        v = panel.values[:, j]
        have = ~np.isnan(v)
        sid = r["score_id"] if isinstance(r["score_id"], str) else mid
        key = (trust_code, sid)
        med = lq = uq = np.nan
        if mid in stats.index and "median_value" in stats:
            med, lq, uq = (float(stats.loc[mid, c]) for c in ("median_value", "lower_quartile", "upper_quartile"))
        if np.isnan(med) and have.sum() >= 2:
            lq, med, uq = np.percentile(v[have], [25, 50, 75])
        out.append({"metric": r["name"], "better": r["better"], "value": v[i], "peer_median": med,
                    "peer_lower_quartile": lq, "peer_upper_quartile": uq, "peers_with_a_value": int(have.sum()),
                    "score": scores["Score"].get(key, np.nan), "score_from": scores["Source"].get(key, "")})
    return pd.DataFrame(out)


def compare_quarters(ctx: ReportContext, previous: str = "") -> pd.DataFrame:
    """Each trust's move between ``previous`` (blank = the quarter before) and ``ctx.quarter``.

    A paired bootstrap of the metric-level changes
    (:func:`nhs_league.uncertainty.paired_quarter_change`: the same metric draws in both
    quarters; each quarter with its own method preset unless one was given), with three
    readings of "moved": unadjusted, Holm (familywise) and Benjamini–Hochberg (false
    discovery rate); ranks and segments in both quarters are added.

    Returns
    -------
    pandas.DataFrame
        Indexed by trust code, sorted by change (most improved first): the columns of
        ``paired_quarter_change`` plus ``verdict`` (the Holm reading, or "within noise"),
        ``beyond_noise`` (Holm), ``league_rank_before``, ``league_rank``, ``segment_before``, ``segment``.
        ``attrs``: ``previous``, ``previous_label``, ``methods``, ``unmatched``, ``alpha``,
        ``n_tests``, ``expected_by_chance``, ``multiplicity``.
    """
    from .pipeline import compute
    from .uncertainty import paired_quarter_change

    prev_q = Quarter.parse(previous).code if previous else Quarter.parse(ctx.quarter).previous().code
    if prev_q == ctx.quarter:
        raise InputError("previous_quarter is the report's own quarter", column="previous_quarter")
    if "metric_scores" not in capabilities(ctx.inputs, prev_q, ctx.trust_type):
        raise InputError(f"the inputs hold no metric-level data for {ctx.trust_type} trusts in {prev_q}",
                         column="previous_quarter")
    m_prev = _method_for(ctx, prev_q)
    p_prev = ctx.panel_for(prev_q)
    ch = paired_quarter_change(ctx.panel, p_prev, ctx.method, m_prev, draws=ctx.draws, seed=ctx.seed,
                               coverage=ctx.coverage)
    ch["verdict"] = np.where(ch["moved_holm"] != "", ch["moved_holm"], "within noise")
    ch["beyond_noise"] = ch["moved_holm"] != ""
    before = compute(p_prev, m_prev)
    for col, panel, res in (("", ctx.panel, ctx.result), ("_before", p_prev, before)):
        ch[f"league_rank{col}"] = pd.Series(res["rank"], index=panel.trusts.index).reindex(ch.index)
        ch[f"segment{col}"] = pd.Series(res["segment"], index=panel.trusts.index).reindex(ch.index)
    out = ch.sort_values(["change"], kind="stable")
    out.attrs.update(ch.attrs)
    out.attrs.update(previous=prev_q, previous_label=Quarter.parse(prev_q).label,
                     methods={prev_q: m_prev.name, ctx.quarter: ctx.method.name})
    return out


def move_counts(cmp: pd.DataFrame) -> str:
    """One sentence with the three counts of moves and what chance alone would give."""
    a = cmp.attrs
    unadj, holm, bh = ((cmp[c] != "").sum() for c in ("moved", "moved_holm", "moved_bh"))
    return (f"{unadj} of {a['n_tests']} trusts moved at {a['alpha']:.0%} each, unadjusted (chance alone would "
            f"give about {a['expected_by_chance']:.1f}); {holm} after Holm's correction (the chance of even one "
            f"false move is at most {a['alpha']:.0%}); {bh} after Benjamini–Hochberg (on average at most "
            f"{a['alpha']:.0%} of the moves reported are false)")


def segment_moves(cmp: pd.DataFrame) -> pd.DataFrame:
    """Segment before x segment after: counts of trusts, and of those whose move is beyond noise."""
    t = pd.crosstab(cmp["segment_before"], cmp["segment"], rownames=["segment before"], colnames=["segment now"])
    return t

def sensitivity_data(ctx: ReportContext):
    """Sensitivity data at the richest level the inputs allow: metric level when they hold
    metric scores, else the published domain scores (as for the real Q3 extract)."""
    from .sensitivity import from_inputs

    level = "metric" if ctx.has_metric_scores else "domain"
    if level == "domain" and "domain_scores" not in ctx.capabilities:
        raise InputError(f"the inputs hold neither metric-level data nor published domain scores for "
                         f"{ctx.trust_type} trusts in {ctx.quarter}: no sensitivity analysis is possible",
                         column="data")
    sd = from_inputs(ctx.inputs, ctx.quarter, ctx.trust_type, ctx.method, level=level)
    scenarios, n_base = int(ctx.extra.get("scenarios", 0) or 0), int(ctx.extra.get("sobol_n_base", 0) or 0)
    check_memory(sensitivity_bytes(scenarios, n_base, 0, sd.n), f"scenarios = {scenarios:,} with a Sobol base "
                 f"of {n_base:,} on {sd.n} trusts", "use fewer scenarios or a smaller sobol_n_base")
    return sd


def sensitivity_space(sd, space: str = "") -> str:
    """The scenario space: the one named, else ``default`` (metric level) or ``domain``."""
    return space or ("default" if sd.level == "metric" else "domain")


def rank_shift_frame(oat) -> pd.DataFrame:
    """Rank changes per trust under each one-at-a-time choice, one column per choice value.

    Leaving out each metric in turn is pooled into one column, and so are the draws of a
    random weight scheme (columns then have more rows than trusts; shorter ones are padded
    with NaN).
    """
    d = oat.changes["rank_change"]
    choice = oat.params["oat_choice"].to_numpy()
    value = oat.params["oat_value"].astype(str).to_numpy()
    label = np.where(choice == "leave_out_metric", "leave out one metric (each in turn)",
                     np.where(choice == "leave_out_domain", "leave out " + value,
                              choice + ": " + value))
    cols = {}
    for lab in pd.unique(label):  # a loop over choice values (tens), each a vector over trusts
        cols[lab] = pd.Series(d[label == lab].ravel()).dropna().reset_index(drop=True)
    return pd.DataFrame(cols)


def concordance_matrix(long: pd.DataFrame, labels=None) -> pd.DataFrame:
    """The long output of :func:`nhs_league.sensitivity.concordance` as a square matrix."""
    names = list(dict.fromkeys([*long["a"], *long["b"]]))
    v = np.where(np.eye(len(names), dtype=bool), 1.0, np.nan)
    a = pd.Index(names).get_indexer(long["a"])
    b = pd.Index(names).get_indexer(long["b"])
    v[a, b] = long["spearman"].to_numpy(float)
    v[b, a] = long["spearman"].to_numpy(float)
    out = pd.DataFrame(v, index=names, columns=names)
    if labels:
        out = out.rename(index=labels, columns=labels)
    return out

# ======================================================================================
# Jobs and the suite
# ======================================================================================
@dataclass
class Job:
    """One notebook run with one parameter set, and where its outputs go."""

    notebook: str  # notebook name (file stem in notebooks/)
    parameters: dict
    name: str  # output file stem, e.g. "league_table" or "trust_profile-R0A"
    quarter: str
    trust_type: str
    dataset: str = ""
    title: str = ""

    @property
    def notebook_path(self) -> Path:
        return NOTEBOOK_DIR / f"{self.notebook}.ipynb"

    def html_path(self, output) -> Path:
        return Path(output) / self.quarter / self.trust_type / f"{self.name}.html"

    def manifest_path(self, output) -> Path:
        return Path(output) / self.quarter / self.trust_type / f"{self.name}.manifest.json"

    def build_path(self, build_dir) -> Path:
        return Path(build_dir) / self.quarter / self.trust_type / f"{self.name}.ipynb"

    @property
    def key(self) -> str:
        return f"{self.notebook} ({self.quarter}, {self.trust_type}{', ' + self.name if self.name != self.notebook else ''})"


@dataclass
class Plan:
    """Jobs to run, and analyses that cannot be run (with the reason, for the index)."""

    jobs: list
    skipped: list = field(default_factory=list)  # (what, why)
    notes: list = field(default_factory=list)
    up_to_date: list = field(default_factory=list)  # jobs whose report is current (set by build)


def load_suite(path=None) -> dict:
    """The suite file (``nhs_league/data/reports.yaml``), checked for its keys."""
    p = Path(path) if path is not None else SUITE_FILE
    try:
        suite = read_yaml(p, "report suite")  # one-line messages, each naming the file
    except MethodError as exc:
        raise InputError(str(exc)) from None
    if not isinstance(suite, dict) or not isinstance(suite.get("reports"), list):
        raise InputError("a report suite is a mapping with a 'reports' list", file=p)
    for key in ("notebooks", "datasets", "defaults"):
        suite.setdefault(key, {})
    for i, r in enumerate(suite["reports"]):
        if not isinstance(r, dict) or "notebook" not in r:
            raise InputError(f"report entry {i + 1} has no 'notebook'", file=p)
        if r["notebook"] not in suite["notebooks"]:
            raise InputError(f"report entry {i + 1}: notebook {r['notebook']!r} is not listed under 'notebooks'",
                             file=p)
    suite["_path"] = str(p)
    return suite


def files_for_type(paths, trust_type: str) -> list[Path]:
    """The files whose official name is for ``trust_type`` (files named for no type are kept).

    Examples
    --------
    >>> [p.name for p in files_for_type([Path("nhs-oversight-framework-acute-trust-data.csv"),
    ...                                  Path("nhs-oversight-framework-ambulance-trust-data.csv"),
    ...                                  Path("mine.csv")], "acute")]
    ['nhs-oversight-framework-acute-trust-data.csv', 'mine.csv']
    """
    out = []
    for p in map(Path, paths):
        typed = orgtypes.from_file_name(p.name)
        if not typed or trust_type in typed:
            out.append(p)
    return out


def files_for_quarters(paths, quarters) -> list[Path]:
    """The files whose name or folder names one of ``quarters`` (files naming no quarter are kept).

    Examples
    --------
    >>> [p.name for p in files_for_quarters([Path("x-q3-25-26-v2.csv"), Path("x-q4-25-26-v2.csv"),
    ...                                      Path("mine.csv")], ["2025Q4"])]
    ['x-q4-25-26-v2.csv', 'mine.csv']
    """
    from .quarters import quarter_from_path

    wanted = {Quarter.parse(q).code for q in quarters}
    out = []
    for p in map(Path, paths):
        q = quarter_from_path(p.name) or quarter_from_path(p.parent.name)
        if q is None or q.code in wanted:
            out.append(p)
    return out


def _data_for(paths, spec: dict, quarter: str, trust_type: str, params: dict) -> list[str]:
    """The suite's files a job needs: its trust type, and the quarters its notebook reads."""
    files = files_for_type(paths, trust_type)
    which = spec.get("data_quarters", "all")
    if which == "own":
        files = files_for_quarters(files, [quarter])
    elif which == "with_previous":
        prev = params.get("previous_quarter") or Quarter.parse(quarter).previous().code
        files = files_for_quarters(files, [quarter, prev])
    return [str(p) for p in files]


def _dataset_paths(suite: dict, name: str) -> tuple[list[Path] | None, str]:
    """Paths of a named dataset (None when optional and absent) and its note."""
    ds = suite["datasets"].get(name)
    if ds is None:
        raise InputError(f"unknown dataset {name!r}", file=suite.get("_path"))
    note = str(ds.get("note", "")).strip()
    if ds.get("synthetic_year"):
        return synthetic_files(), note
    paths = []
    for item in ds.get("paths", []):
        p = Path(item) if Path(item).is_absolute() else (ROOT / item)
        if not p.exists():
            if ds.get("optional"):
                return None, note
            raise InputError("dataset file not found", file=p)
        paths.append(p.resolve())
    return resolve_data(paths), note


def _stem(notebook: str, params: dict, entry: dict) -> str:
    suffix = entry.get("suffix", "")
    if notebook == "trust_profile":
        suffix = "-".join(x for x in [suffix, params.get("trust_code") or "median"] if x)
    if notebook == "quarter_comparison" and params.get("previous_quarter"):
        suffix = "-".join(x for x in [suffix, "from-" + str(params["previous_quarter"])] if x)
    return f"{notebook}-{suffix}" if suffix else notebook


def _trust_codes(paths, quarter: str, trust_type: str) -> dict[str, str]:
    """``{trust code: trust name}`` of a dataset for one quarter and trust type, sorted by code."""
    inputs = load_inputs(paths)
    names = {}
    for t in (rows_for(inputs.metrics, quarter, trust_type), rows_for(inputs.league, quarter, trust_type)):
        if len(t):
            names.update(zip(t["trust_code"], t["trust_name"]))
    return dict(sorted(names.items()))


def plan_suite(suite=None, *, quarter=None, trust_type=None, notebooks=None) -> Plan:
    """The default suite as jobs, optionally filtered by quarter, trust type and notebook names."""
    suite = suite if isinstance(suite, dict) else load_suite(suite)
    q_filter = Quarter.parse(quarter).code if quarter else None
    t_filter = parse_trust_type(trust_type) if trust_type else None
    defaults = dict(suite.get("defaults") or {})
    jobs, skipped, notes = [], [], list(suite.get("notes") or [])
    seen_notes = set()
    for entry in suite["reports"]:
        nb = entry["notebook"]
        if notebooks and nb not in notebooks:
            continue
        paths, note = _dataset_paths(suite, entry.get("data", "synthetic"))
        types = entry.get("trust_types", "all")
        types = None if types == "all" else [parse_trust_type(t) for t in types]
        quarters = [Quarter.parse(q).code for q in entry.get("quarters", [])]
        if paths is None:
            skipped.append((f"{nb} on {entry.get('data')}", note or "dataset not present"))
            continue
        if note and note not in seen_notes:
            notes.append(note)
            seen_notes.add(note)
        for q in quarters:
            if q_filter and q != q_filter:
                continue
            # "all": every organisation type scored in the quarter's year (org_types.yaml first_year)
            for t in (types if types is not None else orgtypes.types_for_year(Quarter.parse(q).year)):
                if t_filter and t != t_filter:
                    continue
                sets = entry.get("parameter_sets") or [{}]
                names = {}
                if sets == "each_trust":  # one report per trust of the quarter and type
                    names = _trust_codes(paths, q, t)
                    sets = [{"trust_code": c} for c in names]
                for extra in sets:
                    params = {**defaults, **(entry.get("parameters") or {}), **extra, "quarter": q,
                              "trust_type": t}
                    params["data"] = _data_for(paths, suite["notebooks"][nb], q, t, params)
                    title = suite["notebooks"][nb].get("title", nb)
                    if extra.get("trust_code") in names:
                        title = f"{title}: {names[extra['trust_code']]} ({extra['trust_code']})"
                    if params.get("previous_quarter"):
                        title = f"{title}: {Quarter.parse(params['previous_quarter']).label} to {Quarter.parse(q).label}"
                    jobs.append(Job(nb, params, _stem(nb, params, entry), q, t, entry.get("data", "synthetic"),
                                    title))
    for what, why in suite.get("not_possible") or []:
        skipped.append((what, why))
    return Plan(jobs, skipped, notes)


def plan_for_data(data, *, quarter=None, trust_type=None, notebooks=None, parameters=None, suite=None) -> Plan:
    """Jobs for files given on the command line: every notebook their contents support.

    Without ``quarter`` the latest quarter in the files is used; without ``trust_type`` every
    trust type they hold.
    """
    suite = suite if isinstance(suite, dict) else load_suite(suite)
    paths = resolve_data(data)
    inputs = load_inputs(paths)
    held = inputs.quarters
    if quarter:
        q = select_quarter(inputs, quarter)
    elif held:
        q = held[-1]
    else:
        raise InputError("the files do not say which quarter they hold: give --quarter", column="--quarter")
    present = sorted(set(inputs.metrics.get("trust_type", pd.Series(dtype=object)))
                     | set(inputs.league.get("trust_type", pd.Series(dtype=object))) - {""})
    types = [parse_trust_type(trust_type)] if trust_type else present
    defaults = dict(suite.get("defaults") or {})
    parameters = dict(parameters or {})
    names = [nb for nb in suite["notebooks"] if not notebooks or nb in notebooks]
    declared = {nb: notebook_parameters(NOTEBOOK_DIR / f"{nb}.ipynb") for nb in names}
    unknown = sorted(set(parameters) - set().union(*declared.values())) if declared else sorted(parameters)
    if unknown:
        raise InputError(f"unknown parameter(s) {unknown}: no notebook declares them", column=unknown[0])
    jobs, skipped = [], []
    for t in types:
        caps = capabilities(inputs, q, t, catchment=parameters.get("catchment") or None)
        if "table" not in caps:
            raise InputError(f"no {t} rows for {q} in the files", file=", ".join(str(p) for p in paths),
                             column="--trust-type")
        for nb, spec in suite["notebooks"].items():
            if notebooks and nb not in notebooks:
                continue
            missing = sorted(set(spec.get("needs", [])) - caps)
            any_of = set(spec.get("needs_any", []))
            if any_of and not any_of & caps:
                missing.append(" or ".join(sorted(any_of)))
            if missing:
                skipped.append((f"{nb} ({q}, {t})", "the input lacks " + ", ".join(m.replace("_", " ")
                                                                                    for m in missing)))
                continue
            mine = {k: v for k, v in parameters.items() if k in declared[nb]}
            params = {**defaults, **(spec.get("parameters") or {}), **mine,
                      "quarter": q, "trust_type": t, "data": [str(p) for p in paths]}
            jobs.append(Job(nb, params, _stem(nb, params, {}), q, t, "command line", spec.get("title", nb)))
    return Plan(jobs, skipped, [])


# ======================================================================================
# Kernel
# ======================================================================================
_kernel_lock = threading.Lock()


def ensure_kernel(name: str = KERNEL_NAME) -> str:
    """A kernelspec that runs this interpreter (``sys.executable``), installed if needed.

    Installs ``name`` into ``sys.prefix`` (the virtual environment) the first time, as
    ``python -m ipykernel install --sys-prefix --name nhs-league`` would. If that folder
    cannot be written, falls back to ``python3``, which jupyter_client also starts with
    ``sys.executable``. Returns the kernel name to use.
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    with _kernel_lock:
        ksm = KernelSpecManager()
        try:
            spec = ksm.get_kernel_spec(name)
            if spec.argv and Path(spec.argv[0]) == Path(sys.executable):
                return name
        except NoSuchKernel:
            pass
        try:
            from ipykernel.kernelspec import install

            install(kernel_name=name, display_name=f"Python ({name})", prefix=sys.prefix)
            spec = KernelSpecManager().get_kernel_spec(name)
            if spec.argv and Path(spec.argv[0]) == Path(sys.executable):
                return name
        except (OSError, NoSuchKernel):  # pragma: no cover - read-only environment
            pass
        return "python3"


# ======================================================================================
# Manifest and index
# ======================================================================================
def _git_commit() -> str:
    try:
        r = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10)
        return r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def manifest(job: Job, params: dict, *, output, build_dir, started: float, finished: float, kernel: str,
             label: str, git_commit: str | None = None) -> dict:
    """What a report was built from: versions, commit, parameters, input hashes, method, time.

    ``git_commit`` (looked up when not given) lets a build ask git once for all its reports.
    """
    import matplotlib
    import papermill

    method_name = params.get("method") or ""
    try:
        m = resolve_for(load_method(method_name) if method_name else default_method_for(job.quarter),
                        job.trust_type)
        method = {"preset": m.name, "label": m.label, "requested": method_name or "(default for the quarter)",
                  "fingerprint": m.fingerprint(), "source": m.source}
    except MethodError as exc:  # pragma: no cover - validated before running
        method = {"preset": method_name, "error": str(exc)}
    return {
        "report": job.name,
        "notebook": f"notebooks/{job.notebook}.ipynb",
        "notebook_sha256": file_sha256(job.notebook_path),
        "title": job.title,
        "quarter": job.quarter,
        "trust_type": job.trust_type,
        "data": label,
        "dataset": job.dataset,
        "parameters": params,
        "inputs": {str(p): file_sha256(p) for p in params.get("data", [])},
        "method": method,
        "package": "nhs_league",
        "package_version": __version__,
        "git_commit": _git_commit() if git_commit is None else git_commit,
        "created": _dt.datetime.fromtimestamp(finished, _dt.timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(finished - started, 2),
        "kernel": kernel,
        "python": platform.python_version(),
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "matplotlib": matplotlib.__version__,
        "papermill": papermill.__version__,
        "html": job.html_path(output).name,
        "executed_notebook": str(job.build_path(build_dir)),
    }


# One line per kind of report: the question it answers (shown in the index).
REPORT_QUESTIONS = {
    "league_table": "Where does each trust sit, and whom did the deficit rule cap?",
    "rank_uncertainty": "How sure is each rank, and which trusts can really be told apart?",
    "sensitivity": "How far do the ranks move when a method choice changes?",
    "quarter_comparison": "Who moved between two quarters, and is the move larger than its noise?",
    "trust_profile": "Where does one trust stand, on which metrics, and how sure is that?",
    "context": "Does deprivation explain the league, and what would an adjusted league look like?",
}
_KIND_ORDER = ["league_table", "rank_uncertainty", "sensitivity", "quarter_comparison", "context", "trust_profile"]


def _index_rows(out: Path) -> list[dict]:
    rows = []
    for mf in sorted(out.glob("*/*/*.manifest.json")):
        try:
            m = json.loads(mf.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        rel = mf.relative_to(out).parent / m.get("html", mf.name.replace(".manifest.json", ".html"))
        params = m.get("parameters") or {}
        rows.append({"quarter": m.get("quarter", ""), "trust_type": m.get("trust_type", ""),
                     "title": m.get("title") or m.get("report", ""), "report": m.get("report", ""),
                     "notebook": Path(str(m.get("notebook") or m.get("report", ""))).stem.split("-")[0],
                     "data": m.get("data", ""), "href": rel.as_posix(), "created": m.get("created", ""),
                     "preset": (m.get("method") or {}).get("label") or (m.get("method") or {}).get("preset", ""),
                     "trust_code": str(params.get("trust_code") or "")})
    return rows


def _index_section(rows: list[dict], *, real: bool) -> list[str]:
    """Reports of one kind of data, grouped by trust type and quarter, one line per kind."""
    esc = html.escape
    tag = ('<span class="real">REAL</span>' if real else '<span class="synthetic">SYNTHETIC</span>')
    body = []
    order = {k: i for i, k in enumerate(_KIND_ORDER)}
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["trust_type"], r["quarter"]), []).append(r)
    type_rank = {t: i for i, t in enumerate(TRUST_TYPES)}
    for (t, q) in sorted(groups, key=lambda k: (type_rank.get(k[0], 9), k[0], k[1]), reverse=False):
        items = sorted(groups[(t, q)], key=lambda r: (order.get(r["notebook"], 99), r["title"], r["href"]))
        qlabel = Quarter.parse(q).label if q else ""
        body.append(f"<h3>{tag} {esc(TRUST_TYPE_LABELS.get(t, t))}, {esc(qlabel)}</h3><ul class='reports'>")
        profiles = [r for r in items if r["notebook"] == "trust_profile"]
        for r in items:
            if r["notebook"] == "trust_profile" and len(profiles) > 3:
                continue
            question = REPORT_QUESTIONS.get(r["notebook"], "")
            body.append(f'<li><a href="{esc(r["href"], quote=True)}">{esc(r["title"])}</a>'
                        + (f" — {esc(question)}" if question else "")
                        + f' <small>({esc(r["preset"])}; built {esc(r["created"])})</small></li>')
        body.append("</ul>")
        if len(profiles) > 3:
            body.append(f"<details class='profiles'><summary>Trust profiles ({len(profiles)}) — "
                        f"{esc(REPORT_QUESTIONS['trust_profile'])}</summary><ul class='reports profiles'>")
            for r in sorted(profiles, key=lambda r: r["title"]):
                body.append(f'<li data-search="{esc((r["title"] + " " + r["trust_code"]).lower(), quote=True)}">'
                            f'<a href="{esc(r["href"], quote=True)}">{esc(r["title"])}</a></li>')
            body.append("</ul></details>")
    return body


_INDEX_SEARCH = """<p><label for="trust-search"><strong>Find a trust profile</strong> (name or ODS code):</label>
<input id="trust-search" type="search" placeholder="e.g. Kent or RYY" autocomplete="off"
 style="font-size:1em;padding:4px;width:22em"> <span id="trust-search-count"></span></p>
<script>
(function () {
  var box = document.getElementById('trust-search'), count = document.getElementById('trust-search-count');
  box.addEventListener('input', function () {
    var q = box.value.trim().toLowerCase(), shown = 0;
    document.querySelectorAll('details.profiles').forEach(function (d) { d.open = q.length > 0; });
    document.querySelectorAll('li[data-search]').forEach(function (li) {
      var hit = !q || li.getAttribute('data-search').indexOf(q) >= 0;
      li.style.display = hit ? '' : 'none';
      if (hit) { shown += 1; }
    });
    count.textContent = q ? shown + ' profile(s) match' : '';
  });
})();
</script>"""


def write_index(output, *, skipped=(), notes=()) -> Path:
    """``<output>/index.html``: every report under ``output`` (from the manifests). Reports on real
    data come first, grouped by trust type and quarter, each kind with the question it answers; a
    search box finds a trust's profile; SYNTHETIC reports follow, then the analyses that could not be
    made, with the reason."""
    out = Path(output)
    rows = _index_rows(out)
    real = [r for r in rows if r["data"] != "SYNTHETIC"]
    synthetic = [r for r in rows if r["data"] == "SYNTHETIC"]
    esc = html.escape
    body = ["<h1>NHS Oversight Framework league tables: reports</h1>",
            "<p>Each report re-computes a league table or measures how much of each league position is "
            "real. Reports on <span class='real'>REAL</span> data name their publisher, files and SHA-256 "
            "hashes at the top. Reports marked <span class='synthetic'>SYNTHETIC</span> are built from "
            "the project's made-up synthetic year: they demonstrate the methods and say nothing about "
            "real trusts.</p>"]
    if any(r["notebook"] == "trust_profile" for r in rows):
        body.append(_INDEX_SEARCH)
    if real:
        body.append("<h2>Real data</h2>")
        body += _index_section(real, real=True)
    if synthetic:
        body.append("<h2>SYNTHETIC data (made-up trusts, for demonstration)</h2>")
        body += _index_section(synthetic, real=False)
    if not rows:
        body.append("<p>No reports have been built yet: run <code>nhs-league report</code>.</p>")
    if skipped:
        body.append("<h2>Analyses not made, and why</h2><ul>")
        body.extend(f"<li><strong>{esc(w)}</strong>: {esc(r)}</li>" for w, r in skipped)
        body.append("</ul>")
    if notes:
        body.append("<h2>Notes</h2><ul>")
        body.extend(f"<li>{esc(n)}</li>" for n in notes)
        body.append("</ul>")
    page = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>NOF league table reports</title>"
            "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.4}"
            "ul.reports{margin:0.2em 0 0.8em}ul.profiles{columns:2}h3{margin:1em 0 0.2em;font-size:1.05em}"
            ".synthetic{background:#fff3cd;border:1px solid #000;padding:1px 4px;font-weight:bold}"
            ".real{background:#eef5fb;border:1px solid #0072B2;padding:1px 4px;font-weight:bold}"
            "@media print{details.profiles{display:block}details.profiles>*{display:block}}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")
    return atomic_write_text(out / "index.html", page)


# ======================================================================================
# Running
# ======================================================================================
@dataclass
class JobResult:
    job: Job
    ok: bool
    seconds: float
    html: Path | None = None
    executed: Path | None = None
    error: str = ""
    cell: str = ""
    execute_seconds: float = 0.0  # papermill execution only (kernel start to last cell)

    def line(self) -> str:
        """One line naming the notebook, the failing cell and the error."""
        where = f" in cell {self.cell}" if self.cell else ""
        kept = (f"executed notebook kept at {self.executed}" if self.executed is not None
                else "the kernel stopped before the executed notebook could be written")
        return f"notebook {self.job.key} failed{where}: {self.error} ({kept})"


_idle_exporters: list = []
_exporters_lock = threading.Lock()


def _new_exporter():
    from nbconvert import HTMLExporter

    # No code, no prompts; no scripts fetched from the network (the reports need neither
    # require.js nor MathJax), so a report opens the same offline.
    return HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                        require_js_url="", mathjax_url="")


def export_html(nb, title: str) -> str:
    """The executed notebook as a standalone HTML page without code cells or prompts.

    Exporters are made once and reused (making one loads nbconvert's templates, which took
    longer than exporting a report); each is used by one thread at a time.
    """
    with _exporters_lock:
        exporter = _idle_exporters.pop() if _idle_exporters else None
    exporter = exporter or _new_exporter()
    try:
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    finally:
        with _exporters_lock:
            _idle_exporters.append(exporter)
    for empty in ('<script src=""></script>', '<script src=""> </script>'):
        body = body.replace(empty, "")
    return with_table_library(body)


_TABLE_LIBRARY_MARK = "<!-- nhs-league: itables offline bundle (DataTables) -->"
_PRINT_CSS = ("<style>@media print{.dt-buttons,.dt-search,.dt-info{display:none!important}"
              "table.dataTable{font-size:8pt}}</style>")


def with_table_library(page: str) -> str:
    """Embed itables' offline bundle (DataTables, no network) once, where the page has tables.

    The bundle is what ``itables.init_notebook_mode()`` would display; putting it in the page here
    keeps the notebooks free of set-up cells. Print CSS hides the search box and buttons."""
    if 'id="itables_' not in page or _TABLE_LIBRARY_MARK in page:
        return page
    from itables import options
    from itables.javascript import generate_init_offline_itables_html

    init = _TABLE_LIBRARY_MARK + generate_init_offline_itables_html(options.dt_bundle) + _PRINT_CSS
    i = page.find("<body")
    j = page.find(">", i) + 1 if i >= 0 else 0
    return page[:j] + init + page[j:]


def label_of(nb) -> str | None:
    """``"SYNTHETIC"`` or ``"real"`` as the executed notebook's banner (:meth:`ReportContext.banner`)
    states it, i.e. what the notebook read; None when it shows no banner."""
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            page = out.get("data", {}).get("text/html")
            found = _LABEL_IN_PAGE.search("".join(page) if isinstance(page, list) else page) if page else None
            if found:
                return found.group(1)
    return None


#: Papermill options shared by the runner and the benchmark's floor (benchmarks/bench_report.py).
#: The executed notebook is written once at the end (or when a cell fails), not before and after
#: every cell: those saves held up each cell, and a report has 10-17 cells with growing images.
PAPERMILL_OPTIONS = {"progress_bar": False, "log_output": False, "report_mode": False,
                     "request_save_on_cell_execute": False, "start_timeout": START_TIMEOUT,
                     "extra_arguments": ["--IPKernelApp.log_level=CRITICAL"]}


#: papermill reads and writes local notebooks through a handler that calls ``os.chdir`` around each
#: read and write (to a folder kept in a module-wide attribute that threads set and restore in turn):
#: with two worker threads the process could be left in another folder. The runner's notebooks go
#: through this handler instead, registered with papermill's I/O registry under its own prefix.
PAPERMILL_SCHEME = "nhs-league-file://"
_io_lock = threading.Lock()
_io_registered = False


class _NotebookFiles:
    """papermill I/O for absolute local paths, without ``os.chdir``; writes are atomic."""

    @staticmethod
    def _path(path: str) -> str:
        return path[len(PAPERMILL_SCHEME):] if path.startswith(PAPERMILL_SCHEME) else path

    def read(self, path):
        with open(self._path(path), encoding="utf-8") as fh:
            return fh.read()

    def write(self, buf, path):  # the executed notebook, in the build folder
        atomic_write_bytes(self._path(path), buf.encode("utf-8"))

    def listdir(self, path):
        folder = self._path(path)
        return [PAPERMILL_SCHEME + os.path.join(folder, name) for name in os.listdir(folder)]

    def pretty_path(self, path):
        return self._path(path)


def papermill_path(path) -> str:
    """``path`` as the runner hands it to papermill: absolute, under :data:`PAPERMILL_SCHEME` (read by
    :class:`_NotebookFiles`), with braces doubled (papermill formats paths with the parameters)."""
    global _io_registered
    with _io_lock:
        if not _io_registered:
            from papermill.iorw import papermill_io

            papermill_io.register(PAPERMILL_SCHEME, _NotebookFiles())
            _io_registered = True
    return PAPERMILL_SCHEME + str(_absolute(path)).replace("{", "{{").replace("}", "}}")


def _absolute(path) -> Path:
    """``path`` made absolute against the working folder now (symlinks are not resolved)."""
    return Path(os.path.abspath(os.fspath(path)))


def _run_job(job: Job, params: dict, *, output, build_dir, kernel, timeout, force, commit, key="") -> JobResult:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    executed = _absolute(job.build_path(build_dir))
    executed.parent.mkdir(parents=True, exist_ok=True)
    executed.unlink(missing_ok=True)  # a failure must not point at the notebook of an earlier run
    started = time.time()
    try:
        # No ``cwd=``: papermill would os.chdir() the whole process for the run, racing with the
        # other worker threads (and any relative path they use). The kernel is started in the
        # build folder instead (nbclient's resources path); the notebooks are read and written
        # through this module's I/O handler (papermill_path), which never changes folder either.
        nb = papermill.execute_notebook(papermill_path(job.notebook_path), papermill_path(executed),
                                        parameters=params, kernel_name=kernel, execution_timeout=timeout,
                                        resources={"metadata": {"path": str(executed.parent)}}, **PAPERMILL_OPTIONS)
    except PapermillExecutionError as exc:  # papermill has written the notebook, with the traceback
        return JobResult(job, False, time.time() - started, executed=executed,
                         error=f"{exc.ename}: {str(exc.evalue).splitlines()[0] if exc.evalue else ''}".strip(),
                         cell=str(exc.exec_count))
    except Exception as exc:  # kernel death, timeout, ...: still one line
        msg = str(exc).strip().splitlines()
        return JobResult(job, False, time.time() - started, executed=executed if executed.exists() else None,
                         error=f"{type(exc).__name__}: {msg[0] if msg else ''}")
    executed_at = time.time()
    label = label_of(nb) or data_label(params.get("data", []))
    title = f"{'SYNTHETIC — ' if label == 'SYNTHETIC' else ''}{job.title}: {Quarter.parse(job.quarter).label}, " \
            f"{TRUST_TYPE_LABELS[job.trust_type]}"
    page = export_html(nb, title)
    finished = time.time()
    man = manifest(job, params, output=output, build_dir=build_dir, started=started, finished=finished,
                   kernel=kernel, label=label, git_commit=commit)
    man["build_key"] = key
    html_path = atomic_write_text(job.html_path(output), page, force=force)
    atomic_write_text(job.manifest_path(output), json.dumps(man, indent=2, sort_keys=True) + "\n", force=force)
    return JobResult(job, True, finished - started, html=html_path, executed=executed,
                     execute_seconds=executed_at - started)


def _input_bytes(paths) -> int:
    """Total size of a job's input files (a rough measure of how long its notebook runs)."""
    return sum(Path(p).stat().st_size for p in paths if Path(p).is_file())


def validate_jobs(jobs) -> list[dict]:
    """Check every job's parameters against its notebook (before anything runs)."""
    declared = {}
    out = []
    for job in jobs:
        if job.notebook not in declared:
            declared[job.notebook] = notebook_parameters(job.notebook_path)
        out.append(check_parameters(job.notebook_path, job.parameters, declared=declared[job.notebook]))
    return out


def code_digest() -> str:
    """SHA-256 over the package's source and data files and the notebook templates: a report built
    with other code or templates is out of date."""
    h = hashlib.sha256()
    pkg = Path(__file__).resolve().parent
    files = sorted([*pkg.rglob("*.py"), *pkg.rglob("*.yaml"), *pkg.rglob("*.csv"), *NOTEBOOK_DIR.glob("*.ipynb")])
    for f in files:
        if "__pycache__" in f.parts:
            continue
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def build_key(job: Job, params: dict, code: str) -> str:
    """What a report depends on: the code and templates, its parameters and its input files' bytes."""
    h = hashlib.sha256(code.encode())
    h.update(json.dumps({k: v for k, v in params.items() if k != "data"}, sort_keys=True, default=str).encode())
    for p in params.get("data", []):
        h.update(file_sha256(p).encode())
    return h.hexdigest()


def _built_key(job: Job, output) -> str | None:
    """The build key in an existing report's manifest (None when there is no report of ours)."""
    mf = job.manifest_path(output)
    if not (mf.exists() and job.html_path(output).exists()):
        return None
    try:
        return json.loads(mf.read_text(encoding="utf-8")).get("build_key")
    except (OSError, ValueError):
        return None


def check_targets(jobs, output, *, force: bool, params=None, code: str | None = None) -> list[bool]:
    """Before running anything: refuse two jobs writing one report, and say which jobs are up to date.

    A report is up to date when its manifest's ``build_key`` equals the job's (same code, parameters
    and input bytes): it is skipped. A report of ours that is out of date is rebuilt. A file in the
    way that this package did not build (no manifest, or one without a build key) is never
    overwritten without ``force``. With ``force`` every job runs. Returns, per job, whether it is up
    to date."""
    seen = {}
    for job in jobs:
        target = job.html_path(output)
        if target in seen:
            raise InputError(f"two reports would be written to {target}: {seen[target]} and {job.key}")
        seen[target] = job.key
    if force:
        return [False] * len(jobs)
    params = params if params is not None else [job.parameters for job in jobs]
    code = code if code is not None else code_digest()
    fresh, foreign = [], []
    for job, prm in zip(jobs, params):
        built = _built_key(job, output)
        fresh.append(built is not None and built == build_key(job, prm, code))
        if built is None and any(p.exists() for p in (job.html_path(output), job.manifest_path(output))):
            foreign.append(next(p for p in (job.html_path(output), job.manifest_path(output)) if p.exists()))
    if foreign:
        more = f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else ""
        raise OutputExistsError(f"{foreign[0]} exists and was not built by nhs-league report{more}: "
                                "pass --force to overwrite")
    return fresh


def build(plan, *, output=None, build_dir=None, force: bool = False, jobs: int | None = None,
          timeout: int = CELL_TIMEOUT, progress: bool = True) -> list[JobResult]:
    """Run a plan: validate, check targets, execute in parallel, export HTML, write manifests and index.

    Parameters
    ----------
    plan : Plan or list of Job
    output : path, default ``reports/`` in the project folder
    build_dir : path, default ``build/notebooks/`` in the project folder
    force : bool
        Rebuild every report. Without it, a report whose manifest records the same code, parameters
        and input bytes is skipped (listed in ``plan.up_to_date``), and one out of date is rebuilt.
    jobs : int, default ``os.cpu_count()``
        Notebooks run at once (each in its own kernel process).
    timeout : int
        Seconds allowed per cell.
    progress : bool
        Show a progress bar on standard error.

    Returns
    -------
    list of JobResult
        In plan order; ``ok`` False for a failed notebook (its executed copy kept in ``build_dir``).
    """
    from tqdm import tqdm

    if isinstance(plan, list):
        plan = Plan(plan)
    # every path absolute before any thread starts: nothing below depends on the working folder
    output = _absolute(output if output is not None else REPORTS_DIR)
    build_dir = _absolute(build_dir if build_dir is not None else BUILD_DIR)
    if jobs is not None and (not _is_int(jobs) or jobs < 1):
        raise InputError(f"--jobs must be a whole number >= 1, got {jobs!r}", column="--jobs")
    if not _is_int(timeout) or not 1 <= timeout <= MAX_CELL_TIMEOUT:
        raise InputError(f"--timeout must be a whole number of seconds from 1 to {MAX_CELL_TIMEOUT}, got {timeout!r}",
                         column="--timeout")
    params = validate_jobs(plan.jobs)
    code = code_digest()
    fresh = check_targets(plan.jobs, output, force=force, params=params, code=code)
    keys = [build_key(j, p, code) for j, p in zip(plan.jobs, params)]
    plan.up_to_date = [j for j, f in zip(plan.jobs, fresh) if f]  # the caller says what was skipped
    todo = [i for i, f in enumerate(fresh) if not f]
    plan = Plan([plan.jobs[i] for i in todo], plan.skipped, plan.notes)
    params = [params[i] for i in todo]
    keys = [keys[i] for i in todo]
    if not plan.jobs:
        write_index(output, skipped=plan.skipped, notes=plan.notes)
        return []
    kernel = ensure_kernel()
    commit = _git_commit()
    n = min(jobs or os.cpu_count() or 1, len(plan.jobs))
    bar = tqdm(total=len(plan.jobs), desc="reports", unit="notebook", file=sys.stderr, disable=not progress)
    results = _run_all(plan.jobs, params, n, bar, output=output, build_dir=build_dir, kernel=kernel,
                       timeout=timeout, force=True, commit=commit, keys=keys)
    bar.close()
    write_index(output, skipped=plan.skipped, notes=plan.notes)
    return results


def _run_all(jobs, params, n, bar, *, keys, **kw) -> list[JobResult]:
    """Run ``jobs`` on ``n`` threads (each drives one kernel); results in job order."""
    results: list[JobResult | None] = [None] * len(jobs)
    with ThreadPoolExecutor(max_workers=n, thread_name_prefix="nhs-report") as pool:
        # the jobs with the most input first, so that what is left at the end, when a core may
        # wait for the last notebook, is short; results stay in plan order
        order = sorted(range(len(jobs)), key=lambda i: -_input_bytes(params[i].get("data", [])))
        futures = {pool.submit(_run_job, jobs[i], params[i], key=keys[i], **kw): i for i in order}
        for fut in as_completed(futures):
            i = futures[fut]
            results[i] = fut.result()
            bar.set_postfix_str(jobs[i].name, refresh=False)
            bar.update(1)
    return results

