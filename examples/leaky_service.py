"""A small request-handling service with a memory leak, for `make demo`.

Each request is kept in a module-level log "for debugging" that nobody ever
trims: after a while the log holds every request ever served, with its
headers and body.  The rest of the program is well behaved: sessions expire,
listeners are weakly held, a worker thread holds its own buffer.

Run it under heapsnap and ask why the requests are still alive:

    heapsnap dump -o leaky.db -- python3 examples/leaky_service.py
    heapsnap why -f leaky.db LeakedRequest

With --midway it also asks for a snapshot (SIGUSR2) halfway through, so
that `heapsnap diff leaky.1.db leaky.db` shows what the second half added.
"""

import os
import signal
import sys
import threading
import weakref


class LeakedRequest:
    """One handled request (the leaking type)."""

    def __init__(self, rid, path, body):
        self.rid = rid
        self.path = path
        self.headers = {"Host": "shop.example", "X-Request-Id": "r-%d" % rid}
        self.body = body


class Session:
    def __init__(self, user):
        self.user = user
        self.cart = []


class EventBus:
    """Listeners are held weakly, as they should be."""

    def __init__(self):
        self._listeners = weakref.WeakSet()

    def subscribe(self, listener):
        self._listeners.add(listener)


REQUEST_LOG = {}      # the leak: every request ever served, never trimmed
SESSIONS = {}         # expire after each request: not a leak
BUS = EventBus()


def handle(rid):
    session = SESSIONS.setdefault(rid % 50, Session("user%d" % (rid % 50)))
    request = LeakedRequest(rid, "/cart/%d" % (rid % 97), b"x" * 64)
    session.cart.append(rid)
    REQUEST_LOG[request.rid] = request        # "for debugging"
    if len(session.cart) > 10:
        del SESSIONS[rid % 50]


def worker(ready, stop):
    scratch = [bytearray(256) for _ in range(20)]   # a live local
    ready.set()
    stop.wait()
    return len(scratch)


def main():
    ready, stop = threading.Event(), threading.Event()
    thread = threading.Thread(target=worker, args=(ready, stop),
                              name="scratch-worker")
    thread.start()
    ready.wait()
    for rid in range(20000):
        handle(rid)
        if rid == 9999 and "--midway" in sys.argv:
            os.kill(os.getpid(), signal.SIGUSR2)
    print("served %d requests; %d still logged" % (20000, len(REQUEST_LOG)))
    stop.set()
    thread.join()


if __name__ == "__main__":
    main()
