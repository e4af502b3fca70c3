# heapsnap — build, demo, tests, benchmarks.
#
#   make          build bin/heapsnap-capture and bin/heapsnap (installs missing
#                 Debian build dependencies first when run as root)
#   make demo     build, capture a sample program, and show what heapsnap says
#   make test     every test; ends with "N passed, N failed"
#   make bench    benchmarks (not part of make test)
#   make fuzz     the reader fuzzer, for longer than make test runs it
#
# Layout: format/ is linked into both programs; capture/ is the capture tool
# (libc + static zstd only); analyze/ is everything else in bin/heapsnap.
# The test build (build/asan/heapsnap) runs the analyzer under ASan + UBSan.

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -std=gnu11 -Wall -Wextra -Werror -Wno-missing-field-initializers
CPPFLAGS += -Iformat -Ianalyze -I/usr/include/libdwarf -D_GNU_SOURCE
# Everything the build, the demo, the tests and the benchmarks use beyond what
# a new machine ships (gcc, g++, make, gdb, python3, git): the libraries and
# tools the README lists, the real servers the tests start on loopback, strace
# (how the capture tool meets a tracer), and /usr/bin/time and bc for bench/.
# gdb and python3 are named too, so that a machine without them still works.
DEBS    := libelf-dev libdwarf-dev libsqlite3-dev libzstd-dev liblz4-dev liblzma-dev libiberty-dev \
           zlib1g-dev libedit-dev golang-1.19-go gdb libc6-dbg clang binutils gcc zstd lz4 xz-utils \
           chromium sqlite3 python3 strace time bc \
           nginx-light libjemalloc-dev redis-server memcached dpkg-dev libgoogle-perftools-dev curl
# zstd is linked statically into the capture tool by name, at link time: a
# path computed when make reads this file would be empty on a fresh machine,
# where the deps step installs libzstd-dev only after that.
ZSTD_STATIC := -Wl,-Bstatic -lzstd -Wl,-Bdynamic
# LZ4 (the stop-mode capture, capture/lz4stop.c) the same way.
LZ4_STATIC  := -Wl,-Bstatic -llz4 -Wl,-Bdynamic
# The Go samples are built with each named toolchain, never whatever `go` is
# on PATH: every Go sample is built once per tested Go version (go119-session,
# go126-session, go127-session, ...) and the Go tests run against each
# (tests/run.sh).  A toolchain is its `go` command and the GOTOOLCHAIN it runs
# under: 1.27.3 is fetched once through the Go module proxy into the module
# cache (the only approved newer Go); the others are local installs.
GO_VERSIONS := go119 go126 go127
GO_go119    := GOTOOLCHAIN=local /usr/lib/go-1.19/bin/go
GO_go126    := GOTOOLCHAIN=local /usr/local/go/bin/go
# The go command switches toolchains only in module mode: GO111MODULE=off
# (which the samples' rule sets) would quietly build with 1.26.8, so 1.27.3
# is asked for with modules on, the samples being single files of std only.
GO_go127    := GOTOOLCHAIN=go1.27.3 GO111MODULE=on GOFLAGS= /usr/local/go/bin/go
ANALYZE_LIBS := -lelf -ldwarf -lsqlite3 -lzstd -llz4 -llzma -liberty -lz -ledit -lm -lpthread
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

FORMAT_SRC  := $(wildcard format/*.c)
# The core reader (ELF cores -> snapshots) is the analyzer's, not the capture
# tool's: it needs liblz4 and liblzma, and the capture tool needs only libc.
CORE_SRC    := $(wildcard format/core/*.c)
CAPTURE_SRC := $(wildcard capture/*.c)
ANALYZE_SRC := $(shell find analyze -name '*.c' -not -path 'analyze/sqlext/*' 2>/dev/null | sort)
# The loadable SQLite extension: the analyzer's library layers without the
# command line (analyze/*.c: the commands, their session, options and
# output) or the HTML report, every sqlite3_* call through the loading
# SQLite (analyze/sqlext/api.h).  That it links --no-undefined without them
# is part of the proof that no library layer reaches up to the command line.
SQLEXT_SRC  := analyze/sqlext/extension.c $(filter-out $(wildcard analyze/*.c) analyze/report/%,$(ANALYZE_SRC))
# From npm, pinned, into build/npm/: d3-hierarchy, which the HTML report
# embeds (analyze/report/assets.c), and playwright-core, which the browser
# tests drive Debian's chromium with.  npm comes with Node.js; a machine
# without it gets Debian's.
NPM_DIR     := build/npm
NPM_PKGS    := d3-hierarchy@3.1.3 playwright-core@1.65.1
D3_JS       := $(NPM_DIR)/node_modules/d3-hierarchy/dist/d3-hierarchy.min.js
HEADERS     := $(shell find format capture analyze -name '*.h' 2>/dev/null)

SAMPLE_C    := $(wildcard samples/*.c)
SAMPLE_CXX  := $(wildcard samples/*.cpp)
SAMPLE_GO   := $(patsubst samples/go/%/main.go,%,$(wildcard samples/go/*/main.go))
SAMPLES     := $(patsubst samples/%.c,bin/samples/%,$(SAMPLE_C)) \
               $(patsubst samples/%.cpp,bin/samples/%,$(SAMPLE_CXX)) \
               $(foreach v,$(GO_VERSIONS),$(patsubst %,bin/samples/$(v)-%,$(SAMPLE_GO))) \
               $(foreach v,$(GO_VERSIONS),bin/samples/$(v)-session-stripped) \
               bin/samples/jemalloc_static bin/samples/jemalloc_dwarf bin/samples/jemalloc_dwarf57 \
               bin/samples/jemalloc_lg57 bin/samples/tcmalloc_static

.PHONY: all deps demo test bench fuzz clean samples asan
all: deps bin/heapsnap-capture bin/heapsnap bin/heapsnap-sqlite.so

# Check (and, as root, install) the Debian packages the build needs.
deps: build/.deps-ok
build/.deps-ok: Makefile
	@missing=""; for p in $(DEBS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing build dependencies:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	  else \
	    echo "missing build dependencies; run:"; echo "  sudo apt-get update && sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi
	@mkdir -p build && touch $@

bin/heapsnap-capture: $(CAPTURE_SRC) $(FORMAT_SRC) $(HEADERS) | build/.deps-ok
	@mkdir -p bin
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) -Icapture -o $@ $(CAPTURE_SRC) $(FORMAT_SRC) $(ZSTD_STATIC) $(LZ4_STATIC) -lpthread

$(D3_JS): Makefile | build/.deps-ok
	@mkdir -p $(NPM_DIR)
	@command -v npm >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq nodejs npm >/dev/null; } || \
	  { echo "npm is needed (Debian: apt-get install nodejs npm)"; exit 1; }
	cd $(NPM_DIR) && echo '{"private": true}' >package.json && \
	  npm install --no-audit --no-fund --loglevel=error $(NPM_PKGS)
	@touch $@

bin/heapsnap: $(ANALYZE_SRC) $(FORMAT_SRC) $(CORE_SRC) $(HEADERS) $(D3_JS) | build/.deps-ok
	@mkdir -p bin
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) -o $@ $(ANALYZE_SRC) $(FORMAT_SRC) $(CORE_SRC) $(ANALYZE_LIBS)

bin/heapsnap-sqlite.so: $(SQLEXT_SRC) analyze/sqlext/api.h $(FORMAT_SRC) $(CORE_SRC) $(HEADERS) | build/.deps-ok
	@mkdir -p bin
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) -fPIC -shared -fvisibility=hidden -include analyze/sqlext/api.h \
	  -Wl,--no-undefined -Wl,--gc-sections -ffunction-sections -o $@ $(SQLEXT_SRC) $(FORMAT_SRC) $(CORE_SRC) \
	  $(filter-out -lsqlite3,$(ANALYZE_LIBS))

asan: build/asan/heapsnap
build/asan/heapsnap: $(ANALYZE_SRC) $(FORMAT_SRC) $(CORE_SRC) $(HEADERS) $(D3_JS) | build/.deps-ok
	@mkdir -p build/asan
	$(CC) $(WARN) -O1 -g $(SAN) $(CPPFLAGS) -o $@ $(ANALYZE_SRC) $(FORMAT_SRC) $(CORE_SRC) $(ANALYZE_LIBS)

# Sample programs: debug info on, little optimisation, so that what they
# report is what the heap holds.
samples: $(SAMPLES)
bin/samples/%: samples/%.c samples/report.h samples/scrub.h | build/.deps-ok
	@mkdir -p bin/samples
	$(CC) -std=gnu11 -Wall -Wextra -Werror -O1 -g -pthread -o $@ $< -lm
# jemalloc_heap twice: with Debian's libjemalloc.so.2, and with libjemalloc.a
# linked into the executable (symbols, no module to name it by).
bin/samples/jemalloc_heap: samples/jemalloc_heap.c samples/report.h | build/.deps-ok
	@mkdir -p bin/samples
	$(CC) -std=gnu11 -Wall -Wextra -Werror -O1 -g -pthread -o $@ $< -ljemalloc
bin/samples/jemalloc_static: samples/jemalloc_heap.c samples/report.h | build/.deps-ok
	@mkdir -p bin/samples
	$(CC) -std=gnu11 -Wall -Wextra -Werror -O1 -g -pthread -o $@ $< -Wl,-Bstatic -ljemalloc -Wl,-Bdynamic -lm -ldl
# ... and a third time with a jemalloc that has its DWARF, for the walker's
# layouts from DWARF (t3200).  Debian's libjemalloc2 is stripped and its
# dbgsym package lives in an archive this machine's apt is not set up for,
# so Debian's own source package of the installed version is fetched with
# apt-get source (deb-src entries made from this machine's Debian sources,
# in a private apt state: the system's apt is not touched) and built as
# debian/rules builds it (its configure options, dpkg-buildflags), keeping
# the debug info, with LG_VADDR 48 as Debian's own build machines found it
# (configure would otherwise ask this CPU).  Test-only: it lives in build/
# and is never installed.
JEDBG := build/jemalloc-dwarf
# $(call je_build,SRC,LG_VADDR,OUT): configure and build the jemalloc source
# in SRC as debian/rules does, with LG_VADDR fixed, into OUT/lib and OUT/include.
define je_build
	cd $(1) && \
	  CFLAGS="$$(dpkg-buildflags --get CFLAGS)" CPPFLAGS="$$(dpkg-buildflags --get CPPFLAGS)" \
	  LDFLAGS="$$(dpkg-buildflags --get LDFLAGS)" ./configure -q --with-version=VERSION --with-lg-vaddr=$(2) \
	    --with-lg-page=12 --with-lg-hugepage=21 --enable-prof --disable-doc >$(CURDIR)/$(3)/configure.log && \
	  $(MAKE) -s build_lib_shared >$(CURDIR)/$(3)/build.log 2>&1
	mkdir -p $(3)/lib $(3)/include/jemalloc
	cp -L $(1)/lib/libjemalloc.so.2 $(3)/lib/libjemalloc.so.2
	cp $(1)/include/jemalloc/jemalloc.h $(3)/include/jemalloc/
endef
JEDBG_LIB := $(JEDBG)/lib/libjemalloc.so.2
$(JEDBG_LIB): | build/.deps-ok
	rm -rf $(JEDBG) && mkdir -p $(JEDBG)/apt/lists/partial $(JEDBG)/apt/cache/archives/partial $(JEDBG)/apt/parts
	@ver=$$(dpkg-query -W -f='$${Version}' libjemalloc2) && test -n "$$ver" && \
	  { if [ -f /etc/apt/sources.list ]; then sed -n 's/^deb /deb-src /p' /etc/apt/sources.list; fi; } >$(JEDBG)/apt/sources.list && \
	  for f in /etc/apt/sources.list.d/*.sources; do \
	    [ -f "$$f" ] && grep -q '^URIs:.*/debian/*$$' "$$f" && \
	      sed 's/^Types:.*/Types: deb-src/' "$$f" >$(JEDBG)/apt/parts/$${f##*/}; \
	  done; \
	  apt="-o Dir::Etc::SourceList=$(CURDIR)/$(JEDBG)/apt/sources.list -o Dir::Etc::SourceParts=$(CURDIR)/$(JEDBG)/apt/parts \
	       -o Dir::State::Lists=$(CURDIR)/$(JEDBG)/apt/lists -o Dir::Cache=$(CURDIR)/$(JEDBG)/apt/cache -o Debug::NoLocking=1" && \
	  apt-get $$apt -qq update && cd $(JEDBG) && apt-get $$apt -qq source jemalloc=$$ver >source.log 2>&1 || \
	  { cat $(CURDIR)/$(JEDBG)/source.log 2>/dev/null; echo "cannot fetch Debian's jemalloc source $$ver"; exit 1; }
	$(call je_build,$(JEDBG)/jemalloc-5.*,48,$(JEDBG))
# The same source again with LG_VADDR 57, what configure picks on a CPU
# that can page five levels deep (and Debian's rules leave to configure):
# a three-level rtree with 16-byte leaf elements.  LG_VADDR is given to
# both builds, so that the tests see both shapes on any machine.  A
# stripped copy of it has no symbols for the rtree root, to be found by
# scanning as Debian's stripped library is.
JEDBG57 := build/jemalloc-dwarf57
JEDBG57_LIB := $(JEDBG57)/lib/libjemalloc.so.2
$(JEDBG57_LIB): $(JEDBG_LIB)
	rm -rf $(JEDBG57) && mkdir -p $(JEDBG57)
	dpkg-source -x $(JEDBG)/jemalloc_*.dsc $(JEDBG57)/src >$(JEDBG57)/source.log 2>&1
	$(call je_build,$(JEDBG57)/src,57,$(JEDBG57))
	mkdir -p $(JEDBG57)/stripped && strip -o $(JEDBG57)/stripped/libjemalloc.so.2 $@
bin/samples/jemalloc_dwarf: samples/jemalloc_heap.c samples/report.h $(JEDBG_LIB) | build/.deps-ok
	@mkdir -p bin/samples
	$(CC) -std=gnu11 -Wall -Wextra -Werror -O1 -g -pthread -I$(JEDBG)/include -o $@ $< \
	  $(JEDBG_LIB) -Wl,-rpath,$(CURDIR)/$(JEDBG)/lib
bin/samples/jemalloc_dwarf57: samples/jemalloc_heap.c samples/report.h $(JEDBG57_LIB) | build/.deps-ok
	@mkdir -p bin/samples
	$(CC) -std=gnu11 -Wall -Wextra -Werror -O1 -g -pthread -I$(JEDBG57)/include -o $@ $< \
	  $(JEDBG57_LIB) -Wl,-rpath,$(CURDIR)/$(JEDBG57)/lib
bin/samples/jemalloc_lg57: samples/jemalloc_heap.c samples/report.h $(JEDBG57_LIB) | build/.deps-ok
	@mkdir -p bin/samples
	$(CC) -std=gnu11 -Wall -Wextra -Werror -O1 -g -pthread -I$(JEDBG57)/include -o $@ $< \
	  $(JEDBG57)/stripped/libjemalloc.so.2 -Wl,-rpath,$(CURDIR)/$(JEDBG57)/stripped
# tcmalloc_heap twice too: with Debian's tcmalloc (gperftools'
# libtcmalloc_minimal.so.4), and with libtcmalloc_minimal.a inside.
bin/samples/tcmalloc_heap: samples/tcmalloc_heap.c samples/report.h | build/.deps-ok
	@mkdir -p bin/samples
	$(CC) -std=gnu11 -Wall -Wextra -Werror -O1 -g -pthread -o $@ $< -ltcmalloc_minimal
bin/samples/tcmalloc_static: samples/tcmalloc_heap.c samples/report.h | build/.deps-ok
	@mkdir -p bin/samples
	$(CC) -std=gnu11 -Wall -Wextra -Werror -O1 -g -pthread -o $@ $< -Wl,-Bstatic -ltcmalloc_minimal \
	  -Wl,-Bdynamic -lstdc++ -lm
bin/samples/%: samples/%.cpp samples/report.h | build/.deps-ok
	@mkdir -p bin/samples
	g++ -std=gnu++17 -Wall -Wextra -Werror -O1 -g -pthread -o $@ $<
# One rule per Go toolchain: bin/samples/<version>-<sample>.
define GO_SAMPLE_RULE
bin/samples/$(1)-%: samples/go/%/main.go | build/.deps-ok
	@mkdir -p bin/samples build/gocache
	cd samples/go/$$* && GOCACHE=$(CURDIR)/build/gocache GOFLAGS=-mod=mod GO111MODULE=off \
	  $(GO_$(1)) build -o $(CURDIR)/$$@ main.go
endef
$(foreach v,$(GO_VERSIONS),$(eval $(call GO_SAMPLE_RULE,$(v))))

# Stripped Go (tests/t3440-go-stripped.sh): the session sample built with
# -ldflags='-s -w', as production builds are, by each toolchain; its
# unstripped build (<version>-session) is what t3440 matches it with.  The
# cgo sample (samples/go/cgo) builds through the rule above: cgo is on
# wherever gcc is, and gcc is in DEBS.
define GO_STRIPPED_RULE
bin/samples/$(1)-session-stripped: samples/go/session/main.go | build/.deps-ok
	@mkdir -p bin/samples build/gocache
	cd samples/go/session && GOCACHE=$(CURDIR)/build/gocache GOFLAGS=-mod=mod GO111MODULE=off \
	  $(GO_$(1)) build -ldflags='-s -w' -o $(CURDIR)/$$@ main.go
endef
$(foreach v,$(GO_VERSIONS),$(eval $(call GO_STRIPPED_RULE,$(v))))

# The reader fuzzer (libFuzzer).  make test runs it briefly; make fuzz longer.
build/fuzz/fuzz_reader: tests/fuzz/fuzz_reader.c $(FORMAT_SRC) $(CORE_SRC) $(HEADERS) | build/.deps-ok
	@mkdir -p build/fuzz
	clang -g -O1 -fsanitize=fuzzer,address,undefined $(CPPFLAGS) -o $@ tests/fuzz/fuzz_reader.c $(FORMAT_SRC) $(CORE_SRC) -lzstd -llz4 -llzma

# The debuginfo probe (tests/t2000-debuginfo.sh): the debuginfo library and
# the reader alone, under the sanitizers, answering lookups from the shell.
DEBUGINFO_SRC := $(wildcard analyze/debuginfo/*.c)
# analyze/base/: the containers and clocks every layer may use.
BASE_SRC := $(wildcard analyze/base/*.c)
build/tools/dbgprobe: tests/tools/dbgprobe.c $(DEBUGINFO_SRC) $(FORMAT_SRC) $(HEADERS) | build/.deps-ok
	@mkdir -p build/tools
	$(CC) $(WARN) -O1 -g $(SAN) $(CPPFLAGS) -o $@ tests/tools/dbgprobe.c $(DEBUGINFO_SRC) $(FORMAT_SRC) -lelf -ldwarf -lzstd -lpthread

# The graph core's checker (tests/t2100-dominators.sh): analyze/graph/ alone
# with the base it reports progress through, under the sanitizers, against
# brute force.  bench/graph builds it with -O2.
GRAPH_SRC := $(wildcard analyze/graph/*.c) $(BASE_SRC)
build/tools/graphcheck: tests/tools/graphcheck.c $(GRAPH_SRC) analyze/graph/graph.h | build/.deps-ok
	@mkdir -p build/tools
	$(CC) $(WARN) -O1 -g $(SAN) $(CPPFLAGS) -o $@ tests/tools/graphcheck.c $(GRAPH_SRC) -lm -lpthread

# The allocator walkers alone (tests/t3110-glibc-mutate.sh, and a debugging
# aid): analyze/heap/ with the reader and debuginfo, under the sanitizers.
HEAP_SRC := $(shell find analyze/heap -name '*.c' | sort) $(BASE_SRC)
build/tools/heapwalk: tests/tools/heapwalk.c tests/tools/mutated.h $(HEAP_SRC) $(DEBUGINFO_SRC) $(FORMAT_SRC) $(HEADERS) | build/.deps-ok
	@mkdir -p build/tools
	$(CC) $(WARN) -O1 -g $(SAN) $(CPPFLAGS) -o $@ tests/tools/heapwalk.c $(HEAP_SRC) $(DEBUGINFO_SRC) $(FORMAT_SRC) -lelf -ldwarf -lzstd -lpthread

# The Go walker against damaged runtime metadata (tests/t3410-go-mutate.sh).
build/tools/gomutate: tests/tools/gomutate.c $(HEAP_SRC) $(DEBUGINFO_SRC) $(FORMAT_SRC) $(HEADERS) | build/.deps-ok
	@mkdir -p build/tools
	$(CC) $(WARN) -O1 -g $(SAN) $(CPPFLAGS) -o $@ tests/tools/gomutate.c $(HEAP_SRC) $(DEBUGINFO_SRC) $(FORMAT_SRC) -lelf -ldwarf -lzstd -lpthread

# The database layer with only what lies below it (docs/architecture.md's
# layers 1-8: format, base, debuginfo, heap, model, types, db), no indexer,
# analysis or command line: bench/analyze's synthetic databases are written
# by bench/synthdb.c linked against it, which shows db/ needs nothing above.
MODEL_SRC := $(wildcard analyze/model/*.c)
TYPES_SRC := $(wildcard analyze/types/*.c)
DB_SRC    := $(wildcard analyze/db/*.c)
DB_STACK_SRC := $(DB_SRC) $(TYPES_SRC) $(MODEL_SRC) $(HEAP_SRC) $(DEBUGINFO_SRC) $(FORMAT_SRC) $(CORE_SRC)
build/tools/synthdb: bench/synthdb.c $(DB_STACK_SRC) $(HEADERS) | build/.deps-ok
	@mkdir -p build/tools
	$(CC) $(WARN) -O2 -g $(CPPFLAGS) -o $@ bench/synthdb.c $(DB_STACK_SRC) -lelf -ldwarf -lsqlite3 -lzstd -llz4 -llzma \
	    -liberty -lz -lm -lpthread

# The bulk b-tree writer against SQLite's own inserts (tests/t5020-bulk-btree.sh).
build/tools/bulkcheck: tests/tools/bulkcheck.c $(DB_STACK_SRC) $(HEADERS) | build/.deps-ok
	@mkdir -p build/tools
	$(CC) $(WARN) -O1 -g $(SAN) $(CPPFLAGS) -o $@ tests/tools/bulkcheck.c $(DB_STACK_SRC) -lelf -ldwarf -lsqlite3 \
	    -lzstd -llz4 -llzma -liberty -lz -lm -lpthread

# The indexer's object table on made-up chunks (tests/t5000-index.sh).
build/tools/objtab: tests/tools/objtab.c $(MODEL_SRC) $(HEAP_SRC) $(DEBUGINFO_SRC) $(FORMAT_SRC) $(HEADERS) | build/.deps-ok
	@mkdir -p build/tools
	$(CC) $(WARN) -O1 -g $(SAN) $(CPPFLAGS) -o $@ tests/tools/objtab.c $(MODEL_SRC) $(HEAP_SRC) $(DEBUGINFO_SRC) $(FORMAT_SRC) \
	    -lelf -ldwarf -lzstd -lpthread

# The C++ class-name demangler alone (tests/t4110-demangle.sh), against
# c++filt on every vtable and typeinfo symbol of libstdc++.
build/tools/demangle: tests/tools/demangle.c analyze/types/demangle.c $(HEADERS) | build/.deps-ok
	@mkdir -p build/tools
	$(CC) $(WARN) -O1 -g $(SAN) $(CPPFLAGS) -o $@ tests/tools/demangle.c analyze/types/demangle.c -liberty

# glibc malloc's own figures from inside a program we did not write
# (tests/t3130-glibc-fork.sh loads it into nginx with LD_PRELOAD).
build/tools/mallinfo-preload.so: tests/tools/mallinfo-preload.c | build/.deps-ok
	@mkdir -p build/tools
	$(CC) -std=gnu11 -Wall -Wextra -Werror -O1 -g -shared -fPIC -o $@ $<

# Test programs for the format library (tests/t0001-format.sh): the
# library alone, under the sanitizers.
build/tools/%: tests/tools/%.c $(FORMAT_SRC) $(HEADERS) | build/.deps-ok
	@mkdir -p build/tools
	$(CC) $(WARN) -O1 -g $(SAN) $(CPPFLAGS) -o $@ $< $(FORMAT_SRC) -lzstd -lpthread

fuzz: build/fuzz/fuzz_reader build/tools/hsnap-synth all samples
	tests/fuzz/run.sh 600

demo: all samples
	@samples/demo.sh

test: all asan samples build/fuzz/fuzz_reader build/tools/dbgprobe build/tools/graphcheck build/tools/hsnap-synth build/tools/heapwalk build/tools/gomutate \
      build/tools/hsnap-mutate build/tools/demangle build/tools/mallinfo-preload.so build/tools/synthdb \
      build/tools/capture-peek build/tools/objtab build/tools/bulkcheck
	@tests/run.sh

bench: all samples
	@bench/run.sh

clean:
	rm -rf bin build
