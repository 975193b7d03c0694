"""The fault test, smaller: approvals while the worker is SIGKILLed, the
broker restarts and the receiver fails — nothing lost, doubled or stale.
(``python manage.py fault_test_sync`` runs the full 1,000-change version.)"""

from __future__ import annotations

import shutil
import socket

import pytest
from django.db import connection

from sync import faulttest
from tests.conftest import require_service

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_worker_kill_broker_restart_and_failing_receiver_lose_double_and_reorder_nothing(django_db_setup):
    require_service("PostgreSQL", connection.vendor == "postgresql", "a worker process needs a shared database")
    require_service("redis-server", shutil.which("redis-server") is not None, "a private broker is started")
    lines = []
    report = faulttest.run(changes=250, redis_port=_free_port(), drain_timeout=120, log=lines.append)
    assert report["ok"], (report, lines)
    assert report["faults"] == {"receiver 500": 1, "receiver hangs": 1, "receiver ok": 1, "kill worker": 1,
                                "kill pool process": 1, "stop broker": 1, "start broker": 1}
    assert report["injected_failures_answered"] > 0  # the receiver really failed some tries
    assert report["side_effects"] == (report["deliveries_by_status"]["delivered"]
                                      + report["applied_then_superseded"])
