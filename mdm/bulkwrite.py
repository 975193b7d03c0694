"""Fast set-based writes for the ingest and rebuild paths.

Django's ``bulk_update`` builds one ``CASE WHEN`` expression per field and row
and resolves each as an ORM expression: most of the time of a chunk went
there.  Its ``bulk_create`` on PostgreSQL sends rows as ``UNNEST`` of text
arrays, and psycopg escapes every JSON document inside those arrays in Python.
These helpers write the same rows with plain database tools instead:

* :func:`insert` — PostgreSQL ``COPY`` with primary keys taken from the
  table's sequence first (the objects get their ids, as ``bulk_create``
  gives them); a few rows (a single-record POST) go in one plain
  ``INSERT … VALUES … RETURNING`` built from the same values, which costs a
  fraction of ``bulk_create``'s query compilation; other databases fall
  back to ``bulk_create``.
* :func:`update` — one parameterised ``UPDATE … WHERE pk = %s`` sent with
  ``executemany`` (psycopg pipelines it; SQLite runs it in C).

Values are stored as the ORM would store them (plain values as they are,
anything else through the field's ``pre_save``/``get_db_prep_save``).
Neither sends model signals, like the bulk ORM methods they replace;
:func:`history` and the ``*_with_history`` variants write the history rows
(who, why, origin, correlation id) and queue them for the audit chain, as
``simple_history.utils`` does."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import orjson
from django.db import connections, router, transaction
from django.utils import timezone
from simple_history.utils import get_change_reason_from_object

COPY_MIN_ROWS = 20  # below this a plain INSERT is as quick and keeps the query log readable

# Python types each field kind stores as they are (``get_db_prep_save`` would
# return them unchanged); anything else goes through the field.
_AS_IS = {
    "CharField": (str,), "TextField": (str,), "SlugField": (str,), "EmailField": (str,), "URLField": (str,),
    "GenericIPAddressField": (str,), "IntegerField": (int,), "BigIntegerField": (int,),
    "SmallIntegerField": (int,), "PositiveIntegerField": (int,), "PositiveBigIntegerField": (int,),
    "PositiveSmallIntegerField": (int,), "AutoField": (int,), "BigAutoField": (int,), "SmallAutoField": (int,),
    "BooleanField": (bool,), "FloatField": (float, int), "DateField": (dt.date,),
}


_GETTERS: dict = {}  # (field, database alias, adding) -> its _copy_value function


def _copy_value(field, connection, *, adding: bool = True):
    """A function turning an object into the value COPY stores for ``field``:
    the field's own ``pre_save``/``get_db_prep_save`` unless the value is of
    a plain type that conversion would return unchanged (most columns), and
    JSON as text, which PostgreSQL parses, rather than psycopg's wrapper.
    ``adding``: for a new row (``auto_now_add`` applies) or an update.
    Made once per field and database (a single-record write asks for a few
    dozen)."""
    key = (field, connection.alias, adding)
    getter = _GETTERS.get(key)
    if getter is None:
        getter = _GETTERS[key] = _make_copy_value(field, connection.alias, adding)
    return getter


def _make_copy_value(field, alias: str, adding: bool):
    attname = field.attname
    target = field.target_field if field.is_relation else field
    kind = target.get_internal_type()
    needs_pre_save = bool(getattr(field, "auto_now", False) or (adding and getattr(field, "auto_now_add", False)))

    def slow(obj):
        return field.get_db_prep_save(field.pre_save(obj, adding), connections[alias])

    if needs_pre_save:
        return slow
    if kind == "JSONField" and not field.is_relation:
        encoder = field.encoder
        default = encoder().default if encoder else None
        options = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS  # dates as the field's encoder writes them

        def as_json(obj):
            # orjson: a sixth of a chunk's time went to json.dumps; PostgreSQL stores jsonb, whatever the spacing
            value = getattr(obj, attname)
            if value is None:
                return None
            try:
                return orjson.dumps(value, default=default, option=options).decode()
            except TypeError:  # (orjson.JSONEncodeError is one) e.g. an integer beyond 64 bits
                return json.dumps(value, cls=encoder)
        return as_json
    plain = _AS_IS.get(kind)
    if kind == "UUIDField":
        plain = (uuid.UUID,)
    elif kind == "DateTimeField":
        def as_datetime(obj):
            value = getattr(obj, attname)
            if value is None or (type(value) is dt.datetime and value.tzinfo is not None):
                return value
            return slow(obj)
        return as_datetime
    if plain is None:
        return slow

    def as_is(obj):
        value = getattr(obj, attname)
        return value if value is None or type(value) in plain else slow(obj)
    return as_is


def insert(model, objs: list, *, using: str | None = None) -> list:
    """Insert new ``objs`` of ``model``; each gets its primary key."""
    if not objs:
        return objs
    using = using or router.db_for_write(model)
    connection = connections[using]
    if connection.vendor != "postgresql":
        return model._base_manager.using(using).bulk_create(objs)
    pk = model._meta.pk
    table = model._meta.db_table
    fields = model._meta.concrete_fields
    auto_pk = pk.get_internal_type() in ("AutoField", "BigAutoField", "SmallAutoField")
    missing = [o for o in objs if getattr(o, pk.attname) is None] if auto_pk else []
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        if missing and len(missing) == len(objs) and len(objs) < COPY_MIN_ROWS:
            # the database numbers the rows: RETURNING gives the ids in the order of VALUES
            fields = [f for f in fields if f is not pk]
            values = [_copy_value(f, connection) for f in fields]
            ids = _insert_values(cursor, connection, table, fields, [[v(o) for v in values] for o in objs],
                                 returning=pk.column)
            for obj, value in zip(objs, ids):
                setattr(obj, pk.attname, value)
        else:
            if missing:
                for obj, value in zip(missing, _next_ids(cursor, connection, table, pk.column, len(missing))):
                    setattr(obj, pk.attname, value)
            values = [_copy_value(f, connection) for f in fields]
            _write_rows(cursor, connection, table, fields, [[v(o) for v in values] for o in objs])
    for obj in objs:
        obj._state.adding = False
        obj._state.db = using
    return objs


def _write_rows(cursor, connection, table: str, fields, rows: list) -> None:
    """Rows of database values for ``fields`` into ``table``: COPY for many,
    one ``INSERT … VALUES`` for a few (PostgreSQL)."""
    if len(rows) < COPY_MIN_ROWS:
        _insert_values(cursor, connection, table, fields, rows)
        return
    qn = connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in fields)
    with cursor.cursor.copy(f"COPY {qn(table)} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


_INSERT_SQL: dict = {}  # (table, columns, rows, returning) -> statement


def _insert_values(cursor, connection, table: str, fields, rows: list, *, returning: str | None = None):
    """One ``INSERT … VALUES (…), (…)`` (JSON columns take the text COPY
    would send, cast); with ``returning``, that column of each row, in order."""
    key = (table, tuple(f.column for f in fields), len(rows), returning)
    sql = _INSERT_SQL.get(key)
    if sql is None:
        qn = connection.ops.quote_name
        one = "(" + ", ".join("%s::jsonb" if f.get_internal_type() == "JSONField" else "%s" for f in fields) + ")"
        sql = (f"INSERT INTO {qn(table)} ({', '.join(qn(f.column) for f in fields)}) VALUES "
               + ", ".join([one] * len(rows)) + (f" RETURNING {qn(returning)}" if returning else ""))
        if len(_INSERT_SQL) < 1000:
            _INSERT_SQL[key] = sql
    cursor.execute(sql, [value for row in rows for value in row])
    if returning:
        return [value for (value,) in cursor.fetchall()]
    return None


def update(model, objs: list, fields: list[str], *, using: str | None = None) -> int:
    """Write ``fields`` of existing ``objs`` back: on PostgreSQL the rows are
    COPied into a temporary table and applied with one ``UPDATE … FROM``;
    elsewhere (and for a few rows) one pipelined statement per row."""
    if not objs or not fields:
        return 0
    using = using or router.db_for_write(model)
    connection = connections[using]
    qn = connection.ops.quote_name
    meta = model._meta
    targets = [meta.get_field(name) for name in fields]
    if connection.vendor == "postgresql" and len(objs) >= COPY_MIN_ROWS:
        return _update_copy(model, objs, targets, connection, using)
    sql = "UPDATE {} SET {} WHERE {} = %s".format(
        qn(meta.db_table), ", ".join(f"{qn(f.column)} = %s" for f in targets), qn(meta.pk.column))
    rows = [[f.get_db_prep_save(f.pre_save(obj, False), connection) for f in targets]
            + [meta.pk.get_db_prep_save(obj.pk, connection)] for obj in objs]
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        cursor.executemany(sql, rows)
    return len(rows)


def _update_copy(model, objs, targets, connection, using) -> int:
    qn = connection.ops.quote_name
    meta = model._meta
    columns = [meta.pk, *targets]
    stage = f"mdm_stage_{meta.db_table}_{abs(hash(tuple(f.column for f in columns))) % 10**8}"
    getters = [_copy_value(f, connection, adding=False) for f in columns]
    names = ", ".join(qn(f.column) for f in columns)
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        # one staging table per connection and column set, emptied at each commit
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {qn(stage)} ON COMMIT DELETE ROWS AS "
                       f"SELECT {names} FROM {qn(meta.db_table)} WITH NO DATA")
        with cursor.cursor.copy(f"COPY {qn(stage)} ({names}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row([get(obj) for get in getters])
        cursor.execute(
            f"UPDATE {qn(meta.db_table)} AS t SET "
            + ", ".join(f"{qn(f.column)} = s.{qn(f.column)}" for f in targets)
            + f" FROM {qn(stage)} AS s WHERE t.{qn(meta.pk.column)} = s.{qn(meta.pk.column)}")
        cursor.execute(f"TRUNCATE {qn(stage)}")  # several updates of one table in one transaction
    return len(objs)


def copy_rows(model, columns: list[str], rows, *, using: str | None = None) -> int:
    """COPY ``rows`` (tuples of database values for the ``columns``, by
    attname) into ``model``'s table, without building model instances: for
    derived rows written by the thousand (blocking keys, queue rows); a few
    go in one ``INSERT … VALUES``.  Other databases than PostgreSQL get
    ``bulk_create``."""
    rows = list(rows)
    if not rows:
        return 0
    using = using or router.db_for_write(model)
    connection = connections[using]
    if connection.vendor != "postgresql":
        model._base_manager.using(using).bulk_create(
            [model(**dict(zip(columns, row))) for row in rows])
        return len(rows)
    meta = model._meta
    fields = [meta.get_field(c) for c in columns]  # (attnames too)
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        _write_rows(cursor, connection, meta.db_table, fields, rows)
    return len(rows)


class _NoHistoryUser:
    """Stands for an object without ``_history_user``: asks simple-history
    for its default user (the request's, or the configured getter's)."""


def _next_ids(cursor, connection, table: str, column: str, n: int) -> list[int]:
    cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                   [connection.ops.quote_name(table), column, n])
    return [value for (value,) in cursor.fetchall()]


_HISTORY_MODELS: dict = {}


def history_model_of(model):
    """``model.history.model``, without building a new manager class on
    every access (what reading ``model.history`` on the class does)."""
    hmodel = _HISTORY_MODELS.get(model)
    if hmodel is None:
        hmodel = _HISTORY_MODELS[model] = model.history.model
    return hmodel


def history(model, objs: list, *, update: bool, default_user=None, custom_historical_attrs=None,
            using: str | None = None) -> list:
    """One history row per object (as simple-history's ``bulk_history_create``
    builds it), inserted with :func:`insert` and queued for the audit chain.
    An object's ``_history_attrs`` (a dict) overrides ``custom_historical_attrs``
    for its row, e.g. its own correlation id.  On PostgreSQL the rows go
    straight from the objects into COPY; elsewhere history model instances
    are built.  Returns the new history ids."""
    from mdm import audit_chain
    from mdm.models import AuditPending

    hmodel = history_model_of(model)
    now = timezone.now()
    kind = "~" if update else "+"
    extra = custom_historical_attrs or {}
    using = using or router.db_for_write(hmodel)
    connection = connections[using]
    label = model._meta.label_lower
    if connection.vendor == "postgresql":
        return _history_copy(model, hmodel, objs, kind, now, default_user, extra, label, using)
    tracked = [f.attname for f in hmodel.tracked_fields]
    rows = []
    for obj in objs:
        row = hmodel(history_date=getattr(obj, "_history_date", now),
                     history_user=getattr(obj, "_history_user", default_user or hmodel.get_default_history_user(obj)),
                     history_change_reason=get_change_reason_from_object(obj) or "",
                     history_type=kind, **{name: getattr(obj, name) for name in tracked},
                     **{**extra, **getattr(obj, "_history_attrs", {})})
        rows.append(row)
    insert(hmodel, rows, using=using)
    insert(AuditPending, [AuditPending(model=label, history_id=row.pk) for row in rows], using=using)
    audit_chain.schedule_seal(using, len(rows))
    return [row.pk for row in rows]


def _history_copy(model, hmodel, objs, kind, now, default_user, extra, label, using) -> list[int]:
    """:func:`history` on PostgreSQL: each history row's values taken from the
    object through the tracked field's own conversion, the audit columns from
    the context; COPY with ids from the history table's sequence, or for a
    few rows one ``INSERT … RETURNING`` the ids."""
    from mdm import audit_chain
    from mdm.models import AuditPending

    connection = connections[using]
    hmeta = hmodel._meta
    pk_field = hmeta.pk
    fields, getters = _history_columns(hmodel, connection)
    special_names = {"history_date", "history_user_id", "history_change_reason", "history_type"}
    fallback_user = default_user or hmodel.get_default_history_user(_NoHistoryUser())
    rows = []
    for obj in objs:
        own = getattr(obj, "_history_attrs", None)
        audit = {**extra, **own} if own else extra
        user = getattr(obj, "_history_user", fallback_user)
        special = {
            "history_date": getattr(obj, "_history_date", now),
            "history_user_id": getattr(user, "pk", user),
            "history_change_reason": get_change_reason_from_object(obj) or "",
            "history_type": kind,
        }
        row = []
        for get in getters:
            if isinstance(get, tuple):
                name, default = get
                row.append(special[name] if name in special_names else audit.get(name, default))
            else:
                row.append(get(obj))
        rows.append(row)
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        if len(rows) < COPY_MIN_ROWS:
            ids = _insert_values(cursor, connection, hmeta.db_table, fields, rows, returning=pk_field.column)
        else:
            ids = _next_ids(cursor, connection, hmeta.db_table, pk_field.column, len(objs))
            _write_rows(cursor, connection, hmeta.db_table, [pk_field, *fields],
                        [[hid, *row] for hid, row in zip(ids, rows)])
        pmeta = AuditPending._meta
        _write_rows(cursor, connection, pmeta.db_table,
                    [pmeta.get_field("model"), pmeta.get_field("history_id"), pmeta.get_field("created_at")],
                    [(label, hid, now) for hid in ids])
    audit_chain.schedule_seal(using, len(ids))
    return ids


_HISTORY_COLUMNS: dict = {}


def _history_columns(hmodel, connection) -> tuple[list, list]:
    """The history table's columns but its id, and how each row gets its
    value: a tracked column through the history model's copy of the field
    (no auto_now there: the value is the object's, as written a moment
    ago); an audit column (``(name, default)``) from the context."""
    key = (hmodel, connection.alias)
    hit = _HISTORY_COLUMNS.get(key)
    if hit is None:
        tracked = {f.attname for f in hmodel.tracked_fields}
        fields, getters = [], []
        for f in hmodel._meta.concrete_fields:
            if f is hmodel._meta.pk:
                continue
            fields.append(f)
            getters.append(_copy_value(f, connection) if f.attname in tracked else (f.attname, f.get_default()))
        hit = _HISTORY_COLUMNS[key] = (fields, getters)
    return hit


def create_with_history(objs: list, model, *, default_user=None, custom_historical_attrs=None) -> list:
    with transaction.atomic(savepoint=False):
        insert(model, objs)
        history(model, objs, update=False, default_user=default_user,
                custom_historical_attrs=custom_historical_attrs)
    return objs


def update_with_history(objs: list, model, fields: list[str], *, default_user=None,
                        custom_historical_attrs=None) -> int:
    with transaction.atomic(savepoint=False):
        n = update(model, objs, fields)
        history(model, objs, update=True, default_user=default_user,
                custom_historical_attrs=custom_historical_attrs)
    return n
