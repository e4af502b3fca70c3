// cgo — the cgo sample behind tests/t3450-go-cgo.sh: one process, two heaps.
//
// The Go side holds known Go objects (a global slice of *Item, each with a
// 64-byte payload).  The C side (glibc malloc, through import "C") has
//   - held blocks: 40 blocks of 200 bytes whose pointers Go keeps in a
//     global []unsafe.Pointer, and 3 of 256 KiB (mmapped by malloc) that a C
//     global array holds;
//   - leaked blocks: 20 of 1 MiB (each its own mmap) and 500 of 100 bytes,
//     malloc'd and filled in C, their pointers never stored anywhere.
// Then it collects Go garbage, makes 999 objects of new garbage, reads runtime.ReadMemStats() and glibc's
// mallinfo2() (read before: it is C), writes those figures, the addresses of the known blocks and
// the leaked blocks' total to the report file (argv[1]), then "ready", and
// waits without allocating, blocked in C with two addresses in its
// registers and nowhere else: a Go object Go holds only as a uintptr
// ("ghost": garbage to the collector, which never scans a thread in a cgo
// call) and a C block ("c_reg": held, as C holds what its registers hold).
//
//   go-cgo REPORT
package main

/*
#include <malloc.h>
#include <stdint.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

static void *held_by_c[3];

// Leak n blocks of size bytes: filled, and their pointers dropped here.
static unsigned long leak(int n, size_t size) {
	unsigned long usable = 0;
	for (int i = 0; i < n; i++) {
		char *p = malloc(size);
		memset(p, 0x5a, size);
		usable += malloc_usable_size(p);
	}
	return usable;
}

static void *hold_in_c(int i, size_t size) {
	held_by_c[i] = malloc(size);
	memset(held_by_c[i], 0x11, size);
	return held_by_c[i];
}

static unsigned long usable(void *p) { return malloc_usable_size(p); }
static unsigned long arena_used(void) { return mallinfo2().uordblks; }
static unsigned long arena_free(void) { return mallinfo2().fordblks; }
static unsigned long mmapped(void) { return mallinfo2().hblkhd; }
static unsigned long mmapped_count(void) { return mallinfo2().hblks; }
static void settle(void) { usleep(200000); }

// Block for good in pause(2) with go_obj in r12 and c_block in r13: both
// callee-saved, so no call in between moves them, and the syscall is made
// here, not by a libc wrapper that might spill and reuse them.
static void block_holding(uintptr_t go_obj, uintptr_t c_block) {
	register uintptr_t r12 __asm__("r12") = go_obj;
	register uintptr_t r13 __asm__("r13") = c_block;
	for (;;) {
		long rax = 34; // SYS_pause on x86-64
		__asm__ volatile("syscall" : "+a"(rax) : "r"(r12), "r"(r13) : "rcx", "r11", "memory");
	}
}
*/
import "C"

import (
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"
	"unsafe"
)

type Item struct {
	ID      int64
	Payload []byte
	C       unsafe.Pointer // a C block this Go object points to
}

var (
	items  []*Item
	cHeld  []unsafe.Pointer
	cBig   [3]unsafe.Pointer
	buf    []byte
	sink   []byte
	ghostp []byte
)

// A 5000-byte Go object that nothing holds once this returns: the global
// only makes it escape to the heap, and is cleared.
//
//go:noinline
func newGhost() uintptr {
	ghostp = make([]byte, 5000)
	a := uintptr(unsafe.Pointer(&ghostp[0]))
	ghostp = nil
	return a
}

func line(k string, v uint64, hex bool) {
	buf = append(buf, k...)
	buf = append(buf, ' ')
	if hex {
		buf = strconv.AppendUint(buf, v, 16)
	} else {
		buf = strconv.AppendUint(buf, v, 10)
	}
	buf = append(buf, '\n')
}

func main() {
	if len(os.Args) < 2 {
		os.Stderr.WriteString("usage: go-cgo REPORT\n")
		os.Exit(2)
	}
	f, err := os.Create(os.Args[1])
	if err != nil {
		os.Exit(1)
	}
	buf = make([]byte, 0, 1<<16)
	cHeld = make([]unsafe.Pointer, 40)
	var heldUsable uint64
	for i := range cHeld {
		cHeld[i] = C.malloc(200)
		C.memset(cHeld[i], 0x22, 200)
		heldUsable += uint64(C.usable(cHeld[i]))
	}
	items = make([]*Item, 100)
	for i := range items {
		items[i] = &Item{ID: int64(i), Payload: make([]byte, 64), C: cHeld[i%len(cHeld)]}
	}
	for i := range cBig {
		cBig[i] = C.hold_in_c(C.int(i), 256<<10)
	}
	leakedBig := uint64(C.leak(20, 1<<20))
	leakedSmall := uint64(C.leak(500, 100))

	// time.Sleep allocates the goroutine's timer on first use: do it now,
	// so that nothing allocates after ReadMemStats.
	time.Sleep(time.Millisecond)
	runtime.GC()
	debug.FreeOSMemory()
	// Block in C once before measuring, as the sample will after "ready":
	// while this goroutine sits in a cgo call, sysmon hands its P to another
	// thread, and a thread the runtime starts then (allocm: a Go object;
	// pthread_create: glibc's TLS) would change both heaps after the report.
	// Started now, that thread is idle and reused when the sample blocks
	// again, so the heaps stay as reported.
	C.settle()
	// Go garbage: 999 unreachable 48-byte slices that the next GC frees
	// (not a C leak, and not a leak at all).
	// Made on a goroutine that then exits: a stale copy of a slice's address
	// in a live stack would be taken for a reference (goroutine stacks are
	// scanned conservatively), a dead goroutine's stack is no root.
	made := make(chan struct{})
	go func() {
		for i := 0; i < 1000; i++ {
			sink = make([]byte, 48)
		}
		close(made)
	}()
	<-made
	ghost := newGhost()
	cReg := uintptr(C.malloc(333))
	cArena, cFree := uint64(C.arena_used()), uint64(C.arena_free())
	cMmapped, cMmappedCount := uint64(C.mmapped()), uint64(C.mmapped_count())
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	line("HeapObjects", ms.HeapObjects, false)
	line("HeapAlloc", ms.HeapAlloc, false)
	line("c_arena_used", cArena, false)
	line("c_arena_free", cFree, false)
	line("c_mmapped", cMmapped, false)
	line("c_mmapped_count", cMmappedCount, false)
	line("c_held_count", uint64(len(cHeld)), false)
	line("c_held_usable", heldUsable, false)
	line("c_leaked_count", 520, false)
	line("c_leaked_usable", leakedBig+leakedSmall, false)
	line("c_leaked_big_usable", leakedBig, false)
	line("c_held0", uint64(uintptr(cHeld[0])), true)
	line("c_big0", uint64(uintptr(cBig[0])), true)
	line("item0", uint64(uintptr(unsafe.Pointer(items[0]))), true)
	line("ghost", uint64(ghost), true)
	line("c_reg", uint64(cReg), true)
	buf = append(buf, "ready\n"...)
	f.Write(buf) // left open: closing allocates
	// Wait in C: a Go time.Sleep here would grow the P's timer heap (an
	// allocation after ReadMemStats).
	C.block_holding(C.uintptr_t(ghost), C.uintptr_t(cReg))
}
