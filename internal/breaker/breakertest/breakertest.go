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

// FailFast drives call through an outage of s, Redis being up at the
// start. With the breaker (disabled false): Redis stopped, call fails until
// the breaker opens (10 calls at most), then 50 calls must each fail with an
// error refused accepts while count (dials, or commands sent) does not move;
// after the restart a probe closes the breaker and call succeeds. Without
// it (disabled true), the same calls fail otherwise and count moves: the
// proof that count measures what the breaker removes.
func FailFast(ctx context.Context, t *testing.T, s Stoppable, d *Driver, disabled bool, count func() int64, refused func(error) bool, call func() error) {
	t.Helper()
	if err := call(); err != nil {
		t.Fatalf("Redis up: %v", err)
	}
	s.Stop()
	if disabled {
		before := count()
		for range 3 {
			if err := call(); err == nil || refused(err) {
				t.Fatalf("Redis down, no breaker: %v", err)
			}
		}
		if count() == before {
			t.Fatal("calls without a breaker did not reach the network: the count measures nothing")
		}
		return
	}
	opened := false
	for i := 0; i < 10 && !opened; i++ {
		if err := call(); err == nil {
			t.Fatal("Redis down: a call succeeded")
		}
		opened = d.Opened()
	}
	if !opened {
		t.Fatal("breaker not open after 10 failed calls")
	}
	const calls = 50
	before := count()
	for range calls {
		if err := call(); !refused(err) {
			t.Fatalf("breaker open: %v, want the open breaker's error", err)
		}
	}
	if n := count() - before; n != 0 {
		t.Fatalf("breaker open: %d calls reached the network %d times, want 0", calls, n)
	}
	s.Restart()
	d.AwaitClosed(ctx, t)
	if err := call(); err != nil {
		t.Fatalf("after the probe closed the breaker: %v", err)
	}
}
