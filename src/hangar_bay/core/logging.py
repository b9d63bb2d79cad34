"""Structured logging for the whole process.

Standard-library loggers (uvicorn, SQLAlchemy, httpx, our own modules) and structlog
loggers all go through one structlog formatter, so every module's messages show up in
one format: JSON lines in production, a readable console in development. Context
variables (the request id, anything bound with structlog's contextvars) are merged into
every line.
"""

from __future__ import annotations

import datetime as dt
import logging
import logging.config
import re
from functools import lru_cache
from typing import Any, TextIO

import orjson
import structlog
from structlog.types import EventDict, Processor

from hangar_bay.core.request_id import current_request_id

# Keys whose values must never reach a log line, wherever they appear.
_SECRET_KEYS = re.compile(
    r"(authorization|cookie|set-cookie|token|secret|password|api[_-]?key|client_secret)", re.I
)
REDACTED = "[redacted]"


@lru_cache(maxsize=4096)
def _is_secret(key: str) -> bool:
    # Log lines reuse a handful of keys: remember the answer instead of a regex per key.
    return _SECRET_KEYS.search(key) is not None


def _redact_secrets(_: Any, __: str, event_dict: EventDict) -> EventDict:
    for key in list(event_dict):
        if _is_secret(key):
            event_dict[key] = REDACTED
    return event_dict


def _dumps(value: Any, **_: Any) -> str:
    # orjson: several times faster than the standard library for the access log's lines.
    return orjson.dumps(value, default=repr).decode()


def _add_request_id(_: Any, __: str, event_dict: EventDict) -> EventDict:
    # Read straight from the request id's context variable: cheaper per request than
    # binding and unbinding it through structlog's contextvars.
    request_id = current_request_id()
    if request_id is not None and "request_id" not in event_dict:
        event_dict["request_id"] = request_id
    return event_dict


def configure_logging(*, level: str = "INFO", json: bool = False) -> None:
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        _add_request_id,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact_secrets,
    ]
    # Plain tracebacks in the console: the default "rich" formatter renders every frame's
    # locals, which took 10+ s for one error and stalled the event loop meanwhile.
    renderer: Processor = (
        structlog.processors.JSONRenderer(serializer=_dumps)
        if json
        else structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    )
    formatter_processors: list[Processor] = [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
    ]
    if json:
        formatter_processors.append(structlog.processors.format_exc_info)
    formatter_processors.append(renderer)

    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "structlog": {
                    "()": structlog.stdlib.ProcessorFormatter,
                    "processors": formatter_processors,
                    "foreign_pre_chain": shared,
                }
            },
            "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "structlog"}},
            "root": {"handlers": ["default"], "level": level.upper()},
            "loggers": {
                # Our access log replaces uvicorn's, which would log every request twice.
                "uvicorn.access": {"handlers": [], "propagate": False},
                "uvicorn.error": {"level": level.upper()},
                "httpx": {"level": "WARNING"},
                "httpcore": {"level": "WARNING"},
                "aiosqlite": {"level": "WARNING"},
                # "setup plugin ..." for each of Alembic's built-in plugins, at import.
                "alembic.runtime.plugins": {"level": "WARNING"},
            },
        }
    )
    structlog.configure(
        processors=[
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    global _access_stream
    handler = logging.getLogger().handlers[0]
    _access_stream = handler.stream if json and isinstance(handler, logging.StreamHandler) else None


ACCESS_LOGGER = "hangar_bay.access"
_access = logging.getLogger(ACCESS_LOGGER)
# Where JSON lines go (the root handler's stream), or None outside JSON mode.
_access_stream: TextIO | None = None


def log_access(method: str, route: str, path: str, status: int, duration_ms: float) -> None:
    """Log one request's access line (event ``request`` on ``hangar_bay.access``).

    In JSON mode (production) the line is written straight to the log stream, with the
    keys every other line has (request id, level, logger, UTC timestamp): the standard
    library's record, handler and formatter machinery was a fifth of a cached request's
    cost. Elsewhere it goes through structlog like any other line. Its fields hold no
    secrets (the path has no query string), so nothing needs redacting.
    """
    stream = _access_stream
    if stream is None:
        get_logger(ACCESS_LOGGER).info(
            "request",
            method=method,
            route=route,
            path=path,
            status=status,
            duration_ms=duration_ms,
        )
        return
    if not _access.isEnabledFor(logging.INFO):
        return
    line = {
        "method": method,
        "route": route,
        "path": path,
        "status": status,
        "duration_ms": duration_ms,
        "event": "request",
        "level": "info",
        "logger": ACCESS_LOGGER,
        "timestamp": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
    }
    request_id = current_request_id()
    if request_id is not None:
        line["request_id"] = request_id
    stream.write(orjson.dumps(line).decode() + "\n")


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger
