package breaker

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/apiguard/apiguard/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// Every error comes from a real redis-server or a real socket: a reply
// (even an error reply) means Redis was reached, except the replies that
// say it cannot serve.
func TestConnFailure(t *testing.T) {
	s := redistest.Start(t)
	ctx := redistest.Context(t, 10*time.Second)
	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	// a listener that accepts and never answers: a hung Redis
	hung, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hung.Close() })
	slow := redis.NewClient(&redis.Options{Addr: hung.Addr().String(), MaxRetries: -1, ReadTimeout: 50 * time.Millisecond})
	t.Cleanup(func() { _ = slow.Close() })
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { _ = dead.Close() })
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	reply := func(msg string) error { return c.Eval(ctx, "return redis.error_reply(ARGV[1])", nil, msg).Err() }

	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"redis.Nil", c.Get(ctx, "missing").Err(), false},
		{"script error", c.Eval(ctx, "return redis.call('INCR', 'x', 'y')", nil).Err(), false},
		{"NOSCRIPT", c.EvalSha(ctx, "0000000000000000000000000000000000000000", nil).Err(), false},
		{"WRONGTYPE", func() error { c.HSet(ctx, "h", "a", "b"); return c.Incr(ctx, "h").Err() }(), false},
		{"LOADING", reply("LOADING Redis is loading the dataset in memory"), true},
		{"CLUSTERDOWN", reply("CLUSTERDOWN The cluster is down"), true},
		{"MASTERDOWN", reply("MASTERDOWN Link with MASTER is down"), true},
		{"connection refused", dead.Ping(ctx).Err(), true},
		{"read timeout", slow.Ping(ctx).Err(), true},
		{"caller cancelled", c.Ping(cancelled).Err(), false},
		{"client closed", func() error {
			d := redis.NewClient(&redis.Options{Addr: s.Addr})
			_ = d.Close()
			return d.Ping(ctx).Err()
		}(), false},
		{"wrapped refusal", errors.Join(errors.New("redisstore"), dead.Ping(ctx).Err()), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil && tt.name != "nil" {
				t.Fatal("the call did not fail")
			}
			if got := ConnFailure(tt.err); got != tt.want {
				t.Fatalf("ConnFailure(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// The counting rules, on an injected clock and a probe that never runs:
// Threshold consecutive failures within Window open; a reply in between or
// a gap over Window starts the count again; one failure soon after a
// closing reopens.
func TestBreakerCounting(t *testing.T) {
	refused := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { _ = refused.Close() })
	connErr := refused.Ping(context.Background()).Err()
	replyErr := redis.Nil
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type step struct {
		at  time.Duration // since t0
		err error
	}
	tests := []struct {
		name  string
		steps []step
		open  bool
	}{
		{"three in a row", []step{{0, connErr}, {10 * time.Millisecond, connErr}, {20 * time.Millisecond, connErr}}, true},
		{"two are not enough", []step{{0, connErr}, {10 * time.Millisecond, connErr}}, false},
		{"a success resets", []step{{0, connErr}, {1, connErr}, {2, nil}, {3, connErr}, {4, connErr}}, false},
		{"an error reply resets", []step{{0, connErr}, {1, connErr}, {2, replyErr}, {3, connErr}, {4, connErr}}, false},
		{"a gap over Window resets", []step{{0, connErr}, {1, connErr}, {2 * time.Second, connErr}, {2*time.Second + 1, connErr}}, false},
		{"cancelled contexts do not count", []step{{0, connErr}, {1, context.Canceled}, {2, connErr}}, false},
		{"gaps within Window add up", []step{{0, connErr}, {900 * time.Millisecond, connErr}, {1800 * time.Millisecond, connErr}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0
			never := make(chan time.Time)
			b, err := New(Options{Now: func() time.Time { return now }, After: func(time.Duration) <-chan time.Time { return never }},
				func(context.Context) error { return nil })
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.steps {
				now = t0.Add(s.at)
				_ = b.Done(s.err)
			}
			if b.Open() != tt.open || (b.Allow() != nil) != tt.open {
				t.Fatalf("open %v, want %v", b.Open(), tt.open)
			}
		})
	}
}

// A probe closes the breaker; a failure within Window of that closing
// reopens it at once, one outside starts counting again.
func TestBreakerReopen(t *testing.T) {
	refused := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { _ = refused.Close() })
	connErr := refused.Ping(context.Background()).Err()
	for _, tt := range []struct {
		name  string
		after time.Duration
		open  bool
	}{{"within Window", 500 * time.Millisecond, true}, {"after Window", 2 * time.Second, false}} {
		t.Run(tt.name, func(t *testing.T) {
			t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			now := t0
			ticks := make(chan time.Time)
			changes := make(chan bool, 4)
			b, err := New(Options{Now: func() time.Time { return now }, After: func(time.Duration) <-chan time.Time { return ticks },
				OnChange: func(open bool) { changes <- open }}, func(context.Context) error { return nil })
			if err != nil {
				t.Fatal(err)
			}
			for range 3 {
				b.Done(connErr)
			}
			if !<-changes {
				t.Fatal("not opened")
			}
			ticks <- t0 // the probe succeeds
			if <-changes {
				t.Fatal("not closed")
			}
			now = t0.Add(tt.after)
			b.Done(connErr)
			if b.Open() != tt.open {
				t.Fatalf("one failure %v after closing: open %v, want %v", tt.after, b.Open(), tt.open)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	for _, o := range []Options{{Threshold: -1}, {Window: -1}, {ProbeInterval: -1}} {
		if _, err := New(o, nil); err == nil {
			t.Fatalf("%+v accepted", o)
		}
	}
}
