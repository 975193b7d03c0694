"""The deterministic golden build: linked source records + rules → values
and per-field lineage.  Pure functions over plain data; the services load
the rows and write the result."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass

from mdm import canonical
from mdm.choices import SurvivorshipRuleType as RT


@dataclass(frozen=True)
class Source:
    """What the build needs of one source record."""

    id: int
    system: str
    source_id: str
    trust_rank: int
    updated_at: str  # ISO timestamp
    canonical: dict


@dataclass(frozen=True)
class Rule:
    rule_type: str
    systems: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.rule_type


DEFAULT_RULE = Rule(RT.SOURCE_PRIORITY)
MANUAL = "manual"


def _priority_key(rule: Rule, s: Source):
    order = rule.systems
    rank = order.index(s.system) if s.system in order else len(order)
    return (rank, s.trust_rank, s.system, s.source_id)


def pick(rule: Rule, sources: list[Source], field: str) -> Source | None:
    """The source whose value survives for ``field`` under ``rule``; ties are
    broken by trust rank, then system code and source id, so the same inputs
    always give the same answer."""
    candidates = [s for s in sources if s.canonical.get(field) not in (None, "")]
    if len(candidates) < 2:  # most fields of most goldens: nothing to choose between
        return candidates[0] if candidates else None
    if rule.rule_type == RT.MOST_RECENT:
        return min(candidates, key=lambda s: (_neg(s.updated_at), *_priority_key(rule, s)))
    if rule.rule_type == RT.MOST_COMPLETE:
        return min(candidates, key=lambda s: (-len(str(s.canonical[field])), *_priority_key(rule, s)))
    if rule.rule_type == RT.MOST_FREQUENT:
        counts = Counter(_norm(s.canonical[field]) for s in candidates)
        return min(candidates, key=lambda s: (-counts[_norm(s.canonical[field])], *_priority_key(rule, s)))
    return min(candidates, key=lambda s: _priority_key(rule, s))


def _norm(value) -> str:
    return " ".join(str(value).lower().split())


def _neg(iso: str) -> tuple:
    # sort descending by timestamp while keeping min() for the tie-breakers
    return tuple(-ord(ch) for ch in iso)


def build(entity_type: str, sources: list[Source], rules: dict[str, Rule], overrides: dict | None = None,
          previous_lineage: dict | None = None, now: str = "") -> tuple[dict, dict, dict]:
    """Return ``(values, lineage, rule_values)``.

    ``values`` holds every canonical field (None where no source has it);
    ``lineage[field]`` names the source record, system, rule and time;
    ``rule_values`` is what the rules alone would give (to notice when a
    source value under a steward's override changes)."""
    overrides = overrides or {}
    previous_lineage = previous_lineage or {}
    values: dict = {}
    lineage: dict = {}
    rule_values: dict = {}
    for f in canonical.fields_for(entity_type):
        rule = rules.get(f.name, DEFAULT_RULE)
        winner = pick(rule, sources, f.name)
        rule_value = winner.canonical[f.name] if winner else None
        rule_values[f.name] = rule_value
        if f.name in overrides:
            value = overrides[f.name]
            entry = {"rule": MANUAL, "system": None, "source_record": None, "source_id": None}
        elif winner is not None:
            value = rule_value
            entry = {"rule": rule.rule_type, "system": winner.system, "source_record": winner.id,
                     "source_id": winner.source_id}
        else:
            values[f.name] = None
            continue
        values[f.name] = value
        prev = previous_lineage.get(f.name)
        same = prev and all(prev.get(k) == entry[k] for k in entry) and prev.get("value") == value
        entry["value"] = value
        entry["at"] = prev["at"] if same else now
        lineage[f.name] = entry
    return values, lineage, rule_values


# --- rules loaded from the database, cached briefly -------------------------
_CACHE_TTL = 10.0
_rules_cache: dict[str, tuple[float, dict[str, Rule]]] = {}
_lock = threading.Lock()


def invalidate_cache(*_args, **_kwargs) -> None:
    with _lock:
        _rules_cache.clear()


def rules_for(entity_type: str) -> dict[str, Rule]:
    from mdm.models import SurvivorshipRule

    now = time.monotonic()
    hit = _rules_cache.get(entity_type)
    if hit and now - hit[0] < _CACHE_TTL:
        return hit[1]
    rules = {
        r.field: Rule(r.rule_type, tuple(r.systems or ()))
        for r in SurvivorshipRule.objects.filter(entity_type=entity_type)
    }
    with _lock:
        _rules_cache[entity_type] = (now, rules)
    return rules
