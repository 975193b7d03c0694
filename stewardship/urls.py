"""The workbench's URLs: every page has a real address; filters live in the query string."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from stewardship import job_views, views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="registration/login.html",
                                                redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.dashboard, name="dashboard"),
    path("review/", views.queue, name="queue"),
    path("review/bulk-not-duplicate/", views.queue_bulk, name="queue-bulk"),
    path("review/<int:pk>/", views.task_compare, name="task"),
    path("review/<int:pk>/decide/", views.task_decide, name="task-decide"),
    path("review/<int:pk>/assign/", views.task_assign, name="task-assign"),
    path("merges/<int:pk>/", views.merge_detail, name="merge"),
    path("merges/<int:pk>/undo/", views.merge_undo, name="merge-undo"),
    path("records/<slug:slug>/", views.records, name="records"),
    path("records/<slug:slug>/<uuid:pk>/", views.record_detail, name="record"),
    path("records/<slug:slug>/<uuid:pk>/edit/", views.record_edit, name="record-edit"),
    path("records/<slug:slug>/<uuid:pk>/approve/", views.record_approve, name="record-approve"),
    path("records/<slug:slug>/<uuid:pk>/retire/", views.record_retire, name="record-retire"),
    path("records/<slug:slug>/<uuid:pk>/split/<int:source_pk>/", views.record_split, name="record-split"),
    path("exceptions/", views.exceptions, name="exceptions"),
    path("overrides/", views.overrides, name="overrides"),
    path("overrides/<int:pk>/", views.override_decide, name="override-decide"),
    path("search/", views.search, name="search"),
    path("audit/", views.audit, name="audit"),
    path("audit/", include("stewardship.audit_urls")),
    path("jobs/", job_views.job_list, name="jobs"),
    path("jobs/<uuid:pk>/", job_views.job_progress, name="job"),
    path("jobs/rematch/", job_views.start_rematch, name="job-rematch"),
    path("jobs/import/", job_views.start_import, name="job-import"),  # auditor pages: stewardship/audit_views.py
]
