"""Translating a system's own field names and formats into canonical fields.

The mapping is data (``FieldMapping`` rows, editable by an admin).  A system
with no mapping for an entity type sends canonical field names directly."""

from __future__ import annotations

import threading
import time

from mdm import canonical
from mdm.models import FieldMapping, SourceSystem
from mdm.services import values as v

_CACHE_TTL = 10.0  # seconds; other processes see an admin's mapping edit within this time
_cache: dict[tuple[int, str], tuple[float, dict]] = {}
_lock = threading.Lock()


def invalidate_cache(*_args, **_kwargs) -> None:
    with _lock:
        _cache.clear()


def mapping_for(system: SourceSystem, entity_type: str) -> dict[str, FieldMapping]:
    key = (system.pk, entity_type)
    now = time.monotonic()
    hit = _cache.get(key)
    if hit and now - hit[0] < _CACHE_TTL:
        return hit[1]
    rows = {m.source_field: m for m in FieldMapping.objects.filter(system=system, entity_type=entity_type)}
    with _lock:
        _cache[key] = (now, rows)
    return rows


def _transform(value, transform: str, value_map: dict):
    if isinstance(value, str):
        value = value.strip()
    if value_map and value is not None and str(value) in value_map:
        value = value_map[str(value)]
    if value in (None, ""):
        return None
    if transform == "upper":
        return str(value).upper()
    if transform == "lower":
        return str(value).lower()
    if transform == "date":
        return v.parse_date(value)
    if transform == "decimal":
        return v.parse_decimal(value)
    if transform == "domain":
        return v.parse_domain(value) or None
    return value if isinstance(value, str) else str(value)


def _coerce(field: canonical.CanonicalField, value):
    """Make a mapped value fit its canonical kind, or raise ValueError_."""
    if value in (None, ""):
        return None
    if field.kind == "date":
        return v.parse_date(value)
    if field.kind == "decimal":
        return v.parse_decimal(value)
    text = str(value).strip() if not isinstance(value, str) else value.strip()
    if field.kind == "domain":
        text = v.parse_domain(text)
    elif field.kind == "country":
        text = v.country_code(text)
        if not v.valid_country(text):
            raise v.ValueError_(f"'{value}' is not an ISO 3166 country code")
    elif field.kind == "currency":
        text = text.upper()
        if not v.valid_currency(text):
            raise v.ValueError_(f"'{value}' is not an ISO 4217 currency code")
    elif field.kind == "email":
        text = text.lower()
        if "@" not in text:
            raise v.ValueError_(f"'{value}' is not an e-mail address")
    if len(text) > field.max_length:
        raise v.ValueError_(f"is longer than {field.max_length} characters")
    return text or None


def map_payload(system: SourceSystem, entity_type: str, payload: dict) -> tuple[dict, dict[str, list[str]]]:
    """Return ``(canonical values, errors)``; errors are keyed by the
    system's own field name so the sender sees which of its fields is wrong."""
    errors: dict[str, list[str]] = {}
    if not isinstance(payload, dict):
        return {}, {"data": ["must be an object of field names to values"]}
    fields = {f.name: f for f in canonical.fields_for(entity_type)}
    mapping = mapping_for(system, entity_type)
    out: dict = {}
    if mapping:
        items = []
        for source_field, value in payload.items():
            m = mapping.get(source_field)
            if m is not None:
                items.append((source_field, m.canonical_field, m.transform, m.value_map, value))
    else:
        items = []
        for name, value in payload.items():
            if name not in fields:
                errors.setdefault(name, []).append(f"unknown field for {entity_type}; known: {', '.join(fields)}")
                continue
            items.append((name, name, "", {}, value))
    for source_field, target, transform, value_map, value in items:
        field = fields.get(target)
        if field is None:
            errors.setdefault(source_field, []).append(f"mapped to unknown canonical field '{target}'")
            continue
        if isinstance(value, (dict, list)):
            errors.setdefault(source_field, []).append("must be a single value, not a list or object")
            continue
        try:
            out[target] = _coerce(field, _transform(value, transform, value_map))
        except v.ValueError_ as exc:
            errors.setdefault(source_field, []).append(str(exc))
    out = {k: val for k, val in out.items() if val is not None}
    if not errors:
        name_fields = canonical.NAME_FIELDS[entity_type]
        if not any(out.get(name) for name in name_fields):
            wanted = _source_names(mapping, name_fields) or list(name_fields)
            errors.setdefault(wanted[0], []).append(f"required: a {entity_type.replace('_', ' ')} needs one of "
                                                    f"{', '.join(wanted)}")
    return out, errors


def _source_names(mapping: dict[str, FieldMapping], canonical_names) -> list[str]:
    return [src for src, m in mapping.items() if m.canonical_field in canonical_names]
