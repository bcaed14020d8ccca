"""The notebook templates: stored clean, thin, parameterised; each one runs end to end.

Every notebook is executed once by papermill (through the runner, on tiny official-format
fixture files written here) and its HTML report is checked. :func:`write_fixture_year` is also
used by test_report.py and test_html_browser.py.
"""

from __future__ import annotations

import ast
import hashlib
import html
import json
from pathlib import Path

import nbformat
import numpy as np
import pytest

from conftest import DATA_HEADER_Q3, LEAGUE_HEADER_Q3, csv_bytes

from nhs_league import report
from nhs_league.errors import InputError

NOTEBOOKS = sorted(report.NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = {"league_table", "rank_uncertainty", "sensitivity", "trust_profile", "quarter_comparison", "context"}
SCRIPT_NAME = "<script>alert(1)</script> Hospital NHS Trust"

# --------------------------------------------------------------------------------------
# Tiny fixture year: 12 acute trusts, two quarters, official column names
# --------------------------------------------------------------------------------------
_PROPORTIONS = {"OF0023": (0.6, "% of RTT waiting list within 18 weeks"),
                "OF0010": (0.75, "Cancer 28-day Faster Diagnosis Standard %"),
                "OF0011": (0.7, "Cancer 62-day %"),
                "OF0082": (0.05, "Sickness absence rate")}
_SCORES = {"OF0061": 6.5, "OF0084": 6.8}
DATA_HEADER = DATA_HEADER_Q3 + ["Numerator", "Denominator", "Data_source"]
LEAGUE_HEADER = LEAGUE_HEADER_Q3 + ["Data_source"]


def write_fixture_year(folder: Path, *, n: int = 12, seed: int = 7, label: str = "SYNTHETIC",
                       script_name: bool = True) -> list[Path]:
    """Two quarters (Q3, Q4 2025/26) of acute data files in official format; trust ZZ003 is named with a ``<script>`` tag; ZZ005 and ZZ010 are
    specialist trusts (the sensitivity analysis varies the peer set)."""
    rng = np.random.default_rng(seed)
    codes = [f"ZZ{i:03d}" for i in range(1, n + 1)]
    names = {c: f"Fixture Trust {c}" for c in codes}
    if script_name:
        names["ZZ003"] = SCRIPT_NAME
    quality = rng.normal(0, 1, n)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for q in (3, 4):
        label_q = f"Q{q} 2025/26"
        rows = []
        for i, code in enumerate(codes):  # tiny fixture: 12 trusts
            subtype = "Acute - Specialist" if i in (4, 9) else "Acute - Large"
            base = {"Region": "London", "Trust_type": "Acute trust", "Trust_subtype": subtype,
                    "Trust_code": code, "Trust_name": names[code], "Reporting_date": f"Q{q} 2025/26",
                    "Quarter": label_q, "Data_source": label}
            for mid, (p0, desc) in _PROPORTIONS.items():
                den = int(rng.integers(800, 6000))
                sign = -1 if mid == "OF0082" else 1
                p = float(np.clip(p0 + sign * 0.05 * quality[i] + rng.normal(0, 0.02), 0.01, 0.99))
                num = int(rng.binomial(den, p))
                rows.append({**base, "Metric_ID": mid, "Metric_description": desc, "Units": "percentage",
                             "Value": f"{100 * num / den:.4f}", "Numerator": str(num), "Denominator": str(den)})
            for mid, centre in _SCORES.items():
                rows.append({**base, "Metric_ID": mid, "Metric_description": mid, "Units": "score",
                             "Value": f"{centre + 0.3 * quality[i] + rng.normal(0, 0.2):.2f}"})
            rows.append({**base, "Metric_ID": "OF0085", "Metric_description": "productivity", "Units": "percentage",
                         "Value": f"{rng.normal(0, 3):.2f}"})
            rows.append({**base, "Metric_ID": "OF0079", "Metric_description": "plan", "Units": "percentage of income",
                         "Value": f"{(-1.0 if i % 3 == 0 else 0.5):.2f}"})
            rows.append({**base, "Metric_ID": "OF0081", "Metric_description": "variance",
                         "Units": "percentage of income", "Value": f"{rng.normal(0, 1):.2f}"})
        p = folder / f"nhs-oversight-framework-acute-trust-data-q{q}-25-26-v2.csv"
        p.write_bytes(csv_bytes(DATA_HEADER, rows))
        paths.append(p)
    return paths


def write_league_only(folder: Path) -> Path:
    """A Q4 league-table file only (no metric data), as the second input route."""
    rows = [{"Region": "London", "Trust_type": "Acute trust", "Trust_subtype": "Acute - Large",
             "Trust_code": f"ZZ{i:03d}", "Trust_name": f"League Trust {i}", "Quarter": "Q4 2025/26",
             "Average_score": f"{1.8 + 0.1 * i:.2f}", "Trust_in_financial_deficit": "Yes" if i % 4 == 0 else "No",
             "Data_source": "SYNTHETIC"} for i in range(1, 11)]
    p = folder / "nhs-oversight-framework-acute-trust-league-table-q4-25-26-v2.csv"
    p.write_bytes(csv_bytes(LEAGUE_HEADER, rows))
    return p


FAST = {"draws": 60, "scenarios": 60, "sobol_n_base": 16}


def write_fixture_context(folder: Path, *, n: int = 12, seed: int = 7) -> dict:
    """SYNTHETIC catchments of the fixture trusts over four areas, and the areas' index."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    areas = ["ZA1", "ZA2", "ZA3", "ZA4"]
    rows = []
    for i in range(1, n + 1):
        w = rng.dirichlet(np.ones(len(areas)))
        rows += [f"ZZ{i:03d},{a},{x:.6f},SYNTHETIC" for a, x in zip(areas, w)]
    c = folder / "catchment.csv"
    c.write_text("trust_code,area_code,share,Data_source\n" + "\n".join(rows) + "\n", encoding="utf-8")
    idx = folder / "index.csv"
    idx.write_text("area_code,Score,Income_Score,Data_source\n"
                   + "".join(f"{a},{s},{s / 200:.4f},SYNTHETIC\n" for a, s in zip(areas, (8.0, 17.5, 26.0, 41.0))),
                   encoding="utf-8")
    return {"catchment": str(c), "index": str(idx)}


# --------------------------------------------------------------------------------------
# Static checks on the stored templates
# --------------------------------------------------------------------------------------
def test_every_expected_notebook_is_there():
    assert {p.stem for p in NOTEBOOKS} == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_without_outputs(path):
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: a code cell has stored outputs"
            assert cell.execution_count is None, f"{path.name}: a code cell has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_def_or_class(path):
    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        bad = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                                           ast.Lambda))]
        assert not bad, f"{path.name}: define functions in the package, not in a notebook"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_plain_literals_with_comments(path):
    nb = nbformat.read(str(path), as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    lines = [ln for ln in tagged[0].source.splitlines() if ln.strip()]
    for ln in lines:
        code, _, comment = ln.partition("#")
        node = ast.parse(code).body[0]
        assert isinstance(node, ast.Assign), ln
        ast.literal_eval(node.value)  # raises if not a plain literal
        assert comment.strip(), f"{path.name}: parameter line without a comment: {ln!r}"
    declared = report.notebook_parameters(path)
    assert {"quarter", "trust_type", "data", "method", "seed", "coverage", "draws"} <= set(declared)
    assert len(declared) == len(lines)  # papermill read every line


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_validation_call_follows_parameters(path):
    nb = nbformat.read(str(path), as_version=4)
    i = next(k for k, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    nxt = nb.cells[i + 1]
    assert nxt.cell_type == "code" and "report.prepare(" in nxt.source
    # every chart shown comes from nhs_league.charts, and the prose says what it does not show
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown").lower()
    n_charts = sum(c.source.count("charts.show(") for c in nb.cells if c.cell_type == "code")
    assert n_charts >= 1
    assert text.count("what it shows") + text.count("what the chart shows") + text.count("what the charts show") >= 1
    last_md = ""
    for c in nb.cells:  # the prose right before every chart says what it shows and what it does not
        if c.cell_type == "markdown":
            last_md = c.source.lower()
        elif "charts.show(" in c.source:
            assert "show" in last_md and ("not show" in last_md or "not shown" in last_md), c.source[:80]
    assert "import matplotlib" not in "\n".join(c.source for c in nb.cells)


def test_unreadable_parameter_line_is_an_error(tmp_path):
    # papermill silently skips a line with '=' in its comment; the runner must not
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "p"}
    nb.metadata["language_info"] = {"name": "python"}
    cell = nbformat.v4.new_code_cell('quarter = "2025Q4"  # quarter\ndata = []  # [] = default')
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell]
    p = tmp_path / "bad.ipynb"
    nbformat.write(nb, str(p))
    with pytest.raises(InputError, match="data"):
        report.notebook_parameters(p)


# --------------------------------------------------------------------------------------
# Every notebook executed by papermill on the fixture year
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def built(tmp_path_factory):
    base = tmp_path_factory.mktemp("nbrun")
    files = write_fixture_year(base / "data")
    ctx_files = write_fixture_context(base / "context")
    plan = report.plan_for_data(files, quarter="2025Q4", trust_type="acute", parameters={**FAST, **ctx_files})
    out, build_dir = base / "reports", base / "build"
    results = report.build(plan, output=out, build_dir=build_dir, jobs=2, progress=False, timeout=120)
    return {"files": files, "plan": plan, "results": {r.job.notebook: r for r in results}, "out": out,
            "build": build_dir}


@pytest.mark.slow
def test_plan_covers_every_notebook(built):
    assert {j.notebook for j in built["plan"].jobs} == EXPECTED
    assert built["plan"].skipped == []


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_runs_and_exports(built, name):
    r = built["results"][name]
    assert r.ok, r.line()
    page = r.html.read_text(encoding="utf-8")
    assert r.html == built["out"] / "2025Q4" / "acute" / f"{r.job.name}.html"
    assert "SYNTHETIC" in page
    assert "report.prepare(" not in page  # code cells are not in the report
    assert "Traceback" not in page
    assert 'class="nhs-chart"' in page or 'class="nhs-table' in page
    # the executed notebook is kept in the build folder, with outputs
    nb = nbformat.read(str(r.executed), as_version=4)
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code")
    # raw trust names never reach the page unescaped
    assert "<script>alert(1)" not in page


@pytest.mark.slow
def test_script_name_is_escaped_in_tables(built):
    page = built["results"]["league_table"].html.read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Hospital NHS Trust" in page


@pytest.mark.slow
def test_manifest_beside_each_report(built):
    for name, r in built["results"].items():
        m = json.loads(r.job.manifest_path(built["out"]).read_text(encoding="utf-8"))
        assert m["notebook"] == f"notebooks/{name}.ipynb"
        assert m["data"] == "SYNTHETIC"
        assert m["parameters"]["quarter"] == "2025Q4" and m["parameters"]["trust_type"] == "acute"
        want = {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in built["files"]}
        assert m["inputs"] == want


@pytest.mark.slow
def test_index_lists_every_report(built):
    page = (built["out"] / "index.html").read_text(encoding="utf-8")
    for r in built["results"].values():
        assert f'href="2025Q4/acute/{r.job.name}.html"' in page
    # every report here is synthetic: one SYNTHETIC section, no real one, each kind with its question
    assert "<h2>SYNTHETIC data" in page and "<h2>Real data</h2>" not in page
    assert page.count('<h3><span class="synthetic">SYNTHETIC</span>') == 1
    for r in built["results"].values():
        question = report.REPORT_QUESTIONS.get(r.job.notebook)
        assert question and html.escape(question) in page
