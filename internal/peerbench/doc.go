// Package peerbench compares apiguard with the peer libraries its users would
// otherwise glue together. It is a module of its own so that the peers never
// enter apiguard's go.mod; it has no code of its own, only tests and
// benchmarks.
package peerbench
