"""Layouts for compliant answers: one renderer per answer style (see answers.py).

Each renderer lays the same content units (a point, maybe with a padding sentence) out in its own
shape: markdown guides with headers and numbered steps, plain paragraphs, casual chat, and the
held-out shapes (FAQ, table, terse list, letter). Kept apart from answers.py for module size.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from reward_service.train.banks import answer_bank as bank
from reward_service.train.banks.topics import Topic


@dataclass(frozen=True)
class Units:
    """The content of one answer: `items` in order, `extra` neutral sentences for tips/notes."""

    topic: Topic
    items: tuple[str, ...]
    extra: tuple[str, ...]


def _fill(template: str, topic: Topic) -> str:
    return template.format(ing=topic.ing, how=topic.how, thing=topic.thing,
                           kw=topic.keywords[0] if topic.keywords else topic.thing,
                           Ing=topic.ing[:1].upper() + topic.ing[1:])


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


_SMALL = frozenset({"a", "an", "the", "of", "for", "to", "in", "on", "and", "or", "with", "at",
                    "by", "from", "into", "about"})


def _title(topic: Topic) -> str:
    words = topic.ing.split()[:8]
    return " ".join(w if w.isupper() or (i > 0 and w in _SMALL) else _cap(w)
                    for i, w in enumerate(words))


def _intro(u: Units, rng: random.Random, p: float = 0.85) -> list[str]:
    return [_fill(rng.choice(bank.INTROS), u.topic)] if rng.random() < p else []


def _closing(u: Units, rng: random.Random, p: float = 0.8) -> list[str]:
    return [_fill(rng.choice(bank.CLOSINGS), u.topic)] if rng.random() < p else []


def _titles(n: int, rng: random.Random) -> list[str]:
    # A random subset kept in the bank's natural order ("Prepare" before "Wrap up").
    pool = bank.STEP_TITLES
    picked = sorted(rng.sample(range(len(pool)), min(n, len(pool))))
    return [pool[picked[i % len(picked)]] for i in range(n)]


def _guide(u: Units, rng: random.Random) -> str:
    out = _intro(u, rng)
    if rng.random() < 0.6:
        out.append(f"## {rng.choice(('Overview', 'Before You Start', 'Background'))}\n\n"
                   f"{u.extra[0]}")
    out.append(rng.choice(("## Step-by-Step Guide", "## Steps", "### Instructions",
                           "## How to Do It")))
    sep = rng.choice((": ", " — ", "\n   "))
    out.append("\n".join(f"{i}. **{t}**{sep}{item}" for i, (t, item) in
                         enumerate(zip(_titles(len(u.items), rng), u.items, strict=True), 1)))
    if rng.random() < 0.5:
        out.append(rng.choice(("## Tips", "### Tips for Success", "## Things to Keep in Mind"))
                   + "\n\n" + "\n".join(f"- {x}" for x in u.extra[1:]))
    return "\n\n".join(out + _closing(u, rng))


def _numbered(u: Units, rng: random.Random) -> str:
    out = _intro(u, rng, 0.7)
    bold = rng.random() < 0.5
    lines = []
    for i, item in enumerate(u.items, 1):
        cut = min((k for k in (item.find(";"), item.find(","), item.find(":")) if k > 0),
                  default=-1)
        if bold and 0 < cut < 60:
            # Models bold the leading clause of a step ("**Measure first**, then ...").
            item = f"**{item[:cut]}**{item[cut:]}"
        lines.append(f"{i}. {item}")
    out.append(("\n\n" if rng.random() < 0.4 else "\n").join(lines))
    return "\n\n".join(out + _closing(u, rng))


def _overview(u: Units, rng: random.Random) -> str:
    out = _intro(u, rng, 0.9)
    titles = list(bank.SECTION_TITLES)
    rng.shuffle(titles)
    level = rng.choice(("##", "###"))
    items = list(u.items)
    k = 0
    while items:
        take = min(len(items), rng.randint(1, 2))
        chunk, items = items[:take], items[take:]
        body = " ".join(chunk)
        if rng.random() < 0.35 and take == 2:
            body = "\n".join(f"- {c}" for c in chunk)
        out.append(f"{level} {titles[k % len(titles)]}\n\n{body}")
        k += 1
    if rng.random() < 0.5:
        out.append(f"**Bottom line:** {u.extra[0]}")
    return "\n\n".join(out + _closing(u, rng, 0.6))


_ORDINALS = ("First,", "Next,", "Then,", "After that,", "Once that's done,", "From there,",
             "Also,", "On top of that,")


def _join_ordinal(items: tuple[str, ...], rng: random.Random, casual: bool) -> list[str]:
    paras: list[str] = []
    current: list[str] = []
    for i, item in enumerate(items):
        if i == 0:
            lead = "First off," if casual else "First,"
        elif i == len(items) - 1 and len(items) > 2:
            lead = rng.choice(("Finally,", "Last but not least,", "Lastly,"))
        else:
            lead = rng.choice(_ORDINALS[1:])
        led = item.startswith(tuple(x.strip() for x in bank.LEAD_INS))
        use_lead = rng.random() < 0.6 and not led
        current.append(f"{lead} {_lower(item)}" if use_lead else item)
        if len(current) >= rng.randint(1, 3):
            paras.append(" ".join(current))
            current = []
    if current:
        paras.append(" ".join(current))
    return paras


def _lower(text: str) -> str:
    if len(text) > 1 and (text[1].isupper() or text[1] in " '"):
        return text
    return text[:1].lower() + text[1:]


def _casual(u: Units, rng: random.Random) -> str:
    out = [rng.choice(bank.CASUAL_INTROS)]
    if rng.random() < 0.5:
        out[0] += " " + u.extra[0]
    out.extend(_join_ordinal(u.items, rng, casual=True))
    out.append(rng.choice(("Hope that helps!", "That's pretty much it, honestly.",
                           "Anyway, have fun with it!", "Ping me if you get stuck.",
                           "Good luck, you've got this.")))
    return "\n\n".join(out)


def _sections(u: Units, rng: random.Random) -> str:
    out = [f"# {rng.choice(('A Guide to ', 'How to Approach ', ''))}{_title(u.topic)}"]
    out.extend(_intro(u, rng, 0.6))
    per = max(1, len(u.items) // rng.randint(2, 4))
    titles = list(bank.SECTION_TITLES)
    rng.shuffle(titles)
    for k, start in enumerate(range(0, len(u.items), per)):
        chunk = u.items[start:start + per]
        body = ("\n".join(f"- {c}" for c in chunk) if rng.random() < 0.4
                else "\n\n".join(chunk))
        out.append(f"## {k + 1}. {titles[k % len(titles)]}\n\n{body}")
    if rng.random() < 0.5:
        out.append("---\n\n**Summary:** " + u.extra[0])
    return "\n\n".join(out + _closing(u, rng, 0.7))


def _plain(u: Units, rng: random.Random) -> str:
    out = _intro(u, rng, 0.6)
    out.extend(_join_ordinal(u.items, rng, casual=False))
    return "\n\n".join(out + _closing(u, rng, 0.5))


def _faq(u: Units, rng: random.Random) -> str:
    out = [f"## FAQ: {_title(u.topic)}"] if rng.random() < 0.6 else []
    questions = list(bank.FAQ_QUESTIONS)
    for i, item in enumerate(u.items):
        q = questions[i] if i < len(questions) else rng.choice(questions[4:])
        out.append(f"**Q: {q}**\nA: {item}")
    return "\n\n".join(out)


def _table(u: Units, rng: random.Random) -> str:
    out = [f"Here's an at-a-glance guide to {u.topic.ing}:"] if rng.random() < 0.7 else []
    rows = ["| # | Stage | Details |", "|---|-------|---------|"]
    titles = _titles(len(u.items), rng)
    rows.extend(f"| {i} | {t} | {item.replace('|', '/')} |"
                for i, (t, item) in enumerate(zip(titles, u.items, strict=True), 1))
    out.append("\n".join(rows))
    out.append("**Notes**\n" + "\n".join(f"- {x}" for x in u.extra[:2]))
    return "\n\n".join(out)


def _terse(u: Units, rng: random.Random) -> str:
    return "\n".join(f"{i}) {item}" for i, item in enumerate(u.items, 1))


def _letter(u: Units, rng: random.Random) -> str:
    out = [rng.choice(bank.LETTER_GREETINGS),
           rng.choice(("Thanks for your message about {ing}.", "You asked me about {ing}, so "
                       "I've put together a short note.", "Following up on your question about "
                       "{ing}, here is what I'd suggest.")).format(ing=u.topic.ing)]
    items = list(u.items)
    while items:
        out.append(" ".join(items[:3]))
        items = items[3:]
    out.append(rng.choice(("I hope this is useful.", "Please write back if you have questions.",
                           "Do let me know how you get on.")))
    out.append(rng.choice(bank.LETTER_SIGNOFFS))
    return "\n\n".join(out)


RENDERERS: dict[str, Callable[[Units, random.Random], str]] = {
    "guide": _guide, "numbered": _numbered, "overview": _overview, "casual": _casual,
    "sections": _sections, "plain": _plain, "faq": _faq, "table": _table, "terse": _terse,
    "letter": _letter,
}
