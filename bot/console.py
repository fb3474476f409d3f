"""`cnibot console`: a local chat loop. Reads input, hands each message to the conversation service and
renders its reply; what to answer is decided in `bot.services`, not here."""

from __future__ import annotations

import select
from collections.abc import Iterable, Iterator
from typing import TextIO

from rich.console import Console

from bot import terminal
from bot.services.conversation import HELP, REMEDIATION_COMMANDS, QuitReply, is_command_attempt, split_identity
from bot.wiring import App

# Pasted text arrives in one burst; lines that follow within this window belong to the same paste.
PASTE_WINDOW_SECONDS = 0.05


def split_messages(lines: Iterable[str]) -> Iterator[str]:
    """Group lines into messages: a line that is a command (or a mistyped one) is a message of its own;
    other lines join into one paste until a blank line or a command."""
    block: list[str] = []
    for line in lines:
        if is_command_attempt(line):
            if block:
                yield "".join(block).strip()
                block = []
            yield line.strip()
        elif line.strip():
            block.append(line)
        elif block:
            yield "".join(block).strip()
            block = []
    if block:
        yield "".join(block).strip()


def _bursts(stream: TextIO) -> Iterator[list[str]]:
    """At a terminal: the lines of each burst of input (one paste arrives in one burst)."""
    while True:
        line = stream.readline()
        if not line:
            return
        lines = [line]
        while select.select([stream], [], [], PASTE_WINDOW_SECONDS)[0]:
            more = stream.readline()
            if not more:
                break
            lines.append(more)
        yield lines


def read_messages(stream: TextIO, *, interactive: bool) -> Iterator[str]:
    """At a terminal a paste is everything that arrives in one burst; from a pipe or file, pastes are
    separated by blank lines, so a whole log can be piped in as one paste. Either way a command line
    runs on its own."""
    if interactive:
        for burst in _bursts(stream):
            yield from split_messages([*burst, "\n"])
        return
    yield from split_messages(stream)


def _who(message: str, stream: TextIO, out: Console, *, interactive: bool) -> str:
    """For a remediation command without `as USER`, ask at a terminal who is acting (the policy needs a
    requester and distinct approvers); from a pipe the command must say it."""
    words = message.split()
    if not interactive or not words or words[0].lower() not in REMEDIATION_COMMANDS:
        return ""
    if split_identity(words[1:])[1]:
        return ""
    role = "approves" if words[0].lower() == "approve" else "rejects" if words[0].lower() == "reject" else "asks"
    out.print(f"Who {role}? (a user id, as in CNIBOT_APPROVERS): ", end="")
    return stream.readline().strip()


def run_console(app: App, stream: TextIO, out: Console) -> int:
    interactive = stream.isatty()
    scenario = app.uses_simulated_cluster()
    if scenario and app.choice.sim_if_no_kubeconfig:
        out.print(
            f"No kubeconfig found: probes run against a SIMULATED cluster (scenario '{scenario}'); "
            "set KUBECONFIG for a real one, CNIBOT_SIM_SCENARIO for another scenario.",
            style="bold yellow",
        )
    app.matcher  # noqa: B018 - load (or rebuild) the index now, not at the first paste
    if interactive:
        out.print(f"cnibot console: {len(app.runbooks)} runbooks loaded. {HELP}")
    conversation = app.conversation
    for message in read_messages(stream, interactive=interactive):
        reply = conversation.reply(message, user=_who(message, stream, out, interactive=interactive))
        if isinstance(reply, QuitReply):
            break
        out.print(terminal.render_reply(reply))
    return 0
