"""The cross-encoder on ONNX Runtime with int8 weights: its runtime on a CPU.

Why: on a 2-core CPU, torch runs MiniLM over 256 tokens in 45-55 ms in float32. Exported to
ONNX, with attention as plain MatMul and Softmax (`_eager_attention`) and every other MatMul's
weights quantized to int8 per output channel (and its activations per call at run time: ONNX
Runtime's dynamic quantization), ONNX Runtime runs it in about 14 ms on the CPU's int8
dot-product instructions (an AMD EPYC with VNNI). The logits move a little (about 0.2 on the
cross-encoder's scale of a few units); `python -m reward_service.evaluate --backends
cross-encoder:torch,cross-encoder:onnx-int8` prints the two side by side.

The int8 graph is built from the merged torch model when the backend loads: the torch.export
based exporter, then `onnxruntime.quantization.quantize_dynamic`, about 15 s on two cores. It is
kept in a cache directory under a key of everything the graph depends on (`graph_key`), so a
restart loads it in a second. A cache that cannot be written is no error: the graph is built in
a temporary directory and served from memory; a cached graph that does not load is rebuilt.

The logits int8 gives depend on the CPU's instructions. With an int8 dot product (x86's VNNI,
AMX) they stay close to float32's. On a CPU with AVX2 only, ONNX Runtime multiplies u8 by s8
with an instruction that saturates at 16 bits, and the scores move further: measured on a 2-core
AMD EPYC with AVX2, benign-but-edgy questions inside ~3,000 tokens were flagged 44% with 8-bit
weights against 30% in float32 (a Xeon with VNNI: 24%). Weights kept to 7 bits (the quantizer's
`reduce_range`) cannot saturate it: 28% there. So the weights are 8-bit where the CPU has the dot
product (`has_int8_dot`) and 7-bit elsewhere, and the graph's key says which.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from reward_service.exceptions import ModelLoadError
from reward_service.pairmodel import PairClassifier

FORMAT = 2  # bump when the export or quantization below changes what they write
INPUTS = ("ids", "mask", "types")
# x86 cpuinfo flags of an int8 dot product that does not saturate (the only kind measured: other
# CPUs, arm64 among them, get the 7-bit weights that are safe everywhere).
INT8_DOT_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})
CPUINFO = Path("/proc/cpuinfo")


def has_int8_dot(cpuinfo: str | None = None) -> bool:
    """Whether this CPU (its /proc/cpuinfo, or the text given) has an int8 dot product. Unknown
    (no /proc/cpuinfo: not Linux, or no x86 flags line) counts as no: 7-bit weights are the
    safe side."""
    if cpuinfo is None:
        try:
            cpuinfo = CPUINFO.read_text(errors="replace")
        except OSError:
            return False
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "flags":
            return not INT8_DOT_FLAGS.isdisjoint(value.split())
    return False


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "safethink" / "cross-encoder"


def graph_key(delta_sha256: str, base: Path, *, reduce_range: bool) -> str:
    """A hash of what the int8 graph is made of: the delta, the base weights' files, the weights'
    bits, and the versions of the libraries that export and quantize it."""
    import onnx
    import onnxruntime

    files = {p.name: [p.stat().st_size, int(p.stat().st_mtime)]
             for p in sorted(base.glob("*.safetensors")) + sorted(base.glob("*.bin"))}
    data = {"format": FORMAT, "delta": delta_sha256, "reduce_range": reduce_range,
            "base": str(base.resolve()), "files": files, "torch": torch.__version__,
            "onnx": onnx.__version__, "ort": onnxruntime.__version__}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:24]


class Int8Model:
    """An ONNX Runtime session over the int8 graph: `logits(ids, mask, types)` as the torch
    `PairClassifier` gives them, one float per row."""

    def __init__(self, session: Any) -> None:
        self._session = session

    @classmethod
    def load(cls, model: PairClassifier, *, delta_sha256: str, base: Path,
             cache_dir: Path | None, threads: int, reduce_range: bool) -> Int8Model:
        """The cached graph of `model` (merged from `base` and the delta, float32, CPU), with
        7-bit weights when `reduce_range`; built when it is missing or does not load (a damaged
        cache entry is rebuilt, never served). The cache key is derived here from the same
        arguments the build uses, so the two cannot disagree."""
        key = graph_key(delta_sha256, base, reduce_range=reduce_range)
        path = (cache_dir or default_cache_dir()) / f"{key}.int8.onnx"
        if path.is_file():
            with contextlib.suppress(Exception):  # ONNX Runtime's errors share no base class
                return cls(_session(path.read_bytes(), threads))
        try:
            with tempfile.TemporaryDirectory(prefix="safethink-int8-") as tmp:
                graph = _build(model, Path(tmp), reduce_range)
            session = _session(graph, threads)
        except (OSError, RuntimeError, ValueError) as exc:
            raise ModelLoadError(f"cannot build the int8 cross-encoder: {exc}") from exc
        _store(path, graph)
        return cls(session)

    def logits(self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor) -> list[float]:
        """The rows' logits in one call. Call it with one row: dynamic quantization picks each
        activation's int8 scale per call, so a row run in a batch would score by what else was
        in it (by up to 0.3 here). The backend does; on a CPU batching buys little anyway."""
        feeds = {name: t.cpu().numpy() for name, t in zip(INPUTS, (ids, mask, types), strict=True)}
        return [float(z) for z in self._session.run(None, feeds)[0].reshape(-1)]


def _store(path: Path, graph: bytes) -> None:
    """Write the graph whole or not at all (a reader never sees half of one); a cache that
    cannot be written only means a rebuild at the next start."""
    part: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".part") as out:
            part = Path(out.name)
            out.write(graph)
        os.replace(part, path)
    except OSError:
        if part is not None:
            part.unlink(missing_ok=True)


def _build(model: PairClassifier, tmp: Path, reduce_range: bool) -> bytes:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Two rows of different lengths: the exporter must not specialise batch or length to 1.
    ids = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]])
    example = (ids, (ids != 0).long(), torch.zeros_like(ids))
    batch, length = torch.export.Dim("batch"), torch.export.Dim("length")
    with _quiet(), _eager_attention(model), torch.inference_mode(False), torch.no_grad():
        program = torch.onnx.export(model.eval(), example, input_names=list(INPUTS),
                                    output_names=["logit"], dynamo=True, verbose=False,
                                    dynamic_shapes=({0: batch, 1: length},) * 3)
        if program is None:
            raise RuntimeError("the ONNX exporter returned no program")
        proto = program.model_proto
        # The exporter's shape notes disagree with ONNX's own shape inference, which the
        # quantizer runs; without them it infers every shape afresh.
        del proto.graph.value_info[:]
        int8_path = tmp / "int8.onnx"
        quantize_dynamic(proto, int8_path, weight_type=QuantType.QInt8, per_channel=True,
                         reduce_range=reduce_range)
    return int8_path.read_bytes()


@contextlib.contextmanager
def _eager_attention(model: PairClassifier) -> Iterator[None]:
    """Export attention as plain MatMul and Softmax. Exported from torch's SDPA, it carries an
    IsNaN and a Where over every 256 x 256 score matrix, and ONNX Runtime ran a 256-token row in
    22 ms against 14 ms this way (8-bit weights, 2 cores). The two exports agree to 1e-6 in
    float32. torch itself is faster with SDPA, so the caller's model gets its own back."""
    encoder = model.encoder
    before = encoder.config._attn_implementation
    encoder.set_attn_implementation("eager")
    try:
        yield
    finally:
        encoder.set_attn_implementation(before)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The exporter's and the quantizer's notes (pytree deprecations, torchvision missing, "run
    pre-processing"), none of them ours to act on, kept out of the service's log and warnings.
    The NullHandler keeps `logging.warning` from configuring the root logger behind our back."""
    root, exporter = logging.getLogger(), logging.getLogger("torch.onnx")
    guard, level = logging.NullHandler(), exporter.level

    def drop(record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()

    root.addHandler(guard)
    root.addFilter(drop)
    exporter.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            for category in (FutureWarning, UserWarning, DeprecationWarning):
                warnings.simplefilter("ignore", category=category)
            yield
    finally:
        exporter.setLevel(level)
        root.removeFilter(drop)
        root.removeHandler(guard)


def _session(graph: bytes, threads: int) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: its graph notes are not the operator's business
    return onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
