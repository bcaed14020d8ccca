"""Organisation types (acute, mental health and community, ambulance, ICB) as data.

Everything about an organisation type lives in ``nhs_league/data/org_types.yaml``: the label
this package writes, the ``Trust_type`` strings of official files, the aliases accepted on the
command line, the fragments that name the type in NHS England's file names and the first
financial year in which the type is scored. The reader, the catalogue, the presets, the CLI, the
report suite and ``nhs-league fetch`` all ask this module, so a new type is a new entry in that
file (and catalogue rows for its metrics), not new code.

Examples
--------
>>> parse("Non-acute")
'mental-health-and-community'
>>> label("icb")
'Integrated care board'
>>> from_file_name("nhs-oversight-framework-non-acute-hospital-trust-data.csv")
['mental-health-and-community']
>>> from_file_name("nhs-oversight-framework-non-acute-trust-data.csv")
['mental-health-and-community']
>>> types_for_year(2025)
('acute', 'mental-health-and-community', 'ambulance')
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import InputError

ORG_TYPES_PATH = Path(__file__).parent / "data" / "org_types.yaml"
#: Environment variable naming another organisation-types file to use instead (to try a new type
#: before editing the package's file); read when the package is imported.
ORG_TYPES_ENV = "NHS_LEAGUE_ORG_TYPES"
_FIELDS = ("label", "trust_type_strings", "aliases", "file_name_fragments", "first_year")


@dataclass(frozen=True)
class OrgType:
    code: str
    label: str
    trust_type_strings: tuple[str, ...]
    aliases: tuple[str, ...]
    file_name_fragments: tuple[str, ...]
    first_year: int
    evidence: str = ""
    count: int | None = None  # how many organisations of the type NHS England scores (None: not known)


def _norm(text) -> str:
    return re.sub(r"[\s_-]+", " ", str(text).strip().lower())


@functools.lru_cache(maxsize=4)
def load(path=None) -> dict[str, OrgType]:
    """``{code: OrgType}`` in file order; a malformed file is a one-line :class:`InputError`."""
    p = Path(path) if path is not None else active_path()
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read the organisation types: {' '.join(str(exc).split())}", file=p) from None
    types = data.get("types") if isinstance(data, dict) else None
    if not isinstance(types, dict) or not types:
        raise InputError("an organisation-types file is a mapping 'types: {code: {...}}'", file=p)
    out, seen = {}, {}
    for code, t in types.items():
        missing = [f for f in _FIELDS if not isinstance(t, dict) or f not in t]
        if missing:
            raise InputError(f"organisation type {code!r} lacks {missing}", file=p, column="types")
        ot = OrgType(str(code), str(t["label"]), tuple(map(str, t["trust_type_strings"])),
                     tuple(map(str, t["aliases"])), tuple(map(str, t["file_name_fragments"])),
                     int(t["first_year"]), str(t.get("evidence", "")).strip(),
                     int(t["count"]) if t.get("count") is not None else None)
        for name in {_norm(x) for x in (ot.code, ot.label, *ot.trust_type_strings, *ot.aliases)}:
            if seen.setdefault(name, ot.code) != ot.code:
                raise InputError(f"the name {name!r} is given to two organisation types ({seen[name]} and "
                                 f"{ot.code})", file=p, column="types")
        out[ot.code] = ot
    return out


def active_path() -> Path:
    """The organisation-types file in use: ``$NHS_LEAGUE_ORG_TYPES`` if set, else the package's."""
    return Path(os.environ.get(ORG_TYPES_ENV) or ORG_TYPES_PATH)


def codes() -> tuple[str, ...]:
    """Every organisation type code, in file order."""
    return tuple(load())


def types_for_year(year: int) -> tuple[str, ...]:
    """The types scored in the financial year starting in ``year`` (2025 = 2025/26)."""
    return tuple(c for c, t in load().items() if t.first_year <= int(year))


def names() -> dict[str, str]:
    """``{normalised name: code}`` for every label, ``Trust_type`` string, alias and code."""
    out = {}
    for c, t in load().items():
        for name in (c, t.label, *t.trust_type_strings, *t.aliases):
            out[_norm(name)] = c
    return out


def labels() -> dict[str, str]:
    """``{code: label}``: the ``Trust_type`` string written for each type."""
    return {c: t.label for c, t in load().items()}


def label(code: str) -> str:
    return load()[code].label


def lookup(text) -> str | None:
    """The type code a name stands for, or None."""
    return names().get(_norm(text))


def describe() -> str:
    """``acute, mental-health-and-community (alias non-acute), ...`` for help texts and errors."""
    parts = []
    for c, t in load().items():
        extra = [a for a in t.aliases if _norm(a) != _norm(c) and " " not in a.strip()]
        parts.append(c + (f" (alias {', '.join(extra)})" if extra else ""))
    return ", ".join(parts)


def parse(text, *, column="--trust-type") -> str:
    """The type code of ``text`` (a code, label, ``Trust_type`` string or alias); InputError otherwise."""
    c = lookup(text)
    if c is None:
        raise InputError(f"unknown trust type {text!r}; use {describe()}", column=column)
    return c


def from_file_name(name) -> list[str]:
    """The types whose file-name fragment appears in ``name`` (``-<fragment>-`` between dashes)."""
    s = f"-{Path(str(name)).name.lower()}"
    hits = [(c, f) for c, t in load().items() for f in t.file_name_fragments if f"-{f}-" in s]
    # "non-acute-trust" holds "acute-trust": a fragment inside a longer one that matched does not count
    keep = [c for c, f in hits if not any(f != g and f"-{f}-" in f"-{g}-" for _, g in hits)]
    return list(dict.fromkeys(keep))


__all__ = ["OrgType", "ORG_TYPES_PATH", "ORG_TYPES_ENV", "active_path", "load", "codes", "types_for_year", "names", "labels", "label",
           "lookup", "describe", "parse", "from_file_name"]
