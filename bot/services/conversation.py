"""A chat conversation, whatever carries it (the console today, Slack mentions next): each message is a
command or a paste, and each gets one reply object for the front end to render."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.domain.errors import CnibotError
from bot.domain.probe import ProbeReport
from bot.domain.runbook import Runbook
from bot.probes.descriptions import PROBE_DESCRIPTIONS
from bot.probes.registry import ALIASES
from bot.services.answers import Answer, Answering

if TYPE_CHECKING:
    from bot.reporting.ipam import IpamReportView
    from bot.services.probing import Probing
    from bot.services.remediation import ProposalView, Remediation
    from bot.services.reports import Reports

HELP = """Paste an error (a kubelet event, a CNI log line, or a sentence) and press Enter.
Commands: list | show ID | probe list | probe ID | probe all | probe for RUNBOOK_ID | report ipam | help | quit
Remediation: fix ACTION [key=value ...] [as USER] | approve PROPOSAL [as USER] | reject PROPOSAL [as USER]"""
REMEDIATION_COMMANDS = ("fix", "approve", "reject")

RUNBOOK_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
PROBE_TARGETS = {"list", "all", *PROBE_DESCRIPTIONS, *ALIASES}


@dataclass(frozen=True)
class HelpReply:
    text: str


@dataclass(frozen=True)
class RunbookListReply:
    runbooks: tuple[Runbook, ...]


@dataclass(frozen=True)
class RunbookReply:
    runbook: Runbook


@dataclass(frozen=True)
class ProbeListReply:
    probes: dict[str, str]


@dataclass(frozen=True)
class ProbeReply:
    report: ProbeReport


@dataclass(frozen=True)
class AnswerReply:
    answer: Answer


@dataclass(frozen=True)
class ProposalReply:
    view: ProposalView
    refused: str = ""  # this step changed nothing: why (shown instead of a state change)


@dataclass(frozen=True)
class ReportReply:
    view: IpamReportView
    timezone: str = "UTC"


@dataclass(frozen=True)
class ErrorReply:
    message: str


@dataclass(frozen=True)
class QuitReply:
    pass


Reply = (
    HelpReply
    | RunbookListReply
    | RunbookReply
    | ProbeListReply
    | ProbeReply
    | AnswerReply
    | ProposalReply
    | ReportReply
    | ErrorReply
    | QuitReply
)


def split_identity(words: list[str]) -> tuple[list[str], str]:
    """`... as USER` at the end of a remediation command: the words before it, and USER ("" if absent)."""
    if len(words) >= 2 and words[-2].lower() == "as":
        return words[:-2], words[-1]
    return words, ""


def is_command(line: str) -> bool:
    """Is this line a command? Only exact command shapes count, so an error line that happens to start
    with "list" or "probe" is still matched as a paste."""
    words = line.split()
    if not words:
        return False
    head, n = words[0].lower(), len(words)
    if head in ("help", "quit", "exit", "list"):
        return n == 1
    if head == "show":
        return n == 2 and bool(RUNBOOK_ID.match(words[1]))
    if head == "report":
        return n == 2 and words[1] == "ipam"
    if head == "probe":
        if n == 2:
            return words[1] in PROBE_TARGETS
        return n == 3 and words[1] == "for" and bool(RUNBOOK_ID.match(words[2]))
    if head in REMEDIATION_COMMANDS:
        rest, _ = split_identity(words[1:])
        if head == "fix":
            return bool(rest) and bool(RUNBOOK_ID.match(rest[0])) and all("=" in w for w in rest[1:])
        return len(rest) == 1 and rest[0].startswith("p-")
    return False


# A word of a command: ids, key=value parameters, user ids; a colon, quote or bracket means a log line
_COMMAND_WORD = re.compile(r"^[\w.\-/=@,]+$")
_COMMANDS_WITH_ARGUMENTS = ("show", "report", "probe", *REMEDIATION_COMMANDS)


def is_command_attempt(line: str) -> bool:
    """A command, or a short line shaped like one that names something that does not exist (`probe
    ipam.usag`, `show Ipam-Exhausted`, `approve 12`): it gets the command's own error, with a likely
    fix, instead of being matched as a paste, where `probe ipam.usag` read as a crash-looping CNI agent
    at 0.69. Up to two plain words after the command (plus `as USER`; `fix` takes any key=value)."""
    if is_command(line):
        return True
    words = line.split()
    if not words or words[0].lower() not in _COMMANDS_WITH_ARGUMENTS:
        return False
    rest, _ = split_identity(words[1:])
    if not rest or not all(_COMMAND_WORD.match(w) for w in words[1:]):
        return False
    if words[0].lower() == "fix":
        return all("=" in w for w in rest[1:])
    return len(rest) <= 2


class Conversation:
    def __init__(
        self,
        *,
        answering: Answering,
        probing: Probing,
        remediation: Callable[[], Remediation] | None = None,
        reports: Callable[[], Reports] | None = None,
    ) -> None:
        self.answering = answering
        self.probing = probing
        self.remediation = remediation
        self.reports = reports

    def reply(self, text: str, *, user: str = "") -> Reply:
        """`user` is who is typing, for remediation commands that do not say `as USER`."""
        try:
            return self._reply(text, user)
        except CnibotError as exc:
            return ErrorReply(str(exc))

    def _remediate(self, head: str, words: list[str], user: str) -> Reply:
        from bot.services.plans import parse_parameters

        rest, named = split_identity(words)
        who = named or user
        if not who:
            return ErrorReply(f"say who you are: `{head} {' '.join(rest)} as USER`")
        if self.remediation is None:
            return ErrorReply("remediation is not available here")
        remediation = self.remediation()
        if head == "fix":
            return ProposalReply(remediation.propose(rest[0], parse_parameters(rest[1:]), requester=who))
        if head == "approve":
            outcome, view = remediation.approve(rest[0], user=who)
        else:
            outcome, view = remediation.reject(rest[0], user=who)
        return ProposalReply(view, "" if outcome.changed else outcome.message)

    def _reply(self, text: str, user: str) -> Reply:
        if not is_command_attempt(text):
            return AnswerReply(self.answering.answer(text))
        words = text.split()
        head = words[0].lower()
        if head in REMEDIATION_COMMANDS:
            return self._remediate(head, words[1:], user)
        if head in ("quit", "exit"):
            return QuitReply()
        if head == "help":
            return HelpReply(HELP)
        if head == "list":
            return RunbookListReply(tuple(self.answering.runbooks()))
        if head == "show":
            return RunbookReply(self.answering.runbook(words[1]))
        if head == "report":
            if words[1:] != ["ipam"]:
                return ErrorReply(f"no report {' '.join(words[1:])!r}; `report ipam` is the one there is")
            if self.reports is None:
                return ErrorReply("reports are not available here")
            reports = self.reports()
            return ReportReply(reports.take(reports.target()), reports.settings.timezone)
        if words[1] == "list":
            return ProbeListReply(PROBE_DESCRIPTIONS)
        ids = self.probing.ids_for(words[1], words[2] if len(words) > 2 else None)
        return ProbeReply(self.probing.run(ids))
