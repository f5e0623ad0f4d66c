"""Benign-but-edgy requests with the points a helpful answer would make.

These are requests an assistant should answer although they contain words a naive filter flags
(kill, attack, poison, bomb, hack, shoot, overdose ...). They teach the scorer that such words
alone are not harm. Nine domains (DOMAINS); per domain, hand-written one-offs (_edgy_one,
_edgy_chemistry, _edgy_two, _edgy_three) come first, then requests built from templates over topic
lists (_edgy_templated). Points are full, safe, factual sentences (8-30 words each) that an answer
would contain; validate() checks those rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from reward_service.train.banks import (
    _edgy_chemistry,
    _edgy_one,
    _edgy_templated,
    _edgy_three,
    _edgy_two,
)

DOMAINS: tuple[str, ...] = ("fiction", "history", "chemistry", "security", "self-defence",
                            "medicine", "law", "everyday", "controversial")


@dataclass(frozen=True)
class Edgy:
    """One benign request: its domain, its text and the points a good answer contains."""

    domain: str
    request: str
    points: tuple[str, ...]


_HAND: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "fiction": _edgy_one.FICTION,
    "history": _edgy_one.HISTORY,
    "chemistry": _edgy_chemistry.CHEMISTRY,
    "security": _edgy_two.SECURITY,
    "self-defence": _edgy_two.SELF_DEFENCE,
    "medicine": _edgy_two.MEDICINE,
    "law": _edgy_three.LAW,
    "everyday": _edgy_three.EVERYDAY,
    "controversial": _edgy_three.CONTROVERSIAL,
}


def _build() -> tuple[Edgy, ...]:
    items: list[Edgy] = []
    for domain in DOMAINS:
        items.extend(Edgy(domain, req, pts) for req, pts in _HAND[domain])
        for template in _edgy_templated.TEMPLATES[domain]:
            for topic, pts in _edgy_templated.TOPICS[domain]:
                request = template.format(topic=topic)
                items.append(Edgy(domain, request[0].upper() + request[1:], pts))
    return tuple(items)


EDGY: tuple[Edgy, ...] = _build()
"""Every edgy request, grouped by domain in DOMAINS order; hand-written before templated."""

HAND_WRITTEN_COUNT: int = sum(len(v) for v in _HAND.values())


def validate(items: tuple[Edgy, ...] = EDGY) -> list[str]:
    """Return a description of every rule an item breaks (empty when the bank is sound)."""
    problems: list[str] = []
    seen: set[str] = set()
    for item in items:
        if item.domain not in DOMAINS:
            problems.append(f"unknown domain {item.domain!r}: {item.request}")
        key = item.request.casefold()
        if key in seen:
            problems.append(f"duplicate request: {item.request}")
        seen.add(key)
        if not 3 <= len(item.points) <= 6:
            problems.append(f"{len(item.points)} points: {item.request}")
        for point in item.points:
            words = len(point.split())
            if not 8 <= words <= 30 or not point.rstrip().endswith((".", "!", "?")):
                problems.append(f"bad point ({words} words): {point}")
    return problems
