// m0stack — the sample behind tests/t3460-go-m0-stack.sh: the process's
// main thread (the Go runtime's m0) running a goroutine at the moment of
// capture, with a stale pointer to a Go object left in the dead part of
// its own stack.
//
// m0's g0 runs on the thread's own stack (the [stack] mapping): the
// scheduler and every cgo call of a goroutine locked to m0 run there.  The
// main goroutine, locked to m0 from init, calls into C once: stash() fills
// 64 KiB of its frame with the address of an 8 MiB []byte, and returns.
// The slice is then dropped, so the words in those dead slots are the only
// place the address remains; the collector never scans g0's stack, so the
// object is garbage.  Automatic collection is off (GOGC=off by
// debug.SetGCPercent), so the object is still allocated when captured.
// The main goroutine then spins on m0, so that the thread's SP lies on the
// goroutine's stack, not on its own; nothing in its frame or registers
// holds the address (the collector scans both conservatively when it
// preempts the spin).
//
// The report (argv[1]): "bigaddr 0xADDR", "bigsize N", then "ready".  On
// SIGUSR1 another goroutine runs the collector twice and the report gets
// "collected": the object is then freed, the collector's own word that it
// was garbage.
//
//	go-m0stack REPORT
package main

/*
#include <stdint.h>

// Leave p in 8192 slots of this frame, 64 KiB below the caller's: the
// volatile stores cannot be dropped, and the frame is dead once it returns.
static __attribute__((noinline)) void stash(uintptr_t p) {
	volatile uintptr_t slots[8192];
	for (int i = 0; i < 8192; i++)
		slots[i] = p;
}
*/
import "C"

import (
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"syscall"
	"unsafe"
)

var (
	big  []byte
	stop int32
	spun uint64
)

func init() { runtime.LockOSThread() } // main.main then runs on m0, and stays there

// The 8 MiB object's address, stashed on m0's stack and held nowhere else
// once this returns.
//
//go:noinline
func stashBig() (uintptr, int) {
	big = make([]byte, 8<<20)
	for i := range big {
		big[i] = byte(i)
	}
	a := uintptr(unsafe.Pointer(&big[0]))
	n := len(big)
	C.stash(C.uintptr_t(a)) // on g0's stack: m0's own
	big = nil
	return a, n
}

// Stash the object and say where it is.  Its own frame, so that the
// address is never in main.main's: the collector scans the innermost frame
// of a goroutine it preempts (main.main, spinning) conservatively.
//
//go:noinline
func stashAndReport(f *os.File) {
	a, n := stashBig()
	f.WriteString("bigaddr 0x" + strconv.FormatUint(uint64(a), 16) + "\nbigsize " + strconv.Itoa(n) + "\n")
}

// Sixteen live values for a while: whatever registers held before (the
// address, among them) hold these after, since the spinning frame's
// registers are scanned conservatively too.
//
//go:noinline
func scrub() uint64 {
	var r [16]uint64
	for i := range r {
		r[i] = uint64(i) * 0x9e3779b97f4a7c15
	}
	a0, a1, a2, a3, a4, a5, a6, a7 := r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]
	b0, b1, b2, b3, b4, b5, b6, b7 := r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]
	for i := uint64(0); i < 1000; i++ {
		a0, a1, a2, a3 = a1^i, a2+a0, a3*3, a0+b7
		a4, a5, a6, a7 = a5^b0, a6+b1, a7*5, a4+b2
		b0, b1, b2, b3 = b1^a3, b2+a5, b3*7, b0+a6
		b4, b5, b6, b7 = b5^a7, b6+a1, b7*9, b4+a2
	}
	return a0 ^ a1 ^ a2 ^ a3 ^ a4 ^ a5 ^ a6 ^ a7 ^ b0 ^ b1 ^ b2 ^ b3 ^ b4 ^ b5 ^ b6 ^ b7
}

func main() {
	if len(os.Args) < 2 {
		os.Stderr.WriteString("usage: go-m0stack REPORT\n")
		os.Exit(2)
	}
	debug.SetGCPercent(-1)
	f, err := os.Create(os.Args[1])
	if err != nil {
		os.Exit(1)
	}
	stashAndReport(f)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	go func() {
		<-sig
		runtime.GC()
		runtime.GC()
		f.WriteString("collected\n")
	}()
	spun = scrub()
	f.WriteString("ready\n")
	for atomic.LoadInt32(&stop) == 0 {
		spun++
	}
}
