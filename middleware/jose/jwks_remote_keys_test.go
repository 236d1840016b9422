package jose

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apiguard/apiguard/auditlog"
)

// skipLog collects what OnSkippedKey is told.
type skipLog struct {
	mu  sync.Mutex
	got []SkippedKey
}

func (l *skipLog) add(s SkippedKey) {
	l.mu.Lock()
	l.got = append(l.got, s)
	l.mu.Unlock()
}

func (l *skipLog) take() []SkippedKey {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.got
	l.got = nil
	return out
}

func countLines(log, substr string) int {
	n := 0
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, substr) {
			n++
		}
	}
	return n
}

// A remote set with one bad key of each kind serves its good keys, and
// reports each bad key once, not on every refresh; a private member is a
// security_threat.
func TestRemoteJWKSSetsAsideBadKeysOnce(t *testing.T) {
	good := goodKeys(t)
	bad := badKeys(t)
	members := append([]string(nil), good...)
	for _, bk := range bad {
		members = append(members, bk.json)
	}
	srv := newRJServer(t)
	srv.setBody(setOf(members...))
	var log bytes.Buffer
	var reports skipLog
	clock := newIssClock()
	r := newRJ(t, srv.URL, clock, func(c *RemoteJWKSConfig) {
		c.Algorithms = []string{RS256, ES256}
		c.OnSkippedKey = reports.add
		c.Audit = auditlog.New(&log, auditlog.Options{SuppressWindow: -1})
	})
	for _, q := range []struct{ kid, alg string }{{"good-rsa", RS256}, {"good-ec", ES256}, {"good-ed", EdDSA}} {
		if err := rjLookup(r, q.kid, q.alg); err != nil {
			t.Fatalf("good key %s: %v (LastError %v)", q.kid, err, r.LastError())
		}
	}
	got := reports.take()
	if len(got) != len(bad) {
		t.Errorf("%d reports for %d bad keys: %v", len(got), len(bad), got)
	}
	threats := 0
	for i, bk := range bad {
		if i >= len(got) {
			break
		}
		s := got[i]
		if s.KID != bk.kid || s.Reason != bk.reason || s.Threat != bk.threat || s.Index != len(good)+i {
			t.Errorf("report %d: %+v, want %s %s threat %v", i, s, bk.kid, bk.reason, bk.threat)
		}
		if bk.threat {
			threats++
		}
	}
	if len(r.Skipped()) != len(bad) {
		t.Errorf("Skipped() has %d keys", len(r.Skipped()))
	}
	// Refreshes and unknown-kid fetches of the same set report nothing new.
	for range 3 {
		clock.Advance(15 * time.Minute)
		r.refreshIfDue()
		rjLookup(r, "bad-rsa-1024", RS256)
	}
	if h := srv.hits.Load(); h < 4 {
		t.Fatalf("%d fetches", h)
	}
	if again := reports.take(); len(again) != 0 {
		t.Errorf("reported again on refresh: %v", again)
	}
	text := log.String()
	if n := countLines(text, `"event":"security_threat"`); n != threats {
		t.Errorf("%d security_threat lines, want %d:\n%s", n, threats, text)
	}
	if n := countLines(text, `"reason":"`+AuditJWKSPrivateKey+`"`); n != threats {
		t.Errorf("%d %s lines, want %d", n, AuditJWKSPrivateKey, threats)
	}
	if n := countLines(text, `"reason":"`+AuditJWKSKeySkipped+`"`); n != len(bad)-threats {
		t.Errorf("%d %s lines, want %d", n, AuditJWKSKeySkipped, len(bad)-threats)
	}
	if !strings.Contains(text, `"kid":"bad-rsa-private"`) {
		t.Error("the threat does not name its kid")
	}
	d := b64u.EncodeToString(issKey(t, "rsa2").(*rsa.PrivateKey).D.Bytes())
	if strings.Contains(text, d[:16]) || strings.Contains(text, "127.0.0.1") {
		t.Error("key material or the URL in the audit log")
	}
	// A bad key that leaves the set and comes back is reported again.
	srv.setBody(setOf(good...))
	clock.Advance(15 * time.Minute)
	r.refreshIfDue()
	srv.setBody(setOf(good[0], bad[0].json))
	clock.Advance(15 * time.Minute)
	r.refreshIfDue()
	if again := reports.take(); len(again) != 1 || again[0].KID != bad[0].kid {
		t.Errorf("a returning bad key: %v", again)
	}
}

// Kid-less bad keys are told apart by their content, so each is reported
// once, however many share a reason.
func TestRemoteJWKSReportsKidlessKeysOnce(t *testing.T) {
	good := goodKeys(t)[1]
	srv := newRJServer(t)
	srv.setBody(setOf(good, `"a"`, `1`, `[]`))
	var reports skipLog
	clock := newIssClock()
	r := newRJ(t, srv.URL, clock, func(c *RemoteJWKSConfig) { c.OnSkippedKey = reports.add })
	if got := reports.take(); len(got) != 3 {
		t.Fatalf("reports %v, want 3", got)
	}
	srv.setBody(setOf(`[]`, good, `1`, `"a"`))
	clock.Advance(15 * time.Minute)
	r.refreshIfDue()
	if got := reports.take(); len(got) != 0 {
		t.Fatalf("reported again: %v", got)
	}
}

// A rotation that adds a good key next to a bad one is picked up by a
// running RemoteJWKS, by the scheduled refresh and by an unknown kid.
func TestRemoteJWKSRotationNextToBadKey(t *testing.T) {
	bad := badKeys(t)
	weak, offCurve, private := bad[0], bad[5], bad[22]
	if weak.reason != SkipWeakKey || offCurve.kid != "bad-ec-off-curve" || private.kid != "bad-rsa-private" {
		t.Fatal("badKeys changed order")
	}
	k1 := rsaJWK("k1", issKey(t, "rsa").Public().(*rsa.PublicKey)).json(t)
	k2 := ecJWK("k2", issKey(t, "p256").Public().(*ecdsa.PublicKey)).json(t)
	k3 := ecJWK("k3", issKey(t, "p256b").Public().(*ecdsa.PublicKey)).json(t)
	srv := newRJServer(t)
	srv.setBody(setOf(weak.json, k1))
	var reports skipLog
	clock := newIssClock()
	r := newRJ(t, srv.URL, clock, func(c *RemoteJWKSConfig) { c.OnSkippedKey = reports.add })
	if err := rjLookup(r, "k1", RS256); err != nil {
		t.Fatalf("k1: %v", err)
	}
	if got := reports.take(); len(got) != 1 || got[0].KID != weak.kid {
		t.Fatalf("reports %v", got)
	}

	srv.setBody(setOf(weak.json, k1, offCurve.json, k2))
	clock.Advance(15 * time.Minute)
	r.refreshIfDue()
	if err := rjLookup(r, "k2", ES256); err != nil {
		t.Fatalf("k2 rotated in next to a bad key not picked up: %v (LastError %v)", err, r.LastError())
	}
	if got := reports.take(); len(got) != 1 || got[0].KID != offCurve.kid {
		t.Errorf("reports after the rotation %v, want only the new bad key", got)
	}

	// An unknown kid fetches at once and finds k3 beside a leaked key.
	srv.setBody(setOf(k1, private.json, k3))
	if err := rjLookup(r, "k3", ES256); err != nil {
		t.Fatalf("k3 by unknown kid: %v", err)
	}
	if err := rjLookup(r, "k2", ES256); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("k2 removed upstream: %v", err)
	}
	if got := reports.take(); len(got) != 1 || got[0].KID != private.kid || !got[0].Threat {
		t.Errorf("reports %v, want the private key as a threat", got)
	}
}

// A refresh that yields no usable key keeps the last good set and says so.
func TestRemoteJWKSNoUsableKeyKeepsLastSet(t *testing.T) {
	k1 := ecJWK("k1", issKey(t, "p256").Public().(*ecdsa.PublicKey)).json(t)
	srv := newRJServer(t)
	srv.setBody(setOf(k1))
	var log bytes.Buffer
	var reports skipLog
	clock := newIssClock()
	r := newRJ(t, srv.URL, clock, func(c *RemoteJWKSConfig) {
		c.OnSkippedKey = reports.add
		c.Audit = auditlog.New(&log, auditlog.Options{})
	})
	private := badKeys(t)[22]
	srv.setBody(setOf(private.json))
	for range 2 {
		clock.Advance(15 * time.Minute)
		r.refreshIfDue()
	}
	if err := rjLookup(r, "k1", ES256); err != nil {
		t.Fatalf("last good key lost: %v", err)
	}
	if r.LastError() == nil || !strings.Contains(r.LastError().Error(), "no usable key") {
		t.Errorf("LastError %v", r.LastError())
	}
	if s := r.Skipped(); len(s) != 1 || !s[0].Threat {
		t.Errorf("Skipped %v", s)
	}
	if got := reports.take(); len(got) != 1 {
		t.Errorf("reports %v, want one", got)
	}
	if n := countLines(log.String(), AuditJWKSNoUsableKey); n != 2 {
		t.Errorf("%d %s lines, want one per refresh", n, AuditJWKSNoUsableKey)
	}
}

// Keys without alg are bound from the configuration; an ambiguous one fails
// NewRemoteJWKS at once, and is set aside when it appears later.
func TestRemoteJWKSKeysWithoutAlg(t *testing.T) {
	noAlg := rsaJWK("entra-1", issKey(t, "rsa").Public().(*rsa.PublicKey)).with("alg", nil).json(t)
	withAlg := rsaJWK("k2", issKey(t, "rsa2").Public().(*rsa.PublicKey)).with("alg", PS256).json(t)
	t.Run("bound to the one RSA alg", func(t *testing.T) {
		srv := newRJServer(t)
		srv.setBody(setOf(noAlg))
		r := newRJ(t, srv.URL, newIssClock(), func(c *RemoteJWKSConfig) { c.Algorithms = []string{RS256, ES256, EdDSA} })
		if err := rjLookup(r, "entra-1", RS256); err != nil {
			t.Fatalf("RS256: %v", err)
		}
		if err := rjLookup(r, "entra-1", PS256); !errors.Is(err, ErrKeyNotFound) {
			t.Errorf("PS256: %v", err)
		}
	})
	t.Run("no allowlist: unavailable", func(t *testing.T) {
		srv := newRJServer(t)
		srv.setBody(setOf(noAlg))
		var reports skipLog
		r := newRJ(t, srv.URL, newIssClock(), func(c *RemoteJWKSConfig) { c.OnSkippedKey = reports.add })
		if r.Ready() || !errors.Is(rjLookup(r, "entra-1", RS256), ErrKeysUnavailable) {
			t.Errorf("Ready %v", r.Ready())
		}
		if got := reports.take(); len(got) != 1 || got[0].Reason != SkipNoAlg {
			t.Errorf("reports %v", got)
		}
	})
	t.Run("ambiguous at construction", func(t *testing.T) {
		srv := newRJServer(t)
		srv.setBody(setOf(withAlg, noAlg))
		_, err := NewRemoteJWKS(t.Context(), RemoteJWKSConfig{URL: srv.URL, Algorithms: []string{RS256, PS256}})
		if err == nil || !strings.Contains(err.Error(), `"entra-1"`) {
			t.Fatalf("err %v, want one naming the key", err)
		}
		r := newRJ(t, srv.URL, newIssClock(), func(c *RemoteJWKSConfig) {
			c.Algorithms, c.DefaultAlgs = []string{RS256, PS256}, []string{PS256}
		})
		if err := rjLookup(r, "entra-1", PS256); err != nil {
			t.Errorf("DefaultAlgs PS256: %v", err)
		}
		r2 := newRJ(t, srv.URL, newIssClock(), func(c *RemoteJWKSConfig) {
			c.Algorithms, c.KeyAlgs = []string{RS256, PS256}, map[string]string{"entra-1": RS256}
		})
		if err := rjLookup(r2, "entra-1", RS256); err != nil {
			t.Errorf("KeyAlgs RS256: %v", err)
		}
	})
	t.Run("ambiguous later: set aside", func(t *testing.T) {
		srv := newRJServer(t)
		srv.setBody(setOf(withAlg))
		var reports skipLog
		clock := newIssClock()
		r := newRJ(t, srv.URL, clock, func(c *RemoteJWKSConfig) {
			c.Algorithms, c.OnSkippedKey = []string{RS256, PS256}, reports.add
		})
		srv.setBody(setOf(withAlg, noAlg))
		clock.Advance(15 * time.Minute)
		r.refreshIfDue()
		if err := rjLookup(r, "k2", PS256); err != nil {
			t.Fatalf("k2: %v", err)
		}
		if got := reports.take(); len(got) != 1 || got[0].Reason != SkipAmbiguousAlg || got[0].KID != "entra-1" {
			t.Errorf("reports %v", got)
		}
		for _, alg := range []string{RS256, PS256} {
			if err := rjLookup(r, "entra-1", alg); !errors.Is(err, ErrKeyNotFound) {
				t.Errorf("ambiguous key served for %s: %v", alg, err)
			}
		}
	})
}
