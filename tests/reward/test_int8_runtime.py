"""The cross-encoder's CPU runtime: MiniLM exported to ONNX with int8 weights. It must judge as
the torch model does, build its graph once and keep it, and survive a cache it cannot use; its
weights are 8-bit only on a CPU whose int8 dot product cannot saturate."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import onnx
import pytest
import torch

from reward_service.backends.cross_encoder import CrossEncoderBackend
from reward_service.backends.embedder import packaged_minilm
from reward_service.backends.onnx_int8 import Int8Model, graph_key, has_int8_dot
from reward_service.engine import create_engine
from reward_service.exceptions import ConfigError
from reward_service.pairmodel import default_weights_dir, load_pair_model
from reward_service.schemas import ScoreItem
from reward_service.settings import RewardSettings
from tests.reward.test_cross_encoder import (
    BENIGN,
    BENIGN_ANSWER,
    COMPLIANCE,
    HARMFUL,
    REFUSALS,
    long_wrapper,
)

ITEMS = [(HARMFUL, ""), (BENIGN, ""), (BENIGN, BENIGN_ANSWER), (long_wrapper(HARMFUL, 0.5), ""),
         *((HARMFUL, text) for text in REFUSALS.values()),
         *((HARMFUL, text) for text in COMPLIANCE.values())]


async def score(settings: RewardSettings) -> tuple[str, list[float]]:
    async with create_engine(settings) as engine:
        results = await engine.score([ScoreItem(prompt=p, trace=t) for p, t in ITEMS])
        return engine.model_name, [r.score for r in results]


INT8 = RewardSettings(device="cpu", cross_encoder_runtime="onnx-int8")


async def test_int8_judges_as_torch_does() -> None:
    name, int8 = await score(INT8)
    torch_name, reference = await score(RewardSettings(device="cpu",
                                                       cross_encoder_runtime="torch"))
    assert "onnx-int8" in name and "torch" in torch_name
    assert [s > 0 for s in int8] == [s > 0 for s in reference]
    assert int8 == pytest.approx(reference, abs=0.25)


async def test_on_a_cpu_the_default_is_int8_with_7_bit_weights_unless_it_has_a_dot_product(
) -> None:
    async with create_engine(RewardSettings(device="cpu")) as engine:
        bits = 8 if has_int8_dot() else 7
        assert engine.model_name.endswith(f"(onnx-int8, {bits}-bit weights)")


XEON = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni amx_int8\n"
EPYC_AVX2 = "processor\t: 0\nflags\t\t: fpu sse2 fma avx avx2\nbugs\t\t: avx512_vnni\n"
ARM = "processor\t: 0\nFeatures\t: fp asimd asimddp\n"


@pytest.mark.parametrize(("cpuinfo", "has"), [(XEON, True), (EPYC_AVX2, False), (ARM, False),
                                              ("", False)])
def test_the_int8_dot_product_is_read_from_the_cpus_flags(cpuinfo: str, has: bool) -> None:
    assert has_int8_dot(cpuinfo) is has


def test_a_graph_with_7_bit_weights_is_cached_apart_from_one_with_8() -> None:
    keys = {graph_key("sha", packaged_minilm(), reduce_range=r) for r in (True, False)}
    assert len(keys) == 2


def one_backend(cache: Path) -> CrossEncoderBackend:
    backend = CrossEncoderBackend(RewardSettings(device="cpu", cross_encoder_runtime="onnx-int8",
                                                 cache_dir=str(cache)))
    backend.load()
    return backend


def test_the_int8_graph_is_built_once_and_a_damaged_one_is_rebuilt(tmp_path: Path) -> None:
    rows: list[tuple[list[int], list[int] | None]] = [([7592, 2088], [2023, 2003]), ([7592], None)]
    first = one_backend(tmp_path).logits(rows)
    graph, = tmp_path.glob("*.int8.onnx")
    built = graph.stat().st_mtime_ns
    assert one_backend(tmp_path).logits(rows) == first
    assert graph.stat().st_mtime_ns == built  # loaded, not rebuilt
    graph.write_bytes(b"not an onnx graph")
    assert one_backend(tmp_path).logits(rows) == first
    assert graph.stat().st_size > 1_000_000 and not list(tmp_path.glob("*.part"))


def test_the_graph_reads_attention_as_matmul_and_softmax_and_leaves_torch_as_it_was(
        tmp_path: Path) -> None:
    """Exported from SDPA, every layer's scores went through an IsNaN and a Where (the int8 graph
    took 22 ms where this one takes 14); the torch model the graph came from keeps its SDPA."""
    model, config, _ = load_pair_model(packaged_minilm(), default_weights_dir(),
                                       torch.device("cpu"), torch.float32)
    Int8Model.load(model, delta_sha256=config.sha256, base=packaged_minilm(), cache_dir=tmp_path,
                   threads=2, reduce_range=True)
    graph, = tmp_path.glob("*.int8.onnx")
    ops = Counter(node.op_type for node in onnx.load(graph).graph.node)
    assert ops["Softmax"] == 6 and ops["IsNaN"] == 0
    assert model.encoder.config._attn_implementation == "sdpa"


def test_a_cache_that_cannot_be_written_only_costs_a_rebuild(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("a file where the cache directory would go")
    backend = one_backend(blocked)
    assert len(backend.logits([([7592, 2088], None)])) == 1
    assert blocked.read_text().startswith("a file")


async def test_int8_off_the_cpu_or_from_bf16_is_refused_at_start() -> None:
    settings = RewardSettings(device="cpu", dtype="bfloat16", cross_encoder_runtime="onnx-int8")
    with pytest.raises(ConfigError, match="onnx-int8 runs on the CPU"):
        async with create_engine(settings):
            pass


async def test_an_item_scores_the_same_alone_as_in_a_batch_of_others() -> None:
    """int8 activations are scaled per call: the runtime must not let a batch's other rows (or
    their padding) move an item's score."""
    together = (await score(INT8))[1]
    async with create_engine(INT8) as engine:
        alone = [(await engine.score([ScoreItem(prompt=p, trace=t)]))[0].score for p, t in ITEMS]
    assert alone == pytest.approx(together, abs=1e-6)
