# heapsnap: the only build entry point.
#
#   make              the CLI (build/heapsnap) and the agent for every CPython
#                     >= 3.8 on the machine (build/py<KEY>/heapsnap/, KEY the
#                     interpreter's full version: build/py3.12.1/)
#   make test         every test suite on every interpreter; ends with
#                     "N passed, N failed" (NEWEST_PYTHONS: see below)
#   make demo         snapshot the bundled leaky example and explain its leak
#   make check-asan   the whole suite under ASan/UBSan, built in build-asan/
#   make fuzz         the libFuzzer targets (clang), a long run each
#   make bench        benchmarks (ratios against baselines; never pass/fail)
#   make install PREFIX=/usr/local
#   pip install .     the command and this Python's agent into its
#                     environment, built by this Makefile through
#                     tools/pip_backend.py in build/pip-<KEY>/
#   make format | check-format | tidy | clean
#
# Out-of-tree: everything goes to $(BUILD) (default build/).  Missing Debian
# packages are installed by tools/deps.sh when this runs as root.

BUILD   ?= build
PREFIX  ?= /usr/local
CC      ?= cc
V       ?= 0
SAN     ?= 0
VERSION := 0.1.0

Q := $(if $(filter 1,$(V)),,@)

# The strict set of research/style-anchors.md section 12.  -Wwrite-strings is
# left out on purpose: cgraph's agopen() and Python's kwlist take char *.
WARNINGS := -std=c11 -Wall -Wextra -Werror -Wpedantic -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes -Wvla -Wformat=2 -Wcast-qual \
	-Wundef -Wpointer-arith -Wimplicit-fallthrough
ifeq ($(SAN),1)
OPTFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all
# A sanitized agent needs the sanitizer runtimes loaded first in the Python
# it runs in: `heapsnap dump --` of this build preloads them, and points
# LeakSanitizer at the interpreter's own leaks (tests/lsan-python.supp).
SAN_DEFS := -DHS_SAN_PRELOAD='"$(shell $(CC) -print-file-name=libasan.so) \
	$(shell $(CC) -print-file-name=libubsan.so)"' \
	-DHS_SAN_LSAN_OPTIONS='"suppressions=$(abspath tests/lsan-python.supp):print_suppressions=0"'
else
OPTFLAGS ?= -O2 -g
SAN_DEFS :=
endif
# FUZZ=1: the inspector built with clang for libFuzzer (coverage, ASan,
# UBSan), in its own build folder; see the fuzz targets below.
ifeq ($(FUZZ),1)
CC := clang
OPTFLAGS := -O1 -g -fno-omit-frame-pointer \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
endif
# The agent is optimised whole (link-time): the walk calls the sink, the id
# table and the label table for every object and reference, across files.
ifeq ($(SAN)$(FUZZ),)
AGENT_LTO := -flto=auto
endif
BASE_CFLAGS := $(WARNINGS) $(OPTFLAGS) -D_GNU_SOURCE -MMD -MP \
	-DHS_VERSION='"$(VERSION)"' $(SAN_DEFS)

all: inspector agents

# ---------------------------------------------------------------------------
# Configuration: dependencies, library flags and the list of Pythons.  Made
# once per build folder; "make reconfigure" forces it again.
CONFIG := $(BUILD)/config.mk
# The tools/deps.sh tier checked first: `pip install .` asks for "pip" (no
# Debian python3-dev: it builds for the Python it runs under).
DEPS_TIER ?= build
-include $(CONFIG)

# The interpreters tools/newest_pythons.sh installed are listed in
# $(BUILD)/pythons/list, rewritten only when they change.
$(CONFIG): tools/deps.sh tools/pythons.sh tools/configure.sh \
		$(wildcard $(BUILD)/pythons/list)
	$(Q)mkdir -p $(BUILD)
	$(Q)tools/deps.sh $(DEPS_TIER)
	$(Q)BUILD=$(BUILD) tools/configure.sh > $@.tmp && mv $@.tmp $@

reconfigure:
	$(Q)rm -f $(CONFIG)
	$(Q)$(MAKE) --no-print-directory $(CONFIG)

# ---------------------------------------------------------------------------
# Generated sources.
GEN := $(BUILD)/gen
$(GEN)/schema_sql.c: schema/heapsnap.sql tools/embed.sh
	$(Q)mkdir -p $(GEN)
	$(Q)tools/embed.sh $< hs_schema_sql > $@.tmp && mv $@.tmp $@
# Edge kinds and flag bits for both halves, from the schema's rows.
$(GEN)/schema_numbers.h: schema/heapsnap.sql tools/schema_numbers.sh
	$(Q)mkdir -p $(GEN)
	$(Q)tools/schema_numbers.sh $< > $@.tmp && mv $@.tmp $@
$(GEN)/derived_sql.c: schema/derived.sql tools/embed.sh
	$(Q)mkdir -p $(GEN)
	$(Q)tools/embed.sh $< hs_derived_sql > $@.tmp && mv $@.tmp $@
$(GEN)/remote_payload.c: inject/remote_payload.py tools/embed.sh
	$(Q)mkdir -p $(GEN)
	$(Q)tools/embed.sh $< hs_remote_payload_py > $@.tmp && mv $@.tmp $@

# ---------------------------------------------------------------------------
# The inspector: build/heapsnap.
INSPECTOR_SRC := $(wildcard inspector/*.c)
INSPECTOR_OBJ := $(INSPECTOR_SRC:inspector/%.c=$(BUILD)/inspector/%.o) \
	$(BUILD)/inspector/schema_sql.o $(BUILD)/inspector/derived_sql.o \
	$(BUILD)/inspector/remote_payload.o
INSPECTOR_LIB_OBJ := $(filter-out $(BUILD)/inspector/heapsnap.o,$(INSPECTOR_OBJ))
INSPECTOR_CFLAGS = $(BASE_CFLAGS) -Iinspector -I$(GEN) $(DEPS_CFLAGS)

inspector: $(BUILD)/heapsnap

$(BUILD)/heapsnap: $(INSPECTOR_OBJ)
	@echo "  LINK    $@"
	$(Q)$(CC) $(OPTFLAGS) -o $@ $^ $(DEPS_LIBS) -lm

$(BUILD)/inspector/%.o: inspector/%.c $(CONFIG) $(GEN)/schema_numbers.h
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(INSPECTOR_CFLAGS) -c -o $@ $<

# The embedded schema is one long literal: longer than C's minimum limit,
# which every compiler we use exceeds.
GEN_CFLAGS = $(BASE_CFLAGS) -Wno-overlength-strings

$(BUILD)/inspector/schema_sql.o: $(GEN)/schema_sql.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(GEN_CFLAGS) -c -o $@ $<

$(BUILD)/inspector/derived_sql.o: $(GEN)/derived_sql.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(GEN_CFLAGS) -c -o $@ $<

$(BUILD)/inspector/remote_payload.o: $(GEN)/remote_payload.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(GEN_CFLAGS) -c -o $@ $<

-include $(INSPECTOR_OBJ:.o=.d)

# ---------------------------------------------------------------------------
# The loader `heapsnap dump --pid` makes a running Python dlopen(): one
# library for every Python version (no libpython, no Python.h).  Never built
# with sanitizers: it is loaded into processes that have no ASan runtime.
INJECT_SO := $(BUILD)/inject/libheapsnap_inject.so

$(INJECT_SO): inject/inject.c $(CONFIG)
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	$(Q)$(CC) $(WARNINGS) -O2 -g -D_GNU_SOURCE -MMD -MP -fPIC \
		-fvisibility=hidden -shared -pthread -o $@ $< -ldl

inspector: $(INJECT_SO)

-include $(INJECT_SO:.so=.d)

# ---------------------------------------------------------------------------
# The agent, once per Python: build/py<KEY>/heapsnap/ is an importable
# package.  $(PYTHONS) is the keys "3.8.18 ... 3.11.2 3.11.7 ..." (see
# tools/pythons.sh); PY_<key>_EXE, _CFLAGS and _EXT come from config.
AGENT_SRC := $(wildcard agent/*.c)
AGENT_PY  := $(wildcard agent/heapsnap/*.py) $(wildcard agent/heapsnap/_boot/*.py)

define agent_rules
AGENT_OBJ_$(1) := $$(AGENT_SRC:agent/%.c=$(BUILD)/py$(1)/obj/%.o) \
	$(BUILD)/py$(1)/obj/schema_sql.o
AGENT_SO_$(1) := $(BUILD)/py$(1)/heapsnap/_heapsnap$$(PY_$(1)_EXT)
AGENT_PYOUT_$(1) := $$(AGENT_PY:agent/%=$(BUILD)/py$(1)/%)
agents: $$(AGENT_SO_$(1)) $$(AGENT_PYOUT_$(1))

$$(AGENT_SO_$(1)): $$(AGENT_OBJ_$(1))
	@mkdir -p $$(dir $$@)
	@echo "  LINK    $$@"
	$(Q)$(CC) $(OPTFLAGS) $(AGENT_LTO) -shared -o $$@ $$^ $(SQLITE_LIBS)

$(BUILD)/py$(1)/obj/%.o: agent/%.c $(CONFIG) $(GEN)/schema_numbers.h
	@mkdir -p $$(dir $$@)
	@echo "  CC      $$< (Python $(1))"
	$(Q)$(CC) $(BASE_CFLAGS) $(AGENT_LTO) -fPIC -fvisibility=hidden -Iagent \
		-I$(GEN) $$(PY_$(1)_CFLAGS) $(SQLITE_CFLAGS) -c -o $$@ $$<

$(BUILD)/py$(1)/obj/schema_sql.o: $(GEN)/schema_sql.c
	@mkdir -p $$(dir $$@)
	$(Q)$(CC) $(GEN_CFLAGS) -fPIC -fvisibility=hidden -c -o $$@ $$<

$(BUILD)/py$(1)/%.py: agent/%.py
	@mkdir -p $$(dir $$@)
	$(Q)cp $$< $$@

-include $$(AGENT_OBJ_$(1):.o=.d)
endef
$(foreach v,$(PYTHONS),$(eval $(call agent_rules,$(v))))

agents: $(CONFIG)

# ---------------------------------------------------------------------------
# Tests.  Unit tests link the inspector objects (all but main) with cmocka.
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

# The test tier's packages (libcmocka-dev, bats, clang, ...) are installed
# before anything of a test is built: one run of deps.sh, never two at once.
test-deps:
	$(Q)tools/deps.sh test

$(BUILD)/tests/%: tests/unit/%.c $(INSPECTOR_LIB_OBJ) | test-deps
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(INSPECTOR_CFLAGS) -Itests/unit -o $@ $< $(INSPECTOR_LIB_OBJ) \
		$(DEPS_LIBS) -lcmocka -lm

unit-tests: $(UNIT_BIN)

# Fuzz targets (tests/fuzz/fuzz_*.c, libFuzzer) link the inspector objects
# built with FUZZ=1 in $(FUZZ_BUILD).  `make test` runs each for
# FUZZ_RUNS inputs (a count, never a time); `make fuzz` for FUZZ_SECONDS
# each (10 minutes).
FUZZ_BUILD   ?= $(BUILD)-fuzz
FUZZ_RUNS    ?= 3000
FUZZ_SECONDS ?= 600
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)

$(BUILD)/fuzz/%: tests/fuzz/%.c $(INSPECTOR_LIB_OBJ)
	@mkdir -p $(dir $@)
	@echo "  LINK    $@ (libFuzzer)"
	$(Q)$(CC) $(INSPECTOR_CFLAGS) -fsanitize=fuzzer,address,undefined \
		-o $@ $< $(INSPECTOR_LIB_OBJ) $(DEPS_LIBS) -lm

fuzzers: $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)

fuzz-build: test-deps
	$(Q)$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) FUZZ=1 SAN=0 fuzzers

fuzz: fuzz-build
	$(Q)tests/fuzz/run.sh $(FUZZ_BUILD) -1 $(FUZZ_SECONDS)

# Benchmarks link the inspector objects like unit tests; they are built and
# run on request only, never by `make test`.
$(BUILD)/bench/%: bench/%.c $(INSPECTOR_LIB_OBJ)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(INSPECTOR_CFLAGS) -o $@ $< $(INSPECTOR_LIB_OBJ) \
		$(DEPS_LIBS) -lm

# The newest CPython minors Debian publishes (sid) that `make test` installs
# under $(BUILD)/pythons (tools/newest_pythons.sh), builds an agent for and
# tests, beside pyenv's and /usr/bin/python3.  NEWEST_PYTHONS= (empty)
# leaves them out, on a machine without a Debian mirror say.
NEWEST_PYTHONS ?= 3.14 3.13

newest-pythons: test-deps
	$(Q)tools/newest_pythons.sh $(BUILD)/pythons $(NEWEST_PYTHONS)

# The sub-make reads the configuration again: the interpreters just
# installed join it.  Every asked-for newest minor must have an agent.
test: newest-pythons fuzz-build
	$(Q)$(MAKE) --no-print-directory all unit-tests
	$(Q)for m in $(NEWEST_PYTHONS); do \
		ls -d $(BUILD)/py$$m.*/heapsnap > /dev/null 2>&1 || { \
		echo "heapsnap: error: no agent was built for Python $$m from Debian sid (NEWEST_PYTHONS)" >&2; \
		exit 1; }; done
	$(Q)$(if $(NEWEST_PYTHONS),,echo '# newest Debian CPython (sid): off (NEWEST_PYTHONS is empty)')
	$(Q)BUILD=$(BUILD) SAN=$(SAN) FUZZ_BUILD=$(FUZZ_BUILD) \
		FUZZ_RUNS=$(FUZZ_RUNS) tests/run.sh

# The newest Debian CPython's packages are shared with build/.
check-asan:
	$(Q)HEAPSNAP_DEB_CACHE=$(abspath build/pythons/apt/archives) \
		$(MAKE) --no-print-directory BUILD=build-asan SAN=1 test

# ---------------------------------------------------------------------------
# Demo, benchmarks, install.
demo: all
	$(Q)BUILD=$(BUILD) examples/demo.sh

bench: all
	$(Q)tools/deps.sh bench
	$(Q)BUILD=$(BUILD) bench/run.sh

# One agent folder per interpreter key (lib/heapsnap/py3.12.1/); folders of
# the old one-per-minor layout (py3.12/) are removed.
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/heapsnap \
		$(DESTDIR)$(PREFIX)/share/heapsnap/web
	install -m 755 $(BUILD)/heapsnap $(DESTDIR)$(PREFIX)/bin/heapsnap
	install -m 644 $(INJECT_SO) $(DESTDIR)$(PREFIX)/lib/heapsnap/
	rm -rf $(wildcard $(DESTDIR)$(PREFIX)/lib/heapsnap/py3.[0-9] \
		$(DESTDIR)$(PREFIX)/lib/heapsnap/py3.[0-9][0-9])
	for v in $(PYTHONS); do \
		rm -rf $(DESTDIR)$(PREFIX)/lib/heapsnap/py$$v; \
		cp -R $(BUILD)/py$$v $(DESTDIR)$(PREFIX)/lib/heapsnap/py$$v; \
		rm -rf $(DESTDIR)$(PREFIX)/lib/heapsnap/py$$v/obj; \
	done
	[ ! -d web ] || cp -R web/. $(DESTDIR)$(PREFIX)/share/heapsnap/web/

# ---------------------------------------------------------------------------
# Hygiene.
FORMAT_SRC = $(wildcard agent/*.c agent/*.h inspector/*.c inspector/*.h \
	inject/*.c tests/unit/*.c tests/unit/*.h)

format:
	clang-format -i $(FORMAT_SRC)

check-format:
	clang-format --dry-run --Werror $(FORMAT_SRC)

tidy: $(CONFIG)
	clang-tidy --quiet $(wildcard inspector/*.c) -- $(INSPECTOR_CFLAGS)

clean:
	rm -rf build build-asan

.PHONY: all inspector agents unit-tests test test-deps newest-pythons check-asan demo \
	bench install \
	fuzzers fuzz-build fuzz \
	format check-format tidy clean reconfigure
