"""Opens an audit context for every request so history knows who and where,
and logs each request as one structured line carrying its correlation id."""

import logging
import time

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
