"""``python -m proxy`` / ``safethink-proxy``: flags for the common settings, the rest from
``SAFETHINK_*`` environment variables or the YAML file named by ``SAFETHINK_CONFIG``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import uvicorn

from proxy import logs
from proxy.app import create_app
from proxy.exceptions import ConfigError
from proxy.settings import POLICIES, Settings


def parse_args(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        prog="safethink-proxy",
        description="OpenAI-compatible guard proxy that steers reasoning models (SafeThink).",
    )
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default 8080)")
    parser.add_argument(
        "--upstream",
        dest="upstream_url",
        help="the model server's OpenAI base URL (default http://127.0.0.1:8000/v1)",
    )
    parser.add_argument("--reward", help="'embedded' (default) or the reward service's URL")
    parser.add_argument("--store", help="'memory' (default) or a redis:// URL")
    parser.add_argument("--policy", choices=POLICIES, help="the deployment's default policy")
    parser.add_argument(
        "--continuation",
        choices=("auto", "chat", "completions"),
        help="how a steered generation is re-issued (default auto)",
    )
    parser.add_argument(
        "--release",
        choices=("step", "sentence"),
        help="a guarded step reaches the client whole or a sentence at a time (default sentence)",
    )
    parser.add_argument("--tokenizer", help="tokenizer dir for completions-mode chat templates")
    parser.add_argument(
        "--chat-template",
        dest="chat_template",
        help="a Jinja chat template file for completions mode",
    )
    parser.add_argument(
        "--log-level", dest="log_level", choices=("debug", "info", "warning", "error")
    )
    args = vars(parser.parse_args(argv))
    return {key: value for key, value in args.items() if value is not None}


def main(argv: Sequence[str] | None = None) -> None:
    settings = Settings(**parse_args(argv))
    logs.configure(settings.log_level, settings.log_format)
    try:
        app = create_app(settings)
    except ConfigError as exc:  # a wrong models or keys file: one line that says what to fix
        raise SystemExit(f"safethink-proxy: {exc.message}") from None
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        log_config=None,
    )


if __name__ == "__main__":
    main()
