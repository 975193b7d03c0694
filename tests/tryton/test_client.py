"""The JSON-RPC client against a real Tryton server: login, look-ups, and
how Tryton's answers are sorted into business, auth and transient errors."""

from __future__ import annotations

import socket
import time

import pytest

from sync.connectors.tryton.client import (
    TrytonAuthError,
    TrytonBusinessError,
    TrytonClient,
    TrytonConfigError,
    TrytonTransientError,
    error_from_response,
    error_from_rpc,
)

pytestmark = pytest.mark.tryton


def test_login_create_and_find_a_party_by_its_code(shared_client):
    uid = shared_client.login()
    assert isinstance(uid, int)
    [pid] = shared_client.create("party.party", {"name": "Acme Consulting", "code": "HUB-1"})
    rows = shared_client.search_read("party.party", [["code", "=", "HUB-1"]], ["name", "code", "active"])
    assert len(rows) == 1 and rows[0]["id"] == pid
    assert (rows[0]["name"], rows[0]["code"], bool(rows[0]["active"])) == ("Acme Consulting", "HUB-1", True)


def test_a_duplicate_code_and_a_bad_vat_are_business_errors(shared_client):
    shared_client.create("party.party", {"name": "Acme", "code": "HUB-2"})
    with pytest.raises(TrytonBusinessError, match="code on party must be unique"):
        shared_client.create("party.party", {"name": "Acme again", "code": "HUB-2"})
    with pytest.raises(TrytonBusinessError, match="not valid"):
        shared_client.create("party.party", {"name": "Bad VAT", "identifiers": [
            ["create", [{"type": "eu_vat", "code": "DE000"}]]]})
    assert shared_client.search_count("party.party", [["name", "=", "Bad VAT"]]) == 0


def test_a_wrong_password_is_an_auth_error(shared_tryton):
    client = TrytonClient(shared_tryton.url, shared_tryton.database, "admin", "wrong")
    with pytest.raises(TrytonAuthError) as exc:
        client.login()
    assert exc.value.status == 401 and not exc.value.transient


def test_an_unknown_database_is_a_configuration_error(shared_tryton):
    with pytest.raises(TrytonConfigError):
        TrytonClient(shared_tryton.url, "no_such_db", "admin", "x").login()


def test_an_expired_session_logs_in_again(shared_client):
    shared_client.login()
    stale = shared_client._auth = "Session YWRtaW46MTpub3QtYS1zZXNzaW9u"  # admin:1:not-a-session
    assert isinstance(shared_client.search("party.party", []), list)
    assert shared_client._auth != stale


def test_connection_refused_is_transient_after_the_retries():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = TrytonClient(f"http://127.0.0.1:{port}", "db", "admin", "x", retries=2, backoff=0.01)
    started = time.monotonic()
    with pytest.raises(TrytonTransientError, match="cannot reach Tryton"):
        client.login()
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("status,body,kind", [
    (400, '{"status": 400, "message": "The code on party must be unique.", "description": ""}', TrytonBusinessError),
    (401, "", TrytonAuthError),
    (403, "", TrytonAuthError),
    (404, "<html>", TrytonConfigError),
    (429, "", TrytonTransientError),
    (500, "<html>boom", TrytonTransientError),
    (503, "", TrytonTransientError),
])
def test_rest_status_codes_are_classified(status, body, kind):
    error = error_from_response(status, body)
    assert isinstance(error, kind)
    if status == 400:
        assert error.message == "The code on party must be unique."


def test_rpc_error_kinds_are_classified():
    assert isinstance(error_from_rpc(["UserError", ["The VAT is not valid.", "", None]]), TrytonBusinessError)
    assert isinstance(error_from_rpc(["ConcurrencyException", ["Records were modified", ""]]), TrytonTransientError)
    assert isinstance(error_from_rpc(["LoginException", ["password", "", None]]), TrytonAuthError)
    assert error_from_rpc(["UserError", ["Missing", "the field x", None]]).message == "Missing the field x"
