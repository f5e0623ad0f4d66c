"""The bench's results: TTFT added to direct's, CPU next to the floor's, the table and the
project's targets for the proxy (PASS/FAIL/SKIP).
"""

from __future__ import annotations

from statistics import median
from typing import Any

from bench.load import Cell
from bench.synthetic import CHUNKS, FIRST_SENTENCE_CHUNKS, PACINGS, STEP_CHUNKS

# Targets the project sets for this proxy (policy none); see the issue.
TTFT_TARGET_MS = 1.5
CPU_VS_FLOOR_MAX = 1.5
CPU_VS_LITELLM_MIN = 10.0
RSS_TARGET_MB = 120.0
# Targets for sentence release against step release (issue 14), at c=1, 5 ms a chunk.
SENTENCE_PACING = "paced-5ms"
SENTENCE_TTFT_VS_STEP_MAX = 0.25
# Over "the first sentence's chunks + one score call": the score call's round trip on
# 127.0.0.1 and the event loops' turns, 3.5 ms together for either release on the loaded
# 2-core box (2026-12, instant scorer and 15 ms alike).
SENTENCE_SLACK_MS = 5.0
MONITOR_TTFT_MAX_MS = 1.0  # issue 13: policy monitor within 1 ms of policy none
SENTENCE_CPU_VS_STEP_MAX = 1.5


def compare(cells: list[Cell]) -> None:
    """Fill in the added TTFT (versus direct) and the CPU ratio to the floor, per cell."""
    by_key = {(c.target, c.pacing, c.concurrency): c for c in cells}
    for cell in cells:
        direct = by_key.get(("direct", cell.pacing, cell.concurrency))
        floor = by_key.get(("floor", cell.pacing, cell.concurrency))
        if direct and cell.target != "direct" and cell.ok and direct.ok:
            cell.added_med_ms = cell.ttft_med_ms - direct.ttft_med_ms
            cell.added_p99_ms = cell.ttft_p99_ms - direct.ttft_p99_ms
        if floor and floor.cpu_per_1k and cell.cpu_per_1k is not None:
            cell.cpu_vs_floor = cell.cpu_per_1k / floor.cpu_per_1k


def overall_cpu_per_1k(cells: list[Cell], target: str) -> float | None:
    mine = [c for c in cells if c.target == target and c.cpu_s is not None]
    if not mine:
        return None
    return sum(c.cpu_s or 0.0 for c in mine) / sum(c.requests * CHUNKS for c in mine) * 1000


def checks(cells: list[Cell], target: str, litellm_skipped: str | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    mine = [c for c in cells if c.target == target]
    if not mine:
        return out
    c1 = [c for c in mine if c.concurrency == 1 and c.added_med_ms is not None]
    worst = max((c.added_med_ms or 0.0 for c in c1), default=None)
    out.append(
        {
            "check": f"added TTFT median at c=1 <= {TTFT_TARGET_MS} ms (worst pacing)",
            "value": None if worst is None else round(worst, 3),
            "pass": worst is not None and worst <= TTFT_TARGET_MS,
            "note": ", ".join(f"{c.pacing} {c.added_med_ms:.2f} ms" for c in c1),
        }
    )
    cpu, floor = overall_cpu_per_1k(cells, target), overall_cpu_per_1k(cells, "floor")
    ratio = cpu / floor if cpu is not None and floor else None
    out.append(
        {
            "check": f"CPU per chunk <= {CPU_VS_FLOOR_MAX}x the floor (all cells)",
            "value": None if ratio is None else round(ratio, 3),
            "pass": ratio is not None and ratio <= CPU_VS_FLOOR_MAX,
        }
    )
    litellm = overall_cpu_per_1k(cells, "litellm")
    below = litellm / cpu if litellm is not None and cpu else None
    out.append(
        {
            "check": f"CPU per chunk >= {CPU_VS_LITELLM_MIN:g}x below LiteLLM (all cells)",
            "value": None if below is None else round(below, 2),
            "pass": None if below is None else below >= CPU_VS_LITELLM_MIN,
            "note": f"LiteLLM skipped: {litellm_skipped}" if below is None else "",
        }
    )
    rss = max((c.peak_rss_mb or 0.0 for c in mine), default=0.0)
    out.append(
        {
            "check": f"peak RSS < {RSS_TARGET_MB:g} MB",
            "value": round(rss, 1),
            "pass": rss < RSS_TARGET_MB,
        }
    )
    return out


def sentence_checks(repeats: list[list[Cell]], score_ms: float) -> list[dict[str, Any]]:
    """Sentence release (``safethink-sentence``) against step release (``safethink-safethink``):
    the TTFT each adds over ``safethink-none`` (median at c=1, paced), and the CPU per chunk.
    With several repeats, each value is the median of the repeats' values."""
    added = [pair for cells in repeats if (pair := _added_over_none(cells)) is not None]
    sentence = _median([a for a, _ in added])
    step = _median([b for _, b in added])
    ratio = _median([a / b for a, b in added if b > 0])
    pace = PACINGS[SENTENCE_PACING]
    bound = FIRST_SENTENCE_CHUNKS * pace + score_ms + SENTENCE_SLACK_MS
    cpu = _median(
        [
            a / b
            for cells in repeats
            if (a := overall_cpu_per_1k(cells, "safethink-sentence")) is not None
            and (b := overall_cpu_per_1k(cells, "safethink-safethink"))
        ]
    )
    missing = "needs safethink-none, safethink-safethink and safethink-sentence"
    where = f"{SENTENCE_PACING}, c=1, over safethink-none"
    return [
        {
            "check": f"sentence release's added TTFT <= {SENTENCE_TTFT_VS_STEP_MAX:g}x step"
            f" release's ({where})",
            "value": _round(ratio, 3),
            "pass": None if ratio is None else ratio <= SENTENCE_TTFT_VS_STEP_MAX,
            "note": missing
            if sentence is None or step is None
            else f"sentence +{sentence:.2f} ms, step +{step:.2f} ms",
        },
        {
            "check": "sentence release's added TTFT <= one sentence + one score call + slack"
            f" ({FIRST_SENTENCE_CHUNKS} chunks x {pace:g} ms + {score_ms:g} ms"
            f" + {SENTENCE_SLACK_MS:g} ms = {bound:g} ms; {where})",
            "value": _round(sentence, 2),
            "pass": None if sentence is None else sentence <= bound,
            "note": missing if sentence is None else "",
        },
        {
            "check": f"CPU per chunk, sentence release <= {SENTENCE_CPU_VS_STEP_MAX:g}x step"
            " release (all cells)",
            "value": _round(cpu, 3),
            "pass": None if cpu is None else cpu <= SENTENCE_CPU_VS_STEP_MAX,
            "note": missing if cpu is None else "",
        },
    ]


def monitor_checks(repeats: list[list[Cell]]) -> list[dict[str, Any]]:
    """Policy monitor scores beside the stream: its TTFT (median at c=1, paced) within
    ``MONITOR_TTFT_MAX_MS`` of policy none's. The unpaced gap is printed, not checked: a burst
    of 200 chunks at once costs the engine's parse and render CPU that a byte relay does not
    spend, on the cores the load generator shares, so it measures the box as much as the path.
    With several repeats, each value is the median of the repeats'."""
    gaps: dict[str, list[float]] = {pacing: [] for pacing in PACINGS}
    for cells in repeats:
        ttft = {(c.target, c.pacing): c.ttft_med_ms for c in cells if c.concurrency == 1 and c.ok}
        for pacing, found in gaps.items():
            if ("safethink-monitor", pacing) in ttft and ("safethink-none", pacing) in ttft:
                found.append(ttft[("safethink-monitor", pacing)] - ttft[("safethink-none", pacing)])
    paced, unpaced = _median(gaps[SENTENCE_PACING]), _median(gaps["unpaced"])
    note = "needs safethink-none and safethink-monitor" if paced is None else (
        f"unpaced: {unpaced:+.2f} ms" if unpaced is not None else "")
    return [{
        "check": f"monitor's added TTFT over policy none <= {MONITOR_TTFT_MAX_MS:g} ms"
                 f" ({SENTENCE_PACING}, c=1)",
        "value": _round(paced, 2),
        "pass": None if paced is None else paced <= MONITOR_TTFT_MAX_MS,
        "note": note,
    }]


def held_step_latency(repeats: list[list[Cell]]) -> list[dict[str, Any]]:
    """What the scorer adds per held step, at c=1, per pacing, for step release
    (``safethink-safethink``), two ways (each the median over the repeats):

    - from TTFT: the step target's TTFT minus ``safethink-none``'s (the same difference the
      sentence checks take), less the first step's arrival after its first chunk
      (``STEP_CHUNKS - 1`` chunks at the pacing). Step release's first text is the first step,
      released once scored, so its TTFT holds exactly one held step's wait;
    - from the proxy's own histogram: the mean time a complete held unit waited for its verdict
      (``safethink_proxy_added_seconds``) over the cell's streams, and the mean score call.
    """
    out: list[dict[str, Any]] = []
    for pacing, pace in PACINGS.items():
        over_none: list[float] = []
        waits: list[float] = []
        calls: list[float] = []
        held: list[float] = []
        for cells in repeats:
            c1 = {c.target: c for c in cells if c.pacing == pacing and c.concurrency == 1}
            step, none = c1.get("safethink-safethink"), c1.get("safethink-none")
            if step is None or not step.ok:
                continue
            if none is not None and none.ok:
                over_none.append(step.ttft_med_ms - none.ttft_med_ms)
            if step.held_wait_ms is not None:
                waits.append(step.held_wait_ms)
                held.append((step.held_units or 0) / step.requests)
            if step.score_call_ms is not None:
                calls.append(step.score_call_ms)
        if not (over_none or waits):
            continue
        arrival = (STEP_CHUNKS - 1) * pace
        added = _median(over_none)
        out.append(
            {
                "pacing": pacing,
                "ttft_over_none_ms": _round(added, 2),
                "first_step_arrival_ms": arrival,
                "per_held_step_from_ttft_ms": _round(None if added is None else added - arrival, 2),
                "held_wait_mean_ms": _round(_median(waits), 2),
                "held_steps_per_stream": _round(_median(held), 2),
                "score_call_mean_ms": _round(_median(calls), 2),
            }
        )
    return out


def print_held_step(rows: list[dict[str, Any]], reward: str, score_ms: float) -> None:
    if not rows:
        return
    scorer = "embedded (the proxy's in-process default)" if reward == "embedded" else (
        f"synthetic, {score_ms:g} ms a call")
    print(f"\nadded latency per held step, step release at c=1 (scorer: {scorer}):")
    for row in rows:
        print(
            f"  {row['pacing']:<9} TTFT over safethink-none"
            f" {fmt(row['ttft_over_none_ms'], '7.2f')} ms"
            f" - first step's arrival {row['first_step_arrival_ms']:g} ms ="
            f" {fmt(row['per_held_step_from_ttft_ms'], '7.2f')} ms per held step;"
            f" proxy histogram: held step's wait {fmt(row['held_wait_mean_ms'], '6.2f')} ms"
            f" ({fmt(row['held_steps_per_stream'], '4.1f')} held a stream),"
            f" score call {fmt(row['score_call_mean_ms'], '6.2f')} ms"
        )


def _added_over_none(cells: list[Cell]) -> tuple[float, float] | None:
    """The median TTFT at c=1, paced, of sentence and of step release, each minus policy
    none's; None when one of the three did not run (or had no stream succeed)."""
    ttft = {
        c.target: c.ttft_med_ms
        for c in cells
        if c.pacing == SENTENCE_PACING and c.concurrency == 1 and c.ok
    }
    if not {"safethink-none", "safethink-safethink", "safethink-sentence"} <= ttft.keys():
        return None
    none = ttft["safethink-none"]
    return ttft["safethink-sentence"] - none, ttft["safethink-safethink"] - none


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def against_baselines(
    repeats: list[list[Cell]], baselines: dict[str, dict[str, str]]
) -> list[dict[str, Any]]:
    """Per baseline target: its CPU per 1,000 chunks and its added TTFT at c=1 next to the new
    target's of the same policy, each repeat's, and their medians (a ratio's median is taken
    over the repeats' ratios, each from one stretch of the box's load)."""
    out: list[dict[str, Any]] = []
    for name, info in baselines.items():
        if not any(c.target == name for cells in repeats for c in cells):
            continue  # not run (--targets left its new counterpart out, or it did not start)
        new: list[float] = []
        base: list[float] = []
        ratios: list[float] = []
        for cells in repeats:
            cpu_new = overall_cpu_per_1k(cells, info["new"])
            cpu_base = overall_cpu_per_1k(cells, name)
            if cpu_new is not None and cpu_base:
                new.append(cpu_new)
                base.append(cpu_base)
                ratios.append(cpu_new / cpu_base)
        ttft = {
            pacing: {
                "new": _median(_added_c1(repeats, info["new"], pacing)),
                "base": _median(_added_c1(repeats, name, pacing)),
            }
            for pacing in PACINGS
        }
        out.append(
            {
                "baseline": name,
                "new": info["new"],
                "policy": info["policy"],
                "cpu_per_1k_new": _median(new),
                "cpu_per_1k_base": _median(base),
                "cpu_ratio": _median(ratios),
                "cpu_ratios": [round(r, 3) for r in ratios],
                "added_ttft_c1_ms": ttft,
            }
        )
    return out


def _added_c1(repeats: list[list[Cell]], target: str, pacing: str) -> list[float]:
    return [
        c.added_med_ms
        for cells in repeats
        for c in cells
        if c.target == target
        and c.pacing == pacing
        and c.concurrency == 1
        and c.added_med_ms is not None
    ]


def _median(values: list[float]) -> float | None:
    return median(values) if values else None


def fmt(value: float | None, spec: str = "7.2f") -> str:
    if value is None or value != value:  # None or NaN
        return "-".rjust(int(spec.split(".")[0]))
    return format(value, spec)


def print_table(cells: list[Cell]) -> None:
    header = (
        f"{'target':<22} {'pacing':<9} {'conc':>4} {'ok/n':>7} {'ttft med':>8} {'ttft p99':>8}"
        f" {'+med ms':>8} {'+p99 ms':>8} {'stream ms':>9} {'cpu s/1k':>8} {'x floor':>7}"
        f" {'rss MB':>7}"
    )
    print(header)
    print("-" * len(header))
    for c in cells:
        print(
            f"{c.target:<22} {c.pacing:<9} {c.concurrency:>4} {f'{c.ok}/{c.requests}':>7}"
            f" {fmt(c.ttft_med_ms, '8.2f')} {fmt(c.ttft_p99_ms, '8.2f')}"
            f" {fmt(c.added_med_ms, '8.2f')} {fmt(c.added_p99_ms, '8.2f')}"
            f" {fmt(c.stream_med_ms, '9.1f')} {fmt(c.cpu_per_1k, '8.3f')}"
            f" {fmt(c.cpu_vs_floor, '7.2f')} {fmt(c.peak_rss_mb, '7.1f')}"
        )
        for error in c.errors[:3]:
            print(f"    ! {error[:150]}")


def print_baselines(rows: list[dict[str, Any]], repeats: int) -> None:
    if not rows:
        return
    print(
        f"\nnew vs baseline, medians of {repeats} repeat(s): cpu s/1k chunks over all cells,"
        " ratio = new / baseline (each repeat's in brackets), +ttft = added TTFT median at c=1"
    )
    for row in rows:
        ttft = "  ".join(
            f"+ttft {pacing} {fmt(both['new'], '5.2f')} vs {fmt(both['base'], '5.2f')} ms"
            for pacing, both in row["added_ttft_c1_ms"].items()
        )
        ratios = " ".join(f"{r:.3f}" for r in row["cpu_ratios"])
        print(
            f"  {row['new']:<20} vs {row['baseline']:<24} cpu {fmt(row['cpu_per_1k_new'], '6.4f')}"
            f" vs {fmt(row['cpu_per_1k_base'], '6.4f')}  ratio {fmt(row['cpu_ratio'], '5.3f')}"
            f" [{ratios}]  {ttft}"
        )


def report(result: dict[str, Any]) -> None:
    cells = [Cell(**c) for c in result["cells"]]
    config = result["config"]
    print()
    print(
        f"{CHUNKS} chunks a stream; c=1: {config['c1_requests']} streams, c>1: "
        f"{config['rounds']} per worker; ttft/stream in ms; +med/+p99 = TTFT added to direct's;"
        f" cpu s/1k = proxy CPU seconds per 1,000 chunks; rss = peak RSS (VmHWM)"
    )
    print_table(cells)
    print()
    names = ("floor", "safethink-none", "safethink-safethink", "safethink-sentence", "litellm")
    for name in (*names, *config["baselines"]):
        cpu = overall_cpu_per_1k(cells, name)
        if cpu is not None:
            print(f"overall CPU s/1k chunks  {name:<24} {cpu:.3f}")
    print_baselines(result["baseline"], config["repeats"])
    print_held_step(result.get("held_step", []), config.get("reward", "synthetic"),
                    config["score_ms"])
    for name, items in result["checks"].items():
        print(f"\ntargets for {name}:")
        for item in items:
            verdict = {True: "PASS", False: "FAIL", None: "SKIP"}[item["pass"]]
            note = f"  ({item['note']})" if item.get("note") else ""
            print(f"  {verdict}  {item['check']}: {item['value']}{note}")
    for name, why in result["skipped"].items():
        print(f"\nskipped {name}: {why}")
    print(f"\nlogs: {config['logs']}; took {config['seconds']}s")
