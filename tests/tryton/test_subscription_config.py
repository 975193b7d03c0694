"""Registering a Tryton subscription from the shell (no server needed)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from sync.connectors.tryton.connector import Connector
from sync.models import Subscription


def test_add_subscription_takes_the_tryton_settings_as_json(db, capsys):
    call_command("add_subscription", "tryton", "--connector", "tryton", "--kind", "erp", "--secret", "pw",
                 "--url", "http://127.0.0.1:8123", "--config", '{"database": "erp", "username": "admin"}',
                 "--entity", "customer", "--entity", "project")
    sub = Subscription.objects.get(system__code="tryton")
    assert sub.connector == "tryton"
    assert sub.config == {"database": "erp", "username": "admin", "url": "http://127.0.0.1:8123"}


def test_a_tryton_subscription_without_a_database_is_refused(db):
    with pytest.raises(CommandError, match="database"):
        call_command("add_subscription", "tryton", "--connector", "tryton", "--kind", "erp", "--secret", "pw",
                     "--url", "http://127.0.0.1:8123", "--entity", "customer")
    with pytest.raises(CommandError, match="--config"):
        call_command("add_subscription", "tryton", "--connector", "tryton", "--secret", "pw",
                     "--url", "http://127.0.0.1:8123", "--config", "{nope", "--entity", "customer")


def test_check_config_names_each_problem():
    assert Connector.check_config({"url": "ftp://x"}) == [
        "config.url must be the Tryton server's http(s) URL", "config.database must name the Tryton database"]
    assert Connector.check_config({"url": "http://127.0.0.1:8123", "database": "erp"}) == []
