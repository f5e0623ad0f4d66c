"""The scripted upstream's script: what a scenario says to emit, and how it is chunked.

Pure functions and data; ``scripted_upstream`` serves them over HTTP (see its docstring).
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass, field, replace
from typing import Any

ANSWER = "The answer is 42."
# What a model writes after "Wait, think safely. ": the proxy adds the space after the prefix.
SAFE_CONTINUATION = (
    "I will not help with anything harmful; let me focus on safe, general information.\n\n"
)
UNSAFE_CONTINUATION = "UNSAFE still harmful details.\n\n"
ASSISTANT_START = "<|im_start|>assistant\n"
AWKWARD_SEED = 1729
SHAPES = ("reasoning_content", "reasoning", "inline", "content")
CHUNKINGS = ("whole", "token", "awkward")
OPTIONS = ("shape", "steps", "unsafe-step", "unsafe-resamples", "chunking", "done", "pace-ms",
           "fail", "reject-continue", "id", "prompt-options", "unsafe-seeds", "safe-prefix",
           "logprobs", "judge", "ignore-continue", "cut-after", "sentences", "unsafe-sentence")
PROMPT_OPTIONS_RE = re.compile(r"\[\[scripted:([^\]]*)\]\]")
WORD_RE = re.compile(r"\S+")
TOKEN_RE = re.compile(r"\n+|[^\S\n]*\S+|[^\S\n]+")
SENTENCE_END_RE = re.compile(r"\. (?=\S)")

Unit = tuple[str, str]  # (channel, text); channel is "reasoning" or "content"


def sentence_text(i: int, k: int, unsafe: bool = False) -> str:
    """Sentence k of step i, without the whitespace after it."""
    if k == 1:
        return (f"Step {i}: UNSAFE here is how to do the harmful thing." if unsafe
                else f"Step {i}: thinking about the question, café ☕ détails.")
    return (f"Step {i}, sentence {k}: UNSAFE more harmful details." if unsafe
            else f"Step {i}, sentence {k} goes on calmly.")


def step_sentences(i: int, unsafe: bool = False, sentences: int = 1,
                   unsafe_sentence: int = 1) -> list[str]:
    """Step i's sentences as a sentence release cuts them: each with the whitespace after it
    (" " inside the step, the delimiter after the last); in an unsafe step, sentence
    ``unsafe_sentence`` says UNSAFE."""
    texts = [sentence_text(i, k, unsafe and k == unsafe_sentence)
             for k in range(1, sentences + 1)]
    return [text + (" " if k < sentences else "\n\n") for k, text in enumerate(texts, 1)]


def step_text(i: int, unsafe: bool = False, sentences: int = 1, unsafe_sentence: int = 1) -> str:
    return "".join(step_sentences(i, unsafe, sentences, unsafe_sentence))


class ScenarioError(ValueError):
    pass


@dataclass(frozen=True)
class Scenario:
    shape: str = "reasoning_content"
    steps: int = 5
    unsafe: frozenset[int] = frozenset()
    unsafe_resamples: int = 0
    chunking: str = "token"
    done: bool = True
    pace_ms: float = 0.0
    fail: int | None = None
    reject_continue: int = 0  # the status that refuses chat continuation; 0: none
    id: str = "default"
    prompt_options: bool = False
    unsafe_seeds: frozenset[int] | None = None
    safe_prefix: tuple[str, ...] = ()
    logprobs: bool = False
    judge: bool = False
    ignore_continue: bool = False
    cut_after: int | None = None  # events sent before the body ends cleanly, unfinished
    sentences: int = 1  # sentences per step
    unsafe_sentence: int = 1  # the sentence of an unsafe step that says UNSAFE

    @classmethod
    def parse(cls, model: str) -> Scenario:
        head, *parts = model.split("/")
        opts = dict(part.split("=", 1) if "=" in part else (part, "") for part in parts)
        unknown = set(opts) - set(OPTIONS) or [p for p in parts if "=" not in p]
        if head != "scripted" or unknown:
            raise ScenarioError(f"bad model {model!r}: expected 'scripted/key=value/...' with "
                                f"keys from {', '.join(OPTIONS)}")
        try:
            unsafe = opts.get("unsafe-step", "none")
            sc = cls(
                shape=opts.get("shape", cls.shape), steps=int(opts.get("steps", cls.steps)),
                unsafe=frozenset(int(i) for i in unsafe.split(",") if i and unsafe != "none"),
                unsafe_resamples=int(opts.get("unsafe-resamples", 0)),
                chunking=opts.get("chunking", cls.chunking), done=opts.get("done", "1") != "0",
                pace_ms=float(opts.get("pace-ms", 0)),
                fail=int(opts["fail"]) if "fail" in opts else None,
                reject_continue=_refusal(opts.get("reject-continue", "0")),
                id=opts.get("id", cls.id),
                prompt_options=opts.get("prompt-options", "0") != "0",
                unsafe_seeds=frozenset(int(i) for i in opts["unsafe-seeds"].split(",") if i)
                if "unsafe-seeds" in opts else None,
                safe_prefix=tuple(w.lower() for w in opts.get("safe-prefix", "").split(",") if w),
                logprobs=opts.get("logprobs", "0") != "0", judge=opts.get("judge", "0") != "0",
                ignore_continue=opts.get("ignore-continue", "0") != "0",
                cut_after=int(opts["cut-after"]) if "cut-after" in opts else None,
                sentences=int(opts.get("sentences", 1)),
                unsafe_sentence=int(opts.get("unsafe-sentence", 1)))
        except ValueError as exc:
            raise ScenarioError(f"bad model {model!r}: {exc}") from exc
        if (sc.shape not in SHAPES or sc.chunking not in CHUNKINGS or sc.steps < 0
                or not 1 <= sc.unsafe_sentence <= sc.sentences):
            raise ScenarioError(f"bad model {model!r}: shape, chunking, steps or sentences out "
                                "of range")
        return sc


def _refusal(value: str) -> int:
    """``reject-continue``: 0 none, 1 the 422 of ``transformers serve``, else that status."""
    status = {"0": 0, "1": 422}.get(value, None)
    return int(value) if status is None else status


@dataclass
class State:
    stats: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("opened", "completed", "cancelled", "active"), 0))
    requests: list[dict[str, Any]] = field(default_factory=list)
    resamples: dict[str, int] = field(default_factory=dict)  # steered-but-unsafe answers per id

    def reset(self) -> None:
        """Forget everything but the streams still running."""
        self.stats.update(opened=0, completed=0, cancelled=0)
        self.requests.clear()
        self.resamples.clear()


def plan(sc: Scenario, prefill: str | None, inline: bool, state: State) -> list[Unit]:
    """The text to emit: a fresh generation when prefill is empty, else PREFILL's continuation."""
    if prefill and "</think>" in prefill:
        after = prefill.rsplit("</think>", 1)[1]
        written = after.lstrip()
        rest = ANSWER[len(written):] if ANSWER.startswith(written) else ANSWER
        return [("content", ("" if after else "\n\n") + rest)]
    thinking = sc.shape != "content" or bool(prefill and "<think>" in prefill)
    channel = "reasoning" if thinking else "content"
    units: list[Unit] = []
    first = 1
    if not prefill:
        if thinking and inline:
            units.append((channel, "<think>\n"))
    else:
        body = prefill.split("<think>", 1)[1] if "<think>" in prefill else prefill
        *complete, tail = body.split("\n\n")
        first = sum(1 for part in complete if part.strip()) + 1
        if tail.strip():  # a steering prefix where step `first` was dropped: finish it
            used = state.resamples.get(sc.id, 0)
            if sc.safe_prefix:
                steering = _steering_part(tail, first, sc).lower()
                safe = any(word in steering for word in sc.safe_prefix)
                units.append((channel, SAFE_CONTINUATION if safe else UNSAFE_CONTINUATION))
            elif used < sc.unsafe_resamples:
                state.resamples[sc.id] = used + 1
                units.append((channel, UNSAFE_CONTINUATION))
            else:
                units.append((channel, SAFE_CONTINUATION))
            first += 1
    units += [(channel, step_text(i, i in sc.unsafe, sc.sentences, sc.unsafe_sentence))
              for i in range(first, sc.steps + 1)]
    if thinking and inline:
        units.append((channel, "</think>\n\n"))
    units.append(("content", ANSWER))
    return units


def _steering_part(tail: str, i: int, sc: Scenario) -> str:
    """A prefill's unfinished step ``i`` without its leading sentences (accepted one by one under
    sentence release): the steering prefix, so that ``safe-prefix`` reads only that."""
    for k in range(1, sc.sentences + 1):
        head = next((s for s in (sentence_text(i, k), sentence_text(i, k, unsafe=True))
                     if tail.startswith(s)), None)
        if head is None:
            break
        tail = tail[len(head):].lstrip()
    return tail


def split_chunks(units: list[Unit], chunking: str) -> list[Unit]:
    if chunking == "whole":
        return [unit for unit in units if unit[1]]
    if chunking == "token":
        return [(ch, tok) for ch, text in units for tok in TOKEN_RE.findall(text)]
    rng = random.Random(AWKWARD_SEED)  # awkward: random cuts across the units of one channel
    out: list[Unit] = []
    for ch, group in itertools.groupby(units, key=lambda unit: unit[0]):
        text = "".join(t for _, t in group)
        cuts = set(itertools.accumulate(rng.randint(1, 7) for _ in text))
        cuts |= {at + offset for needle, offset in (("\n\n", 1), ("<think>", 3), ("</think>", 4))
                 if (at := text.find(needle)) >= 0}
        # every sentence end arrives in three pieces: "...end." " " "Next..."
        cuts |= {m.start() + offset for m in SENTENCE_END_RE.finditer(text) for offset in (1, 2)}
        bounds = [0, *sorted(c for c in cuts if 0 < c < len(text)), len(text)]
        out += [(ch, text[x:y]) for x, y in itertools.pairwise(bounds) if x < y]
    return out


def wire_pieces(event: str, split: bool) -> list[bytes]:
    """One SSE event's bytes, cut inside its first multi-byte character when split."""
    data = event.encode()
    if not split or len(data) < 2:
        return [data]
    at = next((i for i, c in enumerate(event) if ord(c) > 127), None)
    cut = len(event[:at].encode()) + 1 if at is not None else len(data) - 1
    return [data[:cut], data[cut:]]


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p["text"] for p in content
                       if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def scripted_logprob(full: str, at: int) -> float:
    """-0.1 * (1 + the number of words between the last blank line before ``at`` and ``at``)."""
    start = full.rfind("\n\n", 0, at)
    start = 0 if start < 0 else start + 2
    return round(-0.1 * (1 + len(WORD_RE.findall(full[start:at]))), 6)


def effective(sc: Scenario, body: dict[str, Any]) -> Scenario:
    """The scenario after the prompt's own options and the request's seed."""
    if sc.prompt_options:
        raw = body.get("prompt", "")
        texts = [text_of(m.get("content")) for m in body.get("messages") or []
                 if isinstance(m, dict)] + ([raw] if isinstance(raw, str) else [])
        found = [m for text in texts for m in PROMPT_OPTIONS_RE.findall(text)]
        if found:
            sc = Scenario.parse(f"{body.get('model')}/{found[-1]}")
    seed = body.get("seed")
    if sc.unsafe_seeds is not None and isinstance(seed, int) and seed not in sc.unsafe_seeds:
        sc = replace(sc, unsafe=frozenset())
    return sc
