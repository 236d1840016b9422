// Package breakertest helps the Redis stores' tests watch their circuit
// breakers against a real redis-server: a dialer that counts dials, and a
// probe schedule and transition feed the test drives, so no test waits on a
// timer or asserts a duration.
package breakertest

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// Dials counts the connections a go-redis client opens.
type Dials struct{ n atomic.Int64 }

// Dialer is a redis.Options.Dialer that counts every dial attempt.
func (d *Dials) Dialer(ctx context.Context, network, addr string) (net.Conn, error) {
	d.n.Add(1)
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

// N is the number of dial attempts so far.
func (d *Dials) N() int64 { return d.n.Load() }

// Driver is a breaker's probe schedule and transition feed under a test's
// control: set After and OnChange of the breaker's options to its methods.
type Driver struct {
	ticks   chan time.Time
	changes chan bool
}

// NewDriver returns a Driver.
func NewDriver() *Driver {
	return &Driver{ticks: make(chan time.Time), changes: make(chan bool, 16)}
}

// After is the breaker's probe schedule: a probe runs only when the test
// lets it (Probe, AwaitClosed).
func (d *Driver) After(time.Duration) <-chan time.Time { return d.ticks }

// OnChange records a transition.
func (d *Driver) OnChange(open bool) { d.changes <- open }

// AwaitOpen fails t unless the next transition is an opening, waiting until
// ctx is done at most.
func (d *Driver) AwaitOpen(ctx context.Context, t testing.TB) {
	t.Helper()
	select {
	case open := <-d.changes:
		if !open {
			t.Fatal("breaker closed, want open")
		}
	case <-ctx.Done():
		t.Fatal("breaker never opened")
	}
}

// Opened reports whether a transition to open is pending, without waiting.
func (d *Driver) Opened() bool {
	select {
	case open := <-d.changes:
		return open
	default:
		return false
	}
}

// AwaitClosed lets probes run, one after the other, until one closes the
// breaker, failing t if ctx ends first.
func (d *Driver) AwaitClosed(ctx context.Context, t testing.TB) {
	t.Helper()
	for {
		select {
		case d.ticks <- time.Time{}:
		case open := <-d.changes:
			if open {
				t.Fatal("breaker opened again, want closed")
			}
			return
		case <-ctx.Done():
			t.Fatal("breaker never closed")
		}
	}
}
