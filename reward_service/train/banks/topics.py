"""The topic of a request, in the grammatical forms the answer and refusal banks need.

Templates say "the user is asking how to make a kite" and "I can't help with making a kite", so
a request is reduced to its core phrase and given a base form, a gerund form and a "how" form.
Requests that are not verb phrases ("methamphetamine synthesis steps") keep a noun form, and the
"how" form becomes "about ...". The morphology is heuristic: an odd form now and then is noise the
model should tolerate anyway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Wrappers in front of a verb phrase ("How do I make ..." -> "make ...").
_VERB_LEADS = re.compile(
    r"^(?:(?:please|hey|hi|ok(?:ay)?|so|honestly|quick question)[,:!]?\s+)*"
    r"(?:(?:can|could|would|will) you(?: please)?(?: help me| tell me how to| show me how to"
    r"| explain how to| teach me (?:how )?to)?|how (?:do|can|would|should|could|might) (?:i|we|one"
    r"|someone|a person)|how to|(?:tell|show|teach) me how to|explain (?:in detail )?how to|"
    r"describe (?:in detail )?how to|i (?:want|need|would like|'d like) to(?: know how to)?|"
    r"help me(?: to)?|what(?:'s| is) the (?:best|easiest|fastest|safest|cheapest) way to|"
    r"what are (?:some|the) (?:best )?ways to|(?:(?:describe|list|explain|give|suggest|share) )?"
    r"(?:some |specific |effective |the best |creative |detailed )*ways to|is it possible to|"
    r"steps to)\s+",
    re.IGNORECASE)
# Wrappers in front of a gerund or noun phrase ("Give detailed instructions for making ...").
_NOUN_LEADS = re.compile(
    r"^(?:(?:please|hey|so)[,:!]?\s+)*(?:(?:can|could) you\s+)?"
    r"(?:give|provide|write|offer|list|share|generate|create)(?: me| us)?(?: a| an| some| the)?"
    r"(?: detailed| step-by-step| complete| full| comprehensive| thorough| quick| short| brief)*"
    r"(?: step-by-step)?\s+(?:instructions|guide|guidance|tutorial|tips|steps|advice|"
    r"walkthrough|explanation|plan|overview)\s+(?:for|on|to|about|of)\s+",
    re.IGNORECASE)
_CLAUSE_END = re.compile(r"[.?!;:\n]|,\s+(?:so|because|since|and then|without)\b")
_MAX_WORDS = 14

# Stems that need their silent "e" back after "-ing" is removed ("making" -> "make").
_E_STEMS = frozenset({
    "mak", "tak", "writ", "us", "creat", "produc", "acquir", "evad", "hid", "generat",
    "manipulat", "purchas", "forg", "convinc", "persuad", "cultivat", "distribut", "caus",
    "sourc", "giv", "hav", "leav", "prepar", "stag", "fak", "compil", "fabricat", "impersonat",
    "disguis", "locat", "isolat", "dispos", "coerc", "sabotag", "engag", "encourag", "promot",
    "manufactur", "scrap", "shar", "sav", "improv", "rac", "reduc", "measur", "bak", "serv",
    "explor", "dat", "escap", "trad", "mov", "chang", "arrang", "manag", "stor", "chas",
    "secur", "captur", "ventur", "figur", "scor", "declar", "compar", "describ", "decid",
    "provid", "guid", "rid", "tim", "shap", "tun", "cur", "purg", "rehears", "investigat",
    "wip", "incinerat", "elevat", "operat", "automat", "replicat", "translat", "calculat",
})
_NO_DOUBLE = ("ll", "ss", "ff", "zz")
_DOUBLING_BASES = frozenset({
    "get", "set", "run", "cut", "put", "hit", "stop", "ship", "plan", "rob", "shop", "dig",
    "grab", "trap", "drop", "spot", "swap", "tap", "skip", "sit", "win", "bet", "pin", "scan",
    "jog", "knit", "chat", "wrap", "clip", "plot", "strip", "slip", "map", "prep", "mug",
})


_PERSON = {"my": "your", "me": "you", "myself": "yourself", "i": "you", "mine": "yours",
           "i'm": "you're", "i've": "you've", "our": "your", "us": "you", "we": "you"}


@dataclass(frozen=True)
class Topic:
    """A request's core phrase: `base` ("make a kite"), `ing` ("making a kite") and `how`."""

    base: str
    ing: str
    how: str
    verb: bool

    @property
    def keywords(self) -> tuple[str, ...]:
        """Content words of the topic (longer than three letters), in order, no repeats."""
        seen: list[str] = []
        for word in re.findall(r"[a-z][a-z'-]+", self.base.lower()):
            if len(word) > 3 and word not in _STOP and word not in seen:
                seen.append(word)
        return tuple(seen)

    @property
    def thing(self) -> str:
        """The topic without its leading verb ("a kite"); the whole topic when there is none."""
        if not self.verb:
            return self.base
        rest = self.base.split(" ", 1)
        return rest[1] if len(rest) > 1 else self.base


_STOP = frozenset({
    "that", "this", "with", "from", "into", "about", "without", "their", "them", "they", "your",
    "some", "someone", "something", "what", "which", "would", "could", "should", "there", "make",
    "making", "very", "just", "like", "have", "using", "such", "other", "being", "over",
    "detailed", "instructions", "step-by-step", "guide", "write", "create", "give", "explain",
})


def _strip_ing(word: str) -> str:
    stem = word[:-3]
    if len(stem) >= 3 and stem[-1] == stem[-2] and stem[-2:] not in _NO_DOUBLE:
        if stem[:-1] in _DOUBLING_BASES:
            return stem[:-1]
    # "-iz", "-dg", "-rg", consonant + "l" stems take an "e" ("organize", "judge", "smuggle").
    needs_e = re.search(r"(?:[iy]z|[^aeiour]l|uc|dg|rg)$", stem) is not None
    if stem in _E_STEMS or needs_e:
        return stem + "e"
    return stem


def _add_ing(word: str) -> str:
    if word.endswith("ie"):
        return word[:-2] + "ying"
    if word in _DOUBLING_BASES:
        return word + word[-1] + "ing"
    if word.endswith("e") and not word.endswith(("ee", "ye", "oe")):
        return word[:-1] + "ing"
    return word + "ing"


def _core(request: str) -> str:
    text = " ".join(request.strip().split())
    text = text.strip("\"'` ")
    cut = _CLAUSE_END.search(text)
    if cut is not None and cut.start() > 8:
        text = text[: cut.start()]
    return text.rstrip(",.?!:; ")


def topic_forms(request: str) -> Topic:
    """The topic of `request` in base, gerund and "how" forms (see the module docstring)."""
    text = _core(request)
    verb = False
    stripped = _VERB_LEADS.sub("", text, count=1)
    if stripped != text and stripped:
        text, verb = stripped, True
    else:
        stripped = _NOUN_LEADS.sub("", text, count=1)
        if stripped != text and stripped:
            text = stripped
            again = _VERB_LEADS.sub("", text, count=1)
            if again != text and again:
                text, verb = again, True
        elif re.match(r"^(?:what|which|who|why|where|when|is|are|does|do)\b", text, re.I) is None:
            verb = True  # an imperative such as "Write a poem about ..."
    words = text.split()[:_MAX_WORDS]
    if not words:
        words = ["this"]
    # Lower-case everything except acronyms and other all-capital words (keeps "DNA", "SQL").
    words = [w if len(w) > 1 and w.isupper() else w.lower() for w in words]
    # The answer speaks to the requester: "bully my classmate" -> "bully your classmate".
    words = [_PERSON.get(w, w) for w in words]
    first = words[0]
    if first.endswith("ing") and len(first) > 5:
        base_first, ing_first, verb = _strip_ing(first), first, True
    elif verb:
        base_first, ing_first = first, _add_ing(first)
    else:
        phrase = " ".join(words)
        return Topic(base=phrase, ing=phrase, how=f"about {phrase}", verb=False)
    rest = words[1:]
    base = " ".join([base_first, *rest])
    ing = " ".join([ing_first, *rest])
    return Topic(base=base, ing=ing, how=f"how to {base}", verb=True)

