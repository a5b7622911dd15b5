"""The soak's clients (tests/bench/soak.py): mixed traffic on loopback, and what it wrote.

Each client is one thread with one keep-alive connection. It owns its environment
variables and its conversation, so what it wrote last is what must read back:
a reveal or a message page that disagrees is counted as a mismatch, not just an error.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import random
import secrets
import threading
import time
from dataclasses import dataclass, field

# kind -> weight: reads dominate, as on a real deployment
MIX = {"env_list": 18, "env_write": 10, "reveal": 8, "whoami_bearer": 14, "heartbeat_signed": 10,
       "message_write": 16, "message_read": 12}


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in MIX})
    errors: dict[str, int] = field(default_factory=dict)  # "<kind> <status or exception>" -> count
    server_errors: int = 0
    mismatches: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def error(self, kind: str, what: str) -> None:
        with self.lock:
            self.errors[f"{kind} {what}"] = self.errors.get(f"{kind} {what}", 0) + 1


@dataclass
class World:
    """What setup made: paths, credentials (in memory only) and each client's own rows."""

    scope: str  # /agent/v1/projects/<p>/environments/<e>/
    user_token: str
    entity_id: str
    entity_secret: str
    threads: list[str]  # one conversation per client


class Gate:
    """Lets the soak pause every client between requests (server restarts for the key swap)."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.open.set()
        self.stop = threading.Event()


class Client(threading.Thread):
    def __init__(self, index: int, *, port: int, world: World, stats: Stats, gate: Gate, seed: int) -> None:
        super().__init__(daemon=True)
        self.index, self.port, self.world, self.stats, self.gate = index, port, world, stats, gate
        self.rng = random.Random(seed)
        self.thread = world.threads[index]
        self.vars: dict[str, str] = {}  # name -> the value written last
        self.messages: dict[str, str] = {}  # id -> content written
        self.conn: http.client.HTTPConnection | None = None
        self.idle = threading.Event()

    # --- HTTP -----------------------------------------------------------------------
    def request(self, method: str, path: str, *, body=None, headers=None, raw: bytes | None = None):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        h = {"X-Forwarded-Proto": "https", **(headers or {})}
        if data is not None:
            h["Content-Type"] = "application/json"
        try:
            self.conn.request(method, path, body=data, headers=h)
            response = self.conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            raise
        return response.status, payload

    def user(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.world.user_token}"}

    # --- the kinds of traffic ------------------------------------------------------------
    def env_list(self):
        return self.request("GET", self.world.scope + "env-vars/?limit=100", headers=self.user()), 200

    def env_write(self):
        value = secrets.token_urlsafe(self.rng.randint(16, 96))
        name = f"SOAK_C{self.index:02d}_{self.rng.randint(0, 9):02d}"
        if name in self.vars:
            result = self.request("PATCH", self.world.scope + f"env-vars/{name}/", body={"value": value},
                                  headers=self.user())
            expected = 200
        else:
            result = self.request("POST", self.world.scope + "env-vars/", body={"name": name, "value": value},
                                  headers=self.user())
            expected = 201
        if result[0] == expected:
            self.vars[name] = value
        return result, expected

    def reveal(self, name: str | None = None):
        if not self.vars:
            return self.env_write()
        name = name or self.rng.choice(sorted(self.vars))
        status, payload = self.request("POST", self.world.scope + f"env-vars/{name}/reveal/",
                                       body={"reason": "soak read-back"}, headers=self.user())
        if status == 200 and json.loads(payload)["value"] != self.vars[name]:
            self.mismatch(f"reveal {name}: not the value written last")
        return (status, payload), 200

    def _entity(self) -> dict[str, str]:
        return {"X-Platos-Entity": self.world.entity_id}

    def whoami_bearer(self):
        headers = {**self._entity(), "Authorization": f"Bearer {self.world.entity_secret}"}
        return self.request("GET", "/agent/v1/entity/whoami", headers=headers), 200

    def heartbeat_signed(self):
        body = json.dumps({"status": "ok", "client": self.index}).encode()
        ts, nonce = str(int(time.time())), secrets.token_urlsafe(18)
        signature = hmac.new(self.world.entity_secret.encode(), f"{ts}.{nonce}.".encode() + body,
                             hashlib.sha256).hexdigest()
        headers = {**self._entity(), "X-Platos-Timestamp": ts, "X-Platos-Nonce": nonce,
                   "X-Platos-Signature": signature}
        return self.request("POST", "/agent/v1/entity/heartbeat", raw=body, headers=headers), 200

    def message_write(self):
        content = "".join(self.rng.choices("abcdefghijklmnopqrstuvwxyz ÄÖÜéß€漢字🙂\n", k=self.rng.randint(50, 2048)))
        status, payload = self.request("POST", f"/agent/v1/threads/{self.thread}/messages/",
                                       body={"role": self.rng.choice(["user", "assistant"]), "content": content},
                                       headers=self.user())
        if status == 201:
            self.messages[json.loads(payload)["id"]] = content
        return (status, payload), 201

    def message_read(self):
        status, payload = self.request("GET", f"/agent/v1/threads/{self.thread}/messages/?limit=50",
                                       headers=self.user())
        if status == 200:
            for item in json.loads(payload)["results"]:
                if item["id"] in self.messages and item["content"] != self.messages[item["id"]]:
                    self.mismatch(f"message {item['id']}: content differs from what was written")
        return (status, payload), 200

    def mismatch(self, what: str) -> None:
        with self.stats.lock:
            self.stats.mismatches.append(what)

    # --- the loop ------------------------------------------------------------------------
    def run(self) -> None:
        kinds, weights = list(MIX), list(MIX.values())
        while not self.gate.stop.is_set():
            if not self.gate.open.is_set():
                if self.conn is not None:
                    self.conn.close()
                    self.conn = None
                self.idle.set()
                self.gate.open.wait(0.2)
                continue
            self.idle.clear()
            kind = self.rng.choices(kinds, weights)[0]
            start = time.perf_counter()
            try:
                (status, _), expected = getattr(self, kind)()
            except (OSError, http.client.HTTPException) as exc:
                self.stats.error(kind, type(exc).__name__)
                continue
            elapsed = time.perf_counter() - start
            with self.stats.lock:
                self.stats.latencies[kind].append(elapsed)
                if status >= 500:
                    self.stats.server_errors += 1
            if status != expected:
                self.stats.error(kind, str(status))
        self.idle.set()
