"""`cnibot console`: a local chat loop. Each paste is answered; a few words are commands."""

from __future__ import annotations

import select
from collections.abc import Iterator
from typing import TextIO

from rich.console import Console

from bot.config import Settings
from bot.domain.errors import UsageError
from bot.domain.runbook import Runbook
from bot.knowledge.index_load import open_matcher
from bot.knowledge.loader import load_runbooks
from bot.knowledge.matcher import Matcher
from bot.knowledge.paste import check_text

HELP = """Paste an error (a kubelet event, a CNI log line, or a sentence) and press Enter.
Commands: list | show ID | help | quit"""

# Pasted text arrives in one burst; lines that follow within this window belong to the same paste.
PASTE_WINDOW_SECONDS = 0.05


def read_pastes(stream: TextIO, *, interactive: bool) -> Iterator[str]:
    """Split input into pastes.

    At a terminal a paste is everything that arrives in one burst. From a pipe or file, pastes are
    separated by blank lines, so a whole log can be piped in as one paste."""
    if interactive:
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
            text = "".join(lines).strip()
            if text:
                yield text
        return
    block: list[str] = []
    for line in stream:
        if line.strip():
            block.append(line)
        elif block:
            yield "".join(block).strip()
            block = []
    if block:
        yield "".join(block).strip()


class ConsoleSession:
    """Answers one input at a time; knows nothing about where input comes from."""

    def __init__(self, runbooks: list[Runbook], matcher: Matcher, out: Console) -> None:
        self.runbooks = {rb.id: rb for rb in runbooks}
        self.matcher = matcher
        self.out = out

    def answer(self, text: str) -> bool:
        """Handle one input; returns False when the user asked to leave."""
        from bot import terminal

        words = text.split()
        command = words[0].lower() if words else ""
        if command in {"quit", "exit"} and len(words) == 1:
            return False
        if command == "help" and len(words) == 1:
            self.out.print(HELP)
        elif command == "list" and len(words) == 1:
            self.out.print(terminal.runbook_table(list(self.runbooks.values())))
        elif command == "show" and len(words) == 2:
            rb = self.runbooks.get(words[1])
            if rb is None:
                self.out.print(f"No runbook {words[1]!r}. Type `list` to see the ids.")
            else:
                self.out.print(terminal.render_runbook(rb))
        else:
            try:
                check_text(text, what="the paste")
            except UsageError as exc:
                self.out.print(str(exc))
                return True
            self.out.print(terminal.render_match(self.matcher.match(text)))
        return True


def run_console(settings: Settings, stream: TextIO, out: Console) -> int:
    runbooks = load_runbooks(settings.knowledge.runbooks_dir)
    matcher = open_matcher(settings.knowledge)
    interactive = stream.isatty()
    if interactive:
        out.print(f"cnibot console: {len(runbooks)} runbooks loaded. {HELP}")
    session = ConsoleSession(runbooks, matcher, out)
    for paste in read_pastes(stream, interactive=interactive):
        if not session.answer(paste):
            break
    return 0
