"""Fixtures for the matching tests: a small labelled data set, and one
matcher fitted on the demo generator's customers (as the shipped parameters
are), shared by the whole session (fitting takes seconds)."""

from __future__ import annotations

import pytest

from mdm.matching.builtin import builtin_spec
from mdm.matching.engine import Matcher
from mdm.matching.synthetic import customer_rows


@pytest.fixture(scope="session")
def customers() -> list[dict]:
    return list(customer_rows(600, seed=7))


@pytest.fixture(scope="session")
def fitted() -> Matcher:
    from mdm.demo.generator import customer_benchmark_rows

    return Matcher(builtin_spec("customer")).fit(list(customer_benchmark_rows(1500, seed=7)))


@pytest.fixture(scope="session")
def deduped(fitted, customers):
    return fitted.dedupe(customers, [r["id"] for r in customers])
