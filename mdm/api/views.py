"""The REST API: masters (read, history, point in time, approval by a
person), inbound source records, cross-reference lookup, change feed.

Views stay thin: reads are queries, the one write path for data is
``mdm.services.ingest.ingest_many`` (the batch form of ``ingest_record``) and approval is
``mdm.services.golden.approve``, each inside an ``audit_context``."""

from __future__ import annotations

import functools
import uuid
from types import SimpleNamespace

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection
from django.db.models import Q
from django.http import Http404
from django.utils.dateparse import parse_datetime
from django.utils.http import quote_etag
from django_filters.utils import translate_validation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from mdm.api.schema import any_of  # also registers the token scheme
from mdm.api import serializers as s
from mdm.compiled import Array, CompiledQuery, ShapedQuery, fetch
from mdm.api.auth import (
    HubAccess,
    IngestThrottle,
    ReadThrottle,
    ServiceAccountOnly,
    caller_roles,
    may_read_entity,
    may_read_pending,
    service_account_of,
)
from mdm.api.filters import StrictFilterBackend
from mdm.api.pagination import MAX_PAGE_SIZE, KeysetPagination
from mdm.api.renderers import FastJSONRenderer
from mdm.audit import audit_context
from mdm.choices import EntityType, IngestOutcome, LifecycleState, Origin, XrefRole
from mdm.filtersets import ContractFilterSet, CustomerFilterSet, LegalEntityFilterSet, ProjectFilterSet
from mdm.models import ChangeEvent, Contract, CrossReference, Customer, LegalEntity, Project, golden_model
from mdm.services import golden as golden_svc
from mdm.services.ingest import IngestError, ingest_many

# --- documented error answers ---------------------------------------------------------

_ERR = s.ErrorSerializer
_FIELD_ERRORS = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="Bad parameters or body: parameter or field name → list of messages.",
    examples=[OpenApiExample("unknown filter", value={"contry": ["Unknown filter parameter 'contry'. …"]})],
)
COMMON_ERRORS = {
    401: OpenApiResponse(_ERR, description="No or invalid credentials (missing, expired or revoked token)."),
    403: OpenApiResponse(_ERR, description="Authenticated but not allowed (role, scope, pending records)."),
    429: OpenApiResponse(_ERR, description="Per-account quota exceeded; retry after the Retry-After header."),
}
NOT_FOUND = {404: OpenApiResponse(_ERR, description="No such record visible to the caller.")}

EXCLUDED_FROM_DIFF = {"lineage", "version", "updated_at", "created_at"}


def etag_for(record) -> str:
    """The version is the ETag; states other than approved are tagged too,
    because approval changes the body without a new version."""
    tag = str(record.version) if record.state == LifecycleState.APPROVED else f"{record.version}-{record.state}"
    return quote_etag(tag)


def version_from_etag(value: str) -> int | None:
    text = value.strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"').split("-", 1)[0]
    return int(text) if text.isdigit() else None


def _parse_uuid(value) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Http404("Not a golden record id.") from None


def _visible_states(request) -> set[str]:
    states = {LifecycleState.APPROVED, LifecycleState.RETIRED, LifecycleState.MERGED}
    if may_read_pending(request):
        states.add(LifecycleState.PENDING)
    return states


# --- masters ------------------------------------------------------------------------------

class GoldenViewSet(viewsets.ReadOnlyModelViewSet):
    """List, detail, history, point in time and approval for one master type."""

    model = None
    detail_serializer_class = None
    related = ()
    filter_backends = [StrictFilterBackend]
    pagination_class = KeysetPagination
    renderer_classes = [FastJSONRenderer]
    permission_classes = [HubAccess]
    throttle_classes = [ReadThrottle]
    passthrough_params = ("cursor", "page_size", "ordering", "brief", "format")
    ordering_fields = ("updated_at", "id", "created_at")
    default_ordering = "updated_at"
    lookup_value_regex = "[^/]+"

    @property
    def entity_type(self) -> str:
        return self.model.entity_type

    # --- scoping --------------------------------------------------------------------------
    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not may_read_entity(request, self.entity_type):
            raise exceptions.PermissionDenied(
                f"This service account is not scoped to {self.entity_type.replace('_', ' ')} records."
            )

    def get_queryset(self, base=None):
        """The records the caller may see; ``base`` is where the list starts
        (the columns it renders: ``RowRenderer.base()``)."""
        qs = self.model.objects.all() if base is None else base
        if self.action == "list" and not self._states_asked():
            # the approved masters: records awaiting re-approval are listed at their last approved version
            qs = qs.filter(Q(state=LifecycleState.APPROVED)
                           | Q(state=LifecycleState.PENDING, approved_at__isnull=False))
        return qs

    def _states_asked(self) -> bool:
        """Did the list request name states?  Refuses pending ones to those who may not read them."""
        requested = set(self.request.query_params.getlist("state"))
        if LifecycleState.PENDING in requested and not may_read_pending(self.request):
            raise exceptions.PermissionDenied(
                "This account may not read pending records (service accounts need can_read_pending)."
            )
        return bool(requested)

    def _brief(self) -> bool:
        return self.request.query_params.get("brief", "").lower() in {"1", "true", "yes"}

    def get_serializer_class(self):
        if self.action == "list" and self._brief():
            return s.brief_serializer_for(self.model)
        if self.action in ("retrieve", "approve"):
            return self.detail_serializer_class
        return self.serializer_class

    # --- list -------------------------------------------------------------------------------
    def list(self, request, *args, **kwargs):
        """Rows come from ``values()`` and render through ``RowRenderer``
        (same output as the serializer, several times faster)."""
        renderer = s.RowRenderer(self.get_serializer_class(), self.model, self.get_serializer_context(),
                                 postgres=connection.vendor == "postgresql")
        paginator = self.paginator
        size, field, desc, key = paginator.parse(request, self, self.model)
        renderer.ensure(field)  # the cursor needs the sort key
        states_asked = self._states_asked()
        backend = self.filter_backends[0]()
        filterset = backend.get_filterset(request, renderer.base(), self)
        if not filterset.is_valid():
            raise translate_validation(filterset.errors)
        given = filterset.form.cleaned_data
        values = {f"filter:{name}": value for name, value in given.items()}
        if key is not None:
            values["cursor:value"], values["cursor:id"] = key

        def build(v):
            filterset.form.cleaned_data = {name: v[f"filter:{name}"] for name in given}
            queryset = filterset.filter_queryset(self.get_queryset(base=renderer.base()))
            return paginator.page_query(queryset, field, desc, None if key is None else (
                v["cursor:value"], v["cursor:id"]), size)

        if all(filterset.filters[name].method is None for name in given):
            shape = (self.model, renderer.shape(), field, desc, size, key is None, states_asked,
                     tuple(sorted(given)))
            rows = _LIST_QUERIES.fetch(shape, values, build)
        else:  # a ``method`` filter may branch on its value's content: built and compiled each time
            rows = fetch(build(values))
        page = paginator.finish(rows, size, field, desc)
        if not states_asked:
            page = self._published_rows(page, renderer)
        return self.get_paginated_response(renderer.render(page))

    def _published_rows(self, page: list, renderer) -> list:
        """The page with each record awaiting re-approval replaced by its last
        approved version (same columns, from history; the page's order and
        cursor stay those of the current rows)."""
        waiting = [row["id"] for row in page if row["state"] == LifecycleState.PENDING]
        if not waiting:
            return page
        approved: dict = {}

        def build(v):
            return renderer.values(golden_svc.last_approved_query(self.model, v["ids"]))

        # compiled once per page shape (the ids go as one array parameter)
        for row in _APPROVED_ROWS.fetch((self.model, renderer.shape()), {"ids": Array(waiting)}, build):
            approved.setdefault(row["id"], row)
        return [approved[row["id"]] if row["state"] == LifecycleState.PENDING else row
                for row in page if row["state"] != LifecycleState.PENDING or row["id"] in approved]

    # --- detail ---------------------------------------------------------------------------
    def _load(self, pk, *, for_read: bool = False):
        """The record; for a read, its references are loaded with only the
        columns their brief form shows (a join of every column of up to three
        other masters costs more than the read itself)."""
        pk = _parse_uuid(pk)
        if for_read:
            record = _detail_query(self.model, self.related).first(pk=pk)
        else:
            record = next(iter(self.model.objects.select_related(*self.related).filter(pk=pk).order_by()[:1]), None)
        if record is None:
            raise Http404(f"No {self.model._meta.verbose_name} with this id.")
        return record

    def _with_xrefs(self, record):
        record.api_xrefs = _XREFS_OF.run(entity_type=self.entity_type, golden_id=record.pk)
        return record

    def _detail_response(self, record, **headers):
        body = self.get_serializer(self._with_xrefs(record)).data
        response = Response(body, headers={"ETag": etag_for(record), **headers})
        return response

    def retrieve(self, request, pk=None):
        as_of = request.query_params.get("as_of")
        unknown = set(request.query_params) - {"as_of", "format"}
        if unknown:
            raise exceptions.ValidationError({k: ["Not a parameter of the detail read (as_of only)."]
                                              for k in sorted(unknown)})
        if as_of is not None:
            return self._as_of(request, pk, as_of)
        inm = request.headers.get("If-None-Match")
        if inm:
            not_modified = self._not_modified(request, pk, inm)
            if not_modified is not None:
                return not_modified
        record = self._load(pk, for_read=True)
        if record.state == LifecycleState.MERGED and record.merged_into_id:
            survivor = golden_svc.follow_merges(self.model, record.merged_into_id)
            url = s.record_url(self.get_serializer_context(), self.entity_type, survivor.pk)
            body = {"id": str(record.pk), "state": LifecycleState.MERGED, "merged_into": str(survivor.pk), "url": url}
            return Response(body, status=status.HTTP_301_MOVED_PERMANENTLY, headers={"Location": url})
        if record.state not in _visible_states(request):
            published = (golden_svc.last_approved(self.model, [record.pk]).get(record.pk)
                         if golden_svc.awaiting_reapproval(record) else None)
            if published is None:
                raise Http404(f"No approved {self.model._meta.verbose_name} with this id (it awaits approval).")
            approved = published.instance
            headers = {"X-Awaiting-Approval": str(record.version)}
            if inm and etag_for(approved) in [t.strip() for t in inm.split(",")]:
                return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag_for(approved), **headers})
            return self._detail_response(approved, **headers)
        return self._detail_response(record)

    def _not_modified(self, request, pk, inm: str):
        """``If-None-Match``: answer 304 from the record's state and version
        alone, without loading or rendering it; None when the full read is due
        (changed, merged, invisible or missing: the normal path answers those)."""
        row = _state_query(self.model).first(pk=_parse_uuid(pk))
        if row is None or row[0] == LifecycleState.MERGED or row[0] not in _visible_states(request):
            return None
        etag = etag_for(SimpleNamespace(state=row[0], version=row[1]))
        if inm.strip() == "*" or etag in [t.strip() for t in inm.split(",")]:
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
        return None

    def _as_of(self, request, pk, raw):
        when = parse_datetime(raw)
        if when is None:
            raise exceptions.ValidationError({"as_of": ["An ISO 8601 timestamp, e.g. 2026-01-31T12:00:00Z."]})
        if when.tzinfo is None:
            from django.utils import timezone

            when = timezone.make_aware(when, timezone.utc)
        pk = _parse_uuid(pk)
        rows = self.model.history.model.objects.filter(id=pk, history_date__lte=when)
        if not may_read_pending(request):
            rows = rows.exclude(state=LifecycleState.PENDING)
        row = rows.order_by("-history_date", "-history_id").first()
        if row is None or row.history_type == "-":
            raise Http404(f"No {'' if may_read_pending(request) else 'approved '}version of this record at {raw}.")
        record = row.instance
        return self._detail_response(record, **{"X-As-Of": s.jsonable(row.history_date)})

    # --- history ------------------------------------------------------------------------------
    @action(detail=True, methods=["get"], url_path="history", pagination_class=None, filter_backends=[])
    def history(self, request, pk=None):
        unknown = set(request.query_params) - {"cursor", "page_size", "format"}
        if unknown:
            raise exceptions.ValidationError({k: ["Unknown parameter."] for k in sorted(unknown)})
        pk = _parse_uuid(pk)
        hist = self.model.history.model.objects.filter(id=pk)
        if not hist.exists():
            raise Http404(f"No history for a {self.model._meta.verbose_name} with this id.")
        if not may_read_pending(request):
            hist = hist.exclude(state=LifecycleState.PENDING)
        size = KeysetPagination().get_page_size(request)
        cursor = request.query_params.get("cursor")
        if cursor:
            if not cursor.isdigit():
                raise exceptions.ValidationError({"cursor": ["Pass the `next` link of the previous page."]})
            hist = hist.filter(history_id__lt=int(cursor))
        rows = list(hist.select_related("history_user").order_by("-history_id")[: size + 1])
        entries = []
        for i, row in enumerate(rows[:size]):
            prev = rows[i + 1] if i + 1 < len(rows) else (
                hist.filter(history_id__lt=row.history_id).order_by("-history_id").first()
            )
            entries.append(self._history_entry(row, prev))
        next_url = None
        if len(rows) > size:
            params = request.query_params.copy()
            params["cursor"] = str(rows[size - 1].history_id)
            next_url = f"{request.build_absolute_uri(request.path)}?{params.urlencode()}"
        return Response({"next": next_url, "results": entries})

    def _history_entry(self, row, prev) -> dict:
        if prev is None:
            fields = [f.name for f in row.tracked_fields if f.editable and f.name not in EXCLUDED_FROM_DIFF]
            changes = [{"field": name, "before": None, "after": s.jsonable(row.__dict__.get(_attname(row, name)))}
                       for name in sorted(fields)
                       if row.__dict__.get(_attname(row, name)) not in (None, "")]
        else:
            delta = row.diff_against(prev, excluded_fields=EXCLUDED_FROM_DIFF)
            changes = [{"field": c.field, "before": s.jsonable(c.old), "after": s.jsonable(c.new)}
                       for c in delta.changes]
        return {
            "history_id": row.history_id,
            "date": s.jsonable(row.history_date),
            "type": {"+": "created", "~": "changed", "-": "deleted"}[row.history_type],
            "version": row.version,
            "state": row.state,
            "user": row.history_user.get_username() if row.history_user_id else None,
            "actor": row.history_actor,
            "origin": row.history_origin,
            "reason": row.history_change_reason,
            "correlation_id": row.history_correlation_id,
            "changes": changes,
        }

    # --- approval by a person -----------------------------------------------------------------
    @action(detail=True, methods=["post"], url_path="approve", pagination_class=None, filter_backends=[])
    def approve(self, request, pk=None):
        if service_account_of(request) is not None:
            raise exceptions.PermissionDenied("Service accounts cannot change golden records.")
        if not caller_roles(request) & {"approver", "admin"}:
            raise exceptions.PermissionDenied("Approving needs the approver role.")
        body = s.ApproveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if_match = request.headers.get("If-Match")
        if not if_match:
            return Response({"detail": "If-Match with the record's ETag is required."},
                            status=status.HTTP_428_PRECONDITION_REQUIRED)
        expected = version_from_etag(if_match)
        if expected is None:
            raise exceptions.ValidationError({"If-Match": ["Send the ETag of your last read, e.g. \"3\"."]})
        record = self._load(pk)
        reason = body.validated_data.get("reason") or "approved via API"
        try:
            with audit_context(origin=Origin.API, user=request.user, reason=reason, request=request):
                record = golden_svc.approve(record, actor=request.user, expected_version=expected)
        except golden_svc.ConflictError as exc:
            return Response({"detail": exc.message}, status=status.HTTP_412_PRECONDITION_FAILED,
                            headers={"ETag": quote_etag(str(exc.current_version))})
        except golden_svc.ServiceError as exc:
            raise exceptions.ValidationError({exc.field or "non_field_errors": [exc.message]}) from None
        return self._detail_response(record)


# --- the hot reads, compiled once per process (mdm/compiled.py) ----------------------------------------

_ID = uuid.UUID("00000000-0000-4000-8000-00000000c0de")  # a marker: no constant of these queries equals it

#: The list pages' queries, compiled once per combination of filters, ordering and page size.
_LIST_QUERIES = ShapedQuery(max_shapes=512)
#: The last approved versions of a page's records awaiting re-approval (``_published_rows``).
_APPROVED_ROWS = ShapedQuery(max_shapes=32)

#: A golden record's cross-references, in the order the detail read and the xref look-up show them.
_XREFS_OF = CompiledQuery(
    lambda entity_type, golden_id: CrossReference.objects.filter(entity_type=entity_type, golden_id=golden_id)
    .select_related("system").order_by("system__trust_rank", "system__code", "role", "external_id"),
    entity_type="\x00entity-type", golden_id=_ID,
)


@functools.lru_cache(maxsize=None)
def _detail_query(model, related: tuple) -> CompiledQuery:
    """The record for a detail read, its references with their brief columns only."""
    return CompiledQuery(lambda pk: model.objects.select_related(*related).only(*_read_columns(model, related))
                         .filter(pk=pk).order_by()[:1], pk=_ID)


@functools.lru_cache(maxsize=None)
def _state_query(model) -> CompiledQuery:
    """``(state, version)`` of one record: all a revalidation needs."""
    return CompiledQuery(lambda pk: model.objects.filter(pk=pk).order_by().values_list("state", "version")[:1], pk=_ID)


@functools.lru_cache(maxsize=None)
def _merge_step_query(model) -> CompiledQuery:
    return CompiledQuery(lambda pk: model.objects.only("merged_into", "state", "version").filter(pk=pk)
                         .order_by()[:1], pk=_ID)


def _follow_merges(model, pk):
    """``golden_svc.follow_merges(model, pk, fields=("state", "version"))``, on compiled queries."""
    step = _merge_step_query(model)
    seen = set()
    obj = step.first(pk=pk)
    while obj is not None and obj.merged_into_id and obj.pk not in seen:
        seen.add(obj.pk)
        obj = step.first(pk=obj.merged_into_id)
    return obj


def _xref_lookup(typed: bool) -> CompiledQuery:
    """Every column of the unique (system, entity type, role, external id) index is constrained, so the
    look-up is an index probe; with the external id alone PostgreSQL scans every cross-reference."""
    def build(system, source_id, **typed_marker):
        types = [typed_marker["entity_type"]] if typed else EntityType.values
        return (CrossReference.objects.filter(system__code=system, external_id=source_id, entity_type__in=types,
                                              role__in=XrefRole.values)
                .order_by("role").values_list("entity_type", "golden_id"))

    markers = {"system": "\x00system", "source_id": "\x00source-id"}
    if typed:
        markers["entity_type"] = "\x00entity-type"
    return CompiledQuery(build, **markers)


_XREF_ANY, _XREF_TYPED = _xref_lookup(False), _xref_lookup(True)

#: One page of the change feed; the shape is the page's row limit and the entity types (None: all).
_FEED = CompiledQuery(
    lambda limit, types, after: (ChangeEvent.objects.filter(id__gt=after) if types is None else
                                 ChangeEvent.objects.filter(id__gt=after, entity_type__in=types))
    .order_by("id").values(*s.CHANGE_COLUMNS)[:limit],
    after=-7_700_000_000_000,
)


@functools.lru_cache(maxsize=None)
def _read_columns(model, related: tuple) -> tuple[str, ...]:
    """The record's own columns plus, per reference, its id and display columns."""
    own = [f.attname for f in model._meta.concrete_fields if f.attname != "match_form"]  # (derived, never shown)
    for name in related:
        target = model._meta.get_field(name).related_model
        own += [f"{name}__id", *(f"{name}__{f}" for f in s.DISPLAY_FIELDS[target])]
    return tuple(own)


def _attname(row, name: str) -> str:
    field = row._meta.get_field(name)
    return getattr(field, "attname", name)


def _document(viewset_cls, noun: str, filterset):
    """Attach the OpenAPI description of one master's endpoints."""
    detail = viewset_cls.detail_serializer_class
    brief_param = OpenApiParameter("brief", OpenApiTypes.BOOL, description="Brief form: id, url, display, state.")
    list_schema = extend_schema(
        summary=f"List approved {noun}",
        description=(f"Approved {noun}: one whose change awaits approval is listed at its last approved version "
                     "(filters match its current values). Pass `state` to ask for records in that state as they "
                     "are now; `pending` needs a steward session or a service account with can_read_pending. "
                     "Cursor pagination stable under concurrent writes; "
                     f"at most {MAX_PAGE_SIZE} per page; unknown parameters answer 400."),
        parameters=[brief_param],
        responses={200: any_of(f"{viewset_cls.model.__name__}ListItem",
                               [viewset_cls.serializer_class, s.brief_serializer_for(viewset_cls.model)]),
                   400: _FIELD_ERRORS, **COMMON_ERRORS},
    )
    retrieve_schema = extend_schema(
        summary=f"One of the {noun}, with cross-references and lineage",
        description=("While a change awaits approval, a caller who may not read pending records gets the last "
                     "approved version, with the pending version's number in the `X-Awaiting-Approval` header."),
        parameters=[
            OpenApiParameter("as_of", OpenApiTypes.DATETIME, description="The record as it was at this time."),
            OpenApiParameter("If-None-Match", OpenApiTypes.STR, OpenApiParameter.HEADER,
                             description="An ETag from an earlier read; 304 when unchanged."),
        ],
        responses={
            200: detail,
            301: OpenApiResponse(s.MergedPointerSerializer,
                                 description="The record was merged: Location and body name the survivor."),
            304: OpenApiResponse(None, description="Not modified since the ETag sent in If-None-Match."),
            400: _FIELD_ERRORS, **COMMON_ERRORS, **NOT_FOUND,
        },
    )
    history_schema = extend_schema(
        summary=f"History of one of the {noun}",
        description="Newest first: who, when, why, origin, correlation id and per-field before/after.",
        parameters=[
            OpenApiParameter("cursor", {"type": "string", "pattern": "^[0-9]+$"},
                             description="From the previous page's next link."),
            OpenApiParameter("page_size", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
                             description=f"1–{MAX_PAGE_SIZE}, default 100."),
        ],
        responses={200: s.HistoryPageSerializer, 400: _FIELD_ERRORS, **COMMON_ERRORS, **NOT_FOUND},
    )
    approve_schema = extend_schema(
        summary=f"Approve one of the {noun} (approver's session)",
        description="Needs the approver role and `If-Match` with the ETag of the version being approved.",
        request=s.ApproveSerializer,
        parameters=[OpenApiParameter("If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True)],
        responses={
            200: detail, 400: _FIELD_ERRORS, **COMMON_ERRORS, **NOT_FOUND,
            412: OpenApiResponse(_ERR, description="The record changed since that ETag."),
            428: OpenApiResponse(_ERR, description="If-Match is missing."),
        },
    )
    # Each class gets its own method objects: extend_schema annotates the function it decorates, and the
    # inherited ones are shared by all four masters.
    viewset_cls.list = list_schema(_fresh(GoldenViewSet.list))
    viewset_cls.retrieve = retrieve_schema(_fresh(GoldenViewSet.retrieve))
    viewset_cls.history = history_schema(_fresh(GoldenViewSet.history))
    viewset_cls.approve = approve_schema(_fresh(GoldenViewSet.approve))
    return viewset_cls


def _fresh(func):
    @functools.wraps(func)
    def method(self, *args, **kwargs):
        return func(self, *args, **kwargs)

    if hasattr(func, "kwargs"):  # an @action: its schema overrides live in this dict
        method.kwargs = dict(func.kwargs)
    return method


def _master(model, serializer, detail, filterset, related, ordering_extra, noun):
    cls = type(f"{model.__name__}ViewSet", (GoldenViewSet,), {
        "__doc__": f"The golden {noun}.",
        "model": model,
        "queryset": model.objects.all(),
        "serializer_class": serializer,
        "detail_serializer_class": detail,
        "filterset_class": filterset,
        "related": related,
        "ordering_fields": GoldenViewSet.ordering_fields + ordering_extra,
    })
    return _document(cls, noun, filterset)


CustomerViewSet = _master(Customer, s.CustomerSerializer, s.CustomerDetailSerializer, CustomerFilterSet,
                          ("parent", "legal_entity"), ("legal_name", "tax_id", "country"), "customers")
LegalEntityViewSet = _master(LegalEntity, s.LegalEntitySerializer, s.LegalEntityDetailSerializer,
                             LegalEntityFilterSet, (), ("code", "name"), "legal entities")
ContractViewSet = _master(Contract, s.ContractSerializer, s.ContractDetailSerializer, ContractFilterSet,
                          ("customer", "legal_entity"), ("number", "title"), "contracts")
ProjectViewSet = _master(Project, s.ProjectSerializer, s.ProjectDetailSerializer, ProjectFilterSet,
                         ("customer", "contract", "legal_entity"), ("code", "name"), "projects")


# --- inbound source records ------------------------------------------------------------------------

class SourceRecordView(APIView):
    """``POST /api/v1/source-records/``: one record (an object) or many (a list)."""

    permission_classes = [HubAccess, ServiceAccountOnly]
    throttle_classes = [IngestThrottle]

    @extend_schema(
        summary="Send source records (one object, or a list for bulk)",
        description=(
            "Upserts by the caller's system and the record's own id, so retries are harmless. Each record is "
            "written in its own transaction. A list may hold at most `MDM_BULK_LIMIT` records (default 500); "
            "a longer list or a body over `MDM_MAX_BODY_BYTES` answers 413. A single object answers 201 when it "
            "created a record, 200 otherwise, 400 with field errors; a list answers 207 with a summary and one "
            "result per record, in order (rejected ones carry `errors`)."
        ),
        request={"application/json": {"oneOf": [
            {"$ref": "#/components/schemas/SourceRecordIn"},
            {"type": "array", "items": {"$ref": "#/components/schemas/SourceRecordIn"}, "minItems": 1},
        ]}},
        responses={
            200: OpenApiResponse(s.IngestOutcomeSerializer, description="Single object: updated or unchanged. "
                                 "A list answers a BulkIngestResponse instead."),
            201: OpenApiResponse(s.IngestOutcomeSerializer, description="Single object: created."),
            207: OpenApiResponse(s.BulkIngestResponseSerializer, description="A list: one result per record."),
            400: OpenApiResponse(s.IngestOutcomeSerializer, description="Rejected: `errors` maps field → messages."),
            413: OpenApiResponse(_ERR, description="Too many records or too large a body."),
            **COMMON_ERRORS,
        },
    )
    def post(self, request):
        too_big = self._too_big(request)
        if too_big:
            return too_big
        body = request.data
        if isinstance(body, list):
            if not body:
                raise exceptions.ValidationError({"non_field_errors": ["Send at least one record."]})
            if len(body) > settings.MDM_BULK_LIMIT:
                return Response({"detail": f"At most {settings.MDM_BULK_LIMIT} records per request; "
                                           f"this one has {len(body)}. Split it."},
                                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
            items, single = body, False
        elif isinstance(body, dict):
            items, single = [body], True
        else:
            raise exceptions.ValidationError({"non_field_errors": ["Send a record object or a list of them."]})

        account = service_account_of(request)
        parsed = []
        for index, item in enumerate(items):
            ser = s.SourceRecordInSerializer(data=item if isinstance(item, dict) else {})
            if not isinstance(item, dict):
                parsed.append((index, None, {"non_field_errors": ["Each record must be an object."]}))
            elif not ser.is_valid():
                parsed.append((index, None, {k: [str(m) for m in v] for k, v in ser.errors.items()}))
            else:
                parsed.append((index, ser.validated_data, None))
        # Authorisation for the whole request before anything is written.
        for index, data, _ in parsed:
            if data is None:
                continue
            named = data.get("system")
            if named and named != account.system.code:
                raise exceptions.PermissionDenied(
                    f"Record {index} names system '{named}'; this token writes only {account.system.code}'s records."
                )
            if not account.may_write(data["entity_type"]):
                raise exceptions.PermissionDenied(
                    f"Record {index}: this service account may not write {data['entity_type']} records."
                )

        reason = f"api: {account.name} sent {len(items)} record{'s' if len(items) != 1 else ''}"
        with audit_context(origin=Origin.API, user=request.user, reason=reason, request=request):
            results = self._ingest(account, parsed, items)

        if single:
            one = results[0]
            code = {IngestOutcome.CREATED: 201, IngestOutcome.REJECTED: 400}.get(one["outcome"], 200)
            return Response(one, status=code)
        summary = {k: 0 for k in ("created", "updated", "unchanged", "rejected")}
        for r in results:
            summary[r["outcome"]] += 1
        return Response({"summary": summary, "results": results}, status=207)

    def _ingest(self, account, parsed, items) -> list[dict]:
        """Each record is all-or-nothing (``ingest_many`` writes a chunk
        together and retries each record alone if the chunk fails), so one
        bad or racing record never spoils another."""
        results: list[dict | None] = [None] * len(items)
        by_type: dict[str, list[tuple[int, dict]]] = {}
        for index, data, errors in parsed:
            if errors is not None:
                results[index] = self._rejected(index, items[index], errors)
            else:
                by_type.setdefault(data["entity_type"], []).append((index, data))
        for entity_type, group in by_type.items():
            try:
                outcomes = ingest_many(system=account.system, entity_type=entity_type,
                                       items=[(d["source_id"], d["data"]) for _, d in group])
            except (IntegrityError, OperationalError):
                busy = {"source_id": ["Another request wrote this record at the same moment; send it again."]}
                outcomes = [IngestError(busy)] * len(group)
            for (index, _), outcome in zip(group, outcomes):
                if isinstance(outcome, IngestError):
                    results[index] = self._rejected(index, items[index], outcome.errors)
                else:
                    results[index] = {"index": index, **outcome.to_dict()}
        return results

    @staticmethod
    def _rejected(index, raw, errors) -> dict:
        raw = raw if isinstance(raw, dict) else {}
        return {"index": index, "outcome": IngestOutcome.REJECTED,
                "entity_type": raw.get("entity_type") if isinstance(raw.get("entity_type"), str) else None,
                "source_id": None if raw.get("source_id") is None else str(raw.get("source_id")),
                "errors": errors}

    @staticmethod
    def _too_big(request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit and length > limit:
            return Response({"detail": f"The body is {length} bytes; the limit is {limit}."},
                            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        return None


# --- cross-reference lookup --------------------------------------------------------------------------

class XrefView(APIView):
    """``GET /api/v1/xref/?system=crm&source_id=001A…`` → the golden record and every system's id."""

    permission_classes = [HubAccess]
    renderer_classes = [FastJSONRenderer, BrowsableAPIRenderer]  # DRF's defaults, JSON by orjson
    throttle_classes = [ReadThrottle]

    @extend_schema(
        summary="Find a golden record by any system's id",
        parameters=[
            OpenApiParameter("system", {"type": "string", "minLength": 1}, required=True,
                             description="System code, e.g. crm."),
            OpenApiParameter("source_id", {"type": "string", "minLength": 1}, required=True,
                             description="That system's id."),
            OpenApiParameter("entity_type", OpenApiTypes.STR, enum=EntityType.values,
                             description="Needed only when the id names records of several types."),
        ],
        responses={200: s.XrefLookupSerializer, 400: _FIELD_ERRORS, **COMMON_ERRORS, **NOT_FOUND},
    )
    def get(self, request):
        params = request.query_params
        unknown = set(params) - {"system", "source_id", "entity_type", "format"}
        errors = {k: ["Unknown parameter."] for k in sorted(unknown)}
        for name in ("system", "source_id"):
            if not params.get(name):
                errors[name] = ["Required."]
        entity_type = params.get("entity_type")
        if entity_type and entity_type not in EntityType.values:
            errors["entity_type"] = [f"One of {', '.join(EntityType.values)}."]
        if errors:
            raise exceptions.ValidationError(errors)
        if entity_type:
            xrefs = _XREF_TYPED.run(system=params["system"], source_id=params["source_id"], entity_type=entity_type)
        else:
            xrefs = _XREF_ANY.run(system=params["system"], source_id=params["source_id"])
        xrefs = [x for x in xrefs if may_read_entity(request, x[0])]
        types = sorted({x[0] for x in xrefs})
        if not xrefs:
            raise Http404("No golden record is linked to that system id.")
        if len(types) > 1:
            raise exceptions.ValidationError({"entity_type": [f"That id names a {' and a '.join(types)}; "
                                                              "say which with entity_type."]})
        found_type, golden_id = xrefs[0]
        record = _follow_merges(golden_model(found_type), golden_id)
        if record is None:
            raise Http404("The linked golden record no longer exists.")
        links = _XREFS_OF.run(entity_type=found_type, golden_id=record.pk)
        context = {"request": request}
        return Response({
            "entity_type": found_type,
            "golden_id": str(record.pk),
            "state": record.state,
            "version": record.version,
            "url": s.record_url(context, found_type, record.pk),
            "xrefs": s.xref_rows(links),
        })


# --- change feed ------------------------------------------------------------------------------------

class ChangeFeedView(APIView):
    """``GET /api/v1/changes/?after=<cursor>``: changes to approved masters in commit order."""

    permission_classes = [HubAccess]
    renderer_classes = [FastJSONRenderer, BrowsableAPIRenderer]  # DRF's defaults, JSON by orjson
    throttle_classes = [ReadThrottle]

    @extend_schema(
        summary="Change feed",
        description=(
            "Every change to approved masters (approved, retired, merged, unmerged, repointed) in commit order. "
            "Start with no `after` (or 0) and keep the returned `cursor`; the feed never reorders, so resuming "
            "after any cursor misses nothing. Each event carries the record's version: drop an update whose "
            "version is not newer than the one you hold."
        ),
        parameters=[
            OpenApiParameter("after", {"type": "string", "pattern": "^[0-9]*$"},
                             description="The cursor of the last event you processed."),
            OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
                             description=f"1–{MAX_PAGE_SIZE}, default 100."),
            OpenApiParameter("entity_type", OpenApiTypes.STR, enum=EntityType.values, many=True, explode=False,
                             description="Only these entity types (comma-separated)."),
        ],
        responses={200: s.ChangePageSerializer, 400: _FIELD_ERRORS, **COMMON_ERRORS},
    )
    def get(self, request):
        params = request.query_params
        errors = {k: ["Unknown parameter."] for k in sorted(set(params) - {"after", "limit", "entity_type", "format"})}
        after = params.get("after") or "0"
        if not after.isdigit():
            errors["after"] = ["The `cursor` of an earlier answer (a whole number)."]
        limit_raw = params.get("limit") or "100"
        limit = int(limit_raw) if limit_raw.isdigit() else 0
        if not 1 <= limit <= MAX_PAGE_SIZE:
            errors["limit"] = [f"A whole number from 1 to {MAX_PAGE_SIZE}."]
        types = [t for t in (params.get("entity_type") or "").split(",") if t]
        bad = [t for t in types if t not in EntityType.values]
        if bad:
            errors["entity_type"] = [f"Unknown entity type(s): {', '.join(bad)}."]
        if errors:
            raise exceptions.ValidationError(errors)
        allowed = [t for t in (types or EntityType.values) if may_read_entity(request, t)]
        types = tuple(allowed) if len(allowed) < len(EntityType.values) else None
        events = _FEED.run(limit + 1, types, after=int(after))
        more = len(events) > limit
        events = events[:limit]
        cursor = str(events[-1]["id"]) if events else str(int(after))
        next_url = None
        if more:
            q = params.copy()
            q["after"] = cursor
            next_url = f"{request.build_absolute_uri(request.path)}?{q.urlencode()}"
        data = s.change_rows(events, {"request": request})
        return Response({"cursor": cursor, "next": next_url, "results": data})

