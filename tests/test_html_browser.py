"""The HTML reports opened in headless Chromium: they render (non-blank screenshot) and a trust
name containing a script tag is shown as text, never run.

Skipped with a message when Chromium is not installed, except in CI (``CI=true``), where a
missing browser is a failure: .ci/run installs Debian's ``chromium``.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import matplotlib.image as mpimg
import numpy as np
import pytest

from test_notebooks import SCRIPT_NAME, write_fixture_year

from nhs_league import report

pytestmark = pytest.mark.slow


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe:
        return exe
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("chromium is not installed in CI: .ci/run must install Debian's chromium package")
    pytest.skip("chromium is not installed (apt-get install chromium) - browser check skipped")


def _run(exe, profile, *args, timeout=90) -> subprocess.CompletedProcess:
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    exe = _chromium()
    base = tmp_path_factory.mktemp("browser")
    files = write_fixture_year(base / "data")
    plan = report.plan_for_data(files, quarter="2025Q4", trust_type="acute", notebooks=["league_table"],
                                parameters={"draws": 40})
    (r,) = report.build(plan, output=base / "out", build_dir=base / "build", progress=False)
    assert r.ok, r.line()
    return exe, base, r.html


def test_report_renders_non_blank(built):
    exe, base, html = built
    png = base / "shot.png"
    res = _run(exe, base / "profile1", f"--screenshot={png}", "--window-size=1200,900", html.as_uri())
    assert png.exists(), res.stderr[-2000:]
    img = mpimg.imread(str(png))
    assert img.shape[0] == 900 and img.shape[1] == 1200
    rgb = img[..., :3]
    assert float(rgb.std()) > 0.02  # text, tables and banners, not a blank page
    # more than one distinct colour row: the page has content top to bottom of the first screen
    assert np.unique(rgb.reshape(-1, 3).round(2), axis=0).shape[0] > 20


def test_index_renders_non_blank(built):
    exe, base, html = built
    png = base / "index.png"
    _run(exe, base / "profile2", f"--screenshot={png}", "--window-size=1200,900",
         (base / "out" / "index.html").as_uri())
    img = mpimg.imread(str(png))
    assert float(img[..., :3].std()) > 0.02


def test_script_in_trust_name_is_text_not_code(built):
    exe, base, html = built
    source = html.read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in source
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in source
    res = _run(exe, base / "profile3", "--dump-dom", html.as_uri())
    dom = res.stdout
    assert "</html>" in dom, res.stderr[-2000:]
    # the serialised DOM shows the name as escaped text, and no script element holds it
    assert SCRIPT_NAME.replace("<", "&lt;").replace(">", "&gt;") in dom
    assert "<script>alert(1)</script>" not in dom


_LAYOUT_PROBE = """<script>
window.addEventListener('load', function () { setTimeout(function () {
  var w = document.documentElement.clientWidth, out = [];
  document.querySelectorAll('table').forEach(function (t) {
    var r = t.getBoundingClientRect();
    if (r.width > 0 && r.right > w + 1) { out.push('table ' + Math.round(r.right) + '>' + w); }
  });
  document.querySelectorAll('img[data-rows]').forEach(function (img) {
    var scale = img.getBoundingClientRect().height / img.naturalHeight;
    var px = parseFloat(img.getAttribute('data-row-px')) * scale;
    if (px < 12) { out.push('rows ' + px.toFixed(1) + 'px: ' + img.alt.slice(0, 60)); }
  });
  document.body.setAttribute('data-layout', out.length ? out.join(' | ') : 'ok');
  document.body.setAttribute('data-row-charts', document.querySelectorAll('img[data-rows]').length);
}, 500); });
</script>"""


@pytest.fixture(scope="module")
def every_kind(tmp_path_factory):
    """One report of each kind on 134 acute-sized trusts (the synthetic fixture year)."""
    exe = _chromium()
    base = tmp_path_factory.mktemp("kinds")
    files = write_fixture_year(base / "data", n=134, script_name=False)
    plan = report.plan_for_data(files, quarter="2025Q4", trust_type="acute", parameters={"draws": 40})
    results = report.build(plan, output=base / "out", build_dir=base / "build", progress=False)
    assert all(r.ok for r in results), [r.line() for r in results if not r.ok]
    return exe, base, results


def test_no_table_overflows_and_every_trust_row_is_at_least_12_px(every_kind):
    import re
    exe, base, results = every_kind
    kinds = {r.job.notebook for r in results}
    assert {"league_table", "rank_uncertainty", "sensitivity", "trust_profile", "quarter_comparison"} <= kinds
    row_charts = 0
    for r in results:
        probe = r.html.with_name(r.html.stem + ".probe.html")
        probe.write_text(r.html.read_text(encoding="utf-8").replace("</body>", _LAYOUT_PROBE + "</body>"),
                         encoding="utf-8")
        res = _run(exe, base / f"profile-{r.job.name}", "--window-size=1400,1000", "--virtual-time-budget=8000",
                   "--dump-dom", probe.as_uri(), timeout=120)
        m = re.search(r'data-layout="([^"]*)"', res.stdout)
        assert m, (r.job.name, res.stderr[-500:])
        assert m.group(1) == "ok", (r.job.name, m.group(1))
        row_charts += int(re.search(r'data-row-charts="(\d+)"', res.stdout).group(1))
    assert row_charts >= 4  # caterpillar, rank sets, segment chances, ranges, movement: all measured
