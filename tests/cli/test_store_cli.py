"""`cnibot audit` and `cnibot feedback export` on a real SQLite file, as a user scripts them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bot.store.db import Store

ROOT = Path(__file__).resolve().parents[2]


def cnibot(*args: str, db: Path) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CNIBOT_")} | {"CNIBOT_DB": str(db)}
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, cwd=ROOT, env=env, timeout=120)


def test_audit_and_feedback_export(tmp_path: Path) -> None:
    db = tmp_path / "cnibot.db"
    store = Store(db)
    answer_id = store.record_answer(
        event_id="Ev1",
        channel="C1",
        thread_ts="1.1",
        user="U1",
        cluster="prod",
        text="pods have no IP",
        confident=True,
        runbook="ipam-exhausted",
        score=0.91,
        matches=[],
    )
    assert answer_id
    store.record_probe_run(
        user="U2",
        channel="C1",
        thread_ts="1.1",
        cluster="prod",
        simulated=False,
        statuses={"ipam.usage": "ok"},
        error="",
    )
    store.record_feedback(answer_id=answer_id, user="U3", chosen="pod-cidr-conflict", text="pods have no IP")
    rows = [json.loads(line) for line in cnibot("audit", "--json", db=db).stdout.decode().splitlines()]
    assert [r["kind"] for r in rows] == ["answer", "probe", "feedback"]
    tsv = cnibot("audit", "--since", "1h", db=db).stdout.decode().splitlines()
    assert tsv[0].split("\t") == ["at", "kind", "channel", "user", "summary"] and len(tsv) == 4
    bad = cnibot("audit", "--since", "soon", db=db)
    assert bad.returncode == 2 and bad.stderr.decode().startswith("cnibot audit: error: argument --since: 'soon'")
    piped = cnibot("feedback", "export", db=db).stdout
    exported = [json.loads(line) for line in piped.decode().splitlines()]
    written = cnibot("feedback", "export", "--output", str(tmp_path / "labelled.jsonl"), db=db)
    assert written.returncode == 0 and (tmp_path / "labelled.jsonl").read_bytes() == piped
    assert exported == [
        {
            "text": "pods have no IP",
            "expect": "pod-cidr-conflict",
            "also": [],
            "source": "slack:C1/1.1 (answered ipam-exhausted)",
        }
    ]
