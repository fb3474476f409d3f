"""Tokenisation for lexical search, shared by index build and query so the two always agree."""

from __future__ import annotations

import itertools
import re

_WORD = re.compile(r"[a-z][a-z0-9_]*|\d{3,}")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_RAW_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_CAMEL_EDGE = re.compile(r"[a-z][A-Z]")

# Words that carry no meaning for telling one CNI fault from another.
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "has",
        "have",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "so",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "this",
        "to",
        "was",
        "we",
        "were",
        "will",
        "with",
        "our",
        "my",
        "me",
        "you",
        "your",
        "can",
        "can't",
        "cant",
        "not",
        "no",
        "pod",
        "pods",
        "node",
        "nodes",
        "kube",
        "system",
        "default",
        "io",
        "k8s",
    ]
)
# "no" and "not" are stopwords alone but carry meaning in these phrases, so they are kept as bigrams.
_KEEP_BIGRAMS = frozenset({("no", "route"), ("no", "ips"), ("not", "ready"), ("no", "available")})


def tokenize(text: str) -> list[str]:
    """Lower-case words (camelCase also split), numbers of 3+ digits, and CJK character bigrams."""
    tokens: list[str] = []
    for word in _RAW_WORD.findall(text):
        if _CAMEL_EDGE.search(word):  # FailedCreatePodSandBox, but not IPs or MTU
            tokens.extend(p.lower() for p in _CAMEL.findall(word) if len(p) > 1)
    lowered = text.lower()
    words = _WORD.findall(lowered)
    for first, second in itertools.pairwise(words):
        if (first, second) in _KEEP_BIGRAMS:
            tokens.append(f"{first}_{second}")
    tokens.extend(w for w in words if w not in STOPWORDS and len(w) > 1)
    for run in CJK_RUN.findall(text):
        if len(run) == 1:
            tokens.append(run)
        tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
    return tokens
