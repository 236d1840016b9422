package redisstore_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apiguard/apiguard/auditlog"
	"github.com/apiguard/apiguard/internal/redistest"
	"github.com/apiguard/apiguard/middleware"
	"github.com/apiguard/apiguard/middleware/redisstore"
	"github.com/redis/go-redis/v9"
)

const iss = "https://issuer.example"

func newClient(t testing.TB, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// syncBuffer is an audit sink safe to read while the list's goroutine writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// events counts the store_unavailable audit lines with the given detail.
func (s *syncBuffer) events(detail string) int {
	return s.count(func(d, _ string) bool { return d == detail })
}

// count counts the store_unavailable audit lines whose detail and reason
// match.
func (s *syncBuffer) count(match func(detail, reason string) bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(s.b.Bytes()))
	for sc.Scan() {
		var line struct{ Event, Detail, Reason string }
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Event == string(auditlog.StoreUnavailable) && match(line.Detail, line.Reason) {
			n++
		}
	}
	return n
}

func newList(t testing.TB, c redis.UniversalClient, opts redisstore.RevocationOptions) *redisstore.RevocationList {
	t.Helper()
	l, err := redisstore.NewRevocationList(redistest.Context(t, 5*time.Second), c, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func revoked(l middleware.RevocationList, jti, sub string, iat time.Time) bool {
	ok, err := l.IsRevoked(iss, jti, sub, "", iat)
	return ok && err == nil
}

func TestRevocationPropagates(t *testing.T) {
	s := redistest.Start(t)
	ctx := context.Background()
	a := newList(t, newClient(t, s.Addr), redisstore.RevocationOptions{})
	b := newList(t, newClient(t, s.Addr), redisstore.RevocationOptions{})
	now := time.Now()

	t.Run("token", func(t *testing.T) {
		if revoked(b, "jti-1", "", now) {
			t.Fatal("revoked before RevokeToken")
		}
		if err := a.RevokeToken(ctx, iss, "jti-1", now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if !revoked(a, "jti-1", "", now) {
			t.Fatal("the revoking instance does not see its own revocation at once")
		}
		eventually(t, time.Second, "token revocation seen by the other instance", func() bool {
			return revoked(b, "jti-1", "", now)
		})
		if revoked(b, "jti-2", "", now) || revokedOther(b, now) {
			t.Fatal("revocation leaked to another token or issuer")
		}
	})

	t.Run("subject", func(t *testing.T) {
		cut := now.Add(-time.Minute)
		if err := a.RevokeSubject(ctx, iss, "alice", cut, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		eventually(t, time.Second, "subject revocation seen by the other instance", func() bool {
			return revoked(b, "any", "alice", cut.Add(-time.Second))
		})
		if revoked(b, "any", "alice", cut.Add(time.Second)) {
			t.Fatal("a token issued after the cut-off is revoked")
		}
		if revoked(b, "any", "bob", cut.Add(-time.Second)) {
			t.Fatal("another subject is revoked")
		}
		// An earlier cut-off never shortens a later one, in Redis too.
		if err := a.RevokeSubject(ctx, iss, "alice", cut.Add(-time.Hour), now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		c := newList(t, newClient(t, s.Addr), redisstore.RevocationOptions{})
		if !revoked(c, "any", "alice", cut.Add(-time.Second)) {
			t.Fatal("an earlier cut-off replaced the later one in Redis")
		}
	})
}

func revokedOther(l middleware.RevocationList, now time.Time) bool {
	ok, _ := l.IsRevoked("https://other.example", "jti-1", "", "", now)
	return ok
}

func TestRevocationLoadedAtStart(t *testing.T) {
	s := redistest.Start(t)
	ctx := context.Background()
	a := newList(t, newClient(t, s.Addr), redisstore.RevocationOptions{})
	now := time.Now()
	if err := a.RevokeToken(ctx, iss, "jti-early", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := a.RevokeSubject(ctx, iss, "mallory", now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// An expired token needs no entry.
	if err := a.RevokeToken(ctx, iss, "jti-gone", now.Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	b := newList(t, newClient(t, s.Addr), redisstore.RevocationOptions{})
	if !b.InSync() {
		t.Fatal("a new list is not in sync after construction")
	}
	if !revoked(b, "jti-early", "", now) {
		t.Fatal("token revoked before start is not in the new replica")
	}
	if !revoked(b, "x", "mallory", now.Add(-time.Second)) {
		t.Fatal("subject revoked before start is not in the new replica")
	}
	if revoked(b, "jti-gone", "", now) {
		t.Fatal("an already expired token was stored")
	}
}

func TestRevocationRedisDownAndBack(t *testing.T) {
	for _, failOpen := range []bool{false, true} {
		t.Run("FailOpen="+strconv.FormatBool(failOpen), func(t *testing.T) {
			s := redistest.Start(t)
			ctx := context.Background()
			var audit syncBuffer
			a := newList(t, newClient(t, s.Addr), redisstore.RevocationOptions{})
			b := newList(t, newClient(t, s.Addr), redisstore.RevocationOptions{
				FailOpen: failOpen,
				Audit:    auditlog.New(&audit, auditlog.Options{}),
			})
			now := time.Now()
			if err := a.RevokeToken(ctx, iss, "before-outage", now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			eventually(t, time.Second, "revocation seen", func() bool { return revoked(b, "before-outage", "", now) })

			s.Stop()
			eventually(t, 5*time.Second, "out of sync after Redis stopped", func() bool { return !b.InSync() })
			got, err := b.IsRevoked(iss, "before-outage", "", "", now)
			other, otherErr := b.IsRevoked(iss, "never-revoked", "", "", now)
			if failOpen {
				if !got || err != nil || other || otherErr != nil {
					t.Fatalf("fail open: IsRevoked = (%v, %v), (%v, %v); want the replica's answers", got, err, other, otherErr)
				}
			} else {
				if got || !errors.Is(err, middleware.ErrRevocationUnavailable) ||
					other || !errors.Is(otherErr, middleware.ErrRevocationUnavailable) {
					t.Fatalf("fail closed: IsRevoked = (%v, %v), (%v, %v); want ErrRevocationUnavailable", got, err, other, otherErr)
				}
			}
			if err := a.RevokeToken(ctx, iss, "during-outage", now.Add(time.Hour)); err == nil {
				t.Fatal("RevokeToken with Redis down reported success")
			}
			if n := audit.events(redisstore.DetailOutOfSync); n != 1 {
				t.Fatalf("%d out-of-sync events, want 1", n)
			}

			s.Restart() // empty: persistence is off
			if err := a.RevokeToken(ctx, iss, "after-restart", now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			eventually(t, 10*time.Second, "back in sync after Redis restarted", b.InSync)
			eventually(t, time.Second, "revocation made while reconnecting seen", func() bool {
				return revoked(b, "after-restart", "", now)
			})
			if n := audit.events(redisstore.DetailInSync); n != 1 {
				t.Fatalf("%d back-in-sync events, want 1", n)
			}
			if n := audit.events(redisstore.DetailOutOfSync); n != 1 {
				t.Fatalf("%d out-of-sync events after recovery, want 1", n)
			}
			if ok, err := b.IsRevoked(iss, "never-revoked", "", "", now); ok || err != nil {
				t.Fatalf("in sync again: IsRevoked = (%v, %v)", ok, err)
			}
		})
	}
}

// proxy forwards TCP to Redis and can cut one client off while Redis and
// the other instances carry on.
type proxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.down)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(u, c); u.Close() }()
			go func() { _, _ = io.Copy(c, u); c.Close() }()
		}
	}()
}

// down refuses new connections and drops the open ones.
func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) up() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.serve(ln)
}

// TestRevocationMissedWhileDisconnected cuts only the second instance off, so
// the revocation's message is certainly lost to it: only the reload after the
// resubscription can bring it.
func TestRevocationMissedWhileDisconnected(t *testing.T) {
	s := redistest.Start(t)
	ctx := context.Background()
	p := newProxy(t, s.Addr)
	var audit syncBuffer
	a := newList(t, newClient(t, s.Addr), redisstore.RevocationOptions{})
	b := newList(t, newClient(t, p.addr), redisstore.RevocationOptions{Audit: auditlog.New(&audit, auditlog.Options{})})
	now := time.Now()

	p.down()
	eventually(t, 5*time.Second, "out of sync once cut off", func() bool { return !b.InSync() })
	if err := a.RevokeToken(ctx, iss, "while-away", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := a.RevokeSubject(ctx, iss, "trudy", now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.IsRevoked(iss, "while-away", "", "", now); !errors.Is(err, middleware.ErrRevocationUnavailable) {
		t.Fatalf("cut off, failing closed: err = %v", err)
	}
	p.up()
	eventually(t, 10*time.Second, "in sync after reconnecting", b.InSync)
	// In sync means reloaded: no waiting for a message here.
	if !revoked(b, "while-away", "", now) || !revoked(b, "x", "trudy", now.Add(-time.Second)) {
		t.Fatal("revocations made while disconnected are missing after the resync")
	}
	// The switch is recorded just after it is made: wait for the line, then
	// require exactly one per switch.
	eventually(t, 5*time.Second, "the in-sync event recorded", func() bool { return audit.events(redisstore.DetailInSync) > 0 })
	if audit.events(redisstore.DetailOutOfSync) != 1 || audit.events(redisstore.DetailInSync) != 1 {
		t.Fatalf("want one event per switch, got %d out and %d in",
			audit.events(redisstore.DetailOutOfSync), audit.events(redisstore.DetailInSync))
	}
}

func TestIsRevokedSendsNoRedisCommand(t *testing.T) {
	s := redistest.Start(t)
	ctx := context.Background()
	l := newList(t, newClient(t, s.Addr), redisstore.RevocationOptions{ResyncInterval: time.Hour})
	now := time.Now()
	if err := l.RevokeToken(ctx, iss, "hit", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	before, err := s.TotalCommands()
	if err != nil {
		t.Fatal(err)
	}
	hits := 0
	for i := range 1000 {
		jti := "miss"
		if i%2 == 0 {
			jti = "hit"
		}
		if ok, err := l.IsRevoked(iss, jti, "sub", "", now); err != nil {
			t.Fatal(err)
		} else if ok {
			hits++
		}
	}
	after, err := s.TotalCommands()
	if err != nil {
		t.Fatal(err)
	}
	if hits != 500 {
		t.Fatalf("%d hits, want 500", hits)
	}
	// The only command between the two readings is the first INFO.
	if after-before != 1 {
		t.Fatalf("%d commands during 1000 IsRevoked calls (INFO included), want 1", after-before)
	}
}

func TestIsRevokedDoesNotAllocate(t *testing.T) {
	s := redistest.Start(t)
	l := newList(t, newClient(t, s.Addr), redisstore.RevocationOptions{})
	now := time.Now()
	if err := l.RevokeSubject(context.Background(), iss, "sub", now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(1000, func() { _, _ = l.IsRevoked(iss, "jti", "sub", "", now) }); n != 0 {
		t.Fatalf("IsRevoked allocates %v times per call", n)
	}
}

func TestRevocationClose(t *testing.T) {
	s := redistest.Start(t)
	c := newClient(t, s.Addr)
	l, err := redisstore.NewRevocationList(context.Background(), c, redisstore.RevocationOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := l.IsRevoked(iss, "x", "", "", time.Now()); !errors.Is(err, middleware.ErrRevocationUnavailable) {
		t.Fatalf("closed list failing closed: err = %v", err)
	}
}

func TestNewRevocationListErrors(t *testing.T) {
	s := redistest.Start(t)
	tests := []struct {
		name   string
		client func() redis.UniversalClient
		opts   redisstore.RevocationOptions
		want   string
	}{
		{"nil client", func() redis.UniversalClient { return nil }, redisstore.RevocationOptions{}, "client"},
		{"nil *redis.Client", func() redis.UniversalClient { return (*redis.Client)(nil) }, redisstore.RevocationOptions{}, "client"},
		{"ring", func() redis.UniversalClient {
			r := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"one": s.Addr}})
			t.Cleanup(func() { _ = r.Close() })
			return r
		}, redisstore.RevocationOptions{}, "Ring"},
		{"brace in prefix", func() redis.UniversalClient { return newClient(t, s.Addr) },
			redisstore.RevocationOptions{Prefix: "a{b}:"}, "Prefix"},
		{"negative interval", func() redis.UniversalClient { return newClient(t, s.Addr) },
			redisstore.RevocationOptions{ResyncInterval: -time.Second}, "ResyncInterval"},
		{"unreachable", func() redis.UniversalClient {
			ln, _ := net.Listen("tcp", "127.0.0.1:0")
			addr := ln.Addr().String()
			ln.Close()
			return newClient(t, addr)
		}, redisstore.RevocationOptions{}, "subscribing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			l, err := redisstore.NewRevocationList(ctx, tc.client(), tc.opts)
			if err == nil {
				_ = l.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func BenchmarkRevocationCheck(b *testing.B) {
	now := time.Now()
	fill := func(b *testing.B, l middleware.RevocationList) {
		ctx := context.Background()
		for i := range 1000 {
			if err := l.RevokeToken(ctx, iss, "jti-"+strconv.Itoa(i), now.Add(time.Hour)); err != nil {
				b.Fatal(err)
			}
		}
		if err := l.RevokeSubject(ctx, iss, "someone", now, now.Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
	}
	run := func(b *testing.B, l middleware.RevocationList) {
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if ok, err := l.IsRevoked(iss, "not-revoked-jti", "alice", "", now); ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	}
	b.Run("memory", func(b *testing.B) {
		l := middleware.NewMemoryRevocationList(nil)
		fill(b, l)
		run(b, l)
	})
	b.Run("redis-replica", func(b *testing.B) {
		s := redistest.Start(b)
		l := newList(b, newClient(b, s.Addr), redisstore.RevocationOptions{})
		fill(b, l)
		run(b, l)
	})
}

// The list takes any redis.UniversalClient: through a three-master Redis
// Cluster client (whose keys share one hash tag, so the reload scans the
// master owning that slot and MGETs within it) and through a UniversalClient, revocations written
// before start are all loaded, and one written after is announced.
func TestRevocationUniversalClients(t *testing.T) {
	cs, s := redistest.StartCluster(t, 3), redistest.Start(t)
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cs.Addrs})
	t.Cleanup(func() { _ = cluster.Close() })
	universal := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{s.Addr}})
	t.Cleanup(func() { _ = universal.Close() })

	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	const before = 32 // entries in many slots
	for _, tc := range []struct {
		name string
		c    redis.UniversalClient
	}{{"cluster", cluster}, {"universal", universal}} {
		t.Run(tc.name, func(t *testing.T) {
			writer := newList(t, tc.c, redisstore.RevocationOptions{})
			for i := range before {
				if err := writer.RevokeToken(ctx, iss, "before-"+strconv.Itoa(i), exp); err != nil {
					t.Fatal(err)
				}
			}
			l := newList(t, tc.c, redisstore.RevocationOptions{})
			for i := range before {
				if revoked, err := l.IsRevoked(iss, "before-"+strconv.Itoa(i), "", "", time.Now()); err != nil || !revoked {
					t.Fatalf("revocation %d written before start not loaded: %v, %v", i, revoked, err)
				}
			}
			if err := writer.RevokeToken(ctx, iss, "after-start", exp); err != nil {
				t.Fatal(err)
			}
			eventually(t, 2*time.Second, "published revocation", func() bool {
				revoked, err := l.IsRevoked(iss, "after-start", "", "", time.Now())
				return err == nil && revoked
			})
		})
	}
}
