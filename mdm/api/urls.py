"""``/api/v1/…`` routes, plus the OpenAPI schema and its interactive docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from mdm.api import views

router = SimpleRouter()
router.register("customers", views.CustomerViewSet, basename="customer")
router.register("legal-entities", views.LegalEntityViewSet, basename="legal-entity")
router.register("contracts", views.ContractViewSet, basename="contract")
router.register("projects", views.ProjectViewSet, basename="project")

app_name = "api"

v1 = [
    *router.urls,
    path("source-records/", views.SourceRecordView.as_view(), name="source-records"),
    path("xref/", views.XrefView.as_view(), name="xref"),
    path("changes/", views.ChangeFeedView.as_view(), name="changes"),
    path("audit/", include("mdm.api.audit")),  # read-only audit trail: mdm/api/audit.py
]

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
]
