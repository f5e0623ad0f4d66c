"""Structured logs: one JSON object a line, with the request id where there is one.

Only what is passed as ``extra`` from the allow-list below is added to a line, so that prompts,
traces and keys never reach the log unless someone writes them into a message on purpose.
"""

from __future__ import annotations

import json
import logging
import time

from proxy.api.schemas import REPORT_COUNTS

_FIELDS = ("request_id", "model", "key", "policy", "outcome", *REPORT_COUNTS, "duration_ms",
           "status")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in _FIELDS:
            if hasattr(record, field):
                line[field] = getattr(record, field)
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(level: str, fmt: str) -> None:
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
