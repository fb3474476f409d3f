"""`cnibot console`: a local chat loop. Each paste is answered; a few words are commands."""

from __future__ import annotations

import select
from collections.abc import Callable, Iterator
from typing import TextIO

from rich.console import Console

from bot.cluster.session import ClusterSession, open_cluster
from bot.config import Settings
from bot.domain.errors import CnibotError, UsageError
from bot.domain.runbook import Runbook
from bot.knowledge.index_load import open_matcher
from bot.knowledge.loader import load_runbooks
from bot.knowledge.matcher import Matcher
from bot.knowledge.paste import check_text

HELP = """Paste an error (a kubelet event, a CNI log line, or a sentence) and press Enter.
Commands: list | show ID | probe list | probe ID | probe all | probe for RUNBOOK_ID | help | quit"""

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

    def __init__(
        self,
        runbooks: list[Runbook],
        matcher: Matcher,
        out: Console,
        *,
        cluster: Callable[[], ClusterSession] | None = None,
    ) -> None:
        self.runbooks = {rb.id: rb for rb in runbooks}
        self.matcher = matcher
        self.out = out
        self._open_cluster = cluster
        self._cluster: ClusterSession | None = None

    def close(self) -> None:
        if self._cluster is not None:
            self._cluster.close()

    def _probe(self, words: list[str]) -> None:
        from bot import terminal
        from bot.probes import service
        from bot.probes.catalog import PROBES

        if words == ["list"]:
            self.out.print(terminal.render_probe_list(PROBES))
            return
        try:
            if len(words) == 2 and words[0] == "for":
                ids = service.probes_of_runbook(words[1], list(self.runbooks.values()))
            elif len(words) == 1:
                ids = service.probe_ids_for(words[0])
            else:
                raise UsageError("usage: probe list | probe ID | probe all | probe for RUNBOOK_ID")
            if self._cluster is None:
                if self._open_cluster is None:
                    raise UsageError("no cluster is configured for this console")
                self._cluster = self._open_cluster()
                style = "bold yellow" if self._cluster.simulated else "dim"
                self.out.print(f"cluster: {self._cluster.description}", style=style)
            namer = service.runbook_namer(self.matcher.match_many)
            results = service.run(ids, self._cluster.reader, runbook_for=namer)
        except CnibotError as exc:
            self.out.print(f"error: {exc}", style="red")
            return
        for result in results:
            self.out.print(terminal.render_probe(result))

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
        elif command == "probe" and len(words) >= 2:
            self._probe(words[1:])
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
            result = self.matcher.match(text)
            self.out.print(terminal.render_match(result))
            best = result.best
            if result.confident and best is not None and best.runbook in self.runbooks:
                probes = self.runbooks[best.runbook].probe_ids
                if probes:
                    self.out.print(
                        f"Probes for this runbook: {', '.join(probes)}. "
                        f"Type `probe for {best.runbook}` to run them (read-only).",
                        style="cyan",
                    )
        return True


def run_console(settings: Settings, stream: TextIO, out: Console) -> int:
    runbooks = load_runbooks(settings.knowledge.runbooks_dir)
    matcher = open_matcher(settings.knowledge)
    interactive = stream.isatty()
    if interactive:
        out.print(f"cnibot console: {len(runbooks)} runbooks loaded. {HELP}")
    cluster_settings = settings.cluster

    def cluster() -> ClusterSession:
        return open_cluster(cluster_settings, fallback_scenario=cluster_settings.simulated_scenario)

    session = ConsoleSession(runbooks, matcher, out, cluster=cluster)
    try:
        for paste in read_pastes(stream, interactive=interactive):
            if not session.answer(paste):
                break
    finally:
        session.close()
    return 0
