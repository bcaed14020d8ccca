"""Charts and report tables: titles, captions, SYNTHETIC marks, fixed sizes, palette, escaping.

Everything runs headless: the chart functions build Figures without pyplot (Agg canvas).
"""

from __future__ import annotations

import colorsys
import io
import re

import matplotlib
import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

from nhs_league import charts
from nhs_league.funnel import funnel_limits


def _summary(n=8, seed=0):
    rng = np.random.default_rng(seed)
    est = np.sort(rng.uniform(1.6, 3.2, n))
    idx = [f"ZZ{i:03d}" for i in range(n)]
    return pd.DataFrame({"estimate": est, "lower": est - 0.2, "upper": est + 0.2,
                         "name": [f"Trust {i}" for i in range(n)]}, index=idx)


def _all_charts(synthetic):
    """One instance of every chart function, on small made-up inputs."""
    s = _summary()
    idx = s.index
    sets = pd.DataFrame({"rank": np.arange(1, 9), "marginal_lower": [1, 1, 2, 3, 4, 5, 6, 7],
                         "marginal_upper": [2, 3, 4, 5, 6, 7, 8, 8], "simultaneous_lower": [1] * 4 + [3] * 4,
                         "simultaneous_upper": [4] * 4 + [8] * 4}, index=idx)
    probs = pd.DataFrame(np.tile([0.5, 0.3, 0.2, 0.0], (8, 1)), index=idx, columns=[1, 2, 3, 4])
    shifts = pd.DataFrame({"override: off": [0, 1, -2, 3, 0, 0, 1, 2], "scoring: zscore": [1, -1, 0, 0, 2, 0, 0, 1]})
    sob = pd.DataFrame({"S1": [0.4, 0.1], "ST": [0.6, 0.2], "S1_conf": [0.1, 0.05], "ST_conf": [0.1, 0.05]},
                       index=["aggregation", "weights"])
    corr = pd.DataFrame([[1.0, 0.5], [0.5, 1.0]], index=["a", "b"], columns=["a", "b"])
    scores = pd.DataFrame(np.random.default_rng(1).uniform(1, 4, (8, 3)), index=idx, columns=["m1", "m2", "m3"])
    fun = funnel_limits([50, 60, 70, 80, 90, 100], [100, 150, 200, 180, 220, 260], index=list(idx[:6]))
    hist = pd.DataFrame({"quarter": ["Q3 2025/26", "Q4 2025/26"], "estimate": [2.3, 2.2], "lower": [2.1, 2.0],
                         "upper": [2.5, 2.4], "rank": [40, 35], "segment": [2, 2]})
    move = pd.DataFrame({"change": [-0.3, 0.0, 0.2], "lower": [-0.5, -0.2, 0.05], "upper": [-0.1, 0.2, 0.35],
                         "beyond_noise": [True, False, True]}, index=idx[:3])
    counts = pd.DataFrame({"raw": [3, 2, 2, 1], "adjusted": [1, 2, 4, 1]}, index=[1, 2, 3, 4])
    bands = pd.DataFrame({"Trust_code": idx, "Trust_name": s["name"].to_numpy(), "Nominal_rank": np.arange(1, 9),
                          "Median_rank": np.arange(1, 9), "Rank_p05": np.arange(1, 9) - 1,
                          "Rank_p95": np.arange(1, 9) + 2})
    different = pd.Series([1, 1, 0, 0, 0, -1, -1, -1], index=idx)
    ranges = pd.DataFrame({"name": s["name"].to_numpy(), "league_rank": np.arange(1, 9),
                           "published_low": np.arange(1, 9) - 0.0, "published_high": np.arange(1, 9) + 2.0,
                           "nhse_low": np.arange(1, 9) - 0.0, "nhse_high": np.arange(1, 9) + 1.0,
                           "league_low": np.ones(8), "league_high": np.full(8, 8.0),
                           "marginal_low": np.ones(8), "marginal_high": np.full(8, 6.0),
                           "simultaneous_low": np.ones(8), "simultaneous_high": np.full(8, 8.0)}, index=idx)
    return {
        "position_ranges": charts.position_ranges(ranges, highlight="ZZ002", synthetic=synthetic),
        "segment_counts": charts.segment_counts(counts, synthetic=synthetic),
        "caterpillar": charts.caterpillar(s, different=different, cutoffs=(2.06, 2.35, 2.7), highlight="ZZ003",
                                          synthetic=synthetic),
        "rank_sets": charts.rank_sets(sets, names=s["name"], synthetic=synthetic),
        "segment_probabilities": charts.segment_probabilities(probs, published=pd.Series(1, index=idx),
                                                              synthetic=synthetic),
        "rank_shifts": charts.rank_shifts(shifts, synthetic=synthetic),
        "sobol_indices": charts.sobol_indices(sob, synthetic=synthetic),
        "concordance": charts.concordance(corr, synthetic=synthetic),
        "metric_profile": charts.metric_profile(scores, "ZZ002", synthetic=synthetic),
        "funnel": charts.funnel(fun, highlight="ZZ001", metric="A %", synthetic=synthetic),
        "funnels": charts.funnels([("A %", fun, 100.0), ("B %", fun, 100.0), ("C", fun, 1.0)], highlight="ZZ002",
                                  synthetic=synthetic),
        "trend": charts.trend(hist, trust="ZZ001", cutoffs=(2.06, 2.35), synthetic=synthetic),
        "movement": charts.movement(move, synthetic=synthetic),
        "rank_bands": charts.rank_bands(bands, synthetic=synthetic),
        "whatif_changes": charts.whatif_changes(_whatif_options(), trust="S004", target=2, synthetic=synthetic),
    }


def _whatif_options():
    from nhs_league.sensitivity import example_panel
    from nhs_league.whatif import what_if

    return what_if(example_panel(30, seed=2), "nof-2025-26", "S004").options


@pytest.fixture(scope="module")
def synthetic_charts():
    return _all_charts(True)


@pytest.fixture(scope="module")
def real_charts():
    return _all_charts(False)


def test_every_chart_function_is_exercised(synthetic_charts):
    public = {name for name in charts.__all__ if callable(getattr(charts, name))
              and getattr(charts, name).__annotations__.get("return") in ("Figure", Figure)} - {"finish"}
    assert public == set(synthetic_charts)


def test_titles_and_captions(synthetic_charts, real_charts):
    for name, fig in {**synthetic_charts, **{f"real-{k}": v for k, v in real_charts.items()}}.items():
        assert isinstance(fig, Figure), name
        title, caption = charts.title_of(fig), charts.caption_of(fig)
        assert title, name
        assert caption, name
        assert ("does not show" in caption.lower()) or ("do not show" in caption.lower()), name
        assert "shows" in caption.lower(), name


def test_synthetic_marks_only_on_synthetic(synthetic_charts, real_charts):
    for name, fig in synthetic_charts.items():
        assert charts.title_of(fig).startswith("SYNTHETIC"), name
        assert any(t.get_gid() == "watermark" and t.get_text() == "SYNTHETIC" for t in fig.texts), name
    for name, fig in real_charts.items():
        assert "SYNTHETIC" not in charts.title_of(fig), name
        assert not any(t.get_gid() == "watermark" for t in fig.texts), name


def test_fixed_sizes_and_dpi(synthetic_charts):
    allowed = {tuple(v) for v in charts.SIZES.values()}
    for name, fig in synthetic_charts.items():
        assert tuple(float(x) for x in fig.get_size_inches()) in allowed, name
        assert fig.dpi == charts.DPI, name


def test_png_is_not_blank(synthetic_charts):
    for name in ("caterpillar", "funnel", "funnels", "segment_counts"):
        data = charts.png_bytes(synthetic_charts[name])
        img = mpimg.imread(io.BytesIO(data), format="png")
        assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100, name
        assert float(img[..., :3].std()) > 0.05, name


def test_finish_requires_title_and_caption():
    with pytest.raises(ValueError):
        charts.finish(Figure(), "", "caption", synthetic=False)
    with pytest.raises(ValueError):
        charts.finish(Figure(), "title", "", synthetic=False)


def _hue_deg(hex_colour):
    r, g, b = matplotlib.colors.to_rgb(hex_colour)
    h, l, s = colorsys.rgb_to_hls(r, g, b)
    return h * 360, l, s


def test_segment_palette_is_sequential_and_not_red_green():
    lum = []
    for seg in (1, 2, 3, 4):
        r, g, b = matplotlib.colors.to_rgb(charts.SEGMENT_COLOURS[seg])
        lum.append(0.2126 * r + 0.7152 * g + 0.0722 * b)
        h, l, s = _hue_deg(charts.SEGMENT_COLOURS[seg])
        is_red = (h < 20 or h > 340) and s > 0.5
        is_green = 90 < h < 150 and s > 0.5
        assert not (is_red or is_green), (seg, h, s)
    assert all(a < b for a, b in zip(lum, lum[1:])), "segments 1-4 should get lighter in order"


def _table_rows(page: str) -> list:
    """The rows an itables table holds (its JSON data), as the browser will show them."""
    import json
    import re
    m = re.search(r'"data_json": "(.*?)",\n', page)
    return json.loads(json.loads(f'"{m.group(1)}"'))


def test_table_escapes_cells_titles_and_captions():
    df = pd.DataFrame({"Trust_name": ["<script>alert(1)</script>", "A & B"], "<b>col</b>": [1.234, 2.0]})
    t = charts.table(df, "Title <i>x</i>", caption="cap <img src=x>", synthetic=True)
    page = t._repr_html_()
    assert "<script>alert" not in page and "<img src=x>" not in page and "<b>col</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "A &amp; B" in page and "&lt;i&gt;x&lt;/i&gt;" in page
    assert charts.SYNTHETIC_BANNER in page and "SYNTHETIC — Title" in page
    pd.testing.assert_frame_equal(t.frame, df)


def test_table_real_has_no_synthetic_banner_and_truncates():
    df = pd.DataFrame({"x": range(30)})
    page = charts.table(df, "T", synthetic=False, max_rows=10)._repr_html_()
    assert "SYNTHETIC" not in page
    assert "20 more rows not shown" in page
    assert [r[0] for r in _table_rows(page)] == [str(i) for i in range(10)]


def test_table_reads_as_words_sorts_searches_downloads_and_prints_every_row():
    df = pd.DataFrame({"Trust_code": ["A", "B", "C"], "Trust_in_financial_deficit": [True, False, True],
                       "N_metrics": [11.0, 12.0, 9.0], "Rank": [2.0, 1.0, 3.0], "P_other_segment": [0.1234, 0.5, 0.0]})
    page = charts.table(df, "League, Q4", synthetic=False)._repr_html_()
    view = charts.display_frame(df)
    assert list(view.columns) == ["Trust code", "In financial deficit", "Number of metrics", "League rank",
                                  "Chance of another segment"]
    assert view["In financial deficit"].tolist() == ["yes", "no", "yes"]
    assert str(view["Number of metrics"].dtype) == "Int64" and view["League rank"].tolist() == [2, 1, 3]
    assert view["Chance of another segment"].tolist() == [0.12, 0.5, 0.0]
    assert _table_rows(page)[0] == ["A", "yes", "11", "2", "0.12"]  # integers, not 11.00; as shown
    gaps = charts.table(pd.DataFrame({"x": [1.5, np.nan], "n": [1.0, np.nan]}), "G", synthetic=False)._repr_html_()
    assert _table_rows(gaps) == [["1.50", "1"], ["", ""]]  # a missing value is blank, never NaN
    # DataTables (itables, offline) with a search box and a CSV button; no paging, so print shows all
    assert '"paging": false' in page and '"csvHtml5"' in page and '"search"' in page
    assert "https://" not in page.split("<script", 1)[1].split("</script>", 1)[0]  # no CDN


def test_report_pages_embed_the_table_library_once_and_offline():
    frag = charts.table(pd.DataFrame({"x": [1, 2]}), "T", synthetic=False)._repr_html_()
    page = f"<html><body>{frag}{frag}</body></html>"
    from nhs_league import report
    out = report.with_table_library(page)
    assert out.count(report._TABLE_LIBRARY_MARK) == 1 and report.with_table_library(out) == out
    assert out.index(report._TABLE_LIBRARY_MARK) < out.index('id="itables_')  # before the first table
    assert "unpkg" not in out and "cdn." not in out and "DataTable" in out
    assert report.with_table_library("<html><body><p>no table</p></body></html>").count("itables") == 0


def test_show_embeds_image_with_escaped_alt_text():
    fig = charts.finish(Figure(figsize=(3, 2)), 'A "quoted" <title>', "Shows x; does not show y.", synthetic=False)
    frag = charts.show(fig)
    page = frag._repr_html_()
    assert page.startswith('<figure class="nhs-chart"><img alt="A &quot;quoted&quot; &lt;title&gt;. Shows x')
    assert "data:image/png;base64," in page
    with pytest.raises(ValueError):
        charts.show(Figure())


def test_note_escapes():
    assert "&lt;b&gt;" in charts.note("<b>", synthetic=True)._repr_html_()
    assert charts.note("x", synthetic=True).text.startswith("SYNTHETIC")


def test_dense_labels_drop_the_common_suffix_and_shorten():
    names = ["Amberford Hospitals NHS Foundation Trust", "A Very Long Name Of A Trust That Goes On And On NHS Trust",
             ""]
    assert charts._labels(names, ["Z1", "Z2", "Z3"], dense=True) == [
        "Amberford Hospitals (Z1)", "A Very Long Name Of A Trust That Goes… (Z2)", "Z3"]
    assert charts._labels(names[:1], ["Z1"]) == ["Amberford Hospitals NHS Foundation Trust (Z1)"]


# --------------------------------------------------------------------------------------
# Layout without constrained layout, dense row labels, PNG output
# --------------------------------------------------------------------------------------
def _dense_summary(n=60):
    s = _summary(n, seed=3)
    s["name"] = [f"Trust number {i} with a fairly long name NHS Foundation Trust" for i in range(n)]
    return s


def _inside(inner, outer, tol=1.0):
    return (inner.x0 >= outer.x0 - tol and inner.y0 >= outer.y0 - tol and inner.x1 <= outer.x1 + tol
            and inner.y1 <= outer.y1 + tol)


def _overlap(a, b):
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_everything_drawn_fits_inside_the_figure(synthetic_charts):
    charts_to_check = {**synthetic_charts,
                       "caterpillar-dense": charts.caterpillar(_dense_summary(), synthetic=True, cutoffs=(2.0,))}
    for name, fig in charts_to_check.items():
        charts.png_bytes(fig)  # lays out and draws
        r = fig.canvas.get_renderer()
        title = fig._suptitle.get_window_extent(r)
        caption = fig._supxlabel.get_window_extent(r)
        for text in (title, caption):
            assert _inside(text, fig.bbox), name
        boxes = [ax.get_tightbbox(r) for ax in fig.axes if ax.get_visible()]
        for box in boxes:
            assert _inside(box, fig.bbox), name
            assert not _overlap(box, title) and not _overlap(box, caption), name
        if name == "funnels":  # panels of a grid do not run into each other
            for i, a in enumerate(boxes):
                for b in boxes[i + 1:]:
                    assert not _overlap(a, b), name


def test_dense_row_labels_one_per_row_beside_the_axes():
    n = 60
    fig = charts.caterpillar(_dense_summary(n), synthetic=False)
    w, h = fig.get_size_inches()
    assert w == charts.SIZES["wide"][0] and h == n * charts.ROW_PX / charts.DPI + 2.8  # grows with the rows
    (strip,) = [im for im in fig.images if im.get_gid() == "row-labels"]
    ax = fig.axes[0]
    assert list(ax.get_yticklabels()) == []  # drawn once, as the strip, not also as tick labels
    alpha = np.asarray(strip.get_array())[..., 3]
    h, w = alpha.shape
    frame = ax.get_window_extent()
    assert 0 <= strip.ox and strip.ox + w <= frame.x0  # inside the figure, left of the axes
    # one band of ink per row, each centred on its row
    inked = alpha.max(axis=1) > 0
    bands = np.flatnonzero(np.diff(np.r_[0, inked.astype(int), 0]) == 1)
    assert len(bands) == n
    rows_px = ax.transData.transform(np.column_stack([np.zeros(n), np.arange(n)]))[:, 1]
    for y in rows_px:
        r = int(round(strip.oy + h - 1 - y))  # image row of the row centre (origin upper)
        assert inked[max(r - 2, 0):r + 3].any()


def test_png_is_rgb_at_the_fixed_size_and_leaves_matplotlib_settings_alone():
    before = dict(matplotlib.rcParams)
    fig = charts.caterpillar(_dense_summary(), synthetic=True)
    img = mpimg.imread(io.BytesIO(charts.png_bytes(fig)), format="png")
    w, h = fig.get_size_inches()
    assert img.shape == (round(h * charts.DPI), round(w * charts.DPI), 3)
    # each trust's row gets at least ROW_PX - a little of the margin budget: never under 12 px
    ax = fig.axes[0]
    assert ax.get_position().height * h * charts.DPI / len(_dense_summary()) >= 12
    assert dict(matplotlib.rcParams) == before


def test_segment_probabilities_bars_stack_to_the_probabilities():
    probs = pd.DataFrame([[0.5, 0.3, 0.2, 0.0], [0.0, 0.0, 1.0, 0.0], [0.1, 0.2, 0.3, 0.4]],
                         index=["A", "B", "C"], columns=[1, 2, 3, 4])
    fig = charts.segment_probabilities(probs, synthetic=False)
    (bars,) = [c for c in fig.axes[0].collections if len(c.get_paths()) > 1]
    ext = np.array([[p.vertices[:, 0].min(), p.vertices[:, 0].max(), p.vertices[:, 1].mean()]
                    for p in bars.get_paths()])
    got = pd.DataFrame({"row": ext[:, 2].round().astype(int), "left": ext[:, 0], "width": ext[:, 1] - ext[:, 0]})
    p = probs.to_numpy()
    row, col = np.nonzero(p > 0)
    want = pd.DataFrame({"row": row, "left": (p.cumsum(axis=1) - p)[row, col], "width": p[row, col]})
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_dtype=False)
    face = [matplotlib.colors.to_hex(c) for c in bars.get_facecolor()]
    assert face == [charts.SEGMENT_COLOURS[int(probs.columns[j])] for j in col]
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["segment 1", "segment 2", "segment 3", "segment 4"]


def test_caterpillar_colours_the_trusts_different_from_the_chosen_one():
    s = _summary(7)
    different = pd.Series([1, 1, 0, 0, 0, -1, 0], index=s.index)
    fig = charts.caterpillar(s, different=different, highlight=s.index[3], synthetic=False)
    lines = [c for c in fig.axes[0].collections if c.get_zorder() == 2][0]
    face = [matplotlib.colors.to_hex(c) for c in lines.get_colors()]
    want = {1: charts.OKABE_ITO["bluish_green"], -1: charts.SECONDARY, 0: "#b5b5b5"}
    assert face == [want[v].lower() for v in different]
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend[:3] == [f"significantly better than {s.index[3]} (2)", f"significantly worse than {s.index[3]} (1)",
                          f"not told apart from {s.index[3]} (3)"]


def test_position_ranges_one_legend_for_every_range():
    charts_ = _all_charts(False)
    fig = charts_["position_ranges"]
    assert len(fig.axes[0].get_legend().get_texts()) == 6  # five ranges and the rank
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels[0] == "NHS England's likely range (published)" and "league rank" in labels[2]


def test_long_title_wraps_inside_the_figure_and_stays_whole_for_alt_text():
    hist = pd.DataFrame({"quarter": ["Q3 2025/26", "Q4 2025/26"], "estimate": [2.3, 2.2], "lower": [2.1, 2.0],
                         "upper": [2.5, 2.4]})
    trust = "Yarrowhaven and Ivelbrook University Hospitals NHS Foundation Trust (ZZ140)"
    fig = charts.trend(hist, trust=trust, synthetic=True)
    charts.png_bytes(fig)
    shown = fig._suptitle
    assert _inside(shown.get_window_extent(fig.canvas.get_renderer()), fig.bbox)
    assert "\n" in shown.get_text()
    assert charts.title_of(fig) == f"SYNTHETIC — Quarter-by-quarter average score: {trust}"
    assert trust in charts.show(fig).html  # the alt text carries the whole title


# --------------------------------------------------------------------------------------
# Box plots drawn from vectorised figures: the same figures as matplotlib's own
# --------------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.one_of(st.none(), st.integers(1, 4), st.floats(1, 4)), min_size=6, max_size=6),
                min_size=1, max_size=25))
def test_box_stats_agree_with_matplotlib(rows):
    from matplotlib import cbook

    x = np.array([[np.nan if v is None else float(v) for v in r] for r in rows])
    got = charts.box_stats(x)
    for j in range(x.shape[1]):
        col = x[:, j][~np.isnan(x[:, j])]
        if not len(col):
            assert np.isnan(got["median"][j]) and not got["outlier"][:, j].any()
            continue
        (ref,) = cbook.boxplot_stats(col)
        for mine, theirs in [("q1", "q1"), ("median", "med"), ("q3", "q3"), ("whisker_low", "whislo"),
                             ("whisker_high", "whishi")]:
            assert got[mine][j] == pytest.approx(ref[theirs], abs=1e-12), (mine, j)
        np.testing.assert_allclose(np.sort(x[got["outlier"][:, j], j]), np.sort(ref["fliers"]))


def test_chart_png_holds_exactly_the_drawn_pixels():
    from PIL import Image

    fig = charts.segment_counts(pd.DataFrame({"raw": [1, 2, 3, 4], "adjusted": [0, 2, 5, 4]}, index=[1, 2, 3, 4]),
                                synthetic=True)
    png = charts.png_bytes(fig)
    drawn = np.asarray(fig.canvas.buffer_rgba())[..., :3]
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png))), drawn)


def test_funnel_denominators_are_labelled_in_plain_numbers(synthetic_charts):
    """Log-scale denominators read "100", "1,000"; not powers of ten typeset as mathtext."""
    for name in ("funnel", "funnels"):
        fig = synthetic_charts[name]
        charts.png_bytes(fig)  # tick labels are set when the figure is drawn
        labels = [t.get_text() for ax in fig.axes for t in ax.get_xticklabels() if t.get_text()]
        assert labels and all(re.fullmatch(r"\d{1,3}(,\d{3})*", t) for t in labels), (name, labels)
