package headers

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/unrolled/secure"
)

// permissionsPolicy turns off every powerful feature a JSON API or a simple
// page has no use for. Only features current browsers recognise are listed, so
// the console stays free of "unrecognized feature" warnings.
const permissionsPolicy = "accelerometer=(), autoplay=(), camera=(), display-capture=(), " +
	"encrypted-media=(), fullscreen=(), geolocation=(), gyroscope=(), magnetometer=(), " +
	"microphone=(), midi=(), payment=(), picture-in-picture=(), publickey-credentials-get=(), " +
	"screen-wake-lock=(), sync-xhr=(), usb=(), xr-spatial-tracking=()"

// NoncePlaceholder is replaced, in ContentSecurityPolicy, by 'nonce-…' with a
// fresh nonce on every response.
const NoncePlaceholder = "$NONCE"

// hstsPreloadMinSeconds is the shortest max-age the HSTS preload list accepts.
const hstsPreloadMinSeconds = 31536000

// Options configures the headers. The zero value sends nothing: start from API
// or Web and change what must differ. Each field's doc gives its value in both
// presets; an empty string or false leaves that header out.
type Options struct {
	// ContentSecurityPolicy is the Content-Security-Policy header.
	// NoncePlaceholder ("$NONCE") is replaced on every response by
	// 'nonce-<24 base64 characters>' (128 random bits), which Nonce returns
	// to templates.
	// API: "default-src 'none'; frame-ancestors 'none'".
	// Web: "default-src 'self'; script-src $NONCE 'strict-dynamic'; object-src 'none';
	// base-uri 'none'; frame-ancestors 'none'; form-action 'self'; style-src 'self';
	// img-src 'self' data:; connect-src 'self'".
	ContentSecurityPolicy string

	// ConnectSrc lists further origins ("https://api.example.com") the page
	// may fetch from; they are appended to the policy's connect-src directive,
	// which must then exist. API and Web: none.
	ConnectSrc []string

	// UpgradeInsecureRequests appends upgrade-insecure-requests to the
	// policy, except in Development mode for a loopback host.
	// API: false (an API loads no subresources). Web: true.
	UpgradeInsecureRequests bool

	// FrameOptions is X-Frame-Options. API and Web: "DENY".
	FrameOptions string

	// ContentTypeNosniff sends X-Content-Type-Options: nosniff. API and Web: true.
	ContentTypeNosniff bool

	// ReferrerPolicy is Referrer-Policy. API and Web: "no-referrer".
	ReferrerPolicy string

	// CrossOriginOpenerPolicy is Cross-Origin-Opener-Policy. API and Web: "same-origin".
	CrossOriginOpenerPolicy string

	// CrossOriginResourcePolicy is Cross-Origin-Resource-Policy.
	// API and Web: "same-origin". An API read cross-origin through CORS is
	// not affected: CORP applies to no-cors loads only.
	CrossOriginResourcePolicy string

	// PermissionsPolicy is Permissions-Policy. API and Web: every powerful
	// feature off ("camera=(), microphone=(), geolocation=(), …").
	PermissionsPolicy string

	// XSSProtection is X-XSS-Protection. API and Web: "0": the old filter
	// could be abused for cross-site leaks, and current browsers removed it.
	XSSProtection string

	// CacheControl is the Cache-Control added to a response whose handler set
	// none; a handler's own Cache-Control is always kept.
	// API: "no-store". Web: "no-store" too, on purpose: a nonce must be
	// unique per response, a cached page replays its nonce, and a revalidated
	// one (304) would pair the old page with a new nonce and break its
	// scripts. Static assets served through Web set their own Cache-Control.
	CacheControl string

	// STSSeconds is the max-age of Strict-Transport-Security, sent only over
	// HTTPS; 0 sends no HSTS. API and Web: 63072000 (two years).
	STSSeconds int64
	// STSIncludeSubdomains adds includeSubDomains. API and Web: true.
	STSIncludeSubdomains bool
	// STSPreload adds preload: opt in only once every subdomain serves HTTPS;
	// it needs STSSeconds of at least one year and STSIncludeSubdomains.
	// API and Web: false.
	STSPreload bool

	// Development drops HSTS and upgrade-insecure-requests for requests to a
	// loopback host (localhost, *.localhost, 127.0.0.0/8, [::1]), so a
	// browser on the developer's machine does not pin localhost to HTTPS.
	// Requests to any other host still get them. API and Web: false.
	Development bool

	// TrustedProxy reports whether the request's peer is a proxy whose
	// X-Forwarded-Proto header is believed (the ratelimit package's client
	// identifier provides one). Nil, the default, trusts nobody: only a TLS
	// connection counts as HTTPS.
	TrustedProxy func(*http.Request) bool
}

// API returns the preset for JSON APIs: nothing may be loaded, framed,
// sniffed or cached, and HSTS over HTTPS.
func API() Options {
	return Options{
		ContentSecurityPolicy:     "default-src 'none'; frame-ancestors 'none'",
		FrameOptions:              "DENY",
		ContentTypeNosniff:        true,
		ReferrerPolicy:            "no-referrer",
		CrossOriginOpenerPolicy:   "same-origin",
		CrossOriginResourcePolicy: "same-origin",
		PermissionsPolicy:         permissionsPolicy,
		XSSProtection:             "0",
		CacheControl:              "no-store",
		STSSeconds:                63072000,
		STSIncludeSubdomains:      true,
	}
}

// Web returns the preset for HTML pages: API's headers with a strict,
// nonce-based Content-Security-Policy (see Options.ContentSecurityPolicy)
// and upgrade-insecure-requests.
func Web() Options {
	o := API()
	o.ContentSecurityPolicy = "default-src 'self'; script-src " + NoncePlaceholder + " 'strict-dynamic'; " +
		"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'; " +
		"style-src 'self'; img-src 'self' data:; connect-src 'self'"
	o.UpgradeInsecureRequests = true
	return o
}

// Headers writes the configured headers on every response. It is immutable
// after New and safe for concurrent use.
type Headers struct {
	// sets holds the precomputed headers for each variant, indexed by
	// variant(https, localDev).
	sets         [4]headerSet
	nonce        bool
	cacheControl []string
	development  bool
	trustedProxy func(*http.Request) bool
}

type headerField struct {
	key string
	val []string // len == cap == 1; shared by every response, never written to
}

type headerSet struct {
	fields []headerField
	// cspParts is the policy split at each nonce; nil without a nonce.
	cspParts []string
}

const (
	cspHeader          = "Content-Security-Policy"
	cacheControlHeader = "Cache-Control"
	// nonceMark stands in for the nonce while unrolled/secure renders the
	// policy; it cannot occur in a valid header value.
	nonceMark = "\x00nonce\x00"
)

func variant(https, localDev bool) int {
	v := 0
	if https {
		v |= 2
	}
	if localDev {
		v |= 1
	}
	return v
}

// New validates o and precomputes every header value. It returns an error
// naming the field and the value for a value that cannot be a header (a CR
// or LF, a non-ASCII byte), a negative STSSeconds, STSPreload without its
// preconditions, or a ConnectSrc entry that is not an origin.
//
// The zero Options is valid but sends no header at all (each empty field
// leaves its header out): pass API() or Web(), changed where needed.
func New(o Options) (*Headers, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	csp := o.ContentSecurityPolicy
	if len(o.ConnectSrc) > 0 {
		var err error
		if csp, err = appendConnectSrc(csp, o.ConnectSrc); err != nil {
			return nil, err
		}
	}
	h := &Headers{
		nonce:        strings.Contains(csp, NoncePlaceholder),
		development:  o.Development,
		trustedProxy: o.TrustedProxy,
	}
	if o.CacheControl != "" {
		h.cacheControl = []string{o.CacheControl}
	}
	for _, https := range []bool{false, true} {
		for _, localDev := range []bool{false, true} {
			if localDev && !o.Development {
				h.sets[variant(https, localDev)] = h.sets[variant(https, false)]
				continue
			}
			set, err := render(o, csp, https, localDev)
			if err != nil {
				return nil, err
			}
			h.sets[variant(https, localDev)] = set
		}
	}
	return h, nil
}

// MustNew is like New but panics with New's error. It is meant for literal
// configuration known at compile time, such as headers.MustNew(headers.API()).
func MustNew(o Options) *Headers {
	h, err := New(o)
	if err != nil {
		panic(err)
	}
	return h
}

// render asks unrolled/secure for the headers of one variant.
func render(o Options, csp string, https, localDev bool) (headerSet, error) {
	if csp != "" && o.UpgradeInsecureRequests && !localDev {
		csp += "; upgrade-insecure-requests"
	}
	so := secure.Options{
		ContentSecurityPolicy:     strings.ReplaceAll(csp, NoncePlaceholder, nonceMark),
		CustomFrameOptionsValue:   o.FrameOptions,
		ContentTypeNosniff:        o.ContentTypeNosniff,
		ReferrerPolicy:            o.ReferrerPolicy,
		CrossOriginOpenerPolicy:   o.CrossOriginOpenerPolicy,
		CrossOriginResourcePolicy: o.CrossOriginResourcePolicy,
		PermissionsPolicy:         o.PermissionsPolicy,
		CustomBrowserXssValue:     o.XSSProtection,
		STSSeconds:                o.STSSeconds,
		STSIncludeSubdomains:      o.STSIncludeSubdomains,
		STSPreload:                o.STSPreload,
		// secure leaves HSTS out in development mode; that is the one
		// effect of IsDevelopment with the options set here.
		IsDevelopment: localDev,
	}
	r := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/"}, Header: http.Header{}, Host: "apiguard.invalid"}
	if https {
		r.TLS = &tls.ConnectionState{}
	}
	rendered, _, err := secure.New(so).ProcessNoModifyRequest(nil, r)
	if err != nil {
		return headerSet{}, fmt.Errorf("headers: rendering with unrolled/secure: %w", err)
	}
	var set headerSet
	for key, vals := range rendered {
		if len(vals) != 1 {
			continue
		}
		if key == cspHeader && strings.Contains(vals[0], nonceMark) {
			set.cspParts = strings.Split(vals[0], nonceMark)
			continue
		}
		set.fields = append(set.fields, headerField{key: key, val: []string{vals[0]}})
	}
	return set, nil
}

func (o *Options) validate() error {
	fields := []struct{ name, val string }{
		{"ContentSecurityPolicy", o.ContentSecurityPolicy},
		{"FrameOptions", o.FrameOptions},
		{"ReferrerPolicy", o.ReferrerPolicy},
		{"CrossOriginOpenerPolicy", o.CrossOriginOpenerPolicy},
		{"CrossOriginResourcePolicy", o.CrossOriginResourcePolicy},
		{"PermissionsPolicy", o.PermissionsPolicy},
		{"XSSProtection", o.XSSProtection},
		{"CacheControl", o.CacheControl},
	}
	for _, f := range fields {
		if !validHeaderValue(f.val) {
			return fmt.Errorf("headers: %s %q is not a valid header value", f.name, f.val)
		}
	}
	if o.STSSeconds < 0 {
		return fmt.Errorf("headers: STSSeconds is %d, want 0 (no HSTS) or more", o.STSSeconds)
	}
	if o.STSPreload && (o.STSSeconds < hstsPreloadMinSeconds || !o.STSIncludeSubdomains) {
		return fmt.Errorf("headers: STSPreload is set with STSSeconds %d and STSIncludeSubdomains %t; preload needs at least %d and includeSubDomains",
			o.STSSeconds, o.STSIncludeSubdomains, hstsPreloadMinSeconds)
	}
	for _, src := range o.ConnectSrc {
		if !validSource(src) {
			return fmt.Errorf("headers: ConnectSrc contains %q, want an origin such as \"https://api.example.com\"", src)
		}
	}
	return nil
}

// validHeaderValue reports whether s may be sent as a header value: visible
// ASCII, spaces and tabs only, so no option can split a header.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 0x20 && c != '\t') || c >= 0x7f {
			return false
		}
	}
	return true
}

// validSource reports whether s is a scheme://host[:port] origin that can be
// placed in a CSP source list without changing the policy's meaning.
func validSource(s string) bool {
	if s == "" || strings.ContainsAny(s, " \t;,'\"") || !validHeaderValue(s) {
		return false
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" ||
		u.ForceQuery || (u.Path != "" && u.Path != "/") {
		return false
	}
	switch u.Scheme {
	case "https", "http", "wss", "ws":
		return true
	}
	return false
}

// appendConnectSrc adds srcs to the connect-src directive of csp.
func appendConnectSrc(csp string, srcs []string) (string, error) {
	directives := strings.Split(csp, ";")
	for i, d := range directives {
		name, _, _ := strings.Cut(strings.TrimSpace(d), " ")
		if strings.EqualFold(name, "connect-src") {
			directives[i] = strings.TrimRight(d, " ") + " " + strings.Join(srcs, " ")
			return strings.Join(directives, ";"), nil
		}
	}
	return "", errors.New("headers: ConnectSrc is set but ContentSecurityPolicy has no connect-src directive")
}

type contextKey struct{ name string }

var nonceKey = &contextKey{"apiguard-csp-nonce"}

// Nonce returns the CSP nonce of the current response, for templates:
// <script nonce="{{.Nonce}}">. ok is false outside a handler wrapped by a
// Headers whose policy has a nonce.
func Nonce(ctx context.Context) (string, bool) {
	n, ok := ctx.Value(nonceKey).(string)
	return n, ok
}

// newNonce returns 128 random bits, base64 encoded (24 characters).
func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+): it crashes the program instead
	return base64.StdEncoding.EncodeToString(b[:])
}

// IsHTTPS reports whether r reached the server over HTTPS: over a TLS
// connection, or through a proxy trusted by TrustedProxy whose
// X-Forwarded-Proto (its last value, the one the proxy itself set) is https.
func (h *Headers) IsHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if h.trustedProxy == nil {
		return false
	}
	vals := r.Header["X-Forwarded-Proto"]
	if len(vals) == 0 {
		return false
	}
	last := vals[len(vals)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	return strings.EqualFold(strings.TrimSpace(last), "https") && h.trustedProxy(r)
}

// isLoopbackHost reports whether a Host header names this machine.
func isLoopbackHost(host string) bool {
	if strings.HasPrefix(host, "[") {
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return false
		}
		a, err := netip.ParseAddr(host[1:end])
		return err == nil && a.IsLoopback()
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	host = strings.TrimSuffix(host, ".")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	if len(host) > len(".localhost") && strings.EqualFold(host[len(host)-len(".localhost"):], ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Is4() && a.IsLoopback()
}

// Handler writes the headers before calling next, so they are on every
// response next writes, errors included.
func (h *Headers) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		set := &h.sets[variant(h.IsHTTPS(r), h.development && isLoopbackHost(r.Host))]
		hdr := w.Header()
		for _, f := range set.fields {
			hdr[f.key] = f.val
		}
		if h.nonce {
			n := newNonce()
			hdr[cspHeader] = []string{joinNonce(set.cspParts, n)}
			r = r.WithContext(context.WithValue(r.Context(), nonceKey, n))
		}
		if h.cacheControl == nil {
			next.ServeHTTP(w, r)
			return
		}
		cw := &cacheWriter{ResponseWriter: w, value: h.cacheControl}
		next.ServeHTTP(cw, r)
		cw.apply(http.StatusOK) // the handler wrote nothing: net/http sends 200 with these headers
	})
}

func joinNonce(parts []string, nonce string) string {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	n += (len(parts) - 1) * (len("'nonce-'") + len(nonce))
	var b strings.Builder
	b.Grow(n)
	for i, p := range parts {
		if i > 0 {
			b.WriteString("'nonce-")
			b.WriteString(nonce)
			b.WriteByte('\'')
		}
		b.WriteString(p)
	}
	return b.String()
}
