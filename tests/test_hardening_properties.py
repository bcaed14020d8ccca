"""Property tests (hypothesis) of issue 17: a malformed method file, catalogue or data file is
always exit 2, exactly one line on standard error, no traceback, and no output written.

Each strategy starts from a file that is known to be good (checked by
``test_the_untouched_files_give_a_table``) and breaks exactly one thing in a way that is wrong
by construction: a value that is not finite, out of range, of the wrong kind or misspelt, an
ID that is blank or collides, a rank that is fractional or reversed. A last property mutates
the bytes of a good data file at random: whatever comes out must be a table (exit 0) or one
error line (exit 2), never a traceback or a half-written output.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import DATA_HEADER_Q3, LEAGUE_HEADER_Q3, csv_bytes, data_row, league_row
from nhs_league.catalogue import CATALOGUE_PATH, DOMAINS, RULES, TRUST_TYPES
from nhs_league.cli import main
from nhs_league.io import TRUST_TYPE_NAMES
from nhs_league.methods import CHOICES, PRESET_DIR, QUANTILE_METHODS, SCHEMA, Flag, Real, Text, TextList, Whole
from nhs_league.orgtypes import codes as org_type_codes
from nhs_league.quarters import Quarter

Q3A = ["--quarter", "2025Q3", "--trust-type", "acute"]
GOOD = [("R1", "OF0023", 60.0), ("R2", "OF0023", 70.0), ("R3", "OF0023", 80.0),
        ("R1", "OF0061", 6.5), ("R2", "OF0061", 7.0), ("R3", "OF0061", 7.5)]
PRESET = yaml.safe_load((PRESET_DIR / "nof-2025-26.yaml").read_text())
CATALOGUE = pd.read_csv(CATALOGUE_PATH, dtype=str, keep_default_na=False)
PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                              HealthCheck.too_slow])
WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-", min_size=1, max_size=12)
ORG_TYPES = tuple(org_type_codes())
NON_FINITE = st.sampled_from([float("nan"), float("inf"), float("-inf")])


def run(capsys, argv):
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_refused(code, out, err, output: Path):
    assert code == 2, err
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("nhs-league: error: "), err
    assert not output.exists()


def data_bytes(rows=None, header=DATA_HEADER_Q3) -> bytes:
    return csv_bytes(header, [r if isinstance(r, dict) else data_row(*r) for r in (rows or GOOD)])


def league_rows():
    return [league_row(f"R{i}", 2.0 + i / 10, segment="2", rank=str(i), avg_range="1.9 - 2.5",
                       rank_range=f"{i} - {i + 1}") for i in range(1, 4)]


def table_run(capsys, files: dict, extra=()):
    """Write ``files`` ({name: bytes}) into a fresh folder and run ``table`` on the CSV inputs among them."""
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        for name, data in files.items():
            (d / name).write_bytes(data)
        inputs = [d / n for n in files if n.endswith(".csv") and not n.startswith("cat")]
        out = d / "out.csv"
        argv = ["table", *inputs, *Q3A, "--output", out, *[str(d / x) if x in files else x for x in extra]]
        code, stdout, err = run(capsys, argv)
        return code, stdout, err, out, out.exists()


# ---------------------------------------------------------------------------------------------
# The good files the strategies start from
# ---------------------------------------------------------------------------------------------
def test_the_untouched_files_give_a_table(capsys):
    cat = CATALOGUE[CATALOGUE["metric_id"] == "OF0023"].to_csv(index=False).encode()
    files = {"d-q3-25-26.csv": data_bytes(), "m.yaml": yaml.safe_dump(PRESET).encode(), "cat.csv": cat}
    code, out, err, _, written = table_run(capsys, files, ["--method", "m.yaml", "--catalogue", "cat.csv"])
    assert code == 0 and written, err
    lg = {"l-q3-25-26.csv": csv_bytes(LEAGUE_HEADER_Q3, league_rows())}
    code, out, err, _, written = table_run(capsys, lg)
    assert code == 0 and written, err


# ---------------------------------------------------------------------------------------------
# Method files
# ---------------------------------------------------------------------------------------------
def invalid_for(spec, section: str, key: str):
    """Values that ``section.key`` can never take."""
    junk = st.one_of(WORD, st.lists(st.integers(), max_size=2), st.dictionaries(WORD, st.integers(), max_size=2))
    if isinstance(spec, Whole):
        outside = [st.integers(max_value=spec.low - 1)] if spec.low is not None else []
        outside += [st.integers(min_value=spec.high + 1)] if spec.high is not None else []
        return st.one_of(junk, NON_FINITE, st.booleans(),
                         st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: not x.is_integer()),
                         st.floats(-1e6, 1e6).map(lambda x: float(round(x))), *outside)
    if isinstance(spec, Real):
        outside = [st.floats(max_value=spec.low, exclude_max=True, allow_infinity=False)] if spec.low is not None else []
        if spec.high is not None:
            outside.append(st.floats(min_value=spec.high, exclude_min=not spec.high_open, allow_infinity=False))
        return st.one_of(junk, NON_FINITE, st.booleans(), *outside)
    if isinstance(spec, Flag):
        return st.one_of(junk, st.integers(), st.floats(allow_nan=False), st.none())
    if isinstance(spec, TextList):
        return st.one_of(WORD, st.integers(), st.lists(st.one_of(st.integers(), st.just("")), min_size=1, max_size=3))
    if isinstance(spec, Text):
        return st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans(), st.lists(WORD, max_size=2),
                         st.just(""))
    if (section, key) in CHOICES:
        allowed = CHOICES[(section, key)]
        return st.one_of(WORD.filter(lambda w: w not in allowed), st.integers(), NON_FINITE, st.none())
    if key == "quantile_method":
        return st.one_of(WORD.filter(lambda w: w not in QUANTILE_METHODS), st.integers())
    if key == "cutoffs":
        finite = st.floats(1, 4)
        bad_list = st.one_of(
            st.tuples(NON_FINITE, finite, finite).map(list),
            st.lists(finite, min_size=3, max_size=3, unique=True).map(lambda x: sorted(x, reverse=True)),
            st.lists(finite, min_size=0, max_size=2).map(list),
            st.lists(finite, min_size=4, max_size=6, unique=True).map(sorted))
        if section == "domain_segmentation":
            return st.one_of(bad_list, WORD, st.sampled_from(DOMAINS).map(
                lambda d: {x: [1.9, 2.3, 2.9] for x in DOMAINS if x != d}))
        return st.one_of(bad_list, WORD, st.integers())
    if key == "thresholds":
        return st.one_of(WORD.filter(lambda w: w != "provisional"), st.integers(),
                         st.tuples(NON_FINITE, st.floats(1, 4), st.floats(1, 4)).map(list),
                         WORD.filter(lambda w: w not in ORG_TYPES).map(lambda w: {w: [2.0, 2.3, 2.6]}))
    if key == "provisional_cutoffs":
        return invalid_for(spec, "segmentation", "cutoffs")
    if key == "metric_lists":
        return st.one_of(WORD.filter(lambda w: w != "catalogue"), st.integers(),
                         WORD.filter(lambda w: w not in ORG_TYPES).map(lambda w: {w: "catalogue"}),
                         st.just({"acute": [1, 2]}))
    if key == "weights":
        return st.one_of(WORD.filter(lambda w: w not in ("per_metric", "per_domain")),
                         st.fixed_dictionaries({"OF0023": st.one_of(NON_FINITE, st.floats(max_value=-1e-9),
                                                                    WORD, st.booleans())}),
                         st.just({"OF0023": 0, "OF0061": 0}), st.integers())
    if key == "trusts":
        return st.one_of(WORD, st.lists(st.integers(), min_size=1, max_size=3), st.integers())
    raise AssertionError(f"no invalid values known for {section}.{key}: add them here")  # pragma: no cover


SETTINGS = [(sec, key) for sec, keys in SCHEMA.items() for key in keys]


@st.composite
def broken_presets(draw):
    data = copy.deepcopy(PRESET)
    how = draw(st.sampled_from(["value", "value", "value", "misspelt key", "unknown section", "missing section"]))
    if how == "value":
        sec, key = draw(st.sampled_from(SETTINGS))
        data[sec][key] = draw(invalid_for(SCHEMA[sec][key], sec, key))
    elif how == "misspelt key":
        sec = draw(st.sampled_from(list(SCHEMA)))
        key = draw(WORD.filter(lambda w: w not in SCHEMA[sec]))
        data[sec][key] = draw(st.one_of(st.integers(), WORD))
    elif how == "unknown section":
        data[draw(WORD.filter(lambda w: w not in SCHEMA and w not in ("name", "description")))] = {"x": 1}
    else:
        del data[draw(st.sampled_from(list(SCHEMA)))]
    return data


@PROPERTY
@given(preset=broken_presets())
def test_a_malformed_method_file_is_one_error_line(capsys, preset):
    files = {"d-q3-25-26.csv": data_bytes(), "m.yaml": yaml.safe_dump(preset).encode()}
    code, out, err, output, _ = table_run(capsys, files, ["--method", "m.yaml"])
    assert_refused(code, out, err, output)
    assert "m.yaml" in err


# ---------------------------------------------------------------------------------------------
# Catalogues
# ---------------------------------------------------------------------------------------------
NUMBER_TEXT = st.one_of(WORD.filter(lambda w: w.lower() not in ("inf", "infinity", "nan")),
                        st.sampled_from(["inf", "-inf", "Infinity", "1e309", "nan"]))


@st.composite
def broken_catalogues(draw):
    row = CATALOGUE[CATALOGUE["metric_id"] == "OF0023"].iloc[0].to_dict()
    field = draw(st.sampled_from(["metric_id", "score_id", "domain", "better", "rule", "trust_types",
                                  "distribution", "scale", "lower_bound", "upper_bound", "bounds", "rule_params"]))
    if field == "metric_id":
        row["metric_id"] = draw(st.sampled_from(["", "OF 0023", "OF0023;x", "OF4000"]))
        row["score_id"] = ""
    elif field == "score_id":
        row["score_id"] = draw(st.sampled_from(["OF0061", "OF1061", "OF5002", "OF4100", "OF1 023"]))
    elif field == "domain":
        row["domain"] = draw(WORD.filter(lambda w: w not in DOMAINS))
    elif field == "better":
        row["better"] = draw(WORD.filter(lambda w: w not in ("higher", "lower")))
    elif field == "rule":
        row["rule"] = draw(WORD.filter(lambda w: w not in RULES))
    elif field == "trust_types":
        row["trust_types"] = draw(st.one_of(WORD.filter(lambda w: w not in TRUST_TYPES).map(lambda w: "acute;" + w),
                                            st.just(""), st.just(";")))
    elif field == "distribution":
        row["distribution"] = draw(WORD.filter(lambda w: w not in ("binomial", "poisson", "none")))
    elif field in ("scale", "lower_bound", "upper_bound"):
        row[field] = draw(NUMBER_TEXT)
    elif field == "bounds":
        lo = draw(st.floats(-1e6, 1e6))
        row["lower_bound"], row["upper_bound"] = repr(lo), repr(lo - draw(st.floats(1e-3, 1e6)))
    else:
        row["rule_params"] = draw(st.sampled_from(["{", "{'a': 1}", "[1,", "nope", "[1, 2]", "3", '"text"',
                                                   '{"edges": [NaN]}', '{"edges": [1e999]}', '{"a": -Infinity}']))
    return pd.DataFrame([row]).to_csv(index=False).encode()


@PROPERTY
@given(catalogue=broken_catalogues())
def test_a_malformed_catalogue_is_one_error_line_naming_it(capsys, catalogue):
    files = {"d-q3-25-26.csv": data_bytes(), "cat.csv": catalogue}
    code, out, err, output, _ = table_run(capsys, files, ["--catalogue", "cat.csv"])
    assert_refused(code, out, err, output)
    assert "cat.csv, row 2, column '" in err


# ---------------------------------------------------------------------------------------------
# Data files and league-table files
# ---------------------------------------------------------------------------------------------
def _not_a_number(text: str) -> bool:
    try:
        float(text.replace(",", "").rstrip("%").strip())
        return False
    except ValueError:
        return True


def _not_a_quarter(text: str) -> bool:
    try:
        Quarter.parse(text)
        return False
    except ValueError:
        return True


BAD_VALUE = st.one_of(
    st.sampled_from(["inf", "-inf", "Infinity", "-Infinity", "nan", "NaN", "1e309", "-1e400", "9" * 320]),
    st.floats(min_value=1e12, exclude_min=True, allow_infinity=False).map(repr),
    st.floats(min_value=100, exclude_min=True, max_value=1e12).map(repr),  # OF0023 is a percentage
    st.floats(max_value=0, exclude_max=True, min_value=-1e12).map(repr),
    WORD.filter(_not_a_number))


@st.composite
def broken_data_files(draw):
    rows = [data_row(*r) for r in GOOD]
    i = draw(st.integers(0, len(rows) - 1))
    col = draw(st.sampled_from(["Value", "Value", "Trust_type", "Quarter", "Metric_ID", "Trust_code"]))
    if col == "Value":
        rows[i]["Value"] = draw(BAD_VALUE)
        if rows[i]["Metric_ID"] == "OF0061":
            rows[i]["Metric_ID"] = "OF0023"
            rows[i]["Trust_code"] = "R9"
    elif col == "Trust_type":
        rows[i]["Trust_type"] = draw(WORD.filter(lambda w: w.lower().replace("_", "-") not in TRUST_TYPE_NAMES))
    elif col == "Quarter":
        rows[i]["Quarter"] = draw(WORD.filter(_not_a_quarter))
    else:
        rows[i][col] = ""
    return data_bytes(rows)


@st.composite
def broken_league_files(draw):
    rows = league_rows()
    i = draw(st.integers(0, len(rows) - 1))
    what = draw(st.sampled_from(["rank", "rank range", "average range", "average", "segment"]))
    if what == "rank":
        rows[i]["Rank"] = draw(st.one_of(
            st.floats(1, 999, allow_nan=False).filter(lambda x: not x.is_integer()).map(repr),
            st.integers(max_value=0).map(str), st.integers(min_value=1001).map(str),
            st.floats(min_value=1e12, exclude_min=True, allow_infinity=False).map(repr), WORD.filter(_not_a_number)))
    elif what == "rank range":
        a = draw(st.integers(2, 999))
        rows[i]["Likely_range_of_rank"] = draw(st.one_of(
            st.integers(1, a - 1).map(lambda b: f"{a} - {b}"),
            st.floats(1, 999).filter(lambda x: not x.is_integer()).map(lambda x: f"{x!r} - {a}"),
            st.just(f"{a} -"), WORD.map(lambda w: f"{w} - {a}")))
    elif what == "average range":
        lo = draw(st.floats(1.01, 4))
        rows[i]["Likely_range_of_average_score"] = draw(st.one_of(
            st.floats(1, lo, exclude_max=True).map(lambda hi: f"{lo!r} - {hi!r}"),
            st.floats(4, 1e6, exclude_min=True).map(lambda hi: f"1.5 - {hi!r}"),
            WORD.map(lambda w: f"2.1 - {w}")))
    elif what == "average":
        rows[i]["Average_score"] = draw(st.one_of(
            NON_FINITE.map(repr), st.floats(4, 1e6, exclude_min=True).map(repr),
            st.floats(-1e6, 1, exclude_max=True).map(repr), WORD.filter(_not_a_number)))
    else:
        rows[i]["Segment"] = draw(st.one_of(st.integers(6, 10 ** 6).map(str), st.integers(max_value=0).map(str),
                                            st.floats(1, 5).filter(lambda x: not x.is_integer()).map(repr)))
    return csv_bytes(LEAGUE_HEADER_Q3, rows)


@PROPERTY
@given(data=broken_data_files())
def test_a_malformed_data_file_is_one_error_line(capsys, data):
    code, out, err, output, _ = table_run(capsys, {"d-q3-25-26.csv": data})
    assert_refused(code, out, err, output)
    assert "d-q3-25-26.csv, row " in err and ", column '" in err


@PROPERTY
@given(data=broken_league_files())
def test_a_malformed_league_table_file_is_one_error_line(capsys, data):
    code, out, err, output, _ = table_run(capsys, {"l-q3-25-26.csv": data})
    assert_refused(code, out, err, output)
    assert "l-q3-25-26.csv, row " in err and ", column '" in err


@st.composite
def mutated_bytes(draw):
    data = bytearray(draw(st.sampled_from([data_bytes(), csv_bytes(LEAGUE_HEADER_Q3, league_rows())])))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        how = draw(st.sampled_from(["insert", "delete", "replace"]))
        byte = draw(st.sampled_from([b",", b'"', b"\n", b"\r", b"\x00", b"\xff", b"9", b"e", b"-", b".", b" ",
                                     b"*", b"=", b"\xef\xbb\xbf"]))
        if how == "insert":
            data[at:at] = byte
        elif how == "delete":
            del data[at:at + 1]
        else:
            data[at:at + 1] = byte
    return bytes(data)


@PROPERTY
@given(data=mutated_bytes())
def test_whatever_the_bytes_a_table_or_one_error_line(capsys, data):
    code, out, err, output, written = table_run(capsys, {"x-q3-25-26.csv": data})
    assert "Traceback" not in err and "internal error" not in err, err
    assert code in (0, 2), err
    if code == 2:
        assert_refused(code, out, err, output)
    else:
        assert written and out == ""


@pytest.mark.parametrize("strategy", [broken_presets(), broken_catalogues(), broken_data_files(),
                                      broken_league_files()])
def test_the_strategies_build_something(strategy):
    from hypothesis import find

    assert find(strategy, lambda x: True) is not None
