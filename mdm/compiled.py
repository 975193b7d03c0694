"""Querysets compiled to SQL once per process, for the API's hottest reads
and the queries of a single record's ingest.

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

import datetime as dt
import uuid

from django.core.exceptions import EmptyResultSet
from django.db import connections, models
from django.db.backends import utils
from django.db.models import Lookup
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


def _prep_for(marker, value, alias: str | None = None):
    """How a call's value is written where ``marker`` landed in the
    compiled parameters (as it is, as a UUID's hex on databases without
    a UUID type, or a datetime as the database's adapter writes it), or None
    when ``value`` is not that marker."""
    if type(value) is type(marker) and value == marker:
        return _same
    if isinstance(marker, uuid.UUID) and value == marker.hex:
        return _hex
    if alias is not None and isinstance(marker, dt.datetime) and isinstance(value, str):
        prep = _datetime_prep(alias)
        if value == prep(marker):
            return prep
    return None


_DATETIME_PREPS: dict = {}


def _datetime_prep(alias: str):
    prep = _DATETIME_PREPS.get(alias)
    if prep is None:
        def prep(value):
            return connections[alias].ops.adapt_datetimefield_value(value)

        _DATETIME_PREPS[alias] = prep
    return prep


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


class Array(tuple):
    """Values a query compares a column with as one array parameter
    (``field__any=Array(values)``): on PostgreSQL ``= ANY(%s)``, so the SQL
    is the same for any number of values (one shape for ShapedQuery, and
    short enough for psycopg to keep its parsed form); ``IN (…)`` elsewhere."""


@models.Field.register_lookup
class AnyOf(Lookup):
    lookup_name = "any"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        values = [field.get_db_prep_value(v, connection, prepared=False) for v in self.rhs]
        if not values:
            raise EmptyResultSet
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*params, values]
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*params, *values]


class ShapedQuery:
    """Compiled SQL for queries built from a request's values (the list
    pages: filters, the cursor), kept per *shape* and run with each
    request's values.

    ``fetch(shape, values, build)`` returns what ``fetch(build(values))``
    returns.  ``values`` maps names to the request's values after
    validation (strings, integers, aware datetimes, UUIDs, and lists of those);
    ``shape`` is everything else the SQL depends on (which filters are
    given, ordering, page size…).  The first time a shape is seen, ``build``
    runs twice with two different sets of markers in place of the values,
    and the plan is kept only if the two compilations give the same SQL and
    differ in their parameters exactly where a marker stands as it is.  A
    value that ``build`` transforms (``%…%`` of ``icontains``) or writes into
    the SQL makes the two compilations disagree, and that shape is always
    built and compiled normally.  ``None``, booleans and empty values are
    part of the shape, as they are; a request with a value of any other kind
    (a decimal, a naive datetime) is built and compiled normally.

    ``build`` must depend on nothing but ``values`` and the shape, and must
    not branch on a value's content: both markers would take the same branch
    (``q`` tries its value as a golden id), so callers leave such values out
    (the list view compiles requests with ``method`` filters each time)."""

    def __init__(self, max_shapes: int = MAX_SHAPES):
        self.max_shapes = max_shapes
        self._plans: dict = {}

    def fetch(self, shape: tuple, values: dict, build) -> list:
        flat, kinds = [], []
        for name in sorted(values):
            kind = _kind_of(values[name], flat, name)
            if kind is None:
                return fetch(build(values))
            kinds.append((name, kind))
        key = (shape, tuple(kinds))
        plan = self._plans.get(key, _UNSEEN)
        if plan is _UNSEEN:
            plan = self._compile(values, flat, build)
            if len(self._plans) < self.max_shapes:
                self._plans[key] = plan
        if plan is None:
            return fetch(build(values))
        params = list(plan.params)
        for index, slot, prep in plan.slots:
            value = flat[slot][1]
            params[index] = prep(list(value) if type(value) is Array else value)
        return _execute(plan, params)

    @staticmethod
    def _compile(values: dict, flat: list, build):
        marked = []
        for side in (0, 1):
            markers = [_marker(value, n, side) for n, (_, value) in enumerate(flat)]
            try:
                plan = _Plan(build(_substitute(values, flat, markers)), {})
            except (EmptyResultSet, TypeError):
                return None
            marked.append((plan, markers))
        (plan, markers_a), (other, markers_b) = marked
        if plan.sql != other.sql or len(plan.params) != len(other.params):
            return None
        slots = []
        for index, (a, b) in enumerate(zip(plan.params, other.params)):
            if type(a) is type(b) and a == b:
                continue  # a constant of the query
            found = []  # the value whose two markers stand here, each as it is (or as the database writes it)
            for n in range(len(flat)):
                prep = _prep_for(markers_a[n], a, plan.alias)
                if prep is not None and _prep_for(markers_b[n], b, plan.alias) is prep:
                    found.append((n, prep))
            if len(found) != 1:
                return None  # a value transformed on its way to the SQL
            slots.append((index, *found[0]))
        plan.slots = slots
        return plan


_UNSEEN = object()


def small(site: ShapedQuery, shape: tuple, values: dict, build, *, most: int = 4) -> list:
    """``site.fetch(…)`` when every list among ``values`` is short (one
    record's write: each length is a shape, compiled once), else the
    queryset evaluated as usual (a chunk of hundreds compiles once anyway)."""
    if any(isinstance(v, (list, tuple)) and len(v) > most for v in values.values()):
        return list(build(values))
    return site.fetch(shape, values, build)


def _kind_of(value, flat: list, name):
    """Register ``value``'s parameters in ``flat`` and return its kind for
    the shape key, or None when it cannot be a parameter."""
    if value is None or type(value) is bool or value == "" or (isinstance(value, (list, tuple)) and not value):
        return ("const", value if not isinstance(value, list) else ())  # part of the shape, as it is
    if type(value) is Array:  # one parameter, whatever its length (PostgreSQL; elsewhere the shapes differ)
        kinds = {_kind_of(item, [], None) for item in value}
        if len(kinds) != 1 or None in kinds:
            return None
        flat.append((name, value))
        return ("array", kinds.pop())
    if isinstance(value, (list, tuple)):
        kinds = []
        for i, item in enumerate(value):
            kind = _kind_of(item, flat, (name, i))
            if kind is None or isinstance(kind, tuple):  # (no lists of lists, no constants in lists)
                return None
            kinds.append(kind)
        return ("list", type(value).__name__, tuple(kinds))
    if type(value) is str and value:
        flat.append((name, value))
        return "str"
    if type(value) is uuid.UUID:
        flat.append((name, value))
        return "uuid"
    if type(value) is int:  # (told from constants by the two compilations, like every value)
        flat.append((name, value))
        return "int"
    if type(value) is dt.datetime and value.tzinfo is not None:
        flat.append((name, value))
        return "datetime"
    return None


def _marker(value, n: int, side: int):
    if type(value) is Array:
        return [_marker(item, n * 1000 + i, side) for i, item in enumerate(value)]
    if type(value) is str:
        return f"\x00marker-{n}-{side}"
    if type(value) is uuid.UUID:
        return uuid.UUID(int=(0xFEED << 112) + 2 * n + side)
    if type(value) is int:
        return (1 + side) * 1_000_000_000 + 7919 * n + 13
    return dt.datetime(1901 + side, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=n, microseconds=7)


def _substitute(values: dict, flat: list, markers: list) -> dict:
    out = {name: list(v) if isinstance(v, (list, tuple)) else v for name, v in values.items()}
    for (name, _), marker in zip(flat, markers):
        if isinstance(name, tuple):
            top, i = name
            out[top][i] = marker
        else:
            out[name] = marker
    return {name: type(values[name])(v) if isinstance(values[name], tuple) else v for name, v in out.items()}


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
