"""`cnibot sim serve`: runs a simulated cluster in the foreground and writes a kubeconfig for it."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from bot.sim.errors import SimServeError
from bot.sim.scenarios import build_scenario
from bot.sim.server import SimCluster


def serve(scenario: str, port: int, kubeconfig: Path, *, allow_writes: bool | None = None) -> int:
    """Serves `scenario` on 127.0.0.1:`port` until Ctrl-C or SIGTERM; returns the exit code (0).
    Raises UnknownScenarioError (a KeyError) for a name not in SCENARIOS, and SimServeError (one line, no
    traceback needed) when it cannot listen, e.g. because the port is taken."""
    sim = SimCluster(build_scenario(scenario), port=port, allow_writes=allow_writes)
    try:
        sim.start()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SimServeError(f"cannot listen on {sim.host}:{port}: {reason[:1].lower()}{reason[1:]}") from exc
    path = sim.write_kubeconfig(kubeconfig)
    print(
        f"cnibot: simulated cluster '{scenario}' (NOT a real cluster) on {sim.url}; kubeconfig: {path}; "
        "Ctrl-C stops it",
        file=sys.stderr,
        flush=True,
    )

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, terminate)  # `docker stop` and service managers stop as cleanly as Ctrl-C
    sim.serve_forever()
    return 0
