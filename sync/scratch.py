"""A throw-away PostgreSQL database for ``bench_sync`` and ``fault_test_sync``,
so they never touch the hub's own data."""

from __future__ import annotations

from contextlib import contextmanager

from django.core.management.base import CommandError
from django.db import connection


@contextmanager
def scratch_database(suffix: str):
    if connection.vendor != "postgresql":
        raise CommandError("This needs PostgreSQL, shared with a worker process: "
                           "set DATABASE_URL=postgres://postgres@127.0.0.1:5432/<name>")
    old_name = connection.settings_dict["NAME"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{old_name}_{suffix}"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        yield connection.settings_dict["NAME"]
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
