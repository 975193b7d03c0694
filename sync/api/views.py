"""``/api/v1/sync/``: deliveries (list, detail), replay one or all dead of a
system, and per-system health.  People with a hub role read everything;
a service account reads only its own system's deliveries; replay needs the
steward or admin role."""

from __future__ import annotations

import uuid

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import ReadOnlyModelViewSet

from mdm.api.auth import HubAccess, caller_roles, service_account_of
from mdm.audit import audit_context
from mdm.choices import EntityType, Origin
from mdm.models import SourceSystem
from sync import selectors, services
from sync.api.serializers import DeliverySerializer, ReplayDeadResultSerializer, SystemHealthSerializer
from sync.choices import DeliveryStatus, ErrorCategory
from sync.models import Delivery

REPLAY_ROLES = {"steward", "admin"}
FILTERS = {"system", "status", "category", "entity_type", "golden_id", "q"}


class MayReplay(permissions.BasePermission):
    message = "Only stewards and admins may replay deliveries."

    def has_permission(self, request, view):
        return service_account_of(request) is None and bool(caller_roles(request) & REPLAY_ROLES)


class DeliveryPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500


def _filters(params) -> dict:
    unknown = set(params) - FILTERS - {"cursor", "page_size", "format"}
    if unknown:
        raise ValidationError({k: ["Unknown filter parameter."] for k in sorted(unknown)})
    out = {k: params.get(k) for k in FILTERS if params.get(k)}
    errors = {}
    if "status" in out and out["status"] not in DeliveryStatus.values:
        errors["status"] = [f"One of: {', '.join(DeliveryStatus.values)}."]
    if "category" in out and out["category"] not in (ErrorCategory.BUSINESS, ErrorCategory.TECHNICAL):
        errors["category"] = ["One of: business, technical."]
    if "entity_type" in out and out["entity_type"] not in EntityType.values:
        errors["entity_type"] = [f"One of: {', '.join(EntityType.values)}."]
    if "golden_id" in out:
        try:
            out["golden_id"] = uuid.UUID(out["golden_id"])
        except ValueError:
            errors["golden_id"] = ["Not a valid UUID."]
    if errors:
        raise ValidationError(errors)
    return out


@extend_schema(tags=["sync"])
class DeliveryViewSet(ReadOnlyModelViewSet):
    serializer_class = DeliverySerializer
    permission_classes = [HubAccess]
    pagination_class = DeliveryPagination
    lookup_value_regex = "[0-9a-fA-F-]{32,36}"
    filter_backends: list = []

    def get_queryset(self):
        qs = Delivery.objects.select_related("system")
        account = service_account_of(self.request)
        if account is not None:  # a system sees only what was sent to it
            qs = qs.filter(system=account.system)
        return qs

    @extend_schema(parameters=[OpenApiParameter(n, str) for n in sorted(FILTERS)])
    def list(self, request, *args, **kwargs):
        f = _filters(request.query_params)
        qs = self.get_queryset()
        if f.get("system"):
            qs = qs.filter(system__code=f["system"])
        if f.get("status"):
            qs = qs.filter(status=f["status"])
        if f.get("category"):
            qs = qs.filter(error_category=f["category"])
        if f.get("entity_type"):
            qs = qs.filter(entity_type=f["entity_type"])
        if f.get("golden_id"):
            qs = qs.filter(golden_id=f["golden_id"])
        if f.get("q"):
            qs = qs.filter(last_error__icontains=f["q"])
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=None, responses={200: DeliverySerializer, 409: None})
    @action(detail=True, methods=["post"], permission_classes=[HubAccess, MayReplay])
    def replay(self, request, pk=None):
        delivery = self.get_object()
        with audit_context(origin=Origin.API, reason=f"replay delivery {delivery.pk}", user=request.user,
                           request=request):
            try:
                delivery = services.replay(delivery, actor=request.user)
            except services.SyncError as exc:
                return Response({"detail": exc.message, "code": exc.code}, status=status.HTTP_409_CONFLICT)
        return Response(self.get_serializer(delivery).data)


@extend_schema(tags=["sync"], request=None, responses={200: ReplayDeadResultSerializer})
class ReplayDeadView(APIView):
    """Replay every dead delivery of one system."""

    permission_classes = [HubAccess, MayReplay]

    def post(self, request, system: str):
        sys_obj = get_object_or_404(SourceSystem, code=system)
        with audit_context(origin=Origin.API, reason=f"replay dead deliveries of {system}", user=request.user,
                           request=request):
            counts = services.replay_dead(system=sys_obj, actor=request.user)
        return Response({"system": system, **counts})


@extend_schema(tags=["sync"], responses={200: SystemHealthSerializer(many=True)})
class HealthView(APIView):
    """Per system: pending / delivered / failed / dead, throughput and p50/p95 latency over the last hour."""

    permission_classes = [HubAccess]

    def get(self, request):
        rows = selectors.sync_health()
        account = service_account_of(request)
        if account is not None:
            rows = [r for r in rows if r["system_id"] == account.system_id]
        return Response(SystemHealthSerializer(rows, many=True).data)


class TraceView(APIView):
    """Why is this value there: a downstream system's field → the delivery that wrote it, the golden field and
    version, the survivorship rule that chose it and the source record it came from."""

    permission_classes = [HubAccess]

    @extend_schema(parameters=[
        OpenApiParameter("system", str, required=True, description="the downstream system's code"),
        OpenApiParameter("external_id", str, required=True, description="the record's id in that system"),
        OpenApiParameter("field", str, required=True, description="the field, in the system's or canonical names"),
        OpenApiParameter("entity_type", str, description="hub entity type or downstream model, if ambiguous"),
    ], responses={200: dict, 400: dict, 404: dict})
    def get(self, request):
        from sync.connectors.trace import TraceError, value_trace

        params = {k: request.query_params.get(k, "").strip() for k in ("system", "external_id", "field")}
        missing = {k: ["required"] for k, v in params.items() if not v}
        if missing:
            raise ValidationError(missing)
        account = service_account_of(request)
        if account is not None and account.system.code != params["system"]:
            return Response({"detail": "A service account may trace only its own system's records."},
                            status=status.HTTP_403_FORBIDDEN)
        try:
            trace = value_trace(params["system"], params["external_id"], params["field"],
                                entity_type=request.query_params.get("entity_type") or None)
        except TraceError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_404_NOT_FOUND)
        return Response(trace.to_dict())
