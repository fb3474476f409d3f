"""The CLI contract, run as a user runs it: a subprocess, real stdin, exit codes and exact messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]


def cnibot(*args: str, stdin: bytes | None = None, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "CNIBOT_DEBUG": ""}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=timeout,
    )


@pytest.fixture(autouse=True, scope="module")
def _index(knowledge_settings) -> None:
    """Every test here uses the project's index; build it once up front."""


def test_match_json_contract() -> None:
    done = cnibot("match", "--json", "no IPs available in block")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert set(data) >= {"query", "confident", "matches"}
    assert data["query"] == "no IPs available in block"
    assert data["confident"] is True
    assert len(data["matches"]) >= 3
    assert set(data["matches"][0]) == {"runbook", "title", "score", "why"}
    assert data["matches"][0]["runbook"] == "ipam-exhausted"


def test_match_reads_stdin_and_prints_a_human_answer() -> None:
    done = cnibot("match", stdin=b"pods on node2 can ping but big uploads hang\n")
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode()
    assert "Runbook: mtu-mismatch" in out
    assert "Confidence:" in out and "Why:" in out and "First steps:" in out
    assert "runbooks/mtu-mismatch.md" in out


def test_abstention_exits_zero_with_confident_false() -> None:
    done = cnibot("match", "--json", 'Back-off pulling image "registry.local/api:v9"')
    assert done.returncode == 0
    data = json.loads(done.stdout)
    assert data["confident"] is False
    assert data["not_cni"]["id"] == "image-pull"


@pytest.mark.parametrize("stdin", [b"", b"   \n\t\n"])
def test_empty_input_exits_2_with_one_line(stdin: bytes) -> None:
    done = cnibot("match", "-", stdin=stdin)
    assert done.returncode == 2
    assert done.stderr.decode() == ("cnibot: error: stdin is empty; paste an error message or describe the symptom\n")
    assert done.stdout == b""


def test_random_bytes_exit_2_within_seconds() -> None:
    payload = os.urandom(2 * 1024 * 1024)
    started = time.monotonic()
    done = cnibot("match", "--json", stdin=payload, timeout=30)
    assert time.monotonic() - started < 20
    assert done.returncode == 2
    err = done.stderr.decode()
    assert err.startswith("cnibot: error: stdin looks binary (") and err.count("\n") == 1
    assert "Traceback" not in err


def test_invalid_utf8_inside_text_is_still_answered() -> None:
    done = cnibot("match", "--json", stdin=b"no IPs available in block \xff\xfe\n")
    assert done.returncode == 0
    assert json.loads(done.stdout)["matches"][0]["runbook"] == "ipam-exhausted"


def test_undecodable_argument_bytes_are_answered() -> None:
    # Python hands undecodable argv bytes over as lone surrogates, which once crashed the tokenizer
    done = cnibot("match", "--json", "no IPs \udcff\udcfe available in block")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["query"] == "no IPs \ufffd\ufffd available in block"
    assert data["matches"][0]["runbook"] == "ipam-exhausted"


def test_bad_usage_is_one_line_exit_2() -> None:
    done = cnibot("match", "--frobnicate")
    assert done.returncode == 2
    assert done.stderr.decode().count("\n") == 1
    assert "unrecognized arguments: --frobnicate" in done.stderr.decode()


def test_batch_keeps_order_and_reports_bad_lines(tmp_path: Path) -> None:
    batch = tmp_path / "in.jsonl"
    batch.write_text(
        "\n".join(
            [
                json.dumps({"text": 'failed to find plugin "calico" in path [/opt/cni/bin]', "id": 1}),
                "not json",
                json.dumps({"text": "OOMKilled"}),
                json.dumps({"text": "neighbour: arp_cache: neighbor table overflow!"}),
            ]
        ),
        encoding="utf-8",
    )
    done = cnibot("match", "--batch", str(batch))
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert len(rows) == 4
    assert rows[0]["matches"][0]["runbook"] == "cni-plugin-missing"
    assert rows[1]["error"].startswith("line 2:")
    assert rows[2]["confident"] is False
    assert rows[3]["matches"][0]["runbook"] == "arp-fdb-overflow"


def test_batch_answers_every_input_line_with_its_number_including_blank_ones() -> None:
    lines = [
        json.dumps({"text": "no IPs available in block"}),
        "",
        json.dumps({"text": "   "}),
        json.dumps({"text": "neighbour: arp_cache: neighbor table overflow!"}),
        "no IPs available in block",
    ]
    done = cnibot("match", "--batch", "-", stdin="\n".join(lines).encode())
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [r["line"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[1]["error"] == "line 2: blank line"
    assert rows[4]["error"] == 'line 5: not JSON (Expecting value at column 1); expected {"text": "..."}'
    assert rows[2]["error"] == "line 3: the text is empty; paste an error message or describe the symptom"
    assert rows[0]["matches"][0]["runbook"] == "ipam-exhausted"


def test_a_batch_line_with_a_lone_surrogate_is_answered_and_the_batch_goes_on(tmp_path: Path) -> None:
    batch = tmp_path / "in.jsonl"
    lines = ['{"text": "no IPs available in block \\ud800"}', json.dumps({"text": "OOMKilled again"})]
    batch.write_text("\n".join(lines))
    done = cnibot("match", "--batch", str(batch))
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [r["line"] for r in rows] == [1, 2] and not any("error" in r for r in rows), rows
    assert rows[0]["query"] == "no IPs available in block \ufffd"
    assert rows[0]["matches"][0]["runbook"] == "ipam-exhausted"


def test_batch_lines_end_only_at_newlines_not_at_unicode_line_separators(tmp_path: Path) -> None:
    batch = tmp_path / "in.jsonl"
    lines = [
        json.dumps({"text": "no IPs available\u2028in block\u2029x\u0085y"}, ensure_ascii=False),
        json.dumps({"text": "neighbour: arp_cache: neighbor table overflow!"}),
    ]
    batch.write_bytes("\r\n".join(lines).encode())  # CRLF too
    done = cnibot("match", "--batch", str(batch))
    assert done.returncode == 0, done.stderr
    # not splitlines(): the echoed query keeps its U+2028, as valid JSON may
    rows = [json.loads(line) for line in done.stdout.decode().removesuffix("\n").split("\n")]
    assert [r["line"] for r in rows] == [1, 2] and not any("error" in r for r in rows), rows
    assert [r["matches"][0]["runbook"] for r in rows] == ["ipam-exhausted", "arp-fdb-overflow"]


@pytest.mark.parametrize("from_stdin", [False, True])
def test_batch_over_the_size_limit_is_refused_not_truncated(tmp_path: Path, from_stdin: bool) -> None:
    limit = 64 * 1024 * 1024
    # one line padded with spaces past the limit: cheap to write, parse and answer were it read whole
    data = b'{"text": "no IPs available in block"}' + b" " * limit + b'\n{"text": "y"}\n'
    batch = tmp_path / "big.jsonl"
    batch.write_bytes(data)
    done = cnibot("match", "--batch", "-", stdin=data) if from_stdin else cnibot("match", "--batch", str(batch))
    assert done.returncode == 2
    name = "stdin" if from_stdin else str(batch)
    assert done.stderr.decode() == f"cnibot: error: {name} is larger than 64 MiB; split it into smaller files\n"
    assert done.stdout == b""


def test_batch_missing_file_is_one_line() -> None:
    done = cnibot("match", "--batch", "/nonexistent/x.jsonl")
    assert done.returncode == 2
    assert done.stderr.decode() == "cnibot: error: cannot read /nonexistent/x.jsonl: No such file or directory\n"


def test_eval_reports_rates_and_misses() -> None:
    done = cnibot("eval", "tests/data/eval.jsonl", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)[0]
    assert report["system"] == "fused" and report["cases"] >= 100
    assert report["top1"] >= 0.9
    # the curve's point at the default threshold is the report itself
    from bot.config import KnowledgeSettings

    default = next(p for p in report["curve"] if p["threshold"] == KnowledgeSettings().min_confidence)
    assert default["top1"] == report["top1"] and default["abstention"] == report["abstention"]


def test_eval_curve_is_printed_on_request() -> None:
    done = cnibot("eval", "tests/data/eval.jsonl", "--curve")
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode()
    assert "threshold curve of fused" in out and " precision " in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--train-fraction", "0.5"), "cnibot: error: --train-fraction needs --cv K"),
        (("--cv", "5", "--train-fraction", "0"), "cnibot: error: the training fraction must be in (0, 1], not 0.0"),
        (("--cv", "5", "--train-fraction", "1.5"), "cnibot: error: the training fraction must be in (0, 1], not 1.5"),
    ],
)
def test_eval_train_fraction_misuse_is_one_line(args: tuple[str, ...], message: str) -> None:
    done = cnibot("eval", "runbooks/reports.jsonl", *args)
    assert done.returncode == 2
    err = done.stderr.decode()
    assert err.startswith(message) and err.count("\n") == 1, err


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ({"expect": "mtu-mismatch", "also": 5}, '"also" must be a list of runbook ids'),
        ({"expect": "mtu-mismatch", "also": "mtu-mismatch"}, '"also" must be a list of runbook ids'),
        ({"expect": "nope-runbook"}, "no runbook 'nope-runbook'"),
        ({"expect": "none", "also": ["mtu-mismatch", "nope-runbook"]}, "no runbook 'nope-runbook'"),
    ],
)
def test_eval_refuses_malformed_or_unknown_labels_naming_the_line(
    tmp_path: Path, labels: dict[str, object], message: str
) -> None:
    labelled = tmp_path / "eval.jsonl"
    good = {"text": "no IPs available in block", "expect": "ipam-exhausted", "also": []}
    labelled.write_text(json.dumps(good) + "\n" + json.dumps({"text": "pings hang", **labels}) + "\n")
    done = cnibot("eval", str(labelled))
    assert done.returncode == 2
    err = done.stderr.decode()
    assert err.startswith(f"cnibot: error: {labelled}:2: {message}") and err.count("\n") == 1, err


def test_console_answers_pastes_and_commands() -> None:
    done = cnibot("console", stdin=b"no IPs available in block\n\nshow cni-plugin-missing\n\nhelp\n")
    out = done.stdout.decode()
    assert done.returncode == 0, done.stderr
    assert "Runbook: ipam-exhausted" in out
    assert "failed to find plugin" in out
    assert "Commands:" in out


def test_run_without_slack_tokens_is_the_console() -> None:
    env_less = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        input=b"no IPs available in block\n",
        capture_output=True,
        cwd=ROOT,
        env=env_less,
        timeout=120,
    )
    assert done.returncode == 0
    assert "Runbook: ipam-exhausted" in done.stdout.decode()


def test_runbook_commands() -> None:
    listed = cnibot("runbook", "list")
    assert listed.returncode == 0 and "mtu-mismatch" in listed.stdout.decode()
    shown = cnibot("runbook", "show", "ipam-exhausted", "--full")
    assert shown.returncode == 0 and "Case study" in shown.stdout.decode()
    brief = cnibot("runbook", "show", "ipam-exhausted")
    assert brief.returncode == 0 and "Case study" not in brief.stdout.decode()
    assert len(brief.stdout.decode().splitlines()) < 30 and "--full" in brief.stdout.decode()
    piped = subprocess.run(
        f"{sys.executable} -m bot runbook list | grep cni-config-uninitialized | cut -f1",
        shell=True,
        capture_output=True,
        cwd=ROOT,
        timeout=120,
    )
    assert piped.stdout.decode() == "cni-config-uninitialized\n"
    listed_json = json.loads(cnibot("runbook", "list", "-o", "json").stdout)
    assert {"id", "severity", "cni", "title"} == set(listed_json[0]) and len(listed_json) == 15
    missing = cnibot("runbook", "show", "nope")
    assert missing.returncode == 2
    assert (
        missing.stderr.decode()
        == "cnibot: error: no runbook 'nope'; `cnibot runbook list` (or `list` in the console) shows the ids\n"
    )
    checked = cnibot("runbook", "check")
    assert checked.returncode == 0 and checked.stdout.decode().startswith("ok: 15 runbooks checked")


def _all_subparsers(parser, prefix=()):
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield (*prefix, name), helps.get(name)
                yield from _all_subparsers(sub, (*prefix, name))


def test_every_command_has_help_text() -> None:
    commands = list(_all_subparsers(build_parser()))
    assert len(commands) >= 8
    assert [c for c, text in commands if not text] == []


def test_remediation_list_is_the_catalogue_and_pipes_plainly() -> None:
    done = cnibot("remediation", "list")
    assert done.returncode == 0
    rows = [line.split("\t") for line in done.stdout.decode().splitlines()]
    assert rows[0][:3] == ["ACTION", "RISK", "APPROVERS"]
    assert {r[0] for r in rows[1:]} == {
        "restart-cni",
        "delete-stuck-pods",
        "set-mtu",
        "add-ippool",
        "release-leaked-ips",
    }
    assert all(r[2] == "2" for r in rows[1:] if r[1] == "high")


def test_batch_rows_stream_out_before_the_whole_file_is_answered(tmp_path: Path) -> None:
    """`match --batch BIG | head -1` waited for every row (54 s for 3,000 real reports); rows now leave a
    chunk at a time. Measured within one run, so a slow machine slows both times alike: the first row
    comes in the first part of the run, not at its end."""
    reports = [json.loads(line)["text"] for line in (ROOT / "runbooks" / "reports.jsonl").read_text().splitlines()]
    batch = tmp_path / "big.jsonl"
    batch.write_text("".join(json.dumps({"text": reports[i % len(reports)]}) + "\n" for i in range(640)))
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "match", "--batch", str(batch)], stdout=subprocess.PIPE, cwd=ROOT
    )
    assert proc.stdout is not None
    first = json.loads(proc.stdout.readline())
    first_row = time.monotonic() - started
    rows = 1 + sum(1 for _ in proc.stdout)
    assert proc.wait(timeout=300) == 0
    everything = time.monotonic() - started
    assert first["line"] == 1 and "matches" in first and rows == 640
    assert first_row < everything / 2, (first_row, everything)
