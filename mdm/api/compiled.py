"""Querysets compiled to SQL once per process, for the API's hottest reads.

Building a queryset and compiling it to SQL costs Django more CPU than
PostgreSQL spends answering a look-up by primary key or unique index: on
the load test's reads, about 40 % of a web worker's CPU went to
``filter()``/``select_related()`` and ``SQLCompiler.as_sql()`` for queries
whose SQL never changes — only the id or the token key in them does.

``CompiledQuery`` keeps the ORM as the author of the SQL and of the
results: ``build`` returns the queryset as it would be written anyway, is
called once per database alias (and *shape*, see below) with marker values
in place of the parameters, and its SQL is kept; each call then runs that
SQL with the real values, through the connection's cursor (so query
logging, ``assertNumQueries`` and execute wrappers see it), applies the
same converters and builds the same results as the queryset's iterator:
model instances (with ``select_related`` objects attached), ``values()``
dicts, or ``values_list()`` tuples or flat values.

Rules for ``build``:

* every value that differs between calls is a parameter (a keyword the
  markers name) or part of the shape; anything else is compiled in as a
  constant, so never put ``timezone.now()`` or a per-request value in it;
* ``shape`` is for what changes the SQL text itself: slice bounds (``LIMIT``
  is written into the SQL), the length of an ``__in`` list.  Shapes should
  be few (each is compiled and kept once; past ``MAX_SHAPES`` a shape is
  compiled on every call, which is only slower).

A parameter's marker must be a value no constant of the query equals (a
UUID, a string like ``"\\x00token_key"``); compiling fails loudly if a marker
does not reach the SQL parameters exactly once, so a query that would
silently keep a stale value cannot be built.
"""

from __future__ import annotations

import uuid

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.backends import utils
from django.db.models.query import (
    FlatValuesListIterable,
    ModelIterable,
    ValuesIterable,
    ValuesListIterable,
    get_related_populators,
)

MAX_SHAPES = 64

_ITERABLES = {ModelIterable: "models", ValuesIterable: "dicts", ValuesListIterable: "tuples",
              FlatValuesListIterable: "flat"}


class _Plan:
    """One compiled query: SQL, where each parameter goes, how rows become results."""

    __slots__ = ("sql", "params", "slots", "kind", "converters", "names", "model", "init_list", "start", "end",
                 "populators", "alias")

    def __init__(self, queryset, markers: dict):
        kind = _ITERABLES.get(queryset._iterable_class)
        if kind is None:
            raise TypeError(f"CompiledQuery cannot run a {queryset._iterable_class.__name__} queryset")
        if queryset._prefetch_related_lookups or queryset.query.combinator or queryset._known_related_objects:
            raise TypeError("CompiledQuery runs plain querysets (no prefetch_related, union or known objects)")
        self.alias = alias = queryset.db
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        self.sql, self.params, self.slots = sql, list(params), []
        found = dict.fromkeys(markers, 0)
        for index, value in enumerate(params):
            for name, marker in markers.items():
                prep = _prep_for(marker, value)
                if prep is not None:
                    self.slots.append((index, name, prep))
                    found[name] += 1
        wrong = [name for name, count in found.items() if count != 1]
        if wrong:
            raise ValueError(f"CompiledQuery: parameter(s) {', '.join(wrong)} must reach the SQL exactly once; "
                             f"pick markers no constant of the query equals ({sql})")
        self.kind = kind
        select = compiler.select
        self.converters = list(compiler.get_converters([s[0] for s in select[: compiler.col_count]]).items())
        if kind == "models":
            info = compiler.klass_info
            self.model = info["model"]
            self.start, self.end = info["select_fields"][0], info["select_fields"][-1] + 1
            self.init_list = [f[0].target.attname for f in select[self.start:self.end]]
            self.populators = get_related_populators(info, select, alias)
            if compiler.annotation_col_map:
                raise TypeError("CompiledQuery: annotate a values() query instead of model instances")
        elif kind == "dicts":
            query = queryset.query
            self.names = list(query.selected) if query.selected else [
                *query.extra_select, *query.values_select, *query.annotation_select]


def _prep_for(marker, value):
    """How a call's value is written where ``marker`` landed in the
    compiled parameters (as it is, or as a UUID's hex on databases without
    a UUID type), or None when ``value`` is not that marker."""
    if type(value) is type(marker) and value == marker:
        return _same
    if isinstance(marker, uuid.UUID) and value == marker.hex:
        return _hex
    return None


def _same(value):
    return value


def _hex(value):
    return value.hex if isinstance(value, uuid.UUID) else uuid.UUID(str(value)).hex


class CompiledQuery:
    """``CompiledQuery(build, pk=uuid.UUID(int=1))`` then ``.run(pk=…)``; see the module's notes.

    Plans are kept per shape, with the database alias the queryset named when
    it was compiled (the hub has no database routers; one that sends a model's
    reads to a replica sends them all there)."""

    def __init__(self, build, **markers):
        self.build = build
        self.markers = markers
        self._plans: dict[tuple, _Plan] = {}

    def plan(self, shape: tuple = ()) -> _Plan:
        plan = self._plans.get(shape)
        if plan is None:
            plan = _Plan(self.build(*shape, **self.markers), self.markers)
            if len(self._plans) < MAX_SHAPES:
                self._plans[shape] = plan
        return plan

    def run(self, *shape, **values) -> list:
        """The results the queryset ``build(*shape, **values)`` would give, as a list."""
        plan = self.plan(shape)
        params = list(plan.params)
        for index, name, prep in plan.slots:
            params[index] = prep(values[name])
        return _execute(plan, params)

    def first(self, *shape, **values):
        rows = self.run(*shape, **values)
        return rows[0] if rows else None


def fetch(queryset) -> list:
    """``list(queryset)``, compiled as usual but run as a prepared statement
    on PostgreSQL (see ``_cursor``): for the list pages, whose filters vary too
    much to compile once, PostgreSQL planning the same statement on every
    request cost more than running it."""
    try:
        plan = _Plan(queryset, {})
    except EmptyResultSet:
        return []
    except TypeError:  # prefetch_related, unions…: the queryset's own iterator
        return list(queryset)
    return _execute(plan, plan.params)


def _execute(plan: _Plan, params) -> list:
    connection = connections[plan.alias]
    with _cursor(connection) as cursor:
        cursor.execute(plan.sql, params)
        rows = cursor.fetchall()
    if plan.converters:
        rows = list(_convert(rows, plan.converters, connection))
    kind = plan.kind
    if kind == "tuples":
        return [tuple(r) for r in rows]
    if kind == "flat":
        return [r[0] for r in rows]
    if kind == "dicts":
        names = plan.names
        return [dict(zip(names, r)) for r in rows]
    model, init_list, start, end, populators, alias = (plan.model, plan.init_list, plan.start, plan.end,
                                                       plan.populators, plan.alias)
    out = []
    for row in rows:
        obj = model.from_db(alias, init_list, row[start:end])
        for populator in populators:
            populator.populate(row, obj)
        out.append(obj)
    return out


def _cursor(connection):
    """The connection's cursor; on PostgreSQL with prepared statements enabled
    (``prepare_threshold`` in the database OPTIONS, see ``mdm/settings.py``) a
    server-side binding one, so psycopg prepares each compiled query once per
    connection and PostgreSQL stops planning it again on every request (for the
    four-table token join, planning was about three quarters of the database's
    CPU for the query).  Django's own cursors bind client-side and are never
    prepared, so nothing else changes."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    raw = connection.connection
    if getattr(raw, "prepare_threshold", None) is None:
        return connection.cursor()
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        cursor = ServerBindingCursor(raw)
    return _LoggedCursor(cursor, connection) if connection.queries_logged else connection.make_cursor(cursor)


class _LoggedCursor(utils.CursorDebugWrapper):
    """Query logging (``DEBUG``, ``assertNumQueries``) for a server-binding
    cursor, which keeps no text of the query it ran: the SQL is logged with its
    values in, as Django logs its own server-side bound queries."""

    def execute(self, sql, params=None):
        try:
            shown = self.db.ops.compose_sql(sql, params)
        except Exception:  # noqa: BLE001 - a value psycopg cannot quote client-side: show the placeholders
            shown = sql
        with self.debug_sql(shown, params, use_last_executed_query=False):
            return utils.CursorWrapper.execute(self, sql, params)


def _convert(rows, converters, connection):
    for row in rows:
        row = list(row)
        for pos, (convs, expression) in converters:
            value = row[pos]
            for converter in convs:
                value = converter(value, expression, connection)
            row[pos] = value
        yield row
