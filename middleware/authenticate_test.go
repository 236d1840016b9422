package middleware

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/apiguard/apiguard/auditlog"
	"github.com/apiguard/apiguard/middleware/jose"
)

type authResult struct {
	rec    *httptest.ResponseRecorder
	claims *Claims
	called bool
}

// newTestAuth is newTestGate with mod (the request side's settings) applied
// after gmod (the gate's).
func newTestAuth(t *testing.T, mod func(*Config), gmod func(*Config)) *Authenticator {
	t.Helper()
	return newTestGate(t, func(c *Config) {
		if gmod != nil {
			gmod(c)
		}
		if mod != nil {
			mod(c)
		}
	})
}

// failureLog is a FailureCounter that counts.
type failureLog struct{ n int }

func (f *failureLog) TokenFailed(*http.Request) { f.n++ }

func serve(a *Authenticator, r *http.Request) authResult {
	var res authResult
	h := a.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res.called = true
		res.claims, _ = ClaimsFromContext(r.Context())
		w.WriteHeader(http.StatusNoContent)
	}))
	res.rec = httptest.NewRecorder()
	h.ServeHTTP(res.rec, r)
	return res
}

func TestAuthenticatorRequests(t *testing.T) {
	k := fixtureKeys(t)
	tok := signJSON(t, jose.RS256, k.RSA, hdrRS, claimsJSON())
	expired := signJSON(t, jose.RS256, k.RSA, hdrRS, claimsJSON("exp", unix(-time.Hour)))
	cookieCfg := func(c *Config) {
		c.Cookie = "at"
		c.CSRFOrigins = []string{"https://app.example"}
		c.CSRFHeader = "X-Requested-With"
	}
	tests := []struct {
		name    string
		mod     func(*Config)
		method  string
		url     string
		headers [][2]string
		status  int
		reason  Reason // expected refusal ("" = next called)
		authed  bool
	}{
		{"valid", nil, "GET", "/", [][2]string{{"Authorization", "Bearer " + tok}}, 204, "", true},
		{"scheme lower case", nil, "GET", "/", [][2]string{{"Authorization", "bearer " + tok}}, 204, "", true},
		{"scheme upper case, two spaces", nil, "GET", "/", [][2]string{{"Authorization", "BEARER  " + tok}}, 204, "", true},
		{"no credentials", nil, "GET", "/", nil, 401, ReasonNoToken, false},
		{"basic is no bearer credentials", nil, "GET", "/", [][2]string{{"Authorization", "Basic dXNlcjpwYXNz"}}, 401, ReasonNoToken, false},
		{"bearer without token", nil, "GET", "/", [][2]string{{"Authorization", "Bearer"}}, 400, ReasonMalformedHeader, false},
		{"bearer with spaces only", nil, "GET", "/", [][2]string{{"Authorization", "Bearer   "}}, 400, ReasonMalformedHeader, false},
		{"bearer with two tokens", nil, "GET", "/", [][2]string{{"Authorization", "Bearer " + tok + " " + tok}}, 400, ReasonMalformedHeader, false},
		{"bearer with a comma", nil, "GET", "/", [][2]string{{"Authorization", "Bearer " + tok + ","}}, 400, ReasonMalformedHeader, false},
		{"two Authorization headers", nil, "GET", "/", [][2]string{{"Authorization", "Bearer " + tok}, {"Authorization", "Bearer " + tok}}, 400, ReasonMultipleHeaders, false},
		{"oversized header", nil, "GET", "/", [][2]string{{"Authorization", "Bearer " + strings.Repeat("A", 20000)}}, 401, ReasonTokenTooLarge, false},
		{"expired", nil, "GET", "/", [][2]string{{"Authorization", "Bearer " + expired}}, 401, ReasonExpired, false},
		{"garbage", nil, "GET", "/", [][2]string{{"Authorization", "Bearer abc"}}, 401, ReasonMalformed, false},

		{"optional, no credentials", func(c *Config) { c.Optional = true }, "GET", "/", nil, 204, "", false},
		{"optional, basic", func(c *Config) { c.Optional = true }, "GET", "/", [][2]string{{"Authorization", "Basic dXNlcjpwYXNz"}}, 204, "", false},
		{"optional, valid", func(c *Config) { c.Optional = true }, "GET", "/", [][2]string{{"Authorization", "Bearer " + tok}}, 204, "", true},
		{"optional, bad token still refused", func(c *Config) { c.Optional = true }, "GET", "/", [][2]string{{"Authorization", "Bearer " + expired}}, 401, ReasonExpired, false},
		{"optional, malformed still refused", func(c *Config) { c.Optional = true }, "GET", "/", [][2]string{{"Authorization", "Bearer"}}, 400, ReasonMalformedHeader, false},

		{"query ignored by default", nil, "GET", "/?access_token=" + tok, nil, 401, ReasonNoToken, false},
		{"query when configured", func(c *Config) { c.QueryParam = "access_token" }, "GET", "/?access_token=" + tok, nil, 204, "", true},
		{"query twice", func(c *Config) { c.QueryParam = "access_token" }, "GET", "/?access_token=" + tok + "&access_token=" + tok, nil, 400, ReasonMultipleTokens, false},
		{"query and header", func(c *Config) { c.QueryParam = "access_token" }, "GET", "/?access_token=" + tok, [][2]string{{"Authorization", "Bearer " + tok}}, 400, ReasonMultipleTokens, false},
		{"query malformed", func(c *Config) { c.QueryParam = "access_token" }, "GET", "/?access_token=a%20b", nil, 400, ReasonMalformedHeader, false},

		{"cookie ignored by default", nil, "GET", "/", [][2]string{{"Cookie", "at=" + tok}}, 401, ReasonNoToken, false},
		{"cookie on GET", cookieCfg, "GET", "/", [][2]string{{"Cookie", "at=" + tok}}, 204, "", true},
		{"cookie on POST without proof", cookieCfg, "POST", "/", [][2]string{{"Cookie", "at=" + tok}}, 403, ReasonCSRF, false},
		{"cookie on POST from another origin", cookieCfg, "POST", "/", [][2]string{{"Cookie", "at=" + tok}, {"Origin", "https://evil.example"}}, 403, ReasonCSRF, false},
		{"cookie on POST from a null origin", cookieCfg, "POST", "/", [][2]string{{"Cookie", "at=" + tok}, {"Origin", "null"}}, 403, ReasonCSRF, false},
		{"cookie on POST from the allowed origin", cookieCfg, "POST", "/", [][2]string{{"Cookie", "at=" + tok}, {"Origin", "https://app.example"}}, 204, "", true},
		{"cookie on DELETE with the custom header", cookieCfg, "DELETE", "/", [][2]string{{"Cookie", "at=" + tok}, {"X-Requested-With", "XMLHttpRequest"}}, 204, "", true},
		{"cookie and header", cookieCfg, "GET", "/", [][2]string{{"Cookie", "at=" + tok}, {"Authorization", "Bearer " + tok}}, 400, ReasonMultipleTokens, false},
		{"cookie twice", cookieCfg, "GET", "/", [][2]string{{"Cookie", "at=" + tok + "; at=" + tok}}, 400, ReasonMultipleTokens, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			failures := &failureLog{}
			a := newTestAuth(t, func(c *Config) {
				c.Failures = failures
				if tt.mod != nil {
					tt.mod(c)
				}
			}, nil)
			r := httptest.NewRequest(tt.method, tt.url, nil)
			for _, h := range tt.headers {
				r.Header.Add(h[0], h[1])
			}
			res := serve(a, r)
			if res.rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", res.rec.Code, tt.status, res.rec.Body)
			}
			if res.called != (tt.reason == "") {
				t.Fatalf("next called = %v", res.called)
			}
			if (res.claims != nil) != tt.authed {
				t.Fatalf("claims in context = %v, want %v", res.claims != nil, tt.authed)
			}
			if _, ok := ClaimsFromContext(r.Context()); ok {
				t.Fatal("the given request was modified")
			}
			if tt.reason == "" {
				return
			}
			_, err := a.Authenticate(r)
			if got := reasonOf(err); got != tt.reason {
				t.Fatalf("reason %q, want %q", got, tt.reason)
			}
			if tt.reason == ReasonNoToken && failures.n != 0 {
				t.Fatal("Failures told of a request without credentials")
			}
			if tt.reason != ReasonNoToken && failures.n != 1 {
				t.Fatalf("Failures told %d times of one refusal", failures.n)
			}
			if body := res.rec.Body.String() + strings.Join(res.rec.Header().Values("Www-Authenticate"), ""); strings.Contains(body, tok[:20]) || strings.Contains(body, tok[len(tok)-20:]) {
				t.Fatalf("response echoes the token: %s", body)
			}
		})
	}
}

func TestErrorResponses(t *testing.T) {
	k := fixtureKeys(t)
	marker := "ECHO-ME-NOT"
	// The marker sits in the kid, the sub and a custom claim: none may
	// appear in any response.
	hdr := `{"alg":"RS256","kid":"rsa1","typ":"at+jwt","x":"` + marker + `"}`
	expired := signJSON(t, jose.RS256, k.RSA, hdr, claimsJSON("exp", unix(-time.Hour), "sub", `"`+marker+`"`))
	unknown := signJSON(t, jose.RS256, k.RSA, `{"alg":"RS256","kid":"`+marker+`","typ":"at+jwt"}`, claimsJSON())
	valid := signJSON(t, jose.RS256, k.RSA, hdr, claimsJSON("sub", `"`+marker+`"`))
	tests := []struct {
		name      string
		gmod      func(*Config)
		wrap      func(http.Handler) http.Handler
		auth      []string
		status    int
		www       string
		error     string
		desc      string
		retry     string
		noWWWAuth bool
	}{
		{"no credentials", nil, nil, nil, 401, `Bearer realm="test"`, "unauthorized", "authentication required", "", false},
		{"invalid request", nil, nil, []string{"Bearer " + valid, "Bearer " + valid}, 400,
			`Bearer realm="test", error="invalid_request", error_description="malformed request"`, "invalid_request", "malformed request", "", false},
		{"expired", nil, nil, []string{"Bearer " + expired}, 401,
			`Bearer realm="test", error="invalid_token", error_description="token expired"`, "invalid_token", "token expired", "", false},
		{"unknown kid", nil, nil, []string{"Bearer " + unknown}, 401,
			`Bearer realm="test", error="invalid_token", error_description="invalid token"`, "invalid_token", "invalid token", "", false},
		{"keys unavailable", func(c *Config) { c.Keys = &countingKeys{err: jose.ErrKeysUnavailable} }, nil, []string{"Bearer " + valid}, 503,
			"", "temporarily_unavailable", "authentication temporarily unavailable", "5", true},
		{"revocation unavailable", func(c *Config) { c.Revocation = failingRevocation{} }, nil, []string{"Bearer " + valid}, 503,
			"", "temporarily_unavailable", "authentication temporarily unavailable", "5", true},
		{"insufficient scope", nil, RequireRolesWith(GuardOptions{Realm: "test"}, "root", "admin"), []string{"Bearer " + valid}, 403,
			`Bearer realm="test", error="insufficient_scope", error_description="insufficient scope", scope="root admin"`, "insufficient_scope", "insufficient scope", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestAuth(t, func(c *Config) { c.Realm = "test" }, tt.gmod)
			next := http.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
			if tt.wrap != nil {
				next = tt.wrap(next)
			}
			r := httptest.NewRequest("GET", "/", nil)
			for _, v := range tt.auth {
				r.Header.Add("Authorization", v)
			}
			rec := httptest.NewRecorder()
			a.Handler(next).ServeHTTP(rec, r)
			h := rec.Header()
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if got := h.Get("WWW-Authenticate"); got != tt.www {
				t.Fatalf("WWW-Authenticate %q, want %q", got, tt.www)
			}
			if h.Get("Cache-Control") != "no-store" || h.Get("Content-Type") != "application/json" {
				t.Fatalf("headers %v", h)
			}
			if got := h.Get("Retry-After"); got != tt.retry {
				t.Fatalf("Retry-After %q, want %q", got, tt.retry)
			}
			var body map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if len(body) != 2 || body["error"] != tt.error || body["error_description"] != tt.desc {
				t.Fatalf("body %v", body)
			}
			var all bytes.Buffer
			_ = h.Write(&all)
			all.Write(rec.Body.Bytes())
			if strings.Contains(all.String(), marker) {
				t.Fatalf("response echoes token content: %s", all.String())
			}
		})
	}
}

func TestAuthenticatorContextAndReqctx(t *testing.T) {
	k := fixtureKeys(t)
	a := newTestAuth(t, nil, nil)
	tok := signJSON(t, jose.RS256, k.RSA, hdrRS, claimsJSON())
	info := &auditlog.RequestInfo{RequestID: "r1"}
	r := httptest.NewRequest("GET", "/", nil)
	r = r.WithContext(auditlog.WithRequestInfo(r.Context(), info))
	r.Header.Set("Authorization", "Bearer "+tok)
	res := serve(a, r)
	if res.rec.Code != 204 || res.claims == nil || res.claims.Subject != "user-42" {
		t.Fatalf("status %d claims %+v", res.rec.Code, res.claims)
	}
	if info.Sub != "user-42" || info.JTI != "jti-0001" {
		t.Fatalf("auditlog.RequestInfo not filled: %+v", info)
	}
	if _, ok := ClaimsFromContext(r.Context()); ok {
		t.Fatal("the given request's context was changed")
	}
}

func TestAuthenticatorAudit(t *testing.T) {
	k := fixtureKeys(t)
	var buf bytes.Buffer
	log := auditlog.New(&buf, auditlog.Options{Now: func() time.Time { return t0 }, SuppressWindow: -1})
	a := newTestAuth(t, func(c *Config) { c.Audit = log }, nil)
	none := b64.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`)) + "." + b64.EncodeToString([]byte(claimsJSON())) + ".AAAA"
	expired := signJSON(t, jose.RS256, k.RSA, hdrRS, claimsJSON("exp", unix(-time.Hour)))
	for _, tok := range []string{none, expired, ""} {
		r := httptest.NewRequest("GET", "/", nil)
		if tok != "" {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		serve(a, r)
	}
	var lines []map[string]any
	for _, l := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	want := [][2]string{{"token_rejected", "alg_none"}, {"security_threat", "alg_none"}, {"token_rejected", "expired"}}
	if len(lines) != len(want) {
		t.Fatalf("audit lines %v", lines)
	}
	for i, w := range want {
		if lines[i]["event"] != w[0] || lines[i]["reason"] != w[1] {
			t.Fatalf("line %d = %v, want %v", i, lines[i], w)
		}
	}
	if lines[2]["jti"] != "jti-0001" || lines[2]["token"] != auditlog.TokenID(expired) {
		t.Fatalf("expired line %v", lines[2])
	}
	if strings.Contains(buf.String(), expired[:30]) || strings.Contains(buf.String(), none[:30]) {
		t.Fatal("the audit log contains a token")
	}
}

func TestNewConfigRequestErrors(t *testing.T) {
	tests := []struct {
		name  string
		mod   func(*Config)
		field string
	}{
		{"realm quote", func(c *Config) { c.Realm = `a"b` }, "Config.Realm"},
		{"realm newline", func(c *Config) { c.Realm = "a\nb" }, "Config.Realm"},
		{"cookie without CSRF", func(c *Config) { c.Cookie = "at" }, "Config.Cookie"},
		{"bad cookie name", func(c *Config) { c.Cookie, c.CSRFHeader = "a b", "X-Requested-With" }, "Config.Cookie"},
		{"origin with path", func(c *Config) { c.Cookie, c.CSRFOrigins = "at", []string{"https://a.example/x"} }, "Config.CSRFOrigins"},
		{"origin null", func(c *Config) { c.Cookie, c.CSRFOrigins = "at", []string{"null"} }, "Config.CSRFOrigins"},
		{"origin star", func(c *Config) { c.Cookie, c.CSRFOrigins = "at", []string{"*"} }, "Config.CSRFOrigins"},
		{"csrf header Origin", func(c *Config) { c.Cookie, c.CSRFHeader = "at", "origin" }, "Config.CSRFHeader"},
		{"query needs escaping", func(c *Config) { c.QueryParam = "a&b" }, "Config.QueryParam"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			tt.mod(&cfg)
			_, err := New(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("err = %v, want one naming %s", err, tt.field)
			}
		})
	}
}

func TestAuthenticatorCustomErrorWriter(t *testing.T) {
	var got *Error
	a := newTestAuth(t, func(c *Config) {
		c.ErrorWriter = func(w http.ResponseWriter, r *http.Request, e *Error) {
			got = e
			w.WriteHeader(418)
		}
	}, nil)
	res := serve(a, httptest.NewRequest("GET", "/", nil))
	if res.rec.Code != 418 || got == nil || got.Reason != ReasonNoToken || got.Realm != "api" {
		t.Fatalf("custom writer: %d %+v", res.rec.Code, got)
	}
}
