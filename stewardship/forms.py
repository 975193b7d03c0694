"""Forms of the workbench.  Every decision carries a reason; every edit of a
golden record carries the version it was made against (optimistic locking)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import forms

from mdm import canonical
from mdm.models import MatchTask

REASON_HELP = "Recorded on the history of every record this changes."


def reason_field(label="Reason", initial="", required=True):
    return forms.CharField(
        label=label, max_length=500, required=required, initial=initial, help_text=REASON_HELP,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "Why?"}),
        error_messages={"required": "Give a reason for this change."},
    )


class ReasonForm(forms.Form):
    reason = reason_field()

    def clean_reason(self):
        value = self.cleaned_data["reason"].strip()
        if not value:
            raise forms.ValidationError("Give a reason for this change.")
        return value


class VersionedReasonForm(ReasonForm):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class ApproveForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    reason = reason_field(label="Note (optional)", required=False)


class DecisionForm(ReasonForm):
    """Merge / not a duplicate / defer on the compare page.  Per-field picks
    arrive as ``pick_<field>`` = ``a`` or ``b`` and are read by the view."""

    ACTIONS = (("merge", "Merge"), ("not_duplicate", "Not a duplicate"), ("defer", "Defer"))
    action = forms.ChoiceField(choices=ACTIONS)
    survivor = forms.ChoiceField(choices=(("a", "Record A"), ("b", "Record B")), required=False)


class BulkNotDuplicateForm(ReasonForm):
    tasks = forms.ModelMultipleChoiceField(queryset=MatchTask.objects.all(), error_messages={
        "required": "Select at least one pair."})


class AssignForm(forms.Form):
    assignee = forms.IntegerField(required=False, help_text="Empty to unassign.")


class SplitForm(ReasonForm):
    into = forms.CharField(label="Move into golden record (id, optional)", required=False, max_length=64,
                           help_text="Leave empty to create a new golden record from this source record.")


class OverrideDecisionForm(ReasonForm):
    decision = forms.ChoiceField(choices=(("keep", "Keep the manual value"), ("drop", "Use the new source value")))


def _initial(record, f: canonical.CanonicalField) -> str:
    if f.kind == "ref":
        value = getattr(record, f"{f.name}_id")
    else:
        value = getattr(record, f.name)
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


class GoldenEditForm(forms.Form):
    """One input per canonical field; only fields whose value changed become
    manual overrides.  A field with an override can be cleared (the rules
    then decide again)."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    reason = reason_field()

    def __init__(self, *args, record, overrides=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.record = record
        self.canonical_fields = canonical.fields_for(record.entity_type)
        self.initial_values = {}
        for f in self.canonical_fields:
            initial = _initial(record, f)
            self.initial_values[f.name] = initial
            help_text = ""
            if f.kind == "ref":
                current = getattr(record, f.name) if initial else None
                help_text = f"Golden id of the {f.ref.replace('_', ' ')}" + (f"; now: {current}" if current else "")
            elif f.kind == "date":
                help_text = "YYYY-MM-DD"
            widget = forms.TextInput(attrs={"autocomplete": "off"})
            if f.kind == "date":
                widget = forms.DateInput(attrs={"type": "date"})
            self.fields[f.name] = forms.CharField(label=f.verbose, required=False, initial=initial,
                                                  max_length=max(f.max_length, 64), help_text=help_text,
                                                  widget=widget)
        for name in overrides:
            self.fields[f"clear_{name}"] = forms.BooleanField(
                label="Clear manual value (let the rules decide)", required=False)
        self.fields["version"].initial = record.version
        # reason last, after the data fields
        self.order_fields([f.name for f in self.canonical_fields] + ["reason", "version"])

    def field_rows(self):
        for f in self.canonical_fields:
            clear = self[f"clear_{f.name}"] if f"clear_{f.name}" in self.fields else None
            yield self[f.name], clear

    def changes(self) -> dict:
        out = {}
        for f in self.canonical_fields:
            if self.cleaned_data.get(f"clear_{f.name}"):
                out[f.name] = None
                continue
            new = (self.cleaned_data.get(f.name) or "").strip()
            if new != self.initial_values[f.name]:
                out[f.name] = new
        return out

    def clean_reason(self):
        value = self.cleaned_data["reason"].strip()
        if not value:
            raise forms.ValidationError("Give a reason for this change.")
        return value
