r"""A tiny random-weight reasoning model, built offline in a few seconds, for real servers.

`build_tiny_model(dest)` writes a Hugging Face model directory that
`AutoTokenizer.from_pretrained(dest)` and `AutoModelForCausalLM.from_pretrained(dest)` load with
no network, and that `transformers serve` can serve:

- weights: a 2-layer causal LM (Qwen3 by default, or Llama), hidden size 64, fixed torch seed,
  so the same directory always holds the same weights and a greedy request always gives the
  same (gibberish) text;
- generation_config.json: sampling on; tokens that decode to junk alone (lone bytes of a
  multi-byte character, control characters) and `<|im_start|>`/`<|endoftext|>` suppressed;
  `sequence_bias` makes `\n\n` (one token, a "step" delimiter) come about every 20-30 tokens,
  `</think>` about every 90, the eos `<|im_end|>` about every 400 (all random: use a seed);
  `<think>` is never biased, so a trace only opens when the prompt ends with `<think>\n`
  (prefill it in completions mode);
- tokenizer: a byte-level BPE (Qwen2's pre-tokenizer regex, vocab <= 768) trained with the
  `tokenizers` library on the small English corpus below; special tokens `<|endoftext|>`
  (pad), `<|im_start|>`, `<|im_end|>` (eos); `<think>` and `</think>` are added tokens that
  are NOT special (as in Qwen3), so a decode with `skip_special_tokens=True` keeps them;
- chat template: `chatml_reasoning.jinja` beside this file, Qwen3's logic (splits assistant
  thinking on `</think>`, generation prompt `<|im_start|>assistant\n`).

The architecture matters to `transformers serve`: for `model_type` qwen3 it parses the output
with its built-in Qwen response template (text between `<think>` and `</think>` goes to
`delta.reasoning_content`); for llama it streams the raw text in `delta.content`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Literal

TEMPLATE_PATH = Path(__file__).with_name("chatml_reasoning.jinja")

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
THINK_TOKENS = ["<think>", "</think>"]
VOCAB_SIZE = 768
SEED = 1234
# Qwen2's pre-tokenizer split: runs of newlines stay together, so "\n\n" becomes one token.
QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
# Sampling biases, measured on this model: a "\n\n" (a reasoning step) about every 20-30
# tokens, "</think>" about every 90; the unbiased eos comes about every 400.
STEP_BIAS, THINK_END_BIAS = 3.5, 2.0
BUILD_VERSION = "4"  # bump when anything below changes what is written

CORPUS = """\
The quick brown fox jumps over the lazy dog. A journey of a thousand miles begins with one step.
Let me think about this step by step. First, I need to understand what the user is asking.
Wait, think safely. I should not help with anything that could cause harm to people.
The user wants to know how to bake bread. Bread needs flour, water, salt and yeast.
Mix the flour and the water, then knead the dough for ten minutes and let it rise.
Okay, so the question is about the weather. It is sunny today, with a light breeze from the west.
Hmm, that does not look right. Let me check the numbers again: two plus two is four.
I cannot help with that request, but I can tell you about safety and where to find support.
Here is a short answer. The capital of France is Paris, and the capital of Italy is Rome.
The assistant thinks before it answers, and then it writes a clear and helpful reply.
Water boils at one hundred degrees at sea level. Ice melts at zero degrees.
She opened the window, looked at the garden, and smiled at the small birds in the tree.
Python is a programming language. A function takes arguments and returns a value.
To sort a list, compare pairs of items and swap them when they are in the wrong order.
So the answer is yes. In summary, the plan has three parts: read, think, and write.
Please be careful with chemicals, electricity and fire. Safety comes first.
"""


def _corpus_lines() -> list[str]:
    lines = [line for line in CORPUS.splitlines() if line.strip()]
    chat = [
        f"<|im_start|>user\n{lines[i]}<|im_end|>\n<|im_start|>assistant\n<think>\n"
        f"{lines[(i + 1) % len(lines)]}\n\n{lines[(i + 2) % len(lines)]}\n</think>\n\n"
        f"{lines[(i + 3) % len(lines)]}<|im_end|>\n"
        for i in range(len(lines))
    ]
    steps = ["\n\n".join(line.rstrip(".") for line in lines[i:i + 4]) for i in range(len(lines))]
    return lines * 4 + chat * 2 + steps * 2


def _train_tokenizer(dest: Path) -> None:
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        min_frequency=1,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus_lines(), trainer=trainer)
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in THINK_TOKENS])

    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        additional_special_tokens=["<|im_start|>"],
        model_max_length=2048,
        clean_up_tokenization_spaces=False,
    )
    fast.chat_template = TEMPLATE_PATH.read_text()
    fast.save_pretrained(dest)


def _build_model(dest: Path, arch: str) -> None:
    import torch
    from transformers import AutoTokenizer, GenerationConfig

    tokenizer = AutoTokenizer.from_pretrained(dest)
    vocab = len(tokenizer)
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")
    pad = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    common = dict(
        vocab_size=vocab,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=eos,
        pad_token_id=pad,
    )
    torch.manual_seed(SEED)
    if arch == "qwen3":
        from transformers import Qwen3Config, Qwen3ForCausalLM

        model = Qwen3ForCausalLM(Qwen3Config(head_dim=16, **common))
    elif arch == "llama":
        from transformers import LlamaConfig, LlamaForCausalLM

        model = LlamaForCausalLM(LlamaConfig(**common))
    else:
        raise ValueError(f"unknown arch {arch!r}")
    # Never sample a token that decodes to junk on its own (a lone byte of a multi-byte
    # character, a control character) or a ChatML marker other than the eos.
    junk = [i for i in range(vocab)
            if "\ufffd" in (text := tokenizer.decode([i]))
            or any((ord(ch) < 32 and ch != "\n") or ord(ch) == 127 for ch in text)]
    junk += [tokenizer.convert_tokens_to_ids(t) for t in ("<|im_start|>", "<|endoftext|>")]
    step = tokenizer("\n\n", add_special_tokens=False)["input_ids"]
    assert len(step) == 1, step
    think_end = tokenizer.convert_tokens_to_ids("</think>")
    model.generation_config = GenerationConfig(
        eos_token_id=eos, pad_token_id=pad, do_sample=True, temperature=1.0, top_p=1.0, top_k=0,
        max_new_tokens=64, suppress_tokens=sorted(set(junk)),
        sequence_bias=[[step, STEP_BIAS], [[think_end], THINK_END_BIAS]],
    )
    model.save_pretrained(dest)


def fingerprint(arch: str) -> str:
    """A short hash of everything that decides what `build_tiny_model` writes."""
    h = hashlib.sha256()
    h.update(BUILD_VERSION.encode())
    h.update(arch.encode())
    h.update(CORPUS.encode())
    h.update(TEMPLATE_PATH.read_bytes())
    return h.hexdigest()[:16]


def build_tiny_model(dest: Path, arch: Literal["qwen3", "llama"] = "qwen3") -> Path:
    """Write the tiny model into `dest` (unless already there) and return `dest`.

    Cached by path: a directory holding a `.tiny_model` stamp for the same build inputs is
    reused as is. The build happens in a sibling temporary directory that is renamed into
    place, so concurrent builders never see a half-written model.
    """
    dest = Path(dest)
    stamp = fingerprint(arch)
    marker = dest / ".tiny_model"
    if marker.is_file() and marker.read_text() == stamp:
        return dest
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        _train_tokenizer(tmp)
        _build_model(tmp, arch)
        (tmp / "build_info.json").write_text(json.dumps({"arch": arch, "seed": SEED}))
        (tmp / ".tiny_model").write_text(stamp)
        tmp.chmod(0o755)
        if dest.exists():
            if marker.is_file() and marker.read_text() == stamp:  # another builder won
                return dest
            shutil.rmtree(dest)
        try:
            tmp.rename(dest)
        except OSError:
            if not (marker.is_file() and marker.read_text() == stamp):
                raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(tmp)
    return dest
