"""Fixtures: ``tryton_install`` (venv + template, once per session) and
``tryton_server`` (a real server on a fresh copy of the database, per test);
``shared_tryton`` (one server per test module, for tests that do not need a
clean database because they use their own keys)."""

from __future__ import annotations

import pytest

from tests.tryton.server import prepare, start_server


@pytest.fixture(scope="session")
def tryton_install():
    return prepare()


@pytest.fixture
def tryton_server(tryton_install):
    server = start_server(*tryton_install)
    yield server
    server.stop()


@pytest.fixture
def tryton(tryton_server):
    client = tryton_server.client()
    yield client
    client.close()


@pytest.fixture(scope="module")
def shared_tryton(tryton_install):
    server = start_server(*tryton_install)
    yield server
    server.stop()


@pytest.fixture
def shared_client(shared_tryton):
    client = shared_tryton.client()
    yield client
    client.close()
