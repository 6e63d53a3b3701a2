"""One log line per forwarded request, with nothing secret in it.

The line names the method, the path with the query's parameter *names* only, the status, the
time taken and the body bytes sent back. The gateway's own ``/healthz`` and ``/metrics`` are not
logged (probes every few seconds would drown the rest). Never a header, never a query value:
a token can hide in ``Private-Token``, ``Authorization`` or ``private_token=…``, and a value can
be anything.
"""

from __future__ import annotations

import logging

LOGGER_NAME = "pac_tui.gateway"
logger = logging.getLogger(LOGGER_NAME)


def log_request(
    method: str, path: str, status: int, seconds: float, sent_bytes: int, note: str = ""
) -> None:
    """Log a finished request; `path` must already be `target.loggable` (no query values)."""
    if not logger.isEnabledFor(logging.INFO):
        return
    suffix = f" ({note})" if note else ""
    logger.info("%s %s %d %.1fms %dB%s", method, path, status, seconds * 1000.0, sent_bytes, suffix)


# aiohttp's own loggers: a malformed request is logged with the parser's message, which can
# quote the offending header line, and that line can be a token.
AIOHTTP_LOGGERS = (
    "aiohttp.access",
    "aiohttp.client",
    "aiohttp.internal",
    "aiohttp.server",
    "aiohttp.web",
    "aiohttp.websocket",
)


class ExceptionTypeOnly(logging.Filter):
    """Keep a record, but replace its exception (message and traceback) by the type's name."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            name = type(record.exc_info[1]).__name__
            record.msg = f"{record.getMessage()} ({name})"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True


def redact_aiohttp_logs() -> None:
    """Install `ExceptionTypeOnly` on aiohttp's loggers (once; safe to call again)."""
    for name in AIOHTTP_LOGGERS:
        target = logging.getLogger(name)
        if not any(isinstance(f, ExceptionTypeOnly) for f in target.filters):
            target.addFilter(ExceptionTypeOnly())
