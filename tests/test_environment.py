"""The pinned dependencies agree everywhere they are stated."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([A-Za-z0-9_.\-]+)$")


def _pins(lines) -> dict[str, str]:
    out = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        m = PIN.match(line)
        assert m, f"not an exact pin: {line!r}"
        out[m.group(1).lower()] = m.group(2)
    return out


def _requirements() -> dict[str, str]:
    return _pins((ROOT / "requirements.txt").read_text().splitlines())


def _environment_pip() -> list[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = [d for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip) == 1, "environment.yml must have one pip section"
    return pip[0]["pip"]


def test_environment_yml_pins_the_same_packages_and_versions_as_requirements():
    reqs = _requirements()
    env = _pins(_environment_pip())
    assert env == reqs, (
        f"only in environment.yml: {sorted(set(env.items()) - set(reqs.items()))}; "
        f"only in requirements.txt: {sorted(set(reqs.items()) - set(env.items()))}")


def test_environment_yml_installs_the_package_itself():
    assert "-e ." in [str(x).strip() for x in _environment_pip()]


def test_pyproject_dependencies_are_the_pinned_versions():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = _pins(meta["dependencies"] + meta["optional-dependencies"]["test"])
    assert declared == _requirements()


def test_every_requirement_is_an_exact_pin():
    text = (ROOT / "requirements.txt").read_text().splitlines()
    body = [ln for ln in text if ln.strip() and not ln.lstrip().startswith("#")]
    assert len(_pins(body)) == len(body)


def test_environment_python_matches_the_supported_python():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pythons = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python")]
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert pythons == ["python=3.11"] and requires == ">=3.11"
