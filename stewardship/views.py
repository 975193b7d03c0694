from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from mdm.choices import EntityType, LifecycleState, TaskStatus
from mdm.models import GOLDEN_MODELS, MatchTask, ValidationIssue


@login_required
def dashboard(request):
    counts = {
        et.label: {
            "pending": GOLDEN_MODELS[et].objects.filter(state=LifecycleState.PENDING).count(),
            "approved": GOLDEN_MODELS[et].objects.filter(state=LifecycleState.APPROVED).count(),
        }
        for et in EntityType
    }
    return render(request, "stewardship/dashboard.html", {
        "counts": counts,
        "open_tasks": MatchTask.objects.filter(status=TaskStatus.OPEN).count(),
        "exceptions": ValidationIssue.objects.count(),
    })
