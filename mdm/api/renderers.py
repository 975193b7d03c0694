"""JSON rendering with orjson: the list endpoints emit up to 1,000 records
of plain str/int/bool/None per page, which orjson encodes several times
faster than the standard library.  Anything orjson cannot encode natively
falls back to DRF's encoder, so the output is the same."""

from __future__ import annotations

import orjson
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
