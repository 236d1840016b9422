package jose

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apiguard/apiguard/auditlog"
	"github.com/apiguard/apiguard/internal/idptest"
)

// discoveredServer serves a discovery document whose jwks_uri is one of two
// paths, each serving another provider's key set.
type discoveredServer struct {
	srv      *httptest.Server
	second   atomic.Bool // jwks_uri names /keys2
	issuer   atomic.Value
	p1, p2   *idptest.Provider
	discHits atomic.Int64
}

func newDiscoveredServer(t *testing.T) *discoveredServer {
	s := &discoveredServer{p1: idptest.New(t, idptest.Auth0), p2: idptest.New(t, idptest.Auth0)}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		s.discHits.Add(1)
		path := "/keys1"
		if s.second.Load() {
			path = "/keys2"
		}
		iss := s.srv.URL
		if v, ok := s.issuer.Load().(string); ok {
			iss = v
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write([]byte(`{"issuer":"` + iss + `","jwks_uri":"` + s.srv.URL + path + `"}`))
	})
	mux.HandleFunc("/keys1", func(w http.ResponseWriter, r *http.Request) { w.Write(s.p1.JWKS()) })
	mux.HandleFunc("/keys2", func(w http.ResponseWriter, r *http.Request) { w.Write(s.p2.JWKS()) })
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

type testClock struct{ off atomic.Int64 }

func (c *testClock) now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *testClock) advance(d time.Duration) { c.off.Add(int64(d)) }

// A later discovery naming another jwks_uri replaces the key set.
func TestDiscoveredJWKSURIChange(t *testing.T) {
	s := newDiscoveredServer(t)
	var clk testClock
	d, err := NewDiscoveredJWKS(DiscoveredJWKSConfig{Discovery: DiscoveryConfig{Issuer: s.srv.URL, Now: clk.now}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	if _, err := d.LookupKey(ctx, s.p1.SigningKid(), RS256); err != nil {
		t.Fatalf("first set: %v", err)
	}
	s.second.Store(true)
	clk.advance(2 * time.Minute) // past Check and the document's MinRefresh
	deadline := time.Now().Add(3 * time.Second)
	for {
		_, err := d.LookupKey(ctx, s.p2.SigningKid(), RS256)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("second set never used: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := d.LookupKey(ctx, s.p1.SigningKid(), RS256); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("first set's key after the change: %v, want ErrKeyNotFound", err)
	}
}

// NewDiscoveredJWKS never waits for the network, and a lookup waits at most
// LookupTimeout, then answers ErrKeysUnavailable with a RetryAfter.
func TestDiscoveredJWKSNonBlocking(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	start := time.Now()
	d, err := NewDiscoveredJWKS(DiscoveredJWKSConfig{Discovery: DiscoveryConfig{Issuer: srv.URL, Timeout: 5 * time.Second}, LookupTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 50*time.Millisecond {
		t.Errorf("NewDiscoveredJWKS took %v", el)
	}
	start = time.Now()
	_, err = d.LookupKey(context.Background(), "k", RS256)
	if el := time.Since(start); el > time.Second {
		t.Errorf("LookupKey took %v, want about LookupTimeout", el)
	}
	var ra interface{ RetryAfter() time.Duration }
	if !errors.Is(err, ErrKeysUnavailable) || !errors.As(err, &ra) || ra.RetryAfter() < time.Second {
		t.Errorf("lookup error %v, want ErrKeysUnavailable with a RetryAfter of at least 1 s", err)
	}
	go d.Close() // Close waits for the hung fetch to be cancelled
}

// lockedBuf is a bytes.Buffer safe for the fetching goroutine and the test.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A document naming another issuer is never used, and the failure is
// recorded in the audit log.
func TestDiscoveredJWKSIssuerMismatch(t *testing.T) {
	s := newDiscoveredServer(t)
	s.issuer.Store("https://evil.example")
	var log lockedBuf
	d, err := NewDiscoveredJWKS(DiscoveredJWKSConfig{Discovery: DiscoveryConfig{Issuer: s.srv.URL},
		JWKS: RemoteJWKSConfig{Audit: auditlog.New(&log, auditlog.Options{})}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	_, err = d.LookupKey(context.Background(), s.p1.SigningKid(), RS256)
	if !errors.Is(err, ErrKeysUnavailable) || !errors.Is(err, ErrDiscoveryInvalid) {
		t.Errorf("lookup error %v, want ErrKeysUnavailable and ErrDiscoveryInvalid", err)
	}
	if !strings.Contains(log.String(), AuditDiscoveryFailed) {
		t.Errorf("audit log %q does not record %s", log.String(), AuditDiscoveryFailed)
	}
}

func TestDiscoveredJWKSConfigErrors(t *testing.T) {
	for name, cfg := range map[string]DiscoveredJWKSConfig{
		"JWKS.URL":      {Discovery: DiscoveryConfig{Issuer: "https://a.example"}, JWKS: RemoteJWKSConfig{URL: "https://a.example/k"}},
		"AllowInsecure": {Discovery: DiscoveryConfig{Issuer: "https://a.example"}, JWKS: RemoteJWKSConfig{AllowInsecure: true}},
		"Check":         {Discovery: DiscoveryConfig{Issuer: "https://a.example"}, Check: -1},
		"LookupTimeout": {Discovery: DiscoveryConfig{Issuer: "https://a.example"}, LookupTimeout: -1},
		"Issuer":        {Discovery: DiscoveryConfig{Issuer: "http://a.example"}},
	} {
		if d, err := NewDiscoveredJWKS(cfg); err == nil {
			d.Close()
			t.Errorf("%s: accepted", name)
		}
	}
}
