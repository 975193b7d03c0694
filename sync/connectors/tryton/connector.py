"""Delivering golden records into Tryton over JSON-RPC.

Config (``add_subscription tryton --connector tryton``)::

    {"url": "http://127.0.0.1:8123", "database": "erp", "username": "admin"}

The password is the subscription's secret (stored encrypted, or named by
``secret_env``).  The data arrives with canonical field names: leave the
subscription's field mapping empty for this connector.

Tryton has no server-side upsert, so every write is look-up-then-upsert and
a retry never duplicates:

* customer → ``party.party``: the hub id is the party's unique ``code`` (set
  at create, the look-up key), the tax id a party identifier, the billing
  address the party's first address;
* legal entity → ``company.company`` whose party carries the hub id as code;
  the connecting user is given the company (else Tryton refuses projects);
* project → ``project.work`` (type project) with its party and company;
  Tryton has no writable key there, so the hub id is kept in the comment
  (``mdm:<id>``) for the look-up and the Tryton id in the cross-reference;
* contract → ``sale.subscription``, the hub id in ``reference``.

A record's customer and company are delivered first when Tryton does not
have them yet (if they are approved; otherwise the delivery waits).  A
merge runs Tryton's own *Replace* wizard: the loser party is deactivated and
points at the survivor (``replaced_by``), and Tryton re-points its documents.
Tryton's refusals (400 / UserError: a bad VAT number) are business errors;
connection failures, 5xx and concurrent-write conflicts are retried."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

import pycountry

from mdm.choices import EntityType
from sync.connectors.base import BaseConnector, Envelope, PermanentError, Result, TransientError
from sync.connectors.tryton.client import (
    TrytonAuthError,
    TrytonBusinessError,
    TrytonClient,
    TrytonConfigError,
    TrytonError,
    TrytonTransientError,
)

C, LE, K, P = EntityType.CUSTOMER, EntityType.LEGAL_ENTITY, EntityType.CONTRACT, EntityType.PROJECT
MODELS = {C: "party.party", LE: "company.company", P: "project.work", K: "sale.subscription"}
EU = {"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU",
      "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"}
NATIONAL_TAX_TYPES = {"GB": "gb_vat", "CH": "ch_vat", "NO": "no_mva", "US": "us_ein", "AU": "au_abn"}
TAX_TYPES = ("eu_vat", *NATIONAL_TAX_TYPES.values())
INVOICE_METHODS = {"time_and_materials": "timesheet", "fixed_fee": "effort", "milestone": "progress",
                   "retainer": "manual"}
MARK = "mdm:"
PARTY_FIELDS = ["code", "name", "active", "replaced_by", "identifiers.type", "identifiers.code",
                "addresses.street_name", "addresses.building_number", "addresses.postal_code", "addresses.city",
                "addresses.country"]

_local = threading.local()


def _client(url: str, database: str, username: str, password: str) -> TrytonClient:
    """One logged-in client per worker thread and target."""
    clients = getattr(_local, "clients", None)
    if clients is None:
        clients = _local.clients = {}
    key = (url, database, username, password)
    client = clients.get(key)
    if client is None:
        client = clients[key] = TrytonClient(url, database, username, password)
    return client


def _as_delivery_error(exc: TrytonError) -> Exception:
    if isinstance(exc, TrytonTransientError):
        return TransientError(f"Tryton: {exc.message}", status=exc.status, body=exc.body)
    if isinstance(exc, (TrytonAuthError, TrytonConfigError)):
        # credentials or URL being fixed: worth retrying, but it is not the data's fault
        return TransientError(f"Tryton: {exc.message}", status=exc.status, body=exc.body)
    return PermanentError(f"Tryton refused: {exc.message}", status=exc.status or 400, body=exc.body)


def tax_identifier(tax_id: str | None, country: str | None) -> tuple[str | None, str | None]:
    """(identifier type, code) Tryton validates for this tax id."""
    if not tax_id:
        return None, None
    code = "".join(tax_id.split()).upper()
    country = (country or code[:2]).upper()
    if country in EU or (country == "GR" or code[:2] == "EL"):
        if not code[:2].isalpha():
            code = ("EL" if country == "GR" else country) + code
        return "eu_vat", code
    kind = NATIONAL_TAX_TYPES.get(country)
    if kind == "gb_vat" and code.startswith("GB"):
        code = code[2:]
    return kind, code


# --- reading back, for reconciliation -------------------------------------------------------

COMPARED = {
    C: ("legal_name", "tax_id", "address_line", "postcode", "city", "country"),
    LE: ("name", "base_currency"),
    P: ("name", "customer", "legal_entity"),
    K: ("customer", "legal_entity", "currency", "start_date", "end_date"),
}


def _norm(value) -> str:
    return " ".join(str(value).split()).casefold() if value not in (None, "") else ""


def expected_values(entity_type: str, data: dict, ref_ids: dict) -> dict:
    """What Tryton should hold for a golden record, in canonical names (refs as Tryton ids)."""
    if entity_type == C:
        _kind, tax = tax_identifier(data.get("tax_id"), data.get("country"))
        return {"legal_name": data.get("legal_name") or data.get("trading_name"), "tax_id": tax,
                "address_line": data.get("address_line"), "postcode": data.get("postcode"),
                "city": data.get("city"), "country": data.get("country")}
    if entity_type == LE:
        return {"name": data.get("name") or data.get("code"), "base_currency": data.get("base_currency")}
    if entity_type == P:
        return {"name": data.get("name") or data.get("code"), "customer": ref_ids.get("customer"),
                "legal_entity": ref_ids.get("legal_entity")}
    return {"customer": ref_ids.get("customer"), "legal_entity": ref_ids.get("legal_entity"),
            "currency": data.get("currency"), "start_date": data.get("start_date"), "end_date": data.get("end_date")}


def differences(entity_type: str, expected: dict, actual: dict) -> list[tuple[str, object, object]]:
    out = []
    for name in COMPARED[entity_type]:
        if _norm(expected.get(name)) != _norm(actual.get(name)):
            out.append((name, expected.get(name), actual.get(name)))
    return out


@dataclass
class Upsert:
    model: str
    id: int
    action: str  # created | updated | unchanged | deactivated | replaced


class Connector(BaseConnector):
    name = "tryton"

    @classmethod
    def check_config(cls, config: dict) -> list[str]:
        problems = []
        url = str(config.get("url") or "")
        if not url.startswith(("http://", "https://")):
            problems.append("config.url must be the Tryton server's http(s) URL")
        if not config.get("database"):
            problems.append("config.database must name the Tryton database")
        return problems

    # --- plumbing ---------------------------------------------------------------
    def __init__(self, subscription):
        super().__init__(subscription)
        # ids of countries and currencies, kept per worker thread and Tryton database
        # (the engine makes a connector per delivery)
        caches = getattr(_local, "ids", None)
        if caches is None:
            caches = _local.ids = {}
        key = (self.config.get("url"), self.config.get("database"))
        self._countries, self._currencies = caches.setdefault(key, ({}, {}))

    @property
    def client(self) -> TrytonClient:
        password = self._password()
        return _client(self.config["url"], self.config["database"], self.config.get("username") or "admin",
                       password)

    def _password(self) -> str:
        from sync.services import subscription_secret

        password = subscription_secret(self.subscription)
        if not password:
            raise PermanentError("no Tryton password configured (the subscription's secret)", category="technical")
        return password

    def send(self, envelope: Envelope) -> Result:
        try:
            if envelope.event == "merged":
                done = self._merged(envelope)
            elif envelope.event == "retired":
                done = self._retired(envelope)
            else:  # approved, unmerged, repointed: make Tryton hold this version
                done = self.upsert(envelope.entity_type, envelope.golden_id, envelope.data,
                                   target_id=envelope.target_id, refs=envelope.extra.get("ref_target_ids") or {})
        except TrytonError as exc:
            raise _as_delivery_error(exc) from None
        body = json.dumps({"model": done.model, "id": done.id, "action": done.action})
        return Result(status=200, body=body, target_id=str(done.id))

    # --- look-ups -----------------------------------------------------------------
    def find(self, entity_type: str, golden_id: str, target_id: str | None = None) -> int | None:
        """Tryton's id for a golden record.  Parties, companies and subscriptions
        carry the hub id as a key (``code`` / the company party's ``code`` /
        ``reference``), which is authoritative: a cross-reference can point at
        another golden's record after a merge.  Projects have no writable key:
        the known id if it still exists, else the ``mdm:<id>`` comment marker."""
        found = self.find_many(entity_type, [golden_id], {golden_id: target_id} if target_id else None)
        return found.get(golden_id)

    def find_many(self, entity_type: str, golden_ids: list[str], target_ids: dict | None = None) -> dict:
        model = MODELS[entity_type]
        ctx = {"active_test": False}
        golden_ids = [str(g) for g in golden_ids]
        if entity_type in (C, LE, K):
            key = {C: "code", LE: "party.code", K: "reference"}[entity_type]
            fields = {C: ["code", "replaced_by"], LE: ["party.code"], K: ["reference"]}[entity_type]
            out, replaced = {}, []
            for start in range(0, len(golden_ids), 200):
                rows = self.client.search_read(model, [[key, "in", golden_ids[start:start + 200]]], fields,
                                               context=ctx)
                for r in rows:
                    value = r.get("code") if entity_type == C else (
                        (r.get("party.") or {}).get("code") if entity_type == LE else r.get("reference"))
                    out.setdefault(value, r["id"])
                    if entity_type == C and r.get("replaced_by"):
                        replaced.append(value)
            for g in replaced:
                # merged away in Tryton and brought back by an unmerge: the newest "<id>~n" party
                again = self.client.search(model, [["code", "like", f"{g}~%"], ["replaced_by", "=", None]],
                                           order=[["id", "DESC"]], limit=1, context=ctx)
                if again:
                    out[g] = again[0]
            return out
        out = {}
        known = {g: int(t) for g, t in (target_ids or {}).items() if t and str(t).isdigit()}
        if known:
            alive = set(self.client.search(model, [["id", "in", sorted(set(known.values()))]], context=ctx))
            out = {g: t for g, t in known.items() if t in alive}
        for g in golden_ids:
            if g not in out:
                hit = self.client.search(model, [["comment", "like", f"{MARK}{g}%"], ["type", "=", "project"]],
                                         limit=1, context=ctx)
                if hit:
                    out[g] = hit[0]
        return out

    def country(self, code: str | None) -> int | None:
        if not code:
            return None
        code = code.upper()
        if code not in self._countries:
            found = self.client.search("country.country", [["code", "=", code]], limit=1)
            if not found:
                entry = pycountry.countries.get(alpha_2=code)
                found = self.client.create("country.country", {"code": code,
                                                               "name": entry.name if entry else code})
            self._countries[code] = found[0]
        return self._countries[code]

    def currency(self, code: str | None) -> int | None:
        if not code:
            return None
        code = code.upper()
        if code not in self._currencies:
            found = self.client.search("currency.currency", [["code", "=", code]], limit=1)
            if not found:
                entry = pycountry.currencies.get(alpha_3=code)
                found = self.client.create("currency.currency", {"code": code, "symbol": code,
                                                                 "name": entry.name if entry else code})
            self._currencies[code] = found[0]
        return self._currencies[code]

    def _ref(self, entity_type: str, golden_id: str | None, refs: dict, field: str, *, required: bool) -> int | None:
        """Tryton's id for a referenced golden record, delivering it first if Tryton lacks it."""
        if not golden_id:
            if required:
                raise PermanentError(f"Tryton needs the {field.replace('_', ' ')} of this record")
            return None
        known = refs.get(field)
        found = self.find(entity_type, golden_id, known)
        if found:
            if str(found) != str(known or ""):
                self._write_back(entity_type, golden_id, found)
            return found
        from mdm.models import golden_model
        from mdm.services.golden import golden_values
        from sync.services import map_data

        record = golden_model(entity_type).objects.filter(pk=golden_id).first()
        if record is None or record.state != "approved":
            state = record.state if record is not None else "unknown"
            raise TransientError(f"waiting for {entity_type.replace('_', ' ')} {golden_id} ({state}) to be "
                                 "approved and delivered first")
        data = map_data(self.subscription, entity_type, golden_values(record))
        done = self.upsert(entity_type, golden_id, data)
        self._write_back(entity_type, golden_id, done.id)
        return done.id

    def _write_back(self, entity_type: str, golden_id: str, tryton_id: int) -> None:
        from sync.services import record_target_id

        record_target_id(system=self.subscription.system, entity_type=entity_type, golden_id=golden_id,
                         external_id=str(tryton_id))

    # --- upserts ---------------------------------------------------------------------
    def upsert(self, entity_type: str, golden_id: str, data: dict, *, target_id: str | None = None,
               refs: dict | None = None) -> Upsert:
        refs = refs or {}
        handler = {C: self._customer, LE: self._company, P: self._project, K: self._subscription}[entity_type]
        return handler(golden_id, data, target_id, refs)

    def _customer(self, golden_id, data, target_id, refs) -> Upsert:
        # one look-up that also reads what the update compares against
        ctx = {"active_test": False}
        rows = self.client.search_read("party.party", [["code", "=", golden_id]], PARTY_FIELDS, context=ctx)
        current = rows[0] if rows else None
        if current is not None and current.get("replaced_by"):
            # Tryton's Replace locks a merged-away party: an unmerge gets a party of its own
            # ("<hub id>~n": codes are unique and the old party keeps its own)
            again = self.client.search_read("party.party", [["code", "like", f"{golden_id}~%"],
                                                            ["replaced_by", "=", None]], PARTY_FIELDS,
                                            order=[["id", "DESC"]], limit=1, context=ctx)
            if not again:
                taken = self.client.search_count("party.party", [["code", "like", f"{golden_id}~%"]], context=ctx)
                return self._party(None, f"{golden_id}~{taken + 1}", data)
            current = again[0]
        try:
            return self._party(current["id"] if current else None, golden_id, data, current=current)
        except TrytonBusinessError as exc:
            if current is None and "unique" in exc.message.lower():
                # a concurrent create won the race on the code: update what it made
                return self._party(self.find(C, golden_id), golden_id, data)
            raise

    def _party(self, existing: int | None, code: str, data: dict, *, name_field: str = "legal_name",
               current: dict | None = None) -> Upsert:
        values = {"name": data.get(name_field) or data.get("trading_name") or data.get("name") or code,
                  "active": True}
        kind, tax = tax_identifier(data.get("tax_id") or data.get("tax_registration"), data.get("country"))
        address = {"street_name": data.get("address_line") or "", "building_number": "",
                   "postal_code": data.get("postcode") or "", "city": data.get("city") or "",
                   "country": self.country(data.get("country"))}
        has_address = any(v for k, v in address.items() if k != "building_number")
        if existing is None:
            create = dict(values, code=code)
            if tax:
                create["identifiers"] = [["create", [{"type": kind, "code": tax}]]]
            if has_address:
                create["addresses"] = [["create", [address]]]
            [new_id] = self.client.create("party.party", create)
            return Upsert("party.party", new_id, "created")
        if current is None:
            [current] = self.client.read("party.party", [existing], PARTY_FIELDS, context={"active_test": False})
        changes = {k: v for k, v in values.items() if current.get(k) != v and not (k == "active" and current.get(k))}
        idents = [i for i in current.get("identifiers.") or [] if i.get("type") in TAX_TYPES or i.get("type") is None]
        if tax:
            same = [i for i in idents if i.get("code") == tax and i.get("type") == kind]
            if not same:
                if idents:
                    changes["identifiers"] = [["write", [idents[0]["id"]], {"type": kind, "code": tax}]]
                else:
                    changes["identifiers"] = [["create", [{"type": kind, "code": tax}]]]
        elif idents:
            changes["identifiers"] = [["delete", [i["id"] for i in idents]]]
        addresses = current.get("addresses.") or []
        if has_address:
            if not addresses:
                changes["addresses"] = [["create", [address]]]
            else:
                first = addresses[0]
                diff = {k: v for k, v in address.items() if (first.get(k) or ("" if k != "country" else None)) != v}
                if diff:
                    changes["addresses"] = [["write", [first["id"]], diff]]
        if not changes:
            return Upsert("party.party", existing, "unchanged")
        self.client.write("party.party", [existing], changes)
        return Upsert("party.party", existing, "updated")

    def _company(self, golden_id, data, target_id, refs) -> Upsert:
        existing = self.find(LE, golden_id, target_id)
        currency = self.currency(data.get("base_currency"))
        if currency is None:
            raise PermanentError("Tryton needs the legal entity's base currency")
        if existing is None:
            party = self.find(C, golden_id)  # a party left by an earlier, interrupted try
            party_id = self._party(party, golden_id, data, name_field="name").id
            [company] = self.client.create("company.company", {"party": party_id, "currency": currency})
            action = "created"
        else:
            [current] = self.client.read("company.company", [existing], ["party", "currency"])
            self._party(current["party"], golden_id, data, name_field="name")
            if current["currency"] != currency:
                self.client.write("company.company", [existing], {"currency": currency})
            company, action = existing, "updated"
        uid = self.client.uid or self.client.login()
        [user] = self.client.read("res.user", [uid], ["companies"])
        if company not in (user.get("companies") or []):
            self.client.write("res.user", [uid], {"companies": [["add", [company]]], "company": company})
        return Upsert("company.company", company, action)

    def project_values(self, golden_id: str, data: dict, party: int | None, company: int) -> dict:
        values = {"name": data.get("name") or data.get("code") or golden_id, "type": "project",
                  "company": company, "party": party,
                  "comment": f"{MARK}{golden_id} {data.get('code') or ''}".strip()}
        method = INVOICE_METHODS.get(data.get("billing_model") or "")
        if method:
            values["project_invoice_method"] = method
        return values

    def _project(self, golden_id, data, target_id, refs) -> Upsert:
        company = self._ref(LE, data.get("legal_entity"), refs, "legal_entity", required=True)
        party = self._ref(C, data.get("customer"), refs, "customer", required=False)
        existing = self.find(P, golden_id, target_id)
        values = self.project_values(golden_id, data, party, company)
        ctx = {"company": company, "companies": [company]}
        if existing is None:
            values.setdefault("project_invoice_method", "effort")
            [new_id] = self.client.create("project.work", values, context=ctx)
            return Upsert("project.work", new_id, "created")
        [current] = self.client.read("project.work", [existing], list(values), context=ctx)
        changes = {k: v for k, v in values.items() if current.get(k) != v}
        if not changes:
            return Upsert("project.work", existing, "unchanged")
        self.client.write("project.work", [existing], changes, context=ctx)
        return Upsert("project.work", existing, "updated")

    def _recurrence(self) -> int:
        found = self.client.search("sale.subscription.recurrence.rule.set", [["name", "=", "Monthly"]], limit=1)
        if found:
            return found[0]
        [rule_set] = self.client.create("sale.subscription.recurrence.rule.set", {
            "name": "Monthly", "rules": [["create", [{"freq": "monthly", "interval": 1}]]]})
        return rule_set

    def _subscription(self, golden_id, data, target_id, refs) -> Upsert:
        import datetime as dt

        company = self._ref(LE, data.get("legal_entity"), refs, "legal_entity", required=True)
        party = self._ref(C, data.get("customer"), refs, "customer", required=True)
        currency = self.currency(data.get("currency"))
        if currency is None:
            raise PermanentError("Tryton needs the contract's currency")
        values = {"company": company, "party": party, "currency": currency, "reference": golden_id,
                  "description": " ".join(x for x in (data.get("number"), data.get("title")) if x)[:255],
                  "start_date": dt.date.fromisoformat(data["start_date"]) if data.get("start_date") else dt.date.today(),
                  "end_date": dt.date.fromisoformat(data["end_date"]) if data.get("end_date") else None}
        ctx = {"company": company, "companies": [company]}
        existing = self.find(K, golden_id, target_id)
        if existing is None:
            values["invoice_recurrence"] = self._recurrence()
            [new_id] = self.client.create("sale.subscription", values, context=ctx)
            return Upsert("sale.subscription", new_id, "created")
        [current] = self.client.read("sale.subscription", [existing], list(values) + ["state"], context=ctx)
        changes = {k: v for k, v in values.items() if current.get(k) != v}
        if not changes:
            return Upsert("sale.subscription", existing, "unchanged")
        if current.get("state") != "draft":
            changes = {k: v for k, v in changes.items() if k in ("description", "end_date")}
        if changes:
            self.client.write("sale.subscription", [existing], changes, context=ctx)
        return Upsert("sale.subscription", existing, "updated")

    # --- lifecycle: merge and retire -------------------------------------------------------
    def _merged(self, envelope: Envelope) -> Upsert:
        """Deactivate the loser and point it at the survivor (Tryton's Replace wizard for parties)."""
        loser = self.find(envelope.entity_type, envelope.golden_id, envelope.target_id)
        survivor = None
        if envelope.survivor_id:
            survivor = self.find(envelope.entity_type, envelope.survivor_id, envelope.survivor_target_id)
        if loser is None:
            return Upsert(MODELS[envelope.entity_type], int(envelope.target_id or 0), "unchanged")
        if envelope.entity_type == C:
            if survivor is None and envelope.survivor_id:
                survivor = self._ref(C, envelope.survivor_id, {}, "survivor", required=True)
            if survivor and survivor != loser:
                self.replace_party(loser, survivor)
                return Upsert("party.party", loser, "replaced")
            self.client.write("party.party", [loser], {"active": False})
            return Upsert("party.party", loser, "deactivated")
        return self._close(envelope.entity_type, loser, f"merged into {envelope.survivor_id}")

    def replace_party(self, loser: int, survivor: int) -> None:
        """Run ``party.replace`` (moves the loser's documents to the survivor,
        sets ``replaced_by`` and deactivates it), acknowledging its warnings
        (different names or tax ids are expected: the hub decided they are one)."""
        for _ in range(4):
            session, _start, _end = self.client.call("wizard.party.replace.create")
            try:
                self.client.call("wizard.party.replace.execute", session,
                                 {"ask": {"source": loser, "destination": survivor}}, "replace")
                return
            except TrytonBusinessError as exc:
                name = getattr(exc, "warning_name", None)
                if not name:
                    raise
                self.client.create("res.user.warning", {"user": self.client.uid, "name": name, "always": False})
            finally:
                self.client.call("wizard.party.replace.delete", session)
        raise PermanentError("Tryton kept asking to confirm the party replacement")

    def _retired(self, envelope: Envelope) -> Upsert:
        found = self.find(envelope.entity_type, envelope.golden_id, envelope.target_id)
        if found is None:
            return Upsert(MODELS[envelope.entity_type], int(envelope.target_id or 0), "unchanged")
        if envelope.entity_type == C:
            self.client.write("party.party", [found], {"active": False})
            return Upsert("party.party", found, "deactivated")
        return self._close(envelope.entity_type, found, "retired in the hub")

    def _close(self, entity_type: str, tryton_id: int, why: str) -> Upsert:
        if entity_type == P:
            done = self.client.search("project.work.status", [["name", "=", "Done"]], limit=1)
            [current] = self.client.read("project.work", [tryton_id], ["comment"])
            values = {"comment": f"{current.get('comment') or ''}\n{why}".strip()}
            if done:
                values["status"] = done[0]
            self.client.write("project.work", [tryton_id], values)
            return Upsert("project.work", tryton_id, "deactivated")
        if entity_type == LE:
            [current] = self.client.read("company.company", [tryton_id], ["party"])
            self.client.write("party.party", [current["party"]], {"active": False})
            return Upsert("company.company", tryton_id, "deactivated")
        if entity_type == K:
            [current] = self.client.read("sale.subscription", [tryton_id], ["state", "description"])
            if current.get("state") == "draft":
                self.client.call("model.sale.subscription.cancel", [tryton_id])
            return Upsert("sale.subscription", tryton_id, "deactivated")
        raise PermanentError(f"nothing to close for {entity_type}")

    # --- reading back, for reconciliation -----------------------------------------------------
    def read_back(self, entity_type: str, ids: list[int]) -> dict[int, dict]:
        """What Tryton holds for these ids, in canonical names; missing ids are absent."""
        if not ids:
            return {}
        ctx = {"active_test": False}
        out: dict[int, dict] = {}
        try:
            if entity_type == C:
                rows = self.client.read("party.party", ids, [
                    "name", "active", "replaced_by", "identifiers.type", "identifiers.code", "addresses.street",
                    "addresses.postal_code", "addresses.city", "addresses.country.code", "write_date"], context=ctx)
                for r in rows:
                    address = (r.get("addresses.") or [{}])[0] or {}
                    tax = next((i.get("code") for i in r.get("identifiers.") or [] if i.get("type") in TAX_TYPES), None)
                    out[r["id"]] = {"legal_name": r.get("name"), "tax_id": tax, "address_line": address.get("street"),
                                    "postcode": address.get("postal_code"), "city": address.get("city"),
                                    "country": (address.get("country.") or {}).get("code"),
                                    "active": bool(r.get("active")), "replaced_by": r.get("replaced_by"),
                                    "write_date": r.get("write_date")}
            elif entity_type == LE:
                for r in self.client.read("company.company", ids, ["party.name", "party.active", "currency.code",
                                                                   "write_date"]):
                    out[r["id"]] = {"name": (r.get("party.") or {}).get("name"),
                                    "base_currency": (r.get("currency.") or {}).get("code"),
                                    "active": bool((r.get("party.") or {}).get("active", True)),
                                    "write_date": r.get("write_date")}
            elif entity_type == P:
                for r in self.client.read("project.work", ids, ["name", "party", "company", "write_date"], context=ctx):
                    out[r["id"]] = {"name": r.get("name"), "customer": r.get("party"), "legal_entity": r.get("company"),
                                    "active": True, "write_date": r.get("write_date")}
            else:
                for r in self.client.read("sale.subscription", ids, ["party", "company", "currency.code",
                                                                     "start_date", "end_date", "state"]):
                    out[r["id"]] = {"customer": r.get("party"), "legal_entity": r.get("company"),
                                    "currency": (r.get("currency.") or {}).get("code"),
                                    "start_date": r["start_date"].isoformat() if r.get("start_date") else None,
                                    "end_date": r["end_date"].isoformat() if r.get("end_date") else None,
                                    "active": r.get("state") != "cancelled"}
        except TrytonBusinessError:
            # some ids no longer exist (deleted in Tryton): read them one by one
            if len(ids) == 1:
                return {}
            for one in ids:
                out.update(self.read_back(entity_type, [one]))
        except TrytonError as exc:
            raise _as_delivery_error(exc) from None
        return out


    def reconcile(self, entity_type: str, items: list[dict]) -> list[dict]:
        """For each ``{"golden_id", "target_id", "data", "ref_target_ids"}``: the
        Tryton record's values and the fields that differ (``found`` False when
        Tryton has no such record).  Reads in batches of 200."""
        results = []
        for start in range(0, len(items), 200):
            batch = items[start:start + 200]
            try:
                resolved = self.find_many(entity_type, [i["golden_id"] for i in batch],
                                          {i["golden_id"]: i.get("target_id") for i in batch})
            except TrytonError as exc:
                raise _as_delivery_error(exc) from None
            resolved = {i["golden_id"]: resolved.get(i["golden_id"]) for i in batch}
            actual = self.read_back(entity_type, sorted({t for t in resolved.values() if t}))
            for item in batch:
                tid = resolved[item["golden_id"]]
                held = actual.get(tid) if tid else None
                refs = {k: int(v) for k, v in (item.get("ref_target_ids") or {}).items() if str(v).isdigit()}
                expected = expected_values(entity_type, item.get("data") or {}, refs)
                results.append({
                    "golden_id": item["golden_id"], "target_id": str(tid) if tid else None, "found": held is not None,
                    "active": bool(held and held.get("active", True)), "held": held or {},
                    "differences": differences(entity_type, expected, held) if held is not None else [],
                })
        return results
