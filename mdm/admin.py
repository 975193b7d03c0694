"""The Django admin: configuration (systems, mappings, survivorship rules)
is editable by admins; master data, matching state and history are
read-only here, because every change to them must go through a service
(with a reason, history and outbox events).  History pages are views of
evidence: reverting from the admin is disabled
(``SIMPLE_HISTORY_REVERT_DISABLED``) and history rows cannot be changed."""

from __future__ import annotations

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from mdm import models as m

HISTORY_COLUMNS = ["history_origin", "history_actor", "history_change_reason", "history_correlation_id"]


class HistoryAdmin(SimpleHistoryAdmin):
    """History visible, never editable or revertable."""

    history_list_display = HISTORY_COLUMNS

    def revert_disabled(self, request, obj=None):
        return True

    def has_change_history_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(HistoryAdmin):
    """Browse and search only: writes go through the services and the workbench."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class GoldenAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "state", "is_valid", "version", "updated_at")
    list_filter = ("state", "is_valid")
    readonly_fields = ("lineage",)
    date_hierarchy = "updated_at"


@admin.register(m.Customer)
class CustomerAdmin(GoldenAdmin):
    list_display = ("__str__", "tax_id", "country", "state", "is_valid", "version", "updated_at")
    list_filter = ("state", "is_valid", "country")
    search_fields = ("legal_name", "trading_name", "tax_id")


@admin.register(m.LegalEntity)
class LegalEntityAdmin(GoldenAdmin):
    list_display = ("code", "name", "country", "base_currency", "state", "version")
    search_fields = ("code", "name", "tax_registration")


@admin.register(m.Contract)
class ContractAdmin(GoldenAdmin):
    list_display = ("number", "title", "billing_model", "value", "currency", "state", "version")
    list_filter = ("state", "is_valid", "billing_model")
    search_fields = ("number", "title")


@admin.register(m.Project)
class ProjectAdmin(GoldenAdmin):
    list_display = ("code", "name", "manager", "billing_model", "state", "version")
    list_filter = ("state", "is_valid", "billing_model")
    search_fields = ("code", "name", "manager")


@admin.register(m.SourceSystem)
class SourceSystemAdmin(HistoryAdmin):
    list_display = ("code", "name", "kind", "trust_rank", "active")
    list_filter = ("kind", "active")
    search_fields = ("code", "name")


@admin.register(m.FieldMapping)
class FieldMappingAdmin(HistoryAdmin):
    list_display = ("system", "entity_type", "source_field", "canonical_field", "transform")
    list_filter = ("system", "entity_type")
    search_fields = ("source_field", "canonical_field")


@admin.register(m.SurvivorshipRule)
class SurvivorshipRuleAdmin(HistoryAdmin):
    list_display = ("entity_type", "field", "rule_type", "systems", "updated_at")
    list_filter = ("entity_type", "rule_type")
    search_fields = ("field",)


@admin.register(m.SourceRecord)
class SourceRecordAdmin(ReadOnlyAdmin):
    list_display = ("system", "entity_type", "source_id", "updated_at", "erased_at")
    list_filter = ("system", "entity_type")
    search_fields = ("source_id", "content_hash")
    list_select_related = ("system",)


@admin.register(m.CrossReference)
class CrossReferenceAdmin(ReadOnlyAdmin):
    list_display = ("system", "entity_type", "external_id", "golden_id", "role", "updated_at")
    list_filter = ("system", "entity_type", "role")
    search_fields = ("external_id",)
    list_select_related = ("system",)


@admin.register(m.MatchTask)
class MatchTaskAdmin(ReadOnlyAdmin):
    list_display = ("id", "entity_type", "score", "status", "assignee", "created_at", "decided_at")
    list_filter = ("entity_type", "status")
    search_fields = ("reason",)


@admin.register(m.NotDuplicate)
class NotDuplicateAdmin(ReadOnlyAdmin):
    list_display = ("entity_type", "golden_a", "golden_b", "decided_by", "created_at")
    list_filter = ("entity_type",)


@admin.register(m.MergeEvent)
class MergeEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "entity_type", "survivor_id", "actor", "created_at", "undone_at")
    list_filter = ("entity_type",)
    search_fields = ("correlation_id", "reason")


@admin.register(m.ManualOverride)
class ManualOverrideAdmin(ReadOnlyAdmin):
    list_display = ("entity_type", "golden_id", "field", "flagged", "created_by", "created_at")
    list_filter = ("entity_type", "flagged")
    search_fields = ("field", "reason")


@admin.register(m.MatchParams)
class MatchParamsAdmin(ReadOnlyAdmin):
    list_display = ("entity_type", "active", "note", "created_at")
    list_filter = ("entity_type", "active")


@admin.register(m.ServiceAccount)
class ServiceAccountAdmin(ReadOnlyAdmin):
    list_display = ("name", "system", "active", "can_read_pending", "created_at")
    list_filter = ("system", "active")
    search_fields = ("name",)


@admin.register(m.ValidationIssue)
class ValidationIssueAdmin(admin.ModelAdmin):
    list_display = ("entity_type", "golden_id", "rule", "field", "message", "created_at")
    list_filter = ("entity_type", "rule")
    search_fields = ("message",)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(m.ChangeEvent)
class ChangeEventAdmin(admin.ModelAdmin):
    list_display = ("id", "entity_type", "golden_id", "version", "change", "state", "created_at")
    list_filter = ("entity_type", "change")
    search_fields = ("correlation_id",)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
