"""Text plumbing shared by the backends: messages to text, and reported truncation."""

from __future__ import annotations

from typing import Any

ELLIPSIS = "\n[...]\n"
# The share of a budget kept from the start when cutting the middle: the newest text matters
# most for scoring a trace, the opening still anchors what it answers.
HEAD_SHARE = 0.25


def content_text(content: Any) -> str:
    """The text of one OpenAI message content: a string or its text parts (images dropped)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for part in content:
        if isinstance(part, dict) and part.get("type") == "text":
            parts.append(str(part.get("text", "")))
        elif isinstance(part, str):
            parts.append(part)
    return "\n".join(p for p in parts if p)


def conversation(prompt: str | list[dict[str, Any]]) -> list[dict[str, str]]:
    """User/assistant turns with plain-text content, alternating, as guard templates require.

    System and tool messages are dropped (a guard rates the user's request, not the operator's
    instructions); consecutive turns of one role are merged.
    """
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    turns: list[dict[str, str]] = []
    for message in prompt:
        role = message.get("role")
        if role not in ("user", "assistant"):
            continue
        text = content_text(message.get("content"))
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] += "\n\n" + text
        else:
            turns.append({"role": str(role), "content": text})
    if turns and turns[0]["role"] == "assistant":
        turns.insert(0, {"role": "user", "content": ""})
    return turns or [{"role": "user", "content": ""}]


def prompt_text(prompt: str | list[dict[str, Any]]) -> str:
    """The request as one text: the user turns, oldest first."""
    if isinstance(prompt, str):
        return prompt
    return "\n\n".join(t["content"] for t in conversation(prompt) if t["role"] == "user").strip()


def truncate_middle(text: str, limit: int) -> tuple[str, bool]:
    """Cut the middle out of `text` so it fits `limit` chars; keep the head and the newest tail."""
    if len(text) <= limit:
        return text, False
    budget = max(limit - len(ELLIPSIS), 2)
    head = int(budget * HEAD_SHARE)
    tail = budget - head
    return text[:head] + ELLIPSIS + text[len(text) - tail :], True
