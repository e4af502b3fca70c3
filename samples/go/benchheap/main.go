// benchheap — the Go heap bench/go-index indexes: N small objects of a
// pointer-carrying struct (a chain plus two random links each, as
// samples/bench_heap.c builds for malloc), a fifth as many []byte buffers
// (noscan), and G goroutines parked on a channel, so that the heap walk,
// the precise reference scan, the goroutines table and MemStats all have
// work.  With F (default 0), F garbage Nodes are allocated beside each
// kept one and collected before "ready": F x N free slots in spans the
// kept Nodes hold in use, as a service's heap has them after a burst.
// Writes "ready" to the report file (argv[1]) and waits.  With L (default
// 0), each SIGUSR1 leaks L more Nodes (a list a global holds, each linked
// to a kept Node) and appends "grown K" (K signals so far) to the report:
// the growing service bench/diff captures between leaks.
//
//   go-benchheap REPORT N [G [F [L]]]
package main

import (
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
)

type Node struct {
	Next, A, B *Node
	Value      int64
	Buf        []byte
}

var (
	nodes  []*Node
	leaked []*Node
	block  chan int
)

func park() { <-block }

func main() {
	if len(os.Args) < 3 {
		os.Stderr.WriteString("usage: go-benchheap REPORT N [G [F]]\n")
		os.Exit(2)
	}
	n, _ := strconv.Atoi(os.Args[2])
	g := 1000
	if len(os.Args) > 3 {
		g, _ = strconv.Atoi(os.Args[3])
	}
	free := 0
	if len(os.Args) > 4 {
		free, _ = strconv.Atoi(os.Args[4])
	}
	leak := 0
	if len(os.Args) > 5 {
		leak, _ = strconv.Atoi(os.Args[5])
	}
	nodes = make([]*Node, n)
	// all garbage stays reachable until every Node is made, so that no
	// collection before then frees a slot for a later Node to take
	junk := make([]*Node, 0, free*n)
	var prev *Node
	seed := uint64(88172645463325252)
	for i := range nodes {
		x := &Node{Value: int64(i), Next: prev}
		if i%5 == 0 {
			x.Buf = make([]byte, 64)
		}
		nodes[i] = x
		prev = x
		for k := 0; k < free; k++ {
			junk = append(junk, &Node{Value: int64(k)})
		}
	}
	junk = nil
	if free > 0 {
		runtime.GC() // the garbage Nodes become free slots, swept
	}
	for _, x := range nodes {
		seed ^= seed << 13
		seed ^= seed >> 7
		seed ^= seed << 17
		x.A = nodes[seed%uint64(n)]
		x.B = nodes[(seed>>20)%uint64(n)]
	}
	block = make(chan int)
	for i := 0; i < g; i++ {
		go park()
	}
	f, err := os.Create(os.Args[1])
	if err != nil {
		os.Exit(1)
	}
	// made before "ready", so that nothing is allocated once it is said
	sig := make(chan os.Signal, 1)
	if leak > 0 {
		signal.Notify(sig, syscall.SIGUSR1)
	}
	f.WriteString("ready\n")
	nap := syscall.Timespec{Nsec: 100000000}
	for grown := 0; ; {
		select {
		case <-sig:
			for i := 0; i < leak; i++ {
				seed ^= seed << 13
				seed ^= seed >> 7
				seed ^= seed << 17
				leaked = append(leaked, &Node{Value: int64(i), A: nodes[seed%uint64(n)]})
			}
			runtime.GC()
			grown++
			f.WriteString("grown " + strconv.Itoa(grown) + "\n")
		default:
		}
		syscall.Nanosleep(&nap, nil)
	}
}
