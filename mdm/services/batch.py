"""The ingest write path for a chunk of records of one system and entity
type: a handful of set-based queries per chunk instead of a dozen per record,
with the same outcome as handling the records one by one (history rows with
who/why/origin, lineage, validation, blocking keys, review tasks)."""

from __future__ import annotations

import uuid
from collections import defaultdict

from django.utils import timezone

from mdm import canonical, survivorship
from mdm.audit import current, history_attrs
from mdm.bulkwrite import copy_rows, create_with_history, update_with_history
from mdm.choices import EntityType, IngestOutcome, LifecycleState, MatchDecision, SystemKind, XrefRole
from mdm.compiled import ShapedQuery, small
from mdm.events import master_changed
from mdm.models import (
    BlockingKey,
    Contract,
    CrossReference,
    LegalEntity,
    ManualOverride,
    SourceRecord,
    ValidationIssue,
    golden_model,
)
from mdm.services import golden as golden_svc
from mdm.services.ingest import IngestResult, open_review_tasks, reason_for
from mdm.validation import validate

#: A single record's queries, compiled once per shape (``mdm/compiled.py``); chunks compile as usual.
_Q = {name: ShapedQuery(max_shapes=32) for name in (
    "records", "golden_of", "merged", "goldens", "sources", "overrides", "keys", "erp_bound", "waiting")}

CANDIDATES_PER_RECORD = 40  # most goldens scored for one record: those sharing the most keys
GOLDEN_FIELDS_BASE = ("version", "state", "lineage", "is_valid", "updated_at", "match_form")


class Batch:
    def __init__(self, system, entity_type: str, items):
        self.system = system
        self.entity_type = entity_type
        self.model = golden_model(entity_type)
        self.items = items
        self.results: dict[int, IngestResult] = {}
        ctx = current()
        self.user = ctx.effective_user() if ctx else None
        self.hist = history_attrs()
        self.now = timezone.now()
        self._new_goldens: dict = {}  # golden id started in this chunk -> its source records
        self._created: list = []  # golden records this chunk created

    # -- entry ------------------------------------------------------------
    def run(self) -> dict[int, IngestResult]:
        new_items, touched = self._upsert_source_records()
        links = self._match(new_items) if new_items else {}
        self._write_xrefs(new_items, links)
        self._build(touched, links)
        if new_items:
            self._finish_waiting_references(new_items, self._created)
        return self.results

    # -- source records -------------------------------------------------------
    def _upsert_source_records(self):
        ids = [i.source_id for i in self.items]
        existing = {sr.source_id: sr for sr in small(_Q["records"], (), {
            "system": self.system.pk, "entity_type": self.entity_type, "ids": ids},
            lambda v: SourceRecord.objects.select_for_update(of=("self",)).filter(
                system_id=v["system"], entity_type=v["entity_type"], source_id__in=v["ids"])
            .order_by("source_id"))}  # locks in one order; the model's ordering would join the systems
        golden_of = dict(small(_Q["golden_of"], (), {"ids": [sr.pk for sr in existing.values()]},
                               lambda v: CrossReference.objects.filter(source_record_id__in=v["ids"])
                               .values_list("source_record_id", "golden_id"))) if existing else {}
        updated, created, new_items = [], [], []
        touched: set = set()  # existing golden ids whose sources changed
        for item in self.items:
            sr = existing.get(item.source_id)
            if sr is not None:
                gid = golden_of.get(sr.pk)
                result = IngestResult(IngestOutcome.UNCHANGED, self.entity_type, item.source_id, sr.pk,
                                      str(gid) if gid else None)
                self.results[item.index] = result
                if sr.content_hash == item.digest:
                    continue
                sr.payload, sr.canonical, sr.content_hash, sr.updated_at = (item.data, item.canonical,
                                                                            item.digest, self.now)
                sr._change_reason = reason_for("updated", self.system.code)
                updated.append(sr)
                result.outcome = IngestOutcome.UPDATED
                if gid:
                    touched.add(gid)
            else:
                sr = SourceRecord(system=self.system, entity_type=self.entity_type, source_id=item.source_id,
                                  payload=item.data, canonical=item.canonical, content_hash=item.digest,
                                  received_at=self.now, updated_at=self.now)
                sr._change_reason = reason_for("received", self.system.code)
                created.append(sr)
                item.sr = sr
                new_items.append(item)
        if updated:
            update_with_history(updated, SourceRecord, ["payload", "canonical", "content_hash", "updated_at"],
                                default_user=self.user, custom_historical_attrs=self.hist)
        if created:
            create_with_history(created, SourceRecord, default_user=self.user,
                                custom_historical_attrs=self.hist)
        for item in new_items:
            self.results[item.index] = IngestResult(IngestOutcome.CREATED, self.entity_type, item.source_id,
                                                    item.sr.pk)
        # updates may point at merged goldens: follow them to the survivor
        if touched:
            merged = dict(small(_Q["merged"], (self.model,), {"ids": sorted(touched)},
                                lambda v: self.model.objects.filter(pk__in=v["ids"], state=LifecycleState.MERGED)
                                .values_list("pk", "merged_into_id")))
            for gid in list(merged):
                survivor = golden_svc.follow_merges(self.model, gid)
                touched.discard(gid)
                if survivor is not None and survivor.state != LifecycleState.MERGED:
                    touched.add(survivor.pk)
        return new_items, touched

    # -- matching --------------------------------------------------------------
    def _match(self, new_items) -> dict:
        """Decide, for each new source record, the golden it joins: an existing
        one (match), one started earlier in this chunk, or a new one.

        Every pair the decisions may need is scored up front in one vectorised
        pass: each record against its short list of existing goldens, and
        against the earlier records of the chunk that share a blocking key
        (any of them may start a golden this record then joins).  The
        decisions themselves are then taken in arrival order."""
        from mdm.services.matching import (BLOCK_CAP, _as_strings, blocking_keys, candidate_rows, matcher_for,
                                           score_pairs, shortlists)

        matcher = matcher_for(self.entity_type)
        self._with_golden_refs(new_items)
        keys_of = {item.index: blocking_keys(self.entity_type, item.match_values) for item in new_items}
        lists = shortlists(self.entity_type, [keys_of[item.index] for item in new_items],
                           limit=CANDIDATES_PER_RECORD)
        shortlist = {item.index: ids for item, ids in zip(new_items, lists)}
        wanted = {gid for ids in shortlist.values() for gid in ids}
        records = [_as_strings(item.match_values) for item in new_items]
        rows = list(records)
        row_of: dict = {}  # golden id -> its row in ``rows``
        for gid, values in candidate_rows(self.entity_type, wanted, golden_svc.LIVE_STATES).items():
            row_of[gid] = len(rows)
            rows.append(values)
        in_chunk: dict[str, list[int]] = defaultdict(list)  # key -> positions of chunk records holding it
        for pos, item in enumerate(new_items):
            for key in keys_of[item.index]:
                in_chunk[key].append(pos)
        ia, ib = [], []
        earlier: list[list[int]] = []  # per position: earlier chunk records sharing a key
        for pos, item in enumerate(new_items):
            for gid in shortlist[item.index]:
                if gid in row_of:
                    ia.append(pos)
                    ib.append(row_of[gid])
            near = sorted({p for key in keys_of[item.index] if len(in_chunk[key]) <= BLOCK_CAP
                           for p in in_chunk[key] if p < pos})
            earlier.append(near)
            ia.extend([pos] * len(near))
            ib.extend(near)
        scores, explain = score_pairs(matcher, rows, ia, ib, explainer=True)
        pair_score = dict(zip(zip(ia, ib), (float(x) for x in scores)))

        thresholds = matcher.thresholds  # (computed on each use: once per chunk here)

        def decide(score: float) -> str:
            return (MatchDecision.MATCH if score >= thresholds["match"] else
                    MatchDecision.REVIEW if score >= thresholds["review"] else MatchDecision.NEW)

        # A record is no duplicate of its own parent (a division and its head company share name,
        # domain and address): the parent it names, as a golden or as another record of this chunk,
        # is neither linked nor proposed.
        own_refs = canonical.parent_fields(self.entity_type)
        parent_goldens = [{item.match_values.get(f) for f in own_refs} - {None} for item in new_items]
        parent_ids = [{str(item.canonical[f]) for f in own_refs if item.canonical.get(f)} for item in new_items]

        def kin(pos: int, p: int) -> bool:
            return new_items[p].source_id in parent_ids[pos] or new_items[pos].source_id in parent_ids[p]

        started: dict[int, uuid.UUID] = {}  # chunk position -> the new golden it started
        links: dict = {}  # item.index -> (golden id, is_new, score, reviews)
        for pos, item in enumerate(new_items):
            scored = []
            for gid in shortlist[item.index]:
                if gid in row_of and str(gid) not in parent_goldens[pos]:
                    scored.append((pair_score[(pos, row_of[gid])], str(gid), gid, row_of[gid]))
            for p in earlier[pos]:
                if p in started and not kin(pos, p):
                    scored.append((pair_score[(pos, p)], str(started[p]), started[p], p))
            scored = [(s, key, gid, row, decide(s)) for s, key, gid, row in scored]
            scored = [t for t in scored if t[4] != MatchDecision.NEW]
            scored.sort(key=lambda t: (-t[0], t[1]))
            if scored and scored[0][4] == MatchDecision.MATCH:
                score, _, gid, _, _ = scored[0]
                links[item.index] = (gid, gid in self._new_goldens, score, [])
                continue
            gid = uuid.uuid4()
            self._new_goldens[gid] = []
            started[pos] = gid
            # the five best proposals, explained below for the whole chunk in one pass
            reviews = [(g, s, (pos, row)) for s, _, g, row, d in scored if d == MatchDecision.REVIEW][:5]
            links[item.index] = (gid, True, None, reviews)
        asked = [pair for _, _, _, reviews in links.values() for _, _, pair in reviews]
        why = dict(zip(asked, explain(asked)))
        for index, (gid, is_new, score, reviews) in links.items():
            if reviews:
                links[index] = (gid, is_new, score, [(g, s, why[pair]) for g, s, pair in reviews])
        return links

    def _with_golden_refs(self, new_items) -> None:
        """The records as matching compares them: references (each system's
        own ids) replaced by the golden ids they stand for, as on goldens."""
        refs = [f for f in canonical.fields_for(self.entity_type) if f.kind == "ref"]
        resolver = RefResolver(self.entity_type, [i.sr for i in new_items]) if refs else None
        for item in new_items:
            values = dict(item.canonical)
            for f in refs:
                if values.get(f.name):
                    target = resolver(f.ref, self.system.code, str(values[f.name]))
                    values[f.name] = str(target.pk) if target is not None else None
            item.match_values = values

    # -- cross-references ---------------------------------------------------------
    def _write_xrefs(self, new_items, links) -> None:
        xrefs = []
        for item in new_items:
            gid, is_new, score, _ = links[item.index]
            x = CrossReference(entity_type=self.entity_type, golden_id=gid, system=self.system,
                               external_id=item.source_id, role=XrefRole.SOURCE, source_record=item.sr,
                               created_at=self.now, updated_at=self.now)
            subject = f"{self.system.code}:{item.source_id}"
            x._change_reason = (reason_for("match: linked", f"{subject} (score {score:.3f})") if score is not None
                                else reason_for("new golden from", subject))
            xrefs.append(x)
            result = self.results[item.index]
            result.golden_id = str(gid)
            result.decision = "matched" if score is not None else MatchDecision.NEW
            if is_new and score is None:
                self._new_goldens[gid].append(item.sr)
        if xrefs:
            create_with_history(xrefs, CrossReference, default_user=self.user, custom_historical_attrs=self.hist)
        # review tasks before the build, so the auto-approval policy sees them
        from mdm.services.matching import _jsonable

        proposals = [(item.index, gid, other, s, _jsonable(explanation))
                     for item in new_items for gid, _, _, reviews in [links[item.index]]
                     for other, s, explanation in reviews]
        for index, task_ids in open_review_tasks(self.entity_type, proposals).items():
            self.results[index].review_tasks.extend(task_ids)
            self.results[index].decision = MatchDecision.REVIEW

    # -- golden build -------------------------------------------------------------
    def _build(self, touched: set, links: dict) -> int:
        existing_ids = set(touched)
        existing_ids.update(gid for gid, is_new, score, _ in links.values() if score is not None and not is_new)
        # sources of goldens started in this chunk, including later records that matched them
        for item in self.items:
            link = links.get(item.index)
            if link and link[2] is not None and link[1]:
                self._new_goldens[link[0]].append(item.sr)
        existing = {g.pk: g for g in small(_Q["goldens"], (self.model,), {"ids": sorted(existing_ids)},
                                           lambda v: self.model.objects.select_for_update().filter(
                                               pk__in=v["ids"],
                                               state__in=golden_svc.LIVE_STATES + (LifecycleState.RETIRED,)))
                    } if existing_ids else {}
        sources: dict = defaultdict(list)
        overrides: dict = defaultdict(dict)
        if existing:  # (a chunk of new records only, a new company's POST, reads none of this)
            values = {"entity_type": self.entity_type, "ids": list(existing)}
            for sr in small(_Q["sources"], (), values, lambda v: SourceRecord.objects.filter(
                    xref__entity_type=v["entity_type"], xref__golden_id__in=v["ids"])
                    .defer("payload")  # the build reads the mapped form only
                    .select_related("system", "xref")):
                sources[sr.xref.golden_id].append(sr)
            for o in small(_Q["overrides"], (), values, lambda v: ManualOverride.objects.filter(
                    entity_type=v["entity_type"], golden_id__in=v["ids"])):
                overrides[o.golden_id][o.field] = o
        records = list(existing.values())
        for gid, srs in self._new_goldens.items():
            record = self.model(id=gid, created_at=self.now)
            sources[gid] = srs
            records.append(record)
        erp_ids = self._erp_bound_ids([r.pk for r in records if not r._state.adding],
                                      [r.pk for r in records if r._state.adding])
        rules = survivorship.rules_for(self.entity_type)
        resolver = RefResolver(self.entity_type, [s for srs in sources.values() for s in srs],
                               pending={r.pk: r for r in records if r._state.adding})
        to_create, to_update, changed_approved, issues_of, keys_of = [], [], [], {}, {}
        for record in records:
            adding = record._state.adding
            ovs = overrides.get(record.pk, {})
            values, lineage, rule_values = survivorship.build(
                self.entity_type, [golden_svc._source(s) for s in sources[record.pk]], rules,
                overrides={k: o.value for k, o in ovs.items()}, previous_lineage=record.lineage,
                now=self.now.isoformat())
            if ovs:
                golden_svc._flag_overrides(ovs, rule_values)
            value_changed = golden_svc._apply(record, values, lineage, resolver=resolver)
            if not (adding or value_changed or lineage != record.lineage):
                continue
            record.lineage = lineage
            was_approved = record.state == LifecycleState.APPROVED
            if value_changed and not adding:
                record.version += 1
                if was_approved:
                    record.state = LifecycleState.PENDING
                    changed_approved.append(record)
            record.updated_at = self.now
            record._mdm_erp_bound = record.pk in erp_ids
            issues = validate(record)
            record.is_valid = not issues
            issues_of[record.pk] = issues
            compared = golden_svc.golden_values(record)
            keys_of[record.pk] = sorted(golden_svc.index_keys(record, compared))
            record.match_form = golden_svc.match_form(record, compared)
            subject = ", ".join(f"{s.system.code}:{s.source_id}" for s in sources[record.pk][:3])
            record._change_reason = reason_for("new golden from" if adding else "rebuilt from", subject)
            (to_create if adding else to_update).append(record)
        if to_create:
            to_create = _parents_first(to_create)
            create_with_history(to_create, self.model, default_user=self.user,
                                custom_historical_attrs=self.hist)
            self._created.extend(to_create)
        if to_update:
            fields = [*GOLDEN_FIELDS_BASE, *canonical.field_names(self.entity_type)]
            update_with_history(to_update, self.model, fields, default_user=self.user,
                                custom_historical_attrs=self.hist)
        written = [r.pk for r in (*to_create, *to_update)]
        if written:
            self._replace_derived([r.pk for r in to_update], issues_of, keys_of)
        for record in changed_approved:
            master_changed.send(sender=self.model, record=record, change="updated", extra={"needs_approval": True})
        for record in (*to_create, *to_update):
            if golden_svc.auto_approve_allowed(record):
                golden_svc.approve(record, actor=None, auto=True)
        return len(written)

    def _finish_waiting_references(self, new_items, created) -> None:
        """Rebuild records elsewhere that were waiting for the records this
        chunk brought (a contract that arrived before its customer)."""
        keys = {f"ref:{self.entity_type}:{self.system.code}:{i.source_id}"[:160] for i in new_items}
        natural = golden_svc.NATURAL_KEYS.get(self.entity_type)
        if natural:
            keys |= {f"ref:{self.entity_type}:*:{getattr(r, natural)}"[:160] for r in created if getattr(r, natural)}
        waiting: dict = defaultdict(set)
        keys = sorted(keys)
        for start in range(0, len(keys), 900):
            # Every entity type named, so the look-up probes the (entity type, key) index; on the key alone
            # PostgreSQL scans every blocking key (hundreds of ms at a million customers).
            for entity_type, gid in small(_Q["waiting"], (), {"keys": keys[start:start + 900]},
                                          lambda v: BlockingKey.objects.filter(entity_type__in=EntityType.values,
                                                                               key__in=v["keys"])
                                          .values_list("entity_type", "golden_id")):
                waiting[entity_type].add(gid)
        for entity_type, ids in waiting.items():
            Batch(None, entity_type, [])._build(ids, {})

    def _replace_derived(self, updated_ids, issues_of, keys_of) -> None:
        """Validation issues and blocking keys of the records written: new
        records' are inserted; for updated ones the issues are replaced and
        the keys changed by difference (a rebuild usually adds or drops a
        key or two of a dozen)."""
        if updated_ids:
            ValidationIssue.objects.filter(entity_type=self.entity_type, golden_id__in=updated_ids).delete()
        copy_rows(ValidationIssue, ["entity_type", "golden_id", "rule", "field", "message", "hint", "created_at"],
                  ((self.entity_type, gid, i.rule, i.field, i.message, i.hint, self.now)
                   for gid, issues in issues_of.items() for i in issues))
        old_keys: dict = defaultdict(dict)  # golden id -> {key: row id}
        if updated_ids:
            for pk, gid, key in small(_Q["keys"], (), {"entity_type": self.entity_type, "ids": list(updated_ids)},
                                      lambda v: BlockingKey.objects.filter(entity_type=v["entity_type"],
                                                                           golden_id__in=v["ids"])
                                      .order_by().values_list("pk", "golden_id", "key")):
                old_keys[gid][key] = pk
        stale = [pk for gid, keys in old_keys.items() for key, pk in keys.items() if key not in keys_of[gid]]
        if stale:
            BlockingKey.objects.filter(pk__in=stale).delete()
        copy_rows(BlockingKey, ["entity_type", "golden_id", "key"],
                  ((self.entity_type, gid, k) for gid, keys in keys_of.items() for k in keys
                   if k not in old_keys.get(gid, ())))

    def _erp_bound_ids(self, existing_ids, new_ids) -> set:
        """The records held to the ERP's rules: all of them when an ERP
        subscribes to the entity type, else those an ERP sent or knows (a
        new golden's only cross-references are this chunk's, from its system)."""
        try:
            from sync.selectors import erp_subscribed
        except ImportError:
            erp_subscribed = None
        if erp_subscribed is not None and erp_subscribed(self.entity_type):
            return {*existing_ids, *new_ids}
        bound = set(new_ids) if self.system is not None and self.system.kind == SystemKind.ERP else set()
        if existing_ids:
            bound |= set(small(_Q["erp_bound"], (), {"entity_type": self.entity_type, "ids": list(existing_ids)},
                               lambda v: CrossReference.objects.filter(entity_type=v["entity_type"],
                                                                       golden_id__in=v["ids"],
                                                                       system__kind=SystemKind.ERP)
                               .values_list("golden_id", flat=True)))
        return bound


class RefResolver:
    """Resolves the references of a chunk's records with a few set-based
    queries (xrefs by external id, legal entity codes, contract numbers)."""

    def __init__(self, entity_type: str, sources, pending: dict | None = None):
        self.cache: dict = {}
        pending = pending or {}
        wanted: dict = defaultdict(set)  # (ref type, system) -> values
        for f in canonical.fields_for(entity_type):
            if f.kind != "ref":
                continue
            for s in sources:
                value = s.canonical.get(f.name)
                if value:
                    wanted[(f.ref, s.system.code)].add(str(value))
        for (ref_type, system), values in wanted.items():
            model = golden_model(ref_type)
            found = dict(CrossReference.objects.filter(entity_type=ref_type, system__code=system,
                                                       external_id__in=values).order_by("-role")
                         .values_list("external_id", "golden_id"))
            objs = {o.pk: o for o in model.objects.filter(pk__in=set(found.values()))}
            if ref_type == entity_type:  # records started in this chunk (a parent sent with its children)
                objs.update({gid: r for gid, r in pending.items() if gid in set(found.values())})
            for value in values:
                obj = objs.get(found.get(value))
                if obj is not None and obj.state == LifecycleState.MERGED:
                    obj = golden_svc.follow_merges(model, obj.pk)
                if obj is not None:
                    self.cache[(ref_type, system, value)] = obj
            natural = {LegalEntity: "code", Contract: "number"}.get(model)
            missing = [v for v in values if (ref_type, system, v) not in self.cache]
            if natural and missing:
                for obj in (model.objects.filter(**{f"{natural}__in": missing})
                            .exclude(state=LifecycleState.MERGED).order_by("created_at")):
                    self.cache.setdefault((ref_type, system, getattr(obj, natural)), obj)
            # what is left may be a golden id (as ``resolve_ref`` allows), or unknown
            missing = {v for v in values if (ref_type, system, v) not in self.cache}
            id_of = {}
            for v in missing:
                try:
                    id_of[v] = uuid.UUID(v)
                except ValueError:
                    pass
            by_id = {o.pk: o for o in model.objects.filter(pk__in=set(id_of.values()))} if id_of else {}
            for v in missing:
                obj = by_id.get(id_of.get(v))
                if obj is not None and obj.merged_into_id:
                    obj = golden_svc.follow_merges(model, obj.pk)
                self.cache[(ref_type, system, v)] = obj

    def __call__(self, ref_type: str, system: str, value: str):
        key = (ref_type, system, value)
        if key not in self.cache:
            self.cache[key] = golden_svc.resolve_ref(ref_type, system, value)
        return self.cache[key]


def rebuild_goldens(entity_type: str, ids) -> int:
    """Recompute the given golden records from their sources under the
    current rules (one chunk, set-based).  Returns how many changed."""
    batch = Batch(None, entity_type, [])
    return batch._build(set(ids), {})


def _parents_first(records: list) -> list:
    """Order new records so one referenced by another (a parent customer sent
    in the same chunk) is inserted first."""
    ids = {r.pk for r in records}
    placed, out, remaining = set(), [], list(records)
    while remaining:
        rest = []
        for r in remaining:
            deps = {getattr(r, f"{f.name}_id") for f in canonical.fields_for(r.entity_type)
                    if f.kind == "ref" and f.ref == r.entity_type} & ids
            if deps <= placed:
                out.append(r)
                placed.add(r.pk)
            else:
                rest.append(r)
        if len(rest) == len(remaining):  # a cycle: keep the order, validation reports it
            out.extend(rest)
            break
        remaining = rest
    return out
