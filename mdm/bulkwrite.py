"""Fast set-based writes for the ingest and rebuild paths.

Django's ``bulk_update`` builds one ``CASE WHEN`` expression per field and row
and resolves each as an ORM expression: most of the time of a chunk went
there.  Its ``bulk_create`` on PostgreSQL sends rows as ``UNNEST`` of text
arrays, and psycopg escapes every JSON document inside those arrays in Python.
These helpers write the same rows with plain database tools instead:

* :func:`insert` — PostgreSQL ``COPY`` with primary keys taken from the
  table's sequence first (the objects get their ids, as ``bulk_create``
  gives them); other databases fall back to ``bulk_create``.
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


def _copy_value(field, connection):
    """A function turning an object into the value COPY stores for ``field``:
    the field's own ``pre_save``/``get_db_prep_save`` unless the value is of
    a plain type that conversion would return unchanged (most columns), and
    JSON as text, which PostgreSQL parses, rather than psycopg's wrapper."""
    attname = field.attname
    target = field.target_field if field.is_relation else field
    kind = target.get_internal_type()
    needs_pre_save = bool(getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))

    def slow(obj):
        return field.get_db_prep_save(field.pre_save(obj, True), connection)

    if needs_pre_save:
        return slow
    if kind == "JSONField" and not field.is_relation:
        encoder = field.encoder

        def as_json(obj):
            value = getattr(obj, attname)
            return None if value is None else json.dumps(value, cls=encoder)
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
    if connection.vendor != "postgresql" or len(objs) < COPY_MIN_ROWS:
        return model._base_manager.using(using).bulk_create(objs)
    pk = model._meta.pk
    table = model._meta.db_table
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        if pk.get_internal_type() in ("AutoField", "BigAutoField", "SmallAutoField"):
            missing = [o for o in objs if getattr(o, pk.attname) is None]
            if missing:
                cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                               [connection.ops.quote_name(table), pk.column, len(missing)])
                for obj, (value,) in zip(missing, cursor.fetchall()):
                    setattr(obj, pk.attname, value)
        fields = model._meta.concrete_fields
        values = [_copy_value(f, connection) for f in fields]
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        with cursor.cursor.copy(f"COPY {connection.ops.quote_name(table)} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row([value(obj) for value in values])
    for obj in objs:
        obj._state.adding = False
        obj._state.db = using
    return objs


def update(model, objs: list, fields: list[str], *, using: str | None = None) -> int:
    """Write ``fields`` of existing ``objs`` back, one pipelined statement per row."""
    if not objs or not fields:
        return 0
    using = using or router.db_for_write(model)
    connection = connections[using]
    qn = connection.ops.quote_name
    meta = model._meta
    targets = [meta.get_field(name) for name in fields]
    sql = "UPDATE {} SET {} WHERE {} = %s".format(
        qn(meta.db_table), ", ".join(f"{qn(f.column)} = %s" for f in targets), qn(meta.pk.column))
    rows = [[f.get_db_prep_save(f.pre_save(obj, False), connection) for f in targets]
            + [meta.pk.get_db_prep_save(obj.pk, connection)] for obj in objs]
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        cursor.executemany(sql, rows)
    return len(rows)


def history(model, objs: list, *, update: bool, default_user=None, custom_historical_attrs=None,
            using: str | None = None) -> list:
    """One history row per object (as simple-history's ``bulk_history_create``
    builds it), inserted with :func:`insert` and queued for the audit chain.
    An object's ``_history_attrs`` (a dict) overrides ``custom_historical_attrs``
    for its row, e.g. its own correlation id."""
    from mdm import audit_chain
    from mdm.models import AuditPending

    hmodel = model.history.model
    now = timezone.now()
    kind = "~" if update else "+"
    extra = custom_historical_attrs or {}
    tracked = [f.attname for f in hmodel.tracked_fields]
    rows = []
    for obj in objs:
        row = hmodel(history_date=getattr(obj, "_history_date", now),
                     history_user=getattr(obj, "_history_user", default_user or hmodel.get_default_history_user(obj)),
                     history_change_reason=get_change_reason_from_object(obj) or "",
                     history_type=kind, **{name: getattr(obj, name) for name in tracked},
                     **{**extra, **getattr(obj, "_history_attrs", {})})
        rows.append(row)
    using = using or router.db_for_write(hmodel)
    insert(hmodel, rows, using=using)
    label = model._meta.label_lower
    insert(AuditPending, [AuditPending(model=label, history_id=row.pk) for row in rows], using=using)
    audit_chain.schedule_seal(using, len(rows))
    return rows


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
