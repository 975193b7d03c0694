"""The audit trail over the API (read-only): the global log as JSON pages or
streamed CSV, a record's timeline, a record on a past date, a merge's story,
the chain's head.  For auditors, stewards and admins (session or a person's
token); service accounts get 403.  Mounted at ``/api/v1/audit/``."""

from __future__ import annotations

from django.http import Http404, StreamingHttpResponse
from django.urls import path
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from mdm import auditlog
from mdm.api.auth import ReadThrottle, caller_roles, service_account_of
from mdm.audit_chain import history_models
from mdm.models import AuditEntry, AuditPending, MergeEvent

AUDIT_ROLES = frozenset({"auditor", "steward", "admin"})


class AuditorAccess(permissions.BasePermission):
    """People with the auditor, steward or admin role; reading only."""

    message = "The audit trail is for auditors, stewards and admins."

    def has_permission(self, request, view):
        user = request.user
        if user is None or not user.is_authenticated or service_account_of(request) is not None:
            return False
        return bool(caller_roles(request) & AUDIT_ROLES) and request.method in permissions.SAFE_METHODS


class EntrySerializer(serializers.ModelSerializer):
    entity = serializers.CharField(source="model")
    record = serializers.CharField(source="object_id")
    change = serializers.SerializerMethodField()

    class Meta:
        model = AuditEntry
        fields = ("seq", "history_date", "entity", "record", "change", "changed_fields", "actor", "origin", "reason",
                  "correlation_id", "history_id", "row_hash", "chain_hash", "sealed_at")
        read_only_fields = fields

    def get_change(self, obj) -> str:
        return auditlog.HISTORY_TYPES.get(obj.history_type, obj.history_type)


def _bad(exc: auditlog.FilterError):
    raise exceptions.ValidationError(exc.errors)


LOG_PARAMS = [
    OpenApiParameter("entity", str, description="Tracked model label (mdm.customer) or entity type (customer)"),
    OpenApiParameter("record", str, description="The record's id"),
    OpenApiParameter("actor", str, description="Username or svc:<service account>"),
    OpenApiParameter("origin", str, description="web, api, import, sync, match, merge, system"),
    OpenApiParameter("field", str, description="Only changes that touched this field"),
    OpenApiParameter("since", str, description="YYYY-MM-DD or ISO date-time (UTC)"),
    OpenApiParameter("until", str, description="YYYY-MM-DD (inclusive) or ISO date-time"),
    OpenApiParameter("correlation", str, description="Everything one action changed"),
    OpenApiParameter("type", str, description="+ created, ~ changed, - deleted, E erasure"),
    OpenApiParameter("after", str, description="Cursor from the previous page's `next`"),
    OpenApiParameter("limit", int, description=f"Page size, at most {auditlog.MAX_PAGE_SIZE}"),
]


class AuditLogView(APIView):
    """The global audit log, newest first, keyset-paginated (``next`` is the
    following page).  ``csv/`` beside it streams every matching row."""

    permission_classes = [AuditorAccess]
    throttle_classes = [ReadThrottle]

    @extend_schema(parameters=LOG_PARAMS, responses={200: EntrySerializer(many=True)})
    def get(self, request):
        params = request.query_params
        try:
            f = auditlog.LogFilter.from_params(params, strict=True)
        except auditlog.FilterError as exc:
            _bad(exc)
        try:
            limit = int(params.get("limit") or auditlog.PAGE_SIZE)
            if limit < 1:
                raise ValueError
        except ValueError:
            raise exceptions.ValidationError({"limit": ["a positive whole number"]}) from None
        try:
            page = auditlog.log_page(f, after=params.get("after") or None, limit=limit)
        except auditlog.FilterError as exc:
            _bad(exc)
        next_url = None
        if page.next_cursor:
            q = params.copy()
            q["after"] = page.next_cursor
            next_url = request.build_absolute_uri(request.path + "?" + q.urlencode())
        return Response({"count": page.count, "count_capped": page.count_capped, "next": next_url,
                         "results": EntrySerializer(page.entries, many=True).data})


class AuditLogCsvView(APIView):
    """Every row of the filtered log as CSV, streamed (a server-side cursor
    read in chunks), so a million rows do not fill the server's memory."""

    permission_classes = [AuditorAccess]
    throttle_classes = [ReadThrottle]

    @extend_schema(parameters=LOG_PARAMS[:-2], responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request):
        try:
            f = auditlog.LogFilter.from_params(request.query_params, strict=True)
        except auditlog.FilterError as exc:
            _bad(exc)
        response = StreamingHttpResponse(auditlog.csv_rows(f), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="audit-log-{timezone.now():%Y%m%dT%H%M%SZ}.csv"'
        return response


def _label(label: str) -> str:
    if label not in history_models():
        raise Http404("No history for that kind of record")
    return label


def _jsonable(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool, list, dict)) or value is None:
        return value
    return str(value)


class RecordTimelineView(APIView):
    """A record's versions, newest first, with per-field before/after."""

    permission_classes = [AuditorAccess]
    throttle_classes = [ReadThrottle]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, label, object_id):
        items = auditlog.timeline(_label(label), object_id)
        if not items:
            raise Http404("This record has no history")
        return Response({"entity": label, "record": object_id, "versions": [{
            "history_id": i.history_id, "history_date": i.when, "change": auditlog.HISTORY_TYPES.get(i.type),
            "actor": i.actor, "origin": i.origin, "reason": i.reason, "correlation_id": i.correlation_id,
            "sealed": i.entry.seq if i.entry else None,
            "changes": [{"field": c.field, "before": _jsonable(c.old), "after": _jsonable(c.new)} for c in i.changes],
        } for i in items]})


class RecordAsOfView(APIView):
    """The record exactly as it was at ``?at=`` (and, for golden records,
    which source records and downstream ids were linked to it then)."""

    permission_classes = [AuditorAccess]
    throttle_classes = [ReadThrottle]

    @extend_schema(parameters=[OpenApiParameter("at", str, required=True,
                                                description="YYYY-MM-DD (end of day, UTC) or ISO date-time")],
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request, label, object_id):
        label = _label(label)
        raw = (request.query_params.get("at") or "").strip()
        at = auditlog._parse_when(raw, end_of_day=True) if raw else None
        if at is None:
            raise exceptions.ValidationError({"at": ["required: YYYY-MM-DD or an ISO date-time"]})
        snap = auditlog.as_of(label, object_id, at)
        if not snap.exists:
            raise Http404("The record did not exist at that moment")
        return Response({
            "entity": label, "record": object_id, "at": at, "version_history_id": snap.history_id,
            "version_date": snap.as_of_row_date, "values": {f: _jsonable(v) for f, _, v in snap.values},
            "linked": None if snap.links is None else [{k: _jsonable(v) for k, v in link.items()}
                                                       for link in snap.links],
        })


class MergeStoryView(APIView):
    """A merge's full story and its unmerge, if any."""

    permission_classes = [AuditorAccess]
    throttle_classes = [ReadThrottle]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, pk):
        try:
            event = MergeEvent.objects.select_related("actor", "undone_by").get(pk=pk)
        except MergeEvent.DoesNotExist:
            raise Http404("No such merge") from None
        story = auditlog.merge_story(event)
        return Response({
            "id": event.pk, "entity_type": event.entity_type, "survivor": str(event.survivor_id),
            "merged": event.merged_ids, "picks": event.picks, "moved_xrefs": event.moved_xrefs,
            "actor": event.actor.username if event.actor else story.merge_actor, "reason": event.reason,
            "correlation_id": event.correlation_id, "created_at": event.created_at,
            "changes": EntrySerializer(story.changes, many=True).data,
            "unmerge": None if not event.undone_at else {
                "at": event.undone_at, "actor": event.undone_by.username if event.undone_by else story.unmerge_actor,
                "reason": event.undo_reason, "correlation_id": story.unmerge_correlation_id,
                "changes": EntrySerializer(story.unmerge_changes, many=True).data,
            },
        })


class ChainHeadView(APIView):
    """The chain's head (record it elsewhere; ``verify_audit --expect-head``)."""

    permission_classes = [AuditorAccess]
    throttle_classes = [ReadThrottle]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        head = AuditEntry.objects.order_by("-seq").values("seq", "chain_hash", "sealed_at").first()
        return Response({"head": head, "pending": AuditPending.objects.count()})


urlpatterns = [
    path("log/", AuditLogView.as_view(), name="audit-log"),
    path("log/csv/", AuditLogCsvView.as_view(), name="audit-log-csv"),
    path("records/<str:label>/<str:object_id>/", RecordTimelineView.as_view(), name="audit-record"),
    path("records/<str:label>/<str:object_id>/as-of/", RecordAsOfView.as_view(), name="audit-as-of"),
    path("merges/<int:pk>/", MergeStoryView.as_view(), name="audit-merge"),
    path("chain/", ChainHeadView.as_view(), name="audit-chain"),
]
