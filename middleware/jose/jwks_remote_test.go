package jose

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apiguard/apiguard/auditlog"
)

// rjServer serves a JWK Set and counts the requests.
type rjServer struct {
	*httptest.Server
	hits atomic.Int64

	mu           sync.Mutex
	body         []byte
	cacheControl string
	status       int
	chunked      bool
	block        chan struct{} // non-nil: requests wait for it to close
}

func newRJServer(t *testing.T, keys ...*Key) *rjServer {
	t.Helper()
	s := &rjServer{status: http.StatusOK}
	s.set(t, keys...)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		body, cc, status, chunked, block := s.body, s.cacheControl, s.status, s.chunked, s.block
		s.mu.Unlock()
		if block != nil {
			<-block
		}
		if cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.WriteHeader(status)
		if chunked {
			w.(http.Flusher).Flush() // no Content-Length: the size is known only by reading
		}
		w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *rjServer) set(t testing.TB, keys ...*Key) {
	t.Helper()
	body, err := marshalJWKS(keys)
	if err != nil {
		t.Fatal(err)
	}
	s.setBody(body)
}

func (s *rjServer) setBody(b []byte) {
	s.mu.Lock()
	s.body = b
	s.mu.Unlock()
}

func (s *rjServer) with(f func(s *rjServer)) {
	s.mu.Lock()
	f(s)
	s.mu.Unlock()
}

func rjKey(t testing.TB, kid, alg, key string) *Key {
	t.Helper()
	k, err := NewKey(kid, alg, issKey(t, key).Public())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newRJ(t *testing.T, url string, clock *issClock, mod func(*RemoteJWKSConfig)) *RemoteJWKS {
	t.Helper()
	cfg := RemoteJWKSConfig{URL: url, Now: clock.Now}
	if mod != nil {
		mod(&cfg)
	}
	r, err := NewRemoteJWKS(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewRemoteJWKS: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func rjLookup(r *RemoteJWKS, kid, alg string) error {
	_, err := r.LookupKey(context.Background(), kid, alg)
	return err
}

func TestRemoteJWKSInitialFetch(t *testing.T) {
	srv := newRJServer(t, rjKey(t, "k1", ES256, "p256"), rjKey(t, "k2", EdDSA, "ed"))
	r := newRJ(t, srv.URL, newIssClock(), nil)
	if !r.Ready() || r.LastError() != nil || srv.hits.Load() != 1 {
		t.Fatalf("Ready %v LastError %v hits %d", r.Ready(), r.LastError(), srv.hits.Load())
	}
	k, err := r.LookupKey(context.Background(), "k1", ES256)
	if err != nil || k.ID() != "k1" {
		t.Fatalf("LookupKey k1: %v %v", k, err)
	}
	if err := rjLookup(r, "k1", RS256); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("k1 with another alg: %v", err)
	}
	if len(r.Keys()) != 2 {
		t.Errorf("Keys: %d", len(r.Keys()))
	}
	// Known keys are answered without a fetch.
	for range 100 {
		if err := rjLookup(r, "k2", EdDSA); err != nil {
			t.Fatal(err)
		}
	}
	if h := srv.hits.Load(); h != 1 {
		t.Errorf("%d fetches for known keys, want 1", h)
	}
}

// A RemoteJWKS over a JWKS handler holds its keys and refreshes at the
// handler's max-age.
func TestRemoteJWKSFromHandler(t *testing.T) {
	key := rjKey(t, "k1", ES256, "p256")
	h, err := NewJWKSHandler(&keyList{keys: []*Key{key}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	r := newRJ(t, srv.URL, newIssClock(), nil)
	if k, err := r.LookupKey(context.Background(), "k1", ES256); err != nil || k.Public() == nil {
		t.Fatalf("LookupKey: %v", err)
	}
	if d := r.refreshAt().Sub(newIssClock().Now()); d != DefaultJWKSMaxAge {
		t.Errorf("refresh in %v, want the handler's max-age %v", d, DefaultJWKSMaxAge)
	}
}

func (r *RemoteJWKS) refreshAt() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.nextRefresh
}

func TestRemoteJWKSCacheControl(t *testing.T) {
	tests := []struct {
		cc   string
		want time.Duration
	}{
		{"public, max-age=120", 120 * time.Second},
		{"max-age=5", time.Minute},                       // below MinRefresh
		{"max-age=99999999999999999999", 24 * time.Hour}, // above MaxRefresh, overflowing
		{"", 15 * time.Minute},                           // none: the default
		{"no-store", time.Minute},
		{"no-cache, max-age=3600", time.Minute},
		{"max-age=abc", 15 * time.Minute},
		{`MAX-AGE="600"`, 10 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.cc, func(t *testing.T) {
			srv := newRJServer(t, rjKey(t, "k1", ES256, "p256"))
			srv.with(func(s *rjServer) { s.cacheControl = tt.cc })
			clock := newIssClock()
			t0 := clock.Now()
			r := newRJ(t, srv.URL, clock, nil)
			if got := r.refreshAt().Sub(t0); got != tt.want {
				t.Fatalf("next refresh in %v, want %v", got, tt.want)
			}
			clock.Set(t0.Add(tt.want - time.Second))
			if r.refreshDue() {
				t.Error("refresh due too early")
			}
			r.refreshIfDue()
			if h := srv.hits.Load(); h != 1 {
				t.Errorf("%d fetches before the refresh time", h)
			}
			clock.Set(t0.Add(tt.want))
			if !r.refreshDue() {
				t.Error("refresh not due on time")
			}
			r.refreshIfDue()
			if h := srv.hits.Load(); h != 2 {
				t.Errorf("%d fetches after the refresh time, want 2", h)
			}
		})
	}
}

func TestRemoteJWKSUnknownKID(t *testing.T) {
	srv := newRJServer(t, rjKey(t, "k1", ES256, "p256"))
	clock := newIssClock()
	r := newRJ(t, srv.URL, clock, func(c *RemoteJWKSConfig) { c.LookupTimeout = time.Minute })
	srv.set(t, rjKey(t, "k1", ES256, "p256"), rjKey(t, "new", EdDSA, "ed"))

	round := func(kid string) (ok int) {
		var wg sync.WaitGroup
		var n atomic.Int64
		for range 50 {
			wg.Go(func() {
				if rjLookup(r, kid, EdDSA) == nil {
					n.Add(1)
				}
			})
		}
		wg.Wait()
		return int(n.Load())
	}
	if ok := round("new"); ok != 50 {
		t.Errorf("%d of 50 lookups found the new key", ok)
	}
	if h := srv.hits.Load(); h != 2 {
		t.Fatalf("%d fetches after 50 concurrent unknown-kid lookups, want 2 (initial + one)", h)
	}
	// Unknown kids within the interval cause no fetch at all.
	if ok := round("never"); ok != 0 {
		t.Errorf("%d lookups of an absent kid succeeded", ok)
	}
	clock.Advance(29 * time.Second)
	round("never-either")
	if h := srv.hits.Load(); h != 2 {
		t.Fatalf("%d fetches within the interval, want 2", h)
	}
	clock.Advance(time.Second)
	round("never")
	if h := srv.hits.Load(); h != 3 {
		t.Fatalf("%d fetches after the interval, want 3", h)
	}
}

// A server that hangs does not hold a lookup longer than LookupTimeout.
func TestRemoteJWKSSlowServer(t *testing.T) {
	srv := newRJServer(t, rjKey(t, "k1", ES256, "p256"))
	r := newRJ(t, srv.URL, newIssClock(), func(c *RemoteJWKSConfig) { c.LookupTimeout = 100 * time.Millisecond })
	release := make(chan struct{})
	srv.with(func(s *rjServer) { s.block = release })
	t.Cleanup(func() { close(release) }) // runs before the server's and r's Close

	done := make(chan error, 1)
	go func() { done <- rjLookup(r, "unknown", ES256) }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrKeyNotFound) {
			t.Errorf("lookup: %v, want ErrKeyNotFound", err)
		}
	case <-time.After(5 * time.Second): // 50x LookupTimeout: only a hang trips this
		t.Fatal("lookup still waiting on the slow JWKS server")
	}
	if srv.hits.Load() != 2 {
		t.Errorf("the unknown kid did not trigger a fetch (%d)", srv.hits.Load())
	}
	if err := rjLookup(r, "k1", ES256); err != nil {
		t.Errorf("known key while a fetch hangs: %v", err)
	}
}

func TestRemoteJWKSKeepsKeysOnFailure(t *testing.T) {
	k1 := rjKey(t, "k1", ES256, "p256")
	big := func(t testing.TB) []byte {
		b, _ := marshalJWKS([]*Key{k1, rjKey(t, "k2", EdDSA, "ed")})
		return append(b, bytes.Repeat([]byte(" "), 4096)...)
	}
	tests := []struct {
		name    string
		breakIt func(s *rjServer)
		reason  string
	}{
		{"oversize with Content-Length", func(s *rjServer) { s.body = big(t) }, AuditJWKSFetchFailed},
		{"oversize chunked", func(s *rjServer) { s.body, s.chunked = big(t), true }, AuditJWKSFetchFailed},
		{"status 500", func(s *rjServer) { s.status = 500 }, AuditJWKSFetchFailed},
		{"not JSON", func(s *rjServer) { s.body = []byte("<html>") }, AuditJWKSFetchFailed},
		{"two keys members", func(s *rjServer) { s.body = []byte(`{"keys":[],"keys":[]}`) }, AuditJWKSFetchFailed},
		{"empty set", func(s *rjServer) { s.body = []byte(`{"keys":[]}`) }, AuditJWKSNoUsableKey},
		{"only bad keys", func(s *rjServer) { s.body = []byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}`) }, AuditJWKSNoUsableKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newRJServer(t, k1)
			var log bytes.Buffer
			clock := newIssClock()
			r := newRJ(t, srv.URL, clock, func(c *RemoteJWKSConfig) {
				c.MaxResponseSize = 2048
				c.Audit = auditlog.New(&log, auditlog.Options{})
			})
			srv.with(tt.breakIt)
			clock.Advance(15 * time.Minute)
			r.refreshIfDue()
			if srv.hits.Load() != 2 {
				t.Fatalf("hits %d", srv.hits.Load())
			}
			if r.LastError() == nil {
				t.Error("LastError is nil after a failed refresh")
			}
			if err := rjLookup(r, "k1", ES256); err != nil {
				t.Errorf("old key lost after a failed refresh: %v", err)
			}
			if err := rjLookup(r, "k2", EdDSA); !errors.Is(err, ErrKeyNotFound) {
				t.Errorf("k2 from a refused response: %v", err)
			}
			if got := r.refreshAt().Sub(clock.Now()); got != time.Minute {
				t.Errorf("retry in %v, want MinRefresh", got)
			}
			if !strings.Contains(log.String(), `"event":"store_unavailable"`) || !strings.Contains(log.String(), `"reason":"`+tt.reason+`"`) {
				t.Errorf("audit log %q", log.String())
			}
		})
	}
	t.Run("ErrJWKSTooLarge", func(t *testing.T) {
		srv := newRJServer(t, k1)
		srv.setBody(big(t))
		r := newRJ(t, srv.URL, newIssClock(), func(c *RemoteJWKSConfig) { c.MaxResponseSize = 2048 })
		if !errors.Is(r.LastError(), ErrJWKSTooLarge) {
			t.Errorf("LastError %v", r.LastError())
		}
	})
}

func TestRemoteJWKSKeyRemovedUpstream(t *testing.T) {
	k1, k2 := rjKey(t, "k1", ES256, "p256"), rjKey(t, "k2", EdDSA, "ed")
	srv := newRJServer(t, k1, k2)
	clock := newIssClock()
	r := newRJ(t, srv.URL, clock, nil)
	if rjLookup(r, "k1", ES256) != nil || rjLookup(r, "k2", EdDSA) != nil {
		t.Fatal("keys missing")
	}
	srv.set(t, k2)
	clock.Advance(15 * time.Minute)
	r.refreshIfDue()
	if err := rjLookup(r, "k1", ES256); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("a key removed upstream is still accepted: %v", err)
	}
	if rjLookup(r, "k2", EdDSA) != nil {
		t.Error("k2 lost")
	}
}

func TestRemoteJWKSBadKeySkipped(t *testing.T) {
	good, _ := marshalJWKS([]*Key{rjKey(t, "good", ES256, "p256")})
	// A key without alg, one with "use":"enc", a secret, a duplicate kid.
	n := base64.RawURLEncoding.EncodeToString(issKey(t, "rsa").Public().(*rsa.PublicKey).N.Bytes())
	body := strings.Replace(string(good), `"keys":[`, `"keys":[`+
		`{"kty":"RSA","kid":"no-alg","n":"`+n+`","e":"AQAB"},`+
		`{"kty":"RSA","kid":"enc","alg":"RS256","use":"enc","n":"`+n+`","e":"AQAB"},`+
		`{"kty":"oct","kid":"secret","alg":"HS256","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI"},`, 1)
	srv := newRJServer(t)
	srv.setBody([]byte(body))
	var log bytes.Buffer
	r := newRJ(t, srv.URL, newIssClock(), func(c *RemoteJWKSConfig) { c.Audit = auditlog.New(&log, auditlog.Options{}) })
	if err := rjLookup(r, "good", ES256); err != nil {
		t.Fatalf("good key: %v (LastError %v)", err, r.LastError())
	}
	for _, kid := range []string{"no-alg", "enc"} {
		if err := rjLookup(r, kid, RS256); !errors.Is(err, ErrKeyNotFound) {
			t.Errorf("bad key %q: %v", kid, err)
		}
	}
	// A secret fetched from a URL is no secret: never an HMAC key.
	if err := rjLookup(r, "secret", HS256); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("HMAC key from a remote JWKS: %v", err)
	}
	if !strings.Contains(log.String(), AuditJWKSKeySkipped) {
		t.Errorf("skipped keys not reported: %q", log.String())
	}
	if strings.Contains(log.String(), n[:20]) || strings.Contains(log.String(), "c2VjcmV0") || strings.Contains(log.String(), "127.0.0.1") {
		t.Errorf("key material or URL in the audit log: %q", log.String())
	}
}

func TestRemoteJWKSUnavailableFromStart(t *testing.T) {
	srv := newRJServer(t, rjKey(t, "k1", ES256, "p256"))
	srv.with(func(s *rjServer) { s.status = http.StatusServiceUnavailable })
	clock := newIssClock()
	var log bytes.Buffer
	r := newRJ(t, srv.URL+"/jwks?token=s3cr3t", clock, func(c *RemoteJWKSConfig) { c.Audit = auditlog.New(&log, auditlog.Options{}) })
	if r.Ready() || r.LastError() == nil {
		t.Fatalf("Ready %v LastError %v", r.Ready(), r.LastError())
	}
	if err := rjLookup(r, "k1", ES256); !errors.Is(err, ErrKeysUnavailable) {
		t.Errorf("lookup with no keys: %v, want ErrKeysUnavailable", err)
	}
	if !strings.Contains(log.String(), AuditJWKSFetchFailed) || strings.Contains(log.String(), "s3cr3t") {
		t.Errorf("audit log %q", log.String())
	}
	// The server recovers: the next lookup after the interval fetches.
	srv.with(func(s *rjServer) { s.status = http.StatusOK })
	clock.Advance(30 * time.Second)
	if err := rjLookup(r, "k1", ES256); err != nil || !r.Ready() || r.LastError() != nil {
		t.Errorf("after recovery: %v, Ready %v, LastError %v", err, r.Ready(), r.LastError())
	}

	t.Run("connection refused", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close()
		r := newRJ(t, dead.URL+"/?key=s3cr3t", newIssClock(), nil)
		if err := rjLookup(r, "k1", ES256); !errors.Is(err, ErrKeysUnavailable) {
			t.Errorf("lookup: %v", err)
		}
		if err := r.LastError(); err == nil || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("LastError %v: want an error without the URL", err)
		}
	})
}

// The source fetches its configured URL and nothing else.
func TestRemoteJWKSRedirects(t *testing.T) {
	other := newRJServer(t, rjKey(t, "evil", ES256, "p256"))
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/same" {
			w.Header().Set("Cache-Control", "max-age=300")
			w.Write([]byte(`{"keys":[]}`))
			return
		}
		if r.URL.Path == "/local" {
			http.Redirect(w, r, "/same", http.StatusFound)
			return
		}
		http.Redirect(w, r, other.URL+"/jwks", http.StatusFound)
	}))
	t.Cleanup(redirector.Close)
	r := newRJ(t, redirector.URL+"/jwks", newIssClock(), nil)
	if other.hits.Load() != 0 || r.Ready() {
		t.Errorf("followed a redirect to another host (%d hits)", other.hits.Load())
	}
	if err := r.LastError(); err == nil || !strings.Contains(err.Error(), "another host") {
		t.Errorf("LastError %v", err)
	}
	r2 := newRJ(t, redirector.URL+"/local", newIssClock(), nil)
	if err := r2.LastError(); err == nil || !strings.Contains(err.Error(), "no usable key") {
		t.Errorf("a same-host redirect was not followed: %v", err)
	}
}

func TestNewRemoteJWKSConfig(t *testing.T) {
	for _, tt := range []struct {
		url      string
		insecure bool
		ok       bool
	}{
		{"https://idp.example/jwks", false, true},
		{"http://127.0.0.1:8080/jwks", false, true},
		{"http://localhost/jwks", false, true},
		{"http://[::1]:9/jwks", false, true},
		{"http://idp.example/jwks", false, false},
		{"http://idp.example/jwks", true, true},
		{"http://10.0.0.1/jwks", false, false},
		{"ftp://idp.example/jwks", true, false},
		{"file:///etc/passwd", true, false},
		{"https:///jwks", false, false},
		{"/jwks", false, false},
		{"", false, false},
		{"https://idp.example:bad/", false, false},
	} {
		t.Run(tt.url, func(t *testing.T) {
			err := checkJWKSURL(tt.url, tt.insecure)
			if (err == nil) != tt.ok {
				t.Errorf("checkJWKSURL(%q, %v) = %v", tt.url, tt.insecure, err)
			}
			if err != nil && !strings.Contains(err.Error(), "URL") {
				t.Errorf("error %q does not name URL", err)
			}
		})
	}
	for _, tt := range []struct {
		name string
		mod  func(*RemoteJWKSConfig)
	}{
		{"MinRefresh", func(c *RemoteJWKSConfig) { c.MinRefresh = -1 }},
		{"MaxRefresh", func(c *RemoteJWKSConfig) { c.MaxRefresh = -1 }},
		{"MinRefresh", func(c *RemoteJWKSConfig) { c.MinRefresh, c.MaxRefresh = time.Hour, time.Minute }},
		{"UnknownKIDInterval", func(c *RemoteJWKSConfig) { c.UnknownKIDInterval = -1 }},
		{"LookupTimeout", func(c *RemoteJWKSConfig) { c.LookupTimeout = -1 }},
		{"MaxResponseSize", func(c *RemoteJWKSConfig) { c.MaxResponseSize = -1 }},
		{"URL", func(c *RemoteJWKSConfig) { c.URL = "http://idp.example/" }},
		{"Algorithms", func(c *RemoteJWKSConfig) { c.Algorithms = []string{RS256, "none"} }},
		{"DefaultAlgs", func(c *RemoteJWKSConfig) { c.Algorithms, c.DefaultAlgs = []string{RS256}, []string{PS256} }},
		{"KeyAlgs", func(c *RemoteJWKSConfig) { c.KeyAlgs = map[string]string{"k": "RSA-OAEP"} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := RemoteJWKSConfig{URL: "https://idp.invalid/jwks"}
			tt.mod(&cfg)
			r, err := NewRemoteJWKS(context.Background(), cfg)
			if err == nil {
				r.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.name) {
				t.Errorf("error %q does not name %s", err, tt.name)
			}
		})
	}
}

// Close and a cancelled context both stop the background goroutines.
func TestRemoteJWKSStop(t *testing.T) {
	srv := newRJServer(t, rjKey(t, "k1", ES256, "p256"))
	r := newRJ(t, srv.URL, newIssClock(), nil)
	r.Close()
	r.Close()
	if rjLookup(r, "k1", ES256) != nil {
		t.Error("keys lost on Close")
	}
	if err := rjLookup(r, "unknown", ES256); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("lookup after Close: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	r2, err := NewRemoteJWKS(ctx, RemoteJWKSConfig{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	stopped := make(chan struct{})
	go func() { r2.wg.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the refresh goroutine outlived its context")
	}
}

func FuzzCacheMaxAge(f *testing.F) {
	for _, s := range []string{"max-age=60", "public, max-age=0", "no-store", `max-age="1"`, "max-age=99999999999999999999999", "max-age=-1", ",,=,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, ok, _ := cacheMaxAge([]string{s}); d < 0 || (!ok && d != 0) {
			t.Fatalf("cacheMaxAge(%q) = %v, %v", s, d, ok)
		}
	})
}

// A JWKS server that hangs does not hold up NewRemoteJWKS beyond
// InitialWait: it returns while the server still holds the first request
// (nothing released it), lookups answer ErrKeysUnavailable, and once the
// server answers the keys are found. An ambiguous key in that late first
// answer is set aside and reported, not a construction error.
func TestRemoteJWKSHangingFirstFetch(t *testing.T) {
	withAlg := rsaJWK("k2", issKey(t, "rsa2").Public().(*rsa.PublicKey)).with("alg", PS256).json(t)
	noAlg := rsaJWK("entra-1", issKey(t, "rsa").Public().(*rsa.PublicKey)).with("alg", nil).json(t)
	tests := []struct {
		name        string
		initialWait time.Duration
		body        []byte
		skipped     string // the kid reported as set aside, if any
	}{
		{"default wait (LookupTimeout)", 0, setOf(withAlg), ""},
		{"short wait", 20 * time.Millisecond, setOf(withAlg), ""},
		{"no wait", -1, setOf(withAlg), ""},
		{"ambiguous key arriving late", -1, setOf(withAlg, noAlg), "entra-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arrived, release := make(chan struct{}, 4), make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				arrived <- struct{}{}
				<-release
				w.Header().Set("Content-Type", "application/jwk-set+json")
				w.Write(tt.body)
			}))
			t.Cleanup(srv.Close)
			t.Cleanup(func() {
				select {
				case <-release:
				default:
					close(release)
				}
			})
			// firstDone closes when the first fetch's round trip returns,
			// whatever its outcome (an answer, or giving up)
			firstDone := make(chan struct{})
			rt := &firstTrip{next: http.DefaultTransport, done: firstDone}
			skipped := make(chan SkippedKey, 4)
			r, err := NewRemoteJWKS(t.Context(), RemoteJWKSConfig{URL: srv.URL, InitialWait: tt.initialWait,
				Client:        &http.Client{Transport: rt},
				LookupTimeout: 20 * time.Millisecond, Algorithms: []string{RS256, PS256},
				OnSkippedKey: func(s SkippedKey) { skipped <- s }})
			if err != nil {
				t.Fatalf("NewRemoteJWKS: %v", err)
			}
			t.Cleanup(func() { r.Close() })
			select {
			case <-firstDone:
				t.Fatal("NewRemoteJWKS returned only after the first fetch ended")
			default: // returned while the first fetch still hangs
			}
			<-arrived
			if r.Ready() {
				t.Fatal("ready before the server answered")
			}
			if err := rjLookup(r, "k2", PS256); !errors.Is(err, ErrKeysUnavailable) {
				t.Fatalf("lookup while the first fetch hangs: %v, want ErrKeysUnavailable", err)
			}
			close(release)
			for !r.Ready() { // the fetch in flight completes; no timing asserted
				select {
				case <-t.Context().Done():
					t.Fatal("never ready")
				case <-time.After(time.Millisecond):
				}
			}
			if err := rjLookup(r, "k2", PS256); err != nil {
				t.Fatalf("after the server answered: %v", err)
			}
			if tt.skipped != "" {
				if s := <-skipped; s.KID != tt.skipped || s.Reason != SkipAmbiguousAlg {
					t.Fatalf("reported %+v, want %s set aside as %s", s, tt.skipped, SkipAmbiguousAlg)
				}
			}
		})
	}
}

// firstTrip closes done when its first round trip returns.
type firstTrip struct {
	next http.RoundTripper
	done chan struct{}
	once sync.Once
}

func (f *firstTrip) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := f.next.RoundTrip(r)
	f.once.Do(func() { close(f.done) })
	return resp, err
}
