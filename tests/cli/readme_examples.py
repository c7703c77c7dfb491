"""Runs the shell examples of README.md and checks what they print.

In every ```sh block, a line "$ CMD" is run with bash (heapsnap on PATH,
in a scratch folder that has the repository's examples/); the lines after
it, up to the next "$", are what it must print, in order but not
necessarily adjacent.  "..." stands for any text within a line, and a line
that is only "..." matches nothing in particular.  Commands must exit 0.

usage: python3 readme_examples.py README.md HEAPSNAP SCRATCH_DIR
Prints one TAP-ish line per command; exits 1 on the first failure.
"""

import os
import re
import subprocess
import sys


def blocks(text):
    for m in re.finditer(r"^```sh\n(.*?)^```", text, re.S | re.M):
        yield m.group(1).splitlines()


def examples(text):
    for lines in blocks(text):
        cmd, want = None, []
        for line in lines:
            if line.startswith("$ "):
                if cmd:
                    yield cmd, want
                cmd, want = line[2:], []
            elif cmd is not None:
                want.append(line)
        if cmd:
            yield cmd, want


def matches(pattern, line):
    parts = [re.escape(p) for p in pattern.split("...")]
    return re.fullmatch(".*".join(parts), line) is not None


def main():
    readme, heapsnap, scratch = sys.argv[1:4]
    root = os.path.dirname(os.path.abspath(readme))
    os.makedirs(scratch, exist_ok=True)
    bindir = os.path.join(scratch, "bin")
    os.makedirs(bindir, exist_ok=True)
    link = os.path.join(bindir, "heapsnap")
    if not os.path.exists(link):
        os.symlink(os.path.abspath(heapsnap), link)
    ex = os.path.join(scratch, "examples")
    if not os.path.exists(ex):
        os.symlink(os.path.join(root, "examples"), ex)
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ["PATH"])
    n = 0
    for cmd, want in examples(open(readme, encoding="utf-8").read()):
        n += 1
        p = subprocess.run(["bash", "-c", cmd], cwd=scratch, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True)
        out = p.stdout.splitlines()
        pos = 0
        missing = None
        for w in want:
            if w.strip() in ("", "..."):
                continue
            while pos < len(out) and not matches(w, out[pos]):
                pos += 1
            if pos == len(out):
                missing = w
                break
            pos += 1
        if p.returncode != 0 or missing is not None:
            print("not ok %d - %s" % (n, cmd))
            print("# exit status %d; missing line: %r" % (p.returncode, missing))
            for line in out[:40]:
                print("#   " + line)
            return 1
        print("ok %d - %s" % (n, cmd))
    if n == 0:
        print("not ok - README.md has no examples")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
