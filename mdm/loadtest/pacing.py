"""How the load test's clients space their requests."""

from __future__ import annotations

import random
import time


def random_pacing(rate: float, *, clock=time.monotonic, rng: random.Random | None = None):
    """A locust ``wait_time``: each client on its own random schedule at
    ``rate`` requests/s on average — exponential gaps between planned starts
    (a Poisson stream, as independent systems make), each start waiting for
    the previous answer.

    Locust's ``constant_throughput`` starts the next request a fixed period
    after the previous one started, so after any slow moment every client
    whose answer came back in it fires again at the same instant and the
    fifty fall into step: bursts of fifty requests queueing behind each
    other on an otherwise idle server (p50 63 ms at 100 requests/s with 0.45
    of 2 cores busy; 6 ms with this pacing).  A client that falls more than
    a period behind resumes from now rather than sending what it missed in
    a burst."""
    rng = rng or random.Random()
    period = 1 / rate

    def wait_time_func(user) -> float:
        now = clock()
        planned = getattr(user, "_mdm_next_start", None)
        if planned is None:  # a random phase for the first request
            planned = now + rng.uniform(0, period)
        elif planned < now - period:
            planned = now
        user._mdm_next_start = planned + rng.expovariate(rate)
        return max(0.0, planned - now)

    return wait_time_func
