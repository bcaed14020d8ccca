"""The report builder behind ``nhs-league report``, and what the report notebooks call.

The package's modules name their jobs: :mod:`.parameters` (checks), :mod:`.inputs` (files and what
they support), :mod:`.notebook` (:class:`ReportContext`, :func:`prepare`), :mod:`.analyses` (what the
notebooks show), :mod:`.suite` (jobs), :mod:`.run` (kernel, papermill, nbconvert, :func:`build`),
:mod:`.index` (manifests and the index page) and :mod:`.papermill_io`. Everything is re-exported
here, so notebooks and callers use ``report.<name>``.

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

from .. import __version__  # noqa: F401  (manifests record it; tests read report.__version__)
from ._common import BUILD_DIR, CELL_TIMEOUT, KERNEL_NAME, MAX_CELL_TIMEOUT, NOTEBOOK_DIR, NO_METRIC_SCORES, PACKAGE_DIR, REPORTS_DIR, ROOT, START_TIMEOUT, SUITE_FILE, SYNTHETIC_DIR, TRUST_TYPES, UNCERTAINTY_SOURCES, _LABEL_ATTR, _LABEL_IN_PAGE  # noqa: F401
from .parameters import _assigned_names, _check_type, _is_int, check_parameters, coerce_text, notebook_parameters, validate_values  # noqa: F401
from .inputs import _is_extract, capabilities, data_label, load_inputs, resolve_data, synthetic_files  # noqa: F401
from .notebook import ReportContext, median_trust, override_effect, prepare  # noqa: F401
from .analyses import LEAGUE_COLUMNS, Positions, REPORT_NHSE_DRAWS, _estimates, _method_for, compare_quarters, concordance_matrix, funnel_summary, league_view, metric_score_frame, move_counts, override_note, pair_summary, pick_trust, position_ranges, positions, proportion_metrics, rank_set_table, rank_shift_frame, raw_value_table, replicates, segment_moves, segment_probability_table, sensitivity_data, sensitivity_space, trend  # noqa: F401
from .suite import Job, Plan, _data_for, _dataset_paths, _stem, _trust_codes, files_for_quarters, files_for_type, load_suite, plan_for_data, plan_suite  # noqa: F401
from .index import REPORT_QUESTIONS, _INDEX_SEARCH, _KIND_ORDER, _git_commit, _index_rows, _index_section, manifest, write_index  # noqa: F401
from .papermill_io import PAPERMILL_SCHEME, _NotebookFiles, _absolute, _io_lock, _io_registered, papermill_path  # noqa: F401
from .run import JobResult, KERNEL_START_ATTEMPTS, PAPERMILL_OPTIONS, kernel_never_started, _PRINT_CSS, _TABLE_LIBRARY_MARK, _built_key, _exporters_lock, _input_bytes, _kernel_lock, _new_exporter, _run_all, _run_job, build, build_key, check_targets, code_digest, ensure_kernel, export_html, label_of, validate_jobs, with_table_library  # noqa: F401

__all__ = [
    "Job", "JobResult", "ReportContext", "prepare", "plan_suite", "plan_for_data", "build", "check_parameters", "validate_values", "ensure_kernel", "notebook_parameters", "manifest", "write_index", "resolve_data", "synthetic_files", "override_effect", "median_trust", "load_inputs", "capabilities", "load_suite", "export_html", "label_of", "PAPERMILL_OPTIONS", "funnel_summary", "proportion_metrics",
]
