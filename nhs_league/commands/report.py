"""``nhs-league report``: build the HTML reports from the notebook templates."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..errors import InputError
from ..files import OutputExistsError


def register(sub) -> None:
    p = sub.add_parser(
        "report", help="build the HTML reports (papermill + nbconvert)",
        description="Run the parameterised notebooks and export them as HTML reports under "
                    "reports/<quarter>/<trust type>/, with a manifest beside each and an index page. "
                    "With no arguments, builds the default suite (nhs_league/data/reports.yaml): the "
                    "synthetic 2025/26 year and, when ../shared holds them, NHS England's official mental health and "
                    "community release (Q1-Q4 2025/26) and the third-party acute Q3 2025/26 extract. "
                    "With --data, builds every report the given files support.")
    p.add_argument("--data", nargs="+", metavar="PATH", default=None,
                   help="input CSV files or folders (default: the suite's datasets)")
    p.add_argument("--quarter", default=None, help="only this quarter, e.g. 2025Q4 or 'Q4 2025/26'")
    p.add_argument("--trust-type", default=None,
                   help="only this trust type: acute, mental-health-and-community (non-acute) or ambulance")
    p.add_argument("--notebook", action="append", default=None, metavar="NAME",
                   help="only this notebook (repeatable): league_table, rank_uncertainty, sensitivity, "
                        "trust_profile, quarter_comparison, context")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="set a notebook parameter (repeatable); the value is read as the type of the "
                        "notebook's default, e.g. --param draws=200 --param trust_code=R0A")
    p.add_argument("--output", default=None, help="reports folder (default: reports/ in the project)")
    p.add_argument("--build-dir", default=None,
                   help="where executed notebooks are kept (default: build/notebooks/ in the project)")
    p.add_argument("--suite", default=None, help="a suite YAML file instead of the built-in one")
    p.add_argument("--force", action="store_true",
                   help="rebuild every report (default: only those out of date; a file not built here is never overwritten)")
    p.add_argument("--jobs", type=int, default=None,
                   help=f"notebooks run at once (default: the number of cores, {os.cpu_count()})")
    p.add_argument("--timeout", type=int, default=None, help="seconds allowed per notebook cell (default 600)")
    p.add_argument("--list", action="store_true", help="list the reports that would be built, and stop")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--provisional", action="store_true",
                   help="reports of quarters whose preset has unpublished segment thresholds (nof-2026-27) use "
                        "its provisional cut-offs, and say PROVISIONAL")
    p.set_defaults(run=run)


#: Parameters the runner sets for each report from its plan, and the option that chooses them.
RUNNER_SET = {"quarter": "--quarter", "trust_type": "--trust-type", "data": "--data"}


def provisional_presets(jobs, build_dir, provisional: bool) -> int:
    """Jobs whose preset lacks its type's segment thresholds: without ``provisional`` the first is a
    one-line :class:`MethodError` (before anything is built); with it each is pointed at a copy of
    the preset that says ``provisional`` for them (under ``build_dir/presets/``). Returns how many
    jobs changed."""
    from ..files import atomic_write_text
    from ..methods import PROVISIONAL_VALUE, default_method_for, load_method, resolve_for
    from ..report import BUILD_DIR

    import yaml

    changed, written = 0, {}
    for job in jobs:
        name = job.parameters.get("method") or ""
        m = load_method(name) if name else default_method_for(job.quarter)
        if m.settings["segmentation"]["rule"] != "thresholds" or m.thresholds[job.trust_type] is not None:
            continue
        if not provisional:
            resolve_for(m, job.trust_type)  # raises: the thresholds are not published, --provisional is not given
        if m.fingerprint() not in written:
            d = m.to_dict()
            d["segmentation"]["thresholds"] = {t: PROVISIONAL_VALUE if v is None else (v if isinstance(v, str) else list(v))
                                               for t, v in m.thresholds.items()}
            path = Path(build_dir or BUILD_DIR) / "presets" / f"{m.name}-provisional.yaml"
            atomic_write_text(path, yaml.safe_dump(d, sort_keys=False, allow_unicode=True))
            written[m.fingerprint()] = str(path)
        job.parameters["method"] = written[m.fingerprint()]
        changed += 1
    return changed


def _parameters(items, notebooks) -> dict:
    """``KEY=VALUE`` items typed by the defaults of the notebooks they go to."""
    from ..report import NOTEBOOK_DIR, coerce_text, notebook_parameters, validate_values

    out = {}
    if not items:
        return out
    names = notebooks or sorted(p.stem for p in NOTEBOOK_DIR.glob("*.ipynb"))
    declared = {}
    for nb in names:
        declared.update(notebook_parameters(NOTEBOOK_DIR / f"{nb}.ipynb"))
    for item in items:
        if "=" not in item:
            raise InputError(f"--param expects KEY=VALUE, got {item!r}", column="--param")
        key, text = item.split("=", 1)
        key = key.strip()
        if key not in declared:
            raise InputError(f"unknown parameter {key!r}; the notebooks declare {sorted(declared)}",
                             column="--param")
        if key in RUNNER_SET:
            raise InputError(f"parameter {key!r} is set for each report by the runner: give {RUNNER_SET[key]} "
                             "instead of --param", column="--param")
        try:
            out[key] = coerce_text(key, text, declared[key])
        except InputError as exc:
            raise InputError(exc.message, column="--param") from None
    try:  # the values' meaning, now, whichever notebooks they go to (an impossible value is an error)
        return validate_values(out)
    except InputError as exc:
        raise InputError(exc.message, column="--param") from None


def run(args) -> int:
    from .. import report

    if args.timeout is not None and not 1 <= args.timeout <= report.MAX_CELL_TIMEOUT:
        raise InputError(f"--timeout must be a whole number of seconds from 1 to {report.MAX_CELL_TIMEOUT}, "
                         f"got {args.timeout}", column="--timeout")
    if args.jobs is not None and args.jobs < 1:
        raise InputError(f"--jobs must be a whole number >= 1, got {args.jobs}", column="--jobs")
    params = _parameters(args.param, args.notebook)
    if args.data:
        data = [str(Path(p).expanduser().resolve()) for p in args.data]  # relative to where the user is
        plan = report.plan_for_data(data, quarter=args.quarter, trust_type=args.trust_type,
                                    notebooks=args.notebook, parameters=params, suite=args.suite)
    else:
        plan = report.plan_suite(args.suite, quarter=args.quarter, trust_type=args.trust_type,
                                 notebooks=args.notebook)
        declared = {}
        for job in plan.jobs:  # each notebook gets the --param values it declares
            if job.notebook not in declared:
                declared[job.notebook] = report.notebook_parameters(job.notebook_path)
            job.parameters.update({k: v for k, v in params.items() if k in declared[job.notebook]})
    if args.notebook:
        unknown = sorted(set(args.notebook) - {p.stem for p in report.NOTEBOOK_DIR.glob("*.ipynb")})
        if unknown:
            raise InputError(f"no notebook named {unknown[0]!r} in {report.NOTEBOOK_DIR}", column="--notebook")
    provisional_presets(plan.jobs, args.build_dir, args.provisional)
    output = Path(args.output) if args.output else report.REPORTS_DIR
    if output.is_symlink() and not args.force:
        raise OutputExistsError(f"{output} is a symbolic link: it is not followed; pass --force to write the "
                                "reports into the folder it points to")
    if args.list:
        report.validate_jobs(plan.jobs)
        for job in plan.jobs:
            print(job.html_path(output))
        for what, why in plan.skipped:
            print(f"not built: {what}: {why}", file=sys.stderr)
        return 0
    if not plan.jobs:
        print("nhs-league: nothing to build for that choice", file=sys.stderr)
    results = report.build(plan, output=output, build_dir=args.build_dir, force=args.force, jobs=args.jobs,
                           timeout=args.timeout or report.CELL_TIMEOUT, progress=not args.quiet)
    failed = [r for r in results if not r.ok]
    if plan.up_to_date:
        print(f"nhs-league: skipped {len(plan.up_to_date)} report(s) already up to date (same code, parameters "
              "and inputs); pass --force to rebuild them", file=sys.stderr)
    for what, why in plan.skipped:
        print(f"nhs-league: note: not built: {what}: {why}", file=sys.stderr)
    for r in failed:
        print(f"nhs-league: error: {r.line()}", file=sys.stderr)
    done = len(results) - len(failed)
    print(f"nhs-league: {done} report(s) written under {output} (index: {output / 'index.html'})"
          + (f"; {len(failed)} failed" if failed else ""), file=sys.stderr)
    return 2 if failed else 0
