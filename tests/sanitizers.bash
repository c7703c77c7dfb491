# The environment a Python needs to import an agent built with SAN=1 (make
# check-asan), for the test scripts that start one themselves: tests/run.sh
# (agent, realpkgs), tests/cli/lib.bash, tests/attach/helpers.bash,
# tests/web/run.sh.  `heapsnap dump -- PROGRAM` of a SAN=1 build sets the
# same for its program (cmd_dump.c); `dump --pid` cannot, so its targets
# are started with it.
#
#   SAN_ENV   NAME=VALUE words for env(1); empty unless SAN=1:
#             env "${SAN_ENV[@]}" python3 prog.py
#
# The agent is a library: ASan's runtime must be the first library of the
# process, so it is preloaded (with UBSan's).  Python's own allocator is
# switched off (PYTHONMALLOC=malloc) so that ASan sees every object.  Leak
# checking stays on; tests/lsan-python.supp names the leaks that are the
# interpreter's own, each with its reason.
SAN_ENV=()
if [ "${SAN:-0}" = 1 ]; then
    SAN_ENV=("LD_PRELOAD=$(${CC:-cc} -print-file-name=libasan.so) $(${CC:-cc} -print-file-name=libubsan.so)"
             PYTHONMALLOC=malloc
             "LSAN_OPTIONS=suppressions=${ROOT:?}/tests/lsan-python.supp:print_suppressions=0"
             UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1)
fi
