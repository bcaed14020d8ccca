"""Report inputs: which files a report reads, and what they support."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InputError
from ..io import Inputs, read_inputs, rows_for
from ..quarters import Quarter

from ._common import ROOT, SYNTHETIC_DIR


# ======================================================================================
# Data
# ======================================================================================
def synthetic_files(root=None) -> list[Path]:
    """The committed synthetic 2025/26 year: every CSV under ``data/synthetic/2025-26/``.

    Raises :class:`InputError` when it has not been generated (``nhs-league synth``).
    """
    d = Path(root) if root is not None else SYNTHETIC_DIR
    files = sorted(p for p in d.rglob("*.csv") if p.is_file()) if d.is_dir() else []
    if not files:
        raise InputError("the synthetic year is not there: run `nhs-league synth` first", file=d)
    return files


def resolve_data(data, *, where=None) -> list[Path]:
    """Input paths as absolute paths; folders expand to the CSV files under them.

    An empty list means the committed synthetic year; relative paths are taken from the
    project folder (not the working directory). A missing file is an :class:`InputError`.
    """
    if isinstance(data, (str, os.PathLike)):
        data = [data]
    if not data:
        return synthetic_files()
    out = []
    for item in data:
        p = Path(item).expanduser()
        if not p.is_absolute():
            p = ROOT / p  # anchored on the project folder, never the working directory
        if p.is_dir():
            found = sorted(x for x in p.rglob("*.csv") if x.is_file())
            if not found:
                raise InputError("folder holds no CSV file", file=p, column="data")
            out.extend(found)
        elif p.is_file():
            out.append(p.resolve())
        else:
            raise InputError("data file not found", file=p if where is None else f"{where}: {p}", column="data")
    return out


def _is_extract(path: Path) -> bool:
    from ..realdata import EXTRACT_FILE

    return Path(path).name == EXTRACT_FILE


def load_inputs(paths) -> Inputs:
    """Read the inputs: official CSV files, or the real-data extract (read by its adapter)."""
    paths = [Path(p) for p in paths]
    extract = [p for p in paths if _is_extract(p)]
    if extract:
        if len(paths) > 1:
            raise InputError("the real-data extract must be read on its own, not with other files",
                             file=extract[0], column="data")
        from ..realdata import read_extract

        return read_extract(extract[0])
    return read_inputs(paths)


def data_label(paths) -> str:
    """``"SYNTHETIC"`` when every input file is marked synthetic (``Data_source``), else ``"real"``."""
    from ..io import _is_synthetic, read_raw_csv

    flags = []
    for p in paths:
        if _is_extract(Path(p)):
            flags.append(False)
            continue
        try:
            flags.append(_is_synthetic(read_raw_csv(p)))
        except InputError:
            flags.append(False)
    return "SYNTHETIC" if flags and all(flags) else "real"


def capabilities(inputs: Inputs, quarter: str, trust_type: str, *, catchment=None) -> set[str]:
    """What the inputs support for one quarter and trust type.

    * ``table``: a league table can be made (metric data or a league-table file);
    * ``metric_scores``: metric-level data, so the basket bootstrap and the rank sets work;
    * ``domain_scores``: published domain scores (``OF4000``-``OF4005``);
    * ``previous_quarter``: metric-level data for the quarter before as well;
    * ``catchments``: acute trusts, at least 10 of them in the catchment file (``catchment``, else
      the default for the data: the SYNTHETIC one in ``data/synthetic/context/`` or the shared one).

    The real-data extract holds no per-metric scores, so it never has ``metric_scores``.
    """
    from ..catalogue import DOMAIN_SCORE_IDS, load_catalogue, score_id_map

    out = set()
    m, lg = inputs.metrics, inputs.league
    extract = any(_is_extract(Path(f)) for f in inputs.files)
    cat = load_catalogue()
    scored = set(cat.index[cat["rule"].isin(["continuous", "finance_position", "published"])]) | set(
        score_id_map(cat))
    here = rows_for(m, quarter, trust_type)
    if len(here) or len(rows_for(lg, quarter, trust_type)):
        out.add("table")
    if "table" in out and trust_type == "acute":  # catchments exist for acute trusts only
        from ..context import catchment_coverage

        codes = set(here["trust_code"]) | set(rows_for(lg, quarter, trust_type)["trust_code"])
        if catchment_coverage(codes, synthetic=inputs.synthetic, catchment=catchment) >= 10:
            out.add("catchments")
    if not extract and len(here) and here["metric_id"].isin(scored).any():
        out.add("metric_scores")
    if len(here) and here["metric_id"].isin(list(DOMAIN_SCORE_IDS.values())).any():
        out.add("domain_scores")
    prev = rows_for(m, Quarter.parse(quarter).previous().code, trust_type)
    if not extract and len(prev) and (prev["quarter"] != "").any() and prev["metric_id"].isin(scored).any():
        out.add("previous_quarter")
    return out
