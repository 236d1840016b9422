package cors

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

var fuzzExact = []string{"https://app.example.com", "http://localhost:8081", "https://[::1]:8443", "http://127.0.0.1:3000", "https://partner.test:8443"}

const fuzzSuffix = ".example.org" // from the pattern https://*.example.org

// oracle decides, with net/url and without this package's parser, whether s
// names an allowed origin: the same scheme, host and port as a configured
// origin, or an https host strictly under example.org on the default port.
func oracle(t *testing.T, s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Opaque != "" || u.User != nil || u.RawQuery != "" || u.ForceQuery ||
		u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return false
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	hostport := host
	if strings.Contains(host, ":") {
		a, err := netip.ParseAddr(host)
		if err != nil {
			return false
		}
		hostport = "[" + a.String() + "]"
	}
	if port != "" {
		hostport += ":" + port
	}
	canon := scheme + "://" + hostport
	for _, e := range fuzzExact {
		if canon == e {
			return true
		}
	}
	return scheme == "https" && port == "" && strings.HasSuffix(host, fuzzSuffix) &&
		len(host) > len(fuzzSuffix) && !strings.HasPrefix(host, ".")
}

// FuzzOriginMatch checks that the matcher never panics and never accepts an
// origin that is not, after normalisation, a configured origin or under the
// pattern; and that the handler's answer agrees with the matcher.
func FuzzOriginMatch(f *testing.F) {
	for _, s := range []string{
		"https://app.example.com", "HTTPS://APP.EXAMPLE.COM:443/", "https://app.example.com.evil.test",
		"https://evilapp.example.com", "https://app.example.com@evil.test", "http://app.example.com",
		"https://app.example.com:8443", "null", "", "https://a.example.org", "https://example.org",
		"https://x.y.example.org:443", "http://localhost:8081", "http://LOCALHOST:8081/", "https://[::1]:8443",
		"https://[0::1]:8443", "http://127.0.0.1:3000", "http://127.1:3000", "https://app.example.com/x",
		"https://app.example.com?q", "https://app.example.com#f", "https://app.example.com:", "https://[::1",
		"https://app.example.com\\@evil.test", "https://ａpp.example.com", "https://app.example.com.",
		"https://partner.test:08443", "https://..example.org", "https://-.example.org",
	} {
		f.Add(s)
	}
	c, err := New(Policy{AllowedOrigins: fuzzExact, AllowOriginPatterns: []string{"https://*.example.org"}})
	if err != nil {
		f.Fatal(err)
	}
	h := c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	f.Fuzz(func(t *testing.T, s string) {
		got := c.allowOrigin(s)
		if got && !oracle(t, s) {
			t.Fatalf("allowOrigin(%q) = true, but it is not a configured origin", s)
		}
		if o, prob := parseOrigin(s); prob == okOrigin {
			if again, prob := parseOrigin(o.canon); prob != okOrigin || again.canon != o.canon {
				t.Fatalf("parseOrigin(%q) = %q, which parses to %q, %v", s, o.canon, again.canon, prob)
			}
		}
		r := httptest.NewRequest(http.MethodOptions, "/", nil)
		r.Header["Origin"] = []string{s}
		r.Header.Set("Access-Control-Request-Method", "GET")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if (rec.Code == http.StatusNoContent) != got {
			t.Fatalf("preflight from %q: status %d, matcher %t", s, rec.Code, got)
		}
		if got && rec.Header().Get("Access-Control-Allow-Origin") != s {
			t.Fatalf("preflight from %q: Access-Control-Allow-Origin %q", s, rec.Header().Get("Access-Control-Allow-Origin"))
		}
	})
}
