"""A Python process for the `heapsnap dump --pid` tests to attach to.

    python target.py MODE DIR [COUNT]

MODE is what the main thread does: busy (a pure-Python loop that makes no
system call), sleep (time.sleep in a loop), pipe (blocked reading DIR/fifo,
one iteration per byte written to it), threads (four worker threads doing
busy, sleep, lock-wait and pipe-less I/O wait while main waits in join),
longsleep (one time.sleep(600)), sleepbusy (main thread in one
time.sleep(600), a worker thread busy in pure Python on slot 1; its native
thread id goes to DIR/busy_tid).

It keeps COUNT (default 4321) instances of AttachMarker alive, and shows
progress without system calls: every loop bumps its own 8-byte counter in
the shared file DIR/progress (mmap), so the test can check it advances.
The busy loops verify float and integer invariants each turn; a corrupted
register would make them write DIR/corrupt and exit 3.  On SIGUSR1 it
writes DIR/report: sys.path, heapsnap modules, thread count and names.
It writes DIR/ready once all of this is set up.  TARGET_NONDUMPABLE=1 in
the environment makes it call prctl(PR_SET_DUMPABLE, 0) first;
TARGET_NO_THREADING=1 keeps it from importing threading (not with MODE
threads), as a program that never uses threads.
"""

import json
import mmap
import os
import signal
import struct
import sys
import time

if os.environ.get("TARGET_NO_THREADING") != "1":
    import threading

MODE, DIR = sys.argv[1], sys.argv[2]
COUNT = int(sys.argv[3]) if len(sys.argv) > 3 else 4321
SLOTS = 8


class AttachMarker:
    def __init__(self, n):
        self.n = n


markers = [AttachMarker(i) for i in range(COUNT)]

with open(os.path.join(DIR, "progress"), "wb") as f:
    f.write(b"\0" * 8 * SLOTS)
progress_fd = os.open(os.path.join(DIR, "progress"), os.O_RDWR)
progress = mmap.mmap(progress_fd, 8 * SLOTS)


def bump(slot, value):
    progress[slot * 8:slot * 8 + 8] = struct.pack("<Q", value)


def corrupt(what):
    with open(os.path.join(DIR, "corrupt"), "w") as f:
        f.write(what + "\n")
    os._exit(3)


def busy(slot):
    i, x, acc = 0, 0.5, 0
    while True:
        i += 1
        x = x * 1.0000001 + 0.25
        y = x - 0.25
        if not (y < x) or x != x:
            corrupt("float %r %r" % (x, y))
        acc += i & 7
        if i % 20000 == 0:
            if acc != i // 8 * 28:  # 1..8 & 7 sums to 28
                corrupt("int %d %d" % (acc, i))
            if x > 1e300:
                x = 0.5
            bump(slot, i)


def sleeper(slot, seconds):
    i = 0
    while True:
        start = time.monotonic()
        time.sleep(seconds)
        if time.monotonic() - start < seconds * 0.99:
            corrupt("sleep returned early")
        i += 1
        bump(slot, i)


def pipe_reader(slot):
    fd = os.open(os.path.join(DIR, "fifo"), os.O_RDONLY)
    i = 0
    while True:
        data = os.read(fd, 1)
        if not data:
            break
        i += 1
        bump(slot, i)


def lock_waiter(slot):
    lock = threading.Lock()
    lock.acquire()
    i = 0
    while True:
        lock.acquire(timeout=0.05)  # never released: a futex wait
        i += 1
        bump(slot, i)


def report(signum, frame):
    data = {
        "path": list(sys.path),
        "heapsnap_modules": sorted(m for m in sys.modules
                                   if "heapsnap" in m),
        "threads": (sys.modules["threading"].active_count()
                    if "threading" in sys.modules else None),
        "tasks": len(os.listdir("/proc/self/task")),
        "cache": sorted(k for k in sys.path_importer_cache
                        if "heapsnap" in k),
    }
    tmp = os.path.join(DIR, "report.tmp")
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.rename(tmp, os.path.join(DIR, "report"))


signal.signal(signal.SIGUSR1, report)

if os.environ.get("TARGET_NONDUMPABLE") == "1":
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE

if MODE == "threads":
    workers = [
        threading.Thread(target=busy, args=(1,), daemon=True),
        threading.Thread(target=sleeper, args=(2, 0.02), daemon=True),
        threading.Thread(target=lock_waiter, args=(3,), daemon=True),
        threading.Thread(target=busy, args=(4,), daemon=True),
    ]
    for w in workers:
        w.start()

if MODE == "sleepbusy":
    worker = threading.Thread(target=busy, args=(1,), daemon=True)
    worker.start()
    with open(os.path.join(DIR, "busy_tid"), "w") as f:
        f.write("%d\n" % worker.native_id)

with open(os.path.join(DIR, "ready"), "w") as f:
    f.write("%d\n" % os.getpid())

if MODE == "busy":
    busy(0)
elif MODE == "sleep":
    sleeper(0, 0.05)
elif MODE in ("longsleep", "sleepbusy"):
    time.sleep(600)
elif MODE == "pipe":
    pipe_reader(0)
elif MODE == "threads":
    turns = 0
    while True:
        workers[0].join(0.05)
        turns += 1
        bump(0, turns)
else:
    sys.exit("unknown mode " + MODE)
