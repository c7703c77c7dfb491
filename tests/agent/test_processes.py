"""Which thread is main and which process writes which file: the main
thread comes from the interpreter (not from the threading module, which a
process may never import), and a child made by os.fork() after install()
snapshots on the signal into files named with its own pid."""

import unittest

from hstest import AgentTest


class ProcessTest(AgentTest):

    def test_main_thread_without_threading(self):
        # Dumped from a thread started with _thread in a process that
        # never imported threading (-S: no .pth file imports it either):
        # the main thread is still the main one.
        out = self.run_child("""
            import _thread, os, sqlite3, sys, time
            import heapsnap
            assert "threading" not in sys.modules
            done = []
            def dumper():
                heapsnap.dump("t.db")
                done.append(_thread.get_ident())
            main = _thread.get_ident()
            _thread.start_new_thread(dumper, ())
            while not done:
                time.sleep(0.01)
            rows = sqlite3.connect("t.db").execute(
                "SELECT ident, is_main, is_dumper FROM threads").fetchall()
            assert "threading" not in sys.modules
            print(sorted(rows) == sorted([(main, 1, 0), (done[0], 0, 1)]),
                  rows)
        """, flags=["-S"])
        self.assertTrue(out.startswith("True"), out)

    def test_fork_child_keeps_the_handler_with_its_own_names(self):
        out = self.run_child("""
            import os, signal, sqlite3, time
            import heapsnap
            base = heapsnap.install(path="sig.db")
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(r)
                os.kill(os.getpid(), signal.SIGUSR2)
                os.write(w, b"x")
                os._exit(0)
            os.close(w)
            os.read(r, 1)
            status = os.waitpid(pid, 0)[1]
            os.kill(os.getpid(), signal.SIGUSR2)
            heapsnap.wait()  # the handler returned after the walk
            child = "sig-%d.1.db" % pid
            print(status, sorted(f for f in os.listdir(".")
                                 if f.endswith(".db")) ==
                  sorted(["sig.1.db", child]),
                  str(sqlite3.connect(child).execute(
                      "SELECT value FROM meta WHERE key = 'pid'").fetchone()[0])
                  == str(pid), base == os.path.abspath("sig.db"))
        """)
        self.assertEqual(out.split()[:4], ["0", "True", "True", "True"], out)


if __name__ == "__main__":
    unittest.main()
