"""heapsnap bootstrap, first on PYTHONPATH under `heapsnap dump -- ...`.

Python imports this at startup, in the program and in every Python
process it starts (the environment carries PYTHONPATH to them).  It starts
heapsnap as the command line asked, then hands over to the program's own
sitecustomize, if any, which this module would otherwise hide.  A
descendant running another Python takes the agent built for its version
next to this one (build/py3.13.18/), if there is one.
"""


def _heapsnap_agent_for_this_python(os, sys, agent):
    """Puts the agent folder built for this interpreter in place of
    `agent` (the one PYTHONPATH names) on sys.path.  Folders are named by
    interpreter key (tools/pythons.sh): py3.13.18, py3.13.0t.  The rule is
    the inspector's (hs_agent_dir in inspector/launch.c): the exact version
    and ABI flags, else the newest older micro of this minor version, else
    the oldest newer one; only a folder holding this Python's extension.
    Returns the folder the agent is to come from."""
    import sysconfig

    ext = "_heapsnap" + (sysconfig.get_config_var("EXT_SUFFIX") or ".so")
    major, minor, micro = sys.version_info[:3]
    head = "py%d.%d" % (major, minor)
    flags = getattr(sys, "abiflags", "")

    def rank(name):
        if name == head:
            return 0
        if not name.startswith(head + "."):
            return -1
        rest = name[len(head) + 1:]
        n = len(rest) - len(rest.lstrip("0123456789"))
        if n == 0 or rest[n:] != flags:
            return -1
        m = int(rest[:n])
        if m == micro:
            return 4000
        return 2000 + m if m < micro else 2000 - m

    parent = os.path.dirname(agent)
    try:
        names = os.listdir(parent)
    except OSError:
        return agent
    best, best_rank = None, -1
    for name in names:
        r = rank(name)
        if r > best_rank and \
                os.path.exists(os.path.join(parent, name, "heapsnap", ext)):
            best, best_rank = os.path.join(parent, name), r
    if best is not None and best != agent:
        sys.path[:] = [best if os.path.abspath(p or os.curdir) == agent
                       else p for p in sys.path]
        return best
    return agent


def _heapsnap_import(os, sys, agent):
    """Imports heapsnap from `agent`, the folder PYTHONPATH names the boot
    in.  make's py<KEY> folders are on PYTHONPATH themselves (a descendant
    of another version has had its own put there): a plain import finds
    them.  A Python's site-packages that `heapsnap dump` chose is kept off
    PYTHONPATH, where it would come before the standard library: when
    this Python's import system would not find that package (another
    interpreter than the one it was installed for, or another heapsnap
    first), it is loaded from there by path, as module "heapsnap"."""
    import importlib.util
    import sysconfig

    pkg = os.path.join(agent, "heapsnap")
    ext = os.path.join(pkg, "_heapsnap" +
                       (sysconfig.get_config_var("EXT_SUFFIX") or ".so"))
    spec = importlib.util.find_spec("heapsnap")
    where = spec and spec.submodule_search_locations
    if not os.path.exists(ext) or (
            where and os.path.realpath(list(where)[0]) ==
            os.path.realpath(pkg)):
        import heapsnap
        return heapsnap
    spec = importlib.util.spec_from_file_location(
        "heapsnap", os.path.join(pkg, "__init__.py"),
        submodule_search_locations=[pkg])
    module = importlib.util.module_from_spec(spec)
    sys.modules["heapsnap"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop("heapsnap", None)
        raise
    return module


def _heapsnap_boot():
    import importlib.util
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    try:
        agent = _heapsnap_agent_for_this_python(
            os, sys, os.path.dirname(os.path.dirname(here)))
        _heapsnap_import(os, sys, agent)._start_from_environment()
    except Exception as e:  # never break the program
        sys.stderr.write("heapsnap: error: cannot start the agent: %s\n" % e)
    sys.path[:] = [p for p in sys.path
                   if os.path.abspath(p or os.curdir) != here]
    # The import that is running this file expects sys.modules to hold a
    # "sitecustomize" when it returns: the program's own, or this one.
    me = sys.modules.pop("sitecustomize", None)
    spec = importlib.util.find_spec("sitecustomize")
    if spec is not None and spec.origin and \
            os.path.dirname(os.path.abspath(spec.origin)) != here:
        module = importlib.util.module_from_spec(spec)
        sys.modules["sitecustomize"] = module
        spec.loader.exec_module(module)
    else:
        sys.modules["sitecustomize"] = me


_heapsnap_boot()
del _heapsnap_boot, _heapsnap_agent_for_this_python, _heapsnap_import
