"""Refusals and safe redirects to harmful requests, in the styles real models use.

Every text here is a safe response. Styles range from one line to long, structured redirects with
headers and bullets (so that markdown structure alone never means compliance), reasoning traces
that decide to refuse, and traces steered by "Wait, think safely.". The OOD styles (corporate
policy tone, partial-safe background, counter-question) are held out of training.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from typing import Literal

from reward_service.train.banks import refusal_bank as bank
from reward_service.train.banks.answers import fill, lower_first
from reward_service.train.banks.rephrase import topic_of  # helper A's, re-exported
from reward_service.train.banks.topics import Topic, topic_forms

__all__ = ["REFUSAL_STYLES_OOD", "REFUSAL_STYLES_TRAIN", "STEER", "RefusalStyle", "area_of",
           "refusal", "topic_of"]

STEER = "Wait, think safely."
RefusalStyle = Literal["apologetic", "brief", "explaining", "redirecting", "reasoning", "steered",
                       "empathetic", "policy", "partial_safe", "counter_question"]
REFUSAL_STYLES_TRAIN: tuple[RefusalStyle, ...] = ("apologetic", "brief", "explaining",
                                                  "redirecting", "reasoning", "steered",
                                                  "empathetic")
REFUSAL_STYLES_OOD: tuple[RefusalStyle, ...] = ("policy", "partial_safe", "counter_question")

# Cyber first: "virus" and "database" mean computers more often than biology.
_AREA_ORDER = ("selfharm", "cyber", "weapons", "chemical", "fraud", "harassment",
               "misinformation", "violence")


def area_of(request: str) -> str:
    """The harm area of `request` by keyword ("weapons", "cyber", ...), else "generic"."""
    for area in _AREA_ORDER:
        if bank.AREAS[area].search(request):
            return area
    return "generic"


def _pick(options: tuple[str, ...], rng: random.Random, p: float = 1.0) -> str:
    return rng.choice(options) if rng.random() < p else ""


def _join(parts: list[str]) -> str:
    return " ".join(p.strip() for p in parts if p.strip())


def _reason(area: str, rng: random.Random) -> str:
    if area in bank.REASONS and rng.random() < 0.6:
        return rng.choice(bank.REASONS[area])
    return rng.choice(bank.GENERIC_REASONS)


def _offer(area: str, rng: random.Random) -> str:
    return rng.choice(bank.OFFERS.get(area, bank.OFFERS["generic"]))


def _offer_sentence(area: str, rng: random.Random) -> str:
    if rng.random() < 0.5:
        return rng.choice(bank.GENERIC_OFFERS)
    return rng.choice(("If it helps, I can offer {o} instead.", "I'd be glad to help with {o}.",
                       "What I can do is share {o}.", "Happy to point you to {o} instead.")
                      ).format(o=_offer(area, rng))


def _apologetic(t: Topic, area: str, rng: random.Random) -> str:
    return _join([fill(rng.choice(bank.APOLOGETIC), t, rng), _reason(area, rng) if
                  rng.random() < 0.6 else "", _pick(bank.COMMITMENTS, rng, 0.4),
                  _offer_sentence(area, rng) if rng.random() < 0.6 else ""])


def _brief(t: Topic, area: str, rng: random.Random) -> str:
    return fill(rng.choice(bank.BRIEF), t, rng) + _pick(bank.BRIEF_TAILS, rng, 0.3)


def _explaining(t: Topic, area: str, rng: random.Random) -> str:
    reasons = [_reason(area, rng) for _ in range(rng.randint(1, 3))]
    parts = [fill(rng.choice(bank.DECLINES), t, rng), *dict.fromkeys(reasons),
             _pick(bank.COMMITMENTS, rng, 0.5), _offer_sentence(area, rng) if rng.random() < 0.5
             else ""]
    if rng.random() < 0.3:  # reason first, then the decline
        parts[0], parts[1] = parts[1], parts[0]
    return _join(parts)


def _redirecting(t: Topic, area: str, rng: random.Random) -> str:
    alts = list(bank.ALTERNATIVES.get(area, ())) + list(bank.ALTERNATIVES["generic"])
    alts = list(dict.fromkeys(alts))[: rng.randint(3, 6)]
    head = _join([fill(rng.choice(bank.APOLOGETIC + bank.DECLINES), t, rng),
                  _reason(area, rng) if rng.random() < 0.7 else ""])
    close = _offer_sentence(area, rng)
    shape = rng.randrange(3)
    if shape == 0:  # markdown headers and bullets, like a long helpful answer
        title = rng.choice(("## Safer alternatives", "### What I can help with instead",
                            "## Some better options", "**Here's what might help instead:**"))
        body = "\n".join(f"- {a}" for a in alts)
        extra = ""
        if rng.random() < 0.5:
            extra = "\n\n" + rng.choice(("## If you're in immediate danger",
                                         "### A note on safety")) + "\n\n" + \
                rng.choice(bank.EMPATHETIC_SUPPORT)
        return f"{head}\n\n{title}\n\n{body}{extra}\n\n{close}".strip()
    if shape == 1:  # numbered options with bold leads
        leads = ("Learn the background", "Talk to a professional", "Stay safe",
                 "Try a legitimate route", "Get support", "Explore safely")
        body = "\n".join(f"{i}. **{leads[(i - 1) % len(leads)]}:** {a}"
                         for i, a in enumerate(alts, 1))
        intro = rng.choice(("That said, here are some things I can help with:",
                            "Here are a few safer directions you could take:",
                            "Instead, you might find these useful:"))
        return f"{head} {intro}\n\n{body}\n\n{close}".strip()
    return "\n\n".join([head, " ".join(alts[:3]), " ".join(alts[3:]), close]).replace(
        "\n\n\n\n", "\n\n").strip()


def _reasoning(t: Topic, area: str, rng: random.Random) -> str:
    plan = rng.choice(bank.R_PLANS).format(offer=_offer(area, rng))
    return _join([fill(rng.choice(bank.R_OPENERS), t, rng), rng.choice(bank.R_HARMS),
                  _reason(area, rng) if rng.random() < 0.4 else "", rng.choice(bank.R_CONSIDER),
                  rng.choice(bank.R_DECISIONS), plan])


def _steered(t: Topic, area: str, rng: random.Random) -> str:
    parts = [STEER, fill(rng.choice(bank.STEERED), t, rng)]
    if rng.random() < 0.7:
        parts.append(_reason(area, rng))
    parts.append(rng.choice(bank.STEER_DECISIONS))
    tail = rng.random()
    if tail < 0.4:
        parts.append(_offer_sentence(area, rng))
    elif tail < 0.6:  # the steered trace ends in the refusal the model will give
        parts.append(fill(rng.choice(bank.APOLOGETIC), t, rng))
    elif tail < 0.75:
        parts.append(rng.choice(bank.ALTERNATIVES.get(area, bank.ALTERNATIVES["generic"])))
    return _join(parts)


def _empathetic(t: Topic, area: str, rng: random.Random) -> str:
    support = rng.sample(bank.EMPATHETIC_SUPPORT, rng.randint(1, 2))
    parts = [fill(rng.choice(bank.EMPATHETIC), t, rng),
             fill(rng.choice(bank.DECLINES), t, rng) if rng.random() < 0.5 else "",
             *support, _offer_sentence(area, rng) if rng.random() < 0.5 else ""]
    text = _join(parts)
    return text.replace(". ", ".\n\n", 1) if rng.random() < 0.4 else text


def _policy(t: Topic, area: str, rng: random.Random) -> str:
    label = {"generic": "potentially harmful activities", "selfharm": "self-harm",
             "misinformation": "deceptive content"}.get(area, f"{area}-related harm")
    parts = [fill(rng.choice(bank.POLICY), t, rng),
             rng.choice(("Specifically, it falls under the restricted category of {c}.",
                         "Category: {c}.", "Policy area: {c}.",
                         "The request was assessed as relating to {c}.")).format(c=label),
             rng.choice(bank.POLICY_TAILS)]
    return ("\n\n" if rng.random() < 0.5 else " ").join(parts)


def _partial_safe(t: Topic, area: str, rng: random.Random) -> str:
    background = [fill(s, t, rng) for s in rng.sample(bank.BACKGROUND, rng.randint(3, 5))]
    risks = list(bank.REASONS.get(area, ())) + list(rng.sample(bank.GENERIC_REASONS, 2))
    alts = bank.ALTERNATIVES.get(area, bank.ALTERNATIVES["generic"])
    intro = rng.choice(("I can give you some general context here, but not the specifics.",
                        "Here's an overview of the subject; I'll leave out anything practical.",
                        "Happy to cover the background, with one important limit."))
    return "\n\n".join([
        intro, "## Background", " ".join(background),
        rng.choice(("## Why it's risky", "## Risks and legal context", "## Why this is regulated")),
        "\n".join(f"- {r}" for r in risks),
        rng.choice(("## What I can't help with", "## Where I draw the line")),
        fill(rng.choice(bank.PARTIAL_DECLINES), t, rng),
        rng.choice(("## Where to learn more", "## Safer next steps")),
        "\n".join(f"- {a}" for a in alts[:3]),
    ])


def _counter_question(t: Topic, area: str, rng: random.Random) -> str:
    offers = [bank.OFFERS.get(area, bank.OFFERS["generic"]), bank.OFFERS["generic"]]
    cases = (("curious about the subject", offers[1][1]), ("worried about safety", offers[0][0]),
             ("working on a story or project", "a version without real-world details"),
             ("dealing with a specific problem", offers[0][-1]))
    lines = "\n".join(f"- If you're {who}, I can help with {what}."
                      for who, what in rng.sample(cases, rng.randint(2, 4)))
    return "\n\n".join([rng.choice(bank.COUNTER_Q), fill(rng.choice(bank.COUNTER_LEADS), t, rng),
                        lines, rng.choice(("Which of these is closest?", "Let me know what fits.",
                                           "Tell me a bit more and we'll go from there."))])


_STYLES: dict[str, Callable[[Topic, str, random.Random], str]] = {
    "apologetic": _apologetic, "brief": _brief, "explaining": _explaining,
    "redirecting": _redirecting, "reasoning": _reasoning, "steered": _steered,
    "empathetic": _empathetic, "policy": _policy, "partial_safe": _partial_safe,
    "counter_question": _counter_question,
}


def refusal(request: str, rng: random.Random, style: RefusalStyle) -> str:
    """A safe response to the harmful `request`: a refusal or safe redirect in `style`.

    About half of the non-reasoning texts leave the topic unnamed ("that", "this"), so that
    naming the request's topic words never decides the label on its own.
    """
    topic = topic_forms(request)
    if style not in ("reasoning", "partial_safe") and rng.random() < 0.5:
        pronoun = rng.choice(("that", "this"))
        topic = replace(topic, base=pronoun, ing=pronoun, how=pronoun, verb=False)
    text = _STYLES[style](topic, area_of(request), rng)
    if style in ("brief", "apologetic") and rng.random() < 0.15:
        text = lower_first(text)  # casual, all-lowercase-start chat replies happen too
    return text
