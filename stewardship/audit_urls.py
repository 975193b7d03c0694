"""The auditor's pages under ``/audit/`` (see ``stewardship.audit_views``)."""

from django.urls import path

from stewardship import audit_views

urlpatterns = [
    path("log/", audit_views.log, name="audit-log"),
    path("log.csv", audit_views.export_csv, name="audit-export"),
    path("records/<str:label>/<str:object_id>/", audit_views.record, name="audit-record"),
    path("records/<str:label>/<str:object_id>/as-of/", audit_views.record_as_of, name="audit-as-of"),
    path("merges/<int:pk>/", audit_views.merge, name="audit-merge"),
    path("chain/", audit_views.chain, name="audit-chain"),
]
