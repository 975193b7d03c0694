"""The Celery app (``celery -A mdm worker`` / ``celery -A mdm beat``).

Reliability settings live in ``mdm.settings`` under the ``CELERY_`` prefix:
late acknowledgement, reject on worker loss, prefetch 1.  Without a broker URL
(the zero-setup laptop default) tasks run eagerly in-process."""

import os

from celery import Celery
from celery.signals import before_task_publish, task_prerun, task_postrun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mdm.settings")

app = Celery("mdm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@before_task_publish.connect
def _carry_correlation_id(headers=None, **kwargs):
    """Carry the caller's correlation id from request to task."""
    from mdm.audit import current

    ctx = current()
    if headers is not None and ctx is not None and "correlation_id" not in headers:
        headers["correlation_id"] = ctx.correlation_id


@task_prerun.connect
def _bind_correlation_id(task=None, **kwargs):
    from mdm.audit import bind_task_correlation

    cid = getattr(task.request, "correlation_id", None) if task else None
    bind_task_correlation(cid)


@task_postrun.connect
def _unbind_correlation_id(**kwargs):
    from mdm.audit import bind_task_correlation

    bind_task_correlation(None)
