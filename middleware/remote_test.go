package middleware

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apiguard/apiguard/internal/jwstest"
	"github.com/apiguard/apiguard/middleware/jose"
	"github.com/apiguard/apiguard/middleware/token"
)

// jwksServer serves a JWKS handler, or fails with status, or hangs until
// release is closed.
type jwksServer struct {
	*httptest.Server
	status  atomic.Int32 // non-zero: answer this instead
	hang    atomic.Bool
	release chan struct{}
}

func newJWKSServer(t *testing.T, h http.Handler) *jwksServer {
	t.Helper()
	s := &jwksServer{release: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.hang.Load() {
			<-s.release
		}
		if st := s.status.Load(); st != 0 {
			w.WriteHeader(int(st))
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		close(s.release)
		s.Close()
	})
	return s
}

// newRemoteIssuer returns an issuer signing with the named test key (its
// kid is the key's thumbprint) and a token it issued.
func newRemoteIssuer(t *testing.T, key string) (*token.Issuer, string) {
	t.Helper()
	iss, err := token.NewIssuer(token.IssuerConfig{Issuer: testIss, Audience: testAud, Key: jwstest.Signer(t, key)})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := iss.Issue("alice", token.TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return iss, tok
}

// Through the gate: tokens of a remote issuer verify; a JWKS down from the
// start is a 503, not a 401; and an unknown kid with a hanging JWKS server
// holds the request about one LookupTimeout, however many algorithms the
// gate tries for it.
func TestRemoteJWKSThroughGate(t *testing.T) {
	iss, tok := newRemoteIssuer(t, "p256")
	up := newJWKSServer(t, iss.JWKSHandler())
	algs := []string{jose.RS256, jose.RS384, jose.PS256, jose.ES256, jose.ES384, jose.EdDSA}
	gate := func(t *testing.T, r *jose.RemoteJWKS) *Authenticator {
		a, err := New(Config{Keys: r, Algorithms: algs, Issuer: testIss, Audience: testAud})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	remote := func(t *testing.T, url string, mod func(*jose.RemoteJWKSConfig)) *jose.RemoteJWKS {
		cfg := jose.RemoteJWKSConfig{URL: url}
		if mod != nil {
			mod(&cfg)
		}
		r, err := jose.NewRemoteJWKS(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}

	t.Run("verifies", func(t *testing.T) {
		if c, err := gate(t, remote(t, up.URL, nil)).Verify(context.Background(), tok); err != nil || c.Subject != "alice" {
			t.Fatalf("Verify: %v", err)
		}
	})
	t.Run("unavailable is 503", func(t *testing.T) {
		down := newJWKSServer(t, iss.JWKSHandler())
		down.status.Store(500)
		_, err := gate(t, remote(t, down.URL, nil)).Verify(context.Background(), tok)
		var ge *Error
		if !errors.As(err, &ge) || ge.Status != http.StatusServiceUnavailable || ge.Reason != ReasonKeysUnavailable {
			t.Fatalf("Verify with no keys: %v, want a 503 keys_unavailable", err)
		}
	})
	t.Run("hanging server", func(t *testing.T) {
		other, _ := newRemoteIssuer(t, "p256b") // serves a key of another kid
		srv := newJWKSServer(t, other.JWKSHandler())
		r := remote(t, srv.URL, func(c *jose.RemoteJWKSConfig) { c.LookupTimeout = time.Second })
		srv.hang.Store(true)
		start := time.Now()
		if _, err := gate(t, r).Verify(context.Background(), tok); err == nil {
			t.Fatal("a token of an unknown kid verified")
		}
		// One LookupTimeout is 1 s; one per algorithm tried would be 6 s.
		if d := time.Since(start); d > 4*time.Second {
			t.Errorf("Verify took %v with a hanging JWKS server", d)
		}
	})
}

// Config.JWKSURL: the Authenticator fetches the set itself, accepts the
// asymmetric algorithms by default, and Close stops its client.
func TestConfigJWKSURL(t *testing.T) {
	iss, tok := newRemoteIssuer(t, "p256")
	srv := newJWKSServer(t, iss.JWKSHandler())
	a, err := New(Config{JWKSURL: srv.URL, Issuer: testIss, Audience: testAud})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := a.Verify(context.Background(), tok); err != nil || c.Subject != "alice" {
		t.Fatalf("Verify: %v", err)
	}
	k := fixtureKeys(t)
	hs := signJSON(t, jose.HS256, k.HMAC, `{"alg":"HS256","kid":"hs1","typ":"at+jwt"}`, claimsJSON())
	if _, err := a.Verify(context.Background(), hs); reasonOf(err) != ReasonAlgNotAllowed {
		t.Errorf("HS256 from a remote set: reason %q, want %q", reasonOf(err), ReasonAlgNotAllowed)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if !a.one.remote.Ready() {
		t.Error("keys lost by Close")
	}
	// Closed: an unknown kid no longer makes it fetch.
	_, otherTok := newRemoteIssuer(t, "p256b")
	if _, err := a.Verify(context.Background(), otherTok); reasonOf(err) != ReasonUnknownKID {
		t.Errorf("after Close: reason %q, want %q", reasonOf(err), ReasonUnknownKID)
	}
}
