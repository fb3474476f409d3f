"""`serve`, the hook behind `cnibot sim serve`: the announcement line, a working kubeconfig, Ctrl-C exits 0,
and a one-line error when the port is taken."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from kubernetes import client, config

from bot.sim.cli import serve
from bot.sim.errors import SimServeError

ROOT = Path(__file__).resolve().parents[2]


def test_serve_runs_until_ctrl_c(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kc"
    code = (
        "import sys; from pathlib import Path; from bot.sim.cli import serve; "
        f"sys.exit(serve('calico-bgp-down', 0, Path({str(kubeconfig)!r})))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert line.startswith("cnibot: simulated cluster 'calico-bgp-down' (NOT a real cluster) on http://127.0.0.1:")
        assert line.rstrip().endswith(f"; kubeconfig: {kubeconfig}; Ctrl-C stops it")
        cfg = client.Configuration()
        config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
        with client.ApiClient(cfg) as api:
            assert len(client.CoreV1Api(api).list_node().items) == 3
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_on_a_busy_port_raises_one_line_error(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kc"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SimServeError) as caught:
            serve("healthy", port, kubeconfig)
    assert str(caught.value) == f"cannot listen on 127.0.0.1:{port}: address already in use"
    assert isinstance(caught.value.__cause__, OSError)
    assert not kubeconfig.exists()
