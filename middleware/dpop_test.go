package middleware

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apiguard/apiguard/auditlog"
	"github.com/apiguard/apiguard/internal/dpoptest"
	"github.com/apiguard/apiguard/middleware/dpop"
	"github.com/apiguard/apiguard/middleware/jose"
)

// The DPoP tests' fixed resource: the proofs' htu, and the verifier's
// PublicURL, so that the request's own host never matters.
const (
	dpopOrigin = "https://api.example"
	dpopURL    = dpopOrigin + "/api/me"
)

var dpopKeys = sync.OnceValue(dpoptest.NewKeys)

// dpopFixture is a client key, a token bound to it, and a proof builder.
type dpopFixture struct {
	key     *ecdsa.PrivateKey
	jkt     string
	bound   string // a token with cnf.jkt of key
	unbound string // a token without cnf
}

func newDPoPFixture(t *testing.T) dpopFixture {
	t.Helper()
	k := fixtureKeys(t)
	key := dpopKeys().P256
	jkt, err := jose.Thumbprint(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return dpopFixture{
		key:     key,
		jkt:     jkt,
		bound:   signJSON(t, jose.RS256, k.RSA, hdrRS, claimsJSON("cnf", `{"jkt":"`+jkt+`"}`)),
		unbound: signJSON(t, jose.RS256, k.RSA, hdrRS, claimsJSON("jti", `"jti-unbound"`)),
	}
}

// proof signs a proof for GET dpopURL with key, bound to token, at t0.
func (f dpopFixture) proof(token string, opts ...dpoptest.Option) string {
	return dpoptest.NewProof(f.key, "ES256", "GET", dpopURL,
		append([]dpoptest.Option{dpoptest.AccessToken(token), dpoptest.IssuedAt(t0)}, opts...)...)
}

func newVerifier(t *testing.T, mod func(*dpop.Config)) *dpop.Verifier {
	t.Helper()
	cfg := dpop.Config{PublicURL: dpopOrigin, Now: func() time.Time { return t0 }}
	if mod != nil {
		mod(&cfg)
	}
	v, err := dpop.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// newDPoPGate is a gate with DPoP allowed and the validation cache on, so
// that every proof check below runs on cache hits too.
func newDPoPGate(t *testing.T, v *dpop.Verifier, mod func(*Config)) *Authenticator {
	t.Helper()
	return newTestGate(t, func(c *Config) {
		c.DPoP, c.CacheSize = v, 0
		if mod != nil {
			mod(c)
		}
	})
}

func dpopRequest(auth string, proofs ...string) *http.Request {
	r := httptest.NewRequest("GET", dpopURL, nil)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	for _, p := range proofs {
		r.Header.Add("DPoP", p)
	}
	return r
}

// check401 asserts what every 401 must carry: at least one challenge, each
// with the realm (RFC 9110 §15.5.2).
func check401(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code != http.StatusUnauthorized {
		return
	}
	lines := rec.Header().Values("WWW-Authenticate")
	if len(lines) == 0 {
		t.Fatalf("401 without a challenge: %s", rec.Body)
	}
	for _, l := range lines {
		if _, p, ok := parseChallenge(l); !ok || p["realm"] == "" {
			t.Fatalf("challenge %q does not parse or lacks the realm", l)
		}
	}
}

// TestDPoPGate checks RFC 9449 §7 at the gate, rule by rule, each request
// on a warm validation cache (the token's checks cached, the proof not).
func TestDPoPGate(t *testing.T) {
	f := newDPoPFixture(t)
	other := dpopKeys().P256b
	const algs = `algs="`
	tests := []struct {
		name   string
		auth   string
		proofs []string
		status int
		reason Reason // "" accepted; else the refusal's reason (the dpop package's for a refused proof)
		first  string // prefix of the first challenge line
	}{
		{"bound token with its proof", "DPoP " + f.bound, []string{f.proof(f.bound)}, 204, "", ""},
		{"scheme in any case", "dpop  " + f.bound, []string{f.proof(f.bound)}, 204, "", ""},
		{"unbound Bearer token, DPoP allowed", "Bearer " + f.unbound, nil, 204, "", ""},
		{"downgrade: bound token as Bearer", "Bearer " + f.bound, nil, 401, ReasonDPoPDowngrade, `Bearer realm="api", error="invalid_token"`},
		{"downgrade: bound token as Bearer with its proof", "Bearer " + f.bound, []string{f.proof(f.bound)}, 401, ReasonDPoPDowngrade, `Bearer realm="api", error="invalid_token"`},
		{"upgrade: unbound token with the DPoP scheme", "DPoP " + f.unbound, []string{f.proof(f.unbound)}, 401, ReasonDPoPUnbound, `DPoP realm="api", ` + algs},
		{"unbound Bearer token with a proof", "Bearer " + f.unbound, []string{f.proof(f.unbound)}, 401, ReasonDPoPUnbound, `Bearer realm="api", error="invalid_token"`},
		{"proof key is not cnf.jkt", "DPoP " + f.bound,
			[]string{dpoptest.NewProof(other, "ES256", "GET", dpopURL, dpoptest.AccessToken(f.bound), dpoptest.IssuedAt(t0))},
			401, ReasonDPoPKeyMismatch, `DPoP realm="api", ` + algs},
		{"ath of another token", "DPoP " + f.bound, []string{f.proof(f.unbound)}, 401, dpop.ReasonATHMismatch, `DPoP realm="api", ` + algs},
		{"no ath", "DPoP " + f.bound, []string{f.proof(f.bound, dpoptest.Claim("ath", ""))}, 401, dpop.ReasonATHMissing, `DPoP realm="api", ` + algs},
		{"no proof", "DPoP " + f.bound, nil, 401, dpop.ReasonProofMissing, `DPoP realm="api", ` + algs},
		{"two proofs", "DPoP " + f.bound, []string{f.proof(f.bound), f.proof(f.bound)}, 401, dpop.ReasonProofMultiple, `DPoP realm="api", ` + algs},
		{"proof for another path", "DPoP " + f.bound,
			[]string{dpoptest.NewProof(f.key, "ES256", "GET", dpopOrigin+"/api/admin", dpoptest.AccessToken(f.bound), dpoptest.IssuedAt(t0))},
			401, dpop.ReasonHTUMismatch, `DPoP realm="api", ` + algs},
		{"proof for another method", "DPoP " + f.bound,
			[]string{dpoptest.NewProof(f.key, "ES256", "POST", dpopURL, dpoptest.AccessToken(f.bound), dpoptest.IssuedAt(t0))},
			401, dpop.ReasonHTMMismatch, `DPoP realm="api", ` + algs},
		{"expired token with the DPoP scheme", "DPoP " + signJSON(t, jose.RS256, fixtureKeys(t).RSA, hdrRS, claimsJSON("exp", unix(-time.Hour), "cnf", `{"jkt":"`+f.jkt+`"}`)),
			nil, 401, ReasonExpired, `DPoP realm="api", ` + algs},
		{"DPoP scheme without a token", "DPoP ", nil, 400, ReasonMalformedHeader, `DPoP realm="api", ` + algs},
		{"no credentials", "", nil, 401, ReasonNoToken, `Bearer realm="api"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newDPoPGate(t, newVerifier(t, nil), nil)
			// Warm the cache with the tokens' own checks.
			for _, tok := range []string{f.bound, f.unbound} {
				if _, err := a.Verify(context.Background(), tok); err != nil {
					t.Fatal(err)
				}
			}
			r := dpopRequest(tt.auth, tt.proofs...)
			res := serve(a, r)
			check401(t, res.rec)
			if res.rec.Code != tt.status || res.called != (tt.status == 204) {
				t.Fatalf("status %d called %v, want %d: %s %q", res.rec.Code, res.called, tt.status, res.rec.Body, res.rec.Header().Values("WWW-Authenticate"))
			}
			if tt.status == 204 {
				if res.claims == nil {
					t.Fatal("no claims")
				}
				return
			}
			lines := res.rec.Header().Values("WWW-Authenticate")
			if len(lines) != 2 || !strings.HasPrefix(lines[0], tt.first) {
				t.Fatalf("challenges %q, want two, the first starting %q", lines, tt.first)
			}
			if !strings.Contains(strings.Join(lines, "\n"), `DPoP realm="api", algs="ES256`) {
				t.Fatalf("no DPoP challenge with algs: %q", lines)
			}
			// The refusal's reason, from Authenticate with fresh proofs
			// (the one above may have been spent).
			r = dpopRequest(tt.auth, tt.proofs...)
			_, err := newDPoPGate(t, newVerifier(t, nil), nil).Authenticate(r)
			if got := reasonOf(err); got != tt.reason {
				t.Fatalf("reason %q, want %q", got, tt.reason)
			}
			// A reason of the dpop package (one newError does not know): the
			// proof was refused, and the challenge says so.
			if strings.HasPrefix(string(tt.reason), "dpop_") && newError(tt.reason, nil).Description == "invalid token" {
				if www := res.rec.Header().Get("WWW-Authenticate"); !strings.Contains(www, `error="invalid_dpop_proof"`) {
					t.Fatalf("proof refusal %q without invalid_dpop_proof", www)
				}
			}
		})
	}
}

// TestDPoPReplayThroughGate: a proof is accepted once, even on a
// validation-cache hit, and its replay is a threat in the audit log.
func TestDPoPReplayThroughGate(t *testing.T) {
	f := newDPoPFixture(t)
	var buf bytes.Buffer
	log := auditlog.New(&buf, auditlog.Options{Now: func() time.Time { return t0 }, SuppressWindow: -1})
	fails := &failureLog{}
	a := newDPoPGate(t, newVerifier(t, nil), func(c *Config) { c.Audit, c.Failures = log, fails })
	p := f.proof(f.bound)
	if res := serve(a, dpopRequest("DPoP "+f.bound, p)); !res.called {
		t.Fatalf("first use refused: %d %s", res.rec.Code, res.rec.Body)
	}
	res := serve(a, dpopRequest("DPoP "+f.bound, p))
	check401(t, res.rec)
	if res.called || res.rec.Code != 401 {
		t.Fatalf("replay: %d", res.rec.Code)
	}
	if www := res.rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(www, `DPoP realm="api", algs="ES256`) || !strings.Contains(www, `error="invalid_dpop_proof"`) {
		t.Fatalf("replay challenge %q", www)
	}
	if fails.n != 1 {
		t.Fatalf("failures counted %d, want 1", fails.n)
	}
	// A fresh proof for the same (cached) token passes.
	if res := serve(a, dpopRequest("DPoP "+f.bound, f.proof(f.bound))); !res.called {
		t.Fatalf("fresh proof refused: %d", res.rec.Code)
	}
	var events [][2]string
	for _, l := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatal(err)
		}
		events = append(events, [2]string{m["event"].(string), m["reason"].(string)})
	}
	want := [][2]string{{"token_rejected", "dpop_replayed"}, {"security_threat", "dpop_replayed"}}
	if len(events) != 2 || events[0] != want[0] || events[1] != want[1] {
		t.Fatalf("audit events %v, want %v", events, want)
	}
	if strings.Contains(buf.String(), p[:40]) || strings.Contains(buf.String(), f.bound[:40]) {
		t.Fatal("the audit log contains a proof or a token")
	}
}

// TestDPoPNonce: with server nonces, a proof without one gets 401
// use_dpop_nonce and a DPoP-Nonce header, not counted as a failure; the
// retry with that nonce passes.
func TestDPoPNonce(t *testing.T) {
	f := newDPoPFixture(t)
	v := newVerifier(t, func(c *dpop.Config) { c.NonceSecret = bytes.Repeat([]byte("k"), 32) })
	fails := &failureLog{}
	a := newDPoPGate(t, v, func(c *Config) { c.Failures = fails })
	res := serve(a, dpopRequest("DPoP "+f.bound, f.proof(f.bound)))
	check401(t, res.rec)
	nonce := res.rec.Header().Get("DPoP-Nonce")
	if res.called || res.rec.Code != 401 || nonce == "" || nonce != v.Nonce() {
		t.Fatalf("without nonce: %d, DPoP-Nonce %q (want %q)", res.rec.Code, nonce, v.Nonce())
	}
	want := `DPoP realm="api", algs="` + strings.Join(v.Algorithms(), " ") + `", error="use_dpop_nonce", error_description="`
	if www := res.rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(www, want) {
		t.Fatalf("WWW-Authenticate %q, want prefix %q", www, want)
	}
	if fails.n != 0 {
		t.Fatalf("a nonce challenge counted as a failure")
	}
	res = serve(a, dpopRequest("DPoP "+f.bound, f.proof(f.bound, dpoptest.Nonce(nonce))))
	if !res.called {
		t.Fatalf("with nonce: %d %s", res.rec.Code, res.rec.Body)
	}
	res = serve(a, dpopRequest("DPoP "+f.bound, f.proof(f.bound, dpoptest.Nonce("forged-"+nonce))))
	if res.called || res.rec.Code != 401 || res.rec.Header().Get("DPoP-Nonce") == "" {
		t.Fatalf("forged nonce: %d, DPoP-Nonce %q", res.rec.Code, res.rec.Header().Get("DPoP-Nonce"))
	}
}

// TestDPoPNonceRotation: a proof with the previous step's nonce passes, and
// the response carries the current nonce (Proof.NextNonce) in DPoP-Nonce.
func TestDPoPNonceRotation(t *testing.T) {
	f := newDPoPFixture(t)
	var mu sync.Mutex
	now := t0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	v := newVerifier(t, func(c *dpop.Config) {
		c.NonceSecret, c.NonceStep, c.Now = bytes.Repeat([]byte("k"), 32), time.Minute, clock
	})
	a := newDPoPGate(t, v, func(c *Config) { c.Now = clock })
	old := v.Nonce()
	res := serve(a, dpopRequest("DPoP "+f.bound, f.proof(f.bound, dpoptest.Nonce(old))))
	if !res.called || res.rec.Header().Get("DPoP-Nonce") != "" {
		t.Fatalf("current nonce: %d, DPoP-Nonce %q", res.rec.Code, res.rec.Header().Get("DPoP-Nonce"))
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	p := dpoptest.NewProof(f.key, "ES256", "GET", dpopURL, dpoptest.AccessToken(f.bound), dpoptest.IssuedAt(clock()), dpoptest.Nonce(old))
	res = serve(a, dpopRequest("DPoP "+f.bound, p))
	if !res.called {
		t.Fatalf("previous nonce after rotation: %d %s", res.rec.Code, res.rec.Body)
	}
	if got := res.rec.Header().Get("DPoP-Nonce"); got == "" || got != v.Nonce() || got == old {
		t.Fatalf("DPoP-Nonce %q, want the new nonce %q", got, v.Nonce())
	}
}

// unavailableReplay is a replay cache that cannot tell.
type unavailableReplay struct{}

func (unavailableReplay) Use(context.Context, string, string, time.Time) error {
	return errors.New("redis: connection refused")
}

// TestDPoPReplayUnavailable: a replay cache that cannot answer fails closed
// with 503 and Retry-After, not counted as the client's failure.
func TestDPoPReplayUnavailable(t *testing.T) {
	f := newDPoPFixture(t)
	fails := &failureLog{}
	a := newDPoPGate(t, newVerifier(t, func(c *dpop.Config) { c.Replay = unavailableReplay{} }), func(c *Config) { c.Failures = fails })
	res := serve(a, dpopRequest("DPoP "+f.bound, f.proof(f.bound)))
	if res.called || res.rec.Code != http.StatusServiceUnavailable || res.rec.Header().Get("Retry-After") == "" {
		t.Fatalf("%d Retry-After %q", res.rec.Code, res.rec.Header().Get("Retry-After"))
	}
	if _, err := a.Authenticate(dpopRequest("DPoP "+f.bound, f.proof(f.bound))); reasonOf(err) != ReasonDPoPUnavailable {
		t.Fatalf("reason %q", reasonOf(err))
	}
	if fails.n != 0 {
		t.Fatal("a 503 counted as a failure")
	}
}

// TestDPoPRequired: Config.DPoPRequired for every route, and RequireDPoP
// for some routes of an Authenticator that allows both.
func TestDPoPRequired(t *testing.T) {
	f := newDPoPFixture(t)
	v := newVerifier(t, nil)
	dpopOnly := func(lines []string) bool {
		return len(lines) == 1 && strings.HasPrefix(lines[0], `DPoP realm="api", algs="`)
	}
	t.Run("Config.DPoPRequired", func(t *testing.T) {
		a := newDPoPGate(t, v, func(c *Config) { c.DPoPRequired = true })
		res := serve(a, dpopRequest("Bearer "+f.unbound))
		check401(t, res.rec)
		if res.called || res.rec.Code != 401 || !dpopOnly(res.rec.Header().Values("WWW-Authenticate")) {
			t.Fatalf("Bearer: %d %q", res.rec.Code, res.rec.Header().Values("WWW-Authenticate"))
		}
		if _, err := a.Authenticate(dpopRequest("Bearer " + f.unbound)); reasonOf(err) != ReasonDPoPRequired {
			t.Fatalf("reason %q", reasonOf(err))
		}
		res = serve(a, dpopRequest(""))
		if res.rec.Code != 401 || !dpopOnly(res.rec.Header().Values("WWW-Authenticate")) || strings.Contains(res.rec.Header().Get("WWW-Authenticate"), "error=") {
			t.Fatalf("no credentials: %d %q", res.rec.Code, res.rec.Header().Values("WWW-Authenticate"))
		}
		if res := serve(a, dpopRequest("DPoP "+f.bound, f.proof(f.bound))); !res.called {
			t.Fatalf("DPoP: %d", res.rec.Code)
		}
	})
	t.Run("RequireDPoP", func(t *testing.T) {
		a := newDPoPGate(t, v, nil)
		ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
		required := a.Handler(a.RequireDPoP()(ok))
		allowed := a.Handler(ok)
		for _, tt := range []struct {
			name   string
			h      http.Handler
			r      *http.Request
			status int
		}{
			{"required route, DPoP", required, dpopRequest("DPoP "+f.bound, f.proof(f.bound)), 204},
			{"required route, Bearer", required, dpopRequest("Bearer " + f.unbound), 401},
			{"allowed route, Bearer", allowed, dpopRequest("Bearer " + f.unbound), 204},
			{"allowed route, DPoP", allowed, dpopRequest("DPoP "+f.bound, f.proof(f.bound)), 204},
		} {
			rec := httptest.NewRecorder()
			tt.h.ServeHTTP(rec, tt.r)
			check401(t, rec)
			if rec.Code != tt.status {
				t.Fatalf("%s: %d, want %d", tt.name, rec.Code, tt.status)
			}
			if tt.status == 401 {
				lines := rec.Header().Values("WWW-Authenticate")
				if !dpopOnly(lines) || !strings.Contains(lines[0], `error="invalid_token", error_description="DPoP-bound token required"`) {
					t.Fatalf("%s: challenges %q", tt.name, lines)
				}
			}
		}
		defer func() {
			if recover() == nil {
				t.Fatal("RequireDPoP without Config.DPoP did not panic")
			}
		}()
		newTestGate(t, nil).RequireDPoP()
	})
}

// TestDPoPMetadata: the metadata names the verifier's algorithms and
// whether DPoP is required, and both challenges carry resource_metadata.
func TestDPoPMetadata(t *testing.T) {
	v := newVerifier(t, nil)
	a := newDPoPGate(t, v, func(c *Config) { c.DPoPRequired, c.Resource = true, dpopOrigin })
	rec := httptest.NewRecorder()
	a.MetadataHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	algs, _ := json.Marshal(doc["dpop_signing_alg_values_supported"])
	want, _ := json.Marshal(v.Algorithms())
	if string(algs) != string(want) || doc["dpop_bound_access_tokens_required"] != true {
		t.Fatalf("document %s", rec.Body)
	}
	res := serve(a, dpopRequest(""))
	for _, l := range res.rec.Header().Values("WWW-Authenticate") {
		if !strings.Contains(l, `resource_metadata="https://api.example/.well-known/oauth-protected-resource"`) {
			t.Fatalf("challenge %q without resource_metadata", l)
		}
	}
}
