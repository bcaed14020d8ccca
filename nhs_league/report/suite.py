"""Jobs and the suite: the default suite (``nhs_league/data/reports.yaml``) and files given on the command line, as :class:`Job` s."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import orgtypes
from ..errors import InputError, MethodError
from ..io import parse_trust_type, rows_for, select_quarter
from ..methods import read_yaml
from ..quarters import Quarter

from ._common import NOTEBOOK_DIR, ROOT, SUITE_FILE
from .parameters import notebook_parameters
from .inputs import capabilities, load_inputs, resolve_data, synthetic_files


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
    from ..quarters import quarter_from_path

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
