"""Opens an audit context for every request so history knows who and where,
and logs each request as one structured line carrying its correlation id;
sets the Content-Security-Policy header (django-csp) without rebuilding
an unchanging policy on every answer; and makes the messages storage only
for requests that use it."""

import logging
import time

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as _CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.messages.storage import default_storage
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import SimpleLazyObject, empty

from mdm.audit import audit_context
from mdm.choices import Origin
from mdm.ops import VIEW_ENVIRON_KEY

request_log = logging.getLogger("mdm.request")


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        origin = Origin.API if request.path.startswith("/api/") else Origin.WEB
        cid = request.headers.get("X-Correlation-ID", "")[:64] or None
        with audit_context(origin=origin, correlation_id=cid, request=request) as ctx:
            request.correlation_id = ctx.correlation_id
            response = self.get_response(request)
            match = getattr(request, "resolver_match", None)
            view = (match.view_name or "unnamed") if match is not None else "unmatched"
            # for the latency histogram (mdm.ops.observe_request), without resolving the path again
            request.META[VIEW_ENVIRON_KEY] = view
            if request_log.isEnabledFor(logging.INFO):
                # the access log: with LOG_FORMAT=json one JSON object per request, with the
                # correlation id, origin and actor the tasks and deliveries it starts log too
                request_log.info("%s %s %s", request.method, request.path, response.status_code, extra={
                    "method": request.method, "path": request.path, "status": response.status_code,
                    "view": view, "ms": round((time.perf_counter() - started) * 1000, 1)})
        response["X-Correlation-ID"] = ctx.correlation_id
        return response


_PER_RESPONSE = ("_csp_config", "_csp_update", "_csp_replace", "_csp_exempt",
                 "_csp_config_ro", "_csp_update_ro", "_csp_replace_ro", "_csp_exempt_ro")
_POLICIES: dict = {}  # report_only -> the header built from the settings alone


class CSPMiddleware(_CSPMiddleware):
    """django-csp's middleware.  A response that used no nonce and carries no
    per-view policy (every API answer, every page without inline script) gets the
    headers django-csp would build from the settings, built once per process:
    building them again cost as much CPU as an API answer's authentication
    query.  Any other response goes through django-csp as it is."""

    def process_response(self, request, response):
        if (getattr(request, "_csp_nonce", None) is not None or any(hasattr(response, a) for a in _PER_RESPONSE)
                or settings.DEBUG):
            return super().process_response(request, response)
        for report_only, header, setting in ((False, HEADER, "CONTENT_SECURITY_POLICY"),
                                             (True, HEADER_REPORT_ONLY, "CONTENT_SECURITY_POLICY_REPORT_ONLY")):
            policy = _POLICIES.get(report_only)
            if policy is None:
                policy = _POLICIES[report_only] = build_policy(report_only=report_only)
            if policy and header not in response:
                prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
                if not request.path_info.startswith(tuple(prefixes)):
                    response[header] = policy
        # as django-csp does: a nonce asked for after the header is written is an error, not a silent gap
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response


@receiver(setting_changed)
def _policy_settings_changed(setting, **kwargs):
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _POLICIES.clear()


class LazyMessageMiddleware(MessageMiddleware):
    """Django's messages, with the storage made on first use: an API call
    never shows a message, yet building the storage (cookie and session
    backends) took 1 % of a web worker's CPU under the load test.  A
    request that never touched its messages leaves them where they were,
    as the storage itself would."""

    def process_request(self, request):
        request._messages = SimpleLazyObject(lambda: default_storage(request))

    def process_response(self, request, response):
        messages = getattr(request, "_messages", None)
        if isinstance(messages, SimpleLazyObject) and messages._wrapped is empty:
            return response
        return super().process_response(request, response)
