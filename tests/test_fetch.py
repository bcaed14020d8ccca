"""``nhs-league fetch`` and the registry, against a local HTTP server on 127.0.0.1 only.

The server is started by each test and serves copies, made at test time in ``tmp_path``, of NHS
England's Q4 2025/26 mental health and community files in ``../shared/data-raw`` (skipped when that
is absent). Each path prefix is one behaviour: ``/ok/`` serves the file, ``/missing/`` a 404,
``/truncated/`` half the body under the full Content-Length, ``/html/`` an HTML error page with
status 200, ``/slow/`` nothing for longer than the client's timeout, ``/stall/`` the first part of
the body and then nothing until the test ends. Every wait in the server is bounded, and the server
shuts itself down after at most ``SERVER_LIFETIME`` seconds even if a test forgets to.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from nhs_league import fetch as fetch_mod
from nhs_league.errors import InputError

MHC = "nhse_nof_mhc_2025_26_q4_release"
DATA_NAME = "nhs-oversight-framework-mental-health-and-community-trust-data.csv"
LEAGUE_NAME = "nhs-oversight-framework-mental-health-and-community-trust-league-table.csv"
SERVER_LIFETIME = 60.0  # seconds: the server stops itself after this, whatever happens
MAX_WAIT = 10.0  # the longest any handler waits


class _State:
    def __init__(self, root: Path):
        self.root = root
        self.requests: list[str] = []
        self.release = threading.Event()  # set at teardown: every waiting handler returns
        self.sent_part = threading.Event()  # /stall/ has sent its first part


def _handler(state: _State):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def _send_head(self, status, length, ctype="text/csv"):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(length))
            self.end_headers()

        def do_GET(self):  # noqa: N802 - the http.server API
            state.requests.append(self.path)
            mode, _, name = self.path.strip("/").partition("/")
            f = state.root / name
            try:
                if mode == "missing" or not f.is_file():
                    self.send_error(404, "Not Found")
                    return
                body = f.read_bytes()
                if mode == "ok":
                    self._send_head(200, len(body))
                    self.wfile.write(body)
                elif mode == "truncated":
                    self._send_head(200, len(body))
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                elif mode == "html":
                    page = b"<!DOCTYPE html><html><head><title>Page not found</title></head><body>Sorry</body></html>"
                    self._send_head(200, len(page), ctype="text/csv")  # a wrong Content-Type, as servers do
                    self.wfile.write(page)
                elif mode == "htmltype":
                    page = b"<html><body>Log in</body></html>"
                    self._send_head(200, len(page), ctype="text/html; charset=utf-8")
                    self.wfile.write(page)
                elif mode == "slow":
                    state.release.wait(MAX_WAIT)  # longer than the client's timeout
                    self._send_head(200, len(body))
                    self.wfile.write(body)
                elif mode == "stall":
                    self._send_head(200, len(body))
                    self.wfile.write(body[:100_000])
                    self.wfile.flush()
                    state.sent_part.set()
                    state.release.wait(MAX_WAIT)
                    self.wfile.write(body[100_000:])
                else:
                    self.send_error(400, "Bad Request")
            except (BrokenPipeError, ConnectionResetError, OSError):
                pass  # the client gave up: that is the point of several tests

    return Handler


@pytest.fixture
def served(shared_data, tmp_path, monkeypatch):
    """``(base URL, state)`` of a loopback server over copies of the two shared MH&C files."""
    src = shared_data / MHC
    root = tmp_path / "served"
    root.mkdir()
    for name in (DATA_NAME, LEAGUE_NAME):
        shutil.copyfile(src / name, root / name)
    altered = bytearray((root / LEAGUE_NAME).read_bytes())
    altered[-3] = ord("9") if altered[-3] != ord("9") else ord("8")  # one digit changed: same header, other hash
    (root / "altered-league-table.csv").write_bytes(bytes(altered))
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    state = _State(root)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    stopper = threading.Timer(SERVER_LIFETIME, server.shutdown)  # the server stops itself
    stopper.daemon = True
    stopper.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        state.release.set()
        stopper.cancel()
        server.shutdown()
        server.server_close()
        thread.join(MAX_WAIT)
        assert not thread.is_alive()


def _registry(tmp_path, base, data="ok/" + DATA_NAME, league="ok/" + LEAGUE_NAME, extra=None) -> Path:
    """A user registry pointing the Q4 MH&C entries at the server (the built-in entry keeps its
    file name and SHA-256: only the URL is given here)."""
    entries = []
    for kind, path in (("data", data), ("league-table", league)):
        if path is None:
            continue
        e = {"quarter": "2025Q4", "trust_type": "mental-health-and-community", "kind": kind, "url": f"{base}/{path}"}
        e.update((extra or {}).get(kind, {}))
        entries.append(e)
    p = tmp_path / "my-registry.yaml"
    p.write_text(yaml.safe_dump({"entries": entries}), encoding="utf-8")
    return p


def _fetch(run_cli, tmp_path, reg, *more):
    out_dir = tmp_path / "raw"
    code, out, err = run_cli("fetch", "2025Q4", "--trust-type", "non-acute", "--dir", out_dir, "--registry", reg,
                             "--timeout", "0.5", *more)
    return code, out, err, out_dir


def _one_error(err: str) -> str:
    lines = err.strip().splitlines()
    errors = [x for x in lines if x.startswith("nhs-league: error:")]
    assert len(errors) == 1 and "Traceback" not in err, err
    return errors[0]


def _nothing_written(out_dir: Path) -> None:
    left = sorted(p.name for p in out_dir.rglob("*")) if out_dir.exists() else []
    assert left == [], left  # not the file, not a temporary file


# ---- the registry ------------------------------------------------------------------------------


def test_registry_holds_the_hashes_of_the_shared_q4_files(shared_data):
    reg = fetch_mod.load_registry()
    for kind, name in (("data", DATA_NAME), ("league-table", LEAGUE_NAME)):
        e = reg.entries[("2025Q4", "mental-health-and-community", kind)]
        assert e.file_name == name and e.url is None and e.publication_page.startswith("https://www.england.nhs.uk/")
        assert e.sha256 == hashlib.sha256((shared_data / MHC / name).read_bytes()).hexdigest()


def test_registry_known_urls_are_the_ones_seen_and_the_rest_name_a_page():
    reg = fetch_mod.load_registry()
    q1 = [e for e in reg.entries.values() if e.quarter == "2025Q1"]
    assert len(q1) == 6 and all("/wp-content/uploads/2025/09/" in e.url for e in q1)
    assert all(e.url.endswith("/" + e.file_name) for e in q1)
    q3 = reg.entries[("2025Q3", "acute", "data")]
    assert "/wp-content/uploads/2026/03/" in q3.url and q3.date_seen == "2026-06-09"
    with_url = {e.key for e in reg.entries.values() if e.url}
    assert with_url == {e.key for e in q1} | {q3.key}  # no other URL is claimed
    for e in reg.entries.values():
        assert e.publication_page and e.publication_page.startswith("https://www.england.nhs.uk/"), e.key
        assert e.source, e.key


def test_unknown_url_is_one_line_naming_the_page(run_cli):
    code, out, err = run_cli("fetch", "2025Q4", "--trust-type", "acute")
    line = _one_error(err)
    assert code == 2 and out == ""
    assert "URL of the Q4 2025/26 acute data file is not known" in line
    assert "https://www.england.nhs.uk/publication/nhs-oversight-framework-nhs-trust-performance" in line
    assert "--registry FILE" in line


def test_a_quarter_without_entries_names_the_default_page(run_cli):
    code, out, err = run_cli("fetch", "2026Q1", "--trust-type", "icb")
    line = _one_error(err)
    assert code == 2 and "no entry for the Q1 2026/27 icb data file" in line
    assert fetch_mod.load_registry().default_page in line


def test_default_types_are_those_scored_that_year():
    reg = fetch_mod.load_registry()
    got = fetch_mod.select(reg, "2025Q1")
    assert sorted({e.trust_type for e in got}) == ["acute", "ambulance", "mental-health-and-community"]
    with pytest.raises(InputError, match=r"Q2 2026/27 acute data file \(and 7 more\)"):  # 4 types x 2 kinds
        fetch_mod.select(reg, "2026Q2")  # 2026/27 adds ICBs, and the registry has no 2026/27 entry yet


@pytest.mark.parametrize("entry, message", [
    ({"quarter": "2025Q4", "trust_type": "acute", "kind": "data", "sha256": "abc"}, "sha256 must be 64"),
    ({"quarter": "2025Q4", "trust_type": "acute", "kind": "data", "url": "ftp://x/y.csv"}, "http(s) URL"),
    ({"quarter": "2025Q4", "trust_type": "acute", "kind": "data", "file_name": "../evil.csv"}, "plain file name"),
    ({"quarter": "2025Q4", "trust_type": "acute", "kind": "zip"}, "kind must be one of"),
    ({"quarter": "2025Q9", "trust_type": "acute", "kind": "data"}, "cannot parse quarter"),
    ({"quarter": "2025Q4", "trust_type": "hospice", "kind": "data"}, "unknown trust type"),
    ({"quarter": "2025Q4", "trust_type": "acute", "kind": "data", "colour": "red"}, "unknown field"),
    ({"quarter": "2025Q4", "trust_type": "acute", "kind": "data", "date_seen": "yesterday"}, "date_seen"),
])
def test_bad_registry_entries_are_one_line_errors(tmp_path, run_cli, entry, message):
    p = tmp_path / "reg.yaml"
    p.write_text(yaml.safe_dump({"entries": [entry]}), encoding="utf-8")
    code, out, err = run_cli("fetch", "2025Q4", "--registry", p)
    line = _one_error(err)
    assert code == 2 and message in line and str(p) in line


def test_user_registry_replaces_only_the_fields_it_gives(tmp_path):
    p = _registry(tmp_path, "https://example.invalid", league=None)
    reg = fetch_mod.load_registry(p)
    e = reg.entries[("2025Q4", "mental-health-and-community", "data")]
    assert e.url == "https://example.invalid/ok/" + DATA_NAME
    assert e.file_name == DATA_NAME and e.sha256.startswith("435ae98c")  # kept from the built-in entry
    assert reg.entries[("2025Q1", "acute", "data")] == fetch_mod.load_registry().entries[("2025Q1", "acute", "data")]


# ---- downloads -----------------------------------------------------------------------------------


def test_success_writes_both_files_under_their_names_and_prints_the_next_command(served, tmp_path, run_cli):
    base, state = served
    code, out, err, out_dir = _fetch(run_cli, tmp_path, _registry(tmp_path, base))
    assert code == 0, err
    for name in (DATA_NAME, LEAGUE_NAME):
        assert (out_dir / name).read_bytes() == (state.root / name).read_bytes()
    assert sorted(p.name for p in out_dir.iterdir()) == sorted([DATA_NAME, LEAGUE_NAME])  # no temporary file
    lines = out.splitlines()
    assert lines[:2] == [str(out_dir / DATA_NAME), str(out_dir / LEAGUE_NAME)]
    assert lines[2] == (f"nhs-league table {out_dir / DATA_NAME} --quarter 2025Q4 "
                        "--trust-type mental-health-and-community")
    assert err.count("SHA-256 matches the registry") == 2
    assert "downloading " + DATA_NAME in err  # the (non-terminal) progress lines
    # the next command runs on what was fetched: NHS England's 61 mental health and community trusts
    code, table, err = run_cli(*shlex.split(lines[2])[1:])
    assert code == 0, err
    assert table.count("\n") == 62  # header + 61 trusts


def test_default_folder_is_data_raw_quarter(served, tmp_path, run_cli, monkeypatch):
    base, _ = served
    reg = _registry(tmp_path, base, data=None)
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli("fetch", "2025Q4", "--trust-type", "mental-health-and-community", "--kind",
                             "league-table", "--registry", reg)
    assert code == 0, err
    assert out.splitlines()[0] == str(Path("data") / "raw" / "2025Q4" / LEAGUE_NAME)
    assert (tmp_path / "data" / "raw" / "2025Q4" / LEAGUE_NAME).is_file()


def test_gitignore_keeps_fetched_files_out_of_git():
    ignore = (Path(__file__).resolve().parents[1] / ".gitignore").read_text().splitlines()
    assert "/data/raw/" in ignore


def test_http_404_is_one_line_naming_url_and_page(served, tmp_path, run_cli):
    base, _ = served
    code, out, err, out_dir = _fetch(run_cli, tmp_path, _registry(tmp_path, base, data="missing/" + DATA_NAME))
    line = _one_error(err)
    assert code == 2 and "HTTP 404" in line and f"{base}/missing/{DATA_NAME}" in line
    assert "look for the file on https://www.england.nhs.uk/publication/" in line
    _nothing_written(out_dir)


def test_truncated_body_is_refused(served, tmp_path, run_cli):
    base, state = served
    code, out, err, out_dir = _fetch(run_cli, tmp_path, _registry(tmp_path, base, league="truncated/" + LEAGUE_NAME))
    line = _one_error(err)
    size = len((state.root / LEAGUE_NAME).read_bytes())
    assert code == 2 and f"stopped after {size // 2} of {size} bytes" in line and "truncated/" in line
    _nothing_written(out_dir)  # the data file downloaded whole first is not written either


def test_wrong_checksum_is_refused(served, tmp_path, run_cli):
    base, state = served
    code, out, err, out_dir = _fetch(run_cli, tmp_path, _registry(tmp_path, base, league="ok/altered-league-table.csv",
                                                                  extra={"league-table": {"file_name": LEAGUE_NAME}}))
    line = _one_error(err)
    got = hashlib.sha256((state.root / "altered-league-table.csv").read_bytes()).hexdigest()
    assert code == 2 and f"SHA-256 {got} differs from the registry's d06dcf5e" in line
    _nothing_written(out_dir)


@pytest.mark.parametrize("mode", ["html", "htmltype"])
def test_html_page_instead_of_csv_is_refused(served, tmp_path, run_cli, mode):
    base, _ = served
    code, out, err, out_dir = _fetch(run_cli, tmp_path, _registry(tmp_path, base, data=f"{mode}/{DATA_NAME}"))
    line = _one_error(err)
    assert code == 2 and "HTML page, not a CSV file" in line and f"{mode}/{DATA_NAME}" in line
    _nothing_written(out_dir)


def test_csv_of_the_wrong_kind_is_refused(served, tmp_path, run_cli):
    base, _ = served  # the league table offered as the data file: no Metric_ID column
    code, out, err, out_dir = _fetch(run_cli, tmp_path, _registry(
        tmp_path, base, data="ok/" + LEAGUE_NAME, league=None), "--kind", "data")
    line = _one_error(err)
    assert code == 2 and "not a NOF data CSV file: its header lacks Metric_ID, Value" in line
    _nothing_written(out_dir)


def test_slow_server_hits_the_timeout(served, tmp_path, run_cli):
    base, _ = served
    code, out, err, out_dir = _fetch(run_cli, tmp_path, _registry(tmp_path, base, data="slow/" + DATA_NAME))
    line = _one_error(err)
    assert code == 2 and "no answer within 0.5 s (--timeout)" in line and "slow/" in line
    _nothing_written(out_dir)


def test_server_going_quiet_mid_body_hits_the_timeout(served, tmp_path, run_cli):
    base, _ = served
    code, out, err, out_dir = _fetch(run_cli, tmp_path, _registry(tmp_path, base, data="stall/" + DATA_NAME))
    line = _one_error(err)
    assert code == 2 and "stopped sending for 0.5 s after 100000 bytes" in line
    _nothing_written(out_dir)


def test_offline_is_one_line_naming_url_and_page(tmp_path, run_cli, monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, out, err, out_dir = _fetch(run_cli, tmp_path, _registry(tmp_path, f"http://127.0.0.1:{port}"))
    line = _one_error(err)
    assert code == 2 and "cannot reach the server" in line and f"127.0.0.1:{port}/ok/{DATA_NAME}" in line
    assert "look for the file on https://" in line
    _nothing_written(out_dir)


def test_size_limit(served, tmp_path, run_cli):
    base, _ = served
    code, out, err, out_dir = _fetch(run_cli, tmp_path, _registry(tmp_path, base), "--max-mb", "0.5")
    line = _one_error(err)
    assert code == 2 and "over the limit of 0.5 MB (--max-mb)" in line
    _nothing_written(out_dir)


def test_existing_file_is_not_overwritten_without_force(served, tmp_path, run_cli):
    base, state = served
    out_dir = tmp_path / "raw"
    out_dir.mkdir()
    (out_dir / LEAGUE_NAME).write_bytes(b"mine\n")
    reg = _registry(tmp_path, base)
    code, out, err, _ = _fetch(run_cli, tmp_path, reg)
    line = _one_error(err)
    assert code == 2 and f"{out_dir / LEAGUE_NAME} exists" in line and "--force" in line
    assert (out_dir / LEAGUE_NAME).read_bytes() == b"mine\n" and not (out_dir / DATA_NAME).exists()
    assert state.requests == []  # refused before downloading anything
    code, out, err, _ = _fetch(run_cli, tmp_path, reg, "--force")
    assert code == 0, err
    assert (out_dir / LEAGUE_NAME).read_bytes() == (state.root / LEAGUE_NAME).read_bytes()


def test_interrupt_mid_download_leaves_nothing(served, tmp_path):
    """A real SIGINT to ``nhs-league fetch`` while the body is arriving: exit 130, no file, no temp file."""
    base, state = served
    reg = _registry(tmp_path, base, data="stall/" + DATA_NAME)
    out_dir = tmp_path / "raw"
    env = {**os.environ, "no_proxy": "127.0.0.1,localhost", "PYTHONUNBUFFERED": "1"}
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(var, None)
    proc = subprocess.Popen([sys.executable, "-m", "nhs_league.cli", "fetch", "2025Q4", "--trust-type",
                             "mental-health-and-community", "--dir", str(out_dir), "--registry", str(reg),
                             "--timeout", "20"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        assert state.sent_part.wait(60), "the download never started"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    assert proc.returncode == 130, err
    assert b"nhs-league: interrupted" in err and b"Traceback" not in err
    _nothing_written(out_dir)


def test_progress_bar_on_a_terminal():
    import io

    class Tty(io.StringIO):
        def isatty(self):
            return True

    s = Tty()
    p = fetch_mod.Progress(s, width=10, every=0.0)
    p.start("f.csv", 2_000_000)
    p.update("f.csv", 1_000_000, 2_000_000)
    p.finish("f.csv", 2_000_000, 2_000_000)
    assert s.getvalue() == ("\r  f.csv [#####.....] 1.0 of 2.0 MB"
                            "\r  f.csv [##########] 2.0 of 2.0 MB\n")
