"""Hub-wide re-matching: every live golden record against its blocked
candidates, through the persisted blocking keys.  Pairs in the review or
match band that are not already on the queue, and that no steward has
called "not a duplicate", become review tasks.  Existing golden records are
never merged by a machine: only new source records join a golden on their
own."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Callable

from django.db import transaction

from mdm import canonical
from mdm.audit import audit_context
from mdm.choices import MatchDecision, Origin
from mdm.models import BlockingKey, MatchTask, golden_model
from mdm.services.golden import LIVE_STATES, golden_values
from mdm.services.ingest import open_review_task

CANDIDATES = 40


def rematch_entity_type(entity_type: str, *, progress: Callable[[int, int], None] | None = None,
                        chunk: int = 500, reason: str = "re-match") -> dict:
    from mdm.services.matching import _as_strings, _jsonable, blocks, matcher_for

    matcher = matcher_for(entity_type)
    model = golden_model(entity_type)
    own_refs = canonical.parent_fields(entity_type)
    ids = list(model.objects.filter(state__in=LIVE_STATES).order_by("pk").values_list("pk", flat=True))
    total, compared = len(ids), 0
    tasks_before = MatchTask.objects.filter(entity_type=entity_type).count()
    with audit_context(origin=Origin.MATCH, reason=reason):
        for start in range(0, total, chunk):
            part = ids[start:start + chunk]
            keys_of: dict = defaultdict(list)
            for gid, key in BlockingKey.objects.filter(entity_type=entity_type, golden_id__in=part) \
                    .exclude(key__startswith="ref:").values_list("golden_id", "key"):
                keys_of[gid].append(key)
            members = blocks(entity_type, {k for keys in keys_of.values() for k in keys}, min_size=2)
            pairs: dict = {}
            for gid in part:
                shared = Counter(o for k in keys_of.get(gid, ()) for o in members.get(k, ()) if str(o) > str(gid))
                pairs[gid] = [o for o, _ in sorted(shared.items(), key=lambda kv: (-kv[1], str(kv[0])))[:CANDIDATES]]
            needed = set(part) | {o for others in pairs.values() for o in others}
            values = {g.pk: _as_strings(golden_values(g))
                      for g in model.objects.filter(pk__in=needed, state__in=LIVE_STATES)}
            with transaction.atomic():
                for gid, others in pairs.items():
                    # a record and its parent are a hierarchy, not a duplicate pair
                    others = [o for o in others if o in values and not _parent_and_child(values[gid], gid,
                                                                                         values[o], o, own_refs)]
                    if gid not in values or not others:
                        continue
                    scores = matcher.score_many(values[gid], [values[o] for o in others])
                    compared += len(others)
                    for other, score in zip(others, scores):
                        if matcher.decide(float(score)) == MatchDecision.NEW:
                            continue
                        explanation = _jsonable(matcher.score(values[gid], values[other])[1])
                        open_review_task(entity_type, gid, other, float(score), explanation)
            if progress:
                progress(min(start + chunk, total), total)
    opened = MatchTask.objects.filter(entity_type=entity_type).count() - tasks_before
    return {"records": total, "pairs_compared": compared, "tasks_opened": opened}


def _parent_and_child(values_a: dict, a, values_b: dict, b, own_refs) -> bool:
    """Whether one record names the other as its parent."""
    return any(values_a.get(f) == str(b) or values_b.get(f) == str(a) for f in own_refs)
