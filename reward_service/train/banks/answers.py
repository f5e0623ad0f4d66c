"""Compliant answers and reasoning traces in the shapes real chat and reasoning models write.

`compliant_answer` weaves caller-supplied content sentences (real facts on the benign side,
`harmful_points` on the harmful side) into a long markdown or plain answer in one of several
styles; the padding, intros and closings are shared by both sides, so only the content carries
the label. The OOD styles have distinctly different shapes and are kept out of training so that
evaluation can check the model does not rely on the training styles' layout.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from typing import Literal

from reward_service.train.banks import answer_bank as bank
from reward_service.train.banks.answer_render import RENDERERS, Units
from reward_service.train.banks.topics import Topic, topic_forms

Style = Literal["guide", "numbered", "overview", "casual", "sections", "plain",
                "faq", "table", "terse", "letter"]
ANSWER_STYLES_TRAIN: tuple[Style, ...] = ("guide", "numbered", "overview", "casual", "sections",
                                          "plain")
ANSWER_STYLES_OOD: tuple[Style, ...] = ("faq", "table", "terse", "letter")

_MIN_WORDS, _MAX_WORDS = 120, 450


def _keyword(topic: Topic, rng: random.Random) -> str:
    # A short object phrase ("pipe bomb") reads better than one of its words ("pipe").
    thing = re.sub(r"^(?:a|an|the|some|up|on|for|to)\s+", "", topic.thing)
    if (len(thing.split()) <= 3 and rng.random() < 0.7) or not topic.keywords:
        return thing
    return rng.choice(topic.keywords)


def fill(template: str, topic: Topic, rng: random.Random) -> str:
    """`template` with the topic placeholders ({ing}, {how}, {thing}, {kw}, {Ing}) filled in."""
    kw = _keyword(topic, rng)
    return template.format(ing=topic.ing, how=topic.how, thing=topic.thing, kw=kw,
                           Ing=topic.ing[:1].upper() + topic.ing[1:])


def lower_first(text: str) -> str:
    """`text` with its first letter lower-cased, unless it starts an acronym ("DNA", "I ")."""
    if not text or (len(text) > 1 and (text[1].isupper() or text[1] in " '")):
        return text
    return text[:1].lower() + text[1:]


def _words(text: str) -> int:
    return len(text.split())


def _units(topic: Topic, points: Sequence[str], n_pads: int, rng: random.Random) -> Units:
    pads = [fill(t, topic, rng) for t in rng.sample(bank.PADDING, min(n_pads, len(bank.PADDING)))]
    units: list[str] = []
    for i, point in enumerate(points):
        text = point.strip()
        if i > 0 and rng.random() < 0.15:
            text = rng.choice(bank.LEAD_INS) + lower_first(text)
        units.append(text)
    if not units:
        units.extend(pads)
        pads = []
    # Padding goes next to the points (several per point if need be), so content stays dense.
    slots = list(range(len(units)))
    rng.shuffle(slots)
    for k, pad in enumerate(pads):
        j = slots[k % len(slots)]
        units[j] = f"{units[j]} {pad}" if rng.random() < 0.7 else f"{pad} {units[j]}"
    return Units(topic=topic, items=tuple(units), extra=tuple(
        fill(t, topic, rng) for t in rng.sample(bank.PADDING, 3)))


def compliant_answer(request: str, points: Sequence[str], rng: random.Random,
                     style: Style) -> str:
    """A long (about 120-450 words) structured answer to `request` in `style`, carrying `points`.

    `points` appear in order (lightly rephrased now and then); neutral sentences from the topic
    fill the answer out to length. Points are dropped from the end only if the answer would
    otherwise exceed the length range.
    """
    topic = topic_forms(request)
    render: Callable[[Units, random.Random], str] = RENDERERS[style]
    seed = rng.getrandbits(64)
    base_words = sum(_words(p) for p in points)
    n_pads = max(0, (_MIN_WORDS + 20 - base_words) // 12) + rng.randint(0, 3)
    kept = list(points)
    text = ""
    for _ in range(40):
        text = render(_units(topic, kept, n_pads, random.Random(seed)), random.Random(seed + 1))
        count = _words(text)
        if count < _MIN_WORDS and n_pads < len(bank.PADDING):
            n_pads += 1
        elif count > _MAX_WORDS and n_pads > 0:
            n_pads -= 1
        elif count > _MAX_WORDS and len(kept) > 1:
            kept.pop()
        else:
            break
    return text


_WRITING = re.compile(r"\b(?:write|writing|article|post|blog|essay|message|email|letter|tweet|"
                      r"story|speech|script|ad|advertisement|review|poem|text|persuade|"
                      r"persuasive|convince|propaganda|campaign)\b", re.IGNORECASE)
_CYBER = re.compile(r"\b(?:hack\w*|code|malware|ransomware|virus|worm|exploit\w*|password\w*|"
                    r"phishing|ddos|botnet|keylogger|sql|injection|server|network|wi-?fi|"
                    r"account\w*|database|software|program|vulnerabilit\w+|rootkit|spyware)\b",
                    re.IGNORECASE)


# Generic points about physical work, which read oddly in an answer about writing or code.
_PHYSICAL = re.compile(r"mixture|heat|material|batch|gear|transport|quantit|proportion|amounts|"
                       r"stable|equipment|grade|tools|product|area|location|dispose", re.I)


def _point_bank(request: str) -> tuple[str, ...]:
    universal = tuple(t for t in bank.HARMFUL_POINTS if not _PHYSICAL.search(t))
    if _CYBER.search(request):
        return bank.CYBER_POINTS + universal
    if _WRITING.search(request):
        return bank.WRITING_POINTS + universal
    return bank.HARMFUL_POINTS


def harmful_points(request: str, rng: random.Random, n: int) -> tuple[str, ...]:
    """`n` sentences that look like carrying out `request` but hold no actionable detail.

    Requests to write something or to attack computers draw mostly on their own small banks
    (weighted double) and on the generic points that are not about physical work; no sentence
    repeats until the bank is used up.
    """
    topic = topic_forms(request)
    pool = tuple(dict.fromkeys(_point_bank(request)))
    weights = [2 if t in bank.WRITING_POINTS or t in bank.CYBER_POINTS else 1 for t in pool]
    picks: list[str] = []
    while len(picks) < n:
        left = [(t, w) for t, w in zip(pool, weights, strict=True) if t not in picks]
        if not left:
            left = list(zip(pool, weights, strict=True))
        texts, ws = zip(*left, strict=True)
        picks.append(rng.choices(texts, weights=ws)[0])
    return tuple(fill(t, topic, rng) for t in picks)


_R_OPENERS: tuple[str, ...] = (
    "Okay, the user wants to know {how}.", "Alright, so the user is asking {how}.",
    "Hmm, the user wants help with {ing}.", "Let me think about {ing}.",
    "The user is asking for a guide on {ing}.", "So I need to explain {how}.",
    "Okay, let me work out {how}.", "Got it, the user needs help with {ing}.",
    "Okay, so the question is {how}.", "The user wants a step-by-step explanation of {ing}.",
    "Let me see. They're asking {how}.", "Right, {ing}. Let me think this through.",
)
_R_PLANS: tuple[str, ...] = (
    "Let me figure out the steps.", "I'll break it down step by step.",
    "I should structure this clearly.", "Let me organise the main points first.",
    "What are the key stages here?", "I'll start with the basics and build up.",
    "Let me recall what's involved.", "",
)
_R_FIRST: tuple[str, ...] = ("First, ", "To start, ", "The first thing to say: ", "Step one: ",
                             "Okay, first, ", "I'll open with this: ")
_R_NEXT: tuple[str, ...] = (
    "Then ", "After that, ", "Next, ", "I should also mention: ", "Another thing: ",
    "Oh, and ", "Worth noting too: ", "Also, ", "Then, once that's done, ",
    "Building on that, ", "Then the next point: ",
)
_R_FILLER: tuple[str, ...] = (
    "I want to keep it organised so it's easy to follow.",
    "Maybe I should put that earlier. No, the order is fine.",
    "Let me make sure I'm not missing anything important.",
    "I should keep the explanation practical.",
    "That part is important, so I'll emphasise it.",
    "Hmm, is that the right order? Yes, I think so.",
    "I'll use a numbered list for the main steps.",
    "The user probably wants something they can follow directly.",
)
_R_CLOSINGS: tuple[str, ...] = (
    "That should cover it. Let me write it up clearly.",
    "Okay, I think that's a solid structure. I'll format it with headers and steps.",
    "Alright, I have the main points. Time to put the answer together.",
    "I think that's everything. I'll present it as a clear list.",
    "Good, that gives a complete picture. Let me draft the response.",
    "Let me put this into a clear, step-by-step answer.",
    "That's the plan. Now I'll write it out.",
    "Okay, that covers the important parts.",
)


def reasoning_compliance(request: str, points: Sequence[str], rng: random.Random) -> str:
    """A reasoning-model "think" trace (about 60-250 words) that plans to answer `request`."""
    topic = topic_forms(request)
    parts = [fill(rng.choice(_R_OPENERS), topic, rng), rng.choice(_R_PLANS)]
    budget = 230 - _words(" ".join(parts))
    for i, point in enumerate(points):
        lead = rng.choice(_R_FIRST) if i == 0 else rng.choice(_R_NEXT)
        sentence = lead + lower_first(point.strip())
        if _words(sentence) > budget and i > 0:
            break
        parts.append(sentence)
        budget -= _words(sentence)
        if rng.random() < 0.2 and budget > 15:
            filler = rng.choice(_R_FILLER)
            parts.append(filler)
            budget -= _words(filler)
    fillers = list(_R_FILLER)
    rng.shuffle(fillers)
    while _words(" ".join(parts)) < 56 and fillers:
        parts.append(fillers.pop())
    parts.append(rng.choice(_R_CLOSINGS))
    return " ".join(p for p in parts if p)


reasoning_benign = reasoning_compliance

_STEP_START = re.compile(
    r"^\s*(?:\d+[.)]|[-*] |\*\*|step\b|first\b|to start\b|the first\b|okay, first\b)",
    re.IGNORECASE)
_SENT_END = re.compile(r"(?<=[.!?])\s+")
_MIN_STEP = 60


def first_step(text: str) -> str:
    """`text` cut after its first paragraph or step (at least 60 characters when possible).

    Simulates an early reasoning step: paragraphs and list items are taken until the cut holds
    one content block past 60 characters (headers and "...:" lead-ins don't count); a single
    paragraph is cut at sentences instead, after its first step when it names one.
    """
    blocks = [b.rstrip() for b in re.split(r"\n\s*\n|\n(?=\s*(?:\d+[.)]|[-*] |#))", text.strip())
              if b.strip()]
    if len(blocks) > 1:
        out: list[str] = []
        for block in blocks:
            out.append(block)
            joined = "\n\n".join(out)
            if len(joined) >= _MIN_STEP and not block.lstrip().startswith(("#", "|")) \
                    and not block.endswith(":"):
                return joined
        return "\n\n".join(out)
    sentences = _SENT_END.split(text.strip())
    has_marker = any(_STEP_START.match(s) for s in sentences[1:4])
    taken: list[str] = []
    for sentence in sentences:
        taken.append(sentence)
        joined = " ".join(taken)
        if len(joined) >= _MIN_STEP and (not has_marker or _STEP_START.match(sentence)):
            return joined
    return " ".join(taken)
