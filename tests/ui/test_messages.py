"""The messages storage is made only for requests that use it; a message
added on one request is shown on the next (``mdm.middleware.LazyMessageMiddleware``)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils.functional import empty

from mdm.middleware import LazyMessageMiddleware


def _through(view, request):
    SessionMiddleware(lambda r: None).process_request(request)
    middleware = LazyMessageMiddleware(view)
    middleware.process_request(request)
    return middleware.process_response(request, view(request))


def test_an_api_answer_makes_no_messages_storage(seeded):
    from mdm.services.accounts import create_service_account
    from tests.api.harness import token_client

    response = token_client(create_service_account(name="msg-crm", system_code="crm")[1]).get("/api/v1/customers/")
    assert response.status_code == 200
    assert response.wsgi_request._messages._wrapped is empty


def test_a_message_added_on_one_request_is_shown_on_the_next():
    def add(request):
        messages.success(request, "Delivery queued again.")
        return HttpResponse()

    first = _through(add, RequestFactory().get("/sync/"))
    assert "messages" in first.cookies

    shown = []

    def show(request):
        shown.extend(str(m) for m in messages.get_messages(request))
        return HttpResponse()

    second = RequestFactory().get("/sync/")
    second.COOKIES["messages"] = first.cookies["messages"].value
    _through(show, second)
    assert shown == ["Delivery queued again."]
