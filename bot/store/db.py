"""The SQLite store: migrations, and one method per record the bot keeps."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from bot.domain.errors import CnibotError
from bot.remediation.policy import Outcome, Proposal

BUSY_TIMEOUT_SECONDS = 5.0


class StoreError(CnibotError):
    """The database cannot be opened or written (locked, read-only, corrupt, wrong path)."""


def _v1_answers_probes_feedback(db: sqlite_utils.Database) -> None:
    db.table("answers").create(
        {
            "id": int,
            "at": float,
            "event_id": str,
            "channel": str,
            "thread_ts": str,
            "user": str,
            "cluster": str,
            "text": str,
            "confident": int,
            "runbook": str,
            "score": float,
            "matches": str,
        },
        pk="id",
    )
    db.table("answers").create_index(["event_id"], unique=True)
    db.table("answers").create_index(["channel", "at"])
    db.table("probe_runs").create(
        {
            "id": int,
            "at": float,
            "user": str,
            "channel": str,
            "thread_ts": str,
            "cluster": str,
            "simulated": int,
            "probes": str,
            "statuses": str,
            "error": str,
        },
        pk="id",
    )
    db.table("feedback").create(
        {"id": int, "at": float, "answer_id": int, "user": str, "chosen": str, "text": str}, pk="id"
    )


def _v2_answer_fingerprints(db: sqlite_utils.Database) -> None:
    db.table("answers").add_column("fingerprint", str)
    db.table("answers").create_index(["channel", "fingerprint", "at"])


def _v3_proposals(db: sqlite_utils.Database) -> None:
    db.table("proposals").create(
        {
            "id": str,
            "at": float,
            "requester": str,
            "channel": str,
            "thread_ts": str,
            "message_ts": str,
            "cluster": str,
            "action": str,
            "risk": str,
            "plan": str,
            "digest": str,
            "state": str,
            "approvals": str,
            "expires_at": float,
            "note": str,
        },
        pk="id",
    )
    db.table("remediation_events").create(
        {"id": int, "at": float, "proposal_id": str, "kind": str, "user": str, "detail": str}, pk="id"
    )
    db.table("remediation_events").create_index(["proposal_id", "id"])


def _v4_reports(db: sqlite_utils.Database) -> None:
    db.table("ipam_snapshots").create({"id": int, "at": float, "cluster": str, "data": str}, pk="id")
    db.table("ipam_snapshots").create_index(["cluster", "at"])
    # one row per scheduled report (cluster, kind, fire time): a restart or a second replica finds it
    db.table("report_runs").create({"key": str, "at": float, "cluster": str, "kind": str, "status": str}, pk="key")
    db.table("ipam_alerts").create({"id": int, "at": float, "cluster": str, "pool": str, "level": str}, pk="id")
    db.table("ipam_alerts").create_index(["cluster", "pool", "id"])


# (version, what it does, function): applied in order, each in its own transaction, recorded in `migrations`
MIGRATIONS: list[tuple[int, str, Callable[[sqlite_utils.Database], None]]] = [
    (1, "answers, probe runs and feedback", _v1_answers_probes_feedback),
    (2, "a fingerprint per answered paste, to spot the same error pasted again", _v2_answer_fingerprints),
    (3, "remediation proposals (plan, hash, approvals, state) and every step taken on them", _v3_proposals),
    (4, "IPAM snapshots, scheduled report runs and pool alert levels", _v4_reports),
]


@dataclass(frozen=True)
class StoredProposal:
    proposal: Proposal
    plan: dict[str, Any]
    action: str
    cluster: str
    channel: str
    thread_ts: str
    message_ts: str


def _proposal_of(row: dict[str, Any]) -> Proposal:
    return Proposal(
        id=row["id"],
        plan_digest=row["digest"],
        requester=row["requester"],
        risk=row["risk"],
        created_at=float(row["at"]),
        expires_at=float(row["expires_at"]),
        state=row["state"],
        approvals=frozenset(json.loads(row["approvals"] or "[]")),
        note=row["note"] or "",
    )


def _state_columns(p: Proposal) -> dict[str, Any]:
    return {"state": p.state, "approvals": json.dumps(sorted(p.approvals)), "note": p.note}


@dataclass(frozen=True)
class AuditRow:
    kind: str
    at: float
    channel: str
    user: str
    summary: str

    def to_json(self) -> dict[str, Any]:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.at))
        return {"kind": self.kind, "at": stamp, "channel": self.channel, "user": self.user, "summary": self.summary}


class Store:
    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        try:
            connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, check_same_thread=False)
            connection.execute("pragma journal_mode=wal")
        except sqlite3.Error as exc:
            raise StoreError(
                f"cannot open the database {self.path}: {exc} (check CNIBOT_DB and the folder's permissions)"
            ) from exc
        self.db = sqlite_utils.Database(connection)
        # one connection serves every listener thread: a transition holds this lock for its transaction;
        # BEGIN IMMEDIATE serialises it against other processes (replicas) sharing the file
        self._transaction = threading.Lock()
        self._migrate()

    def _migrate(self) -> None:
        try:
            if "migrations" not in self.db.table_names():
                self.db.table("migrations").create({"version": int, "name": str, "at": float}, pk="version")
            done = {row["version"] for row in self.db.table("migrations").rows}
            for version, name, apply in MIGRATIONS:
                if version in done:
                    continue
                with self.db.conn:
                    apply(self.db)
                    self.db.table("migrations").insert({"version": version, "name": name, "at": time.time()})
        except sqlite3.Error as exc:
            raise StoreError(_explain(exc, self.path)) from exc

    def version(self) -> int:
        return max((row["version"] for row in self.db.table("migrations").rows), default=0)

    def _write(self, table: str, row: dict[str, Any]) -> int:
        try:
            with self.db.conn:
                return int(self.db.table(table).insert(row).last_pk or 0)
        except sqlite3.IntegrityError:
            raise
        except sqlite3.Error as exc:
            raise StoreError(_explain(exc, self.path)) from exc

    def record_answer(
        self,
        *,
        event_id: str,
        channel: str,
        thread_ts: str,
        user: str,
        cluster: str,
        text: str,
        confident: bool,
        runbook: str,
        score: float,
        matches: list[dict[str, Any]],
        fingerprint: str = "",
    ) -> int | None:
        """Store an answered paste (already redacted); None when this event was recorded before, which is
        how a Slack retry or a second replica learns not to answer twice."""
        row = {
            "at": time.time(),
            "event_id": event_id,
            "channel": channel,
            "thread_ts": thread_ts,
            "user": user,
            "cluster": cluster,
            "text": text,
            "confident": int(confident),
            "runbook": runbook,
            "score": score,
            "matches": json.dumps(matches),
            "fingerprint": fingerprint,
        }
        try:
            return self._write("answers", row)
        except sqlite3.IntegrityError:
            return None

    def record_probe_run(
        self,
        *,
        user: str,
        channel: str,
        thread_ts: str,
        cluster: str,
        simulated: bool,
        statuses: dict[str, str],
        error: str,
    ) -> int:
        row = {
            "at": time.time(),
            "user": user,
            "channel": channel,
            "thread_ts": thread_ts,
            "cluster": cluster,
            "simulated": int(simulated),
            "probes": ",".join(statuses),
            "statuses": json.dumps(statuses),
            "error": error,
        }
        return self._write("probe_runs", row)

    def recent_answer(self, *, channel: str, fingerprint: str, within: float, before_id: int) -> dict[str, Any] | None:
        """The latest earlier answer to the same error in the same channel within `within` seconds."""
        rows = self.db.table("answers").rows_where(
            "channel = ? and fingerprint = ? and at >= ? and id < ? and confident = 1",
            [channel, fingerprint, time.time() - within, before_id],
            order_by="id desc",
            limit=1,
        )
        return next(iter(rows), None)

    def answer(self, answer_id: int) -> dict[str, Any] | None:
        rows = list(self.db.table("answers").rows_where("id = ?", [answer_id]))
        return rows[0] if rows else None

    def labelled_pastes(self) -> Iterator[dict[str, Any]]:
        """Pastes a user labelled with [Not this one], as eval-set lines (text, expect, also, source)."""
        sql = (
            "select f.chosen, a.text, a.channel, a.thread_ts, a.runbook from feedback f "
            "join answers a on a.id = f.answer_id order by f.id"
        )
        for chosen, text, channel, thread_ts, answered in self.db.execute(sql).fetchall():
            yield {
                "text": text,
                "expect": chosen,
                "also": [],
                "source": f"slack:{channel}/{thread_ts} (answered {answered})",
            }

    def record_feedback(self, *, answer_id: int, user: str, chosen: str, text: str) -> int:
        return self._write(
            "feedback", {"at": time.time(), "answer_id": answer_id, "user": user, "chosen": chosen, "text": text}
        )

    # -- remediation proposals ------------------------------------------------------------------------

    def create_proposal(
        self, proposal: Proposal, *, plan: dict[str, Any], action: str, cluster: str, channel: str, thread_ts: str
    ) -> None:
        row = {
            "id": proposal.id,
            "at": proposal.created_at,
            "requester": proposal.requester,
            "channel": channel,
            "thread_ts": thread_ts,
            "message_ts": "",
            "cluster": cluster,
            "action": action,
            "risk": proposal.risk,
            "plan": json.dumps(plan, sort_keys=True),
            "digest": proposal.plan_digest,
            "expires_at": proposal.expires_at,
            **_state_columns(proposal),
        }
        with self._transaction:
            try:
                with self.db.conn:
                    self.db.table("proposals").insert(row)
                    self._event(
                        proposal.id,
                        "proposed",
                        proposal.requester,
                        f"{action} on {cluster}, plan {proposal.plan_digest[:12]}",
                    )
            except sqlite3.Error as exc:
                raise StoreError(_explain(exc, self.path)) from exc

    def proposal(self, proposal_id: str) -> StoredProposal | None:
        try:
            rows = list(self.db.table("proposals").rows_where("id = ?", [proposal_id]))
        except sqlite3.Error as exc:
            raise StoreError(_explain(exc, self.path)) from exc
        if not rows:
            return None
        row = rows[0]
        return StoredProposal(
            _proposal_of(row),
            json.loads(row["plan"]),
            row["action"],
            row["cluster"],
            row["channel"],
            row["thread_ts"],
            row["message_ts"],
        )

    def transition(
        self, proposal_id: str, step: Callable[[Proposal], Outcome], *, kind: str, user: str
    ) -> Outcome | None:
        """Read the proposal, apply `step` and store its result in one transaction, so that of two clicks,
        retries or replicas racing, the second sees what the first did. None: no such proposal."""
        with self._transaction:
            conn = self.db.conn
            try:
                conn.execute("begin immediate")
                try:
                    rows = list(self.db.table("proposals").rows_where("id = ?", [proposal_id]))
                    if not rows:
                        conn.rollback()
                        return None
                    before = _proposal_of(rows[0])
                    outcome = step(before)
                    if outcome.proposal != before:
                        self.db.table("proposals").update(proposal_id, _state_columns(outcome.proposal))
                    if outcome.proposal.state == "expired" and before.state != "expired":
                        kind = "expired"  # what happened is the expiry, whatever the click asked for
                    elif not outcome.changed:
                        kind = f"{kind} refused"
                    self._event(proposal_id, kind, user, outcome.message)
                    conn.commit()
                except BaseException:
                    conn.rollback()
                    raise
            except sqlite3.Error as exc:
                raise StoreError(_explain(exc, self.path)) from exc
        return outcome

    def set_proposal_message(self, proposal_id: str, *, channel: str, message_ts: str) -> None:
        with self._transaction:
            try:
                with self.db.conn:
                    self.db.table("proposals").update(proposal_id, {"channel": channel, "message_ts": message_ts})
            except sqlite3.Error as exc:
                raise StoreError(_explain(exc, self.path)) from exc

    def record_remediation(self, proposal_id: str, *, kind: str, user: str, detail: str) -> None:
        with self._transaction:
            try:
                with self.db.conn:
                    self._event(proposal_id, kind, user, detail)
            except sqlite3.Error as exc:
                raise StoreError(_explain(exc, self.path)) from exc

    def _event(self, proposal_id: str, kind: str, user: str, detail: str) -> None:
        self.db.table("remediation_events").insert(
            {"at": time.time(), "proposal_id": proposal_id, "kind": kind, "user": user, "detail": detail}
        )

    def remediation_events(self, proposal_id: str) -> list[dict[str, Any]]:
        return list(self.db.table("remediation_events").rows_where("proposal_id = ?", [proposal_id], order_by="id"))

    # -- IPAM reports ----------------------------------------------------------------------------------

    def _guarded(self, work: Callable[[], Any]) -> Any:
        with self._transaction:
            try:
                with self.db.conn:
                    return work()
            except sqlite3.IntegrityError:
                raise
            except sqlite3.Error as exc:
                raise StoreError(_explain(exc, self.path)) from exc

    def record_snapshot(self, *, cluster: str, at: float, data: dict[str, Any], keep_seconds: float) -> None:
        """Store a snapshot and drop this cluster's snapshots older than the retention."""

        def work() -> None:
            self.db.table("ipam_snapshots").insert({"at": at, "cluster": cluster, "data": json.dumps(data)})
            self.db.execute("delete from ipam_snapshots where cluster = ? and at < ?", [cluster, at - keep_seconds])

        self._guarded(work)

    def snapshots(self, *, cluster: str, before: float) -> list[dict[str, Any]]:
        """This cluster's snapshots taken before `before`, oldest first."""
        rows = self.db.table("ipam_snapshots").rows_where("cluster = ? and at < ?", [cluster, before], order_by="at")
        return [json.loads(r["data"]) for r in rows]

    def claim_run(self, key: str, *, cluster: str, kind: str) -> bool:
        """True for the first caller to claim this scheduled run; False if it ran (or runs) already."""
        try:
            self._guarded(
                lambda: self.db.table("report_runs").insert(
                    {"key": key, "at": time.time(), "cluster": cluster, "kind": kind, "status": "claimed"}
                )
            )
        except sqlite3.IntegrityError:
            return False
        return True

    def finish_run(self, key: str, *, ok: bool) -> None:
        """A failed run gives its claim back, so the next attempt (or replica) can still post it."""
        if ok:
            self._guarded(lambda: self.db.table("report_runs").update(key, {"status": "posted"}))
        else:
            self._guarded(lambda: self.db.execute("delete from report_runs where key = ?", [key]))

    def change_alert_level(self, *, cluster: str, pool: str, level: str) -> str | None:
        """Record `level` for the pool if it differs from the last recorded one (no row: "ok"); returns
        the previous level when it changed, None when it did not. One transaction: never twice."""

        def work() -> str | None:
            rows = list(
                self.db.table("ipam_alerts").rows_where(
                    "cluster = ? and pool = ?", [cluster, pool], order_by="id desc", limit=1
                )
            )
            previous = rows[0]["level"] if rows else "ok"
            if previous == level:
                return None
            self.db.table("ipam_alerts").insert({"at": time.time(), "cluster": cluster, "pool": pool, "level": level})
            return str(previous)

        result: str | None = self._guarded(work)
        return result

    def audit(self, *, since: float = 0.0) -> Iterator[AuditRow]:
        """Everything recorded since `since` (epoch seconds), oldest first."""
        rows: list[AuditRow] = []
        for r in self.db.table("answers").rows_where("at >= ?", [since]):
            verdict = f"{r['runbook']} {r['score']:.2f}" if r["confident"] else "no confident match"
            rows.append(AuditRow("answer", r["at"], r["channel"], r["user"], verdict))
        for r in self.db.table("probe_runs").rows_where("at >= ?", [since]):
            what = r["error"] or r["statuses"]
            rows.append(AuditRow("probe", r["at"], r["channel"], r["user"], f"{r['cluster']}: {what}"))
        for r in self.db.table("feedback").rows_where("at >= ?", [since]):
            rows.append(AuditRow("feedback", r["at"], "", r["user"], f"answer {r['answer_id']} -> {r['chosen']}"))
        for r in self.db.table("remediation_events").rows_where("at >= ?", [since]):
            rows.append(
                AuditRow(f"remediation {r['kind']}", r["at"], "", r["user"], f"{r['proposal_id']}: {r['detail']}")
            )
        yield from sorted(rows, key=lambda row: row.at)


def _explain(exc: sqlite3.Error, path: str) -> str:
    text = str(exc)
    if "locked" in text:
        return f"the database {path} is locked by another process (waited {BUSY_TIMEOUT_SECONDS:g} s)"
    if "readonly" in text or "read-only" in text:
        return f"the database {path} is read-only; give cnibot a writable CNIBOT_DB"
    return f"the database {path} failed: {text}"
