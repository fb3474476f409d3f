"""Label and field selectors as the apiserver parses them, matched against plain string maps."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass


class SelectorError(ValueError):
    """A selector the apiserver would refuse with 400 BadRequest."""


_KEY = r"[A-Za-z0-9](?:[-A-Za-z0-9_./]*[A-Za-z0-9])?"
_VALUE = r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
_EXISTS = re.compile(rf"^\s*(!?)\s*({_KEY})\s*$")
_SET = re.compile(rf"^\s*({_KEY})\s+(in|notin)\s*\(([^()]*)\)\s*$")
_COMPARE = re.compile(rf"^\s*({_KEY})\s*(==|=|!=|>|<)\s*({_VALUE})\s*$")
_VALUE_ONLY = re.compile(rf"^{_VALUE}$")


@dataclass(frozen=True)
class Requirement:
    """One clause of a label selector; `op` is one of = != in notin exists !exists > <."""

    key: str
    op: str
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        value = labels.get(self.key)
        if self.op == "exists":
            return value is not None
        if self.op == "!exists":
            return value is None
        if self.op in ("=", "in"):
            return value is not None and value in self.values
        if self.op in ("!=", "notin"):
            return value is None or value not in self.values
        # > and <: both sides must be integers, as in apimachinery's labels package
        if value is None:
            return False
        try:
            have, want = int(value), int(next(iter(self.values)))
        except ValueError:
            return False
        return have > want if self.op == ">" else have < want


@dataclass(frozen=True)
class LabelSelector:
    requirements: tuple[Requirement, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.requirements

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(r.matches(labels) for r in self.requirements)


def _split_top_level(text: str) -> list[str]:
    """Splits on commas that are not inside a set's parentheses."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def parse_label_selector(text: str) -> LabelSelector:
    if not text.strip():
        return LabelSelector()
    requirements: list[Requirement] = []
    for part in _split_top_level(text):
        if m := _SET.match(part):
            values = [v.strip() for v in m.group(3).split(",")]
            if not all(_VALUE_ONLY.match(v) for v in values) or values == [""]:
                raise SelectorError(f"unable to parse requirement: invalid values in {part.strip()!r}")
            requirements.append(Requirement(m.group(1), m.group(2), frozenset(values)))
        elif m := _COMPARE.match(part):
            op = "=" if m.group(2) == "==" else m.group(2)
            if op in "<>" and not re.fullmatch(r"-?\d+", m.group(3)):
                raise SelectorError(f"unable to parse requirement: {m.group(3)!r} is not an integer")
            requirements.append(Requirement(m.group(1), op, frozenset({m.group(3)})))
        elif m := _EXISTS.match(part):
            requirements.append(Requirement(m.group(2), "!exists" if m.group(1) else "exists"))
        else:
            raise SelectorError(f"unable to parse requirement: found {part.strip()!r}")
    return LabelSelector(tuple(requirements))


@dataclass(frozen=True)
class FieldTerm:
    field: str
    negated: bool
    value: str


@dataclass(frozen=True)
class FieldSelector:
    terms: tuple[FieldTerm, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.terms

    def equalities(self) -> dict[str, str]:
        """The `field=value` terms, which collections may answer from an index."""
        return {t.field: t.value for t in self.terms if not t.negated}

    def matches(self, fields: Mapping[str, str]) -> bool:
        return all((fields.get(t.field, "") == t.value) != t.negated for t in self.terms)


def parse_field_selector(text: str, supported: frozenset[str]) -> FieldSelector:
    if not text.strip():
        return FieldSelector()
    terms: list[FieldTerm] = []
    for part in text.split(","):
        for op in ("!=", "==", "="):
            if op in part:
                field, value = part.split(op, 1)
                break
        else:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
        field = field.strip()
        if field not in supported:
            raise SelectorError(f"field label not supported: {field}")
        terms.append(FieldTerm(field, op == "!=", value.strip()))
    return FieldSelector(tuple(terms))
