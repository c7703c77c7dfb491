# remote_payload.py: the script `heapsnap dump --pid` asks a CPython 3.14+
# thread to run through remote debugging (PEP 768; inspector/attach.c).
# The interpreter runs it in a fresh namespace at that thread's next
# eval-breaker check, with the GIL held.  heapsnap writes the job in front
# of this text:
#   _heapsnap_job = (STATUS, CLAIMED, AGENT_DIR, OUTPUT, COLLECT, REDACT, FORK)
# the four paths as hex-encoded bytes, so that no path needs quoting.
#
# It claims the status file by renaming STATUS to CLAIMED; if heapsnap has
# taken the request back meanwhile (STATUS is gone) it leaves at once.
# Then it reports on CLAIMED like the ptrace loader (inject/inject.c):
#   "thread TID NS"  "gil NS"  "ok OBJECTS EDGES SECONDS" | "fail MESSAGE"
#   "end NS"   (NS: CLOCK_MONOTONIC nanoseconds)
# except that once the walk is over it writes "walked NS" and returns to
# the program: the agent's own thread finishes the file and writes the
# result and "end" lines (agent/finisher.c).
# It loads the agent by absolute path under a private module name, so that
# a `heapsnap` the program imported itself is neither reused nor replaced,
# and removes that module and its importer-cache entry again.  Every error
# is caught: nothing reaches the target's stderr.


def _heapsnap_remote(status, claimed, agent_dir, output, collect, redact,
                     fork):
    import os
    import sys
    import _thread

    status, claimed, agent_dir, output = [
        os.fsdecode(bytes.fromhex(x))
        for x in (status, claimed, agent_dir, output)]
    try:
        os.rename(status, claimed)
    except OSError:
        return  # taken back by heapsnap: do nothing
    fd = os.open(claimed, os.O_WRONLY | os.O_APPEND)
    import time

    def report(line):
        os.write(fd, (line + "\n").encode("utf-8", "replace"))

    tid = _thread.get_native_id()
    name = "_heapsnap_attach_%d" % tid
    pkg = agent_dir + "/heapsnap"
    had_cache = pkg in sys.path_importer_cache
    tail_reports = False
    try:
        report("thread\t%d\t%d" % (tid, time.monotonic_ns()))
        report("gil\t%d" % time.monotonic_ns())
        try:
            boot = sys.modules["_frozen_importlib"]
            ext = sys.modules["_frozen_importlib_external"]
            spec = ext.spec_from_file_location(
                name, pkg + "/__init__.py",
                submodule_search_locations=[pkg])
            mod = boot.module_from_spec(spec)
            sys.modules[name] = mod
            spec.loader.exec_module(mod)
            r = mod._attach_dump(output, collect, redact, fork,
                                 method="pep768", status_fd=fd)
            if r.get("background"):
                # The walk is over: this thread goes back to the program
                # and the agent's thread reports the result and the end.
                tail_reports = True
                report("walked\t%d" % time.monotonic_ns())
            else:
                report("ok\t%d\t%d\t%.6f" % (r["objects"], r["edges"],
                                            r["seconds"]))
        except BaseException as e:
            msg = " ".join(str(e).split()) or type(e).__name__
            report("fail\t%s: %s" % (type(e).__name__, msg))
        finally:
            for k in [k for k in sys.modules
                      if k == name or k.startswith(name + ".")]:
                sys.modules.pop(k, None)
            if not had_cache:
                sys.path_importer_cache.pop(pkg, None)
    finally:
        try:
            if not tail_reports:
                report("end\t%d" % time.monotonic_ns())
        finally:
            os.close(fd)


try:
    _heapsnap_remote(*_heapsnap_job)
except BaseException:
    pass  # nothing may reach the target's stderr
finally:
    del _heapsnap_remote, _heapsnap_job
