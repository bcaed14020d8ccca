"""Every chart and table the reports show: palette, sizes, fonts, titles, captions, wording.

One module owns how results look, so that every report speaks the same visual language:

* **Palette.** Okabe–Ito (colour-blind safe) for categories; segments 1–4 get a sequential
  cividis ramp (1 = darkest) and segment 5 a neutral grey. There is no red/green "good/bad"
  colouring anywhere: a segment is a position on a scale, not a verdict.
* **Sizes.** Figures come in a few fixed sizes (:data:`SIZES`) at :data:`DPI`, so reports
  built on different machines look the same. :func:`finish` places the axes in one measuring
  pass (not matplotlib's iterative constrained layout), and on charts of more than 45 trusts the
  row labels are drawn as one image strip (:func:`_row_labels`): a report's charts used to take
  most of its running time.
* **Wording.** Every chart has a title and a one-line caption saying what it shows and what
  it does not show (:func:`finish`). Anything drawn from synthetic data carries a SYNTHETIC
  banner in the title and a diagonal watermark.
* **Tables.** :func:`table` returns an object that notebooks display as an HTML table whose
  cells are escaped: a trust name containing ``<script>`` is shown as text, never run.

Functions return :class:`matplotlib.figure.Figure` objects built without pyplot (no global
state, nothing to close, works headless). In a notebook, end a cell with :func:`show` to
display a figure with alt text.

Examples
--------
>>> import pandas as pd
>>> t = pd.DataFrame({"raw": [1, 2, 3, 4], "adjusted": [0, 2, 5, 4]}, index=[1, 2, 3, 4])
>>> fig = segment_counts(t, synthetic=True)
>>> title_of(fig).startswith("SYNTHETIC")
True
"""

from __future__ import annotations

import base64
import functools
import html
import io
import textwrap
import warnings

import matplotlib
import matplotlib.colors
import matplotlib.lines
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from PIL import Image, ImageDraw, ImageFont

__all__ = [
    "OKABE_ITO", "SEGMENT_COLOURS", "SIZES", "DPI", "SYNTHETIC_BANNER",
    "finish", "title_of", "caption_of", "show", "table", "HTMLTable",
    "segment_counts", "caterpillar", "position_ranges", "rank_sets", "segment_probabilities", "rank_shifts",
    "sobol_indices", "concordance", "metric_profile", "funnel", "trend", "movement", "rank_bands",
    "funnels", "whatif_changes", "note", "png_bytes", "HTMLFragment", "box_stats",
    "context_scatter", "quintile_chart", "segment_shares", "context_movers",
]

# --------------------------------------------------------------------------------------
# Look: colours, sizes, fonts
# --------------------------------------------------------------------------------------
#: Okabe & Ito (2008) colour-blind-safe categorical palette.
OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky_blue": "#56B4E9", "bluish_green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "reddish_purple": "#CC79A7",
    "grey": "#999999",
}
_SEQ = matplotlib.colormaps["cividis"]
#: Segments 1-4 on a sequential cividis ramp (1 darkest, blue to yellow), 5 (intensive support) neutral grey.
SEGMENT_COLOURS = {1: matplotlib.colors.to_hex(_SEQ(0.05)), 2: matplotlib.colors.to_hex(_SEQ(0.38)),
                   3: matplotlib.colors.to_hex(_SEQ(0.68)), 4: matplotlib.colors.to_hex(_SEQ(0.93)),
                   5: OKABE_ITO["grey"]}
#: The colour that marks "this trust" on a chart of many trusts.
HIGHLIGHT = OKABE_ITO["vermillion"]
#: Colours of the two kinds of interval shown side by side.
PRIMARY, SECONDARY = OKABE_ITO["blue"], OKABE_ITO["orange"]
#: Fixed figure sizes (inches).
SIZES = {"wide": (10.0, 5.5), "square": (7.5, 7.0), "tall": (10.0, 14.0), "small": (8.0, 4.0)}
#: Resolution of every figure.
DPI = 110
FONT = {"family": "DejaVu Sans", "title": 13, "caption": 9, "label": 10, "tick": 8, "dense": 8}
SYNTHETIC_BANNER = "SYNTHETIC DATA — not real trusts"
_TALL_ABOVE = 45  # more trusts than this: use the tall size and the dense font


#: How matplotlib draws text: without font hinting it lays out and draws text about a third faster,
#: and small labels read as well (hinting mostly snaps glyphs to the pixel grid). Applied only while
#: a chart is laid out and drawn (``rc_context``), never to the caller's matplotlib settings.
_RC = {"text.hinting": "no_hinting"}
_PAD = 0.08  # inches between the parts of a chart, and between them and the edge
#: PNG compression: level 3 is faster than the default 6 and, for these charts, no larger.
_PNG_LEVEL = 3


def _figure(size: str) -> Figure:
    """A figure of a fixed size with its own Agg canvas: the text measured when the layout is
    fitted (:func:`_fit`) is cached on that canvas's renderer and reused when the figure is drawn."""
    fig = Figure(figsize=SIZES[size], dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


ROW_PX = 14  # height of one trust's row on a per-trust chart, in pixels at DPI (at least 12 at 100% zoom)


def _rows_figure(n: int, row_px: float = ROW_PX) -> Figure:
    """A figure for a chart with one row per trust: the standard width, and tall enough that each of
    the ``n`` rows gets ``row_px`` pixels (labels at 8 pt stay legible at 134 trusts)."""
    w, h = SIZES["wide"]
    fig = Figure(figsize=(w, max(h, n * row_px / DPI + 2.8)), dpi=DPI)
    fig._nhs_rows = n
    FigureCanvasAgg(fig)
    return fig


def _fit(fig: Figure) -> None:
    """Place the axes so that tick labels, legends, axis labels, the title and the caption fit.

    One measuring pass over the laid-out text, where constrained layout iterates (and, for a chart
    of 134 labelled rows or a grid of funnel plots, took as long as drawing it). The outer margins
    come from how far each axes' decorations reach beyond its frame; on a grid of panels the gaps
    between panels are the largest such reach. Sizes in inches, so a fixed-size figure keeps its size.
    """
    axes = [a for a in fig.axes if a.get_visible()]
    if not axes or fig.get_layout_engine() is not None or not isinstance(fig.canvas, FigureCanvasAgg):
        return  # a figure made elsewhere keeps its own layout (and canvas)
    renderer = fig.canvas.get_renderer()
    w, h = fig.get_size_inches()
    dpi = fig.dpi
    pos = [a.get_position() for a in axes]  # figure fractions
    tight = [a.get_tightbbox(renderer, for_layout_only=True) for a in axes]  # pixels
    # reach of each axes' decorations beyond its frame: left, right, below, above (inches)
    strip = [(_label_width(a) + _LABEL_GAP) / dpi if hasattr(a, "_nhs_row_labels") else 0.0 for a in axes]
    reach = np.array([[max(p.x0 * w - t.x0 / dpi, s), t.x1 / dpi - p.x1 * w, p.y0 * h - t.y0 / dpi,
                       t.y1 / dpi - p.y1 * h] for p, t, s in zip(pos, tight, strip)]).clip(min=0)
    x0 = min(p.x0 for p in pos) * w
    x1 = max(p.x1 for p in pos) * w
    y0 = min(p.y0 for p in pos) * h
    y1 = max(p.y1 for p in pos) * h
    left = max(x0 - min(t.x0 for t in tight) / dpi, *(s - (p.x0 * w - x0) for p, s in zip(pos, strip)))
    right = max(t.x1 for t in tight) / dpi - x1
    below = y0 - min(t.y0 for t in tight) / dpi
    above = max(t.y1 for t in tight) / dpi - y1
    title = getattr(fig, "_suptitle", None)
    caption = getattr(fig, "_supxlabel", None)
    head = (title.get_window_extent(renderer).height / dpi + (1 - title.get_position()[1]) * h
            if title is not None else 0.0)
    foot = (caption.get_window_extent(renderer).height / dpi + caption.get_position()[1] * h
            if caption is not None else 0.0)
    lm, rm = max(left, 0) + _PAD, max(right, 0) + _PAD
    bm, tm = max(below, 0) + foot + _PAD, max(above, 0) + head + _PAD
    kw = {"left": lm / w, "right": 1 - rm / w, "bottom": bm / h, "top": 1 - tm / h}
    spec = axes[0].get_subplotspec()
    if spec is not None:
        nrows, ncols = spec.get_topmost_subplotspec().get_gridspec().get_geometry()
        if ncols > 1:
            gap = reach[:, 0].max() + reach[:, 1].max() + _PAD
            kw["wspace"] = gap / max((w - lm - rm - (ncols - 1) * gap) / ncols, 0.1)
        if nrows > 1:
            gap = reach[:, 2].max() + reach[:, 3].max() + _PAD
            kw["hspace"] = gap / max((h - bm - tm - (nrows - 1) * gap) / nrows, 0.1)
    fig.subplots_adjust(**kw)
    for a in axes:
        if hasattr(a, "_nhs_row_labels"):
            _draw_row_labels(fig, a)


def finish(fig: Figure, title: str, caption: str, *, synthetic: bool) -> Figure:
    """Add the title, the one-line caption and (for synthetic data) the SYNTHETIC marks.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    title : str
        What the chart is about (``"SYNTHETIC — "`` is put in front for synthetic data).
    caption : str
        One line: what the chart shows and what it does not show.
    synthetic : bool
        Whether the data are synthetic: adds a banner to the title and a watermark.

    Returns
    -------
    Figure
        The same figure, with text artists whose gid is ``"title"``, ``"caption"`` and
        (synthetic only) ``"watermark"``, and its axes placed so that everything fits.

    Examples
    --------
    >>> fig = finish(Figure(), "A", "Shows a; does not show b.", synthetic=False)
    >>> title_of(fig), caption_of(fig)
    ('A', 'Shows a; does not show b.')
    """
    if not title or not caption:
        raise ValueError("every chart needs a title and a caption")
    full = f"SYNTHETIC — {title}" if synthetic else title
    # a long title (a trust's full name) wraps to the width of the figure instead of running off it
    t = fig.suptitle("\n".join(textwrap.wrap(full, int(fig.get_figwidth() * 8.5))[:2]) or full,
                     fontsize=FONT["title"], weight="bold")
    t.set_gid("title")
    fig._nhs_title = full  # the full title, for alt text
    width = int(fig.get_figwidth() * 14)
    c = fig.supxlabel("\n".join(textwrap.wrap(caption, width)[:2]), x=0.01, ha="left",
                      fontsize=FONT["caption"], style="italic", color="#333333")
    c.set_gid("caption")
    fig._nhs_caption = caption  # the full caption, for alt text
    if synthetic:
        w = fig.text(0.5, 0.5, "SYNTHETIC", ha="center", va="center", rotation=30, fontsize=72,
                     color=OKABE_ITO["grey"], alpha=0.18, weight="bold", zorder=0)
        w.set_gid("watermark")
    with matplotlib.rc_context(_RC):
        _fit(fig)
    return fig


def _text(fig: Figure, gid: str) -> str | None:
    for t in [getattr(fig, "_suptitle", None), getattr(fig, "_supxlabel", None), *fig.texts]:
        if t is not None and t.get_gid() == gid:
            return t.get_text()
    return None


def title_of(fig: Figure) -> str | None:
    """The full title set by :func:`finish` (None if the figure has none)."""
    return getattr(fig, "_nhs_title", None) or _text(fig, "title")


def caption_of(fig: Figure) -> str | None:
    """The full caption set by :func:`finish` (None if the figure has none)."""
    return getattr(fig, "_nhs_caption", None) or _text(fig, "caption")


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes at :data:`DPI` on white (RGB: the charts have no transparency).

    Examples
    --------
    >>> png_bytes(finish(_figure("small"), "T", "C.", synthetic=False))[:8]
    b'\\x89PNG\\r\\n\\x1a\\n'
    """
    if fig.dpi != DPI or not isinstance(fig.canvas, FigureCanvasAgg):  # made elsewhere: savefig at DPI
        buf = io.BytesIO()
        with matplotlib.rc_context(_RC):
            fig.savefig(buf, format="png", dpi=DPI, facecolor="white", pil_kwargs={"compress_level": _PNG_LEVEL})
        return buf.getvalue()
    canvas = fig.canvas
    face = fig.get_facecolor()
    fig.set_facecolor("white")
    try:
        with matplotlib.rc_context(_RC):
            canvas.draw()
        # the RGBA buffer as it is (no strided copy of its first three channels); Pillow drops the alpha
        img = Image.frombuffer("RGBA", canvas.get_width_height(physical=True), canvas.buffer_rgba(), "raw",
                               "RGBA", 0, 1).convert("RGB")
    finally:
        fig.set_facecolor(face)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=_PNG_LEVEL)  # Pillow writes the PNG
    return buf.getvalue()


class HTMLFragment:
    """A piece of HTML a notebook displays (``_repr_html_``), with a plain-text fallback."""

    def __init__(self, html_text: str, text: str = ""):
        self.html = html_text
        self.text = text

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text or "<HTML>"


def show(fig: Figure) -> HTMLFragment:
    """Display a finished figure in a notebook as an image with alt text (title and caption).

    Examples
    --------
    >>> fig = finish(Figure(figsize=(2, 1)), "T", "C.", synthetic=False)
    >>> show(fig).html.startswith("<figure")
    True
    """
    title, caption = title_of(fig), caption_of(fig)
    if title is None or caption is None:
        raise ValueError("show() needs a figure finished with a title and caption (charts.finish)")
    data = base64.b64encode(png_bytes(fig)).decode("ascii")
    alt = html.escape(f"{title}. {caption}", quote=True)
    rows = ""
    n = getattr(fig, "_nhs_rows", None)
    if n:  # a chart with one row per trust: how many pixels each row has in the image (browser test)
        ax = fig.axes[0]
        pitch = ax.get_position().height * fig.get_size_inches()[1] * fig.dpi / n
        rows = f' data-rows="{n}" data-row-px="{pitch:.1f}"'
    return HTMLFragment(f'<figure class="nhs-chart"><img alt="{alt}" src="data:image/png;base64,{data}"{rows} '
                        f'style="max-width:100%"/></figure>', f"[chart] {title}")


class HTMLTable(HTMLFragment):
    """An escaped HTML table (see :func:`table`); ``.frame`` keeps the data."""

    def __init__(self, frame: pd.DataFrame, html_text: str, text: str):
        super().__init__(html_text, text)
        self.frame = frame


# Column names a person reads, for the names the library's tables use. Any other name is made
# readable by rule (underscores to spaces, a leading capital): see :func:`column_label`.
COLUMN_LABELS = {
    "trust_code": "Trust code", "trust_name": "Trust", "name": "Trust", "unit": "Trust code",
    "Trust_in_financial_deficit": "In financial deficit", "Deficit_source": "Deficit flag from",
    "N_metrics": "Number of metrics", "Average_score_unrounded": "Average score (unrounded)",
    "Average_score": "Average score", "average_2dp": "Average score", "Raw_segment": "Segment before the override",
    "Final_segment": "Segment with segment 5", "Rank": "League rank", "rank": "Rank of the average",
    "league_rank": "League rank", "league_rank_before": "League rank before", "P_other_segment": "Chance of another segment",
    "Average_se_jackknife": "Standard error of the average (jackknife)", "se": "Standard error",
    "z": "z", "n": "Number", "could_be_top": "Could be in the top group", "could_be_bottom": "Could be in the bottom group",
    "next_unit": "Next trust", "next_estimate": "Next trust's average", "estimate": "Average score",
    "average": "Average score", "average_before": "Average score before", "lower": "Interval from",
    "upper": "Interval to", "beyond_noise": "Larger than its noise", "position": "Position",
}


def column_label(name) -> str:
    """A column name a person reads: the table of :data:`COLUMN_LABELS`, else by rule.

    >>> column_label("Trust_in_financial_deficit"), column_label("P_segment_2"), column_label("rank_low")
    ('In financial deficit', 'Chance of segment 2', 'Rank low')
    """
    text = str(name)
    if text in COLUMN_LABELS:
        return COLUMN_LABELS[text]
    if text.startswith("P_"):
        text = "Chance of " + text[2:]
    text = text.replace("_2dp", " (2 dp)").replace("_", " ").strip()
    words = text.split(" ")
    words = [w.lower() if (i and w.istitle() and len(w) > 1) else w for i, w in enumerate(words)]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def display_frame(df: pd.DataFrame, *, index: bool = False, decimals: int = 2) -> pd.DataFrame:
    """The frame as a reader sees it: readable headers, whole numbers as integers, flags as yes/no,
    floats rounded to ``decimals``. Values stay numbers, so they sort as numbers."""
    d = df.reset_index() if index else df.copy()
    out = {}
    for col in d.columns:
        x = d[col]
        if pd.api.types.is_bool_dtype(x) or (x.dtype == object and x.dropna().map(type).eq(bool).all()
                                              and len(x.dropna())):
            x = x.map(lambda v: "" if pd.isna(v) else ("yes" if bool(v) else "no"))
        elif pd.api.types.is_float_dtype(x):
            v = x.to_numpy(dtype=float)
            finite = v[np.isfinite(v)]
            if len(finite) and np.all(finite == np.round(finite)) and np.all(np.abs(finite) < 2**53):
                x = x.round().astype("Int64")
            else:
                x = x.round(decimals)
        out[column_label(col)] = x.to_numpy() if not isinstance(x.dtype, pd.api.extensions.ExtensionDtype) else x.array
    labels = list(out)
    if len(set(labels)) < len(labels):  # two names map to one label: keep the originals for the repeats
        seen = set()
        fixed = {}
        for col, lab in zip(d.columns, labels):
            fixed[lab if lab not in seen else f"{lab} ({col})"] = out[lab] if lab not in seen else d[col].to_numpy()
            seen.add(lab)
        out = fixed
    return pd.DataFrame(out)


def _as_text(view: pd.DataFrame, decimals: int) -> pd.DataFrame:
    """Every cell as the text a reader sees: integers without decimals, floats to ``decimals``,
    blanks for missing values. The browser still sorts numeric columns as numbers."""
    out = {}
    for col in view.columns:
        x = view[col]
        if pd.api.types.is_integer_dtype(x.dtype) or str(x.dtype) == "Int64":
            out[col] = ["" if pd.isna(v) else str(int(v)) for v in x]
        elif pd.api.types.is_float_dtype(x.dtype):
            out[col] = ["" if pd.isna(v) else f"{v:.{decimals}f}" for v in x]
        else:
            out[col] = ["" if (v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA) else str(v) for v in x]
    return pd.DataFrame(out, columns=view.columns)


def _slug(text: str) -> str:
    s = "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")
    while "--" in s:
        s = s.replace("--", "-")
    return s[:80] or "table"


_TABLE_CSS = ("<style>th.nhs-wide{width:16em;min-width:16em}td.nhs-wide{width:16em;text-align:left}"
              "table.dataTable th{hyphens:auto;overflow-wrap:anywhere}</style>")


def table(df: pd.DataFrame, title: str, *, synthetic: bool, caption: str = "", max_rows: int | None = None,
          index: bool = False, decimals: int = 2) -> HTMLTable:
    """A table for a report: sortable, searchable and downloadable (CSV) with itables, offline.

    Headers are words (:func:`column_label`), whole numbers print as integers and flags as yes/no
    (:func:`display_frame`); every cell, header, title and caption is HTML-escaped. The table is
    not paged and sits in no scroll box, so a printed report shows every row. The CSV download
    holds the rows as shown (after any search), with the numbers as shown.

    Parameters
    ----------
    df : pandas.DataFrame
    title : str
        Shown above the table (with a SYNTHETIC banner for synthetic data); also the CSV file name.
    synthetic : bool
    caption : str, optional
        One line under the title: what the table shows and does not show.
    max_rows : int, optional
        Show at most this many rows (says how many were left out).
    index : bool, default False
        Show the index.
    decimals : int, default 2
        Floats are shown with this many decimals.

    Examples
    --------
    >>> t = table(pd.DataFrame({"Trust_name": ["<script>alert(1)</script>"]}), "T", synthetic=False)
    >>> "<script>alert" in t.html, "&lt;script&gt;" in t.html
    (False, True)
    """
    import itables

    shown = df if max_rows is None or len(df) <= max_rows else df.head(max_rows)
    view = display_frame(shown, index=index, decimals=decimals)
    full_title = f"SYNTHETIC — {title}" if synthetic else title
    name = _slug(full_title)
    text_view = _as_text(view, decimals)
    # long text (trust names) gets room to read on one or two lines instead of a narrow tall column
    wide = [j for j, c in enumerate(text_view.columns)
            if len(text_view) and text_view[c].str.len().max() > 24 and not pd.api.types.is_numeric_dtype(view[c])]
    extra = {"columnDefs": [{"targets": wide, "className": "nhs-wide"}]} if wide else {}
    body = _TABLE_CSS + itables.to_html_datatable(
        text_view, connected=False, **extra, display_logo_when_loading=False, showIndex=False, paging=False, maxBytes=0,
        classes="display compact cell-border", order=[],
        layout={"topStart": "buttons", "topEnd": "search", "bottomStart": "info", "bottomEnd": None},
        buttons=[{"extend": "csvHtml5", "text": "Download CSV", "title": name, "exportOptions": {"orthogonal": "display"}}],
        style={"width": "100%", "margin": "0", "font-size": "0.9em"})
    banner = (f'<div class="nhs-synthetic" style="background:#fff3cd;border:1px solid #999;padding:2px 6px;'
              f'font-weight:bold">{html.escape(SYNTHETIC_BANNER)}</div>' if synthetic else "")
    more = (f"<p><em>{len(df) - len(shown)} more rows not shown.</em></p>" if len(shown) < len(df) else "")
    cap = f"<p><em>{html.escape(caption)}</em></p>" if caption else ""
    text = f"{full_title}\n{view.to_string(index=False)}"
    return HTMLTable(df, f'<div class="nhs-table-block">{banner}<h4>{html.escape(full_title)}</h4>{cap}'
                         f'{body}{more}</div>', text)


def note(text: str, *, synthetic: bool = False) -> HTMLFragment:
    """A short escaped paragraph for a report (e.g. why a chart cannot be drawn)."""
    banner = "SYNTHETIC — " if synthetic else ""
    return HTMLFragment(f'<p class="nhs-note" style="border-left:4px solid {OKABE_ITO["blue"]};padding-left:8px">'
                        f"{html.escape(banner + text)}</p>", banner + text)


_SUFFIXES = (" NHS Foundation Trust", " NHS Trust")


def _labels(names, codes, *, dense: bool = False) -> list[str]:
    """Row labels "name (code)"; on dense charts the common NHS suffix is dropped and the name
    shortened (fewer glyphs to draw, and easier to read at small sizes)."""
    out = []
    for n, c in zip(names, codes):
        n = str(n) if isinstance(n, str) else ""
        if dense:
            for suffix in _SUFFIXES:
                n = n[: -len(suffix)] if n.endswith(suffix) else n
            n = textwrap.shorten(n, 40, placeholder="…") if n else n
        out.append(f"{n} ({c})" if n else str(c))
    return out


def _dense(ax, n: int) -> None:
    ax.tick_params(labelsize=FONT["dense"] if n > _TALL_ABOVE else FONT["tick"])


def _row_labels(ax, names, codes) -> None:
    """One label per row (row i at y = i), "name (code)".

    Up to :data:`_TALL_ABOVE` rows these are ordinary tick labels. On a dense chart (the 134
    acute trusts) the labels are drawn by :func:`_fit` as one image strip beside the axes, in
    the same font and size: in matplotlib each label is a tick of several artists, laid out and
    drawn one by one from Python (the 134-row caterpillar took 0.36 s with tick labels and 0.11 s
    with the strip, matplotlib 3.10), where FreeType through Pillow renders each whole label in C.
    The figure is a PNG either way (:func:`png_bytes`).
    """
    n = len(codes)
    labels = _labels(names, codes, dense=n > _TALL_ABOVE)
    _dense(ax, n)
    if n > _TALL_ABOVE:
        ax.set_yticks([])
        ax._nhs_row_labels = labels
    else:
        ax.set_yticks(np.arange(n), labels)


@functools.lru_cache(maxsize=8)
def _pil_font(size_pt: float):
    """The charts' font (as matplotlib finds it) for Pillow, at ``size_pt`` points at :data:`DPI`."""
    from matplotlib.font_manager import FontProperties, findfont

    return ImageFont.truetype(findfont(FontProperties(family=FONT["family"])), size_pt * DPI / 72)


def _label_width(ax) -> float:
    """Width in pixels of the widest row label drawn as a strip (0 if the axes has none)."""
    labels = getattr(ax, "_nhs_row_labels", None)
    if not labels:
        return 0.0
    font = _pil_font(FONT["dense"])
    return max(font.getlength(t) for t in labels)


_LABEL_GAP = 4 * DPI / 72  # pixels between a row label and the axes (as tick length + pad would give)


def _draw_row_labels(fig: Figure, ax) -> None:
    """Render ``ax``'s row labels as one image, right-aligned beside the axes, each centred on its
    row (after the layout is fixed: the rows' pixel positions come from the axes' transform)."""
    labels = ax._nhs_row_labels
    n = len(labels)
    font = _pil_font(FONT["dense"])
    ys = ax.transData.transform(np.column_stack([np.zeros(n), np.arange(n)]))[:, 1]  # pixels, from below
    margin = int(np.ceil(font.size)) + 2
    y0 = int(np.floor(ys.min())) - margin
    height = int(np.ceil(ys.max())) + margin - y0 + 1
    width = int(np.ceil(_label_width(ax))) + 2
    mask = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(mask)
    for text, y in zip(labels, ys):  # one C call per label (the rows of one chart)
        draw.text((width - 1, y0 + height - 1 - y), text, fill=255, font=font, anchor="rm")
    rgba = np.zeros((height, width, 4), dtype=np.uint8)
    rgba[..., 3] = np.asarray(mask)
    x0 = int(round(ax.get_window_extent().x0 - _LABEL_GAP)) - width
    fig.figimage(rgba, xo=max(x0, 0), yo=y0, origin="upper", zorder=3).set_gid("row-labels")


def _rows(y, left, width, height) -> np.ndarray:
    """Vertices ``(k, 4, 2)`` of horizontal bars centred on ``y``: one rectangle per row, drawn
    as one PolyCollection instead of one patch per bar."""
    y, left, width, height = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (y, left, width, height)))
    x0, x1, y0, y1 = left, left + width, y - height / 2, y + height / 2
    return np.stack([np.column_stack(c) for c in ((x0, y0), (x0, y1), (x1, y1), (x1, y0))], axis=1)


# --------------------------------------------------------------------------------------
# League table charts
# --------------------------------------------------------------------------------------
def segment_counts(counts: pd.DataFrame, *, synthetic: bool, title: str | None = None) -> Figure:
    """Trusts per segment before ("raw") and after ("adjusted") the financial override.

    Parameters
    ----------
    counts : pandas.DataFrame
        Indexed by segment (1-5), columns ``raw`` and ``adjusted`` (numbers of trusts).
    synthetic : bool
    """
    fig = _figure("small")
    ax = fig.add_subplot()
    segs = list(counts.index)
    x = np.arange(len(segs))
    ax.bar(x - 0.2, counts["raw"], 0.38, color=[SEGMENT_COLOURS.get(s, "#999") for s in segs], alpha=0.45,
           edgecolor="black", hatch="//", label="before the override (raw)")
    ax.bar(x + 0.2, counts["adjusted"], 0.38, color=[SEGMENT_COLOURS.get(s, "#999") for s in segs],
           edgecolor="black", label="after the override (published rule)")
    for xi, (r, a) in enumerate(zip(counts["raw"], counts["adjusted"])):
        ax.text(xi - 0.2, r, f"{int(r)}", ha="center", va="bottom", fontsize=FONT["tick"])
        ax.text(xi + 0.2, a, f"{int(a)}", ha="center", va="bottom", fontsize=FONT["tick"])
    ax.set_xticks(x, [f"Segment {s}" for s in segs])
    ax.set_ylabel("Number of trusts", fontsize=FONT["label"])
    ax.legend(fontsize=FONT["tick"], frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return finish(fig, title or "Trusts per segment, before and after the financial override",
                  "Shows how many trusts the deficit cap moves down to segment 3; does not show whether "
                  "the segments themselves are statistically distinct.", synthetic=synthetic)


def caterpillar(summary: pd.DataFrame, *, synthetic: bool, different=None, cutoffs=None, highlight=None,
                interval_label: str = "95% interval", title: str | None = None,
                caption: str | None = None) -> Figure:
    """Average scores with intervals in the order given (best first); with ``different``, the
    trusts significantly better or worse than the highlighted trust are coloured.

    Parameters
    ----------
    summary : pandas.DataFrame
        Indexed by trust code, in rank order (best first), columns ``estimate``, ``lower``,
        ``upper`` and optionally ``name``.
    synthetic : bool
    different : pandas.Series, optional
        Per trust code: +1 significantly better than ``highlight``, −1 significantly worse,
        0 not told apart (a row of :func:`nhs_league.ranks.significance_matrix`). Only these
        pair verdicts are drawn: nothing is chained from one pair to the next.
    cutoffs : sequence of float, optional
        Segment cut-offs drawn as vertical lines.
    highlight : str, optional
        A trust code to mark.
    interval_label : str
        What the intervals are (e.g. "95% interval, metric-basket bootstrap").
    """
    n = len(summary)
    league = "league_rank" in summary  # league order, each row numbered with its league rank
    if league:
        summary = summary.assign(_e=summary["estimate"]).sort_values(["league_rank", "_e"], kind="stable")
    fig = _rows_figure(n)
    ax = fig.add_subplot()
    y = np.arange(n)
    est = summary["estimate"].to_numpy(float)
    lo, hi = summary["lower"].to_numpy(float), summary["upper"].to_numpy(float)
    colour = np.full(n, PRIMARY, dtype=object)
    handles = [Patch(color=PRIMARY, label=interval_label)]
    if different is not None and highlight is not None:
        d = different.reindex(summary.index).fillna(0).to_numpy(dtype=int)
        colour = np.where(d > 0, OKABE_ITO["bluish_green"], np.where(d < 0, SECONDARY, "#b5b5b5")).astype(object)
        handles = [Patch(color=OKABE_ITO["bluish_green"], label=f"significantly better than {highlight} ({(d > 0).sum()})"),
                   Patch(color=SECONDARY, label=f"significantly worse than {highlight} ({(d < 0).sum()})"),
                   Patch(color="#b5b5b5", label=f"not told apart from {highlight} ({(d == 0).sum() - 1})")]
    ax.hlines(y, lo, hi, color=list(colour), lw=1.2, zorder=2)
    ax.plot(est, y, "o", color="black", ms=3 if n > _TALL_ABOVE else 5, zorder=3)
    if highlight is not None and highlight in summary.index:
        k = summary.index.get_loc(highlight)
        ax.hlines(k, lo[k], hi[k], color=HIGHLIGHT, lw=3, zorder=4)
        ax.plot(est[k], k, "D", color=HIGHLIGHT, ms=7, zorder=5)
        handles.append(Patch(color=HIGHLIGHT, label=f"{highlight}"))
    for c in cutoffs or ():
        ax.axvline(c, color=OKABE_ITO["grey"], ls="--", lw=0.8, zorder=1)
        ax.text(c, -1.2, f"{c:.2f}", ha="center", va="bottom", fontsize=FONT["tick"], color="#555555")
    names = summary["name"] if "name" in summary else pd.Series([""] * n, index=summary.index)
    if league:  # "12. Trust name (CODE)": the league rank in front of every label
        names = pd.Series([f"{int(r)}. {nm}" for r, nm in zip(summary["league_rank"], names)], index=summary.index)
    _row_labels(ax, names, summary.index)
    ax.set_ylim(n - 0.5, -1.5)
    ax.set_xlabel("Average metric score (1 = best, 4 = worst)", fontsize=FONT["label"])
    # the legend sits above the plot, never over a trust's row
    ax.legend(handles=handles, fontsize=FONT["tick"], loc="lower left", bbox_to_anchor=(0.0, 1.0),
              ncol=2 if len(handles) > 2 else len(handles), frameon=False, borderaxespad=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    return finish(fig, title or ("Average scores with intervals, in league order (league rank before each name)"
                                 if league else "Average scores with intervals, in order of the average"),
                  caption or ("Shows each trust's average with its interval" +
                              (" and which trusts the pair test finds significantly better or worse than the "
                               "highlighted one" if different is not None else "") +
                              "; does not show method-choice uncertainty, nor any run of 'ties' (pair verdicts "
                              "do not chain)."),
                  synthetic=synthetic)


def position_ranges(frame: pd.DataFrame, *, synthetic: bool, coverage: float = 0.95, highlight=None,
                    title: str | None = None) -> Figure:
    """Every range for a trust's position on one chart with one legend, one row per trust.

    Parameters
    ----------
    frame : pandas.DataFrame
        Indexed by trust code in league order; columns ``name``, ``league_rank``, and pairs
        ``<kind>_low`` / ``<kind>_high`` for the kinds present among ``published`` (NHS
        England's published likely range), ``nhse`` (our reproduction of it), ``league``
        (our confidence set for the league rank), ``marginal`` and ``simultaneous`` (our
        confidence sets for the rank of the average).
    """
    kinds = [("published", "NHS England's likely range (published)", OKABE_ITO["black"], 1.2, 0.30),
             ("nhse", "NHS England's method, our reproduction", OKABE_ITO["reddish_purple"], 1.2, 0.15),
             ("league", f"{coverage:.0%} confidence set, league rank (ours)", OKABE_ITO["bluish_green"], 2.2, 0.0),
             ("marginal", f"{coverage:.0%} marginal set, rank of the average (ours)", PRIMARY, 1.2, -0.15),
             ("simultaneous", f"{coverage:.0%} simultaneous set, rank of the average (ours)", SECONDARY, 1.2, -0.30)]
    kinds = [k for k in kinds if f"{k[0]}_low" in frame and frame[f"{k[0]}_low"].notna().any()]
    n = len(frame)
    fig = _rows_figure(n, row_px=2 * ROW_PX)  # five ranges a row: twice the pitch
    ax = fig.add_subplot()
    y = np.arange(n)
    dense = n > _TALL_ABOVE
    for key, label, colour, lw, dy in kinds:
        lo = frame[f"{key}_low"].to_numpy(dtype=float)
        hi = frame[f"{key}_high"].to_numpy(dtype=float)
        ok = ~np.isnan(lo)
        ax.hlines(y[ok] + dy, lo[ok] - 0.4, hi[ok] + 0.4, color=colour, lw=lw * (0.7 if dense else 1.0), label=label)
    ax.plot(frame["league_rank"].to_numpy(dtype=float), y, "|", color="black", ms=6 if dense else 9,
            label="published league rank" if "published_low" in frame else "league rank")
    if highlight is not None and highlight in frame.index:
        ax.axhspan(frame.index.get_loc(highlight) - 0.5, frame.index.get_loc(highlight) + 0.5,
                   color=HIGHLIGHT, alpha=0.15, lw=0)
    names = frame["name"] if "name" in frame else pd.Series([""] * n, index=frame.index)
    _row_labels(ax, names.fillna(""), frame.index)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlim(0.4, n + 0.6)
    ax.set_xlabel("Rank (1 = best)", fontsize=FONT["label"])
    ax.legend(fontsize=FONT["tick"], loc="upper center", bbox_to_anchor=(0.5, -0.06 if dense else -0.12), ncol=2,
              frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return finish(fig, title or "Where each trust could be: NHS England's likely range beside our confidence sets",
                  "Shows, per trust, NHS England's range, our reproduction of it and our confidence sets (these "
                  "cover at their stated level); does not show uncertainty other than the choice of metrics, "
                  "and the likely ranges, being bootstrap ranges, do not show a coverage.",
                  synthetic=synthetic)


# --------------------------------------------------------------------------------------
# Rank uncertainty
# --------------------------------------------------------------------------------------
def rank_sets(sets: pd.DataFrame, *, synthetic: bool, names=None, coverage: float = 0.95,
              highlight=None, title: str | None = None) -> Figure:
    """Rank confidence sets: marginal and simultaneous, one row per trust in rank order.

    Parameters
    ----------
    sets : pandas.DataFrame
        Indexed by trust code, columns ``rank``, ``marginal_lower``, ``marginal_upper``,
        ``simultaneous_lower``, ``simultaneous_upper``.
    names : pandas.Series, optional
        Trust names by code.
    """
    s = sets.sort_values(["rank"], kind="stable")
    n = len(s)
    fig = _rows_figure(n)
    ax = fig.add_subplot()
    y = np.arange(n)
    ax.hlines(y, s["simultaneous_lower"] - 0.45, s["simultaneous_upper"] + 0.45, color=SECONDARY, lw=5,
              alpha=0.55, label=f"simultaneous {coverage:.0%} set (all trusts at once)")
    ax.hlines(y, s["marginal_lower"] - 0.45, s["marginal_upper"] + 0.45, color=PRIMARY, lw=2,
              label=f"marginal {coverage:.0%} set (this trust alone)")
    ax.plot(s["rank"], y, "|", color="black", ms=8, label="point rank")
    if highlight is not None and highlight in s.index:
        k = s.index.get_loc(highlight)
        ax.axhline(k, color=HIGHLIGHT, lw=0.8)
    nm = (names.reindex(s.index) if names is not None else pd.Series([""] * n, index=s.index))
    _row_labels(ax, nm.fillna(""), s.index)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlim(0.4, n + 0.6)
    ax.set_xlabel("Rank (1 = best)", fontsize=FONT["label"])
    ax.legend(fontsize=FONT["tick"], loc="lower right")
    ax.spines[["top", "right"]].set_visible(False)
    return finish(fig, title or "Rank confidence sets (Mogstad, Romano, Shaikh & Wilhelm)",
                  "Shows the ranks each trust could hold given the metric-basket uncertainty; does not "
                  "show method-choice uncertainty or sampling noise not in the replicates.", synthetic=synthetic)


def segment_probabilities(probs: pd.DataFrame, *, synthetic: bool, names=None, published=None,
                          title: str | None = None) -> Figure:
    """Stacked bars of each trust's probability of each segment, in the order given.

    Parameters
    ----------
    probs : pandas.DataFrame
        Indexed by trust code; columns are segments (1-4, maybe 5) with probabilities that
        sum to 1 per row.
    published : pandas.Series, optional
        The segment each trust holds in the table (marked with a tick).
    """
    n = len(probs)
    fig = _rows_figure(n)
    ax = fig.add_subplot()
    y = np.arange(n)
    p = probs.to_numpy(float)
    left = np.cumsum(p, axis=1) - p
    colours = [SEGMENT_COLOURS.get(int(seg), "#999") for seg in probs.columns]
    row, col = np.nonzero(p > 0)  # one rectangle per (trust, segment) with a share; one collection
    ax.add_collection(PolyCollection(_rows(y[row], left[row, col], p[row, col], 0.85),
                                     facecolors=np.asarray(colours, dtype=object)[col], edgecolors="white",
                                     linewidths=0.3), autolim=False)
    if published is not None:
        pub = pd.to_numeric(published.reindex(probs.index), errors="coerce").to_numpy(float)
        cols = np.asarray(probs.columns, dtype=float)
        j = np.argmax(cols[None, :] == pub[:, None], axis=1)
        have = np.isin(pub, cols)
        mid = p.cumsum(axis=1)[np.arange(n), j] - p[np.arange(n), j] / 2
        dark = have & (pub >= 3)
        ax.plot(mid[dark], y[dark], "|", color="black", ms=6, ls="none")
        ax.plot(mid[have & ~dark], y[have & ~dark], "|", color="white", ms=6, ls="none")
    nm = (names.reindex(probs.index) if names is not None else pd.Series([""] * n, index=probs.index))
    _row_labels(ax, nm.fillna(""), probs.index)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlim(0, 1)
    ax.set_xlabel("Probability", fontsize=FONT["label"])
    ax.legend(handles=[Patch(facecolor=c, edgecolor="white", label=f"segment {seg}")
                       for seg, c in zip(probs.columns, colours)],
              fontsize=FONT["tick"], ncols=len(probs.columns), loc="upper center",
              bbox_to_anchor=(0.5, -0.04 if n > _TALL_ABOVE else -0.1), frameon=False)
    return finish(fig, title or "Probability of each segment",
                  "Shows how often each trust lands in each segment across the replicates (tick = its "
                  "segment in the table); does not show method-choice uncertainty.", synthetic=synthetic)


# --------------------------------------------------------------------------------------
# Sensitivity
# --------------------------------------------------------------------------------------
def rank_shifts(shifts: pd.DataFrame, *, synthetic: bool, title: str | None = None) -> Figure:
    """Distribution of rank changes under each method choice (one box per scenario).

    Parameters
    ----------
    shifts : pandas.DataFrame
        One column per scenario, one row per trust: rank under the scenario minus the
        nominal rank (positive = moves down the table).
    """
    fig = _figure("wide")
    ax = fig.add_subplot()
    cols = list(shifts.columns)
    x = shifts.to_numpy(float)
    pos = np.arange(1, len(cols) + 1)
    _boxes(ax, x, pos, facecolor=matplotlib.colors.to_rgba(OKABE_ITO["sky_blue"], 0.7))
    ax.axvline(0, color=OKABE_ITO["grey"], lw=0.8)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a scenario no trust has: NaN, shown as "nan"
        mean_abs = np.nanmean(np.abs(x), axis=0)
    ax.set_yticks(pos, [f"{c}  (mean |shift| {m:.1f})" for c, m in zip(cols, mean_abs)])
    ax.tick_params(labelsize=FONT["tick"])
    ax.set_ylim(len(cols) + 0.5, 0.5)  # first scenario at the top
    ax.set_xlabel("Change in rank (positive = lower in the table)", fontsize=FONT["label"])
    ax.spines[["top", "right"]].set_visible(False)
    return finish(fig, title or "Rank changes under each method choice",
                  "Shows how far trusts move when one method choice changes; does not show which "
                  "choice is right, nor statistical noise.", synthetic=synthetic)


def sobol_indices(indices: pd.DataFrame, *, synthetic: bool, title: str | None = None,
                  outcome: str = "rank") -> Figure:
    """First-order (S1) and total (ST) Sobol indices per method choice, with intervals.

    Parameters
    ----------
    indices : pandas.DataFrame
        Indexed by choice; columns ``S1``, ``ST`` and optionally ``S1_conf``, ``ST_conf``
        (half-widths of the confidence intervals).
    """
    fig = _figure("small")
    ax = fig.add_subplot()
    k = np.arange(len(indices))
    s1 = indices["S1"].to_numpy(float)
    st = indices["ST"].to_numpy(float)
    e1 = indices["S1_conf"].to_numpy(float) if "S1_conf" in indices else None
    et = indices["ST_conf"].to_numpy(float) if "ST_conf" in indices else None
    ax.barh(k - 0.2, s1, 0.38, xerr=e1, color=PRIMARY, label="first order S1 (alone)")
    ax.barh(k + 0.2, st, 0.38, xerr=et, color=SECONDARY, label="total ST (with interactions)")
    ax.set_yticks(k, [str(i) for i in indices.index])
    ax.tick_params(labelsize=FONT["tick"])
    ax.invert_yaxis()
    ax.set_xlabel(f"Share of the variance of the {outcome}", fontsize=FONT["label"])
    ax.legend(fontsize=FONT["tick"], frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return finish(fig, title or "Which method choice drives the movement (Sobol indices)",
                  "Shows each choice's share of the variance in the outcome; does not show the "
                  "direction of the effect or which setting is right.", synthetic=synthetic)


def concordance(corr: pd.DataFrame, *, synthetic: bool, title: str | None = None,
                caption: str | None = None) -> Figure:
    """Heatmap of Spearman rank correlations (colour-blind-safe diverging PuOr scale)."""
    n = len(corr)
    fig = _figure("square")
    ax = fig.add_subplot()
    im = ax.imshow(corr.to_numpy(float), cmap="PuOr", vmin=-1, vmax=1)
    ax.set_xticks(np.arange(n), [str(c) for c in corr.columns], rotation=90)
    ax.set_yticks(np.arange(n), [str(c) for c in corr.index])
    ax.tick_params(labelsize=FONT["dense"] if n > 15 else FONT["tick"])
    if n <= 15:
        v = corr.to_numpy(float)
        for i in range(n):  # annotate cells of a small matrix (at most 225 labels)
            for j in range(n):
                if np.isfinite(v[i, j]):
                    ax.text(j, i, f"{v[i, j]:.2f}", ha="center", va="center", fontsize=FONT["dense"],
                            color="white" if abs(v[i, j]) > 0.6 else "black")
    fig.colorbar(im, ax=ax, shrink=0.7, label="Spearman correlation")
    return finish(fig, title or "Concordance between metrics (Spearman rank correlation)",
                  caption or ("Shows whether trusts ranked well on one measure rank well on another; does not "
                              "show cause, or whether a correlation is statistically significant."),
                  synthetic=synthetic)


# --------------------------------------------------------------------------------------
# One trust
# --------------------------------------------------------------------------------------
def box_stats(x: np.ndarray) -> dict:
    """Box-plot figures of each column of ``x`` (NaN ignored), computed for all columns at once.

    Quartiles by linear interpolation; whiskers reach the furthest value within 1.5 IQR of the
    box (Tukey), and at least to the box; values beyond the whiskers are outliers. These are the figures
    ``matplotlib.cbook.boxplot_stats`` gives (the tests check that). Columns with no value get NaN.

    Returns
    -------
    dict
        ``q1``, ``median``, ``q3``, ``whisker_low``, ``whisker_high`` (arrays, one per column) and
        ``outlier`` (boolean array shaped like ``x``).
    """
    x = np.asarray(x, dtype=float)
    out = {k: np.full(x.shape[1], np.nan) for k in ("q1", "median", "q3", "whisker_low", "whisker_high")}
    have = ~np.isnan(x).all(axis=0)
    out["outlier"] = np.zeros(x.shape, bool)
    if not have.any():
        return out
    v = x[:, have]
    q1, med, q3 = np.nanpercentile(v, [25, 50, 75], axis=0)
    iqr = q3 - q1
    with np.errstate(invalid="ignore"):
        # a whisker never ends inside the box (when no value lies between the box and its limit)
        lo = np.fmin(np.nanmin(np.where(v >= q1 - 1.5 * iqr, v, np.nan), axis=0), q1)
        hi = np.fmax(np.nanmax(np.where(v <= q3 + 1.5 * iqr, v, np.nan), axis=0), q3)
        out["outlier"][:, have] = (v < lo) | (v > hi)
    for k, a in zip(("q1", "median", "q3", "whisker_low", "whisker_high"), (q1, med, q3, lo, hi)):
        out[k][have] = a
    return out


def _boxes(ax, x: np.ndarray, pos: np.ndarray, height: float = 0.6, facecolor="#dddddd") -> None:
    """Horizontal box plots of each column of ``x`` at rows ``pos`` (:func:`box_stats`), in six
    artists: ``Axes.boxplot`` makes a dozen per box, and was most of the metric profile's cost."""
    st = box_stats(x)
    have = ~np.isnan(st["median"])
    if not have.any():
        return
    q1, med, q3, lo, hi = (st[k][have] for k in ("q1", "median", "q3", "whisker_low", "whisker_high"))
    p = pos[have]
    h = height / 2
    ax.hlines(np.r_[p, p], np.r_[lo, q3], np.r_[q1, hi], color="black", lw=0.8, zorder=2)  # whiskers
    ax.vlines(np.r_[lo, hi], np.r_[p, p] - h / 2, np.r_[p, p] + h / 2, color="black", lw=0.8, zorder=2)  # caps
    ax.add_collection(PolyCollection([[(a, y - h), (b, y - h), (b, y + h), (a, y + h)] for a, b, y in zip(q1, q3, p)],
                                     facecolors=[facecolor], edgecolors="black", linewidths=0.8, zorder=3))
    ax.vlines(med, p - h, p + h, color="black", lw=1.2, zorder=4)  # medians
    rows, cols = np.nonzero(st["outlier"])
    if len(rows):
        ax.scatter(np.asarray(x, dtype=float)[rows, cols], pos[cols], s=4, facecolors="none", edgecolors="black",
                   linewidths=0.6, zorder=3)


def metric_profile(scores: pd.DataFrame, trust_code, *, synthetic: bool, labels=None,
                   title: str | None = None) -> Figure:
    """One trust's 1-4 metric scores against the spread of its peers' scores.

    Parameters
    ----------
    scores : pandas.DataFrame
        Rows trusts (codes), columns metrics, values 1-4 scores (NaN = not scored).
    trust_code : str
        The trust to mark.
    labels : mapping, optional
        Readable metric names by column.
    """
    cols = list(scores.columns)
    fig = _figure("wide" if len(cols) <= 24 else "tall")
    ax = fig.add_subplot()
    pos = np.arange(1, len(cols) + 1)
    _boxes(ax, scores.to_numpy(float), pos)
    mine = scores.loc[trust_code].to_numpy(float) if trust_code in scores.index else np.full(len(cols), np.nan)
    ax.plot(mine, pos, "D", color=HIGHLIGHT, ms=7, label=f"{trust_code}", zorder=5)
    names = [str((labels or {}).get(c, c)) for c in cols]
    ax.set_yticks(pos, [textwrap.shorten(nm, 60) for nm in names])
    ax.tick_params(labelsize=FONT["tick"])
    ax.set_ylim(len(cols) + 0.5, 0.5)  # first metric at the top
    ax.set_xlim(0.9, 4.1)
    ax.set_xlabel("Metric score (1 = best, 4 = worst); boxes: peers of the same trust type",
                  fontsize=FONT["label"])
    ax.legend(fontsize=FONT["tick"], loc="lower left", bbox_to_anchor=(0.0, 1.0), frameon=False)  # above the data
    ax.spines[["top", "right"]].set_visible(False)
    return finish(fig, title or f"Metric scores of {trust_code} against its peers",
                  "Shows where the trust's score on each metric sits among its peers; scores are relative "
                  "ranks, so they do not show how large the differences in the raw values are.",
                  synthetic=synthetic)


def _plain_count(value: float, _pos=None) -> str:
    """A denominator as a reader writes it: ``1,000`` rather than ``10³``; ``0.5`` below 1.

    Examples
    --------
    >>> [_plain_count(v) for v in (0.5, 10.0, 1000.0, 2.5e5)]
    ['0.5', '10', '1,000', '250,000']
    """
    return f"{value:,.0f}" if value >= 1 else f"{value:g}"


def _log_denominators(ax) -> None:
    """A log-scale x axis of denominators labelled in plain numbers, minor ticks unlabelled.

    matplotlib labels a log axis with powers of ten typeset as mathtext; the first such label in
    a process builds the mathtext parser (about 0.06 s of the six-panel funnel chart, paid by
    every trust-profile report), and an NHS reader reads "10,000" more easily than 10⁴.
    """
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(_plain_count))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def funnel(result, *, synthetic: bool, highlight=None, scale: float = 100.0, metric: str = "",
           title: str | None = None) -> Figure:
    """Funnel plot: each trust's proportion against its denominator, with control limits.

    Parameters
    ----------
    result : nhs_league.funnel.FunnelResult
        From :func:`nhs_league.funnel.funnel_limits` (``table``, ``target``, ``curve()``).
    highlight : str, optional
        A trust code to mark.
    scale : float, default 100
        Values are shown multiplied by this (100 = percentages).
    metric : str
        Metric name for the axis and title.
    """
    t = result.table
    fig = _figure("small")
    ax = fig.add_subplot()
    den = t["denominator"].to_numpy(float)
    grid = np.geomspace(max(den.min() * 0.8, 1.0), den.max() * 1.2, 200)
    c = result.curve(grid)
    styles = ["--", ":"]
    for i, level in enumerate(result.levels):
        lab = f"{100 * level:.10g}"
        ls = styles[i % 2]
        ax.plot(grid, c[f"lower_{lab}"] * scale, ls, color=OKABE_ITO["grey"], lw=1,
                label=f"{lab}% limits" + (" (overdispersion allowed for)" if result.overdispersed and i == 0 else ""))
        ax.plot(grid, c[f"upper_{lab}"] * scale, ls, color=OKABE_ITO["grey"], lw=1)
    ax.axhline(result.target * scale, color="black", lw=0.8, label="target (pooled value)")
    ax.scatter(den, t["value"] * scale, s=12, color=PRIMARY, alpha=0.75, label="trusts", zorder=3)
    if highlight is not None and highlight in t.index:
        ax.scatter([t.loc[highlight, "denominator"]], [t.loc[highlight, "value"] * scale], s=70, marker="D",
                   color=HIGHLIGHT, zorder=4, label=str(highlight))
    _log_denominators(ax)
    ax.set_xlabel("Denominator (log scale)", fontsize=FONT["label"])
    ax.set_ylabel(metric or "Value", fontsize=FONT["label"])
    ax.legend(fontsize=FONT["dense"] + 1, frameon=False, loc="best")
    ax.spines[["top", "right"]].set_visible(False)
    return finish(fig, title or f"Funnel plot: {metric}".rstrip(": "),
                  "Shows which trusts lie outside what chance (plus overdispersion) allows; does not show "
                  "why, and a point outside the limits is a prompt to look, not a verdict.",
                  synthetic=synthetic)


def funnels(items, *, synthetic: bool, highlight=None, title: str | None = None) -> Figure:
    """Funnel plots of several metrics as small multiples (one panel per metric).

    Parameters
    ----------
    items : list of (label, FunnelResult, scale)
        One panel each, in order; ``scale`` multiplies values for display (100 = percent).
    highlight : str, optional
        A trust code marked in every panel.
    """
    k = len(items)
    if k == 0:
        raise ValueError("funnels: nothing to draw")
    ncols = 3 if k > 4 else min(k, 2)
    nrows = -(-k // ncols)
    fig = _figure("tall" if nrows > 2 else "wide")
    grid_spec = fig.add_gridspec(nrows, ncols)
    axes = [fig.add_subplot(grid_spec[i // ncols, i % ncols]) for i in range(k)]  # no empty panels
    for ax, (label, result, scale) in zip(axes, items):
        t = result.table
        den = t["denominator"].to_numpy(float)
        grid = np.geomspace(max(den.min() * 0.8, 1.0), den.max() * 1.2, 120)
        c = result.curve(grid)
        for i, level in enumerate(result.levels):
            lab = f"{100 * level:.10g}"
            ls = ("--", ":")[i % 2]
            ax.plot(grid, c[f"lower_{lab}"] * scale, ls, color=OKABE_ITO["grey"], lw=1, label=f"{lab}% limits")
            ax.plot(grid, c[f"upper_{lab}"] * scale, ls, color=OKABE_ITO["grey"], lw=1)
        ax.axhline(result.target * scale, color="black", lw=0.8)
        ax.scatter(den, t["value"] * scale, s=8, color=PRIMARY, alpha=0.7, zorder=3)
        if highlight is not None and highlight in t.index:
            ax.scatter([t.loc[highlight, "denominator"]], [t.loc[highlight, "value"] * scale], s=50, marker="D",
                       color=HIGHLIGHT, zorder=4)
        _log_denominators(ax)
        # unlabelled minor ticks at 2x and 5x each power of ten only: each tick is several artists,
        # and on small panels the full 2..9 set cost more to lay out than everything else drawn
        ax.xaxis.set_minor_locator(matplotlib.ticker.LogLocator(subs=(2.0, 5.0)))
        ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))  # a small panel needs few
        ax.set_title(textwrap.shorten(label, 48), fontsize=FONT["tick"])
        ax.tick_params(labelsize=FONT["dense"] + 1)
        ax.spines[["top", "right"]].set_visible(False)
    handles = [matplotlib.lines.Line2D([], [], ls="--", color=OKABE_ITO["grey"], label="95% limits"),
               matplotlib.lines.Line2D([], [], ls=":", color=OKABE_ITO["grey"], label="99.8% limits"),
               matplotlib.lines.Line2D([], [], color="black", label="pooled value"),
               matplotlib.lines.Line2D([], [], marker="D", ls="none", color=HIGHLIGHT, label=str(highlight or ""))]
    axes[0].legend(handles=handles if highlight else handles[:3], loc="best", fontsize=FONT["dense"],
                   framealpha=0.8)
    return finish(fig, title or "Funnel plots: value against denominator (log scale)",
                  "Shows which trusts lie outside what chance plus overdispersion allows (limits widened per "
                  "Spiegelhalter 2005); does not show why, and outside is a prompt to look, not a verdict.",
                  synthetic=synthetic)


def trend(history: pd.DataFrame, *, synthetic: bool, trust: str = "", cutoffs=None,
          title: str | None = None) -> Figure:
    """One trust's average score quarter by quarter, with intervals and ranks.

    Parameters
    ----------
    history : pandas.DataFrame
        One row per quarter (in order), columns ``quarter``, ``estimate``, optional
        ``lower``/``upper``, ``league_rank`` (or ``rank``), ``segment``, ``cutoffs`` (that quarter's
        cut-offs as text "2.06 / 2.35 / 2.70", blank where it used none).
    """
    fig = _figure("small")
    ax = fig.add_subplot()
    x = np.arange(len(history))
    est = history["estimate"].to_numpy(float)
    if {"lower", "upper"} <= set(history.columns):
        lo, hi = history["lower"].to_numpy(float), history["upper"].to_numpy(float)
        ax.vlines(x, lo, hi, color=PRIMARY, lw=2, label="interval")
    ax.plot(x, est, "o-", color="black", label="average score")
    for i, row in enumerate(history.itertuples()):  # one label per quarter
        bits = []
        if "league_rank" in history and pd.notna(getattr(row, "league_rank", None)):
            bits.append(f"league rank {int(row.league_rank)}")
        elif "rank" in history and pd.notna(getattr(row, "rank", None)):
            bits.append(f"rank {int(row.rank)}")
        if "segment" in history and pd.notna(getattr(row, "segment", None)):
            bits.append(f"seg {int(row.segment)}")
        if bits:
            ax.annotate(", ".join(bits), (i, est[i]), textcoords="offset points", xytext=(6, 6),
                        fontsize=FONT["tick"])
    if "cutoffs" in history:  # each quarter's own cut-offs, only where that quarter used cut-offs
        for i, text in enumerate(history["cutoffs"].fillna("").astype(str)):
            for c in (float(t) for t in text.split("/") if t.strip()):
                ax.hlines(c, i - 0.35, i + 0.35, color=OKABE_ITO["grey"], ls="--", lw=0.9)
    else:
        for c in cutoffs or ():
            ax.axhline(c, color=OKABE_ITO["grey"], ls="--", lw=0.8)
    ax.set_xticks(x, history["quarter"].astype(str))
    ax.set_xlim(-0.5, len(history) - 0.2)
    ax.invert_yaxis()
    ax.set_ylabel("Average metric score (1 = best)", fontsize=FONT["label"])
    ax.legend(fontsize=FONT["tick"], frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return finish(fig, title or f"Quarter-by-quarter average score{': ' + trust if trust else ''}",
                  "Shows the trust's average and its interval each quarter, with that quarter's segment cut-offs "
                  "(dashed, where it used cut-offs); does not show whether its peers changed.", synthetic=synthetic)


def movement(change: pd.DataFrame, *, synthetic: bool, names=None, title: str | None = None,
             from_label: str = "", to_label: str = "") -> Figure:
    """Change in average score between two quarters per trust, with its interval.

    Parameters
    ----------
    change : pandas.DataFrame
        Indexed by trust code, sorted as wanted; columns ``change``, ``lower``, ``upper`` and
        ``beyond_noise`` (bool: the interval excludes 0).
    """
    n = len(change)
    fig = _rows_figure(n)
    ax = fig.add_subplot()
    y = np.arange(n)
    real = change["beyond_noise"].to_numpy(bool)
    d = change["change"].to_numpy(float)
    ax.hlines(y, change["lower"], change["upper"], color=np.where(real, SECONDARY, "#bbbbbb"), lw=1.5)
    ax.plot(d[~real], y[~real], "o", color=OKABE_ITO["grey"], ms=3, label="within noise")
    ax.plot(d[real], y[real], "o", color=SECONDARY, ms=5, label="larger than noise")
    ax.axvline(0, color="black", lw=0.8)
    nm = (names.reindex(change.index) if names is not None else pd.Series([""] * n, index=change.index))
    _row_labels(ax, nm.fillna(""), change.index)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlabel(f"Change in average score {from_label} → {to_label} (negative = better)",
                  fontsize=FONT["label"])
    ax.legend(fontsize=FONT["tick"], loc="lower right")
    ax.spines[["top", "right"]].set_visible(False)
    return finish(fig, title or "Movement between quarters",
                  "Shows each trust's change with its interval, highlighted where the interval excludes "
                  "no change; does not show method changes between quarters.", synthetic=synthetic)


def rank_bands(summary: pd.DataFrame, *, synthetic: bool, title: str | None = None) -> Figure:
    """Each trust's nominal rank and the 5-95% band of its rank over method scenarios.

    Parameters
    ----------
    summary : pandas.DataFrame
        From :meth:`nhs_league.sensitivity.SensitivityResult.trust_summary`: columns
        ``Trust_code``, ``Trust_name``, ``Nominal_rank``, ``Median_rank``, ``Rank_p05``,
        ``Rank_p95`` (one row per trust, in nominal order).
    """
    s = summary[summary["Nominal_rank"] > 0]
    n = len(s)
    fig = _rows_figure(n)
    ax = fig.add_subplot()
    y = np.arange(n)
    ax.hlines(y, s["Rank_p05"], s["Rank_p95"], color=SECONDARY, lw=3, alpha=0.8,
              label="5-95% of method scenarios")
    ax.plot(s["Median_rank"], y, "o", color=PRIMARY, ms=3, label="median over scenarios")
    ax.plot(s["Nominal_rank"], y, "|", color="black", ms=8, label="rank with the published method")
    _row_labels(ax, s["Trust_name"], s["Trust_code"])
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlabel("League rank (1 = best)", fontsize=FONT["label"])
    ax.legend(fontsize=FONT["tick"], loc="lower right")
    ax.spines[["top", "right"]].set_visible(False)
    return finish(fig, title or "League rank under plausible method choices (Monte Carlo)",
                  "Shows the range of ranks each trust takes when the method choices vary together; does not "
                  "show statistical noise in the data, nor which method is right.", synthetic=synthetic)


def whatif_changes(options: pd.DataFrame, *, synthetic: bool, trust: str = "", target: int | None = None,
                   title: str | None = None) -> Figure:
    """The change each metric needs to move a trust into the target segment, on one scale.

    Parameters
    ----------
    options : pandas.DataFrame
        :attr:`nhs_league.whatif.WhatIf.options`: one row per metric (``Kind = single metric``) and
        one per metric of the smallest combination (``Kind = combination``).
    trust : str
        The trust, for the title.
    target : int, optional
        The target segment, for the title.

    Bars are the needed change as a share of the peers' range of the metric (best minus worst
    value among the trusts it is scored with); metrics that cannot do it alone are listed with
    the reason instead of a bar.
    """
    single = options[options["Kind"] == "single metric"]
    combo = options[options["Kind"] == "combination"]
    rows = list(single.itertuples(index=False))
    n = max(len(rows), 1)
    fig = _figure("wide" if n <= 16 else "tall")
    ax = fig.add_subplot()
    pos = np.arange(len(rows))
    reach = np.array([bool(r.Reaches_target) if pd.notna(r.Reaches_target) else False for r in rows], bool)
    share = np.array([float(r.Change_share_of_range) if pd.notna(r.Change_share_of_range) else np.nan
                      for r in rows])
    in_combo = {m: s for m, s in zip(combo["Metric_ID"], combo["Change_share_of_range"])}
    cshare = np.array([float(in_combo.get(r.Metric_ID, np.nan)) for r in rows])
    finite = np.concatenate([share[reach], cshare[~np.isnan(cshare)]])
    xmax = max(float(np.nanmax(finite)) * 1.6 if finite.size else 0.0, 0.25)  # room for the value labels
    if reach.any():
        ax.barh(pos[reach], share[reach], height=0.6, color=PRIMARY, label="one metric alone")
    if (~np.isnan(cshare)).any():
        ok = ~np.isnan(cshare)
        ax.barh(pos[ok], cshare[ok], height=0.35, color=SECONDARY, hatch="//", edgecolor="white",
                label="in the smallest combination (all together)")
    for k, r in enumerate(rows):
        if reach[k]:
            ax.text(share[k] + xmax * 0.01, k, f"{_num(r.Current_value)} to {_num(r.Needed_value)}",
                    va="center", fontsize=FONT["tick"])
        elif not np.isnan(cshare[k]):
            c = combo[combo["Metric_ID"] == r.Metric_ID].iloc[0]
            ax.text(cshare[k] + xmax * 0.01, k, f"{_num(c['Current_value'])} to {_num(c['Needed_value'])} "
                    f"(together)", va="center", fontsize=FONT["tick"])
        else:
            ax.text(xmax * 0.01, k, str(r.Status).split(":")[0], va="center", fontsize=FONT["tick"],
                    color="#555555", style="italic")
    labels = [f"{r.Metric_ID} {textwrap.shorten(str(r.Metric), 48)}" for r in rows]
    ax.set_yticks(pos, labels)
    ax.tick_params(labelsize=FONT["tick"])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(0, xmax)
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_xlabel("Change needed, as a share of the peers' range of the metric (best minus worst value)",
                  fontsize=FONT["label"])
    if reach.any() or (~np.isnan(cshare)).any():
        ax.legend(fontsize=FONT["tick"], loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=2, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    goal = f"segment {target}" if target is not None else "the target segment"
    for suffix in _SUFFIXES:  # the title names the trust without "NHS Foundation Trust"
        trust = trust.replace(suffix, "")
    return finish(fig, title or f"What would move {trust} into {goal}",
                  "Shows the smallest change in each metric alone (everything else fixed; checked by re-running "
                  "the whole method); does not show whether a change is achievable, or how other trusts will move.",
                  synthetic=synthetic)


def _num(x) -> str:
    return f"{float(x):g}" if abs(float(x)) >= 100 else f"{float(x):.2f}"


# --------------------------------------------------------------------------------------
# Context: catchment deprivation (nhs_league.context)
# --------------------------------------------------------------------------------------
def context_scatter(table: pd.DataFrame, fit: pd.DataFrame, *, synthetic: bool, score: str = "IMD_score",
                    score_label: str = "Catchment deprivation (IMD 2019 score; higher = more deprived)",
                    interval_label: str = "95% confidence band of the fitted line",
                    title: str | None = None, caption: str | None = None) -> Figure:
    """Average score against catchment deprivation, one point per trust coloured by segment,
    with the fitted line and its band.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per trust: ``score``, ``Average_score``, ``Segment``.
    fit : pandas.DataFrame
        Columns ``x``, ``mean``, ``lower``, ``upper`` (the fitted line and its band over a grid).
    """
    fig = _figure("wide")
    ax = fig.add_subplot()
    ax.fill_between(fit["x"], fit["lower"], fit["upper"], color=OKABE_ITO["grey"], alpha=0.3, lw=0,
                    label=interval_label, zorder=1)
    ax.plot(fit["x"], fit["mean"], color="black", lw=1.5, label="fitted line (OLS of the average on deprivation)",
            zorder=2)
    for s in sorted(table["Segment"].dropna().unique()):
        d = table[table["Segment"] == s]
        ax.scatter(d[score], d["Average_score"], s=22, color=SEGMENT_COLOURS.get(int(s), "#999999"),
                   edgecolor="black", linewidth=0.4, label=f"segment {int(s)} ({len(d)} trusts)", zorder=3)
    ax.set_xlabel(score_label, fontsize=FONT["label"])
    ax.set_ylabel("Average metric score (1 = best, 4 = worst)", fontsize=FONT["label"])
    ax.tick_params(labelsize=FONT["tick"])
    ax.legend(fontsize=FONT["tick"], loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return finish(fig, title or "Average score against catchment deprivation",
                  caption or ("Shows each trust's average against the deprivation of the areas its admitted "
                              "patients come from, with the fitted line; does not show an effect of deprivation on "
                              "care (the association is ecological)."), synthetic=synthetic)


def quintile_chart(assoc: pd.DataFrame, measures, *, synthetic: bool, groups, ylabel: str,
                   interval_label: str = "95% interval", title: str | None = None,
                   caption: str | None = None, size: str = "wide") -> Figure:
    """Per deprivation quintile: one panel per measure, the estimate with its interval.

    Parameters
    ----------
    assoc : pandas.DataFrame
        :func:`nhs_league.context.association` (``Measure``, ``Group``, ``Estimate``, ``Low``, ``High``, ``N``).
    measures : list of (measure, panel title)
    groups : list of str
        The ``Group`` values in order (quintile 1 ... 5); shown as 1-5 on the x axis.
    """
    k = len(measures)
    cols = min(k, 3)
    rows = int(np.ceil(k / cols))
    fig = _figure(size)
    a = assoc.set_index(["Measure", "Group"])
    x = np.arange(1, len(groups) + 1)
    first = None
    for j, (measure, label) in enumerate(measures):
        ax = fig.add_subplot(rows, cols, j + 1, sharey=first)
        first = first or ax
        d = a.loc[measure].reindex(groups)
        est, lo, hi = (d[c].to_numpy(float) for c in ("Estimate", "Low", "High"))
        ax.errorbar(x, est, yerr=np.vstack([est - lo, hi - est]), fmt="o", color=PRIMARY, ecolor=PRIMARY,
                    capsize=3, ms=5, lw=1.2)
        ax.set_title(label, fontsize=FONT["label"])
        ax.set_xticks(x, [str(i) for i in x])
        ax.set_xlim(0.5, len(groups) + 0.5)
        ax.tick_params(labelsize=FONT["tick"])
        ax.spines[["top", "right"]].set_visible(False)
        if j % cols == 0:
            ax.set_ylabel(ylabel, fontsize=FONT["label"] if rows == 1 else FONT["tick"])
        if j >= k - cols:
            ax.set_xlabel("Deprivation quintile", fontsize=FONT["tick"])
    return finish(fig, title or "By deprivation quintile",
                  caption or (f"Shows the mean in each fifth of trusts by catchment deprivation (1 = least, 5 = most "
                              f"deprived; points) with its {interval_label} (bars); does not show any trust's own "
                              "position."),
                  synthetic=synthetic)


def segment_shares(assoc: pd.DataFrame, *, synthetic: bool, groups, segments=(1, 2, 3, 4),
                   interval_label: str = "95% Wilson interval", title: str | None = None) -> Figure:
    """Per deprivation quintile: the share of its trusts in each segment, with intervals."""
    fig = _figure("small")
    ax = fig.add_subplot()
    a = assoc.set_index(["Measure", "Group"])
    x = np.arange(1, len(groups) + 1)
    width = 0.8 / len(segments)
    for j, s in enumerate(segments):
        key = f"share_segment_{s}"
        if key not in a.index.get_level_values(0):
            continue
        d = a.loc[key].reindex(groups)
        est, lo, hi = (100 * d[c].to_numpy(float) for c in ("Estimate", "Low", "High"))
        off = (j - (len(segments) - 1) / 2) * width
        ax.bar(x + off, est, width * 0.9, color=SEGMENT_COLOURS.get(s, "#999999"), edgecolor="black", lw=0.4,
               label=f"segment {s}")
        ax.errorbar(x + off, est, yerr=np.vstack([est - lo, hi - est]), fmt="none", ecolor="black", capsize=2,
                    lw=0.8)
    ax.set_xticks(x, [f"quintile {i}" for i in x])
    ax.set_xlabel("Deprivation quintile (1 = least, 5 = most deprived)", fontsize=FONT["label"])
    ax.set_ylabel("Share of the quintile's trusts (%)", fontsize=FONT["label"])
    ax.tick_params(labelsize=FONT["tick"])
    ax.legend(fontsize=FONT["tick"], loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
              title=f"bars: share; lines: {interval_label}", title_fontsize=FONT["tick"])
    ax.spines[["top", "right"]].set_visible(False)
    return finish(fig, title or "Segments by deprivation quintile",
                  "Shows the share of each quintile's trusts in each segment with its interval; does not show a "
                  "trend a test has found (with about 26 trusts per quintile the intervals are wide).",
                  synthetic=synthetic)


def context_movers(movers: pd.DataFrame, *, synthetic: bool, title: str | None = None) -> Figure:
    """League rank with the published method and in the deprivation-adjusted league, for the
    trusts that move most (arrows from the league's rank to the adjusted rank).

    Parameters
    ----------
    movers : pandas.DataFrame
        :func:`nhs_league.context.movers`: ``Trust_code``, ``Trust_name``, ``Rank``, ``Adjusted_rank``,
        ``Segment``, ``Adjusted_segment``, ``Direction``.
    """
    n = len(movers)
    fig = _figure("wide")
    ax = fig.add_subplot()
    y = np.arange(n)
    r0 = movers["Rank"].to_numpy(float)
    r1 = movers["Adjusted_rank"].to_numpy(float)
    up = r1 < r0
    for yi, a, b, u in zip(y, r0, r1, up):
        ax.annotate("", xy=(b, yi), xytext=(a, yi),
                    arrowprops=dict(arrowstyle="->", color=PRIMARY if u else SECONDARY, lw=1.6))
    ax.plot(r0, y, "|", color="black", ms=10, label="league rank (published method)")
    ax.plot(r1[up], y[up], "o", color=PRIMARY, ms=4, label="adjusted rank: moves up")
    ax.plot(r1[~up], y[~up], "o", color=SECONDARY, ms=4, label="adjusted rank: moves down")
    seg = [f"{a}→{b}" if a != b else "" for a, b in zip(movers["Segment"], movers["Adjusted_segment"])]
    for yi, s, a, b in zip(y, seg, r0, r1):
        if s:
            ax.text(max(a, b) + 1.5, yi, f"segment {s}", va="center", fontsize=FONT["tick"], color="#333333")
    _row_labels(ax, movers["Trust_name"], movers["Trust_code"])
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlabel("League rank (1 = best; by segment, then average)", fontsize=FONT["label"])
    ax.tick_params(axis="x", labelsize=FONT["tick"])
    ax.legend(fontsize=FONT["tick"], loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return finish(fig, title or "Biggest movers in the deprivation-adjusted league",
                  "Shows the trusts whose league rank changes most when averages are adjusted for catchment "
                  "deprivation; does not show a corrected league: the adjustment is one modelling choice.",
                  synthetic=synthetic)
