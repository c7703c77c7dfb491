"""heapsnap bootstrap, first on PYTHONPATH under `heapsnap dump -- ...`.

Python imports this at startup.  It starts heapsnap as the command line
asked, then hands over to the program's own sitecustomize, if any, which
this module would otherwise hide.
"""


def _heapsnap_boot():
    import importlib.util
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    try:
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
del _heapsnap_boot
