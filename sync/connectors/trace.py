""""Why is this value there?" — from a field of a record in a downstream
system back to where the value came from.

``value_trace(system, external_id, field)`` follows the chain:

1. the cross-reference that gave the hub's golden record this id in the
   system (role *target*);
2. the newest delivery that wrote that record to the system, and the value
   it carried;
3. the golden field and the golden record's version that was delivered,
   read from the golden record's history at that version;
4. the survivorship rule that chose the value (or a steward's manual value);
5. the source record it came from: system, its own id, the field in its own
   names and the value as received.

``entity_type`` (needed when an id is ambiguous) may be the hub's entity
type or the downstream model (``party.party``).  ``field`` may be the
downstream system's own field name (Tryton's ``name``,
``vat``, ``street``…) or the canonical name."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from mdm import canonical
from mdm.choices import XrefRole
from mdm.models import CrossReference, FieldMapping, SourceRecord, SurvivorshipRule, golden_model
from sync.choices import DeliveryStatus
from sync.models import Delivery

# Downstream field names → canonical, per connector and entity type (the
# names a person sees in that system).
TARGET_FIELDS = {
    "tryton": {
        "customer": {"name": "legal_name", "vat": "tax_id", "identifiers": "tax_id", "tax_identifier": "tax_id",
                     "street": "address_line", "street_name": "address_line", "postal_code": "postcode",
                     "city": "city", "country": "country", "code": None},
        "legal_entity": {"name": "name", "currency": "base_currency", "party": "name"},
        "project": {"name": "name", "party": "customer", "company": "legal_entity"},
        "contract": {"party": "customer", "company": "legal_entity", "currency": "currency",
                     "start_date": "start_date", "end_date": "end_date", "description": "title"},
    },
}


# A downstream model name also says which kind of record an id is (Tryton's
# ids are per model: party 1 and project 1 are different records).
TARGET_MODELS = {"party.party": "customer", "company.company": "legal_entity", "project.work": "project",
                 "sale.subscription": "contract"}


class TraceError(LookupError):
    """The chain cannot be followed; the message says where it stops."""


@dataclass
class ValueTrace:
    system: str
    external_id: str
    entity_type: str
    field: str  # as asked
    canonical_field: str
    golden_id: str
    golden_name: str
    current_value: object
    delivery: dict | None = None  # id, version, status, delivered_at, value sent, correlation id
    golden_version: int | None = None
    value_at_version: object = None
    rule: dict = field(default_factory=dict)  # type, systems, label; or manual
    source: dict | None = None  # source record: id, system, source_id, source field, value as received
    steps: list[str] = field(default_factory=list)  # the chain, in words

    def to_dict(self) -> dict:
        return asdict(self)


def _canonical_name(connector: str, entity_type: str, name: str) -> str:
    names = set(canonical.field_names(entity_type))
    if name in names:
        return name
    mapped = TARGET_FIELDS.get(connector, {}).get(entity_type, {}).get(name, "")
    if mapped is None:
        raise TraceError(f"'{name}' holds the hub's own id (the look-up key), not a golden value")
    if not mapped:
        raise TraceError(f"'{name}' is not a field the hub sends to {entity_type.replace('_', ' ')} records")
    return mapped


def value_trace(system: str, external_id: str, field_name: str, *, entity_type: str | None = None) -> ValueTrace:
    entity_type = TARGET_MODELS.get(entity_type, entity_type)
    xrefs = CrossReference.objects.select_related("system").filter(
        system__code=system, external_id=str(external_id), role=XrefRole.TARGET)
    if entity_type:
        xrefs = xrefs.filter(entity_type=entity_type)
    xrefs = list(xrefs)
    if not xrefs:
        raise TraceError(f"the hub did not deliver a record that {system} knows as {external_id}")
    if len(xrefs) > 1:
        kinds = ", ".join(sorted(x.entity_type for x in xrefs))
        raise TraceError(f"{system} id {external_id} is several kinds of record ({kinds}); name the entity type")
    xref = xrefs[0]
    entity_type = xref.entity_type
    from sync.models import Subscription

    sub = Subscription.objects.filter(system=xref.system).first()
    connector = sub.connector if sub else system
    name = _canonical_name(connector, entity_type, field_name)
    model = golden_model(entity_type)
    record = model.objects.filter(pk=xref.golden_id).first()
    if record is None:
        raise TraceError(f"golden record {xref.golden_id} no longer exists")
    from mdm.services.golden import golden_values

    trace = ValueTrace(system=system, external_id=str(external_id), entity_type=entity_type, field=field_name,
                       canonical_field=name, golden_id=str(record.pk), golden_name=str(record),
                       current_value=golden_values(record).get(name))
    trace.steps.append(f"{system} {entity_type.replace('_', ' ')} {external_id} is the hub's {record} "
                       f"({record.pk}) — cross-reference written {xref.created_at:%Y-%m-%d %H:%M:%S}")

    d = (Delivery.objects.select_related("event").filter(system=xref.system, entity_type=entity_type,
                                                        golden_id=record.pk, status=DeliveryStatus.DELIVERED)
         .exclude(change__in=("merged", "retired")).order_by("-version", "-delivered_at").first())
    version = record.version
    if d is not None:
        sent = (d.event.payload or {}).get(name)
        trace.delivery = {"id": str(d.pk), "version": d.version, "change": d.change, "status": d.status,
                          "delivered_at": d.delivered_at.isoformat() if d.delivered_at else None,
                          "value_sent": sent, "correlation_id": d.correlation_id, "attempts": d.attempts}
        version = d.version
        trace.steps.append(f"delivery {d.pk} wrote version {d.version} on {d.delivered_at:%Y-%m-%d %H:%M:%S}: "
                           f"{name} = {sent!r}")
    else:
        trace.steps.append(f"no delivered version found in the delivery log; using the current version {version}")
    trace.golden_version = version
    row = (record.history.filter(version=version).order_by("-history_date").first()
           if hasattr(record, "history") else None)
    lineage = (row.lineage if row is not None else None) or record.lineage or {}
    entry = lineage.get(name) or {}
    trace.value_at_version = entry.get("value")
    if not entry:
        trace.rule = {"type": None, "label": "no source gave this field a value"}
        trace.steps.append(f"golden {name} at version {version}: empty — no source record has it")
        return trace
    if entry.get("rule") == "manual":
        trace.rule = {"type": "manual", "label": "a steward's manual value (wins over every rule)"}
        trace.steps.append(f"golden {name} at version {version} = {entry.get('value')!r}, set by hand by a steward")
        return trace
    rule = SurvivorshipRule.objects.filter(entity_type=entity_type, field=name).first()
    trace.rule = {"type": entry.get("rule"), "systems": list(rule.systems) if rule else [],
                  "label": str(rule) if rule else f"{entry.get('rule')} (default rule)", "chosen_at": entry.get("at")}
    trace.steps.append(f"golden {name} at version {version} = {entry.get('value')!r}, chosen by "
                       f"{trace.rule['label']} from {entry.get('system')}:{entry.get('source_id')}")
    sr = SourceRecord.objects.select_related("system").filter(pk=entry.get("source_record")).first()
    if sr is None:
        trace.source = {"id": entry.get("source_record"), "system": entry.get("system"),
                        "source_id": entry.get("source_id"), "note": "the source record was removed since"}
        return trace
    own = [m.source_field for m in FieldMapping.objects.filter(system=sr.system, entity_type=entity_type,
                                                                canonical_field=name)]
    own_field = next((f for f in own if f in (sr.payload or {})), own[0] if own else name)
    trace.source = {"id": sr.pk, "system": sr.system.code, "source_id": sr.source_id, "field": own_field,
                    "value": (sr.payload or {}).get(own_field), "received_at": sr.received_at.isoformat(),
                    "updated_at": sr.updated_at.isoformat()}
    trace.steps.append(f"source record {sr.system.code}:{sr.source_id} sent {own_field} = "
                       f"{trace.source['value']!r} (last received {sr.updated_at:%Y-%m-%d %H:%M:%S})")
    return trace
