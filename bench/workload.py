"""A deterministic, service-like heap for benchmarks.

build(scale) returns a Service holding about scale * 1,300,000 objects,
scale * 100,000 of them LeakedRequest:
users, sessions, requests with headers and bodies, a request cache that
never evicts (the "leak"), listeners as bound methods, parent/child cycles.
Shared by the agent benchmark (bench_dump.py), the analyzer benchmark and
objgraph's run, so every tool measures the same heap.
"""

import random


class User:
    def __init__(self, uid, rnd):
        self.uid = uid
        self.name = "user-%d" % uid
        self.email = "user%d@example.com" % uid
        self.roles = ("reader", "writer") if uid % 3 else ("admin",)
        self.prefs = {"theme": "dark" if uid % 2 else "light",
                      "lang": rnd.choice(("en", "de", "fr", "ja"))}


class Session:
    def __init__(self, sid, user):
        self.sid = sid
        self.user = user
        self.data = {"visits": 0, "cart": []}


class LeakedRequest:
    def __init__(self, rid, user, rnd):
        self.rid = rid
        self.path = "/api/v1/items/%d" % rnd.randrange(100000)
        self.headers = {"Host": "example.com", "Accept": "*/*",
                        "X-Request-Id": "req-%d" % rid,
                        "User-Agent": "bench/1.0",
                        "Cookie": "sid=%d" % rnd.randrange(10 ** 6)}
        self.body = bytes(rnd.randrange(256) for _ in range(16))
        self.user = user
        self.tags = ["t%d" % rnd.randrange(50), "t%d" % rnd.randrange(50)]
        self.created = rnd.random() * 1e9
        self.parent = None
        self.children = []


class Service:
    def __init__(self):
        self.users = {}
        self.sessions = {}
        self.cache = {}          # request id -> LeakedRequest, never evicted
        self.listeners = []

    def on_event(self, event):
        return event


def build(scale=1.0, seed=1):
    rnd = random.Random(seed)
    svc = Service()
    nusers = max(10, int(5000 * scale))
    nreq = max(100, int(100000 * scale))
    for uid in range(nusers):
        svc.users[uid] = User(uid, rnd)
    for s in range(nusers):
        sid = "sess-%08x" % rnd.getrandbits(32)
        svc.sessions[sid] = Session(sid, svc.users[s])
    prev = None
    for rid in range(nreq):
        req = LeakedRequest(rid, svc.users[rnd.randrange(nusers)], rnd)
        if prev is not None and rid % 4:
            req.parent = prev
            prev.children.append(req)
        else:
            prev = req
        svc.cache["req-%d" % rid] = req
    for _ in range(100):
        svc.listeners.append(svc.on_event)
    return svc


def target(svc):
    """The object every tool is asked about: a request in the middle of
    the cache (the same one in every process, the workload being
    deterministic)."""
    return svc.cache["req-%d" % (len(svc.cache) // 2)]
