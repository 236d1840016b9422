package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apiguard/apiguard/internal/redistest"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// writeTestKey writes a fresh P-256 PKCS#8 key for -key and returns its path.
func writeTestKey(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return writeKeyPEM(t, k)
}

// TestClusterOnRedis runs two instances of the example on one real Redis
// with the contract's flags only (the same -key and -redis, no client
// secret): a logout on the first is refused by the second within a second,
// and a refresh token spent on one is spent on the other.
func TestClusterOnRedis(t *testing.T) {
	rs := redistest.Start(t)
	key := writeTestKey(t)
	args := []string{"-redis", rs.URL(), "-key", key}
	one, two := newTestServer(t, args...), newTestServer(t, args...)

	tok := one.login("alice", "alice-password")
	if res := two.do("GET", "/api/me", tok.access, nil); res.status != 200 {
		t.Fatalf("instance two does not accept instance one's token: %d %s", res.status, res.raw)
	}
	if res := one.do("POST", "/auth/logout", tok.access, nil); res.status != 204 {
		t.Fatalf("logout: %d %s", res.status, res.raw)
	}
	deadline := time.Now().Add(time.Second)
	for {
		res := two.do("GET", "/api/me", tok.access, nil)
		if res.status == 401 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance two still accepts a token logged out on instance one after 1s: %d", res.status)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// A refresh spent on one is spent on two (and the reuse revokes the family).
	tok = one.login("admin", "admin-password")
	res := one.do("POST", "/auth/refresh", "", map[string]string{"refresh_token": tok.refresh})
	if res.status != 200 {
		t.Fatalf("refresh on one: %d %s", res.status, res.raw)
	}
	next := res.body["refresh_token"].(string)
	// The successor used on two; then the spent token is reuse everywhere.
	res = two.do("POST", "/auth/refresh", "", map[string]string{"refresh_token": next})
	if res.status != 200 {
		t.Fatalf("successor on two: %d %s", res.status, res.raw)
	}
	next = res.body["refresh_token"].(string)
	if res := two.do("POST", "/auth/refresh", "", map[string]string{"refresh_token": tok.refresh}); res.status != 400 || res.body["error"] != "invalid_grant" {
		t.Fatalf("spent token on two: %d %s", res.status, res.raw)
	}
	if res := one.do("POST", "/auth/refresh", "", map[string]string{"refresh_token": next}); res.status != 400 {
		t.Fatalf("the reuse on two must revoke the family everywhere, got %d %s", res.status, res.raw)
	}
}

// TestClusterSharesLimits runs two instances on one real Redis with the
// contract's flags only (the same -key and -redis, nothing else): a client
// locked out on one is locked out on the other, and a request budget spent
// on one is spent on the other. Both hold only if the instances key clients
// alike, with the client-key secret they share through Redis.
func TestClusterSharesLimits(t *testing.T) {
	rs := redistest.Start(t)
	args := []string{"-redis", rs.URL(), "-key", writeTestKey(t)}
	one, two := newTestServer(t, args...), newTestServer(t, args...)
	// Each check is its own client (User-Agent), so neither spends the
	// other's budget.
	tests := []struct {
		name  string
		spend func(ua string) // on instance one
		probe func(ua string) response
		// limiter: the 429 is the rate limiter's (RateLimit headers), not
		// the login guard's.
		limiter bool
	}{
		{
			name: "five wrong passwords lock the client out everywhere",
			spend: func(ua string) {
				for i := 0; i < 5; i++ {
					if res := one.do("POST", "/auth/login", "", map[string]string{"username": "alice", "password": "wrong"}, "User-Agent", ua); res.status != 401 {
						t.Fatalf("wrong password %d on one: %d %s", i+1, res.status, res.raw)
					}
				}
			},
			probe: func(ua string) response {
				return two.do("POST", "/auth/login", "", map[string]string{"username": "alice", "password": "alice-password"}, "User-Agent", ua)
			},
		},
		{
			name: "a budget spent on one is spent on two",
			spend: func(ua string) {
				for i := 0; ; i++ {
					res := one.do("GET", "/healthz", "", nil, "User-Agent", ua)
					if res.status == 429 {
						return
					}
					if res.status != 200 || i > 100 {
						t.Fatalf("request %d on one: %d, and no 429 within the budget of 100", i+1, res.status)
					}
				}
			},
			probe:   func(ua string) response { return two.do("GET", "/healthz", "", nil, "User-Agent", ua) },
			limiter: true,
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ua := "cluster-test/" + strconv.Itoa(i)
			tt.spend(ua)
			res := tt.probe(ua)
			if res.status != 429 || res.header.Get("Retry-After") == "" {
				t.Fatalf("on instance two: %d %s (Retry-After %q), want 429 with Retry-After", res.status, res.raw, res.header.Get("Retry-After"))
			}
			if got := res.header.Get("RateLimit") != ""; tt.limiter && !got {
				t.Fatalf("429 without RateLimit headers: not the rate limiter's")
			}
		})
	}
	// An explicit -client-secret still wins over the shared one: an instance
	// with its own secret keys the same client differently.
	own := newTestServer(t, append(args, "-client-secret", strings.Repeat("o", 32))...)
	if res := own.do("GET", "/healthz", "", nil, "User-Agent", "cluster-test/1"); res.status != 200 {
		t.Fatalf("an instance with its own -client-secret shares the budget: %d", res.status)
	}
}

// TestAuditLogHoldsNoSecrets runs the whole example flow, attacks included,
// and checks that no token, refresh token, password or key reaches the log or
// the metrics, and that every log line is one JSON object.
func TestAuditLogHoldsNoSecrets(t *testing.T) {
	keyPath := writeTestKey(t)
	ts := newTestServer(t, "-key", keyPath, "-login-attempts", "3/15m")
	keyPEM, _ := os.ReadFile(keyPath)
	secrets := []string{"alice-password", "admin-password", "wrong-password-XYZ"}
	// The key's base64 body lines are secrets too.
	for _, line := range strings.Split(string(keyPEM), "\n") {
		if len(line) > 20 && !strings.HasPrefix(line, "-----") {
			secrets = append(secrets, line)
		}
	}

	alice := ts.login("alice", "alice-password")
	admin := ts.login("admin", "admin-password")
	secrets = append(secrets, alice.access, alice.refresh, admin.access, admin.refresh)
	ts.do("GET", "/api/me?access_token="+alice.access, alice.access, nil)
	ts.do("GET", "/api/admin", alice.access, nil)
	res := ts.do("POST", "/auth/refresh", "", map[string]string{"refresh_token": alice.refresh})
	newRefresh, _ := res.body["refresh_token"].(string)
	newAccess, _ := res.body["access_token"].(string)
	secrets = append(secrets, newRefresh, newAccess)
	res = ts.do("POST", "/auth/refresh", "", map[string]string{"refresh_token": newRefresh}) // the successor is used,
	latestRefresh, _ := res.body["refresh_token"].(string)
	latestAccess, _ := res.body["access_token"].(string)
	secrets = append(secrets, latestRefresh, latestAccess)
	ts.do("POST", "/auth/refresh", "", map[string]string{"refresh_token": alice.refresh}) // so this is reuse
	for i := 0; i < 4; i++ {
		ts.do("POST", "/auth/login", "", map[string]string{"username": "alice", "password": "wrong-password-XYZ"})
	}
	// Attacks: alg none, an embedded key, a forged signature, a key URL.
	parts := strings.Split(admin.access, ".")
	for _, forged := range []string{
		"eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0." + parts[1] + ".",
		"eyJhbGciOiJFUzI1NiIsImp3ayI6e30sInR5cCI6ImF0K2p3dCJ9." + parts[1] + "." + parts[2],
		parts[0] + "." + parts[1] + ".AAAA" + parts[2][4:],
		"eyJhbGciOiJFUzI1NiIsImprdSI6Imh0dHBzOi8vZXZpbC50ZXN0L2p3a3MiLCJ0eXAiOiJhdCtqd3QifQ." + parts[1] + "." + parts[2],
	} {
		secrets = append(secrets, forged)
		if res := ts.do("GET", "/api/me", forged, nil, "User-Agent", "evil\" {\"event\":\"login_success\"}"); res.status != 401 {
			t.Errorf("forged token: %d", res.status)
		}
	}
	ts.do("POST", "/auth/logout", admin.access, nil)

	logs := ts.log.String()
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	events := map[string]int{}
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not one JSON object: %v\n%s", err, sc.Text())
		}
		if ev, ok := m["event"].(string); ok {
			events[ev]++
			if ev == "refresh_reuse" && (m["client"] == nil || m["request_id"] == nil) {
				t.Errorf("refresh_reuse without the client or request id: %s", sc.Text())
			}
		}
	}
	for _, want := range []string{"login_success", "login_failure", "token_issued", "token_refresh", "refresh_reuse", "token_rejected", "security_threat", "token_revoked", "lockout", "request"} {
		if events[want] == 0 {
			t.Errorf("no %q event in the audit log (events: %v)", want, events)
		}
	}
	if events["login_success"] != 2 {
		t.Errorf("login_success = %d, want 2: a forged line got in?", events["login_success"])
	}

	rec := httptest.NewRecorder()
	promhttp.HandlerFor(ts.app.metrics, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	metrics, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		"# HELP apiguard_events_total Audit events recorded by apiguard, by event and reason code.\n",
		"# TYPE apiguard_events_total counter\n",
		"apiguard_events_total{event=\"login_success\",reason=\"none\"} 2\n",
		"apiguard_events_total{event=\"refresh_reuse\",reason=",
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %q:\n%s", want, metrics)
		}
	}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		if strings.Contains(logs, s) {
			t.Errorf("the audit log contains a secret: %.20s…", s)
		}
		if strings.Contains(string(metrics), s) {
			t.Errorf("the metrics contain a secret: %.20s…", s)
		}
		// Also any long fragment (a signature or payload segment).
		for _, part := range strings.Split(s, ".") {
			if len(part) >= 16 && strings.Contains(logs, part) {
				t.Errorf("the audit log contains a token segment: %.20s…", part)
			}
		}
	}
}

// TestRedisDownFailsClosed stops Redis under a running instance: no panic,
// authenticated requests and logins answer 503 (revocations and lockouts
// cannot be checked, and both fail closed), /healthz still answers (general
// rate limits fail open), the switch is in the log, and standard error holds
// JSON lines only (go-redis's own logger included). With Redis back, the
// instance recovers by itself.
func TestRedisDownFailsClosed(t *testing.T) {
	rs := redistest.Start(t)
	ts := newTestServer(t, "-redis", rs.URL())
	tok := ts.login("alice", "alice-password")
	if res := ts.do("GET", "/api/me", tok.access, nil); res.status != 200 {
		t.Fatalf("/api/me: %d", res.status)
	}

	rs.Stop()
	deadline := time.Now().Add(5 * time.Second)
	for {
		res := ts.do("GET", "/api/me", tok.access, nil)
		if res.status == 503 {
			if res.header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			break
		}
		if res.status != 200 || time.Now().After(deadline) {
			t.Fatalf("/api/me with Redis down: %d %s (want 503 once the replica is out of sync)", res.status, res.raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if res := ts.do("POST", "/auth/login", "", map[string]string{"username": "alice", "password": "alice-password"}); res.status != 503 {
		t.Errorf("login with Redis down: %d %s, want 503", res.status, res.raw)
	}
	if res := ts.do("GET", "/healthz", "", nil); res.status != 200 {
		t.Errorf("/healthz with Redis down: %d, want 200 (general limits fail open)", res.status)
	}

	rs.Restart()
	deadline = time.Now().Add(10 * time.Second)
	for {
		// Redis restarted empty (no persistence): a fresh login works again.
		res := ts.do("POST", "/auth/login", "", map[string]string{"username": "admin", "password": "admin-password"})
		if res.status == 200 {
			if me := ts.do("GET", "/api/me", res.body["access_token"].(string), nil); me.status == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery 10s after Redis came back: login %d %s", res.status, res.raw)
		}
		time.Sleep(50 * time.Millisecond)
	}

	logs := ts.log.String()
	if !strings.Contains(logs, "revocation replica out of sync") || !strings.Contains(logs, "revocation replica back in sync") {
		t.Error("the switch to and from out-of-sync is not in the log")
	}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line on standard error: %q", line)
		}
	}
}
