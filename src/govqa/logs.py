"""Structured logs for the server: one JSON object (or key=value line) per event, on stderr.

Fields: ts, level, logger, msg, plus whatever a call passes in `extra` (event, method, path,
status, ms, generation, ...). Passage text and queries are never logged at info level:
a query is logged only at debug (GOVQA_LOG_LEVEL=debug), for a site that wants to see them.
"""

from __future__ import annotations

import json
import logging
import time

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "color_message"}


def _fields(record: logging.LogRecord) -> dict:
    fields = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
              "level": record.levelname.lower(), "logger": record.name, "msg": record.getMessage()}
    fields.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
    if record.exc_info:
        fields["error"] = logging.Formatter().formatException(record.exc_info)
    return fields


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_fields(record), ensure_ascii=False, default=str)


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{k}={_kv(v)}" for k, v in _fields(record).items())


def _kv(value) -> str:
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if (not text or any(c in text for c in ' "=\n')) else text


def logging_config(level: str = "info", fmt: str = "json") -> dict:
    """A logging.config.dictConfig for govqa and uvicorn (uvicorn's own access log is replaced by ours)."""
    formatter = "govqa.logs.KeyValueFormatter" if fmt in ("kv", "text", "logfmt") else "govqa.logs.JsonFormatter"
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"govqa": {"()": formatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "govqa", "stream": "ext://sys.stderr"}},
        "loggers": {
            "govqa": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }
