"""The score items of ``bench/reward_bench.py --pattern fixed``: fresh requests of a fixed size.

Each item is a request never sent before (30-40 MiniLM tokens) with a trace such that
``[CLS] request [SEP] trace [SEP]`` is exactly ``--item-tokens`` tokens, so the issue's "p50 per
item for a 256-token item" measures items of that size and not the proxy pattern's mix.

Why items are built from single-token words: BERT's pre-tokeniser splits on whitespace before
WordPiece, so a text of N words that are each one token is exactly N tokens. A request is one of
a few templates (its token count measured once) followed by ``ID_WORDS`` words that spell the
item's index in base ``len(id_words)``: every index gives a distinct request of the same length,
and the trace is filled with single-token words to the exact total. The spec is measured once
with the packaged tokenizer (``build_spec``) before the run; the client processes then turn
index ranges into texts (``items``) before their timed loops start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Neutral questions: the benchmark measures speed, the content does not matter. About 25-35
# tokens each, so with the id words a request is 30-40 tokens.
TEMPLATES = (
    "Could you explain in plain words how a small town library decides which new books to buy"
    " each year, and what the staff weigh first when the budget is tight? Reference",
    "I am planning a weekend garden project with my children and would like a simple list of"
    " vegetables that grow quickly in spring, with a short note on each one. Reference",
    "Please describe how a bicycle gear system works, why riders shift to a lower gear on a"
    " hill, and how often the chain should be cleaned and oiled. Reference",
    "What are the main differences between a lake and a reservoir, and how do engineers decide"
    " where to build a dam so that nearby towns stay safe? Reference",
)
ID_WORDS = 4  # words spelling an item's index: len(id_words) ** 4 distinct requests
# Candidates for the id and trace words; only those that are one token each are kept.
WORD_POOL = (
    "alpha beta gamma delta river stone cloud field house table light water green blue red"
    " north south east west apple bread chair door eagle forest garden hill island lamp"
    " market night ocean paper queen road summer tower valley window winter yellow horse"
    " bridge castle farm glass honey iron king letter metal pencil rain silver train wood"
).split()
TRACE_WORDS = (
    "then the next part is to check each step and note what it needs before moving on so the"
    " answer stays clear and short for the user who asked about this topic today"
).split()


@dataclass(frozen=True)
class FixedSpec:
    """What the client processes need to build items: picklable, measured by ``build_spec``."""

    item_tokens: int
    id_words: tuple[str, ...]
    trace_words: tuple[str, ...]
    # Per template: the request's text before the id words, and its trace's length in words.
    templates: tuple[tuple[str, int], ...]

    @property
    def capacity(self) -> int:
        """How many distinct requests the id words can spell, per template."""
        return int(len(self.id_words) ** ID_WORDS)


def _single_tokens(tokenizer: Any, words: list[str]) -> list[str]:
    return [w for w in dict.fromkeys(words) if len(tokenizer.tokenize(w)) == 1]


def build_spec(item_tokens: int) -> FixedSpec:
    """Measure the templates with the packaged MiniLM tokenizer and check the first items of
    each template come out at exactly ``item_tokens`` tokens."""
    from transformers import AutoTokenizer

    from reward_service.backends.embedder import packaged_minilm

    tokenizer = AutoTokenizer.from_pretrained(str(packaged_minilm()))
    id_words = tuple(_single_tokens(tokenizer, WORD_POOL))
    trace_words = tuple(_single_tokens(tokenizer, TRACE_WORDS))
    if len(id_words) < 16 or len(trace_words) < 8:
        raise RuntimeError("too few single-token words for the fixed items")
    templates = []
    for template in TEMPLATES:
        request_tokens = len(tokenizer.tokenize(template)) + ID_WORDS
        trace_length = item_tokens - 3 - request_tokens
        if trace_length < 1:
            raise ValueError(f"--item-tokens {item_tokens} leaves no room for a trace")
        templates.append((template, trace_length))
    spec = FixedSpec(item_tokens, id_words, trace_words, tuple(templates))
    for index in range(2 * len(TEMPLATES)):
        item = make_item(spec, index * 7919)
        count = len(tokenizer(item["prompt"], item["trace"])["input_ids"])
        if count != item_tokens:
            raise RuntimeError(f"a fixed item came out at {count} tokens, not {item_tokens}")
    return spec


def make_item(spec: FixedSpec, index: int) -> dict[str, str]:
    """Item ``index``: template ``index mod templates``, its id words the rest of the index."""
    template, trace_length = spec.templates[index % len(spec.templates)]
    rest = index // len(spec.templates)
    if rest >= spec.capacity:
        raise ValueError(f"item {index}: past the {spec.capacity} distinct requests a template")
    digits = []
    base = len(spec.id_words)
    for _ in range(ID_WORDS):
        rest, digit = divmod(rest, base)
        digits.append(spec.id_words[digit])
    # The trace's words start at a place that depends on the index, so traces differ too.
    words = spec.trace_words
    start = index % len(words)
    trace = [words[(start + k) % len(words)] for k in range(trace_length)]
    return {"prompt": f"{template} {' '.join(digits)}", "trace": " ".join(trace)}


def items(spec: FixedSpec, start: int, count: int) -> list[dict[str, str]]:
    """Items ``start`` .. ``start + count - 1``: distinct requests, all ``item_tokens`` long."""
    return [make_item(spec, index) for index in range(start, start + count)]
