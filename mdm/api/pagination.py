"""Keyset (cursor) pagination for the master lists.

Each page continues strictly after the last row of the previous one, on the
ordering column plus the golden id as tie-breaker, so a nightly pull is
stable while others write: a row never appears twice because another row was
inserted or deleted before it, and is never skipped because of such a write
(offset pagination does both).  Ordering by ``updated_at`` (the default) is
the best choice for sync: a record changed during the pull moves behind the
cursor and is delivered again with its new version instead of being missed.

One limit, shared by every timestamp-based sync: ``updated_at`` is set when
a write happens, not when it commits, so a write that commits a moment after
the cursor passed its timestamp is not in this pull; the next
``updated_since`` poll (started a few seconds before the previous poll's
start) or the change feed (``/api/v1/changes/``, strictly commit-ordered)
delivers it.

The cursor is opaque to clients (base64 of the ordering and the last key);
a cursor produced under another ordering is refused with 400.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from urllib.parse import urlencode

from django.db.models import Q
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from mdm.compiled import fetch

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


def _encode(payload: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(token: str) -> dict:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ValidationError({"cursor": ["Invalid cursor: pass the `next` link of the previous page as it is."]})
    if not isinstance(payload, dict):
        raise ValidationError({"cursor": ["Invalid cursor."]})
    return payload


class KeysetPagination(BasePagination):
    """``?cursor=…&page_size=…&ordering=…``.  The view declares
    ``ordering_fields`` (non-null columns) and ``default_ordering``."""

    cursor_query_param = "cursor"
    page_size_query_param = "page_size"
    ordering_query_param = "ordering"
    tie_breaker = "id"

    def __init__(self):
        self.next_cursor = None
        self.base_url = ""
        self.request = None

    # --- parameters ---------------------------------------------------------------
    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw in (None, ""):
            return DEFAULT_PAGE_SIZE
        try:
            size = int(raw)
        except ValueError:
            raise ValidationError({self.page_size_query_param: ["Must be an integer."]}) from None
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise ValidationError({self.page_size_query_param: [f"Must be between 1 and {MAX_PAGE_SIZE}."]})
        return size

    def get_ordering(self, request, view) -> tuple[str, bool]:
        allowed = tuple(getattr(view, "ordering_fields", ("updated_at", "id")))
        raw = request.query_params.get(self.ordering_query_param) or getattr(view, "default_ordering", allowed[0])
        name = raw.lstrip("-")
        if name not in allowed:
            raise ValidationError({self.ordering_query_param: [
                f"Cannot order by '{raw}'. Choose one of: {', '.join(allowed)} (prefix '-' for descending)."
            ]})
        return name, raw.startswith("-")

    # --- the page ------------------------------------------------------------------
    def paginate_queryset(self, queryset, request, view=None):
        size, field, desc, key = self.parse(request, view, queryset.model)
        rows = fetch(self.page_query(queryset, field, desc, key, size))  # prepared on PostgreSQL (compiled.py)
        return self.finish(rows, size, field, desc)

    def parse(self, request, view, model) -> tuple:
        """``(page size, ordering field, descending, cursor key)`` of the
        request, checked (400 on a bad one); the key is ``None`` on the first
        page, else ``(value, last id)`` with the value typed as the column."""
        self.request = request
        size = self.get_page_size(request)
        field, desc = self.get_ordering(request, view)
        token = request.query_params.get(self.cursor_query_param)
        key = self._key(_decode(token), field, desc, model) if token else None
        return size, field, desc, key

    def page_query(self, queryset, field: str, desc: bool, key, size: int):
        """The page: ordered on ``field`` and the tie-breaker, strictly after
        ``key``, one row more than ``size`` (to know whether another page follows)."""
        tb = self.tie_breaker
        direction = "-" if desc else ""
        if field == tb:
            queryset = queryset.order_by(f"{direction}{tb}")
        else:
            queryset = queryset.order_by(f"{direction}{field}", f"{direction}{tb}")
        if key is not None:
            value, last_id = key
            gt, gte = ("lt", "lte") if desc else ("gt", "gte")
            if field == tb:
                queryset = queryset.filter(**{f"{tb}__{gt}": last_id})
            else:
                # The first filter is redundant but lets the database use the index on ``field`` as a range.
                queryset = queryset.filter(**{f"{field}__{gte}": value}).filter(
                    Q(**{f"{field}__{gt}": value}) | Q(**{field: value, f"{tb}__{gt}": last_id})
                )
        return queryset[: size + 1]

    def finish(self, rows: list, size: int, field: str, desc: bool) -> list:
        """The page's rows, and the cursor of the next page if there is one."""
        tb = self.tie_breaker
        has_more = len(rows) > size
        rows = rows[:size]
        self.next_cursor = None
        if has_more and rows:
            last = rows[-1]
            key = [_jsonable(_value(last, field))] if field != tb else []
            self.next_cursor = _encode({"o": f"{'-' if desc else ''}{field}", "k": [*key, str(_value(last, tb))]})
        return rows

    def _key(self, payload: dict, field: str, desc: bool, model) -> tuple:
        expected = f"{'-' if desc else ''}{field}"
        if payload.get("o") != expected:
            raise ValidationError({self.cursor_query_param: [
                f"This cursor was made for ordering '{payload.get('o')}', not '{expected}'."
            ]})
        key = payload.get("k")
        tb = self.tie_breaker
        if not isinstance(key, list) or len(key) != (1 if field == tb else 2):
            raise ValidationError({self.cursor_query_param: ["Invalid cursor."]})
        try:
            last_id = uuid.UUID(str(key[-1]))
        except ValueError:
            raise ValidationError({self.cursor_query_param: ["Invalid cursor."]}) from None
        if field == tb:
            return None, last_id
        value = key[0]
        if model._meta.get_field(field).get_internal_type() == "DateTimeField":
            value = parse_datetime(str(value))
            if value is None:
                raise ValidationError({self.cursor_query_param: ["Invalid cursor."]})
        return value, last_id

    def next_link(self) -> str | None:
        if self.next_cursor is None:
            return None
        params = self.request.query_params.copy()
        params[self.cursor_query_param] = self.next_cursor
        return f"{self.request.build_absolute_uri(self.request.path)}?{urlencode(list(params.lists()), doseq=True)}"

    def get_paginated_response(self, data):
        return Response({"next": self.next_link(), "results": data})

    # --- schema ----------------------------------------------------------------------
    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["next", "results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri",
                         "description": "The next page; null on the last page."},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        allowed = tuple(getattr(view, "ordering_fields", ("updated_at", "id")))
        choices = [*allowed, *[f"-{f}" for f in allowed]]
        return [
            {"name": self.cursor_query_param, "in": "query", "required": False,
             "description": "Opaque cursor from the previous page's `next` link.", "schema": {"type": "string"}},
            {"name": self.page_size_query_param, "in": "query", "required": False,
             "description": f"Rows per page (1–{MAX_PAGE_SIZE}, default {DEFAULT_PAGE_SIZE}).",
             "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}},
            {"name": self.ordering_query_param, "in": "query", "required": False,
             "description": "Sort key; ties are broken by id. Default: "
                            f"`{getattr(view, 'default_ordering', allowed[0])}`.",
             "schema": {"type": "string", "enum": choices}},
        ]


def _value(row, name: str):
    """A column of a model instance or a ``values()`` row (whose timestamps
    may come pre-formatted as ``iso_<name>``)."""
    if isinstance(row, dict):
        return row[name] if name in row else row[f"iso_{name}"]
    return getattr(row, name)


def _jsonable(value):
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value
