"""Erasing a person's personal data on request, keeping the audit chain verifiable.

``erase_person(emails=…, phones=…, names=…, reason=…, user=…)`` finds every
text or JSON value equal to one of the person's identifiers (an e-mail
address, a phone number — compared by its digits —, a name) in every table
with history and in every history row, and replaces it with ``[erased]``:

1. Current records are changed through the ORM (``save()``/``delete()``),
   so the change itself is in history with reason ``erasure: …``; source
   records get ``erased_at`` and a new content hash; golden records are
   rebuilt from their scrubbed sources (a value that came only from the
   erased person becomes empty).
   Copies without history (outbox payloads, deliveries, change-feed extras,
   validation messages) are scrubbed in place.
2. Older history rows are scrubbed in place — the one sanctioned rewrite of
   history.  Each scrubbed row's seal loses its salt (so the old hash can no
   longer confirm a guessed value) and the row's new hash is recorded.
3. An ``AuditErasure`` records who, why, when and which rows and fields were
   scrubbed, never the values, and is sealed into the chain, so
   ``verify_audit`` passes and a forged or edited erasure record would not.

Free-text reasons (``history_change_reason``) are not scanned: they are the
stewards' words and are copied into the sealed log; keep personal data out
of them.  All of it runs in one transaction holding the sealer's lock.
"""

from __future__ import annotations

import re
import secrets
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db import models, transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from mdm import audit_chain
from mdm.audit import audit_context
from mdm.audit import reason as audit_reason
from mdm.audit import actor_name
from mdm.choices import Origin
from mdm.models import AuditEntry, AuditErasure, AuditPending, GoldenRecord, SourceRecord

MARKER = "[erased]"
SKIP_FIELDS = {"content_hash", "match_form"}  # (a golden's match form is rewritten from its erased values)


class ErasureError(ValueError):
    pass


@dataclass
class Person:
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.emails = [e.strip() for e in self.emails if e and e.strip()]
        self.phones = [p.strip() for p in self.phones if p and p.strip()]
        self.names = [" ".join(n.split()) for n in self.names if n and n.strip()]
        for p in self.phones:
            if len(_digits(p)) < 7:
                raise ErasureError(f"'{p}' has fewer than 7 digits; give the full phone number")
        for n in self.names:
            if len(n) < 4 or " " not in n:
                raise ErasureError(f"'{n}' is too short to identify a person; give first and last name")
        if not (self.emails or self.phones or self.names):
            raise ErasureError("Give at least one e-mail address, phone number or name")
        self._text = {e.casefold() for e in self.emails} | {n.casefold() for n in self.names}
        self._digits = {_digits(p) for p in self.phones}

    def needles(self) -> list[str]:
        """Strings to look for in the database (exact text or inside JSON)."""
        return [*self.emails, *self.names, *self.phones, *(_digits(p) for p in self.phones)]

    def matches(self, value) -> bool:
        if not isinstance(value, str) or not value.strip():
            return False
        if " ".join(value.split()).casefold() in self._text:
            return True
        return bool(self._digits) and _PHONEISH.fullmatch(value.strip()) is not None and \
            _digits(value) in self._digits


_PHONEISH = re.compile(r"[\d\s()+\-./]{7,40}")


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def scrub(value, person: Person, path: str = ""):
    """Return ``(new value, [paths replaced])`` with every matching string inside
    ``value`` (dicts and lists walked) replaced by the marker."""
    if isinstance(value, dict):
        out, hits = {}, []
        for k, v in value.items():
            out[k], sub = scrub(v, person, f"{path}.{k}" if path else str(k))
            hits += sub
        return out, hits
    if isinstance(value, list):
        out, hits = [], []
        for i, v in enumerate(value):
            nv, sub = scrub(v, person, f"{path}[{i}]")
            out.append(nv)
            hits += sub
        return out, hits
    if person.matches(value):
        return MARKER, [path]
    return value, []


def _text_fields(model) -> list[models.Field]:
    out = []
    for f in model._meta.concrete_fields:
        if f.primary_key or f.name.startswith("history_") or f.name in SKIP_FIELDS or f.choices:
            continue
        if isinstance(f, (models.CharField, models.TextField, models.JSONField)):
            out.append(f)
    return out


def _candidates(model, person: Person):
    """Rows of ``model`` that may hold one of the person's values (confirmed in Python)."""
    q = Q()
    for f in _text_fields(model):
        for needle in person.needles():
            if isinstance(f, models.JSONField):
                q |= Q(**{f"_t_{f.name}__icontains": needle})
            else:
                q |= Q(**{f"{f.name}__iexact": needle})
    if not q:
        return model.objects.none()
    annotations = {f"_t_{f.name}": Cast(f.name, TextField()) for f in _text_fields(model)
                   if isinstance(f, models.JSONField)}
    return model._default_manager.annotate(**annotations).filter(q)


def _scrub_instance(obj, person: Person) -> dict[str, list[str]]:
    """Scrub ``obj`` in memory; return field → paths replaced."""
    hits = {}
    for f in _text_fields(type(obj)):
        value = getattr(obj, f.attname)
        new, paths = scrub(value, person)
        if paths:
            setattr(obj, f.attname, new)
            hits[f.name] = [f"{f.name}.{p}" if isinstance(f, models.JSONField) else f.name for p in paths]
    return hits


@dataclass
class ErasureResult:
    erasure: AuditErasure | None
    current: Counter
    history: Counter
    goldens_rebuilt: int = 0


def erase_person(*, person: Person, reason: str, user=None, reference: str = "", dry_run: bool = False
                 ) -> ErasureResult:
    """See the module docstring.  ``dry_run`` does everything, reports, and rolls back."""
    if not reason or not reason.strip():
        raise ErasureError("Give the reason for the erasure (e.g. the request it answers)")
    reason = reason.strip()
    result = ErasureResult(None, Counter(), Counter())
    try:
        with transaction.atomic():
            audit_chain.take_sealer_lock()
            with audit_context(origin=Origin.SYSTEM, user=user, reason=f"erasure: {reason}"):
                _erase(person, reason, user, reference, result)
            if dry_run:
                raise _DryRun
    except _DryRun:
        result.erasure = None
    return result


class _DryRun(Exception):
    pass


def _erase(person, reason, user, reference, result: ErasureResult) -> None:
    from mdm.services import golden as golden_svc
    from mdm.services.ingest import content_hash as payload_hash

    audit_chain.seal_pending()  # every existing history row has its seal before we touch anything
    tracked = [hm.instance_type for hm in audit_chain.history_models().values()]
    goldens = defaultdict(set)
    # 1. current records, through the ORM (their history says "erasure: …")
    for model in sorted(tracked, key=lambda m: 0 if m is SourceRecord else 1):
        for obj in list(_candidates(model, person)):
            hits = _scrub_instance(obj, person)
            if not hits:
                continue
            for name in hits:
                result.current[f"{model._meta.label_lower}.{name}"] += 1
            if isinstance(obj, SourceRecord):
                obj.content_hash = payload_hash(obj.payload)
                obj.erased_at = timezone.now()
                xref = getattr(obj, "xref", None)
                if xref is not None:
                    goldens[xref.entity_type].add(xref.golden_id)
            if isinstance(obj, GoldenRecord):
                goldens[obj.entity_type].add(obj.pk)
            obj.save()
    for entity_type, ids in goldens.items():
        from mdm.models import golden_model

        for record in golden_model(entity_type).objects.filter(pk__in=ids):
            with audit_reason(f"erasure: {reason}"):
                golden_svc.rebuild(record)
            record.refresh_from_db()
            leftover = _scrub_instance(record, person)
            for name, value in [(f.attname, getattr(record, f.attname)) for f in _text_fields(type(record))]:
                if value == MARKER:
                    setattr(record, name, "")
                    leftover.setdefault(name, [name])
            if leftover:
                record.save()
            golden_svc.refresh_blocking_keys(record)  # keys were derived from the erased values
            type(record).objects.filter(pk=record.pk).update(match_form=golden_svc.match_form(record))  # so was this
            result.goldens_rebuilt += 1
    # derived and outbound copies without history (outbox payloads, deliveries, queue messages)
    from django.apps import apps

    tracked_set = set(tracked)
    for model in apps.get_models():
        if (model._meta.app_label not in {"mdm", "sync", "stewardship"} or model in tracked_set
                or model in (AuditEntry, AuditErasure, AuditPending) or hasattr(model, "instance_type")):
            continue
        for obj in list(_candidates(model, person)):
            hits = _scrub_instance(obj, person)
            if hits:
                model._default_manager.filter(pk=obj.pk).update(**{n: getattr(obj, model._meta.get_field(n).attname)
                                                                   for n in hits})
                for name in hits:
                    result.current[f"{model._meta.label_lower}.{name}"] += 1
    audit_chain.seal_pending()  # the rows just written carry the marker already
    # 2. older history rows, scrubbed in place; their seals are re-based by the erasure record
    items = []
    for label, hm in audit_chain.history_models().items():
        cols = audit_chain._content_fields(hm)
        for row in list(_candidates(hm, person)):
            hits = _scrub_instance(row, person)
            if not hits:
                continue
            changes = {f.attname: getattr(row, f.attname) for f in _text_fields(hm) if f.name in hits}
            if label == SourceRecord._meta.label_lower and "payload" in hits:
                changes["content_hash"] = payload_hash(row.payload)
            hm.objects.filter(history_id=row.history_id).update(**changes)
            content = hm.objects.filter(history_id=row.history_id).values(*cols).get()
            nonce = secrets.token_hex(16)
            items.append({"model": label, "history_id": row.history_id,
                          "fields": sorted(p for paths in hits.values() for p in paths),
                          "row_hash": audit_chain.content_hash(nonce, content), "nonce": nonce})
            AuditEntry.objects.filter(model=label, history_id=row.history_id).update(nonce="")
            for name in hits:
                result.history[f"{label}.{name}"] += 1
    # 3. the erasure record, sealed into the chain
    summary = {k: v for k, v in sorted((result.current + result.history).items())}
    erasure = AuditErasure.objects.create(
        created_at=timezone.now(), user=user if getattr(user, "is_authenticated", False) else None,
        actor=actor_name(user) or "system", reason=reason, reference=reference[:128], summary=summary,
        items=items, nonce=secrets.token_hex(16))
    audit_chain.seal_erasure(erasure)
    result.erasure = erasure
