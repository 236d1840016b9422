package cors

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/apiguard/apiguard/auditlog"
	rscors "github.com/rs/cors"
)

// Defaults used for the zero fields of a Policy.
var (
	defaultMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
	defaultHeaders = []string{"Authorization", "Content-Type", "DPoP"}
	defaultExposed = []string{"WWW-Authenticate", "Retry-After", "RateLimit", "RateLimit-Policy", "DPoP-Nonce"}
)

const defaultMaxAge = 10 * time.Minute

// Reason codes of a rejected preflight, in the audit log's reason field.
const (
	ReasonOrigin  = "origin_not_allowed"
	ReasonMethod  = "method_not_allowed"
	ReasonHeaders = "headers_not_allowed"
)

// Policy says which cross-origin callers may use the API. A zero field means
// the default its doc names, so the zero Policy is the safe one: no origin is
// allowed, every preflight is refused with 403, and no response carries
// Access-Control-Allow-Origin. Origins are compared after normalisation (lower
// case scheme and host, no default port, no trailing slash), on both sides.
type Policy struct {
	// AllowedOrigins are the exact origins allowed, as "https://app.example.com"
	// or "http://localhost:8081". "*" alone allows every origin (and then
	// AllowCredentials must be false). "null" is refused: sandboxed
	// documents and file: pages all send it. Default: none.
	AllowedOrigins []string
	// AllowOriginPatterns allow whole subdomain trees: "https://*.example.com"
	// matches https://app.example.com and https://a.b.example.com, never
	// https://example.com, https://evilexample.com or another scheme or port.
	// The wildcard must be the whole leftmost label, followed by at least two
	// labels. Refused together with AllowCredentials. Default: none.
	AllowOriginPatterns []string
	// AllowCredentials lets browsers send cookies and read the answer
	// (Access-Control-Allow-Credentials: true). Default false.
	AllowCredentials bool
	// AllowedMethods may be used cross-origin. Default GET, POST, PUT, PATCH,
	// DELETE.
	AllowedMethods []string
	// AllowedHeaders may be sent cross-origin. Default Authorization,
	// Content-Type, DPoP (the proof of RFC 9449). "*" (any header) is refused with AllowCredentials.
	AllowedHeaders []string
	// ExposedHeaders may be read by the calling page. Default
	// WWW-Authenticate, Retry-After, RateLimit, RateLimit-Policy, DPoP-Nonce
	// (the server nonce a DPoP client must use next).
	ExposedHeaders []string
	// MaxAge is how long browsers may cache a preflight's answer, whole
	// seconds. Default 10 minutes. (Chromium caps it at 2 hours.)
	MaxAge time.Duration
	// AllowInsecureOrigins allows plain-HTTP origins other than loopback
	// (localhost, 127.0.0.0/8, [::1]), which are always allowed. Such an
	// origin can be impersonated by anyone on the network path. Default false.
	AllowInsecureOrigins bool
	// Audit records every rejected preflight (event cors_rejected, reasons
	// ReasonOrigin, ReasonMethod, ReasonHeaders). Nil records nothing.
	Audit *auditlog.Logger
	// OnReject, when set, is called for every rejected preflight with the
	// Origin the browser sent (untrusted input: do not log it raw). It must
	// not write to the response.
	OnReject func(r *http.Request, origin string)
}

// CORS is a validated Policy ready to serve. It is a type of its own, rather
// than a *Policy, so a Policy stays a plain configuration value and a CORS
// can only come out of New (or MustNew). Immutable after New and safe for
// concurrent use.
type CORS struct {
	rs       *rscors.Cors
	all      bool
	exact    map[string]struct{}
	patterns []pattern
	methods  []string
	audit    *auditlog.Logger
	onReject func(*http.Request, string)
}

// pattern is "scheme://*.<suffix>[:port]": the host must end in "."+suffix
// with at least one label before it.
type pattern struct {
	https  bool
	suffix string // ".example.com"
	port   string
}

func (p pattern) match(o origin) bool {
	return !o.isIP && o.https == p.https && o.port == p.port &&
		len(o.host) > len(p.suffix) && strings.HasSuffix(o.host, p.suffix)
}

// New validates p and builds the middleware. It refuses, with an error
// naming the field and the value: "*" or a pattern together with
// AllowCredentials, the "null" origin, an origin with a path, query,
// fragment or user information, a plain-HTTP origin other than loopback
// unless AllowInsecureOrigins, a malformed pattern, method or header.
func New(p Policy) (*CORS, error) {
	c := &CORS{exact: map[string]struct{}{}, audit: p.Audit, onReject: p.OnReject}
	for _, s := range p.AllowedOrigins {
		switch {
		case s == "*":
			if p.AllowCredentials {
				return nil, fmt.Errorf("cors: AllowedOrigins contains %q while AllowCredentials is set", s)
			}
			c.all = true
			continue
		case strings.EqualFold(strings.TrimSpace(s), "null"):
			return nil, fmt.Errorf("cors: AllowedOrigins contains %q: sandboxed documents and file: pages all send it, so it identifies no one", s)
		case strings.Contains(s, "*"):
			return nil, fmt.Errorf("cors: AllowedOrigins contains %q: a wildcard belongs in AllowOriginPatterns", s)
		}
		o, prob := parseOrigin(s)
		if prob != okOrigin {
			return nil, fmt.Errorf("cors: AllowedOrigins contains %q: %s", s, prob)
		}
		if !o.https && !o.loopback && !p.AllowInsecureOrigins {
			return nil, fmt.Errorf("cors: AllowedOrigins contains %q: not HTTPS and not loopback (set AllowInsecureOrigins to allow it)", s)
		}
		c.exact[o.canon] = struct{}{}
	}
	for _, s := range p.AllowOriginPatterns {
		if p.AllowCredentials {
			return nil, fmt.Errorf("cors: AllowOriginPatterns contains %q while AllowCredentials is set", s)
		}
		pat, err := parsePattern(s, p.AllowInsecureOrigins)
		if err != nil {
			return nil, err
		}
		c.patterns = append(c.patterns, pat)
	}

	c.methods = p.AllowedMethods
	if len(c.methods) == 0 {
		c.methods = defaultMethods
	}
	if err := checkTokens("AllowedMethods", c.methods); err != nil {
		return nil, err
	}
	headers := p.AllowedHeaders
	if len(headers) == 0 {
		headers = defaultHeaders
	}
	for _, h := range headers {
		if h == "*" && p.AllowCredentials {
			return nil, fmt.Errorf("cors: AllowedHeaders contains %q while AllowCredentials is set", h)
		}
	}
	if err := checkTokens("AllowedHeaders", headers); err != nil {
		return nil, err
	}
	exposed := p.ExposedHeaders
	if len(exposed) == 0 {
		exposed = defaultExposed
	}
	if err := checkTokens("ExposedHeaders", exposed); err != nil {
		return nil, err
	}
	maxAge := p.MaxAge
	if maxAge == 0 {
		maxAge = defaultMaxAge
	}
	if maxAge < time.Second || maxAge%time.Second != 0 {
		return nil, fmt.Errorf("cors: MaxAge is %v, want whole seconds, at least 1s (0 means %v)", p.MaxAge, defaultMaxAge)
	}

	opts := rscors.Options{
		AllowedMethods:   c.methods,
		AllowedHeaders:   headers,
		ExposedHeaders:   exposed,
		MaxAge:           int(maxAge / time.Second),
		AllowCredentials: p.AllowCredentials,
		// Preflights go on to finishPreflight, which answers 204 or 403;
		// they never reach the wrapped handler.
		OptionsPassthrough: true,
	}
	if c.all {
		opts.AllowedOrigins = []string{"*"}
	} else {
		opts.AllowOriginVaryRequestFunc = func(r *http.Request, origin string) (bool, []string) {
			return c.allowed(r), nil
		}
	}
	c.rs = rscors.New(opts)
	return c, nil
}

// MustNew is like New but panics with New's error. It is meant for literal
// configuration known at compile time; a policy read from flags or a file
// should go through New.
func MustNew(p Policy) *CORS {
	c, err := New(p)
	if err != nil {
		panic(err)
	}
	return c
}

// parsePattern parses "scheme://*.domain[:port]".
func parsePattern(s string, insecureOK bool) (pattern, error) {
	bad := func(why string) (pattern, error) {
		return pattern{}, fmt.Errorf("cors: AllowOriginPatterns contains %q: %s", s, why)
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || !strings.HasPrefix(rest, "*.") || strings.Count(s, "*") != 1 {
		return bad(`the wildcard must be the whole leftmost label, as in "https://*.example.com"`)
	}
	// Parse the origin with a stand-in label to reuse every origin check.
	o, prob := parseOrigin(scheme + "://wildcard" + rest[1:])
	if prob != okOrigin {
		return bad(prob.String())
	}
	if o.isIP {
		return bad("a wildcard cannot stand for part of an IP address")
	}
	suffix := o.host[len("wildcard"):]
	if strings.Count(suffix, ".") < 2 {
		return bad("the wildcard must be followed by at least two labels")
	}
	if !o.https && !insecureOK {
		return bad("not HTTPS (set AllowInsecureOrigins to allow it)")
	}
	return pattern{https: o.https, suffix: suffix, port: o.port}, nil
}

// checkTokens refuses names that are not HTTP tokens, which could otherwise
// smuggle list separators or other headers into a CORS header.
func checkTokens(field string, names []string) error {
	for _, n := range names {
		if n == "" {
			return fmt.Errorf("cors: %s contains an empty name", field)
		}
		for i := 0; i < len(n); i++ {
			if !isTokenChar(n[i]) {
				return fmt.Errorf("cors: %s contains %q, not an HTTP token", field, n)
			}
		}
	}
	return nil
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// Allowed reports whether the request's Origin is allowed by the policy. A
// request with no Origin, or with more than one, is not.
func (c *CORS) Allowed(r *http.Request) bool { return c.allowed(r) }

func (c *CORS) allowed(r *http.Request) bool {
	vals := r.Header["Origin"]
	if len(vals) != 1 {
		return false
	}
	return c.allowOrigin(vals[0])
}

// allowOrigin is the origin matcher: the normalised origin must equal an
// allowed origin or match a pattern.
func (c *CORS) allowOrigin(s string) bool {
	if c.all {
		return s != ""
	}
	o, prob := parseOrigin(s)
	if prob != okOrigin {
		return false
	}
	if _, ok := c.exact[o.canon]; ok {
		return true
	}
	for _, p := range c.patterns {
		if p.match(o) {
			return true
		}
	}
	return false
}

// Handler answers preflights itself (204 with the CORS headers for an
// allowed origin, method and headers; 403 otherwise, recorded in the audit
// log) and never passes them to next. Other requests go to next, with
// Vary: Origin always and the CORS headers when their origin is allowed.
func (c *CORS) Handler(next http.Handler) http.Handler {
	preflight := c.rs.Handler(http.HandlerFunc(c.finishPreflight))
	actual := c.rs.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// This middleware alone decides these; drop anything set earlier.
		delete(h, "Access-Control-Allow-Origin")
		delete(h, "Access-Control-Allow-Credentials")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			if len(r.Header["Origin"]) == 0 {
				// Not a browser's preflight: an ordinary OPTIONS request.
				h["Vary"] = append(h["Vary"], "Origin")
				next.ServeHTTP(w, r)
				return
			}
			preflight.ServeHTTP(w, r)
			return
		}
		actual.ServeHTTP(w, r)
	})
}

// finishPreflight runs after rs/cors has handled a preflight: rs/cors sets
// Access-Control-Allow-Origin exactly when it accepted the origin, the method
// and the headers.
func (c *CORS) finishPreflight(w http.ResponseWriter, r *http.Request) {
	if _, ok := w.Header()["Access-Control-Allow-Origin"]; ok {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	reason := ReasonHeaders
	switch {
	case !c.allowed(r):
		reason = ReasonOrigin
	case !c.methodAllowed(r.Header.Get("Access-Control-Request-Method")):
		reason = ReasonMethod
	}
	c.audit.Record(r, auditlog.Event{
		Name:   auditlog.CORSRejected,
		Reason: reason,
		Status: http.StatusForbidden,
		Detail: "preflight rejected",
	})
	if c.onReject != nil {
		c.onReject(r, r.Header.Get("Origin"))
	}
	w.WriteHeader(http.StatusForbidden)
}

func (c *CORS) methodAllowed(m string) bool {
	for _, a := range c.methods {
		if a == m {
			return true
		}
	}
	return false
}
