"""Imports, paths and constants shared by the modules of :mod:`nhs_league.report`."""

from __future__ import annotations

import re
from pathlib import Path

from ..io import TRUST_TYPE_LABELS

PACKAGE_DIR = Path(__file__).resolve().parent.parent
ROOT = PACKAGE_DIR.parent
NOTEBOOK_DIR = ROOT / "notebooks"
SUITE_FILE = PACKAGE_DIR / "data" / "reports.yaml"
REPORTS_DIR = ROOT / "reports"
BUILD_DIR = ROOT / "build" / "notebooks"
SYNTHETIC_DIR = ROOT / "data" / "synthetic" / "2025-26"
KERNEL_NAME = "nhs-league"
CELL_TIMEOUT = 600  # seconds per cell
MAX_CELL_TIMEOUT = 24 * 3600  # the largest --timeout accepted
START_TIMEOUT = 120  # seconds for a kernel to start
TRUST_TYPES = tuple(TRUST_TYPE_LABELS)
#: Sources of the intervals a notebook can ask for (see nhs_league.uncertainty).
UNCERTAINTY_SOURCES = ("metrics", "metrics-jackknife", "sampling", "nhse")
#: The banner's attribute that tells the runner what the notebook read: SYNTHETIC or real data.
_LABEL_ATTR = "data-nhs-data"
_LABEL_IN_PAGE = re.compile(_LABEL_ATTR + r'="(SYNTHETIC|real)"')
#: What a report says where the inputs cannot support an interval.
NO_METRIC_SCORES = (
    "These inputs hold no per-metric scores (a league-table file, or the real Q3 2025/26 extract, "
    "which keeps only published averages, segments, domain scores and a few raw values). The "
    "metric-basket bootstrap needs each trust's metric scores, so no interval is shown here rather "
    "than an invented one.")
