//go:build linux

package ratelimit

import "syscall"

// threadCPU returns the CPU time the calling OS thread has used, in ns. On a
// machine shared with other work, CPU time per operation is a steadier
// figure than wall time.
func threadCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
