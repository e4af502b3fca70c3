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
# a new machine ships (gcc, g++, make, gdb, python3, git): the tests query
# databases with the sqlite3 shell and python3, and check how the capture tool
# meets a tracer with strace; bench/ measures with /usr/bin/time and bc.  gdb
# and python3 are named too, so that a machine without them still works.
DEBS    := libelf-dev libdwarf-dev libsqlite3-dev libzstd-dev golang-1.19-go gdb libc6-dbg clang \
           sqlite3 python3 strace time bc
# zstd is linked statically into the capture tool by name, at link time: a
# path computed when make reads this file would be empty on a fresh machine,
# where the deps step installs libzstd-dev only after that.
ZSTD_STATIC := -Wl,-Bstatic -lzstd -Wl,-Bdynamic
# The Go samples are built with a named toolchain, never whatever `go` is on
# PATH: the Go walker reads the runtime of the version it was written for.
GO119   := /usr/lib/go-1.19/bin/go
ANALYZE_LIBS := -lelf -ldwarf -lsqlite3 -lzstd -lm -lpthread
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

FORMAT_SRC  := $(wildcard format/*.c)
CAPTURE_SRC := $(wildcard capture/*.c)
ANALYZE_SRC := $(shell find analyze -name '*.c' 2>/dev/null | sort)
HEADERS     := $(shell find format capture analyze -name '*.h' 2>/dev/null)

SAMPLE_C    := $(wildcard samples/*.c)
SAMPLE_CXX  := $(wildcard samples/*.cpp)
SAMPLE_GO   := $(patsubst samples/go/%/main.go,%,$(wildcard samples/go/*/main.go))
SAMPLES     := $(patsubst samples/%.c,bin/samples/%,$(SAMPLE_C)) \
               $(patsubst samples/%.cpp,bin/samples/%,$(SAMPLE_CXX)) \
               $(patsubst %,bin/samples/go-%,$(SAMPLE_GO))

.PHONY: all deps demo test bench fuzz clean samples asan
all: deps bin/heapsnap-capture bin/heapsnap

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
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) -Icapture -o $@ $(CAPTURE_SRC) $(FORMAT_SRC) $(ZSTD_STATIC) -lpthread

bin/heapsnap: $(ANALYZE_SRC) $(FORMAT_SRC) $(HEADERS) | build/.deps-ok
	@mkdir -p bin
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) -o $@ $(ANALYZE_SRC) $(FORMAT_SRC) $(ANALYZE_LIBS)

asan: build/asan/heapsnap
build/asan/heapsnap: $(ANALYZE_SRC) $(FORMAT_SRC) $(HEADERS) | build/.deps-ok
	@mkdir -p build/asan
	$(CC) $(WARN) -O1 -g $(SAN) $(CPPFLAGS) -o $@ $(ANALYZE_SRC) $(FORMAT_SRC) $(ANALYZE_LIBS)

# Sample programs: debug info on, little optimisation, so that what they
# report is what the heap holds.
samples: $(SAMPLES)
bin/samples/%: samples/%.c samples/report.h samples/scrub.h | build/.deps-ok
	@mkdir -p bin/samples
	$(CC) -std=gnu11 -Wall -Wextra -Werror -O1 -g -pthread -o $@ $< -lm
bin/samples/%: samples/%.cpp samples/report.h | build/.deps-ok
	@mkdir -p bin/samples
	g++ -std=gnu++17 -Wall -Wextra -Werror -O1 -g -pthread -o $@ $<
bin/samples/go-%: samples/go/%/main.go | build/.deps-ok
	@mkdir -p bin/samples build/gocache
	cd samples/go/$* && GOCACHE=$(CURDIR)/build/gocache GOFLAGS=-mod=mod GO111MODULE=off \
	  $(GO119) build -o $(CURDIR)/$@ main.go

# The reader fuzzer (libFuzzer).  make test runs it briefly; make fuzz longer.
build/fuzz/fuzz_reader: tests/fuzz/fuzz_reader.c $(FORMAT_SRC) $(HEADERS) | build/.deps-ok
	@mkdir -p build/fuzz
	clang -g -O1 -fsanitize=fuzzer,address,undefined $(CPPFLAGS) -o $@ tests/fuzz/fuzz_reader.c $(FORMAT_SRC) -lzstd

# The debuginfo probe (tests/t1000-debuginfo.sh): the debuginfo library and
# the reader alone, under the sanitizers, answering lookups from the shell.
DEBUGINFO_SRC := $(wildcard analyze/debuginfo/*.c)
build/tools/dbgprobe: tests/tools/dbgprobe.c $(DEBUGINFO_SRC) $(FORMAT_SRC) $(HEADERS) | build/.deps-ok
	@mkdir -p build/tools
	$(CC) $(WARN) -O1 -g $(SAN) $(CPPFLAGS) -o $@ tests/tools/dbgprobe.c $(DEBUGINFO_SRC) $(FORMAT_SRC) -lelf -ldwarf -lzstd -lpthread

# The graph core's checker (tests/t3000-dominators.sh): analyze/graph/ alone,
# under the sanitizers, against brute force.  bench/graph builds it with -O2.
GRAPH_SRC := $(wildcard analyze/graph/*.c)
build/tools/graphcheck: tests/tools/graphcheck.c $(GRAPH_SRC) analyze/graph/graph.h | build/.deps-ok
	@mkdir -p build/tools
	$(CC) $(WARN) -O1 -g $(SAN) $(CPPFLAGS) -o $@ tests/tools/graphcheck.c $(GRAPH_SRC)

# The allocator walkers alone (tests/t1110-glibc-mutate.sh, and a debugging
# aid): analyze/heap/ with the reader and debuginfo, under the sanitizers.
HEAP_SRC := $(wildcard analyze/heap/*.c)
build/tools/heapwalk: tests/tools/heapwalk.c tests/tools/mutated.h $(HEAP_SRC) $(DEBUGINFO_SRC) $(FORMAT_SRC) $(HEADERS) | build/.deps-ok
	@mkdir -p build/tools
	$(CC) $(WARN) -O1 -g $(SAN) $(CPPFLAGS) -o $@ tests/tools/heapwalk.c $(HEAP_SRC) $(DEBUGINFO_SRC) $(FORMAT_SRC) -lelf -ldwarf -lzstd -lpthread

# The Go walker against damaged runtime metadata (tests/t4010-go-mutate.sh).
build/tools/gomutate: tests/tools/gomutate.c $(HEAP_SRC) $(DEBUGINFO_SRC) $(FORMAT_SRC) $(HEADERS) | build/.deps-ok
	@mkdir -p build/tools
	$(CC) $(WARN) -O1 -g $(SAN) $(CPPFLAGS) -o $@ tests/tools/gomutate.c $(HEAP_SRC) $(DEBUGINFO_SRC) $(FORMAT_SRC) -lelf -ldwarf -lzstd -lpthread

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
      build/tools/hsnap-mutate
	@tests/run.sh

bench: all samples
	@bench/run.sh

clean:
	rm -rf bin build
