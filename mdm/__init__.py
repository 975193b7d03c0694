"""The master data hub: settings, the Celery app and the golden-record domain."""

from mdm.celery import app as celery_app

__all__ = ("celery_app",)
