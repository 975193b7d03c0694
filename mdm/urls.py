"""Top-level URLs: the steward UI at /, the REST API under /api/."""

from django.contrib import admin
from django.urls import include, path

from mdm import ops

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/sync/", include("sync.api.urls")),  # deliveries, replay, health (sync/api/)
    path("api/", include("mdm.api.urls")),  # /api/v1/…, /api/schema/, /api/docs/
    path("healthz", ops.healthz, name="healthz"),
    path("metrics", ops.metrics, name="metrics"),
    path("sync/", include("sync.urls")),  # the sync monitor (sync/views.py)
    path("", include("stewardship.urls")),
]
