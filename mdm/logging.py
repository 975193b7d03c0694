"""Adds the audit context (correlation id, origin, actor) to every log record,
so one action can be followed from the request through tasks to deliveries."""

import logging

from mdm.audit import _task_correlation, current


class CorrelationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        ctx = current()
        record.correlation_id = (ctx.correlation_id if ctx else None) or _task_correlation.get() or "-"
        record.origin = ctx.origin if ctx else ""
        record.actor = ctx.effective_actor() if ctx else ""
        return True
