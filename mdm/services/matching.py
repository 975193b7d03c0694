"""The seam between the hub and the matching engine (``mdm.matching``).

Ingest and rematch look golden records up through ``blocks``: the golden
build keeps each golden's blocking keys in ``BlockingKey``, so finding a
record's candidates is an indexed query, not a rescan."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from mdm.models import BlockingKey, MatchParams
from mdm.services.identifier_matcher import IdentifierMatcher

BLOCK_CAP = 200  # a key shared by more goldens than this is too common to block on




_matchers: dict[str, tuple[float, object]] = {}
_lock = threading.Lock()
_TTL = 30.0


def invalidate_cache(*_args, **_kwargs) -> None:
    with _lock:
        _matchers.clear()


SHIPPED_PARAMS = Path(__file__).resolve().parent.parent / "matching" / "params"


def matcher_for(entity_type: str):
    """The engine for an entity type: the newest active learned parameters
    (``fit_matching``, stewards' labels), else the shipped defaults, else
    deterministic identifier matching (entity types too small to learn from)."""
    from mdm.matching import Matcher

    now = time.monotonic()
    hit = _matchers.get(entity_type)
    if hit and now - hit[0] < _TTL:
        return hit[1]
    row = MatchParams.objects.filter(entity_type=entity_type, active=True).order_by("-created_at").first()
    shipped = SHIPPED_PARAMS / f"{entity_type}.json"
    if row is not None:
        matcher = Matcher.from_dict(row.params)
    elif shipped.exists():
        matcher = Matcher.from_dict(json.loads(shipped.read_text()))
    else:
        matcher = IdentifierMatcher(entity_type)
    with _lock:
        _matchers[entity_type] = (now, matcher)
    return matcher


def blocking_keys(entity_type: str, values: dict) -> list[str]:
    keys = matcher_for(entity_type).blocking_keys(_as_strings(values))
    return sorted({k[:160] for k in keys if k})


def _as_strings(values: dict) -> dict:
    return {k: (None if val is None else str(val)) for k, val in values.items()}


def blocks(entity_type: str, keys, *, cap: int = BLOCK_CAP, min_size: int = 1) -> dict[str, list]:
    """Golden ids per blocking key (persisted ``BlockingKey`` rows), leaving
    out keys shared by more than ``cap`` goldens — too common to tell
    anything ("group", "london") — and blocks smaller than ``min_size``.
    Block sizes are read first, so a giant block's ids are never fetched."""
    from collections import defaultdict

    from django.db.models import Count

    keys = sorted(set(keys))
    by_key: dict[str, list] = defaultdict(list)
    for start in range(0, len(keys), 900):
        part = keys[start:start + 900]
        sizes = dict(BlockingKey.objects.filter(entity_type=entity_type, key__in=part)
                     .values("key").annotate(n=Count("id")).values_list("key", "n"))
        usable = [k for k in part if min_size <= sizes.get(k, 0) <= cap]
        if usable:
            for key, gid in (BlockingKey.objects.filter(entity_type=entity_type, key__in=usable)
                             .values_list("key", "golden_id")):
                by_key[key].append(gid)
    return by_key


def score_goldens(entity_type: str, a, b) -> tuple[float, list]:
    from mdm.services.golden import golden_values

    matcher = matcher_for(entity_type)
    score, explanation = matcher.score(_as_strings(golden_values(a)), _as_strings(golden_values(b)))
    return float(score), _jsonable(explanation)


def _jsonable(explanation) -> list:
    out = []
    for item in explanation or []:
        if hasattr(item, "to_dict"):
            out.append(item.to_dict())
        elif hasattr(item, "__dataclass_fields__"):
            from dataclasses import asdict

            out.append(asdict(item))
        else:
            out.append(item)
    return out
