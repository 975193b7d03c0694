"""Periodic connector jobs (Celery beat; see ``CELERY_BEAT_SCHEDULE``):

* ``pull_tryton``: the incremental inbound pull from Tryton (environment:
  ``MDM_TRYTON_URL``, ``MDM_TRYTON_DATABASE``, ``MDM_TRYTON_USER``,
  ``MDM_TRYTON_PASSWORD``), resuming from the newest Tryton write already
  pulled minus a small overlap (re-reading a record is harmless);
* ``reconcile_systems``: the drift report for every subscribed system whose
  connector can read back, logged; with ``MDM_RECONCILE_RESEND=true`` the
  drifted records are re-sent."""

from __future__ import annotations

import datetime as dt
import logging
import os

from celery import shared_task

log = logging.getLogger("sync")
OVERLAP = dt.timedelta(minutes=5)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def pull_tryton() -> dict:
    from sync.connectors.tryton.client import TrytonClient
    from sync.connectors.tryton.inbound import last_pulled_at, pull

    url, database = os.environ.get("MDM_TRYTON_URL"), os.environ.get("MDM_TRYTON_DATABASE")
    password = os.environ.get("MDM_TRYTON_PASSWORD", "")
    if not (url and database and password):
        log.warning("tryton pull: set MDM_TRYTON_URL, MDM_TRYTON_DATABASE and MDM_TRYTON_PASSWORD")
        return {}
    since = last_pulled_at()
    client = TrytonClient(url, database, os.environ.get("MDM_TRYTON_USER", "admin"), password)
    try:
        report = pull(client, since=since - OVERLAP if since else None)
    finally:
        client.close()
    log.info("tryton pull: %s", report.summary())
    return dict(report.counts)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def reconcile_systems() -> dict:
    from mdm.audit import audit_context
    from mdm.choices import Origin
    from sync.connectors.base import DeliveryError
    from sync.connectors.reconcile import drift_report, resend_drift
    from sync.models import Subscription

    out = {}
    resend = os.environ.get("MDM_RECONCILE_RESEND", "").lower() in ("1", "true", "yes")
    for sub in Subscription.objects.select_related("system").filter(active=True):
        try:
            report = drift_report(sub.system.code)
        except DeliveryError as exc:
            log.warning("reconcile %s: %s", sub.system.code, exc.message)
            continue
        if report.unsupported:
            continue
        out[sub.system.code] = report.counts()
        log.info("reconcile %s: %s checked, %s in sync, %s", sub.system.code, report.checked, report.in_sync,
                 report.counts())
        if resend and report.drift:
            with audit_context(origin=Origin.SYNC, reason=f"sync:{sub.system.code} scheduled reconcile re-send"):
                resend_drift(report)
    return out
