"""Manifests and the index page of a reports folder."""

from __future__ import annotations

import datetime as _dt
import html
import json
import platform
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import MethodError
from ..files import atomic_write_text
from ..io import TRUST_TYPE_LABELS, file_sha256
from ..methods import default_method_for, load_method, resolve_for
from ..quarters import Quarter

from ._common import ROOT, TRUST_TYPES
from .suite import Job


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
