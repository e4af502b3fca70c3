// session — the Go sample behind most Go tests (t34xx, t4400, t6xx0: heapsnap's Go walker).
//
// It builds a heap whose contents the tests know: a global map cache of
// *Session, a slice of Record structs, some strings; optionally N goroutines
// parked on a channel receive (a goroutine leak) and a large heap that is
// allocated, dropped and collected (free spans not yet returned to the OS).
// Then it collects garbage, reads runtime.ReadMemStats() and writes those
// figures and the addresses of known objects to the report file (argv[1]),
// followed by "ready", and waits.  On SIGUSR1 the cache grows by exactly
// `grow` sessions and the report gets "grown N" and a fresh set of figures.
//
// After ReadMemStats the program must stay quiet so that the snapshot shows
// the same heap: the report is formatted into a buffer allocated up front
// with strconv.Append* (no allocation) and written with os.File.Write, and
// the main goroutine then polls for signals rather than blocking on a
// channel (see main).  With "release" it frees the OS memory before
// reading, so that the scavenger has nothing left to do either; with
// "hold" it keeps the freed memory resident instead, whatever time passes
// before the capture (see holdIdle).  The cache grows on a goroutine of its
// own that then exits, so that the new sessions' addresses never pass
// through a live goroutine's stack (see grow), and into spans that do not
// start with one of them (see pinSpanBases).
//
// With garbage=N it allocates N objects of 4096 bytes (a size class of
// its own, no pointers, no malloc header) right after the first collection
// and drops those that do not start a span (see makeGarbage): garbage that
// only the next GC frees; the report says "Garbage BYTES".
//
//   go-session REPORT [sessions=N] [grow=K] [goroutines=N] [bigfree=MiB] [after=N] [garbage=N] [release|hold] [spin]
package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"reflect"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"unsafe"
)

type Session struct {
	ID    int64
	User  string
	Data  []byte
	Peer  *Session
	Score float64
}

type Record struct {
	Key   string
	Value int64
	Owner *Session
}

var (
	cache   = map[string]*Session{}
	records []Record
	known   *Session
	banner  string
	parked  chan int
	nextID  int64
	spins   uint64
	// decoy holds the address of known in a []uint64: a noscan object, so a
	// precise scan must find no reference in it where a conservative one would.
	decoy []uint64
	// decoyAddr is the same as a global: a uintptr is no pointer to Go's
	// collector (it lives in .noptrbss), so it holds no reference either.
	decoyAddr uintptr
	// anyKnown and anyRecords hold known objects in interface values: their
	// dynamic types (*main.Session, []main.Record) come from the type word.
	anyKnown   interface{}
	anyRecords fmt.Stringer
	// anyOnly and sink hold objects nothing else points to, so only their
	// interfaces' type words can type them: a *Session in an any, and a
	// *Sink in an io.Writer (an itab).
	anyOnly interface{}
	sink    io.Writer
	// small is a map of 3 entries, whose values nothing else holds: a
	// Swiss map (Go 1.24+) that small has no table, its dirPtr points
	// straight at its one group.
	small map[string]*Session
	// bigptrs is a large object (a span of its own): 5000 *Session, typed
	// since Go 1.22 by its span's largeType as well as by the global.
	bigptrs []*Session
	// fin has a finalizer (main.finalize), and its Peer is a Session
	// nothing else points to: a finalizer special roots what fin points to.
	fin *Session
)

// finalize is fin's finalizer; fin stays reachable, so it never runs.
func finalize(s *Session) { s.Score = -1 }

// Shown is what tests/t4400 shows with `heapsnap show` and compares with
// what Go's %#v printed (the report's "gofmt" lines): a string, a slice of
// strings, an interface holding a pointer, one holding an itab, and maps.
type Shown struct {
	Name string
	Tags []string
	Any  interface{}
	W    io.Writer
	N    uint16
	// Props is a small map (one group, or one bucket in Go 1.19), Big one
	// of 20 entries (a table of groups; four buckets)
	Props map[string]int
	Big   map[int]string
}

var (
	shown *Shown
	// gofmt holds the %#v lines, made before the report is measured
	gofmt []string
)

// Sink is a concrete io.Writer for sink.
type Sink struct {
	Name  string
	Count int64
	Buf   []byte
}

func (s *Sink) Write(p []byte) (int, error) { s.Count += int64(len(p)); return len(p), nil }

// spanPin is as large as a Session and, like it, holds a pointer, so the
// two share the runtime's spans (one size class, one scan class): see
// pinSpanBases.
type spanPin struct {
	next *spanPin
	_    [7]uint64
}

// pins keeps the spanPins that pinSpanBases found at the start of a span.
var pins []*spanPin

// recordList gives []main.Record a method, so a non-empty interface (an
// itab) can hold it.
type recordList []Record

func (r recordList) String() string { return "records" }

func addSessions(n int) {
	for i := 0; i < n; i++ {
		nextID++
		s := &Session{ID: nextID, User: "user-" + strconv.FormatInt(nextID, 10), Data: make([]byte, 48)}
		s.Data[0] = byte(nextID)
		if known != nil {
			s.Peer = known
		}
		cache["s"+strconv.FormatInt(nextID, 10)] = s
		if known == nil {
			known = s
		}
	}
}

// spinner runs without end and without allocating: a goroutine that is
// running on a thread when the snapshot is taken.
func spinner() {
	for spins = 0; ; spins++ {
	}
}

// waiter blocks forever on a receive: the leaked goroutines.  It takes no
// arguments so that it is the goroutine's start function (a `go f(x)` is
// started through a compiler-made closure).
func waiter() {
	<-parked
}

// churn allocates and drops mib MiB in 1 MiB blocks, touching every page
// so that they are resident.
func churn(mib int) {
	blocks := make([][]byte, mib)
	for i := range blocks {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = byte(i + 1)
		}
		blocks[i] = b
	}
	runtime.KeepAlive(blocks)
}

func appendKV(buf []byte, k string, v uint64) []byte {
	buf = append(buf, k...)
	buf = append(buf, ' ')
	buf = strconv.AppendUint(buf, v, 10)
	return append(buf, '\n')
}

func appendAddr(buf []byte, k string, p unsafe.Pointer) []byte {
	buf = append(buf, k...)
	buf = append(buf, " 0x"...)
	buf = strconv.AppendUint(buf, uint64(uintptr(p)), 16)
	return append(buf, '\n')
}

// memClasses are the runtime/metrics the tests compare, read into samples
// (allocated, and read once, before anything is measured: the first Read
// sets the metrics up).
var memClasses = []string{
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/released:bytes",
	"/memory/classes/heap/stacks:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/metadata/mcache/free:bytes",
	"/memory/classes/metadata/mcache/inuse:bytes",
	"/memory/classes/metadata/mspan/free:bytes",
	"/memory/classes/metadata/mspan/inuse:bytes",
	"/memory/classes/metadata/other:bytes",
	"/memory/classes/os-stacks:bytes",
	"/memory/classes/other:bytes",
	"/memory/classes/profiling/buckets:bytes",
	"/memory/classes/total:bytes",
}

var settle = syscall.Timespec{Nsec: 200e6}

var samples []metrics.Sample

// garbageN objects of 4096 bytes are allocated after the first
// collection and dropped (see the top), but those that start a span: the
// runtime leaves span bases in its own goroutines' stacks (see
// pinSpanBases), where a conservative scan takes them for references, so
// those are kept in garbageKept, and garbageBytes counts the others.  They
// are made on a goroutine that then exits, so that no copy of their
// addresses stays in a live stack (see grow).
var (
	garbageN     int
	garbageKept  []*[4096]byte
	garbageBytes uint64
	garbageMade  bool
)

func makeGarbage(nap *syscall.Timespec) {
	if garbageN == 0 || garbageMade {
		return
	}
	garbageMade = true
	garbageKept = make([]*[4096]byte, 0, garbageN)
	var done atomic.Bool
	go func() {
		for i := 0; i < garbageN; i++ {
			p := new([4096]byte)
			if uintptr(unsafe.Pointer(p))%8192 == 0 {
				garbageKept = append(garbageKept, p)
			} else {
				garbageBytes += 4096
			}
		}
		done.Store(true)
	}()
	for !done.Load() {
		syscall.Nanosleep(nap, nil)
	}
}

// grow adds n sessions on a goroutine of its own and returns when it has
// exited.  Allocating them leaves copies of their addresses in stack slots
// that no later frame need overwrite; on main's stack such a stale word
// would be taken for a reference by a conservative stack scan (the walker
// scans goroutine stacks whole), and would make one session look held by a
// goroutine as well as by the cache.  A goroutine that has exited is dead:
// its stack is no root.  Main waits by polling, as it waits for signals.
func grow(n int, nap *syscall.Timespec) {
	var done atomic.Bool
	go func() {
		addSessions(n)
		done.Store(true)
	}()
	for !done.Load() {
		syscall.Nanosleep(nap, nil)
	}
}

// pinSpanBases makes room for n more sessions in spans whose first slot
// holds a live object, so that no session grown later starts a span.  The
// runtime leaves page-aligned addresses (span and arena bases, stack
// bounds) in its own goroutines' stacks and on its threads' system stacks,
// and a conservative scan takes such a word for a reference to the object
// at that address: a new session there would look held by a stack as well
// as by the cache.  Allocating n + 256 spanPins fills every free slot the
// class's spans have and then fresh spans; the pins at a page boundary (the
// first slot of a span: its spans are one 8 KiB page) are kept, the rest
// dropped.  After the next collection every span of the class with a free
// slot has a live first object, and they have room for n.
func pinSpanBases(n int) {
	const page = 8192
	all := make([]*spanPin, n+256)
	for i := range all {
		p := new(spanPin)
		all[i] = p
		if uintptr(unsafe.Pointer(p))%page == 0 {
			pins = append(pins, p)
		}
	}
	runtime.KeepAlive(all)
}

// holdIdle keeps the heap that the collection just freed resident until
// the capture, however late it comes: the background scavenger returns
// idle memory to the OS until what the heap retains is about 10% over
// HeapInuse scaled by how the heap goal moved since the cycle began (the
// runtime's gcPaceScavenger), so on a busy machine it may have returned
// most of a freed GiB before the capture.  A GOGC this high raises the goal
// so far above the cycle's (the 4 MiB minimum heap scales with GOGC: here
// about 82 TiB) that the scavenger's goal is beyond anything retained and
// it stops; no allocation-triggered collection can start either, so none
// re-paces it (only the runtime's forced collection after two idle minutes
// would, long after any capture a test takes).  It must come after the
// collection: set before, the cycle's own goal would be as high and the
// ratio back to 1.
func holdIdle() {
	debug.SetGCPercent(math.MaxInt32)
}

// report collects, reads MemStats and the /memory/classes metrics (one
// right after the other: nothing runs in between that allocates) and writes
// everything with no allocation after ReadMemStats.  A line
// "metric NAME VALUE" per metric.
func report(f *os.File, buf []byte, ms *runtime.MemStats, release, hold bool, head string) {
	if release {
		debug.FreeOSMemory()
	} else if hold {
		debug.SetGCPercent(100) // the cycle starts from an ordinary goal
		runtime.GC()
		holdIdle()
	} else {
		runtime.GC()
	}
	makeGarbage(&settle)
	// Block in a syscall once before measuring, as main will after "ready":
	// while it sits there sysmon hands its P on, and a thread the runtime
	// starts then (allocm's objects, a g0 stack in StackInuse) would change
	// the heap after the report.  Started now, that thread idles and is
	// reused when main blocks again.  Nanosleep allocates nothing.
	syscall.Nanosleep(&settle, nil)
	runtime.ReadMemStats(ms)
	metrics.Read(samples)
	buf = buf[:0]
	buf = append(buf, head...)
	buf = appendKV(buf, "HeapObjects", ms.HeapObjects)
	buf = appendKV(buf, "HeapAlloc", ms.HeapAlloc)
	buf = appendKV(buf, "HeapInuse", ms.HeapInuse)
	buf = appendKV(buf, "HeapIdle", ms.HeapIdle)
	buf = appendKV(buf, "HeapReleased", ms.HeapReleased)
	buf = appendKV(buf, "HeapSys", ms.HeapSys)
	buf = appendKV(buf, "StackInuse", ms.StackInuse)
	buf = appendKV(buf, "StackSys", ms.StackSys)
	buf = appendKV(buf, "MSpanInuse", ms.MSpanInuse)
	buf = appendKV(buf, "Sys", ms.Sys)
	buf = appendKV(buf, "NumGC", uint64(ms.NumGC))
	buf = appendKV(buf, "NextGC", ms.NextGC)
	buf = appendKV(buf, "Sessions", uint64(len(cache)))
	buf = appendKV(buf, "Garbage", garbageBytes)
	buf = appendAddr(buf, "known", unsafe.Pointer(known))
	buf = appendAddr(buf, "records", unsafe.Pointer(&records[0]))
	buf = appendAddr(buf, "banner", unsafe.Pointer((*reflect.StringHeader)(unsafe.Pointer(&banner)).Data))
	buf = appendAddr(buf, "decoy", unsafe.Pointer(&decoy[0]))
	buf = appendAddr(buf, "anyonly", unsafe.Pointer(anyOnly.(*Session)))
	buf = appendAddr(buf, "sink", unsafe.Pointer(sink.(*Sink)))
	buf = appendAddr(buf, "sinkbuf", unsafe.Pointer(&sink.(*Sink).Buf[0]))
	buf = appendAddr(buf, "bigptrs", unsafe.Pointer(&bigptrs[0]))
	buf = appendAddr(buf, "smallval", unsafe.Pointer(small["small-1"]))
	for i := range samples {
		buf = append(buf, "metric "...)
		buf = appendKV(buf, samples[i].Name, samples[i].Value.Uint64())
	}
	buf = appendAddr(buf, "shown", unsafe.Pointer(shown))
	for _, l := range gofmt {
		buf = append(buf, l...)
		buf = append(buf, '\n')
	}
	buf = appendAddr(buf, "fin", unsafe.Pointer(fin))
	buf = appendAddr(buf, "finpeer", unsafe.Pointer(fin.Peer))
	buf = append(buf, "ready\n"...)
	f.Write(buf)
}

func main() {
	if len(os.Args) < 2 {
		os.Stderr.WriteString("usage: go-session REPORT [sessions=N] [grow=K] [goroutines=N] [bigfree=MiB] [after=N] [garbage=N] [release|hold] [spin]\n")
		os.Exit(2)
	}
	nsess, ngrow, ngo, big, after, release, hold, spin := 1000, 100, 0, 0, 0, false, false, false
	for _, a := range os.Args[2:] {
		k, v, _ := strings.Cut(a, "=")
		n, _ := strconv.Atoi(v)
		switch k {
		case "sessions":
			nsess = n
		case "grow":
			ngrow = n
		case "goroutines":
			ngo = n
		case "bigfree":
			big = n
		case "after":
			after = n
		case "garbage":
			garbageN = n
		case "release":
			release = true
		case "hold":
			hold = true
		case "spin":
			spin = true
		}
	}
	addSessions(nsess)
	records = make([]Record, 500)
	for i := range records {
		records[i] = Record{Key: "record-" + strconv.Itoa(i), Value: int64(i)}
		if i%2 == 0 {
			records[i].Owner = known
		}
	}
	banner = strings.Repeat("heapsnap-go-banner ", 8)
	decoy = make([]uint64, 4)
	decoy[0] = uint64(uintptr(unsafe.Pointer(known)))
	decoyAddr = uintptr(unsafe.Pointer(known))
	anyKnown = known
	anyRecords = recordList(records)
	anyOnly = &Session{ID: -1, User: "only-through-any"}
	sink = &Sink{Name: "sink", Buf: make([]byte, 64)}
	// a call through the interface keeps (*Sink).Write, and with it the
	// DWARF of main.Sink, in the binary
	io.WriteString(sink, "hello")
	small = map[string]*Session{}
	for i := 0; i < 3; i++ {
		small["small-"+strconv.Itoa(i)] = &Session{ID: int64(-10 - i), User: "in-small-map"}
	}
	bigptrs = make([]*Session, 5000)
	for i := range bigptrs {
		bigptrs[i] = known
	}
	samples = make([]metrics.Sample, len(memClasses))
	for i := range samples {
		samples[i].Name = memClasses[i]
	}
	metrics.Read(samples)
	shown = &Shown{Name: "shown-" + strconv.Itoa(len(cache)), Any: &Session{ID: -20, User: "in-shown"}, W: sink, N: 513,
		Props: map[string]int{"b": 2, "a": -1}, Big: map[int]string{}}
	for i := 0; i < 20; i++ {
		shown.Big[i*7-30] = "v" + strconv.Itoa(i)
	}
	shown.Tags = []string{"tag-" + strconv.Itoa(1), "tag \"two\"\t" + strconv.Itoa(2)}
	gofmt = []string{
		"gofmt shown " + fmt.Sprintf("%#v", *shown),
		"gofmt smallentry " + fmt.Sprintf("%#v", map[string]*Session{"small-1": small["small-1"]}),
	}
	fin = &Session{ID: -2, User: "finalized", Peer: &Session{ID: -3, User: "fin-peer"}}
	runtime.SetFinalizer(fin, finalize)
	parked = make(chan int)
	for i := 0; i < ngo; i++ {
		go waiter()
	}
	if spin {
		go spinner()
	}
	if big > 0 {
		churn(big)
	}
	// let the goroutines reach their receive before anything is measured
	for i := 0; i < 1000 && runtime.NumGoroutine() < ngo+1; i++ {
		runtime.Gosched()
	}
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGUSR1, syscall.SIGTERM, syscall.SIGINT)
	f, err := os.OpenFile(os.Args[1], os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0644)
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	buf := make([]byte, 0, 64<<10)
	// Warm up the wait below: the first time the main goroutine sleeps in
	// a system call, the runtime may start a thread (an M: its m, g0 and
	// gsignal, and their stacks, come from the heap) to run what else is
	// runnable, such as the scavenger.  Better before ReadMemStats.
	nap := syscall.Timespec{Nsec: 20 * 1000 * 1000}
	for i := 0; i < 5; i++ {
		syscall.Nanosleep(&nap, nil)
	}
	pinSpanBases(ngrow)
	var ms runtime.MemStats
	report(f, buf, &ms, release, hold, "")
	if after > 0 {
		// allocate after the stats, without a GC: the per-P mcaches now
		// hold counts ReadMemStats would flush first (go_memstats.c)
		addSessions(after)
		f.Write([]byte("after\n"))
	}
	grown := 0
	head := make([]byte, 0, 64)
	// Wait by polling: a goroutine parked on a channel takes a sudog, and
	// the GC empties the sudog caches, so blocking on sig would allocate
	// one right after ReadMemStats; time.Sleep may allocate a P's timer
	// array.  A nanosleep system call allocates nothing.
	for {
		var s os.Signal
		select {
		case s = <-sig:
		default:
			syscall.Nanosleep(&nap, nil)
			continue
		}
		if s != syscall.SIGUSR1 {
			os.Exit(0)
		}
		grow(ngrow, &nap)
		grown++
		head = append(head[:0], "grown "...)
		head = strconv.AppendInt(head, int64(grown), 10)
		head = append(head, '\n')
		report(f, buf, &ms, release, hold, string(head))
	}
}
