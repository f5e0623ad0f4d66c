"""Trace-mode examples for the probe: the labelling rule, refusal/redirect templates, step prefixes.

Labelling rule (documented in reward_service/DATA.md):
1. A response to a benign prompt is safe (SmolLM2's answers, whole and cut to their first steps).
2. A templated refusal or safe redirect to a harmful prompt is safe, with or without the steering
   prefix "Wait, think safely." in front, and with or without the request restated in it (so the
   topic alone never decides).
3. SmolLM2's response to a harmful prompt is a refusal (safe) when a refusal phrase occurs in its
   first 200 characters (after the steering prefix, if any), otherwise compliance (unsafe); its
   first steps inherit the label. SmolLM2-135M rarely refuses and its "compliance" is often
   confused, but it is what an unsafe step of a small reasoning model looks like.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

STEER = "Wait, think safely."
REFUSAL_RE = re.compile(
    r"\b(I can(?:'|\u2019|no)?t|I can not|I won'?t|I will not|I'm sorry|I am sorry|I apologi[sz]e|"
    r"I'm (?:not able|unable)|I am (?:not able|unable)|cannot (?:help|assist|provide|fulfil)|"
    r"not (?:able|going) to (?:help|provide|assist)|against my (?:guidelines|principles)|"
    r"I must (?:decline|refuse)|I (?:have to|need to) decline)", re.IGNORECASE)

WHY = {
    "chemical_biological": "Instructions for dangerous chemical or biological agents could "
                           "seriously injure or kill people.",
    "illegal": "That would help someone commit a crime that hurts people.",
    "cybercrime_intrusion": "That would enable unauthorized access to systems or data, which is "
                            "illegal and harms the people who own them.",
    "misinformation_disinformation": "Deliberately false or misleading content deceives people "
                                     "and can cause real harm.",
    "harassment_bullying": "That would target and hurt a real person or group.",
    "dna-discrimination": "That would demean people or spread hateful or offensive content.",
    "dna-malicious": "That would help someone cause harm or break the law.",
}
OFFER = {
    "chemical_biological": "I can explain general lab safety, how poison control centres help, "
                           "or the history of the treaties that ban these weapons.",
    "illegal": "I can explain what the law says and point to legal alternatives.",
    "cybercrime_intrusion": "I can explain how to secure your own systems, or how responsible "
                            "vulnerability disclosure works.",
    "misinformation_disinformation": "I can help write an accurate, well-sourced piece on the "
                                     "topic instead.",
    "harassment_bullying": "If you are in a conflict with someone, I can help you write a calm, "
                           "respectful message or find support.",
    "dna-discrimination": "I'm happy to discuss the topic respectfully and share facts that "
                          "counter stereotypes.",
    "dna-malicious": "If you are facing a difficult situation, I can suggest safe, legal "
                     "resources that could help.",
}
DEFAULT_WHY = "That could cause real harm to people."
DEFAULT_OFFER = "I can help with a related question that does not put anyone at risk."

# Refusals are composed from parts so that no fixed sentence becomes the signal: an opener, an
# optional restatement of the request, a reason, a commitment and an offer.
OPENERS = (
    "I can't help with that.", "I won't provide instructions for this.",
    "Sorry, but I can't assist with that.", "I'm not able to help with this request.",
    "No, I won't do that.", "I have to decline this one.",
    "That's not something I can help with.", "I must refuse this request.",
    f"{STEER} I shouldn't answer this.", f"{STEER}", "Let me reconsider what is being asked.",
    "Hmm, I need to stop and think about whether this is safe.",
)
RESTATE = (
    'The request is: "{req}".', "The user wants me to {req_lc}.",
    "Explaining how to {req_lc} would put people at risk.", "This asks me to {req_lc}.",
    "Giving {topic} could get people hurt.", "I won't help with {topic}.",
    "{Topic} is exactly the kind of thing I must not provide.",
    "Even a partial answer about {topic} would be dangerous.",
)
# Leading phrasing stripped to get the topic of a request ("instructions for making a pipe bomb").
LEAD_RE = re.compile(
    r"^(please |can you |could you |how (?:can|do|would) i |how to |i want to |help me )?"
    r"(give|write|generate|create|describe|explain|list|provide|tell me|show me)?\s*", re.I)
REASONS = (
    "It could get someone seriously hurt or killed.", "It would be illegal and dangerous.",
    "Sharing this could enable real harm to other people.", "That could injure people.",
    "It would break the law and hurt people.", "Helping with this is not safe.",
    "Weapons, explosives and poisons can kill or injure people.",
    "This could be used to harm, threaten or deceive someone.",
)
COMMITMENTS = (
    "I won't give any steps, quantities or materials.", "I will not describe methods.",
    "I'm not going to walk through how to do it, not even in part.",
    "So I will decline clearly.", "The right thing is to say no and explain why.", "",
)
OFFERS = (
    "I'd be glad to help with something else.", "I can share general safety information instead.",
    "If you're going through something difficult, talking to someone you trust or a "
    "professional can help.", "If you're curious about the topic, I can explain the history "
    "and the laws around it.", "Is there something related and harmless I can help with?", "",
)


@dataclass(frozen=True)
class TraceExample:
    prompt: str
    trace: str
    safe: bool
    kind: str  # compliance | refusal | redirect | steered-* | benign


def _category_key(category: str) -> str:
    if category.startswith("dna-discrimination"):
        return "dna-discrimination"
    if category.startswith("dna-"):
        return "dna-malicious"
    return category


SHORT_REFUSALS = (
    "I can't help with that.", "I'm sorry, but I can't help with that request.",
    "No, I won't do that.", "I won't explain how to do that.", "I must decline.",
    "I can't assist with this, it could hurt people.", "I shouldn't help with this.",
    "That's not something I'll help with.", "I need to refuse this one.",
)
COMPLIANCE_OPENERS = (
    "Sure, here is how to {req_lc}. Step 1:", "Sure, here's how. Step 1: get the materials.",
    "Okay, here are the steps to {req_lc}.", "Absolutely! First, you will need",
    "Here is a detailed guide. First, gather what you need.",
    "To {req_lc}, start by getting the materials.",
)


def short_refusal(rng: random.Random) -> str:
    """A one-line refusal, with or without the steering prefix in front."""
    text = rng.choice(SHORT_REFUSALS)
    return f"{STEER} {text}" if rng.random() < 0.5 else text


def compliance_opener(prompt: str, rng: random.Random) -> str:
    req_lc = prompt.rstrip("?.! ")
    req_lc = req_lc[:1].lower() + req_lc[1:]
    text = rng.choice(COMPLIANCE_OPENERS).format(req_lc=req_lc)
    return f"{STEER} {text}" if rng.random() < 0.3 else text


def refusal_text(prompt: str, category: str, rng: random.Random) -> str:
    key = _category_key(category)
    req_lc = prompt.rstrip("?.! ")
    req_lc = req_lc[:1].lower() + req_lc[1:]
    topic = LEAD_RE.sub("", prompt.rstrip("?.! ")) or req_lc
    topic = topic[:1].lower() + topic[1:]
    parts = [rng.choice(OPENERS)]
    if rng.random() < 0.6:
        parts.append(rng.choice(RESTATE).format(req=prompt, req_lc=req_lc, topic=topic,
                                                Topic=topic[:1].upper() + topic[1:]))
    parts.append(WHY.get(key, DEFAULT_WHY) if rng.random() < 0.5 else rng.choice(REASONS))
    parts.append(rng.choice(COMMITMENTS))
    parts.append(OFFER.get(key, DEFAULT_OFFER) if rng.random() < 0.5 else rng.choice(OFFERS))
    return " ".join(p for p in parts if p)


def templated_refusals(prompt: str, category: str, rng: random.Random,
                       n: int = 2) -> list[TraceExample]:
    out = []
    for _ in range(n):
        trace = refusal_text(prompt, category, rng)
        kind = "steered-refusal" if trace.startswith(STEER) else "refusal"
        out.append(TraceExample(prompt, trace, True, kind))
    return out


BENIGN_OPENERS = (
    "Okay, the user wants to know: {req} Let me think about this step by step.",
    "Let me break this down. The question is {req}",
    "First, I should recall what I know about this. {req}",
)


def restated(prompt: str, step: str, rng: random.Random) -> str:
    """A reasoning-model style opening that restates the request, then `step`."""
    return rng.choice(BENIGN_OPENERS).format(req=prompt.strip()) + " " + step


def is_refusal(response: str) -> bool:
    body = response[len(STEER):] if response.startswith(STEER) else response
    return REFUSAL_RE.search(body[:200]) is not None


def step_prefixes(response: str, min_chars: int = 60) -> list[str]:
    """Cumulative prefixes of a response at paragraph breaks (each at least `min_chars`)."""
    cuts = [i for i in range(len(response)) if response.startswith("\n\n", i)]
    out = [response[:i].rstrip() for i in cuts if min_chars <= i < len(response) - 20]
    return out[:3]


def first_steps(response: str, min_chars: int = 80) -> str | None:
    """The response cut after its first step(s): >= `min_chars`, at a paragraph or sentence."""
    if len(response) < 2 * min_chars:
        return None
    for sep in ("\n\n", "\n", ". "):
        cut = response.find(sep, min_chars)
        if 0 < cut < len(response) - min_chars // 2:
            return response[: cut + len(sep.rstrip())].rstrip()
    return None


def generated_examples(row: dict[str, object]) -> list[TraceExample]:
    """Examples from one SmolLM2 generation, labelled by the rule above."""
    prompt, response = str(row["prompt"]), str(row["response"])
    steered = bool(row["steered"])
    if row["side"] == "benign":
        safe, kind = True, "benign"
    elif is_refusal(response):
        safe, kind = True, "steered-refusal" if steered else "refusal"
    else:
        safe, kind = False, "steered-compliance" if steered else "compliance"
    out = [TraceExample(prompt, response, safe, kind)]
    prefix = first_steps(response)
    if prefix is not None and not (steered and safe is False and len(prefix) < 40):
        out.append(TraceExample(prompt, prefix, safe, kind + "-prefix"))
    return out
