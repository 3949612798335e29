"""``working/restorekit.log``: the log of one ``prepare`` run, kept in the area it wrote."""

from __future__ import annotations

import logging
from contextlib import contextmanager

from restorekit.restore.layout import RestoreLayout
from restorekit.sources.archive import mask_secrets

log = logging.getLogger("restorekit.prepare")


class _MaskingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask_secrets(super().format(record))


@contextmanager
def run_log(layout: RestoreLayout):
    """``working/restorekit.log``: what this run decided, fetched, retried and checked."""
    handler = logging.FileHandler(layout.working / "restorekit.log", encoding="utf-8")
    handler.setFormatter(_MaskingFormatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("restorekit")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(min(level or logging.INFO, logging.INFO))
    try:
        yield
    except Exception as exc:
        log.error("stopped: %s", exc)
        raise
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        handler.close()
