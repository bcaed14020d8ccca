"""Quarter and financial-year labels, parsed in one place.

NHS financial years run April to March. ``2025/26`` is the year starting April 2025;
its Q1 is April-June 2025 and its Q4 January-March 2026. The compact code ``2025Q3`` means
quarter 3 of the financial year 2025/26 (October-December 2025), *not* calendar Q3.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InputError

_PATTERNS = [
    # Q3 2025/26, Q3 2025-26, Q3 25/26, Q3 FY2025/26
    re.compile(r"^Q(?P<q>[1-4])\s*(?:FY)?\s*(?P<y>\d{2}|\d{4})\s*[/-]\s*(?P<y2>\d{2})$", re.I),
    # 2025/26 Q3, 25/26 Q3
    re.compile(r"^(?:FY)?\s*(?P<y>\d{2}|\d{4})\s*[/-]\s*(?P<y2>\d{2})\s*Q(?P<q>[1-4])$", re.I),
    # 2025Q3, 2025-Q3, 2025 Q3
    re.compile(r"^(?P<y>\d{4})\s*-?\s*Q(?P<q>[1-4])$", re.I),
]
_FY = re.compile(r"^(?:FY)?\s*(?P<y>\d{2}|\d{4})\s*[/-]\s*(?P<y2>\d{2})$", re.I)
# inside a file name: q3-25-26, q1_2025_26
_IN_PATH = re.compile(r"(?<![a-z0-9])q(?P<q>[1-4])[-_ ](?P<y>\d{2}|\d{4})[-_ ](?P<y2>\d{2})(?![0-9])", re.I)
_IN_PATH_CODE = re.compile(r"(?<![0-9])(?P<y>20\d{2})-?q(?P<q>[1-4])(?![0-9])", re.I)


def _year(y: str, y2: str | None) -> int:
    start = int(y)
    if start < 100:
        start += 2000
    if y2 is not None and (start + 1) % 100 != int(y2):
        raise ValueError(f"financial year {y}/{y2} does not span consecutive years")
    return start


@dataclass(frozen=True, order=True)
class Quarter:
    """A quarter of an NHS financial year.

    Examples
    --------
    >>> q = Quarter.parse("Q3 2025/26")
    >>> q.code, q.label
    ('2025Q3', 'Q3 2025/26')
    >>> Quarter.parse("2025Q3") == q
    True
    >>> str(Quarter.parse("2025Q4").next())
    '2026Q1'
    """

    year: int  # the calendar year in which the financial year starts
    q: int

    @classmethod
    def parse(cls, text) -> "Quarter":
        """Parse ``Q3 2025/26``, ``2025/26 Q3``, ``Q3 25/26`` or ``2025Q3``; ValueError otherwise."""
        if isinstance(text, Quarter):
            return text
        s = str(text).strip()
        for pat in _PATTERNS:
            m = pat.match(s)
            if m:
                return cls(_year(m["y"], m.groupdict().get("y2")), int(m["q"]))
        raise ValueError(f"cannot parse quarter label {text!r} (expected e.g. 'Q3 2025/26' or '2025Q3')")

    @property
    def code(self) -> str:
        return f"{self.year}Q{self.q}"

    @property
    def label(self) -> str:
        return f"Q{self.q} {self.year}/{(self.year + 1) % 100:02d}"

    @property
    def financial_year(self) -> str:
        return f"{self.year}/{(self.year + 1) % 100:02d}"

    def next(self) -> "Quarter":
        return Quarter(self.year + (self.q == 4), self.q % 4 + 1)

    def previous(self) -> "Quarter":
        return Quarter(self.year - (self.q == 1), (self.q - 2) % 4 + 1)

    def __str__(self) -> str:
        return self.code


def parse_quarter(text, *, file=None, row=None, column=None) -> Quarter:
    """Parse a quarter label, raising :class:`InputError` naming where it came from."""
    try:
        return Quarter.parse(text)
    except ValueError as exc:
        raise InputError(str(exc), file=file, row=row, column=column) from None


def parse_financial_year(text) -> int:
    """``'2025/26'`` or ``'25/26'`` -> 2025 (the starting calendar year).

    >>> parse_financial_year("2025/26")
    2025
    """
    m = _FY.match(str(text).strip())
    if not m:
        raise ValueError(f"cannot parse financial year {text!r} (expected e.g. '2025/26')")
    return _year(m["y"], m["y2"])


def quarter_from_path(path) -> Quarter | None:
    """The quarter named in a file or folder name (``...-q3-25-26-v2.csv``, ``2025Q1/``), if any."""
    s = str(path)
    m = _IN_PATH.search(s)
    if m:
        return Quarter(_year(m["y"], m["y2"]), int(m["q"]))
    m = _IN_PATH_CODE.search(s)
    if m:
        return Quarter(int(m["y"]), int(m["q"]))
    return None
