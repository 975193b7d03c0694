"""The sync monitor, mounted at /sync/ (one line in mdm/urls.py)."""

from django.urls import path

from sync import views

app_name = "sync"

urlpatterns = [
    path("", views.monitor, name="monitor"),
    path("deliveries/", views.delivery_list, name="deliveries"),
    path("trace/", views.trace, name="trace"),
    path("systems/<slug:system>/reconcile/", views.reconcile, name="reconcile"),
    path("deliveries/<uuid:pk>/", views.delivery_detail, name="delivery"),
    path("deliveries/<uuid:pk>/replay/", views.replay, name="replay"),
    path("systems/<slug:system>/replay-dead/", views.replay_dead, name="replay-dead"),
    path("records/<str:entity_type>/<uuid:golden_id>/", views.record_deliveries, name="record"),
]
