"""The seam between the hub and the matching engine (``mdm.matching``).

Ingest and rematch look golden records up through ``blocks``: the golden
build keeps each golden's blocking keys in ``BlockingKey``, so finding a
record's candidates is an indexed query, not a rescan."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path

import orjson

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
        _columns_of.clear()
        _layouts.clear()


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
        _columns_of.clear()
        _layouts.clear()
    return matcher


def blocking_keys(entity_type: str, values: dict) -> list[str]:
    """The record's blocking keys, from its normalised form (:func:`normalized`)."""
    matcher = matcher_for(entity_type)
    strings = _as_strings(values)
    if not hasattr(matcher, "spec"):
        return sorted({k[:160] for k in matcher.blocking_keys(strings) if k})
    key = _memo_key(matcher, strings)
    keys = _keys_memo.get(key)
    if keys is None:
        norm = normalized(matcher, strings, key=key)  # what Matcher.blocking_keys normalises, shared
        keys = sorted({k[:160] for rule in matcher.rules for k in rule.keys(norm) if k})
        _store(_keys_memo, KEYS_MEMO_SIZE, key, keys)
    return list(keys)


def normalized(matcher, strings: dict, *, key=None) -> dict:
    """The record's compared columns, normalised; remembered by the values of
    those columns only, so a record, the golden it starts and the same golden
    read back later share one entry (normalising is the costly part of
    blocking and scoring)."""
    from mdm.matching.table import normalize_record

    key = key or _memo_key(matcher, strings)
    norm = _normalized_memo.get(key)
    if norm is None:
        norm = normalize_record(matcher.spec, strings)
        _store(_normalized_memo, NORMALIZED_MEMO_SIZE, key, norm)
    return norm


def _memo_key(matcher, strings: dict) -> tuple:
    return (id(matcher), *(strings.get(c) for c in _key_columns(matcher)))


def _key_columns(matcher) -> tuple:
    """The columns normalising a record reads: the spec's compared columns and its country column."""
    columns = _columns_of.get(id(matcher))
    if columns is None:
        spec = matcher.spec
        columns = _columns_of[id(matcher)] = tuple(
            dict.fromkeys([*spec._column_types, *([spec.country_column] if spec.country_column else [])]))
    return columns


#: Raise when a normaliser's output changes: forms stored before are then
#: normalised again on use (and ``refresh_match_forms`` rewrites them).
FORM_VERSION = 1


def stored_form(entity_type: str, values: dict) -> list | None:
    """What a golden record keeps of its matching form (``match_form``):
    ``[fingerprint, digest, normalised values]`` — the fingerprint of the
    normalisation (the spec's compared columns and :data:`FORM_VERSION`),
    a digest of the values normalised, and the normalised columns in the
    spec's order.  A candidate read back with a form whose fingerprint and
    digest still hold is scored without being normalised again; any other
    (older, or written by a path that does not store forms) is normalised
    as before.  ``None`` for matchers without a spec."""
    matcher = matcher_for(entity_type)
    if not hasattr(matcher, "spec"):
        return None
    strings = _as_strings(values)
    norm = normalized(matcher, strings)
    fingerprint, columns, compared = _form_layout(matcher)
    return [fingerprint, _digest(strings, columns), [norm[c] for c in compared]]


def _form_layout(matcher) -> tuple[str, tuple, tuple]:
    """(fingerprint, the columns the memo key reads, the normalised columns)."""
    layout = _layouts.get(id(matcher))
    if layout is None:
        spec = matcher.spec
        compared = tuple(spec._column_types)
        blob = repr((FORM_VERSION, tuple(spec._column_types.items()), spec.country_column)).encode()
        layout = _layouts[id(matcher)] = (hashlib.blake2b(blob, digest_size=6).hexdigest(),
                                          _key_columns(matcher), compared)
    return layout


def _digest(strings: dict, columns: tuple) -> str:
    text = "\x1f".join(strings.get(c) or "" for c in columns)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def remember_stored_forms(matcher, rows: dict, forms: dict) -> None:
    """Put the stored forms still valid for ``rows`` (golden id → values as
    :func:`candidate_rows` gives them) where :func:`normalized` finds them,
    for the records it does not remember already.  A form may be JSON text
    (from a raw cursor: Django leaves decoding to the field)."""
    if not hasattr(matcher, "spec") or not forms:
        return
    fingerprint, columns, compared = _form_layout(matcher)
    for gid, form in forms.items():
        strings = rows.get(gid)
        if strings is None:
            continue
        key = _memo_key(matcher, strings)
        if key in _normalized_memo:
            continue
        if isinstance(form, str):
            form = orjson.loads(form)
        if (not form or len(form) != 3 or form[0] != fingerprint or form[1] != _digest(strings, columns)
                or len(form[2]) != len(compared)):
            continue
        _store(_normalized_memo, NORMALIZED_MEMO_SIZE, key, dict(zip(compared, form[2])))


def _store(memo: dict, size: int, key, value) -> None:
    """Remember ``value``; a full memo starts over (the matcher's id in every
    key keeps entity types and replaced matchers apart)."""
    if len(memo) >= size:
        memo.clear()
    memo[key] = value


KEYS_MEMO_SIZE = 100_000
_keys_memo: dict = {}
# Normalised records.  Goldens in large blocks are candidates for many
# arriving records, chunk after chunk, so the last 100,000 are remembered.
NORMALIZED_MEMO_SIZE = 100_000
_normalized_memo: dict = {}
_columns_of: dict = {}
_layouts: dict = {}


def _as_strings(values: dict) -> dict:
    return {k: (None if val is None else str(val)) for k, val in values.items()}


def blocks(entity_type: str, keys, *, cap: int = BLOCK_CAP, min_size: int = 1) -> dict[str, list]:
    """Golden ids per blocking key (persisted ``BlockingKey`` rows), leaving
    out keys shared by more than ``cap`` goldens — too common to tell
    anything ("group", "london") — and blocks smaller than ``min_size``.
    Block sizes are counted in the database first, so a giant block's ids
    are never sent; on PostgreSQL that is one statement with the keys as one
    array parameter."""
    from collections import defaultdict

    from django.db import connection
    from django.db.models import Count

    keys = sorted(set(keys))
    by_key: dict[str, list] = defaultdict(list)
    if not keys:
        return by_key
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(BlockingKey._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH usable AS (SELECT key FROM {table} WHERE entity_type = %s AND key = ANY(%s) "
                f"GROUP BY key HAVING count(*) BETWEEN %s AND %s) "
                f"SELECT b.key, b.golden_id FROM {table} b JOIN usable u ON u.key = b.key "
                f"WHERE b.entity_type = %s",
                [entity_type, keys, min_size, cap, entity_type])
            for key, gid in cursor.fetchall():
                by_key[key].append(gid)
        return by_key
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


def shortlists(entity_type: str, keys_per_record: list[list[str]], *, limit: int,
               cap: int = BLOCK_CAP) -> list[list]:
    """For each record (its blocking keys), the ``limit`` goldens sharing the
    most usable keys with it (blocks of at most ``cap``), ties by id.  On
    PostgreSQL the counting and ranking happen in the database, so only the
    short lists travel — not every member of every block (hundreds per key
    once the hub holds a few hundred thousand records)."""
    from django.db import connection

    out: list[list] = [[] for _ in keys_per_record]
    if not any(keys_per_record):
        return out
    if connection.vendor != "postgresql":
        return _shortlists_from_blocks(entity_type, keys_per_record, limit=limit, cap=cap)
    positions, flat = [], []
    for pos, keys in enumerate(keys_per_record):
        for key in keys:
            positions.append(pos)
            flat.append(key)
    table = connection.ops.quote_name(BlockingKey._meta.db_table)
    with connection.cursor() as cursor:
        # Each key's members through the (entity type, key) index, at most cap + 1 of them (a giant
        # block is never read whole), whatever the planner's statistics say about a table still
        # being loaded; ties by golden id (uuid order is the order of its text form).
        cursor.execute(
            f"WITH wanted(pos, key) AS (SELECT * FROM unnest(%s::int[], %s::text[])), "
            f"members AS MATERIALIZED (SELECT k.key, m.golden_id FROM (SELECT DISTINCT key FROM unnest(%s::text[]) "
            f"  AS key) k CROSS JOIN LATERAL (SELECT golden_id FROM {table} WHERE entity_type = %s "
            f"  AND key = k.key LIMIT %s) m), "
            f"usable AS (SELECT key FROM members GROUP BY key HAVING count(*) <= %s), "
            f"shared AS (SELECT w.pos, m.golden_id, count(*) AS n FROM wanted w JOIN usable u ON u.key = w.key "
            f"  JOIN members m ON m.key = w.key GROUP BY w.pos, m.golden_id), "
            f"ranked AS (SELECT pos, golden_id, row_number() OVER (PARTITION BY pos ORDER BY n DESC, golden_id) "
            f"  AS r FROM shared) "
            f"SELECT pos, golden_id FROM ranked WHERE r <= %s ORDER BY pos, r",
            [positions, flat, sorted(set(flat)), entity_type, cap + 1, cap, limit])
        for pos, gid in cursor.fetchall():
            out[pos].append(gid)
    return out


def _shortlists_from_blocks(entity_type: str, keys_per_record: list[list[str]], *, limit: int,
                            cap: int = BLOCK_CAP) -> list[list]:
    """:func:`shortlists` counted in Python from :func:`blocks` (any database)."""
    from collections import Counter

    by_key = blocks(entity_type, {k for keys in keys_per_record for k in keys}, cap=cap)
    out = []
    for keys in keys_per_record:
        shared = Counter(gid for key in keys for gid in by_key.get(key, ()))
        out.append([gid for gid, _ in sorted(shared.items(), key=lambda kv: (-kv[1], str(kv[0])))[:limit]])
    return out


def candidate_rows(entity_type: str, ids, states) -> dict:
    """Golden id → the values matching compares (as ``golden_values`` gives
    them, as strings), for the live goldens among ``ids``: only the columns
    the matcher reads, without model instances — a chunk of arriving records
    has up to tens of thousands of candidates."""
    import datetime as dt

    from django.db import connection

    from mdm import canonical
    from mdm.models import golden_model

    matcher = matcher_for(entity_type)
    model = golden_model(entity_type)
    fields = {f.name: f for f in canonical.fields_for(entity_type)}
    if hasattr(matcher, "spec"):
        spec = matcher.spec
        wanted = [c for c in dict.fromkeys([*spec._column_types, spec.country_column]) if c in fields]
    else:
        wanted = list(fields)
    attnames = [f"{name}_id" if fields[name].kind == "ref" else name for name in wanted]
    ids = list(ids)
    if not ids:
        return {}
    if connection.vendor == "postgresql":
        qn = connection.ops.quote_name
        meta = model._meta
        columns = ", ".join(qn(meta.get_field(a).column) for a in attnames)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {qn(meta.pk.column)}, {columns}, match_form FROM {qn(meta.db_table)} "
                           f"WHERE {qn(meta.pk.column)} = ANY(%s) AND state = ANY(%s)", [ids, list(states)])
            fetched = cursor.fetchall()
    else:
        fetched = list(model.objects.filter(pk__in=ids, state__in=states).values_list("pk", *attnames,
                                                                                      "match_form"))

    def text(value):
        if value is None or value == "":
            return None
        if isinstance(value, dt.date):
            return value.isoformat()
        return str(value) if not isinstance(value, str) else value

    out, forms = {}, {}
    for row in fetched:
        out[row[0]] = {name: text(v) for name, v in zip(wanted, row[1:-1])}
        if row[-1] is not None:
            forms[row[0]] = row[-1]
    # candidates are normalised once, when written, rather than on every look-up (at a million goldens a
    # record's forty candidates are rarely among those normalised lately)
    remember_stored_forms(matcher, out, forms)
    return out


def score_pairs(matcher, rows: list, ia, ib, *, explainer: bool = False):
    """Scores of many pairs ``(rows[ia[k]], rows[ib[k]])`` in one vectorised
    pass: each record is normalised once and every comparison runs over
    arrays, instead of one small table per record.  With ``explainer``,
    also a function ``explain(pairs)`` giving each pair's explanation (as
    ``matcher.score`` does) from the same table, in one pass."""
    import numpy as np

    ia, ib = np.asarray(ia, dtype=np.int64), np.asarray(ib, dtype=np.int64)
    table = None
    if not len(ia):
        scores = np.zeros(0)
    elif hasattr(matcher, "score_table"):
        from mdm.matching.table import Table

        columns = list(matcher.spec.column_types())
        lists: dict[str, list] = {c: [] for c in columns}
        for row in rows:
            norm = normalized(matcher, row)
            for c in columns:
                lists[c].append(norm[c])
        table = Table.from_normalized(matcher.spec, lists)
        scores = matcher.score_table(table, ia, ib)
    else:
        scores = np.array([matcher.score_many(rows[a], [rows[b]])[0] for a, b in zip(ia, ib)], dtype=float)
    if not explainer:
        return scores

    def explain(pairs: list) -> list:
        if table is not None:
            return matcher.explain_many(table, [a for a, _ in pairs], [b for _, b in pairs])
        return [matcher.score(rows[a], rows[b])[1] for a, b in pairs]

    return scores, explain


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


def refresh_match_forms(entity_type: str, *, chunk: int = 2000, progress=None) -> dict:
    """Store every live golden record's matching form again where it is
    missing or no longer holds (after an upgrade, or a new matcher): derived
    data like the blocking keys, so no history is written.  Chunks of
    ``chunk`` records in primary-key order, one transaction each."""
    from django.db import transaction

    from mdm.bulkwrite import update
    from mdm.models import golden_model
    from mdm.services.golden import LIVE_STATES, golden_values

    model = golden_model(entity_type)
    live = model.objects.filter(state__in=LIVE_STATES).order_by("pk")
    total, seen, written, last = live.count(), 0, 0, None
    while True:
        with transaction.atomic():
            part = list((live if last is None else live.filter(pk__gt=last)).select_for_update()[:chunk])
            if not part:
                break
            changed = []
            for record in part:
                form = stored_form(entity_type, golden_values(record))
                if form != record.match_form:
                    record.match_form = form
                    changed.append(record)
            update(model, changed, ["match_form"])
        seen += len(part)
        written += len(changed)
        last = part[-1].pk
        if progress:
            progress(seen, total)
    return {"records": seen, "written": written}
