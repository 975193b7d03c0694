"""Mounted at ``/api/v1/sync/`` (one line in mdm/urls.py)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from sync.api import views

app_name = "sync-api"
router = SimpleRouter()
router.register("deliveries", views.DeliveryViewSet, basename="delivery")

urlpatterns = [
    *router.urls,
    path("systems/<slug:system>/replay-dead/", views.ReplayDeadView.as_view(), name="replay-dead"),
    path("health/", views.HealthView.as_view(), name="health"),
    path("trace/", views.TraceView.as_view(), name="trace"),
]
