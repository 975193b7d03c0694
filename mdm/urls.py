"""Top-level URLs: the steward UI at /, the REST API under /api/."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("stewardship.urls")),
]
