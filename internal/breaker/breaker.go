// Package breaker is the circuit breaker apiguard's Redis stores share, so
// that once Redis is known to be down a call fails at once instead of
// waiting for the client's dials and retries.
//
// # States
//
//   - Closed (the start): every call goes to Redis. Each connection-level
//     failure (see ConnFailure) is counted; any reply from Redis, an error
//     reply included, resets the count.
//   - Open: after Threshold consecutive connection-level failures, each
//     within Window of the one before, or one failure while the previous
//     opening is less than Window old (a flapping Redis). Allow then fails
//     every call with ErrOpen without touching the network, and a background
//     probe (Probe, a PING) runs every ProbeInterval.
//   - Back to closed as soon as a probe succeeds.
//
// There is no half-open state letting trial calls through: the probe is the
// only trial, so no request pays for finding Redis still down. Each
// transition is reported once through OnChange. The probe's goroutine runs only
// while the breaker is open, and ends when Redis answers or its client is
// closed.
//
// A Breaker is safe for concurrent use; Allow and a successful Done take no
// lock and do not allocate.
package breaker

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults of Options.
const (
	DefaultThreshold     = 3
	DefaultWindow        = time.Second
	DefaultProbeInterval = 250 * time.Millisecond
)

// ErrOpen is the error of a call refused while the breaker is open. Stores
// wrap it in their own unavailable error.
var ErrOpen = errors.New("redis unreachable (circuit breaker open; calls fail at once until a probe succeeds)")

// Options configures a breaker. The zero value is usable: the defaults below.
type Options struct {
	// Disabled turns the breaker off: every call goes to Redis, as without
	// one. Default false.
	Disabled bool
	// Threshold is how many consecutive connection-level failures open the
	// breaker. Default DefaultThreshold (3).
	Threshold int
	// Window: consecutive failures count together only when each follows
	// the previous within Window, and a failure within Window of the last
	// closing reopens at once. Default DefaultWindow (1 s).
	Window time.Duration
	// ProbeInterval is the pause between probes while open, and each
	// probe's timeout. Default DefaultProbeInterval (250 ms), so recovery is
	// noticed within about that.
	ProbeInterval time.Duration
	// OnChange is told of each transition, once (true: opened), from the
	// goroutine that made it. It must not block. Default none.
	OnChange func(open bool)
	// Now is the clock of Window. Default time.Now.
	Now func() time.Time
	// After schedules the probes. Default time.After; tests pass a channel
	// they fire themselves.
	After func(time.Duration) <-chan time.Time
}

// Breaker is one store's circuit breaker.
type Breaker struct {
	o     Options
	probe func(context.Context) error

	open     atomic.Bool
	failures atomic.Int32 // consecutive, while closed; read without the lock

	mu       sync.Mutex // guards the fields below and transitions
	last     time.Time  // of the last counted failure
	closedAt time.Time  // of the last closing
}

// New returns a breaker whose probe is probe (for Redis, a PING). Negative
// durations or Threshold are errors.
func New(o Options, probe func(context.Context) error) (*Breaker, error) {
	if o.Threshold < 0 || o.Window < 0 || o.ProbeInterval < 0 {
		return nil, errors.New("Breaker: Threshold, Window and ProbeInterval must not be negative")
	}
	if o.Threshold == 0 {
		o.Threshold = DefaultThreshold
	}
	if o.Window == 0 {
		o.Window = DefaultWindow
	}
	if o.ProbeInterval == 0 {
		o.ProbeInterval = DefaultProbeInterval
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.After == nil {
		o.After = time.After
	}
	return &Breaker{o: o, probe: probe}, nil
}

// NewRedis returns a breaker probing c with PING.
func NewRedis(c redis.UniversalClient, o Options) (*Breaker, error) {
	return New(o, func(ctx context.Context) error { return c.Ping(ctx).Err() })
}

// Allow returns ErrOpen while the breaker is open, nil otherwise. A nil
// breaker allows everything.
func (b *Breaker) Allow() error {
	if b != nil && b.open.Load() {
		return ErrOpen
	}
	return nil
}

// Open reports whether the breaker is open.
func (b *Breaker) Open() bool { return b != nil && b.open.Load() }

// Done records the outcome of a call Allow let through and returns err
// unchanged: nil or any reply from Redis resets the count of failures, a
// connection-level failure counts, and anything else (a cancelled context)
// is ignored.
func (b *Breaker) Done(err error) error {
	if b == nil || b.o.Disabled {
		return err
	}
	if err == nil || !ConnFailure(err) {
		if err == nil || isReply(err) {
			if b.failures.Load() != 0 {
				b.failures.Store(0)
			}
		}
		return err
	}
	b.fail()
	return err
}

func (b *Breaker) fail() {
	b.mu.Lock()
	if b.open.Load() {
		b.mu.Unlock()
		return
	}
	now := b.o.Now()
	n := b.failures.Load()
	if n > 0 && now.Sub(b.last) > b.o.Window {
		n = 0 // the previous failures are too old to count with this one
	}
	n++
	b.failures.Store(n)
	b.last = now
	flapping := !b.closedAt.IsZero() && now.Sub(b.closedAt) <= b.o.Window
	if int(n) < b.o.Threshold && !flapping {
		b.mu.Unlock()
		return
	}
	b.open.Store(true)
	b.failures.Store(0)
	b.mu.Unlock()
	if b.o.OnChange != nil {
		b.o.OnChange(true)
	}
	go b.probeLoop()
}

// probeLoop probes every ProbeInterval until a probe succeeds, then closes
// the breaker. It ends, leaving the breaker open, when the client is closed.
func (b *Breaker) probeLoop() {
	for {
		<-b.o.After(b.o.ProbeInterval)
		ctx, cancel := context.WithTimeout(context.Background(), b.o.ProbeInterval)
		err := b.probe(ctx)
		cancel()
		if errors.Is(err, redis.ErrClosed) {
			return
		}
		if err == nil {
			b.mu.Lock()
			b.closedAt = b.o.Now()
			b.failures.Store(0)
			b.open.Store(false)
			b.mu.Unlock()
			if b.o.OnChange != nil {
				b.o.OnChange(false)
			}
			return
		}
	}
}

// ConnFailure reports whether err says Redis could not be reached or could
// not serve: a network error (refused, reset, EOF, a dial or read timeout),
// or the error replies LOADING, CLUSTERDOWN and MASTERDOWN. A script error,
// NOSCRIPT, redis.Nil, a pool timeout (too many calls in flight, not an
// outage) or a cancelled or expired context of the caller are not.
func ConnFailure(err error) bool {
	if err == nil {
		return false
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true // even inside a DeadlineExceeded of the dial timeout
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, redis.ErrPoolTimeout) || errors.Is(err, redis.ErrClosed) {
		return false
	}
	if redis.IsLoadingError(err) || redis.IsClusterDownError(err) || redis.IsMasterDownError(err) {
		return true
	}
	if isReply(err) {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// isReply reports whether err is a reply from Redis (an error reply or
// redis.Nil): Redis was reached.
func isReply(err error) bool {
	var re redis.Error
	return errors.As(err, &re)
}
