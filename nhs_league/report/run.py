"""Running a plan: the kernel, papermill, nbconvert, build keys, and :func:`build`."""

from __future__ import annotations

import hashlib
import html
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..files import OutputExistsError, atomic_write_text
from ..io import TRUST_TYPE_LABELS, file_sha256
from ..quarters import Quarter

from ._common import BUILD_DIR, CELL_TIMEOUT, KERNEL_NAME, MAX_CELL_TIMEOUT, NOTEBOOK_DIR, REPORTS_DIR, START_TIMEOUT, _LABEL_IN_PAGE
from .parameters import _is_int, check_parameters, notebook_parameters
from .inputs import data_label
from .suite import Job, Plan
from .index import _git_commit, manifest, write_index
from .papermill_io import _absolute, papermill_path


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


#: Kernels started for one report before its failure to start is reported. jupyter_client picks a
#: kernel's five TCP ports by binding and releasing them; another process can take one of them
#: before the kernel binds it (jupyter/jupyter_client#487), and the kernel then stops with
#: "Address already in use" before running anything. Seen once in a 100-report build on 2 cores.
KERNEL_START_ATTEMPTS = 3

_NEVER_STARTED = ("Kernel didn't respond", "Kernel died before replying to kernel_info")


def kernel_never_started(exc: BaseException) -> bool:
    """Whether ``exc`` is nbclient saying the kernel never came up (so no cell ran)."""
    return isinstance(exc, RuntimeError) and str(exc).startswith(_NEVER_STARTED)


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
        for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
            try:
                nb = papermill.execute_notebook(papermill_path(job.notebook_path), papermill_path(executed),
                                                parameters=params, kernel_name=kernel, execution_timeout=timeout,
                                                resources={"metadata": {"path": str(executed.parent)}},
                                                **PAPERMILL_OPTIONS)
                break
            except RuntimeError as exc:
                # a kernel that never came up ran nothing: start another (below), at most
                # KERNEL_START_ATTEMPTS in all; any other failure is the notebook's own
                if attempt == KERNEL_START_ATTEMPTS or not kernel_never_started(exc):
                    raise
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
    pkg = Path(__file__).resolve().parent.parent
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
