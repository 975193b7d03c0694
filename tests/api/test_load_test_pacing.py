"""The load test's clients arrive as independent systems do: a random
stream at the requested mean rate, never in step with each other."""

from __future__ import annotations

import random
from types import SimpleNamespace

from mdm.loadtest.pacing import random_pacing


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_clients_keep_the_mean_rate_with_random_gaps():
    clock, user = Clock(), SimpleNamespace()
    wait = random_pacing(5.0, clock=clock, rng=random.Random(1))
    gaps, last = [], None
    for _ in range(20_000):  # answers take no time: each request starts when its wait ends
        clock.now += wait(user)
        if last is not None:
            gaps.append(clock.now - last)
        last = clock.now
    mean = sum(gaps) / len(gaps)
    assert abs(mean - 0.2) < 0.01
    assert min(gaps) < 0.02 and max(gaps) > 1.0  # exponential, not a fixed period


def test_clients_start_in_different_phases():
    clock = Clock()
    firsts = {round(random_pacing(2.0, clock=clock, rng=random.Random(seed))(SimpleNamespace()), 6)
              for seed in range(50)}
    assert len(firsts) == 50 and all(0 <= f < 0.5 for f in firsts)


def test_a_client_that_fell_behind_resumes_from_now_without_a_burst():
    clock, user = Clock(), SimpleNamespace()
    wait = random_pacing(10.0, clock=clock, rng=random.Random(3))
    clock.now += wait(user)
    clock.now += 5.0  # a slow answer: fifty periods late
    assert wait(user) == 0.0  # this request goes now
    assert user._mdm_next_start > clock.now  # the next is planned from now, not from the missed schedule
