"""The load test's CPU accounting (``mdm.loadtest.runner.CpuMeter``): the
server's processes are counted from their CPU at the start, and one that
starts and ends during the run (a database backend replaced after
``DB_CONN_MAX_AGE``) still counts, up to its last reading."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil

from mdm.loadtest.runner import CpuMeter

BURN = "import time\nt = time.process_time()\nwhile time.process_time() - t < {seconds}: pass\n"


class _Server:
    """Stands in for ``runner.Gunicorn``: the processes the meter counts as the web server."""

    def __init__(self):
        self.procs: list[subprocess.Popen] = []

    def processes(self):
        out = []
        for p in self.procs:
            try:
                out.append(psutil.Process(p.pid))
            except psutil.NoSuchProcess:
                continue
        return out

    def celery_processes(self):
        return []


def _burn(seconds: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", BURN.format(seconds=seconds)])


def test_counts_only_the_run_and_a_process_that_ended_during_it():
    server = _Server()
    before = _burn(0.4)
    server.procs.append(before)
    before.wait()  # its CPU was used before the run: not counted (and it has ended)
    meter = CpuMeter(server)
    meter.INTERVAL = 0.05
    meter.start()
    during = _burn(0.5)
    server.procs.append(during)
    time.sleep(0.2)  # the meter reads it while it runs ...
    during.wait()  # ... and it ends before the meter stops
    cpu = meter.stop()
    assert 0.15 <= cpu["gunicorn"] <= 0.6
    assert cpu["postgres"] >= 0.0
    assert cpu["wall"] > 0.0 and cpu["machine"] >= cpu["gunicorn"] * 0.5


def test_the_machine_speed_reading_times_the_same_work_each_time():
    from mdm.loadtest.runner import machine_speed

    (first_ms, first_work), (second_ms, second_work) = machine_speed(), machine_speed()
    assert first_work == second_work  # the same work, so the times compare the machine, not the code
    assert 0 < first_ms < 60_000 and 0 < second_ms < 60_000
