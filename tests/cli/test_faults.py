"""What a user sees when the apiserver, the kubeconfig or the input misbehaves: one line naming the
request and the likely fix, the right exit status, no exception name, and no wait past the deadline.
Each test drives `cnibot` as a subprocess against a misbehaving stand-in on loopback."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
import trustme

from tests.standins.apiserver import free_port, http_standin, silent_listener, write_kubeconfig

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True, scope="module")
def _index(knowledge_settings) -> None:
    """The probes name runbooks through the matcher; build the index once up front."""


def cnibot(
    *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CNIBOT_") and k != "KUBECONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        env={**clean, **(env or {})},
        timeout=timeout,
    )  # type: ignore[call-overload, no-any-return]


def text(done: subprocess.CompletedProcess[bytes]) -> tuple[str, str]:
    return done.stdout.decode(), done.stderr.decode()


def assert_no_internals(out: str, err: str) -> None:
    for leak in ("unexpected ", "Traceback", "Error:", "Exception"):
        assert leak not in out + err, (out, err)


def test_a_garbage_answering_server_is_named_once_and_exits_1(tmp_path: Path) -> None:
    with http_standin("garbage") as (url, _):
        kubeconfig = write_kubeconfig(tmp_path / "kc", url)
        done = cnibot("probe", "all", "--kubeconfig", str(kubeconfig))
    out, err = text(done)
    assert done.returncode == 1, (out, err)
    assert out.count("is not JSON") == 1, out
    assert "GET /api/v1/namespaces/kube-system" in out and "login page" in out
    assert_no_internals(out, err)


def test_the_console_survives_a_garbage_server_and_answers_the_next_paste(tmp_path: Path) -> None:
    with http_standin("garbage") as (url, _):
        kubeconfig = write_kubeconfig(tmp_path / "kc", url)
        done = cnibot("console", "--kubeconfig", str(kubeconfig), stdin=b"probe all\nno IPs available in block\n")
    out, err = text(done)
    assert done.returncode == 0, err
    assert "is not JSON" in out and "Runbook: ipam-exhausted" in out
    assert_no_internals(out, err)


def test_a_silent_apiserver_is_reported_once_within_seconds(tmp_path: Path) -> None:
    """The server accepts connections and never answers: before, nine probes waited 15 s each (137 s)."""
    with http_standin("hang") as (url, requests):
        kubeconfig = write_kubeconfig(tmp_path / "kc", url)
        started = time.monotonic()
        done = cnibot("probe", "all", "--kubeconfig", str(kubeconfig))
        elapsed = time.monotonic() - started
    out, err = text(done)
    assert done.returncode == 1, (out, err)
    assert elapsed < 20, elapsed  # the default deadline; the cluster check itself gives up after 5 s
    assert out.count("timed out") == 1 and "not run:" in out, out
    assert len(requests) == 1  # one check, not nine probes' worth of requests
    assert_no_internals(out, err)


def test_probes_that_outlive_the_deadline_are_reported_and_the_run_ends_on_time(tmp_path: Path) -> None:
    """The server answers the cluster check, then never again: the run ends at its deadline."""
    with http_standin("ping-then-hang") as (url, requests):
        kubeconfig = write_kubeconfig(tmp_path / "kc", url)
        started = time.monotonic()
        done = cnibot("probe", "all", "--kubeconfig", str(kubeconfig), env={"CNIBOT_PROBE_DEADLINE": "4"})
        elapsed = time.monotonic() - started
    out, err = text(done)
    assert done.returncode == 1, (out, err)
    assert elapsed < 4 + 8, elapsed  # the deadline plus the interpreter's start-up on a busy machine
    assert "4 s deadline" in out
    # identical reads are shared: no request was sent twice within the run
    assert len(requests) == len(set(requests)), requests
    assert_no_internals(out, err)


def test_a_refused_connection_is_said_once(tmp_path: Path) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "kc", f"http://127.0.0.1:{free_port()}")
    done = cnibot("probe", "all", "--kubeconfig", str(kubeconfig))
    out, err = text(done)
    assert done.returncode == 1
    assert out.count("Connection refused") == 1, out
    assert_no_internals(out, err)


def test_a_throttling_apiserver_says_when_to_retry(tmp_path: Path) -> None:
    with http_standin("throttle") as (url, _):
        kubeconfig = write_kubeconfig(tmp_path / "kc", url)
        done = cnibot("probe", "nodes.network", "--kubeconfig", str(kubeconfig))
    out, _ = text(done)
    assert done.returncode == 1
    assert "429 Too Many Requests" in out and "retry after 7 s" in out, out


def test_an_untrusted_certificate_says_tls_not_is_the_cluster_up(tmp_path: Path) -> None:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with http_standin("garbage", tls=context) as (url, _):
        kubeconfig = write_kubeconfig(tmp_path / "kc", url)  # no CA: the server is not trusted
        done = cnibot("probe", "nodes.network", "--kubeconfig", str(kubeconfig))
    out, err = text(done)
    assert done.returncode == 1
    assert "TLS verification failed" in out and "certificate-authority-data" in out, out
    assert "is the cluster up" not in out
    assert_no_internals(out, err)


def test_a_tls_handshake_that_never_comes_reports_the_connect_timeout(tmp_path: Path) -> None:
    with silent_listener() as address:
        kubeconfig = write_kubeconfig(tmp_path / "kc", f"https://{address}")
        started = time.monotonic()
        done = cnibot("probe", "nodes.network", "--kubeconfig", str(kubeconfig), env={"CNIBOT_CONNECT_TIMEOUT": "2"})
        elapsed = time.monotonic() - started
    out, err = text(done)
    assert done.returncode == 1
    assert "within 2 s" in out and "15 s" not in out, out
    assert elapsed < 2 + 8
    assert_no_internals(out, err)


def test_a_silent_port_at_the_default_timeouts_gives_no_advice_that_cannot_help(tmp_path: Path) -> None:
    """The start-up ping waits 5 s, as long as the default connect timeout, so a stalled handshake and a
    silent apiserver look alike; it used to advise raising CNIBOT_READ_TIMEOUT, which the ping's cap ignores."""
    with silent_listener() as address:
        kubeconfig = write_kubeconfig(tmp_path / "kc", f"https://{address}")
        done = cnibot("probe", "all", "--kubeconfig", str(kubeconfig), env={"CNIBOT_READ_TIMEOUT": "100"})
    out, err = text(done)
    assert done.returncode == 1
    assert "within 5 s" in out and "does not speak TLS" in out and "CNIBOT_READ_TIMEOUT" not in out, out
    assert_no_internals(out, err)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"- a\n- b\n", "is a YAML list, not a mapping"),
        (b"apiVersion: v1\x00\x00kind: Config\n", "holds binary bytes (NUL)"),
        (b"clusters: [\n", "is not valid YAML"),
        (b"clusters: 3\ncontexts: 4\ncurrent-context: x\n", "has a malformed `clusters`"),
    ],
)
def test_a_broken_kubeconfig_is_one_line(tmp_path: Path, content: bytes, expected: str) -> None:
    kubeconfig = tmp_path / "kc"
    kubeconfig.write_bytes(content)
    done = cnibot("probe", "nodes.network", "--kubeconfig", str(kubeconfig))
    out, err = text(done)
    assert done.returncode == 1
    assert err.startswith("cnibot: error: ") and expected in err and err.count("\n") == 1, err
    assert_no_internals(out, err.replace("cnibot: error: ", ""))


def test_bad_cluster_flags_are_usage_errors() -> None:
    done = cnibot("probe", "all", "--sim", "nosuch")
    assert done.returncode == 2
    assert done.stderr.decode().startswith("cnibot: error: --sim: no scenario 'nosuch'; choose one of healthy, ")
    done = cnibot("probe", "all", "--sim", "healthy", "--kubeconfig", "/nonexistent")
    assert done.returncode == 2 and "drop --kubeconfig" in done.stderr.decode()


def test_a_bad_scenario_setting_stops_make_run_at_start() -> None:
    done = cnibot("run", stdin=b"probe all\n", env={"CNIBOT_SIM_SCENARIO": "nosuch"})
    assert done.returncode == 2
    assert done.stderr.decode().startswith("cnibot: error: CNIBOT_SIM_SCENARIO: no scenario 'nosuch'")
    assert done.stdout == b""


def test_a_malformed_number_setting_names_the_variable() -> None:
    done = cnibot("probe", "all", "--sim", "healthy", env={"CNIBOT_PROBE_DEADLINE": "soon"})
    assert done.returncode == 2
    assert done.stderr.decode() == "cnibot: error: CNIBOT_PROBE_DEADLINE='soon' is not a number (default 20.0)\n"


def test_sim_serve_on_a_busy_port_is_one_line() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = cnibot("sim", "serve", "--port", str(port), "--kubeconfig", "/tmp/cnibot-busy-kc.yaml")
    _, err = text(done)
    assert done.returncode == 1
    assert err == f"cnibot: error: cannot listen on 127.0.0.1:{port}: address already in use\n", err


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("CNIBOT_RUNBOOKS", "/nonexistent/runbooks", "CNIBOT_RUNBOOKS=/nonexistent/runbooks: no such folder"),
        ("CNIBOT_MODEL", "sentence-transformers/all-MiniLM-L6-v2", "never downloads models"),
    ],
)
def test_a_setting_naming_a_missing_folder_stops_at_start(name: str, value: str, says: str) -> None:
    """It used to surface as a failed index rebuild: a progress line, then an error, exit 1."""
    done = cnibot("match", "no IPs available in block", env={name: value})
    assert done.returncode == 2 and done.stdout == b""
    err = done.stderr.decode()
    assert err.startswith(f"cnibot: error: {name}=") and says in err and err.count("\n") == 1, err
