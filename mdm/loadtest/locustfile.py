"""The load test's request mix, for locust (run by ``python manage.py
load_test``, which writes the plan this file reads from ``MDM_LOADTEST_PLAN``:
tokens, a sample of records, change-feed bounds).

Fifty clients, as a hub with many integrations sees them:

* downstream readers (90 % of the clients; each its own service account):
  cursor pages of a full pull, ``updated_since`` polls, look-ups by tax id,
  detail reads (some revalidating with ``If-None-Match``), cross-reference
  look-ups by a CRM id, change-feed polls at the head and catch-up pages;
* source systems (10 %): ERP and CRM service accounts POSTing single records
  through the real ingest path — new companies, companies the hub already
  has (matched in real time), and changed records (a CRM account edited; an
  ERP record re-sent with new terms).

Every response is checked (status and the body's shape; a POST must answer
the outcome it was sent for), so an error is a failed request, not a
fast one.  The records writers change are kept out of the readers' sample:
a changed approved customer awaits approval again, and a reader asking for
it is served its last approved version from history, another read than the
one these clients measure."""

from __future__ import annotations

import itertools
import json
import os
import random
import uuid

import orjson
from locust import FastHttpUser, constant, task

from mdm.loadtest.pacing import random_pacing

PLAN = json.loads(open(os.environ["MDM_LOADTEST_PLAN"]).read()) if os.environ.get("MDM_LOADTEST_PLAN") else {}
RATE = float(os.environ.get("MDM_LOADTEST_USER_RATE", "0"))  # requests/s per client; 0: no pause
# The warm-up and the measured run take different halves of the writers' records, so no change is sent twice.
SLICE = int(os.environ.get("MDM_LOADTEST_SLICE", "0"))
if PLAN:
    PLAN["writers"] = PLAN["writers"][SLICE::2]
    PLAN["new_companies"] = PLAN["new_companies"][SLICE::2]
_seq = itertools.count()
RUN = uuid.uuid4().hex[:6]


def _wait():
    if RATE > 0:
        return random_pacing(RATE)
    return constant(0)


class _Client(FastHttpUser):
    abstract = True
    wait_time = _wait()
    connection_timeout = 30.0
    network_timeout = 60.0

    def _headers(self, **extra) -> dict:
        return {"Authorization": f"Token {self.token}", "Accept": "application/json", **extra}

    def _get(self, url, name, *, ok=(200,), check=None, **headers):
        with self.client.get(url, headers=self._headers(**headers), name=name, catch_response=True) as r:
            if r.status_code not in ok:
                r.failure(f"{r.status_code}: {(r.text or '')[:200]}")
                return None
            if r.status_code == 304:
                return r
            try:
                body = orjson.loads(r.content)  # the clients share one core with locust: orjson parses pages faster
            except ValueError:
                r.failure("not JSON")
                return None
            problem = check(body) if check else None
            if problem:
                r.failure(problem)
                return None
            return body


class DownstreamReader(_Client):
    """A system that pulls masters, polls for changes and looks ids up."""

    fixed_count = PLAN.get("users", {}).get("readers", 0)

    def on_start(self):
        n = next(_seq)
        self.token = PLAN["reader_tokens"][n % len(PLAN["reader_tokens"])]
        self.rng = random.Random(n)
        self.pull_url = None
        self.feed_head = PLAN["feed_head"]
        self.catch_up = None
        self.etags: dict[str, str] = {}

    def _reader_row(self) -> dict:
        return self.rng.choice(PLAN["readers"])

    # --- lists ------------------------------------------------------------------
    @task(10)
    def pull_page(self):
        """The next cursor page of a full pull (each client resumes from a
        different point of the data set, as a pull started by
        ``updated_since`` would)."""
        if not self.pull_url:
            since = self.rng.choice(PLAN["pull_starts"])
            self.pull_url = f"/api/v1/customers/?page_size=100&updated_since={since}"
        body = self._get(self.pull_url, "GET /customers/ (pull page)",
                         check=lambda b: None if len(b["results"]) or b["next"] is None else "empty page")
        if body is not None:
            nxt = body["next"]
            self.pull_url = nxt[nxt.index("/api/"):] if nxt else None

    @task(8)
    def poll_updated_since(self):
        """A minute-by-minute poll for masters changed since the last one."""
        since = self.rng.choice(PLAN["poll_since"])
        self._get(f"/api/v1/customers/?updated_since={since}&page_size=100", "GET /customers/?updated_since",
                  check=lambda b: None if "results" in b else "no results")

    @task(7)
    def find_by_tax_id(self):
        row = self._reader_row()
        self._get(f"/api/v1/customers/?tax_id={row['tax_id']}&brief=1", "GET /customers/?tax_id",
                  check=lambda b: None if any(r["id"] == row["id"] for r in b["results"]) else "not found")

    # --- detail -----------------------------------------------------------------
    @task(25)
    def detail(self):
        row = self._reader_row()
        body = self._get(f"/api/v1/customers/{row['id']}/", "GET /customers/<id>/",
                         check=lambda b: None if b.get("id") == row["id"] and b.get("xrefs") else "wrong record")
        if body is not None:
            self.etags[row["id"]] = str(body["version"])

    @task(10)
    def detail_revalidate(self):
        """A client that cached the record asks whether it changed."""
        row = self._reader_row()
        self._get(f"/api/v1/customers/{row['id']}/", "GET /customers/<id>/ If-None-Match", ok=(200, 304),
                  check=lambda b: None if b.get("id") == row["id"] else "wrong record",
                  **{"If-None-Match": f'"{row["version"]}"'})

    # --- cross-references -------------------------------------------------------------
    @task(25)
    def xref(self):
        row = self._reader_row()
        self._get(f"/api/v1/xref/?system=crm&source_id={row['source_id']}", "GET /xref/",
                  check=lambda b: None if b.get("golden_id") == row["id"] else "wrong golden")

    # --- change feed -------------------------------------------------------------------
    @task(10)
    def feed_head(self):
        """The minute poll at the head of the feed: usually little or nothing new."""
        body = self._get(f"/api/v1/changes/?after={self.feed_head}", "GET /changes/ (head)",
                         check=lambda b: None if "cursor" in b else "no cursor")
        if body is not None:
            self.feed_head = body["cursor"]

    @task(5)
    def feed_catch_up(self):
        """A consumer catching up through older events, 100 a page."""
        if self.catch_up is None:
            self.catch_up = self.rng.randrange(PLAN["feed_tail"], max(PLAN["feed_tail"] + 1, PLAN["feed_head"] - 1000))
        body = self._get(f"/api/v1/changes/?after={self.catch_up}&limit=100", "GET /changes/ (catch-up)",
                         check=lambda b: None if b["results"] else "empty catch-up page")
        if body is not None:
            self.catch_up = int(body["cursor"]) if body["next"] else None


class SourceSystemWriter(_Client):
    """A source system sending its records one at a time as they change."""

    fixed_count = PLAN.get("users", {}).get("writers", 0)

    def on_start(self):
        n = next(_seq)
        self.rng = random.Random(1000 + n)
        self.system = "erp" if n % 2 == 0 else "crm"
        self.token = PLAN["writer_tokens"][self.system][n % len(PLAN["writer_tokens"][self.system])]
        self.mine: list[dict] = []  # records this client sent, for later changes
        self.n = n

    def _post(self, record: dict, name: str, expect: str) -> dict | None:
        with self.client.post("/api/v1/source-records/", data=orjson.dumps(record), name=name,
                              headers=self._headers(**{"Content-Type": "application/json"}),
                              catch_response=True) as r:
            if r.status_code not in (200, 201):
                r.failure(f"{r.status_code}: {(r.text or '')[:200]}")
                return None
            body = orjson.loads(r.content)
            if body.get("outcome") != expect:
                r.failure(f"expected {expect}, got {body.get('outcome')}")
                return None
            return body

    def _next_id(self) -> str:
        return f"{self.system.upper()}-{RUN}-{self.n}-{len(self.mine)}-{self.rng.randrange(10**9)}"

    def _record(self, source_id: str, company: dict, **changes) -> dict:
        return {"entity_type": "customer", "source_id": source_id, "data": {**company[self.system], **changes}}

    @task(4)
    def new_record(self):
        """A company the hub has never seen: matching finds no golden, a new one starts."""
        record = self._record(self._next_id(), self.rng.choice(PLAN["new_companies"]))
        if self._post(record, "POST /source-records/ (new)", "created") is not None:
            self.mine.append(record)

    @task(3)
    def known_company(self):
        """A company the hub already has: the CRM edits the account it sent
        (the approved golden changes); the ERP sends its own record of it
        (matched in real time)."""
        if not PLAN["writers"]:
            return self.new_record()
        c = PLAN["writers"].pop(self.rng.randrange(len(PLAN["writers"])))
        if self.system == "crm":
            city = f"{c['crm']['BillingCity']} {self.rng.randrange(2, 99)}"
            record = self._record(c["source_id"], c, BillingCity=city)
            self._post(record, "POST /source-records/ (changed)", "updated")
            return
        record = self._record(self._next_id(), c)
        if self._post(record, "POST /source-records/ (matched)", "created") is not None:
            self.mine.append(record)

    @task(3)
    def changed_record(self):
        """One of this system's records again, with a field changed."""
        if not self.mine:
            return self.new_record()
        record = self.rng.choice(self.mine)
        data = dict(record["data"])
        if self.system == "erp":
            data["payment_terms"] = self.rng.choice(("NET14", "NET45", "NET60")) if data.get(
                "payment_terms") == "NET30" else "NET30"
        else:
            data["Phone"] = f"+44 20 {self.rng.randrange(1000, 9999)} {self.rng.randrange(1000, 9999)}"
        record["data"] = data
        self._post(record, "POST /source-records/ (changed)", "updated")
