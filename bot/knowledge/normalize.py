"""Normalisation of pasted text: strip log prefixes and noise, unwrap runtime wrappers down to the
plugin's own message, and replace identifiers that only add noise to lexical and dense search."""

from __future__ import annotations

import json
import re
from typing import Any

from bot.knowledge.signatures import ANSI, fold_width

# ---- per-line prefixes ------------------------------------------------------------------------
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_PREFIXES = [
    # journald / syslog: "Nov 03 10:12:01 node2 kubelet[1234]: "
    re.compile(rf"^{_MONTH}\s+\d{{1,2}}\s+\d\d:\d\d:\d\d(?:\.\d+)?\s+\S+\s+[\w./-]+(?:\[\d+\])?:\s*"),
    # klog: "E1103 10:12:01.123456    1234 pod_workers.go:1298] "
    re.compile(r"^[IWEF]\d{4}\s+\d\d:\d\d:\d\d\.\d+\s+\d+\s+[\w./-]+:\d+\]\s*"),
    # calico: "2024-01-02 03:04:05.123 [ERROR][123] felix/int_dataplane.go 123: "
    re.compile(r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?\s+\[\w+\]\[\d+\]\s+(?:[\w./-]+\s+\d+:\s*)?"),
    # ISO / RFC3339 timestamps, optionally followed by a level word
    re.compile(
        r"^\[?\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?\]?"
        r"(?:\s+(?:stdout|stderr)\s+[FP])?(?:\s+\[?(?:INFO|WARN(?:ING)?|ERROR|ERRO|FATAL|DEBUG)\]?)?\s*",
        re.IGNORECASE,
    ),
    # kubectl describe event row: "Warning  FailedCreatePodSandBox  3m (x12 over 10m)  kubelet  "
    re.compile(
        r"^(?:Warning|Normal)\s+(?P<reason>[A-Z]\w+)\s+(?:<unknown>|\d+[smhd]\w*(?:\s+\(x\d+ over \w+\))?)"
        r"\s+(?:[\w.-]+(?:,\s*[\w.-]+)?)\s{2,}"
    ),
]
_LOGFMT_MSG = re.compile(r'\b(?:msg|message|error|err)="((?:[^"\\]|\\.)*)"')
_LEVEL_ONLY = re.compile(r'\b(?:time|ts|level|lvl|subsys|caller|component)=("[^"]*"|\S+)\s*')

# ---- wrappers around the plugin's own message -------------------------------------------------
_WRAPPERS = [
    re.compile(r"Failed to create pod sandbox:\s*", re.I),
    re.compile(r"rpc error: code = \w+ desc = ", re.I),
    re.compile(r'failed to (?:setup|set up) network for sandbox "?[^":]*"?:\s*', re.I),
    re.compile(r'networkPlugin cni failed to (?:set up|setup|teardown) pod "[^"]*" network:\s*', re.I),
    re.compile(r'plugin type="[\w.-]+"(?: name="[^"]*")? failed \((?:add|delete|del|check)\):\s*', re.I),
    re.compile(r'error adding (?:pod|container) \S+ to CNI network "[^"]*":\s*', re.I),
    re.compile(r'"Error syncing pod, skipping" err=', re.I),
    re.compile(r'"(?:CreatePodSandbox|RunPodSandbox) for pod failed" err=', re.I),
    re.compile(r'"Failed to create sandbox for pod" err=', re.I),
    re.compile(r'failed to "(?:CreatePodSandbox|KillPodSandbox|SyncPod)" for "[^"]*" with \w+:\s*"?', re.I),
    re.compile(r'Failed to create sandbox for pod "[^"]*":\s*', re.I),
]
_ESCAPED_QUOTE = re.compile(r'\\+"')
_PLUGIN = re.compile(r'plugin type="([\w.-]+)"', re.I)

# ---- identifiers ------------------------------------------------------------------------------
_REPLACEMENTS: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), " "),
    (re.compile(r"\b[0-9a-f]{32,64}\b", re.I), " "),
    # keep a port: "10.0.0.3:179" says BGP even when the address says nothing
    (
        re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?:/\d{1,2})?(?::(\d+))?\b"),
        lambda m: f" port {m[1]} " if m[1] else " ",
    ),
    (re.compile(r"\b(?:[0-9a-f]{1,4}:){3,7}[0-9a-f]{0,4}(?:/\d{1,3})?", re.I), " "),
    (re.compile(r"\b(?:[0-9a-f]{2}:){5}[0-9a-f]{2}\b", re.I), " "),
    # pod name hashes: deployment "-7d9f8b6c5-x2x9z", daemonset "-x2x9z"
    (re.compile(r"(?<=[a-z0-9])-(?=[a-z0-9]{9,10}\b)(?=[a-z0-9]*\d)[a-z0-9]{9,10}-[a-z0-9]{5}\b"), ""),
    (re.compile(r"(?<=[a-z])-(?=[a-z0-9]{5}\b)(?=[a-z]*\d)[a-z0-9]{5}\b"), ""),
    (re.compile(r"\b0x[0-9a-f]+\b", re.I), " "),
]
_SPACES = re.compile(r"[ \t]+")


def strip_prefix(line: str) -> str:
    """One log line without its timestamp, level and source prefixes."""
    line = ANSI.sub("", line).strip()
    if line.startswith("{") and line.endswith("}"):
        line = _json_message(line)
    for pattern in _PREFIXES:
        m = pattern.match(line)
        if m:
            reason = m.groupdict().get("reason")
            line = (f"{reason} " if reason else "") + line[m.end() :]
    msgs = _LOGFMT_MSG.findall(line)
    if msgs and "=" in line.split(" ", 1)[0]:
        line = " ".join(m.replace('\\"', '"') for m in msgs)
    elif line.startswith(("time=", "ts=", "level=")):
        line = _LEVEL_ONLY.sub("", line)
    return line.strip()


def _json_message(line: str) -> str:
    try:
        data = json.loads(line)
    except ValueError:
        return line
    if not isinstance(data, dict):
        return line
    parts = [str(data[k]) for k in ("msg", "message", "error", "err", "reason") if isinstance(data.get(k), str)]
    return " ".join(parts) if parts else line


def unwrap(text: str) -> str:
    """Peel CRI and kubelet wrappers off an error, leaving the plugin's own message."""
    text = _ESCAPED_QUOTE.sub('"', text)
    previous = None
    while previous != text:
        previous = text
        for pattern in _WRAPPERS:
            m = pattern.search(text)
            if m and m.start() < 400:  # a wrapper sits near the front; deeper hits are the message itself
                text = text[: m.start()] + text[m.end() :]
    return text.strip().strip('"').replace("\\n", " ").strip()


def plugin_name(text: str) -> str | None:
    m = _PLUGIN.search(text)
    return m.group(1).lower() if m else None


def scrub_identifiers(text: str) -> str:
    for pattern, replacement in _REPLACEMENTS:
        text = pattern.sub(replacement, text)
    return _SPACES.sub(" ", text).strip()


def normalize(text: str) -> str:
    """The text that lexical and dense search see: prefixes, wrappers and identifiers removed."""
    lines = [strip_prefix(line) for line in fold_width(text).splitlines()]
    joined = " ".join(line for line in lines if line)
    return scrub_identifiers(unwrap(joined))
