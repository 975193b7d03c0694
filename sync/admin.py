from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from sync.models import Delivery, OutboxEvent, Subscription


@admin.register(Subscription)
class SubscriptionAdmin(SimpleHistoryAdmin):
    """Editable as data; the signing secret is set with ``add_subscription``
    (stored encrypted) or named as an environment variable (``secret_env``)."""

    list_display = ("system", "connector", "entity_types", "active", "max_attempts", "updated_at")
    list_filter = ("active", "connector")
    fields = ("system", "active", "entity_types", "connector", "config", "secret_env", "mapping", "max_attempts")
    readonly_fields = ()

    def get_readonly_fields(self, request, obj=None):
        return ("system",) if obj else ()


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """Read-only: replay from the sync monitor or the API."""

    list_display = ("id", "system", "entity_type", "golden_id", "version", "change", "status", "attempts",
                    "error_category", "created_at")
    list_filter = ("status", "error_category", "system", "entity_type")
    search_fields = ("=id", "=golden_id", "last_error", "=correlation_id")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    list_display = ("id", "entity_type", "golden_id", "version", "change", "created_at")
    list_filter = ("entity_type", "change")
    search_fields = ("=id", "=golden_id", "=correlation_id")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
