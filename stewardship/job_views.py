"""Background jobs in the workbench: start a re-match or a CSV import, and
watch any long job (rule rebuilds too) progress on the page."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from mdm.audit import audit_context
from mdm.choices import EntityType, Origin
from mdm.models import Job, SourceSystem
from mdm.services import jobs as jobs_svc
from mdm.services.importer import id_column_for
from stewardship.permissions import requires
from stewardship.views import page, toast


@login_required
@require_GET
def job_list(request):
    jobs = list(Job.objects.select_related("created_by")[:50])
    return page(request, "stewardship/jobs.html", {"jobs": jobs, "import_form": ImportForm(),
                                                   "entity_types": EntityType.choices})


@login_required
@require_GET
def job_progress(request, pk):
    """One job's row; htmx polls it every second while the job runs."""
    job = get_object_or_404(Job, pk=pk)
    return render(request, "stewardship/_job.html", {"job": job})


@require_POST
@requires("steward")
def start_rematch(request):
    entity_type = request.POST.get("entity_type", EntityType.CUSTOMER)
    if entity_type not in EntityType.values:
        entity_type = EntityType.CUSTOMER
    with audit_context(origin=Origin.WEB, user=request.user, reason="re-match requested"):
        job = jobs_svc.start_rematch(entity_type, user=request.user)
    toast(request, f"{job.title}: started.", link=f"#job-{job.pk}", link_text="Progress")
    return redirect("jobs")


class ImportForm(forms.Form):
    system = forms.ModelChoiceField(queryset=SourceSystem.objects.filter(active=True), to_field_name="code",
                                    help_text="The system the file comes from; its field mapping is applied.")
    entity_type = forms.ChoiceField(choices=EntityType.choices)
    file = forms.FileField(help_text="CSV with a header row in the system's own column names, UTF-8.")
    id_column = forms.CharField(required=False, max_length=128,
                                help_text="Column holding the system's own id (default per system).")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > jobs_svc.MAX_IMPORT_BYTES:
            raise forms.ValidationError(f"The file is larger than {jobs_svc.MAX_IMPORT_BYTES // 1024 // 1024} MB; "
                                        "use the import_records command for large files.")
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError("The file is not UTF-8 text.") from None
        if not text.strip():
            raise forms.ValidationError("The file is empty.")
        self.text = text
        return upload

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        column = data.get("id_column") or id_column_for(data["system"].code, data["entity_type"])
        header = self.text.splitlines()[0].split(",")
        if column not in [h.strip().strip('"') for h in header]:
            self.add_error("id_column", f"The file has no '{column}' column (the {data['system'].code} id).")
        data["id_column"] = column
        return data


@require_POST
@requires("steward")
def start_import(request):
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        jobs = list(Job.objects.select_related("created_by")[:50])
        return page(request, "stewardship/jobs.html", {"jobs": jobs, "import_form": form,
                                                       "entity_types": EntityType.choices}, status=400)
    data = form.cleaned_data
    with audit_context(origin=Origin.IMPORT, user=request.user, reason=f"upload {data['file'].name}"):
        job = jobs_svc.start_import(system=data["system"].code, entity_type=data["entity_type"], content=form.text,
                                    id_column=data["id_column"], filename=data["file"].name, user=request.user)
    toast(request, f"{job.title}: started.", link=f"#job-{job.pk}", link_text="Progress")
    return redirect("jobs")
