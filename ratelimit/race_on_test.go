//go:build race

package ratelimit

// raceEnabled: the race detector makes sync.Pool drop items, so allocation
// counts are only meaningful without it.
const raceEnabled = true
