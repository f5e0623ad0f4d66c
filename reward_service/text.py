"""Text plumbing shared by the backends: messages to text, and reported truncation.

Everything here is linear in what it reads, and `recent_turns` reads a bounded amount whatever
the request holds: a chat of 150k turns must cost what its newest few cost.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

ELLIPSIS = "\n[...]\n"
# The share of a budget kept from the start when cutting the middle: the newest text matters
# most for scoring a trace, the opening still anchors what it answers.
HEAD_SHARE = 0.25
TURN_SEPARATOR = "\n\n"
ROLES = ("user", "assistant")

Turn = tuple[str, str]  # (role, text)


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


def has_text(content: Any) -> bool:
    """Whether `content_text(content).strip()` would be non-empty, without building it."""
    if content is None:
        return False
    if isinstance(content, str):
        return bool(content) and not content.isspace()
    for part in content:
        if isinstance(part, dict) and part.get("type") == "text":
            part = part.get("text", "")
        if isinstance(part, str) and part and not part.isspace():
            return True
    return False


def merge_turns(turns: Iterable[Turn]) -> list[Turn]:
    """Merge consecutive turns of one role and start with a user turn, as guard templates
    require. Each run of one role is joined once, so the work is linear in the text."""
    merged: list[Turn] = []
    role: str | None = None
    run: list[str] = []
    for turn_role, text in turns:
        if turn_role != role:
            if role is not None:
                merged.append((role, TURN_SEPARATOR.join(run)))
            role, run = turn_role, []
        run.append(text)
    if role is not None:
        merged.append((role, TURN_SEPARATOR.join(run)))
    if merged and merged[0][0] == "assistant":
        merged.insert(0, ("user", ""))
    return merged or [("user", "")]


def _message_turns(messages: Iterable[dict[str, Any]]) -> Iterator[Turn]:
    for message in messages:
        role = message.get("role")
        if role in ROLES:
            yield str(role), content_text(message.get("content"))


def conversation(prompt: str | list[dict[str, Any]]) -> list[dict[str, str]]:
    """User/assistant turns with plain-text content, alternating, as guard templates require.

    System and tool messages are dropped (a guard rates the user's request, not the operator's
    instructions); consecutive turns of one role are merged.
    """
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return [{"role": role, "content": text} for role, text in merge_turns(_message_turns(prompt))]


def recent_turns(prompt: str | Sequence[dict[str, Any]], *, max_turns: int,
                 max_chars: int) -> tuple[list[Turn], bool]:
    """The newest turns of the request, merged as `conversation` merges them, read with bounded
    work; and whether anything was left out.

    The caps apply before any merging: only the newest `max_turns` messages are looked at, each
    message's text is cut to `max_chars` first, and reading stops once `max_chars` of text is
    collected, since a scorer's budget of `max_chars` can hold nothing older.
    """
    if isinstance(prompt, str):
        text, cut = truncate_middle(prompt, max_chars)
        return [("user", text)], cut
    start = max(len(prompt) - max_turns, 0)
    cut = start > 0
    newest_first: list[Turn] = []
    collected = 0
    index = len(prompt)
    while index > start and collected < max_chars:
        index -= 1
        message = prompt[index]
        role = message.get("role")
        if role not in ROLES:
            continue
        text, text_cut = truncate_middle(content_text(message.get("content")), max_chars)
        cut = cut or text_cut
        newest_first.append((str(role), text))
        collected += len(text)
    if index > start and any(has_text(m.get("content")) for m in prompt[start:index]
                             if m.get("role") in ROLES):
        cut = True  # older text the budget left out
    newest_first.reverse()
    return merge_turns(newest_first), cut


def spend_budget(newest_first: Iterable[Turn], budget: int) -> tuple[list[Turn], bool]:
    """Turns, newest first, cut to what `budget` characters hold: each from its middle to what
    is left of the budget (64 at least), none once it is spent. Oldest first, and whether
    anything was cut. The reward engine reads a prompt this way, and the proxy sends no more."""
    kept: list[Turn] = []
    cut_any = False
    for role, content in newest_first:
        if budget <= 0:
            cut_any = True  # a turn the budget leaves out
            break
        text, cut = truncate_middle(content, max(budget, 64))
        cut_any = cut_any or cut
        kept.append((role, text))
        budget -= len(text)
    kept.reverse()
    return kept, cut_any


def prompt_text(prompt: str | list[dict[str, Any]]) -> str:
    """The request as one text: the user turns, oldest first."""
    if isinstance(prompt, str):
        return prompt
    return TURN_SEPARATOR.join(t["content"] for t in conversation(prompt)
                               if t["role"] == "user").strip()


def truncate_middle(text: str, limit: int) -> tuple[str, bool]:
    """Cut the middle out of `text` so it fits `limit` chars; keep the head and the newest tail."""
    if len(text) <= limit:
        return text, False
    budget = max(limit - len(ELLIPSIS), 2)
    head = int(budget * HEAD_SHARE)
    tail = budget - head
    return text[:head] + ELLIPSIS + text[len(text) - tail :], True
