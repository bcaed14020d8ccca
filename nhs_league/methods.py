"""Method presets: every method choice as named, editable data.

A preset is a YAML file (see ``nhs_league/data/methods/``). ``load_method("nof-2025-26")``
loads a built-in preset by name; ``load_method("my-copy.yaml")`` loads a user's copy. Every
output records ``method.label``, the name and a fingerprint of the settings, with ``edited``
when a preset carries a built-in preset's name but other settings (and the manifest records
the whole preset).

``default_method_for(quarter)`` picks the preset NHS England used for a quarter: each 2025/26
quarter has its own preset (``nof-2025-26-q1`` ... ``-q4``), because the segment cut-offs move
from quarter to quarter.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from .errors import MethodError
from .quarters import Quarter

PRESET_DIR = Path(__file__).parent / "data" / "methods"

# Allowed values of every enumerated choice. A preset using another value is an error.
CHOICES = {
    ("scoring", "continuous"): ("rank", "zscore", "minmax", "quartile_bands"),
    ("scoring", "ties"): ("min",),
    ("scoring", "published_scores"): ("where_no_rule", "prefer_published", "never"),
    ("average", "aggregation"): ("mean", "median", "trimmed_mean", "geometric_mean"),
    ("average", "rounding"): ("half_up", "half_even"),
    ("segmentation", "rule"): ("cutoffs", "quartiles", "thresholds"),
    ("segmentation", "boundary"): ("better", "worse"),
    ("override", "deficit"): ("published_flag_else_metrics", "metrics", "published_flag"),
    ("segment5", "source"): ("flag", "list", "none"),
    ("segment5", "in_league_table"): ("as_scored", "last", "exclude"),
    ("league", "ranking"): ("competition",),
}
QUANTILE_METHODS = (
    "inverted_cdf", "averaged_inverted_cdf", "closest_observation", "interpolated_inverted_cdf",
    "hazen", "weibull", "linear", "median_unbiased", "normal_unbiased", "lower", "higher",
    "midpoint", "nearest",
)


def _finite_number(value) -> bool:
    """A real number (not a bool, not NaN or infinite)."""
    return (isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
            and bool(np.isfinite(value)))


PROVISIONAL_MARK = "PROVISIONAL"
PROVISIONAL_VALUE = "provisional"  # a threshold value: use the preset's provisional_cutoffs


def _check_cutoffs(values, where: str) -> tuple[float, ...]:
    if not isinstance(values, (list, tuple)) or not all(_finite_number(v) for v in values):
        raise MethodError(f"{where} must be a list of three finite numbers, got {values!r}")
    cut = tuple(float(v) for v in values)
    if len(cut) != 3 or any(b <= a for a, b in zip(cut, cut[1:])):
        raise MethodError(f"{where} must be three increasing numbers, got {list(values)}")
    if cut[0] < 1 or cut[-1] > 4:
        raise MethodError(f"{where} must lie within the 1-4 score scale, got {list(values)}")
    return cut


# ----------------------------------------------------------------------------------------------
# The schema: every key a preset may hold, and what its value must be
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Whole:
    """A whole number (an int in YAML: ``2``, not ``2.5``, ``2.0`` or ``true``) in ``[low, high]``."""

    low: int | None = None
    high: int | None = None

    def check(self, value, where: str):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise MethodError(f"{where} must be a whole number, got {value!r}")
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise MethodError(f"{where} must be {_span(self.low, self.high)}, got {value!r}")


@dataclass(frozen=True)
class Real:
    """A finite number in ``[low, high]`` (``high_open``: ``high`` itself excluded)."""

    low: float | None = None
    high: float | None = None
    high_open: bool = False

    def check(self, value, where: str):
        if not _finite_number(value):
            raise MethodError(f"{where} must be a finite number, got {value!r}")
        if (self.low is not None and value < self.low) or (self.high is not None and (
                value >= self.high if self.high_open else value > self.high)):
            raise MethodError(f"{where} must be {_span(self.low, self.high, self.high_open)}, got {value!r}")


@dataclass(frozen=True)
class Flag:
    """``true`` or ``false``."""

    def check(self, value, where: str):
        if not isinstance(value, bool):
            raise MethodError(f"{where} must be true or false, got {value!r}")


@dataclass(frozen=True)
class Text:
    """A text value (a Metric_ID, an ODS code)."""

    def check(self, value, where: str):
        if not isinstance(value, str) or not value.strip():
            raise MethodError(f"{where} must be text, got {value!r}")


@dataclass(frozen=True)
class TextList:
    """A list of text values (Metric_IDs, ODS codes); empty is allowed."""

    def check(self, value, where: str):
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise MethodError(f"{where} must be a list of text items (e.g. [OF0005]), got {value!r}")


@dataclass(frozen=True)
class Checked:
    """A value with its own check elsewhere in :class:`Method` (choices, cut-offs, weights)."""

    def check(self, value, where: str):
        return None


def _span(low, high, high_open=False) -> str:
    if low is not None and high is not None:
        return f"from {low:g} to {high:g}{' (excluded)' if high_open else ''}"
    return f"at least {low:g}" if low is not None else f"at most {high:g}"


#: Every key of every section of a method preset, with what its value must be. A key not listed
#: is an error (a misspelt key would otherwise be ignored and its default used); to add a
#: method setting, add its key here and read it where it is applied.
SCHEMA: dict[str, dict[str, object]] = {
    "scoring": {"continuous": Checked(), "ties": Checked(), "min_trusts": Whole(2),
                "published_scores": Checked(), "published_as_rounded": TextList(), "metric_lists": Checked()},
    "average": {"aggregation": Checked(), "trim": Real(0.0, 0.5, high_open=True), "weights": Checked(),
                "decimals": Whole(0, 12), "rounding": Checked()},
    "segmentation": {"rule": Checked(), "cutoffs": Checked(), "quantile_method": Checked(),
                     "boundary": Checked(), "thresholds": Checked(), "provisional_cutoffs": Checked(),
                     "provisional": Flag(), "provisional_label": Text()},
    "domain_segmentation": {"cutoffs": Checked()},
    "override": {"enabled": Flag(), "cap": Whole(1, 4), "deficit": Checked(), "planned_metric": Text(),
                 "variance_metric": Text(), "tolerance": Real(-1e9, 1e9)},
    "segment5": {"source": Checked(), "trusts": Checked(), "in_league_table": Checked()},
    "league": {"ranking": Checked()},
}
#: Keys of a preset file beside its sections.
TOP_KEYS = ("name", "description")


def _nearest(key, known) -> str:
    close = difflib.get_close_matches(str(key), list(known), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else f"; known keys: {', '.join(known)}"


def check_schema(name: str, settings: dict) -> None:
    """Every section and key known (the nearest known key suggested for a misspelt one), and every
    number, flag and text setting of the right kind and in range (:data:`SCHEMA`)."""
    for sec in settings:
        if sec not in SCHEMA:
            raise MethodError(f"method {name!r}: unknown section {str(sec)!r}{_nearest(sec, [*SCHEMA, *TOP_KEYS])}")
    for sec, keys in SCHEMA.items():
        body = settings.get(sec)
        if not isinstance(body, dict):
            raise MethodError(f"method {name!r}: section '{sec}' is missing")
        for key, value in body.items():
            if key not in keys:
                raise MethodError(f"method {name!r}: unknown key {sec}.{key}{_nearest(key, keys)}")
            keys[key].check(value, f"method {name!r}: {sec}.{key}")


SECTIONS = tuple(SCHEMA)


@dataclass(frozen=True)
class Method:
    """A validated method preset. Access settings as ``method.settings['average']['decimals']``.

    Examples
    --------
    >>> m = load_method("nof-2025-26")
    >>> m.name, m.cutoffs
    ('nof-2025-26', (2.06, 2.35, 2.7))
    >>> m.replace(segmentation={"rule": "quartiles"}).name
    'nof-2025-26+segmentation.rule=quartiles'
    """

    name: str
    description: str
    settings: dict = field(repr=False)
    source: str = ""
    edited: bool = False  # a file with a built-in preset's name but other settings (load_method)

    def __post_init__(self):
        s = self.settings
        check_schema(self.name, s)
        for (sec, key), allowed in CHOICES.items():
            v = s[sec].get(key)
            if v not in allowed:
                raise MethodError(f"method {self.name!r}: {sec}.{key} = {v!r}; expected one of {allowed}")
        seg = s["segmentation"]
        if seg["rule"] == "thresholds" or "thresholds" in seg or "provisional_cutoffs" in seg:
            self.thresholds  # validates segmentation.thresholds and provisional_cutoffs (also where unused)
        if seg["rule"] != "thresholds":
            _check_cutoffs(s["segmentation"].get("cutoffs"), f"method {self.name!r}: segmentation.cutoffs")
        lists = s["scoring"].get("metric_lists", "catalogue")
        if not (lists == "catalogue" or (isinstance(lists, dict) and all(
                v == "catalogue" or (isinstance(v, list) and all(isinstance(x, str) for x in v))
                for v in lists.values()))):
            raise MethodError(f"method {self.name!r}: scoring.metric_lists must be 'catalogue' or a mapping "
                              "{organisation type: 'catalogue' or a list of Metric_IDs}")
        if isinstance(lists, dict):
            from . import orgtypes

            unknown = sorted(set(lists) - set(orgtypes.codes()))
            if unknown:
                raise MethodError(f"method {self.name!r}: scoring.metric_lists names unknown organisation "
                                  f"type(s) {unknown}; the types are {list(orgtypes.codes())}")
        self.domain_cutoffs  # validates domain_segmentation.cutoffs
        if s["segmentation"].get("quantile_method") not in QUANTILE_METHODS:
            raise MethodError(f"method {self.name!r}: segmentation.quantile_method must be a numpy "
                              f"quantile method, one of {QUANTILE_METHODS}")
        w = s["average"].get("weights")
        if not (w in ("per_metric", "per_domain") or isinstance(w, dict)):
            raise MethodError(f"method {self.name!r}: average.weights must be per_metric, per_domain "
                              "or a mapping {metric_id: weight}")
        if isinstance(w, dict) and (not w or any(not _finite_number(x) or x < 0 for x in w.values())
                                    or not any(x > 0 for x in w.values())):
            raise MethodError(f"method {self.name!r}: average.weights must be finite numbers, none negative "
                              f"and at least one positive, got {w!r}")
        if isinstance(w, dict) and not all(isinstance(k, str) for k in w):
            raise MethodError(f"method {self.name!r}: average.weights must be keyed by Metric_ID, got {w!r}")
        if not 0 <= self._number("average", "trim", 0.1, float) < 0.5:
            raise MethodError(f"method {self.name!r}: average.trim must be in [0, 0.5)")
        if self._number("average", "decimals", 2, int) < 0:
            raise MethodError(f"method {self.name!r}: average.decimals must be >= 0")
        if self._number("override", "cap", 3, int) not in (1, 2, 3, 4):
            raise MethodError(f"method {self.name!r}: override.cap must be 1-4")
        if self._number("scoring", "min_trusts", 2, int) < 2:
            raise MethodError(f"method {self.name!r}: scoring.min_trusts must be at least 2")
        self._number("override", "tolerance", 0.0, float)
        trusts = s["segment5"].get("trusts") or []
        if not isinstance(trusts, (list, tuple)) or not all(isinstance(t, str) for t in trusts):
            raise MethodError(f"method {self.name!r}: segment5.trusts must be a list of ODS codes, got {trusts!r}")

    def _number(self, section: str, key: str, default, kind):
        value = self.settings[section].get(key, default)
        try:
            return kind(value)
        except (TypeError, ValueError):
            raise MethodError(f"method {self.name!r}: {section}.{key} must be a number, got {value!r}") from None

    # Convenience accessors for the choices used on hot paths.
    @property
    def cutoffs(self) -> tuple[float, float, float]:
        if self.settings["segmentation"]["rule"] == "thresholds":
            raise self.unresolved_error()
        return _check_cutoffs(self.settings["segmentation"]["cutoffs"], "segmentation.cutoffs")

    @property
    def provisional(self) -> bool:
        """True when unpublished thresholds were replaced by stand-ins (``--provisional``)."""
        return bool(self.settings["segmentation"].get("provisional", False))

    @property
    def thresholds(self) -> dict:
        """``{organisation type: (T1, T2, T3), None or "provisional"}`` of a ``thresholds`` preset.

        None = not published (the preset refuses to run for the type); ``"provisional"`` = use the
        ``provisional_cutoffs``, labelled PROVISIONAL (what ``--provisional`` does, written in a preset).
        """
        from . import orgtypes

        seg = self.settings["segmentation"]
        where = f"method {self.name!r}: segmentation.thresholds"
        raw = seg.get("thresholds")
        types = orgtypes.codes()
        def one(v, w):
            return v if v is None or v == PROVISIONAL_VALUE else _check_cutoffs(v, w)

        if raw is None or raw == PROVISIONAL_VALUE or isinstance(raw, (list, tuple)):  # one for every type
            cut = one(raw, where)
            out = {t: cut for t in types}
        elif isinstance(raw, dict):
            unknown = sorted(set(raw) - set(types))
            if unknown:
                raise MethodError(f"{where}: unknown organisation type(s) {unknown}; the types are {list(types)}")
            out = {t: one(raw.get(t), f"{where}.{t}") for t in types}
        else:
            raise MethodError(f"{where} must be a list of three numbers, 'provisional', or a mapping by "
                              "organisation type")
        _check_cutoffs(seg.get("provisional_cutoffs"), f"method {self.name!r}: segmentation.provisional_cutoffs")
        return out

    def unresolved_error(self) -> MethodError:
        return MethodError(f"method {self.name!r} segments by NHS England's defined thresholds, which need "
                           "values for the organisation type: use methods.resolve_for(method, trust_type)")

    def metric_list(self, trust_type: str) -> list[str] | None:
        """The Metric_IDs this preset scores for ``trust_type``, or None: every catalogue metric of the type."""
        lists = self.settings["scoring"].get("metric_lists", "catalogue")
        v = lists.get(trust_type, "catalogue") if isinstance(lists, dict) else lists
        return None if v == "catalogue" else list(v)

    @property
    def domain_cutoffs(self) -> dict[str, tuple[float, float, float]]:
        """Domain-segment cut-offs per domain: one list for all domains, or a mapping by domain."""
        from .catalogue import DOMAINS

        where = f"method {self.name!r}: domain_segmentation.cutoffs"
        raw = self.settings["domain_segmentation"].get("cutoffs")
        if isinstance(raw, dict):
            missing = [d for d in DOMAINS if d not in raw]
            unknown = sorted(set(raw) - set(DOMAINS))
            if missing or unknown:
                raise MethodError(f"{where} must name every domain {list(DOMAINS)}"
                                  + (f"; missing {missing}" if missing else "")
                                  + (f"; unknown {unknown}" if unknown else ""))
            return {d: _check_cutoffs(raw[d], f"{where}.{d}") for d in DOMAINS}
        cut = _check_cutoffs(raw, where)
        return {d: cut for d in DOMAINS}

    @property
    def decimals(self) -> int:
        return int(self.settings["average"]["decimals"])

    def to_dict(self) -> dict:
        return {"name": self.name, "description": self.description, **copy.deepcopy(self.settings)}

    def fingerprint(self) -> str:
        """A short hash of the settings: two presets with equal fingerprints act the same."""
        blob = json.dumps(self.settings, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    @property
    def label(self) -> str:
        """The name and a short fingerprint of the content, as outputs record the method.

        A preset file named like a built-in preset but with other settings is marked ``edited``
        (:func:`load_method` decides), so that an edited copy never reads as NHS England's preset;
        what is derived from a preset (:meth:`replace`, :func:`resolve_for`) keeps its mark:

        >>> m = load_method("nof-2025-26")
        >>> m.label == f"nof-2025-26 ({m.fingerprint()[:8]})"
        True
        >>> import dataclasses
        >>> dataclasses.replace(m, edited=True).replace(override={"tolerance": 5.0}).label.split(" (")[1][:7]
        'edited,'
        """
        return f"{self.name} ({'edited, ' if self.edited else ''}{self.fingerprint()[:8]})"

    def replace(self, name: str | None = None, **sections) -> "Method":
        """A copy with some settings changed, e.g. ``replace(override={"enabled": False})``."""
        s = copy.deepcopy(self.settings)
        parts = []
        for sec, changes in sections.items():
            if sec not in SECTIONS:
                raise MethodError(f"unknown method section {sec!r}")
            for k, v in changes.items():
                s[sec][k] = v
                parts.append(f"{sec}.{k}={v}")
        return Method(name or "+".join([self.name, *parts]), self.description, s, self.source, self.edited)


def check_coverage(coverage, *, name: str = "coverage") -> float:
    """A coverage (confidence level) strictly between 0 and 1, else :class:`MethodError`.

    >>> check_coverage("0.9")
    0.9
    """
    try:
        c = float(coverage)
    except (TypeError, ValueError):
        raise MethodError(f"{name} must be a number between 0 and 1, got {coverage!r}") from None
    if not 0.0 < c < 1.0:
        raise MethodError(f"{name} must be between 0 and 1 (e.g. 0.95), got {coverage!r}")
    return c


def check_draws(draws, *, name: str = "draws") -> int:
    """A whole number of simulation draws, at least 1, else :class:`MethodError`.

    >>> check_draws(1000)
    1000
    """
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 1:
        raise MethodError(f"{name} must be a whole number of at least 1, got {draws!r}")
    return int(draws)


@functools.lru_cache(maxsize=16)
def _built_in_fingerprint(name: str) -> str | None:
    """The fingerprint of the built-in preset called ``name``, or None when there is none."""
    if not isinstance(name, str) or name not in available_presets():
        return None
    return load_method(name).fingerprint()


def available_presets() -> list[str]:
    """Names of the built-in presets."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


#: PyYAML's safe loader, in C (libyaml) where the installed PyYAML has it: the same documents, the
#: same values (``tests/test_catalogue_methods.py`` checks every shipped YAML file), about five
#: times faster; every report reads its method preset, and the sensitivity report a scenario space.
_BASE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_BASE_LOADER):
    """The safe loader, refusing a key given twice in one mapping (YAML would keep the last silently:
    a second ``tolerance:`` further down a section would override the first without a word)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key: the constructor below words the error
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(None, None, f"the key {key!r} is given twice",
                                                        key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


YAML_LOADER = _UniqueKeyLoader


def yaml_error_text(path, exc) -> str:
    """A YAML parse error on one line: ``<file>, line L, column C: not valid YAML: <problem>``."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or (str(exc).strip().splitlines() or ["unreadable"])[0]
    where = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{path}{where}: not valid YAML: {' '.join(str(problem).split())}"


#: Most values a preset or scenario space may hold, counting each use of a YAML alias: a few
#: hundred in the shipped files. Aliases of aliases ("billion laughs") would otherwise expand to
#: billions when the preset is printed or fingerprinted.
MAX_YAML_NODES = 100_000


def _check_node_count(data, p, what: str) -> None:
    stack, seen = [data], 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > MAX_YAML_NODES:
            raise MethodError(f"{p}: more than {MAX_YAML_NODES:,} values (counting each use of a YAML alias): "
                              f"not a {what} file")
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, (list, tuple)):
            stack.extend(node)


def read_yaml(path, what: str):
    """Parse a YAML file, raising :class:`MethodError` (one line) when it cannot be read or parsed."""
    p = Path(path)
    if p.is_dir():
        raise MethodError(f"{p} is a folder, not a {what} file")
    from .files import read_input_bytes

    try:
        data = yaml.load(read_input_bytes(p, what=f"{what} file").decode("utf-8"), Loader=YAML_LOADER)
        _check_node_count(data, p, what)
        return data
    except yaml.YAMLError as exc:
        raise MethodError(yaml_error_text(p, exc)) from None
    except UnicodeDecodeError:
        raise MethodError(f"{p}: not a text file in UTF-8, so not a {what} file") from None
    except OSError as exc:
        raise MethodError(f"{p}: cannot read the {what} file: {exc.strerror or exc}") from None


def read_preset(name_or_path, directory: Path, what: str):
    """Find a YAML preset (a built-in one by name in ``directory``, or a file by path) and parse it.

    Returns ``(path, data)``; an unknown name is a :class:`MethodError` listing the built-in ones.
    """
    p = Path(str(name_or_path))
    if not p.suffix and (directory / f"{p.name}.yaml").exists():
        p = directory / f"{p.name}.yaml"
    if not p.exists():
        known = sorted(f.stem for f in directory.glob("*.yaml"))
        raise MethodError(f"no {what} {str(name_or_path)!r}: give a file or one of {known}")
    return p, read_yaml(p, what)


def load_method(name_or_path) -> Method:
    """Load a built-in preset by name, or a preset file by path."""
    if isinstance(name_or_path, Method):
        return name_or_path
    p, data = read_preset(name_or_path, PRESET_DIR, "method preset")
    if not isinstance(data, dict) or "name" not in data:
        raise MethodError(f"{p}: a method preset is a mapping with a 'name'")
    if not isinstance(data["name"], str) or not data["name"].strip():
        raise MethodError(f"{p}: the preset's 'name' must be text, got {data['name']!r}")
    if not isinstance(data.get("description", ""), (str, type(None))):
        raise MethodError(f"{p}: the preset's 'description' must be text")
    settings = {k: v for k, v in data.items() if k not in TOP_KEYS}
    try:
        m = Method(str(data["name"]), str(data.get("description") or "").strip(), settings, str(p))
    except MethodError as exc:
        if p.parent == PRESET_DIR:
            raise
        raise MethodError(f"{p}: {exc}") from None  # the file to open and fix
    if p.resolve().parent != PRESET_DIR.resolve():
        official = _built_in_fingerprint(m.name)
        if official is not None and official != m.fingerprint():
            m = dataclasses.replace(m, edited=True)
    return m


def default_method_for(quarter) -> Method:
    """The preset NHS England used for a quarter: ``nof-2025-26-qN`` for quarter N of 2025/26 (each
    with the cut-offs that quarter's published segments pin), else the generic ``nof-2025-26``; from
    Q1 2026/27 ``nof-2026-27`` with its defined thresholds (:func:`resolve_for` gives their values).

    >>> default_method_for("2025Q4").cutoffs
    (2.02, 2.29, 2.57)
    >>> default_method_for("2026Q2").name
    'nof-2026-27'
    """
    q = Quarter.parse(quarter)
    if q >= Quarter(2026, 1):
        return load_method("nof-2026-27")
    name = f"nof-2025-26-q{q.q}"
    if q.year == 2025 and (PRESET_DIR / f"{name}.yaml").exists():
        return load_method(name)
    return load_method("nof-2025-26")




def resolve_for(method: Method, trust_type: str, *, provisional: bool = False) -> Method:
    """The method with the segment thresholds of ``trust_type`` in place, ready to run.

    A preset whose ``segmentation.rule`` is ``thresholds`` (the 2026/27 "defined thresholds") takes the
    values of the organisation type from ``segmentation.thresholds``. Where NHS England has not
    published them (null) it refuses, unless ``provisional``: then the ``provisional_cutoffs`` (the
    2025/26 cut-offs) stand in and the method's name, written into every output's Method column,
    says PROVISIONAL. Other presets are returned unchanged.

    Examples
    --------
    >>> m = load_method("nof-2026-27")
    >>> resolve_for(m, "acute")
    Traceback (most recent call last):
    ...
    nhs_league.errors.MethodError: method 'nof-2026-27': NHS England has not published the 2026/27 segment thresholds for acute organisations (segmentation.thresholds.acute is null): give them in a copy of the preset, or pass --provisional to use the provisional cut-offs 2.06 / 2.35 / 2.7, every output labelled PROVISIONAL
    >>> r = resolve_for(m, "icb", provisional=True)
    >>> r.name, r.cutoffs, r.provisional
    ('nof-2026-27 PROVISIONAL (2025/26 cut-offs)', (2.06, 2.35, 2.7), True)
    """
    seg = method.settings["segmentation"]
    if seg["rule"] != "thresholds":
        return method
    cut = method.thresholds[trust_type]
    if cut is not None and cut != PROVISIONAL_VALUE:
        return method.replace(name=method.name, segmentation={"rule": "cutoffs", "cutoffs": list(cut)})
    fallback = _check_cutoffs(seg["provisional_cutoffs"], "segmentation.provisional_cutoffs")
    if not (provisional or cut == PROVISIONAL_VALUE):
        raise MethodError(
            f"method {method.name!r}: NHS England has not published the 2026/27 segment thresholds for "
            f"{trust_type} organisations (segmentation.thresholds.{trust_type} is null): give them in a copy "
            f"of the preset, or pass --provisional to use the provisional cut-offs "
            f"{' / '.join(f'{c:g}' for c in fallback)}, every output labelled {PROVISIONAL_MARK}")
    label = str(seg.get("provisional_label", "provisional cut-offs"))
    return method.replace(name=f"{method.name} {PROVISIONAL_MARK} ({label})",
                          segmentation={"rule": "cutoffs", "cutoffs": list(fallback), "provisional": True})
