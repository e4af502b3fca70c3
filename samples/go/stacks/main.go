// stacks — the Go sample behind tests/t3430-go-stacks.sh: goroutine stacks
// as Go's collector scans them, precisely, by the compiler's stack maps.
//
// It fills a global map cache, turns the collector off (so that what it
// would free stays in the heap for the snapshot to show), and parks four
// goroutines on a channel receive, each in a frame whose stack map the
// test can check:
//   - main.stale used a big []byte and the cache map, then calls park with
//     both dead: their stack slots still hold the pointers, so a
//     conservative scan keeps the big object alive and shares the map with
//     main.cache; the collector does neither (the big object is garbage);
//   - main.holdLocal keeps an *Entry in a local that is live across park,
//     with 2 MiB of Data: a leak suspect that `top` names by its holder,
//     the goroutine, its frame and the local;
//   - main.holdArg keeps its *Entry argument live across park;
//   - main.holdStackObject keeps an *Entry in an address-taken array (a
//     stack object) that parkWith reads after park.
// Those three Entries are held by nothing else.  Seven more goroutines
// park through main.waitInlined, which the compiler inlines into their
// closure: one stack, seven goroutines, a frame that exists only in the
// inline tree.  The sample's own goroutine profile (runtime/pprof, debug=1)
// goes to REPORT.goroutines once all are parked.  The main goroutine waits
// in a nanosleep system call; on SIGUSR1 the cache grows by exactly `grow`
// entries, on a goroutine that then exits, and the report gets "grown N";
// on SIGUSR2 it runs the collector once (runtime.GC returns when the heap
// is swept), allocates nothing more, and the report gets "collected": a
// snapshot then holds what the collector kept, the ground truth for what
// a snapshot before it must find reachable.  The cache (2000 entries of a
// KiB) is over a fifth of the heap, a leak suspect to `heapsnap top`.
//
// The report (argv[1]): the addresses as "NAME 0xADDR" lines (bigaddr,
// cachemap: the map's header, local, arg, stackobj, entry: one cached
// Entry), each parked goroutine as "goroutine NAME GOID", "entries N",
// then "ready".  It is written once all four are parked (runtime.Stack
// says so: "[chan receive]" in main.park).
//
//   go-stacks REPORT [entries=N] [grow=K]
package main

import (
	"bytes"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

type Entry struct {
	Key  string
	Data []byte
	Next *Entry
}

var (
	cache  = map[string]*Entry{}
	parked chan int
	nextID int
	// addresses for the report: uintptrs are no pointers to the collector
	bigAddr, localAddr, argAddr, objAddr uintptr
	sink                                 int
)

//go:noinline
func use(b []byte) { b[len(b)-1]++ }

//go:noinline
func useMap(m map[string]*Entry) int { return len(m) }

//go:noinline
func park() { <-parked }

//go:noinline
func newEntry(key string) *Entry { return &Entry{Key: key, Data: make([]byte, 100)} }

// stale uses big and the cache map across calls, so that both are saved
// in its frame, then parks with both dead.
//
//go:noinline
func stale() {
	big := make([]byte, 8<<20)
	use(big)
	m := cache
	n := useMap(m)
	use(big)
	n += useMap(m)
	bigAddr = uintptr(unsafe.Pointer(&big[0]))
	sink += n
	park()
}

//go:noinline
func holdLocal() {
	e := newEntry("held-by-local")
	e.Data = make([]byte, 2<<20)
	localAddr = uintptr(unsafe.Pointer(e))
	park()
	use(e.Data)
}

//go:noinline
func holdArg(e *Entry) {
	argAddr = uintptr(unsafe.Pointer(e))
	park()
	use(e.Data)
}

//go:noinline
func parkWith(p *[4]*Entry) {
	park()
	use(p[1].Data)
}

// waitInlined is small enough to be inlined where it is called.
func waitInlined() { park() }

const inlined = 7

//go:noinline
func holdStackObject() {
	var arr [4]*Entry
	arr[1] = newEntry("held-by-stack-object")
	objAddr = uintptr(unsafe.Pointer(arr[1]))
	parkWith(&arr)
}

func addEntries(n int) {
	for i := 0; i < n; i++ {
		nextID++
		k := "e" + strconv.Itoa(nextID)
		cache[k] = &Entry{Key: k, Data: make([]byte, 1024)}
	}
}

// grow adds n entries on a goroutine that exits before it returns: a dead
// goroutine's stack is no root.
func grow(n int, nap *syscall.Timespec) {
	done := make(chan bool, 1)
	go func() {
		addEntries(n)
		done <- true
	}()
	for len(done) == 0 {
		syscall.Nanosleep(nap, nil)
	}
}

// parkedIDs finds, in runtime.Stack's dump of every goroutine, the ids of
// the goroutines blocked in main.park under each of the functions; ok when
// all are, and the `inlined` goroutines of main.waitInlined too.
func parkedIDs(buf []byte, fns []string) (ids []string, ok bool) {
	n := runtime.Stack(buf, true)
	ids = make([]string, len(fns))
	waiting := 0
	for _, g := range bytes.Split(buf[:n], []byte("\n\n")) {
		s := string(g)
		if !strings.Contains(s, "[chan receive]") || !strings.Contains(s, "\nmain.park(") {
			continue
		}
		if strings.Contains(s, "\nmain.waitInlined(") {
			waiting++
		}
		for i, fn := range fns {
			if strings.Contains(s, "\nmain."+fn+"(") {
				f := strings.Fields(s)
				ids[i] = f[1]
			}
		}
	}
	for _, id := range ids {
		if id == "" {
			return ids, false
		}
	}
	return ids, waiting == inlined
}

func main() {
	if len(os.Args) < 2 {
		os.Stderr.WriteString("usage: go-stacks REPORT [entries=N] [grow=K]\n")
		os.Exit(2)
	}
	nent, ngrow := 2000, 100
	for _, a := range os.Args[2:] {
		k, v, _ := strings.Cut(a, "=")
		n, _ := strconv.Atoi(v)
		switch k {
		case "entries":
			nent = n
		case "grow":
			ngrow = n
		}
	}
	addEntries(nent)
	parked = make(chan int)
	runtime.GC()
	debug.SetGCPercent(-1) // what the collector would free stays for the snapshot
	go stale()
	go holdLocal()
	go func() { holdArg(newEntry("held-by-arg")) }()
	go holdStackObject()
	for i := 0; i < inlined; i++ {
		go func() { waitInlined() }()
	}
	fns := []string{"stale", "holdLocal", "holdArg", "holdStackObject"}
	buf := make([]byte, 1<<20)
	nap := syscall.Timespec{Nsec: 20 * 1000 * 1000}
	var ids []string
	for ok := false; !ok; {
		syscall.Nanosleep(&nap, nil)
		ids, ok = parkedIDs(buf, fns)
	}
	prof, err := os.Create(os.Args[1] + ".goroutines")
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	pprof.Lookup("goroutine").WriteTo(prof, 1)
	prof.Close()
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGTERM, syscall.SIGINT)
	collected := []byte("collected\n")
	f, err := os.OpenFile(os.Args[1], os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0644)
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	var out []byte
	addr := func(k string, a uintptr) {
		out = append(out, k+" 0x"+strconv.FormatUint(uint64(a), 16)+"\n"...)
	}
	addr("bigaddr", bigAddr)
	addr("cachemap", *(*uintptr)(unsafe.Pointer(&cache)))
	addr("local", localAddr)
	addr("arg", argAddr)
	addr("stackobj", objAddr)
	for _, e := range cache {
		addr("entry", uintptr(unsafe.Pointer(e)))
		break
	}
	for i, fn := range fns {
		out = append(out, "goroutine "+fn+" "+ids[i]+"\n"...)
	}
	out = append(out, "entries "+strconv.Itoa(len(cache))+"\nready\n"...)
	f.Write(out)
	grown := 0
	for {
		var s os.Signal
		select {
		case s = <-sig:
		default:
			syscall.Nanosleep(&nap, nil)
			continue
		}
		if s == syscall.SIGUSR2 {
			runtime.GC()
			f.Write(collected)
			continue
		}
		if s != syscall.SIGUSR1 {
			os.Exit(0)
		}
		grow(ngrow, &nap)
		grown++
		f.Write([]byte("grown " + strconv.Itoa(grown) + "\nentries " + strconv.Itoa(len(cache)) + "\n"))
	}
}
