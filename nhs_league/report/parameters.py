"""Report parameters: one set of checks for the runner and the notebooks."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import numpy as np

from ..errors import InputError, MethodError
from ..guards import MAX_RANK
from ..limits import MAX_DRAWS, MAX_SCENARIOS, MAX_SOBOL_N
from ..io import parse_trust_type
from ..methods import load_method
from ..quarters import Quarter

from ._common import UNCERTAINTY_SOURCES
from .inputs import resolve_data
from .papermill_io import papermill_path


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
