"""A reference receiving side for the signed webhook, small enough to read:
it verifies the signature, applies each Idempotency-Key once (a repeat gets
the first answer again), ignores versions older than the one it holds, and
answers with its own id for the record (which the hub keeps and sends back
as ``target_id``).  The tests, ``bench_sync`` and ``fault_test_sync`` run it
on 127.0.0.1 and read its counters; faults can be switched on at run time.

    rx = Receiver(secret="s3cret").start()   # rx.url → http://127.0.0.1:<port>/hook
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sync.connectors.webhook.connector import SIGNATURE_HEADER, verify


class Receiver:
    def __init__(self, secret: str, *, port: int = 0, reject=None):
        self.secret = secret
        self.port = port
        self.reject = reject  # callable(body dict) -> message or None: a business rejection (422)
        self.mode = "ok"  # ok | fail500 | timeout | 429
        self.hang_seconds = 15.0
        self.lock = threading.Lock()
        self.applied: dict[str, dict] = {}  # Idempotency-Key → first answer and what it did
        self.versions: dict[str, list[int]] = {}  # golden id → versions applied, in order
        self.first_seen: dict[tuple, float] = {}  # (golden id, version) → time received
        self.target_ids: dict[str, str] = {}
        self.requests = 0
        self.duplicates = 0
        self.bad_signatures = 0
        self.truncated = 0  # requests whose body ended before its Content-Length (the sender died)
        self.rejected = 0
        self.stale_ignored = 0
        self.failed_on_purpose = 0
        self._server = None

    # --- control -------------------------------------------------------------
    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stall between header and body writes

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:  # the sender went away mid-body (a killed worker): nothing to verify
                    with receiver.lock:
                        receiver.truncated += 1
                    self.close_connection = True
                    return
                status, answer, extra_headers = receiver.handle(body, self.headers)
                if status is None:  # hang up without answering (a timeout for the caller)
                    self.close_connection = True
                    return
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in extra_headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    # --- the receiving side ---------------------------------------------------
    def handle(self, body: bytes, headers) -> tuple:
        now = time.time()
        with self.lock:
            self.requests += 1
        if not verify(self.secret, body, headers.get(SIGNATURE_HEADER, "")):
            with self.lock:
                self.bad_signatures += 1
            return 401, {"message": "bad signature"}, {}
        key = headers.get("Idempotency-Key", "")
        mode = self.mode
        if mode == "fail500":
            with self.lock:
                self.failed_on_purpose += 1
            return 500, {"message": "internal error (injected)"}, {}
        if mode == "429":
            with self.lock:
                self.failed_on_purpose += 1
            return 429, {"message": "slow down"}, {"Retry-After": "1"}
        if mode == "timeout":
            with self.lock:
                self.failed_on_purpose += 1
            time.sleep(self.hang_seconds)
            return None, None, {}
        msg = json.loads(body)
        with self.lock:
            if key in self.applied:  # a repeat: the first answer again, no second side effect
                self.duplicates += 1
                first = self.applied[key]
                return first["status"], first["answer"], {}
            gid, version = msg["golden_id"], int(msg["version"])
            self.first_seen.setdefault((gid, version), now)
            reason = self.reject(msg) if self.reject else None
            if reason:
                self.rejected += 1
                answer = {"message": reason}
                self.applied[key] = {"status": 422, "answer": answer, "golden_id": gid, "version": version}
                return 422, answer, {}
            held = self.versions.setdefault(gid, [])
            if held and version < max(held):
                self.stale_ignored += 1
            held.append(version)
            tid = self.target_ids.setdefault(gid, f"T{len(self.target_ids) + 1:06d}")
            answer = {"id": tid, "version": version}
            self.applied[key] = {"status": 200, "answer": answer, "golden_id": gid, "version": version,
                                 "event": msg["event"], "at": now, "target_id_sent": msg.get("target_id")}
            return 200, answer, {}

    # --- what the tests read --------------------------------------------------
    def applied_versions(self, golden_id) -> list[int]:
        with self.lock:
            return list(self.versions.get(str(golden_id), []))

    def latest(self) -> dict[str, int]:
        with self.lock:
            return {gid: max(vs) for gid, vs in self.versions.items() if vs}
