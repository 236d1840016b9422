package cors

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/apiguard/apiguard/auditlog"
)

// policies used by the spec table.
func policies() map[string]Policy {
	return map[string]Policy{
		"credentials": {
			AllowedOrigins:   []string{"https://app.example.com", "http://localhost:8081", "https://[::1]:8443"},
			AllowCredentials: true,
		},
		"patterns": {
			AllowedOrigins:      []string{"https://partner.test:8443"},
			AllowOriginPatterns: []string{"https://*.example.com"},
		},
		"star": {AllowedOrigins: []string{"*"}},
	}
}

type spec struct {
	name    string
	policy  string
	method  string
	origin  []string // nil: no Origin header
	acrm    string   // Access-Control-Request-Method
	acrh    string   // Access-Control-Request-Headers
	next    int      // status the next handler writes; 0 = 200
	status  int
	acao    string // expected Access-Control-Allow-Origin ("" = absent)
	reached bool   // next handler called
	reason  string // audit reason of a rejected preflight
}

func o(s string) []string { return []string{s} }

func TestSpec(t *testing.T) {
	const app = "https://app.example.com"
	tests := []spec{
		// Preflights, credentials policy.
		{name: "preflight allowed", policy: "credentials", method: "OPTIONS", origin: o(app), acrm: "DELETE", status: 204, acao: app},
		{name: "preflight allowed headers", policy: "credentials", method: "OPTIONS", origin: o(app), acrm: "POST", acrh: "authorization,content-type", status: 204, acao: app},
		{name: "preflight DPoP proof header", policy: "credentials", method: "OPTIONS", origin: o(app), acrm: "GET", acrh: "authorization,dpop", status: 204, acao: app},
		{name: "preflight header not allowed", policy: "credentials", method: "OPTIONS", origin: o(app), acrm: "POST", acrh: "authorization,x-debug", status: 403, reason: ReasonHeaders},
		{name: "preflight method not allowed", policy: "credentials", method: "OPTIONS", origin: o(app), acrm: "PURGE", status: 403, reason: ReasonMethod},
		{name: "preflight method case", policy: "credentials", method: "OPTIONS", origin: o(app), acrm: "patch", status: 403, reason: ReasonMethod},
		{name: "null origin", policy: "credentials", method: "OPTIONS", origin: o("null"), acrm: "GET", status: 403, reason: ReasonOrigin},
		{name: "empty origin", policy: "credentials", method: "OPTIONS", origin: o(""), acrm: "GET", status: 403, reason: ReasonOrigin},
		{name: "two origins", policy: "credentials", method: "OPTIONS", origin: []string{app, "https://evil.test"}, acrm: "GET", status: 403, reason: ReasonOrigin},
		{name: "suffix trick", policy: "credentials", method: "OPTIONS", origin: o("https://app.example.com.evil.test"), acrm: "GET", status: 403, reason: ReasonOrigin},
		{name: "prefix trick", policy: "credentials", method: "OPTIONS", origin: o("https://evilapp.example.com"), acrm: "GET", status: 403, reason: ReasonOrigin},
		{name: "userinfo trick", policy: "credentials", method: "OPTIONS", origin: o("https://app.example.com@evil.test"), acrm: "GET", status: 403, reason: ReasonOrigin},
		{name: "parent domain", policy: "credentials", method: "OPTIONS", origin: o("https://example.com"), acrm: "GET", status: 403, reason: ReasonOrigin},
		{name: "subdomain", policy: "credentials", method: "OPTIONS", origin: o("https://x.app.example.com"), acrm: "GET", status: 403, reason: ReasonOrigin},
		{name: "scheme swap http", policy: "credentials", method: "OPTIONS", origin: o("http://app.example.com"), acrm: "GET", status: 403, reason: ReasonOrigin},
		{name: "scheme swap https localhost", policy: "credentials", method: "OPTIONS", origin: o("https://localhost:8081"), acrm: "GET", status: 403, reason: ReasonOrigin},
		{name: "other port", policy: "credentials", method: "OPTIONS", origin: o("https://app.example.com:8443"), acrm: "GET", status: 403, reason: ReasonOrigin},
		{name: "localhost other port", policy: "credentials", method: "OPTIONS", origin: o("http://localhost:8082"), acrm: "GET", status: 403, reason: ReasonOrigin},
		{name: "explicit default port", policy: "credentials", method: "OPTIONS", origin: o("https://app.example.com:443"), acrm: "GET", status: 204, acao: "https://app.example.com:443"},
		{name: "upper case", policy: "credentials", method: "OPTIONS", origin: o("HTTPS://APP.Example.COM"), acrm: "GET", status: 204, acao: "HTTPS://APP.Example.COM"},
		{name: "trailing slash", policy: "credentials", method: "OPTIONS", origin: o(app + "/"), acrm: "GET", status: 204, acao: app + "/"},
		{name: "path", policy: "credentials", method: "OPTIONS", origin: o(app + "/x"), acrm: "GET", status: 403, reason: ReasonOrigin},
		{name: "query", policy: "credentials", method: "OPTIONS", origin: o(app + "?x"), acrm: "GET", status: 403, reason: ReasonOrigin},
		{name: "trailing dot", policy: "credentials", method: "OPTIONS", origin: o(app + "."), acrm: "GET", status: 403, reason: ReasonOrigin},
		{name: "backslash", policy: "credentials", method: "OPTIONS", origin: o(`https://evil.test\@app.example.com`), acrm: "GET", status: 403, reason: ReasonOrigin},
		{name: "loopback http", policy: "credentials", method: "OPTIONS", origin: o("http://localhost:8081"), acrm: "GET", status: 204, acao: "http://localhost:8081"},
		{name: "ipv6 loopback", policy: "credentials", method: "OPTIONS", origin: o("https://[0:0::1]:8443"), acrm: "GET", status: 204, acao: "https://[0:0::1]:8443"},
		// Not a preflight.
		{name: "OPTIONS without request method", policy: "credentials", method: "OPTIONS", origin: o(app), status: 200, acao: app, reached: true},
		{name: "OPTIONS without origin", policy: "credentials", method: "OPTIONS", acrm: "GET", status: 200, reached: true},
		{name: "actual allowed", policy: "credentials", method: "GET", origin: o(app), status: 200, acao: app, reached: true},
		{name: "actual allowed, 401 downstream", policy: "credentials", method: "GET", origin: o(app), next: 401, status: 401, acao: app, reached: true},
		{name: "actual allowed, 429 downstream", policy: "credentials", method: "POST", origin: o(app), next: 429, status: 429, acao: app, reached: true},
		{name: "actual disallowed origin", policy: "credentials", method: "GET", origin: o("https://evil.test"), status: 200, reached: true},
		{name: "actual null origin", policy: "credentials", method: "POST", origin: o("null"), status: 200, reached: true},
		{name: "actual no origin", policy: "credentials", method: "GET", status: 200, reached: true},
		{name: "actual method not allowed", policy: "credentials", method: "HEAD", origin: o(app), status: 200, reached: true},
		// Patterns.
		{name: "pattern one label", policy: "patterns", method: "OPTIONS", origin: o("https://app.example.com"), acrm: "GET", status: 204, acao: "https://app.example.com"},
		{name: "pattern two labels", policy: "patterns", method: "OPTIONS", origin: o("https://a.b.example.com"), acrm: "GET", status: 204, acao: "https://a.b.example.com"},
		{name: "pattern apex", policy: "patterns", method: "OPTIONS", origin: o("https://example.com"), acrm: "GET", status: 403, reason: ReasonOrigin},
		{name: "pattern glued prefix", policy: "patterns", method: "OPTIONS", origin: o("https://evilexample.com"), acrm: "GET", status: 403, reason: ReasonOrigin},
		{name: "pattern suffix trick", policy: "patterns", method: "OPTIONS", origin: o("https://app.example.com.evil.test"), acrm: "GET", status: 403, reason: ReasonOrigin},
		{name: "pattern userinfo trick", policy: "patterns", method: "OPTIONS", origin: o("https://evil.test@app.example.com"), acrm: "GET", status: 403, reason: ReasonOrigin},
		{name: "pattern scheme swap", policy: "patterns", method: "OPTIONS", origin: o("http://app.example.com"), acrm: "GET", status: 403, reason: ReasonOrigin},
		{name: "pattern port", policy: "patterns", method: "OPTIONS", origin: o("https://app.example.com:8443"), acrm: "GET", status: 403, reason: ReasonOrigin},
		{name: "pattern upper case", policy: "patterns", method: "GET", origin: o("https://APP.EXAMPLE.COM"), status: 200, acao: "https://APP.EXAMPLE.COM", reached: true},
		{name: "exact with port", policy: "patterns", method: "GET", origin: o("https://partner.test:8443"), status: 200, acao: "https://partner.test:8443", reached: true},
		{name: "exact without port", policy: "patterns", method: "GET", origin: o("https://partner.test"), status: 200, reached: true},
		// Star.
		{name: "star preflight", policy: "star", method: "OPTIONS", origin: o("https://anyone.test"), acrm: "PUT", status: 204, acao: "*"},
		{name: "star actual", policy: "star", method: "GET", origin: o("https://anyone.test"), status: 200, acao: "*", reached: true},
		{name: "star header not allowed", policy: "star", method: "OPTIONS", origin: o("https://anyone.test"), acrm: "PUT", acrh: "x-debug", status: 403, reason: ReasonHeaders},
	}
	pols := policies()
	for _, tt := range tests {
		t.Run(tt.policy+"/"+tt.name, func(t *testing.T) {
			var audit bytes.Buffer
			var rejected []string
			p := pols[tt.policy]
			p.Audit = auditlog.New(&audit, auditlog.Options{})
			p.OnReject = func(r *http.Request, origin string) { rejected = append(rejected, origin) }
			c, err := New(p)
			if err != nil {
				t.Fatal(err)
			}
			reached := false
			h := c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reached = true
				if tt.next != 0 {
					w.WriteHeader(tt.next)
				}
			}))
			r := httptest.NewRequest(tt.method, "https://api.example.com/api/me", nil)
			if tt.origin != nil {
				r.Header["Origin"] = tt.origin
			}
			if tt.acrm != "" {
				r.Header.Set("Access-Control-Request-Method", tt.acrm)
			}
			if tt.acrh != "" {
				r.Header.Set("Access-Control-Request-Headers", tt.acrh)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			res := rec.Result()

			if res.StatusCode != tt.status {
				t.Errorf("status %d, want %d", res.StatusCode, tt.status)
			}
			if reached != tt.reached {
				t.Errorf("next reached = %t, want %t", reached, tt.reached)
			}
			if got := res.Header.Values("Access-Control-Allow-Origin"); tt.acao == "" && len(got) != 0 ||
				tt.acao != "" && (len(got) != 1 || got[0] != tt.acao) {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tt.acao)
			}
			if !strings.Contains(strings.Join(res.Header.Values("Vary"), ","), "Origin") {
				t.Errorf("Vary = %q, want Origin", res.Header.Values("Vary"))
			}
			wantCreds := tt.acao != "" && p.AllowCredentials
			if got := res.Header.Get("Access-Control-Allow-Credentials"); (got == "true") != wantCreds {
				t.Errorf("Access-Control-Allow-Credentials = %q, want it %t", got, wantCreds)
			}
			isPreflight := tt.method == "OPTIONS" && tt.acrm != "" && tt.origin != nil
			switch {
			case tt.acao != "" && isPreflight:
				if got := res.Header.Get("Access-Control-Allow-Methods"); got != tt.acrm {
					t.Errorf("Access-Control-Allow-Methods = %q, want %q", got, tt.acrm)
				}
				if got := res.Header.Get("Access-Control-Max-Age"); got != "600" {
					t.Errorf("Access-Control-Max-Age = %q, want 600", got)
				}
				if got := res.Header.Get("Access-Control-Allow-Headers"); got != tt.acrh {
					t.Errorf("Access-Control-Allow-Headers = %q, want %q", got, tt.acrh)
				}
			case tt.acao != "":
				if got := res.Header.Get("Access-Control-Expose-Headers"); got != "Www-Authenticate, Retry-After, Ratelimit, Ratelimit-Policy, Dpop-Nonce" {
					t.Errorf("Access-Control-Expose-Headers = %q", got)
				}
			}
			if tt.reason != "" {
				line := audit.String()
				if !strings.Contains(line, `"event":"cors_rejected"`) || !strings.Contains(line, `"reason":"`+tt.reason+`"`) ||
					!strings.Contains(line, `"status":403`) {
					t.Errorf("audit = %q, want cors_rejected with reason %s", line, tt.reason)
				}
				if len(rejected) != 1 || rejected[0] != r.Header.Get("Origin") {
					t.Errorf("OnReject calls = %q, want [%q]", rejected, r.Header.Get("Origin"))
				}
			} else if audit.Len() != 0 || len(rejected) != 0 {
				t.Errorf("unexpected rejection: audit %q, OnReject %q", audit.String(), rejected)
			}
		})
	}
}

// TestStaleHeadersDropped: a CORS header set by an earlier middleware must not
// survive for an origin this policy refuses.
func TestStaleHeadersDropped(t *testing.T) {
	c, err := New(policies()["credentials"])
	if err != nil {
		t.Fatal(err)
	}
	outer := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Access-Control-Allow-Origin", "https://evil.test")
			w.Header().Set("Access-Control-Allow-Credentials", "true")
			next.ServeHTTP(w, r)
		})
	}
	for _, method := range []string{"GET", "OPTIONS"} {
		r := httptest.NewRequest(method, "/", nil)
		r.Header.Set("Origin", "https://evil.test")
		r.Header.Set("Access-Control-Request-Method", "GET")
		rec := httptest.NewRecorder()
		outer(c.Handler(http.NotFoundHandler())).ServeHTTP(rec, r)
		if v := rec.Header().Get("Access-Control-Allow-Origin"); v != "" {
			t.Errorf("%s: Access-Control-Allow-Origin = %q", method, v)
		}
		if v := rec.Header().Get("Access-Control-Allow-Credentials"); v != "" {
			t.Errorf("%s: Access-Control-Allow-Credentials = %q", method, v)
		}
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		p    Policy
		want string
	}{
		{"star with credentials", Policy{AllowedOrigins: []string{"*"}, AllowCredentials: true},
			`cors: AllowedOrigins contains "*" while AllowCredentials is set`},
		{"pattern with credentials", Policy{AllowOriginPatterns: []string{"https://*.example.com"}, AllowCredentials: true},
			`cors: AllowOriginPatterns contains "https://*.example.com" while AllowCredentials is set`},
		{"null", Policy{AllowedOrigins: []string{"null"}}, `AllowedOrigins contains "null"`},
		{"NULL", Policy{AllowedOrigins: []string{"NULL"}}, `AllowedOrigins contains "NULL"`},
		{"path", Policy{AllowedOrigins: []string{"https://app.example.com/app"}}, `"https://app.example.com/app": an origin has no path`},
		{"query", Policy{AllowedOrigins: []string{"https://app.example.com?a=1"}}, "no query"},
		{"fragment", Policy{AllowedOrigins: []string{"https://app.example.com#x"}}, "no fragment"},
		{"userinfo", Policy{AllowedOrigins: []string{"https://u:p@app.example.com"}}, "no user information"},
		{"no scheme", Policy{AllowedOrigins: []string{"app.example.com"}}, "scheme"},
		{"ftp", Policy{AllowedOrigins: []string{"ftp://app.example.com"}}, "scheme"},
		{"empty", Policy{AllowedOrigins: []string{""}}, "scheme"},
		{"bad port", Policy{AllowedOrigins: []string{"https://app.example.com:99999"}}, "port"},
		{"leading zero port", Policy{AllowedOrigins: []string{"https://app.example.com:0443"}}, "port"},
		{"empty port", Policy{AllowedOrigins: []string{"https://app.example.com:"}}, "port"},
		{"bad host", Policy{AllowedOrigins: []string{"https://app..example.com"}}, "host"},
		{"space in host", Policy{AllowedOrigins: []string{"https://app example.com"}}, "host"},
		{"short IPv4", Policy{AllowedOrigins: []string{"https://127.1"}}, "host"},
		{"hex IPv4", Policy{AllowedOrigins: []string{"http://0x7f.0.0.1"}}, "host"},
		{"zone", Policy{AllowedOrigins: []string{"http://[fe80::1%25eth0]"}}, "host"},
		{"insecure", Policy{AllowedOrigins: []string{"http://app.example.com"}},
			`"http://app.example.com": not HTTPS and not loopback (set AllowInsecureOrigins to allow it)`},
		{"insecure private IP", Policy{AllowedOrigins: []string{"http://10.0.0.5:8080"}}, "not HTTPS"},
		{"localhost lookalike", Policy{AllowedOrigins: []string{"http://localhost.evil.test"}}, "not HTTPS"},
		{"wildcard in AllowedOrigins", Policy{AllowedOrigins: []string{"https://*.example.com"}}, "belongs in AllowOriginPatterns"},
		{"glued wildcard", Policy{AllowOriginPatterns: []string{"https://*app.example.com"}}, "whole leftmost label"},
		{"inner wildcard", Policy{AllowOriginPatterns: []string{"https://app.*.example.com"}}, "whole leftmost label"},
		{"two wildcards", Policy{AllowOriginPatterns: []string{"https://*.*.example.com"}}, "whole leftmost label"},
		{"wildcard scheme", Policy{AllowOriginPatterns: []string{"*://app.example.com"}}, "whole leftmost label"},
		{"bare wildcard pattern", Policy{AllowOriginPatterns: []string{"*"}}, "whole leftmost label"},
		{"wildcard TLD", Policy{AllowOriginPatterns: []string{"https://*.com"}}, "at least two labels"},
		{"wildcard IP", Policy{AllowOriginPatterns: []string{"https://*.0.0.1"}}, "IP"},
		{"insecure pattern", Policy{AllowOriginPatterns: []string{"http://*.example.com"}}, "not HTTPS"},
		{"pattern with path", Policy{AllowOriginPatterns: []string{"https://*.example.com/x"}}, "no path"},
		{"star headers with credentials", Policy{AllowedOrigins: []string{"https://a.test"}, AllowedHeaders: []string{"*"}, AllowCredentials: true},
			`cors: AllowedHeaders contains "*" while AllowCredentials is set`},
		{"header injection", Policy{AllowedOrigins: []string{"https://a.test"}, ExposedHeaders: []string{"X-A, X-B"}}, `ExposedHeaders contains "X-A, X-B"`},
		{"method with space", Policy{AllowedOrigins: []string{"https://a.test"}, AllowedMethods: []string{"GET POST"}}, "AllowedMethods"},
		{"negative max age", Policy{AllowedOrigins: []string{"https://a.test"}, MaxAge: -time.Second}, "MaxAge"},
		{"sub-second max age", Policy{AllowedOrigins: []string{"https://a.test"}, MaxAge: 1500 * time.Millisecond}, "MaxAge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, %v; want an error containing %q", c, err, tt.want)
			}
		})
	}
	// The escape hatch works, and loopback needs none.
	for _, p := range []Policy{
		{AllowedOrigins: []string{"http://app.example.com"}, AllowInsecureOrigins: true},
		{AllowOriginPatterns: []string{"http://*.example.com"}, AllowInsecureOrigins: true},
		{AllowedOrigins: []string{"http://localhost:8081", "http://127.0.0.1:3000", "http://[::1]:3000", "HTTP://LOCALHOST"}},
		{AllowedOrigins: []string{"*", "https://a.test"}},
	} {
		if _, err := New(p); err != nil {
			t.Errorf("New(%+v): %v", p, err)
		}
	}
}

func TestParseOrigin(t *testing.T) {
	tests := []struct{ in, canon string }{
		{"https://app.example.com", "https://app.example.com"},
		{"https://app.example.com/", "https://app.example.com"},
		{"HTTPS://App.Example.COM:443/", "https://app.example.com"},
		{"http://localhost:80", "http://localhost"},
		{"http://localhost:443", "http://localhost:443"},
		{"https://app.example.com:80", "https://app.example.com:80"},
		{"https://[::1]:443", "https://[::1]"},
		{"https://[0:0:0:0:0:0:0:1]:8443", "https://[::1]:8443"},
		{"https://[FE80::A]", "https://[fe80::a]"},
		{"http://127.0.0.1:3000", "http://127.0.0.1:3000"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			o, prob := parseOrigin(tt.in)
			if prob != okOrigin || o.canon != tt.canon {
				t.Fatalf("parseOrigin = %q, %v; want %q", o.canon, prob, tt.canon)
			}
			again, prob := parseOrigin(o.canon)
			if prob != okOrigin || again.canon != o.canon {
				t.Errorf("not idempotent: %q -> %q (%v)", o.canon, again.canon, prob)
			}
		})
	}
	t.Run("canonical input does not allocate", func(t *testing.T) {
		if n := testing.AllocsPerRun(100, func() { parseOrigin("https://app.example.com") }); n != 0 {
			t.Errorf("%v allocations", n)
		}
	})
}

// A DPoP client must read the server nonce of RFC 9449 §8 from a
// cross-origin response; without it in Access-Control-Expose-Headers the
// page never sees DPoP-Nonce and every call fails with use_dpop_nonce.
func TestDPoPNonceExposed(t *testing.T) {
	h := MustNew(Policy{AllowedOrigins: []string{"https://app.example.com"}}).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
	r.Header.Set("Origin", "https://app.example.com")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	got := w.Header().Get("Access-Control-Expose-Headers")
	found := false
	for _, name := range strings.Split(got, ",") {
		if strings.EqualFold(strings.TrimSpace(name), "DPoP-Nonce") {
			found = true
		}
	}
	if !found {
		t.Fatalf("Access-Control-Expose-Headers = %q, want DPoP-Nonce among them", got)
	}
}
