"""heapsnap.track() and @heapsnap.profile: the objects a block (a call)
allocated that are alive after it, with their allocation lines; freed
ones are not there; tracemalloc is left as it was."""

import os
import textwrap

from hstest import AgentTest


class TrackTest(AgentTest):

    def program(self, text):
        p = os.path.join(self.tmp, "prog.py")
        with open(p, "w") as f:
            f.write(textwrap.dedent(text).lstrip("\n"))
        return p

    def run_program(self, text, env=None):
        p = self.program(text)
        return self.run_child("import runpy; runpy.run_path(%r, "
                              "run_name='__main__')" % p, env=env)

    def test_survivors_and_their_line(self):
        """Kept objects are reported at the line that made them; the ones
        freed inside the block are not survivors; tracing is off again."""
        out = self.run_program("""
            import tracemalloc
            import heapsnap

            class Request:
                pass

            class Temp:
                pass

            kept = []
            def handle(n):
                kept.append(Request())
                tmp = [Temp() for _ in range(30)]
                return len(tmp)

            assert not tracemalloc.is_tracing()
            with heapsnap.track() as t:
                for i in range(40):
                    handle(i)
            assert not tracemalloc.is_tracing()
            rows = [r for r in t.survivors if r["type"] == "__main__.Request"]
            assert rows == [{"type": "__main__.Request", "count": 40,
                             "bytes": 40 * rows[0]["bytes"] // 40,
                             "site": __file__ + ":12"}], t.survivors
            assert not [r for r in t.survivors
                        if r["type"] == "__main__.Temp"], t.survivors
            text = str(t)
            assert "__main__.Request" in text and __file__ + ":12" in text
            why = t.why("Request")
            assert why.startswith("The 40 new __main__.Request objects are "
                                  "alive because:"), why
            assert "kept" in why and "list [*] → Request" in why, why
            print("track ok")
            """)
        self.assertIn("track ok", out)

    def test_closure_leak_line_and_path(self):
        """A function leaking through a closure: the allocation line and
        the path through the closure cell."""
        out = self.run_program("""
            import heapsnap

            class Event:
                pass

            def make_listener():
                seen = []
                def listen(e):
                    seen.append(Event())
                return listen

            listener = make_listener()
            with heapsnap.track() as t:
                for i in range(25):
                    listener(i)
            rows = [r for r in t.survivors if r["type"] == "__main__.Event"]
            assert rows and rows[0]["count"] == 25, t.survivors
            assert rows[0]["site"] == __file__ + ":9", rows
            why = t.why("Event")
            assert "closure seen" in why and "list [*] → Event" in why, why
            print("closure ok")
            """)
        self.assertIn("closure ok", out)

    def test_already_tracing_is_left_alone(self):
        out = self.run_program("""
            import tracemalloc
            tracemalloc.start(7)
            import heapsnap

            class Thing:
                pass

            keep = []
            with heapsnap.track() as t:
                keep.append(Thing())
            assert tracemalloc.is_tracing()
            assert tracemalloc.get_traceback_limit() == 7
            rows = [r for r in t.survivors if r["type"] == "__main__.Thing"]
            assert rows[0]["site"] == __file__ + ":10", rows
            print("left alone")
            """)
        self.assertIn("left alone", out)

    def test_profile_table(self):
        """@heapsnap.profile: each line of the function with the objects
        allocated there that are alive when it returns; the return value
        counts, the temporaries do not."""
        out = self.run_program("""
            import io
            import heapsnap

            class Row:
                pass

            STORE = []
            buf = io.StringIO()

            @heapsnap.profile(stream=buf)
            def work(n):
                rows = [Row() for _ in range(n)]
                junk = [Row() for _ in range(100)]
                STORE.append(rows)
                return Row()

            r = work(12)
            table = buf.getvalue()
            lines = {int(l.split()[0]): l for l in table.splitlines()[4:]
                     if l.strip() and l.split()[0].isdigit()}
            assert lines[12].split()[1] in ("12", "13"), table  # + the list
            assert len(lines[13].split()) == 1 + len(
                "junk = [Row() for _ in range(100)]".split()), table
            assert lines[15].split()[1] == "1", table
            print(table)
            """, env={"PYTHONTRACEMALLOC": "25"})
        self.assertIn("work(): objects allocated by the call", out)


if __name__ == "__main__":
    import unittest
    unittest.main()
