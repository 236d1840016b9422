package middleware

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// One method per request (RFC 6750 §2): a token in the Authorization header
// (or a cookie) and one in the query is 400 invalid_request, whether query
// tokens are read or not.
func TestOneMethodPerRequest(t *testing.T) {
	k := fixtureKeys(t)
	tok := signJSON(t, "RS256", k.RSA, hdrRS, claimsJSON())
	bearer := [][2]string{{"Authorization", "Bearer " + tok}}
	cookie := func(c *Config) {
		c.Cookie, c.CSRFHeader = "at", "X-Requested-With"
	}
	query := func(name string) func(*Config) { return func(c *Config) { c.QueryParam = name } }
	tests := []struct {
		name    string
		mod     func(*Config)
		url     string
		headers [][2]string
		status  int
		reason  Reason
	}{
		{"header and access_token, query tokens off", nil, "/?access_token=" + tok, bearer, 400, ReasonMultipleTokens},
		{"header and another access_token, query tokens off", nil, "/?access_token=x", bearer, 400, ReasonMultipleTokens},
		{"header and empty access_token, query tokens off", nil, "/?a=1&access_token=", bearer, 400, ReasonMultipleTokens},
		{"header and escaped access_token name", nil, "/?access%5Ftoken=" + tok, bearer, 400, ReasonMultipleTokens},
		{"header and access_token with a semicolon query", nil, "/?a=1;b&access_token=x", bearer, 400, ReasonMultipleTokens},
		{"header and access_token, access_token configured", query("access_token"), "/?access_token=" + tok, bearer, 400, ReasonMultipleTokens},
		{"header and access_token, other name configured", query("token"), "/?access_token=" + tok, bearer, 400, ReasonMultipleTokens},
		{"header and configured name", query("token"), "/?token=" + tok, bearer, 400, ReasonMultipleTokens},
		{"configured name and access_token", query("token"), "/?token=" + tok + "&access_token=" + tok, nil, 400, ReasonMultipleTokens},
		{"cookie and access_token, query tokens off", cookie, "/?access_token=" + tok, [][2]string{{"Cookie", "at=" + tok}}, 400, ReasonMultipleTokens},

		{"header alone", nil, "/", bearer, 204, ""},
		{"header and unrelated parameters", nil, "/?page=2&my_access_token=x&access_tokens=y", bearer, 204, ""},
		{"header and access_token as a value", nil, "/?q=access_token", bearer, 204, ""},
		{"access_token alone, query tokens off", nil, "/?access_token=" + tok, nil, 401, ReasonNoToken},
		{"access_token alone, configured", query("access_token"), "/?access_token=" + tok, nil, 204, ""},
		{"configured name alone", query("token"), "/?token=" + tok, nil, 204, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestAuth(t, tt.mod, nil)
			r := httptest.NewRequest(http.MethodGet, tt.url, nil)
			for _, h := range tt.headers {
				r.Header.Add(h[0], h[1])
			}
			res := serve(a, r)
			if res.rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", res.rec.Code, tt.status, res.rec.Body)
			}
			if tt.status == 400 {
				if got := res.rec.Header().Get("Www-Authenticate"); got != `Bearer realm="api", error="invalid_request", error_description="malformed request"` {
					t.Fatalf("WWW-Authenticate %q", got)
				}
			}
			if tt.reason == "" {
				return
			}
			if _, err := a.Authenticate(r); reasonOf(err) != tt.reason {
				t.Fatalf("reason %q, want %q", reasonOf(err), tt.reason)
			}
		})
	}
}

// queryHas reads names as url.ParseQuery does.
func TestQueryHas(t *testing.T) {
	for _, tt := range []struct {
		raw  string
		want bool
	}{
		{"access_token=x", true},
		{"a=1&access_token", true},
		{"access%5ftoken=x", true},
		{"%61ccess_token=x", true},
		{"access_token%3D=x", false},
		{"x=access_token", false},
		{"my_access_token=1", false},
		{"access_tokens=1", false},
		{"%zz=1&b=2", false},
		{"", false},
	} {
		t.Run(tt.raw, func(t *testing.T) {
			if got := queryHas(tt.raw, "access_token"); got != tt.want {
				t.Fatalf("queryHas(%q) = %v, want %v", tt.raw, got, tt.want)
			}
		})
	}
}
