"""The Content-Security-Policy header: what django-csp builds from the
settings, on pages and API answers alike; a nonce or a view's own policy
still go through django-csp (``mdm.middleware.CSPMiddleware``)."""

from __future__ import annotations

import pytest
from csp.constants import HEADER, NONE, SELF
from csp.utils import build_policy
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from mdm.middleware import CSPMiddleware


def _through(view, path="/"):
    request = RequestFactory().get(path)
    middleware = CSPMiddleware(view)
    middleware.process_request(request)
    return request, middleware.process_response(request, view(request))


def test_pages_and_api_answers_carry_the_policy_of_the_settings(steward, seeded):
    from mdm.services.accounts import create_service_account
    from tests.api.harness import token_client

    expected = build_policy()
    assert "script-src 'self'" in expected and "frame-ancestors 'none'" in expected
    assert steward.get("/")[HEADER] == expected
    api = token_client(create_service_account(name="csp-crm", system_code="crm")[1])
    assert api.get("/api/v1/customers/")[HEADER] == expected


def test_a_nonce_asked_for_by_the_page_is_in_its_header_and_not_in_the_next():
    def page(request):
        return HttpResponse(f"<script nonce='{request.csp_nonce}'></script>")

    request, response = _through(page)
    assert f"'nonce-{request._csp_nonce}'" in response[HEADER]
    _, plain = _through(lambda request: HttpResponse("no script"))
    assert "nonce-" not in plain[HEADER] and plain[HEADER] == build_policy()


def test_a_nonce_asked_for_after_the_header_was_written_is_an_error():
    from csp.exceptions import CSPNonceError

    request, _ = _through(lambda request: HttpResponse("done"))
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)


def test_a_views_own_policy_and_a_settings_change_are_honoured():
    def framed(request):
        response = HttpResponse("embeddable")
        response._csp_replace = {"frame-ancestors": [SELF]}
        return response

    _, response = _through(framed)
    assert "frame-ancestors 'self'" in response[HEADER]
    with override_settings(CONTENT_SECURITY_POLICY={"DIRECTIVES": {"default-src": [NONE]}}):
        _, response = _through(lambda request: HttpResponse("x"))
        assert response[HEADER] == "default-src 'none'"
    _, response = _through(lambda request: HttpResponse("x"))
    assert response[HEADER] == build_policy() and "default-src 'self'" in response[HEADER]
