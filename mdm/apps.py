from django.apps import AppConfig


class MdmConfig(AppConfig):
    name = "mdm"
    verbose_name = "Master data"

    def ready(self) -> None:
        from mdm import signals  # noqa: F401  (history audit fields)
        from mdm.services import changes  # noqa: F401  (change feed)
        from mdm import audit_chain  # noqa: F401  (history rows queued for the audit chain)
