"""A chat conversation, whatever carries it (the console today, Slack mentions next): each message is a
command or a paste, and each gets one reply object for the front end to render."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.domain.errors import CnibotError
from bot.domain.probe import ProbeReport
from bot.domain.runbook import Runbook
from bot.probes.descriptions import PROBE_DESCRIPTIONS
from bot.probes.registry import ALIASES
from bot.services.answers import Answer, Answering

if TYPE_CHECKING:
    from bot.services.probing import Probing

HELP = """Paste an error (a kubelet event, a CNI log line, or a sentence) and press Enter.
Commands: list | show ID | probe list | probe ID | probe all | probe for RUNBOOK_ID | help | quit"""

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
class ErrorReply:
    message: str


@dataclass(frozen=True)
class QuitReply:
    pass


Reply = HelpReply | RunbookListReply | RunbookReply | ProbeListReply | ProbeReply | AnswerReply | ErrorReply | QuitReply


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
    if head == "probe":
        if n == 2:
            return words[1] in PROBE_TARGETS
        return n == 3 and words[1] == "for" and bool(RUNBOOK_ID.match(words[2]))
    return False


class Conversation:
    def __init__(self, *, answering: Answering, probing: Probing) -> None:
        self.answering = answering
        self.probing = probing

    def reply(self, text: str) -> Reply:
        try:
            return self._reply(text)
        except CnibotError as exc:
            return ErrorReply(str(exc))

    def _reply(self, text: str) -> Reply:
        if not is_command(text):
            return AnswerReply(self.answering.answer(text))
        words = text.split()
        head = words[0].lower()
        if head in ("quit", "exit"):
            return QuitReply()
        if head == "help":
            return HelpReply(HELP)
        if head == "list":
            return RunbookListReply(tuple(self.answering.runbooks()))
        if head == "show":
            return RunbookReply(self.answering.runbook(words[1]))
        if words[1] == "list":
            return ProbeListReply(PROBE_DESCRIPTIONS)
        ids = self.probing.ids_for(words[1], words[2] if len(words) > 2 else None)
        return ProbeReply(self.probing.run(ids))
