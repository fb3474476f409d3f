"""Matches pasted text to runbooks: normalise, gather the three signals, fuse them into calibrated
scores, explain the winners, and abstain when the paste is not a pod-network problem."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from bot.domain.match import ErrorGroup, LookalikeMatch, MatchResult, RunbookMatch
from bot.knowledge.fusion import Calibration
from bot.knowledge.long_paste import error_lines, is_long
from bot.knowledge.normalize import normalize
from bot.knowledge.search import Owner, SearchIndex, Signals
from bot.knowledge.signatures import flatten
from bot.knowledge.tokens import CJK_RUN, STOPWORDS, tokenize

MIN_MATCHES = 3
SHOWN_MATCHES = 5
PASSAGE_CACHE = 4096  # passages whose words are kept for explanations (the shipped index has 2,363)
QUERY_ECHO_CHARS = 500
SHORTCUT_SCORE = 0.9  # measured: eval answers unchanged from 0.99, and half the embeddings skipped
SHORTCUT_SIGNATURE = 0.8
# A paste of one distinct word ("calico", "network", "show", "123") names no fault, yet the fusion, fitted
# on reports, answered such words at up to 0.99. One word in the real reports and the evaluation set:
# "lunch?", which abstains anyway. A known error string of one word (NetworkPluginNotReady) still counts.
MIN_WORDS = 2


class Embedder(Protocol):
    def embed(self, texts: list[str]) -> np.ndarray[Any, np.dtype[np.float32]]: ...


@dataclass(frozen=True)
class PassageRow:
    kind: str
    text: str
    search_text: str


PassageLookup = Callable[[Sequence[int]], dict[int, PassageRow]]


def search_text_of(text: str) -> str:
    return normalize(text) or flatten(text)


class Matcher:
    def __init__(
        self,
        index: SearchIndex,
        embedder: Embedder,
        calibration: Calibration,
        passages: PassageLookup,
        *,
        threshold: float,
        shortcut: Calibration | None = None,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.calibration = calibration
        self.shortcut = shortcut
        self.passages = passages
        self.threshold = threshold
        self.is_runbook = np.array([o.kind == "runbook" for o in index.owners])
        self.runbook_ids = frozenset(o.id for o in index.owners if o.kind == "runbook")
        # passage rows no query may see: cross-validation hides the real reports of the fold it measures
        self.hidden: set[int] = set()
        # a passage's distinct words, in order, by row: explanations read the same few passages again
        self._passage_words: dict[int, list[str]] = {}

    # ---- scoring -------------------------------------------------------------------------------
    def _score(self, raws: Sequence[str]) -> list[tuple[Signals, np.ndarray[Any, np.dtype[np.float64]]]]:
        """Calibrated scores per owner. A paste that a strong signature and its words already settle
        (the signatures+lexical model at >= SHORTCUT_SCORE) skips the embedding, which is most of the
        time a match takes on two cores; every other paste gets all three signals."""
        texts = [search_text_of(r) for r in raws]
        hidden = [self.hidden] * len(raws) if self.hidden else None
        signals = self.index.signals(raws, texts, None, hidden)
        scored: dict[int, np.ndarray[Any, np.dtype[np.float64]]] = {}
        if self.shortcut is not None:
            for i, s in enumerate(signals):
                scores = self.shortcut.score(s.features())
                top = int(np.argmax(scores))
                if scores[top] >= SHORTCUT_SCORE and s.sig[top] >= SHORTCUT_SIGNATURE:
                    scored[i] = scores
        rest = [i for i in range(len(raws)) if i not in scored]
        if rest:
            # signatures and BM25 are already done; only the embedding is added
            vectors = self.embedder.embed([texts[i] for i in rest])
            self.index.add_dense(
                [signals[i] for i in rest], vectors, [self.hidden] * len(rest) if self.hidden else None
            )
            for i in rest:
                s = signals[i]
                scored[i] = self.calibration.score(s.features())
        return [(signals[i], scored[i]) for i in range(len(raws))]

    def match(self, text: str) -> MatchResult:
        return self.match_many([text])[0]

    def _faults(self, text: str) -> set[str]:
        """The runbooks that a line of a several-line paste names by a strong signature, one per line."""
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) < 2:
            return set()
        faults = set()
        for line in lines:
            hits = self.index.signatures.best(line)
            strong = [h for h in hits.values() if h.weight >= SHORTCUT_SIGNATURE and h.runbook_id in self.runbook_ids]
            if strong:
                faults.add(max(strong, key=lambda h: h.weight).runbook_id)
        return faults

    def match_many(self, texts: Sequence[str]) -> list[MatchResult]:
        """Many pastes, the short ones scored together (one embedding call). A short paste whose lines carry
        strong signatures of different runbooks (an IPAM error and a missing plugin, say) is answered per
        fault, like a long one; one fault stays one answer."""
        faults = {i: self._faults(t) for i, t in enumerate(texts) if not is_long(t)}
        short = [i for i, f in faults.items() if len(f) <= 1]
        results: dict[int, MatchResult] = {}
        for i, (signals, scores) in zip(short, self._score([texts[i] for i in short]), strict=True):
            results[i] = self._result(texts[i], signals, scores)
            if not results[i].confident and len(faults[i]) == 1:
                # prose around one strong error line can drown it: answer that line as a fault of its own
                per_line = self._match_long(texts[i])
                if per_line.confident:
                    results[i] = per_line
        for i, t in enumerate(texts):
            if i not in results:
                results[i] = self._match_long(t)
        return [results[i] for i in range(len(texts))]

    def _match_short(self, text: str) -> MatchResult:
        signals, scores = self._score([text])[0]
        return self._result(text, signals, scores)

    def _result(self, text: str, signals: Signals, scores: np.ndarray[Any, np.dtype[np.float64]]) -> MatchResult:
        owners = self.index.owners
        order = np.argsort(-scores, kind="stable")
        top = int(order[0])
        ranked = [int(i) for i in order if self.is_runbook[i]][: max(MIN_MATCHES, SHOWN_MATCHES)]
        explain = self._explainer(signals, text)
        matches = tuple(
            RunbookMatch(
                runbook=owners[i].id,
                title=owners[i].title,
                score=float(scores[i]),
                why=explain(i),
                path=owners[i].path,
                first_steps=owners[i].first_steps,
            )
            for i in ranked
        )
        lookalike = None
        if not self.is_runbook[top]:
            o = owners[top]
            lookalike = LookalikeMatch(o.id, o.title, o.hint, float(scores[top]))
        confident = lookalike is None and float(scores[top]) >= self.threshold and _names_a_fault(signals)
        return MatchResult(query=_echo(text), confident=confident, matches=matches, lookalike=lookalike)

    # ---- explanations --------------------------------------------------------------------------
    def _explainer(self, signals: Signals, query: str = "") -> Callable[[int], str]:
        """Why an owner ranks where it does, in words a person reads: which phrase of the paste is a known
        error and who prints it, which passage of the runbook it reads like, which words they share."""
        query_tokens = set(signals.tokens)
        spelled = _spellings(query)
        cache: dict[int, PassageRow] = {}

        def texts_of(rows: list[int | None]) -> dict[int, PassageRow]:
            wanted = [r for r in rows if r is not None and r not in cache]
            cache.update(self.passages(wanted))
            return cache

        def explain(owner_index: int) -> str:
            owner: Owner = self.index.owners[owner_index]
            parts = []
            hit = signals.sig_hits.get(owner.id)
            if hit is not None:
                parts.append(f'"{_clip(hit.matched, 120)}" is a known error{_printed_by(hit.signature.source)}')
            dense_row, lex_row = signals.dense_row(owner_index), signals.lex_row(owner_index)
            texts = texts_of([dense_row, lex_row])
            if dense_row is not None and dense_row in texts:
                row = texts[dense_row]
                kind = row.kind.split(":", 1)[-1].replace("_", " ")
                parts.append(
                    f'reads like the runbook\'s {kind} "{_clip(row.text, 110)}" '
                    f"(similarity {signals.dense[owner_index]:.2f})"
                )
            if lex_row is not None and lex_row in texts:
                common = [
                    t for t in self._words_of(lex_row, texts[lex_row]) if t in query_tokens and t not in STOPWORDS
                ]
                shared = [spelled[t] for t in common if t in spelled] + _cjk_phrases(query, set(common))
                if shared:
                    parts.append("shares the words " + ", ".join(shared[:8]))
            return "; ".join(parts) or "weak overall similarity only"

        return explain

    def _words_of(self, row: int, passage: PassageRow) -> list[str]:
        words = self._passage_words.get(row)
        if words is None:
            if len(self._passage_words) >= PASSAGE_CACHE:
                self._passage_words.clear()
            words = self._passage_words[row] = list(dict.fromkeys(tokenize(passage.search_text)))
        return words

    # ---- long pastes ---------------------------------------------------------------------------
    def _match_long(self, text: str) -> MatchResult:
        lines, scanned = error_lines(text, self.index.signatures)
        if not lines:
            result = self._match_short(text[-4000:])
            return MatchResult(
                query=_echo(text),
                confident=result.confident,
                matches=result.matches,
                lookalike=result.lookalike,
                lines_scanned=scanned,
            )
        scored = self._score(lines)
        n = len(self.index.owners)
        best = np.zeros(n)
        best_line: dict[int, int] = {}
        groups: dict[int, list[int]] = {}
        for line_no, (_, scores) in enumerate(scored):
            for o in range(n):
                if scores[o] > best[o]:
                    best[o] = scores[o]
                    best_line[o] = line_no
            top = int(np.argmax(scores))
            if self.is_runbook[top] and scores[top] >= self.threshold:
                groups.setdefault(top, []).append(line_no)
        order = [int(i) for i in np.argsort(-best, kind="stable") if self.is_runbook[i]]
        matches = []
        for o in order[: max(MIN_MATCHES, SHOWN_MATCHES)]:
            line_no = best_line.get(o, 0)
            signals, _ = scored[line_no]
            why = f'line "{_clip(lines[line_no], 100)}": {self._explainer(signals, lines[line_no])(o)}'
            owner = self.index.owners[o]
            matches.append(RunbookMatch(owner.id, owner.title, float(best[o]), why, owner.path, owner.first_steps))
        error_groups = tuple(
            ErrorGroup(
                runbook=self.index.owners[o].id,
                title=self.index.owners[o].title,
                score=float(best[o]),
                lines=tuple(_clip(lines[i], 200) for i in members[:3]),
                count=len(members),
            )
            for o, members in sorted(groups.items(), key=lambda kv: (-best[kv[0]], -len(kv[1])))
        )
        lookalike = None
        top_any = int(np.argmax(best))
        if not groups and not self.is_runbook[top_any]:
            owner = self.index.owners[top_any]
            lookalike = LookalikeMatch(owner.id, owner.title, owner.hint, float(best[top_any]))
        if error_groups:
            # the answer leads with the strongest group, whatever its rank by raw score
            lead = error_groups[0].runbook
            matches.sort(key=lambda m: (m.runbook != lead, -m.score))
        return MatchResult(
            query=_echo(text),
            confident=bool(groups),
            matches=tuple(matches),
            lookalike=lookalike,
            groups=error_groups,
            lines_scanned=scanned,
        )


_WHOLE_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


def _names_a_fault(signals: Signals) -> bool:
    """Enough of a paste to answer: two distinct words, or a strong known error string."""
    strong = any(hit.weight >= SHORTCUT_SIGNATURE for hit in signals.sig_hits.values())
    return strong or len(set(signals.tokens)) >= MIN_WORDS


def _spellings(query: str) -> dict[str, str]:
    """Lower-case token -> the word as the paste spells it; only whole words, so a camelCase part
    ("sand" of "SandBox") is never shown as a word the user wrote. Chinese is shown by _cjk_phrases."""
    spelled: dict[str, str] = {}
    for word in _WHOLE_WORD.findall(query):
        spelled.setdefault(word.lower(), word)
    return spelled


def _cjk_phrases(query: str, shared: set[str]) -> list[str]:
    """The stretches of the paste's Chinese that a passage shares, as the paste writes them: search sees
    character pairs ("节点", "点上"), a reader wants the phrase ("节点上")."""
    phrases: list[str] = []
    for run in CJK_RUN.findall(query):
        start = None
        for i in range(len(run)):
            inside = i + 1 < len(run) and run[i : i + 2] in shared
            if inside and start is None:
                start = i
            elif not inside and start is not None:
                phrases.append(run[start : i + 1])
                start = None
    return list(dict.fromkeys(phrases))


_PEOPLE = frozenset({"operator", "user", "application", "browser"})
_TOOLS = frozenset({"kubectl", "calicoctl", "tcpdump", "ping", "curl", "cilium", "ip", "iptables", "dmesg"})


def _printed_by(source: str) -> str:
    """A signature's source as a phrase: "projectcalico/calico:libcalico-go/lib/ipam/ipam.go" reads
    "in Calico's code (libcalico-go/lib/ipam/ipam.go)", "kubelet" reads "printed by kubelet"."""
    if not source:
        return ""
    if source in _PEOPLE:
        return " (how people describe this fault)"
    if source.split()[0] in _TOOLS:
        return f" (seen in `{source}` output)"
    repo, _, path = source.partition(":")
    if "/" in repo and path:
        return f" in {repo.split('/')[-1]}'s code ({path})"
    return f" printed by {source}"


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _echo(text: str) -> str:
    return text if len(text) <= QUERY_ECHO_CHARS else text[:QUERY_ECHO_CHARS] + f"… [{len(text)} chars]"
