"""Fills the audit columns of every history row from the audit context."""

from django.dispatch import receiver
from simple_history.signals import pre_create_historical_record

from mdm.audit import current


@receiver(pre_create_historical_record)
def stamp_history(sender, instance, history_instance, **kwargs):
    ctx = current()
    if ctx is None:
        return
    if hasattr(history_instance, "history_origin"):
        history_instance.history_origin = ctx.origin
        history_instance.history_correlation_id = ctx.correlation_id
        history_instance.history_actor = ctx.effective_actor()
    user = ctx.effective_user()
    if user is not None and getattr(user, "is_authenticated", False) and not history_instance.history_user_id:
        history_instance.history_user = user
    if not history_instance.history_change_reason and ctx.reason:
        history_instance.history_change_reason = ctx.reason


def _connect_cache_invalidation() -> None:
    from django.db.models.signals import post_delete, post_save

    from mdm import survivorship
    from mdm.models import FieldMapping, MatchParams, SurvivorshipRule
    from mdm.services import mapping, matching

    for model, func in ((FieldMapping, mapping.invalidate_cache), (SurvivorshipRule, survivorship.invalidate_cache),
                        (MatchParams, matching.invalidate_cache)):
        post_save.connect(func, sender=model, dispatch_uid=f"invalidate-{model.__name__}")
        post_delete.connect(func, sender=model, dispatch_uid=f"invalidate-del-{model.__name__}")


_connect_cache_invalidation()


def _connect_rule_change_rebuild() -> None:
    from django.db.models.signals import post_save

    from mdm.models import SurvivorshipRule

    def rule_saved(sender, instance, created, raw=False, **kwargs):
        from mdm.services.jobs import rebuild_is_manual, start_rebuild

        if raw or rebuild_is_manual():
            return

        ctx = current()
        start_rebuild(instance.entity_type, reason=f"survivorship rule changed: {instance}",
                      user=ctx.effective_user() if ctx else None)

    post_save.connect(rule_saved, sender=SurvivorshipRule, dispatch_uid="rule-change-rebuild")


_connect_rule_change_rebuild()
