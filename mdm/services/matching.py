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




_matchers: dict[str, tuple[float, tuple, object]] = {}  # entity type -> (checked at, source, matcher)
_lock = threading.Lock()
_TTL = 30.0


def invalidate_cache(*_args, **_kwargs) -> None:
    with _lock:
        _matchers.clear()
        _keys_memo.clear()
        _normalized_memo.clear()


SHIPPED_PARAMS = Path(__file__).resolve().parent.parent / "matching" / "params"


def matcher_for(entity_type: str):
    """The engine for an entity type: the newest active learned parameters
    (``fit_matching``, stewards' labels), else the shipped defaults, else
    deterministic identifier matching (entity types too small to learn from)."""
    from mdm.matching import Matcher

    now = time.monotonic()
    hit = _matchers.get(entity_type)
    if hit and now - hit[0] < _TTL:
        return hit[2]
    row = MatchParams.objects.filter(entity_type=entity_type, active=True).order_by("-created_at").first()
    shipped = SHIPPED_PARAMS / f"{entity_type}.json"
    if row is not None:
        source = ("learned", row.pk, hash(json.dumps(row.params, sort_keys=True)))
    elif shipped.exists():
        source = ("shipped", shipped.stat().st_mtime_ns)
    else:
        source = ("identifiers",)
    if hit and hit[1] == source:  # unchanged: keep the matcher, and what was remembered of it
        with _lock:
            _matchers[entity_type] = (now, source, hit[2])
        return hit[2]
    if row is not None:
        matcher = Matcher.from_dict(row.params)
    elif shipped.exists():
        matcher = Matcher.from_dict(json.loads(shipped.read_text()))
    else:
        matcher = IdentifierMatcher(entity_type)
    with _lock:
        _matchers[entity_type] = (now, source, matcher)
        _keys_memo.clear()  # results of the replaced matcher (its id may be reused)
        _normalized_memo.clear()
    return matcher


def blocking_keys(entity_type: str, values: dict) -> list[str]:
    """The record's blocking keys.  Remembered for a while: ingest asks for
    a new record's keys to match it, then again for the golden it starts
    (the same values), and normalising is the costly part."""
    matcher = matcher_for(entity_type)
    strings = _as_strings(values)
    return list(_remember(_keys_memo, KEYS_MEMO_SIZE, (id(matcher), tuple(sorted(strings.items()))),
                          lambda: sorted({k[:160] for k in matcher.blocking_keys(strings) if k})))


def _remember(memo: dict, size: int, key, compute):
    """``memo[key]``, computed on first use; a full memo starts over (the
    matcher's id in every key keeps entity types apart)."""
    value = memo.get(key)
    if value is None:
        value = compute()
        if len(memo) >= size:
            memo.clear()
        memo[key] = value
    return value


KEYS_MEMO_SIZE = 20_000
_keys_memo: dict = {}
# Normalised records for scoring.  Goldens in large blocks are candidates for
# many arriving records, chunk after chunk; normalising them is most of the
# cost of scoring, so the last 100,000 are remembered.
NORMALIZED_MEMO_SIZE = 100_000
_normalized_memo: dict = {}


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


def score_pairs(matcher, rows: list, ia, ib):
    """Scores of many pairs ``(rows[ia[k]], rows[ib[k]])`` in one vectorised
    pass: each record is normalised once and every comparison runs over
    arrays, instead of one small table per record."""
    import numpy as np

    ia, ib = np.asarray(ia, dtype=np.int64), np.asarray(ib, dtype=np.int64)
    if not len(ia):
        return np.zeros(0)
    if hasattr(matcher, "score_table"):
        from mdm.matching.table import Table, normalize_record

        columns = list(matcher.spec.column_types())
        lists: dict[str, list] = {c: [] for c in columns}
        for row in rows:
            norm = _remember(_normalized_memo, NORMALIZED_MEMO_SIZE, (id(matcher), tuple(sorted(row.items()))),
                             lambda row=row: normalize_record(matcher.spec, row))
            for c in columns:
                lists[c].append(norm[c])
        return matcher.score_table(Table.from_normalized(matcher.spec, lists), ia, ib)
    return np.array([matcher.score_many(rows[a], [rows[b]])[0] for a, b in zip(ia, ib)], dtype=float)


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
