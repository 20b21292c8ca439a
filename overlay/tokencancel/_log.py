"""`TOKENCANCEL_LOG`: the library's log on stderr without configuring logging, like `OPENAI_LOG`.

Read once, when `tokencancel` is first imported. `TOKENCANCEL_LOG=debug`, `info` or `warning`
adds one stderr handler, with the redacting filter, to the `tokencancel` logger and sets the
logger's level; `debug` does the same for `httpx2` (one line per request, as `OPENAI_LOG=debug`
does for httpx). Unset or empty, the library prints nothing: its logger has only a
`NullHandler` until the application configures logging. An unknown value is reported on one
stderr line and otherwise ignored, since failing an import over a debugging switch would turn a
typo into an outage.

The `tokencancel` command has its own stderr logging (`-v`); while it runs, the handler from
here steps aside (`suspended`) so nothing is written twice, and its level still counts.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from typing import Final, TextIO

from ._environment import LOG_VARIABLE
from ._redact import install_log_redaction, redacting_filter

__all__ = ["ENV_VAR", "LEVELS", "configure_from_env", "suspended"]

ENV_VAR: Final = LOG_VARIABLE
LEVELS: Final = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The loggers each level turns on: the library's, and at debug httpx2's request lines too.
_LOGGERS: Final = {
    logging.DEBUG: ("tokencancel", "httpx2"),
    logging.INFO: ("tokencancel",),
    logging.WARNING: ("tokencancel",),
}


class _StderrHandler(logging.StreamHandler[TextIO]):
    """A handler writing to whatever `sys.stderr` is when a record is emitted.

    Bound at emit time rather than at import, so that a test runner's or an application's
    replacement of `sys.stderr` is honoured.
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        del value  # always sys.stderr


_handler: _StderrHandler | None = None
_configured: tuple[int, tuple[str, ...]] | None = None


def configure_from_env(env: Mapping[str, str] = os.environ) -> int | None:
    """Turn on stderr logging if `TOKENCANCEL_LOG` asks for it; return the level, or None."""
    global _handler, _configured  # noqa: PLW0603 -- one handler per process, as with OPENAI_LOG
    value = env.get(ENV_VAR, "").strip().lower()
    if not value:
        return None
    level = LEVELS.get(value)
    if level is None:
        with contextlib.suppress(OSError):
            sys.stderr.write(
                f"tokencancel: {ENV_VAR}={value[:40]!r} is not one of "
                f"{', '.join(LEVELS)}; ignored\n"
            )
        return None
    if _handler is None:
        _handler = _StderrHandler()
        _handler.setFormatter(logging.Formatter(FORMAT))
        # On the handler the filter sees every record it writes, httpx2's included.
        _handler.addFilter(redacting_filter())
    install_log_redaction()
    names = _LOGGERS[level]
    for name in names:
        logger = logging.getLogger(name)
        logger.setLevel(level)
        if _handler not in logger.handlers:
            logger.addHandler(_handler)
    _configured = (level, names)
    return level


def configured_level() -> int | None:
    """The level `TOKENCANCEL_LOG` set, or None."""
    return None if _configured is None else _configured[0]


@contextlib.contextmanager
def suspended() -> Iterator[int | None]:
    """Detach the `TOKENCANCEL_LOG` handler and levels meanwhile; yield the level it had set.

    For the command line, whose own stderr handler then writes every record once, at the more
    verbose of `-v` and `TOKENCANCEL_LOG`.
    """
    if _configured is None or _handler is None:
        yield None
        return
    level, names = _configured
    loggers = [logging.getLogger(name) for name in names]
    for logger in loggers:
        logger.removeHandler(_handler)
        logger.setLevel(logging.NOTSET)
    try:
        yield level
    finally:
        for logger in loggers:
            logger.setLevel(level)
            logger.addHandler(_handler)
