"""Arguments and loading shared by the commands that compute from input files."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import orgtypes
from ..catalogue import load_catalogue
from ..errors import Problems
from ..files import OutputError, OutputExistsError, csv_text, refuse_existing, system_words, write_csv
from ..io import Inputs, parse_trust_type, read_inputs, rows_for, select_quarter
from ..methods import Method, default_method_for, load_method, resolve_for
from ..pipeline import Panel, build_panel, unknown_metric_notes


def add_input_arguments(p, *, output_help="CSV file to write (default: standard output)") -> None:
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="NOF data file(s) and/or league-table file(s), CSV as published by NHS England")
    p.add_argument("--quarter", required=True, help="quarter, e.g. 2025Q3 or 'Q3 2025/26'")
    p.add_argument("--trust-type", required=True,
                   help=f"organisation type: {orgtypes.describe()} (nhs_league/data/org_types.yaml)")
    p.add_argument("--method", default=None,
                   help="method preset name or YAML file (default: NHS England's preset for the quarter)")
    p.add_argument("--provisional", action="store_true",
                   help="with a preset whose segment thresholds NHS England has not published (nof-2026-27): "
                        "use its provisional cut-offs and label every output PROVISIONAL")
    p.add_argument("--catalogue", default=None,
                   help="extra metric catalogue CSV: its rows replace or add to the built-in catalogue")
    p.add_argument("--output", default=None, help=output_help)
    p.add_argument("--force", action="store_true", help="overwrite an existing output")


@dataclass
class Loaded:
    inputs: Inputs
    quarter: str
    trust_type: str
    method: Method
    catalogue: pd.DataFrame
    notes: list = field(default_factory=list)  # printed by print_notes() once the command has its result
    extract: bool = False  # the third-party real Q3 extract: published averages and domain scores, no metric scores

    def panel(self, *, require_metrics=True) -> Panel:
        return build_panel(self.inputs, self.quarter, self.trust_type, catalogue=self.catalogue,
                           require_metrics=require_metrics)

    @property
    def has_metrics(self) -> bool:
        return len(rows_for(self.inputs.metrics, self.quarter, self.trust_type)) > 0

    @property
    def has_league(self) -> bool:
        return len(rows_for(self.inputs.league, self.quarter, self.trust_type)) > 0


def load(args) -> Loaded:
    trust_type = parse_trust_type(args.trust_type)
    catalogue = load_catalogue(args.catalogue)
    problems = Problems()
    inputs = read_any_inputs(args.inputs, problems, catalogue=catalogue)
    quarter = select_quarter(inputs, args.quarter)
    method = load_method(args.method) if args.method else default_method_for(quarter)
    method = resolve_for(method, trust_type, provisional=getattr(args, "provisional", False))
    catalogue = restrict_catalogue(catalogue, trust_type, method.metric_list(trust_type), method.name)
    notes = notes_for(inputs) + quarter_notes(inputs, quarter) + segment5_notes(inputs, method)
    if method.provisional:
        notes.append(f"PROVISIONAL: {method.name}: NHS England's segment thresholds for {trust_type} "
                     "organisations are not published; segments use stand-in cut-offs")
    from ..realdata import SOURCE_NOTE

    return Loaded(inputs, quarter, trust_type, method, catalogue, notes,
                  extract=inputs.league.attrs.get("source") == SOURCE_NOTE)


def read_any_inputs(paths, problems: Problems, *, catalogue=None) -> Inputs:
    """Official data and league-table files, or the third-party real Q3 2025/26 extract on its own
    (recognised by its header; read by :func:`nhs_league.realdata.read_extract`, as ``report`` does)."""
    from ..realdata import is_extract, read_extract

    extract = [p for p in paths if is_extract(p)]
    if not extract:
        return read_inputs(paths, problems, catalogue=catalogue)
    if len(paths) > 1:
        from ..errors import InputError

        raise InputError("the real-data extract must be read on its own, not with other files",
                         file=extract[0], column="INPUT")
    return read_extract(extract[0])


def restrict_catalogue(catalogue: pd.DataFrame, trust_type: str, metric_ids, method_name: str) -> pd.DataFrame:
    """The catalogue with only ``metric_ids`` scored for ``trust_type`` (None: unchanged).

    A listed metric the catalogue does not have for the type is a :class:`MethodError` naming it.
    """
    if metric_ids is None:
        return catalogue
    from ..errors import MethodError

    of_type = catalogue["trust_types"].map(lambda ts: trust_type in ts)
    absent = [m for m in metric_ids if m not in set(catalogue.index[of_type])]
    if absent:
        raise MethodError(f"method {method_name!r}: scoring.metric_lists.{trust_type} names "
                          f"{', '.join(absent)}, not in the catalogue for {trust_type} (add with --catalogue FILE)")
    drop = of_type & ~catalogue["metric_id"].isin(list(metric_ids)) & catalogue["rule"].ne("input")
    out = catalogue.copy()
    out.loc[drop, "trust_types"] = out.loc[drop, "trust_types"].map(lambda ts: tuple(t for t in ts if t != trust_type))
    return out


def segment5_notes(inputs: Inputs, method: Method) -> list[str]:
    """Name the segment-5 trusts of a ``segment5: source: list`` preset that no input holds (a
    mistyped ODS code would otherwise leave a trust out of segment 5 without a word)."""
    s5 = method.settings["segment5"]
    if s5.get("source") != "list":
        return []
    held = set()
    for t in (inputs.metrics, inputs.league):
        if len(t):
            held |= set(t["trust_code"])
    missing = sorted(set(s5.get("trusts") or []) - held)
    if not missing:
        return []
    return [f"method {method.name!r}: segment5.trusts names {len(missing)} trust code(s) that no input holds, "
            f"so they are in no segment 5: {', '.join(missing)}"]


def print_notes(notes) -> None:
    """Print notes on standard error; commands call this once their result is computed, so that a
    failed run prints only its one error line. A note given twice is printed once."""
    for note in dict.fromkeys(notes):
        print(f"nhs-league: note: {note}", file=sys.stderr)


def quarter_notes(inputs: Inputs, quarter: str) -> list[str]:
    """Name the files that do not say their quarter and are taken to hold ``quarter``."""
    unstated = set()
    for t in (inputs.metrics, inputs.league):
        if len(t):
            unstated |= set(t.loc[t["quarter"].eq(""), "source_file"])
    if not unstated:
        return []
    from ..quarters import Quarter
    return [f"{', '.join(sorted(unstated))} do{'es' if len(unstated) == 1 else ''} not say which quarter "
            f"{'it holds' if len(unstated) == 1 else 'they hold'}: taken as {Quarter.parse(quarter).label} "
            "(--quarter)"]


def check_output_file(args) -> None:
    """Before any work: refuse an ``--output`` that is a folder, a symlink (dangling or not) or an
    existing file without ``--force``, or whose folder is a file."""
    out = getattr(args, "output", None)
    if out in (None, "-"):
        return
    p = Path(out)
    refuse_existing(p, force=bool(getattr(args, "force", False)), what="--output")
    parent = next((q for q in p.parents if q.exists()), None)
    if parent is not None and not parent.is_dir():
        raise OutputError(f"cannot write {p}: {parent} is a file, not a folder")


def check_output_folder(out, *, files, force: bool) -> None:
    """Before any work, for a command that writes ``files`` into the folder ``out``: refuse an ``out``
    that is a file or a symlink, and (without ``force``) any of ``files`` that exists or is a symlink."""
    out = Path(out)
    if out.is_symlink() and not force:
        raise OutputExistsError(f"{out} is a symbolic link: it is not followed; pass --force to write into "
                                "the folder it points to")
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out} exists and is not a folder: give a folder for --output")
    parent = next((q for q in out.parents if q.exists()), None)
    if parent is not None and not parent.is_dir():
        raise OutputError(f"cannot write into {out}: {parent} is a file, not a folder")
    existing = [str(out / f) for f in files if os.path.lexists(out / f)]
    if existing and not force:
        raise OutputExistsError(f"{existing[0]} exists"
                                f"{f' (and {len(existing) - 1} more)' if len(existing) > 1 else ''}: "
                                "pass --force to overwrite")


def notes_for(inputs: Inputs) -> list[str]:
    out = unknown_metric_notes(inputs)  # one line each, never dropped silently
    if inputs.synthetic:
        out.append("the input is SYNTHETIC data: results are not about real trusts")
    if any(getattr(t, "attrs", {}).get("source") for t in (inputs.metrics, inputs.league)):
        out.append(f"input: {inputs.league.attrs.get('source') or inputs.metrics.attrs.get('source')}")
    return out


def emit(df: pd.DataFrame, output, *, force: bool, notes=()) -> None:
    """Write a table to ``output`` atomically (refusing to overwrite without force) or stdout.

    ``notes`` are printed on standard error only once the table can be written, so that a run
    that fails prints just its one error line.
    """
    if output in (None, "-"):
        try:
            sys.stdout.write(csv_text(df))
            sys.stdout.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise OutputError(f"cannot write the table to standard output: {system_words(exc)}") from None
        print_notes(notes)
    else:
        write_csv(df, output, force=force)
        print_notes(notes)
        print(f"nhs-league: wrote {output} ({len(df)} rows)", file=sys.stderr)


