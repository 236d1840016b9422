package breakertest

import (
	"context"
	"os"
	"slices"
	"sync"
	"testing"
	"time"
)

// MeasureEnv gates the outage measurements: they run only when it is "1".
const MeasureEnv = "APIGUARD_MEASURE"

// Stoppable is a Redis a measurement can take away and bring back
// (a *redistest.Server).
type Stoppable interface {
	Stop()
	Restart()
}

// OutageFigures are the latencies of the calls made during an outage,
// after its first second, and how long after the restart the first call
// succeeded.
type OutageFigures struct {
	Calls    int
	P50, P99 time.Duration
	// FirstSecond: the p99 of the calls started before the end of the
	// outage's first second and ended after it began (those in flight at
	// the stop included): before and while the breaker opens.
	FirstSecond time.Duration
	Recovery    time.Duration
}

// MeasureOutage runs a stream of calls (workers goroutines, one call each
// per millisecond), stops Redis under it, keeps the stream for 1 s + d,
// restarts Redis and waits for a call to succeed. It skips t unless
// MeasureEnv is "1": it is a measurement, not a test.
func MeasureOutage(t *testing.T, s Stoppable, workers int, d time.Duration, call func(context.Context) error) OutageFigures {
	t.Helper()
	if os.Getenv(MeasureEnv) != "1" {
		t.Skip("a measurement: set " + MeasureEnv + "=1 to run it")
	}
	var (
		mu      sync.Mutex
		samples []time.Duration
		early   []time.Duration
		down    time.Time // of the stop
		from    time.Time // calls started after it are sampled; zero: none
		okAt    time.Time // first success after the restart
		after   time.Time // of the restart
	)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				start := time.Now()
				cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
				err := call(cctx)
				ccancel()
				el := time.Since(start)
				mu.Lock()
				switch {
				case !from.IsZero() && start.After(from) && (after.IsZero() || start.Before(after)):
					samples = append(samples, el)
				case !down.IsZero() && start.Add(el).After(down) && start.Before(from):
					early = append(early, el)
				}
				if err == nil && !after.IsZero() && start.After(after) && okAt.IsZero() {
					okAt = time.Now()
				}
				mu.Unlock()
				time.Sleep(time.Millisecond)
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	s.Stop()
	mu.Lock()
	down = time.Now()
	from = down.Add(time.Second)
	mu.Unlock()
	time.Sleep(time.Second + d)
	s.Restart()
	mu.Lock()
	after = time.Now()
	mu.Unlock()
	for {
		mu.Lock()
		done := !okAt.IsZero()
		mu.Unlock()
		if done || time.Since(after) > 10*time.Second {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	wg.Wait()
	slices.Sort(samples)
	slices.Sort(early)
	f := OutageFigures{Calls: len(samples)}
	if n := len(early); n > 0 {
		f.FirstSecond = early[min(n-1, n*99/100)]
	}
	if n := len(samples); n > 0 {
		f.P50, f.P99 = samples[n/2], samples[min(n-1, n*99/100)]
	}
	if !okAt.IsZero() {
		f.Recovery = okAt.Sub(after)
	}
	return f
}
