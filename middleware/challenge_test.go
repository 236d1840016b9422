package middleware

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestChallenges checks WriteError's WWW-Authenticate lines: one challenge
// per line, the one with the error first, DPoP's algs, RFC 9470's and RFC
// 9728's parameters.
func TestChallenges(t *testing.T) {
	const algs = "ES256 EdDSA"
	dpopErr := func(r Reason, mod func(*Error)) *Error {
		e := newError(r, nil)
		e.DPoPAlgs = algs
		if mod != nil {
			mod(e)
		}
		return e
	}
	tests := []struct {
		name  string
		e     *Error
		want  []string
		nonce string
	}{
		{"bearer only, no credentials", newError(ReasonNoToken, nil), []string{`Bearer realm="api"`}, ""},
		{"both, no credentials", dpopErr(ReasonNoToken, nil),
			[]string{`Bearer realm="api"`, `DPoP realm="api", algs="ES256 EdDSA"`}, ""},
		{"both, Bearer token invalid", dpopErr(ReasonExpired, nil),
			[]string{`Bearer realm="api", error="invalid_token", error_description="token expired"`, `DPoP realm="api", algs="ES256 EdDSA"`}, ""},
		{"both, DPoP token invalid", dpopErr(ReasonExpired, func(e *Error) { e.DPoP = true }),
			[]string{`DPoP realm="api", algs="ES256 EdDSA", error="invalid_token", error_description="token expired"`, `Bearer realm="api"`}, ""},
		{"DPoP required, no credentials", dpopErr(ReasonNoToken, func(e *Error) { e.DPoPOnly = true }),
			[]string{`DPoP realm="api", algs="ES256 EdDSA"`}, ""},
		{"DPoP required, Bearer token", dpopErr(ReasonDPoPRequired, func(e *Error) { e.DPoPOnly = true }),
			[]string{`DPoP realm="api", algs="ES256 EdDSA", error="invalid_token", error_description="DPoP-bound token required"`}, ""},
		{"use_dpop_nonce", dpopErr(ReasonDPoPNonce, func(e *Error) { e.DPoP, e.DPoPNonce = true, "n-1" }),
			[]string{`DPoP realm="api", algs="ES256 EdDSA", error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"`, `Bearer realm="api"`}, "n-1"},
		{"unquotable nonce dropped", dpopErr(ReasonDPoPNonce, func(e *Error) { e.DPoP, e.DPoPNonce = true, "n\"1" }),
			[]string{`DPoP realm="api", algs="ES256 EdDSA", error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"`, `Bearer realm="api"`}, ""},
		{"step-up", func() *Error {
			e := newError(ReasonStepUpMaxAge, nil)
			e.ACRValues, e.MaxAge = "gold silver", 90*time.Second
			return e
		}(), []string{`Bearer realm="api", error="insufficient_user_authentication", error_description="more recent authentication is required", acr_values="gold silver", max_age="90"`}, ""},
		{"resource_metadata on both", dpopErr(ReasonNoToken, func(e *Error) { e.ResourceMetadata = "https://api.example/.well-known/oauth-protected-resource" }),
			[]string{`Bearer realm="api", resource_metadata="https://api.example/.well-known/oauth-protected-resource"`,
				`DPoP realm="api", algs="ES256 EdDSA", resource_metadata="https://api.example/.well-known/oauth-protected-resource"`}, ""},
		{"unquotable metadata dropped", func() *Error {
			e := newError(ReasonNoToken, nil)
			e.ResourceMetadata = "https://a\"b"
			return e
		}(), []string{`Bearer realm="api"`}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			WriteError(rec, httptest.NewRequest("GET", "/", nil), tt.e)
			if got := rec.Header().Values("WWW-Authenticate"); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("WWW-Authenticate\n%q\nwant\n%q", got, tt.want)
			}
			if got := rec.Header().Get("DPoP-Nonce"); got != tt.nonce {
				t.Fatalf("DPoP-Nonce %q, want %q", got, tt.nonce)
			}
			for _, line := range rec.Header().Values("WWW-Authenticate") {
				if _, params, ok := parseChallenge(line); !ok || params["realm"] == "" {
					t.Fatalf("challenge %q does not parse as one auth-scheme with auth-params", line)
				}
			}
		})
	}
}

// parseChallenge parses one challenge the way a client reading one header
// line does: an auth-scheme, a space, then comma-separated name="value"
// pairs.
func parseChallenge(s string) (scheme string, params map[string]string, ok bool) {
	scheme, rest, ok := strings.Cut(s, " ")
	if !ok || !isToken(scheme) {
		return "", nil, false
	}
	params = map[string]string{}
	for rest != "" {
		name, after, ok := strings.Cut(rest, `="`)
		if !ok || !isToken(name) {
			return "", nil, false
		}
		value, after, ok := strings.Cut(after, `"`)
		if !ok {
			return "", nil, false
		}
		if _, dup := params[name]; dup {
			return "", nil, false
		}
		params[name] = value
		rest = strings.TrimPrefix(after, ", ")
		if rest == after && rest != "" {
			return "", nil, false
		}
	}
	return scheme, params, true
}

// TestBoundTokenWithoutDPoP: with DPoP off, a token with cnf.jkt is still
// refused (a bound token is never taken for a bearer one), and the DPoP
// scheme is not read at all.
func TestBoundTokenWithoutDPoP(t *testing.T) {
	k := fixtureKeys(t)
	bound := signJSON(t, "RS256", k.RSA, hdrRS, claimsJSON("cnf", `{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}`))
	a := newTestGate(t, nil)
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+bound)
	res := serve(a, r)
	if res.called || res.rec.Code != http.StatusUnauthorized {
		t.Fatalf("bound token as Bearer: %d", res.rec.Code)
	}
	if _, err := a.Authenticate(r); reasonOf(err) != ReasonDPoPDowngrade {
		t.Fatalf("reason %q", reasonOf(err))
	}
	r.Header.Set("Authorization", "DPoP "+bound)
	res = serve(a, r)
	if res.called || res.rec.Code != http.StatusUnauthorized || res.rec.Header().Get("WWW-Authenticate") != `Bearer realm="api"` {
		t.Fatalf("DPoP scheme without DPoP: %d %q", res.rec.Code, res.rec.Header().Get("WWW-Authenticate"))
	}
}
