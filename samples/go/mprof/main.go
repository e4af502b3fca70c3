// mprof — the Go sample behind tests/t7000-pprof.sh: a heap whose
// allocation sites the test knows, and the runtime's own heap profile of
// it to compare heapsnap's with.
//
// It sets runtime.MemProfileRate = 1 first, so that every allocation from
// then on is sampled, then allocates from known functions: main.makeItems
// (items Item structs, kept in the global cache), main.makeBlobs (blobs
// 4 KiB byte slices, kept in the global blobs map) and main.churn (garbage,
// dropped).  It collects garbage (runtime.GC() publishes the profile's
// cycles), turns automatic collection off (so that no cycle is published
// between the profile below and the capture), writes its own heap profile
// with runtime/pprof.WriteHeapProfile to PROFILE, and writes the report
// (argv[1]): the figures and addresses the test checks, then "ready".
// On SIGUSR1 the cache grows by exactly `grow` items from main.growCache,
// and the same happens again with PROFILE.2 and "grown N".
//
//   go-mprof REPORT PROFILE [items=N] [blobs=N] [grow=K]
package main

import (
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

type Item struct {
	ID    int64
	Name  string
	Next  *Item
	Score [4]int64
}

var (
	cache []*Item
	blobs map[int][]byte
	sink  []byte
)

//go:noinline
func makeItems(n int) {
	for i := 0; i < n; i++ {
		cache = append(cache, &Item{ID: int64(i)})
	}
}

//go:noinline
func growCache(n int) {
	for i := 0; i < n; i++ {
		cache = append(cache, &Item{ID: int64(-1 - i)}) // negative: the grown ones
	}
}

//go:noinline
func makeBlobs(n int) {
	for i := 0; i < n; i++ {
		blobs[i] = make([]byte, 4096)
	}
}

//go:noinline
func churn(n int) {
	for i := 0; i < n; i++ {
		sink = make([]byte, 512)
	}
	sink = nil
}

func publish(report *os.File, profile string, extra string) {
	runtime.GC()
	f, err := os.OpenFile(profile, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0600)
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	f.Close()
	var b []byte
	b = append(b, extra...)
	b = append(b, "items "...)
	b = strconv.AppendInt(b, int64(len(cache)), 10)
	b = append(b, "\nitem_size "...)
	b = strconv.AppendInt(b, int64(unsafe.Sizeof(Item{})), 10)
	b = append(b, "\nitem 0x"...)
	b = strconv.AppendUint(b, uint64(uintptr(unsafe.Pointer(cache[0]))), 16)
	b = append(b, "\nlast_item 0x"...)
	b = strconv.AppendUint(b, uint64(uintptr(unsafe.Pointer(cache[len(cache)-1]))), 16)
	b = append(b, "\nblob 0x"...)
	b = strconv.AppendUint(b, uint64(uintptr(unsafe.Pointer(&blobs[0][0]))), 16)
	b = append(b, "\nready\n"...)
	report.Write(b)
}

func main() {
	runtime.MemProfileRate = 1
	if len(os.Args) < 3 {
		os.Stderr.WriteString("usage: go-mprof REPORT PROFILE [items=N] [blobs=N] [grow=K]\n")
		os.Exit(2)
	}
	nitems, nblobs, grow := 1000, 50, 200
	for _, a := range os.Args[3:] {
		k, v, _ := strings.Cut(a, "=")
		n, _ := strconv.Atoi(v)
		switch k {
		case "items":
			nitems = n
		case "blobs":
			nblobs = n
		case "grow":
			grow = n
		}
	}
	// capacity for every item the run will have: the backing array stays
	// one object of one size, so a diff sees only the new items
	cache = make([]*Item, 0, nitems+4*grow)
	blobs = make(map[int][]byte, nblobs)
	makeItems(nitems)
	makeBlobs(nblobs)
	churn(1000)
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGUSR1, syscall.SIGTERM, syscall.SIGINT)
	report, err := os.OpenFile(os.Args[1], os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0644)
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	debug.SetGCPercent(-1)
	publish(report, os.Args[2], "")
	for n := 2; ; n++ {
		if s := <-sig; s != syscall.SIGUSR1 {
			os.Exit(0)
		}
		growCache(grow)
		publish(report, os.Args[2]+"."+strconv.Itoa(n), "grown "+strconv.Itoa(grow)+"\n")
	}
}
