"""Opens an audit context for every request so history knows who and where."""

from mdm.audit import audit_context
from mdm.choices import Origin
from mdm.ops import VIEW_ENVIRON_KEY


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        origin = Origin.API if request.path.startswith("/api/") else Origin.WEB
        cid = request.headers.get("X-Correlation-ID", "")[:64] or None
        with audit_context(origin=origin, correlation_id=cid, request=request) as ctx:
            request.correlation_id = ctx.correlation_id
            response = self.get_response(request)
        response["X-Correlation-ID"] = ctx.correlation_id
        match = getattr(request, "resolver_match", None)
        if match is not None:  # for the latency histogram (mdm.ops.observe_request), without resolving again
            request.META[VIEW_ENVIRON_KEY] = match.view_name or "unnamed"
        return response
