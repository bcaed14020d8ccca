"""The report runner with relative paths and parallel jobs (issue 17, item 7).

papermill's ``cwd=`` changes the working folder of the whole process for the length of a run.
With two worker threads (``--jobs 2``, the default on two cores) and a relative ``--build-dir``,
one thread's change moved the other's relative paths: a traceback or a missing report in most
tries. The runner now makes every path absolute before a thread starts and starts each kernel
in its build folder without changing the process's working folder, and reads and writes the
notebooks through its own papermill I/O handler (papermill's local one calls ``os.chdir`` around
each read and write).
"""

from __future__ import annotations

import os
import threading

import pytest

from test_notebooks import write_fixture_year

from nhs_league import report


@pytest.fixture(scope="module")
def fixture_files(tmp_path_factory):
    return write_fixture_year(tmp_path_factory.mktemp("data"), n=10, script_name=False)


@pytest.mark.slow
def test_two_jobs_with_relative_folders_never_change_the_working_folder(fixture_files, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    calls = []
    real_chdir = os.chdir

    def spy(path):  # a change of the process's working folder to another folder is the race
        calls.append((threading.current_thread().name, os.path.abspath(path)))
        return real_chdir(path)

    monkeypatch.setattr(os, "chdir", spy)
    plan = report.plan_for_data([str(p) for p in fixture_files], quarter="2025Q4", trust_type="acute",
                                notebooks=["league_table", "rank_uncertainty"], parameters={"draws": 20})
    assert len(plan.jobs) == 2
    results = report.build(plan, output="out", build_dir="build", jobs=2, progress=False)
    # no worker thread changes the working folder (the old runner went to each build folder, and
    # papermill's own file handler re-entered a folder kept in a module-wide attribute)
    assert [c for c in calls if c[0] != "MainThread"] == []
    assert [c for c in calls if c[1] != str(tmp_path)] == []
    assert os.getcwd() == str(tmp_path)
    assert [r.ok for r in results] == [True, True], [r.line() for r in results]
    for job, r in zip(plan.jobs, results):
        # written where the relative folders point from the folder the build started in
        assert r.html == tmp_path / "out" / "2025Q4" / "acute" / f"{job.name}.html"
        assert r.html.is_file() and job.manifest_path(tmp_path / "out").is_file()
        assert r.executed == tmp_path / "build" / "2025Q4" / "acute" / f"{job.name}.ipynb"
        assert r.executed.is_file()
    assert (tmp_path / "out" / "index.html").is_file()


def test_every_path_of_a_build_is_absolute_before_any_thread_starts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    seen = {}

    def fake_run_all(jobs, params, n, bar, **kw):
        seen.update(kw)
        return []

    monkeypatch.setattr(report.run, "_run_all", fake_run_all)
    monkeypatch.setattr(report.run, "ensure_kernel", lambda: "python3")
    job = report.Job("league_table", {"quarter": "2025Q4", "trust_type": "acute"}, "league_table", "2025Q4", "acute")
    report.build([job], output="rel/out", build_dir="rel/build", jobs=2, progress=False)
    assert seen["output"] == tmp_path / "rel" / "out" and seen["output"].is_absolute()
    assert seen["build_dir"] == tmp_path / "rel" / "build" and seen["build_dir"].is_absolute()


def test_the_runners_notebook_io_never_changes_folder_and_keeps_braces(tmp_path, monkeypatch):
    from papermill.iorw import load_notebook_node, write_ipynb
    from papermill.parameterize import parameterize_path

    monkeypatch.setattr(os, "chdir", lambda p: pytest.fail(f"os.chdir({p!r})"))
    folder = tmp_path / "{quarter}"  # papermill formats paths with the parameters: braces are kept
    folder.mkdir()
    nb = load_notebook_node(report.papermill_path(report.NOTEBOOK_DIR / "league_table.ipynb"))
    out = parameterize_path(report.papermill_path(folder / "out.ipynb"), {"quarter": "2025Q3"})  # as papermill does
    write_ipynb(nb, out)
    assert (folder / "out.ipynb").is_file()
    assert report.notebook_parameters(report.NOTEBOOK_DIR / "league_table.ipynb")["quarter"]


@pytest.mark.parametrize("timeout", [0, -5, 10 ** 9, 2.5, True])
def test_an_impossible_timeout_is_an_error_before_anything_runs(tmp_path, timeout):
    from nhs_league.errors import InputError

    job = report.Job("league_table", {}, "league_table", "2025Q4", "acute")
    with pytest.raises(InputError, match="--timeout"):
        report.build([job], output=tmp_path / "o", build_dir=tmp_path / "b", timeout=timeout, progress=False)
    assert not (tmp_path / "b").exists()
