"""heapsnap bootstrap, first on PYTHONPATH under `heapsnap dump -- ...`.

Python imports this at startup, in the program and in every Python
process it starts (the environment carries PYTHONPATH to them).  It starts
heapsnap as the command line asked, then hands over to the program's own
sitecustomize, if any, which this module would otherwise hide.  A
descendant running another Python version takes the agent built for its
version next to this one (build/py3.X/), if there is one.
"""


def _heapsnap_agent_for_this_python(os, sys, agent):
    """Puts the agent folder built for this interpreter in place of
    `agent` (the one PYTHONPATH names) on sys.path, if `agent` holds no
    extension for it and a sibling folder does."""
    import sysconfig

    ext = "_heapsnap" + (sysconfig.get_config_var("EXT_SUFFIX") or ".so")
    if os.path.exists(os.path.join(agent, "heapsnap", ext)):
        return
    parent = os.path.dirname(agent)
    mine = "py%d.%d" % sys.version_info[:2]
    try:
        names = sorted(os.listdir(parent), key=lambda n: n != mine)
    except OSError:
        return
    for name in names:
        cand = os.path.join(parent, name)
        if name.startswith("py") and \
                os.path.exists(os.path.join(cand, "heapsnap", ext)):
            sys.path[:] = [cand if os.path.abspath(p or os.curdir) == agent
                           else p for p in sys.path]
            return


def _heapsnap_boot():
    import importlib.util
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    try:
        _heapsnap_agent_for_this_python(
            os, sys, os.path.dirname(os.path.dirname(here)))
        import heapsnap
        heapsnap._start_from_environment()
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
del _heapsnap_boot, _heapsnap_agent_for_this_python
