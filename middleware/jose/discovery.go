package jose

// Discovery of an issuer's metadata: OpenID Connect Discovery 1.0 §4 and
// RFC 8414 (OAuth 2.0 Authorization Server Metadata), for a resource server
// that is configured with an issuer URL and needs its jwks_uri.
//
// Unexported identifiers here start with "discovery" so that this file can
// live next to the rest of the package without colliding with it.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apiguard/apiguard/auditlog"
	"github.com/apiguard/apiguard/internal/clientip"
	"github.com/apiguard/apiguard/internal/strictjson"
)

// Defaults of DiscoveryConfig.
const (
	discoveryDefaultMinRefresh = time.Minute
	discoveryDefaultMaxAge     = 24 * time.Hour
	discoveryDefaultGrace      = 24 * time.Hour
	discoveryDefaultTimeout    = 10 * time.Second
	discoveryDefaultMaxSize    = 64 << 10
	discoveryMaxRedirects      = 3
)

// Errors of discovery. Every error of Metadata but the caller's own context
// error is a *DiscoveryError that wraps exactly one of these two.
var (
	// ErrDiscoveryUnavailable: the provider could not be reached or did not
	// answer in time, or answered 5xx, 408 or 429. It is worth retrying
	// (the gate answers 503 with Retry-After).
	ErrDiscoveryUnavailable = errors.New("jose: discovery: provider unavailable")
	// ErrDiscoveryInvalid: the provider answered, but not with a usable
	// metadata document (another status, a redirect that is not followed,
	// not JSON, not strict JSON, an issuer that is not the configured one,
	// a bad jwks_uri). Retrying helps only once the provider is fixed.
	ErrDiscoveryInvalid = errors.New("jose: discovery: invalid provider metadata")
)

// DiscoveryError is a failed fetch of the metadata document. Kind is
// ErrDiscoveryUnavailable or ErrDiscoveryInvalid; Err is the cause, for logs
// only. errors.Is sees both.
type DiscoveryError struct {
	Kind error
	// URL is the document's URL (a well-known URL derived from the issuer,
	// which has neither query nor userinfo, so it is safe to log).
	URL string
	// RetryAfter is how long until Metadata will try the provider again.
	RetryAfter time.Duration
	Err        error
}

// Error returns the kind, the URL and the cause.
func (e *DiscoveryError) Error() string {
	s := "jose: discovery failed"
	if e.Kind != nil {
		s = e.Kind.Error()
	}
	s += " (" + e.URL + ")"
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns Kind and Err.
func (e *DiscoveryError) Unwrap() []error { return []error{e.Kind, e.Err} }

// DiscoveryProtocol chooses the well-known document that is fetched.
type DiscoveryProtocol int

const (
	// DiscoveryAuto fetches the OpenID Connect document and, when that
	// answers 404, the RFC 8414 one; once a document has been fetched, its
	// URL is tried first until a fetch fails.
	DiscoveryAuto DiscoveryProtocol = iota
	// DiscoveryOIDC fetches only issuer + "/.well-known/openid-configuration"
	// (a trailing "/" of the issuer removed first), OpenID Connect
	// Discovery 1.0 §4.
	DiscoveryOIDC
	// DiscoveryOAuth fetches only the RFC 8414 §3.1 document:
	// "/.well-known/oauth-authorization-server" inserted between the
	// issuer's host and its path (a trailing "/" of the path removed first),
	// so https://host/tenant1 gives
	// https://host/.well-known/oauth-authorization-server/tenant1.
	DiscoveryOAuth
)

// DiscoveryConfig configures NewDiscovery. A zero field means its default.
type DiscoveryConfig struct {
	// Issuer is the issuer identifier, required: an absolute http or https
	// URL without userinfo, query or fragment; http only for a loopback host
	// (127.0.0.0/8, ::1, localhost). The document's "issuer" must equal it
	// byte for byte (OpenID Connect Discovery §4.3, RFC 8414 §3.3).
	Issuer string
	// Protocol chooses the document; the default is DiscoveryAuto.
	Protocol DiscoveryProtocol
	// HTTPClient sends the requests. The default is a client of
	// http.DefaultTransport. Whichever client is used, Discovery uses a copy
	// of it whose redirects are limited: at most 3, each to the same scheme
	// and host (port included) as the document's URL, so never from https to
	// http nor to another host; the client's own CheckRedirect, if any, runs
	// after that.
	HTTPClient *http.Client
	// Observer, when set, is told of every fetch (auditlog.FetchDiscovery:
	// the URL without query or userinfo, status, duration, and the error's
	// Kind, ErrDiscoveryUnavailable or ErrDiscoveryInvalid). Default none.
	Observer auditlog.Observer
	// Timeout bounds one fetch, the reading of the body included, whatever
	// the client's own Timeout. The default is 10 s.
	Timeout time.Duration
	// Now is the clock; the default is time.Now.
	Now func() time.Time
	// MinRefresh and MaxAge bound how long a document is fresh. The lifetime
	// is the smallest Cache-Control max-age of the response clamped to
	// [MinRefresh, MaxAge]; no-store, no-cache, no or an unreadable max-age
	// give MinRefresh (Expires and Age are not read). After a failed fetch
	// the provider is not asked again before MinRefresh has passed. The
	// defaults are 1 min and 24 h; MinRefresh may not exceed MaxAge.
	MinRefresh, MaxAge time.Duration
	// Grace is how long after the last good document went stale it is still
	// served while fetches fail. The default is 24 h: the jwks_uri of a
	// provider rarely changes, and its keys have a cache of their own.
	Grace time.Duration
	// MaxSize caps the document, in bytes; the default and the largest
	// value is 64 KiB (the strict JSON decoder's cap).
	MaxSize int64
	// OnError, if set, is called with the error of every failed fetch (once
	// per fetch, not per caller), also when the last good document is still
	// served. It runs on the fetching goroutine before the callers waiting
	// for that fetch return, so it must not block.
	OnError func(err error)
}

// Metadata is the part of a provider's metadata document that a resource
// server uses. Unknown members are ignored. A *Metadata returned by
// Discovery is shared: it must not be modified.
type Metadata struct {
	// Issuer equals DiscoveryConfig.Issuer.
	Issuer string
	// JWKSURI is "jwks_uri": an absolute https URL (http for a loopback
	// host) without userinfo or fragment.
	JWKSURI string
	// TokenEndpoint is "token_endpoint", as given ("" when absent).
	TokenEndpoint string
	// IDTokenSigningAlgValuesSupported is
	// "id_token_signing_alg_values_supported" (nil when absent).
	IDTokenSigningAlgValuesSupported []string
}

// Discovery fetches and caches the metadata document of one issuer. It is
// safe for concurrent use; concurrent callers of Metadata share one fetch.
type Discovery struct {
	issuer                      string
	urls                        []string // well-known URLs, in the order they are tried
	client                      *http.Client
	now                         func() time.Time
	timeout, minRefresh, maxAge time.Duration
	grace                       time.Duration
	maxSize                     int64
	onError                     func(error)
	observer                    auditlog.Observer

	mu                             sync.Mutex // guards the fields below
	doc                            *Metadata  // the last good document, nil before the first
	freshUntil, keepUntil, retryAt time.Time
	lastErr                        *DiscoveryError // the last failure, while retryAt is ahead
	first                          int             // index in urls of the last document found
	call                           *discoveryCall  // the fetch in flight, nil if none
}

// discoveryCall is one fetch, shared by the callers that wait for it.
type discoveryCall struct {
	done    chan struct{} // closed when doc and err are set
	doc     *Metadata
	err     error
	waiters int // callers that joined, for tests
}

// NewDiscovery validates cfg and returns a Discovery. Nothing is fetched
// before the first call of Metadata.
func NewDiscovery(cfg DiscoveryConfig) (*Discovery, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("jose: DiscoveryConfig.Issuer is empty")
	}
	u, err := discoveryURL(cfg.Issuer)
	if err == nil && (u.RawQuery != "" || u.ForceQuery) {
		err = errors.New("has a query")
	}
	if err != nil {
		return nil, fmt.Errorf("jose: DiscoveryConfig.Issuer %q: %w", cfg.Issuer, err)
	}
	d := &Discovery{
		issuer: cfg.Issuer, now: cfg.Now, onError: cfg.OnError, observer: cfg.Observer,
		timeout: cfg.Timeout, minRefresh: cfg.MinRefresh, maxAge: cfg.MaxAge, grace: cfg.Grace, maxSize: cfg.MaxSize,
	}
	for _, f := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"Timeout", &d.timeout, discoveryDefaultTimeout},
		{"MinRefresh", &d.minRefresh, discoveryDefaultMinRefresh},
		{"MaxAge", &d.maxAge, discoveryDefaultMaxAge},
		{"Grace", &d.grace, discoveryDefaultGrace},
	} {
		if *f.v < 0 {
			return nil, fmt.Errorf("jose: DiscoveryConfig.%s %v is negative", f.name, *f.v)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	if d.minRefresh > d.maxAge {
		return nil, fmt.Errorf("jose: DiscoveryConfig.MinRefresh %v exceeds MaxAge %v", d.minRefresh, d.maxAge)
	}
	switch {
	case d.maxSize < 0 || d.maxSize > strictjson.MaxSize:
		return nil, fmt.Errorf("jose: DiscoveryConfig.MaxSize %d is not within [0, %d]", d.maxSize, strictjson.MaxSize)
	case d.maxSize == 0:
		d.maxSize = discoveryDefaultMaxSize
	}
	if d.now == nil {
		d.now = time.Now
	}

	oidc := strings.TrimSuffix(cfg.Issuer, "/") + "/.well-known/openid-configuration"
	oauth := u.Scheme + "://" + u.Host + "/.well-known/oauth-authorization-server" + strings.TrimSuffix(u.EscapedPath(), "/")
	switch cfg.Protocol {
	case DiscoveryAuto:
		d.urls = []string{oidc, oauth}
	case DiscoveryOIDC:
		d.urls = []string{oidc}
	case DiscoveryOAuth:
		d.urls = []string{oauth}
	default:
		return nil, fmt.Errorf("jose: DiscoveryConfig.Protocol %d is unknown", cfg.Protocol)
	}

	c := &http.Client{}
	if cfg.HTTPClient != nil {
		*c = *cfg.HTTPClient
	}
	next := c.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := discoveryCheckRedirect(req, via); err != nil {
			return err
		}
		if next == nil {
			return nil
		}
		if err := next(req, via); err != nil {
			return fmt.Errorf("%w: %w", errDiscoveryRedirect, err)
		}
		return nil
	}
	d.client = c
	return d, nil
}

// Metadata returns the issuer's metadata: the cached document while it is
// fresh, else the result of a fetch (shared with the other callers waiting
// for it). When a fetch fails, the last good document is returned (with a
// nil error) if it went stale less than Grace ago; otherwise the
// *DiscoveryError, which is also returned, without asking the provider, to
// every caller until MinRefresh has passed. If ctx ends first, Metadata
// returns ctx.Err() while the fetch goes on for the others, bounded by
// Timeout.
func (d *Discovery) Metadata(ctx context.Context) (*Metadata, error) {
	d.mu.Lock()
	now := d.now()
	if d.doc != nil && now.Before(d.freshUntil) {
		doc := d.doc
		d.mu.Unlock()
		return doc, nil
	}
	if now.Before(d.retryAt) {
		if d.doc != nil && now.Before(d.keepUntil) {
			doc := d.doc
			d.mu.Unlock()
			return doc, nil
		}
		e := *d.lastErr
		e.RetryAfter = d.retryAt.Sub(now)
		d.mu.Unlock()
		return nil, &e
	}
	c := d.call
	if c == nil {
		c = &discoveryCall{done: make(chan struct{})}
		d.call = c
		go d.fetch(context.WithoutCancel(ctx), c, d.first)
	}
	c.waiters++
	d.mu.Unlock()

	select {
	case <-c.done:
		return c.doc, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// fetch runs one fetch for c, starting with d.urls[first], and records the
// outcome.
func (d *Discovery) fetch(ctx context.Context, c *discoveryCall, first int) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	var (
		doc  *Metadata
		life time.Duration
		err  *DiscoveryError
		i    int
	)
	for i = first; i < len(d.urls); i++ {
		var notFound bool
		doc, life, notFound, err = d.get(ctx, d.urls[i])
		if !notFound || i+1 == len(d.urls) {
			break
		}
	}
	cancel()

	d.mu.Lock()
	now := d.now()
	if err == nil {
		d.doc, d.first = doc, i
		d.freshUntil = now.Add(life)
		d.keepUntil = d.freshUntil.Add(d.grace)
		d.retryAt, d.lastErr = time.Time{}, nil
		c.doc = doc
	} else {
		err.RetryAfter = d.minRefresh
		d.first, d.retryAt, d.lastErr = 0, now.Add(d.minRefresh), err
		if d.doc != nil && now.Before(d.keepUntil) {
			c.doc = d.doc
		} else {
			c.err = err
		}
	}
	d.call = nil
	d.mu.Unlock()
	if err != nil && d.onError != nil {
		d.onError(err)
	}
	close(c.done)
}

// get fetches and validates the document at u. notFound reports a 404.
func (d *Discovery) get(ctx context.Context, u string) (doc *Metadata, life time.Duration, notFound bool, err *DiscoveryError) {
	status := 0
	if d.observer != nil {
		start := time.Now()
		defer func() {
			f := auditlog.Fetch{Kind: auditlog.FetchDiscovery, URL: auditlog.FetchURL(u), Start: start, Duration: time.Since(start), Status: status}
			if err != nil {
				f.Err = err.Kind // the kind only: the error holds the URL
			}
			d.observer.Fetched(ctx, f)
		}()
	}
	fail := func(kind error, cause error) (*Metadata, time.Duration, bool, *DiscoveryError) {
		return nil, 0, notFound, &DiscoveryError{Kind: kind, URL: u, Err: cause}
	}
	req, rerr := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if rerr != nil {
		return fail(ErrDiscoveryInvalid, rerr)
	}
	req.Header.Set("Accept", "application/json")
	resp, rerr := d.client.Do(req)
	if rerr != nil {
		if errors.Is(rerr, errDiscoveryRedirect) {
			return fail(ErrDiscoveryInvalid, rerr)
		}
		return fail(ErrDiscoveryUnavailable, rerr)
	}
	defer resp.Body.Close()
	status = resp.StatusCode
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
	case code >= 500, code == http.StatusRequestTimeout, code == http.StatusTooManyRequests:
		return fail(ErrDiscoveryUnavailable, errors.New("status "+strconv.Itoa(code)))
	default:
		notFound = code == http.StatusNotFound
		return fail(ErrDiscoveryInvalid, errors.New("status "+strconv.Itoa(code)))
	}
	if cerr := discoveryContentType(resp.Header.Get("Content-Type")); cerr != nil {
		return fail(ErrDiscoveryInvalid, cerr)
	}
	if resp.ContentLength > d.maxSize {
		return fail(ErrDiscoveryInvalid, errDiscoveryTooLarge)
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, d.maxSize+1))
	if rerr != nil {
		return fail(ErrDiscoveryUnavailable, rerr)
	}
	doc, perr := discoveryParse(body, d.issuer, d.maxSize)
	if perr != nil {
		return fail(ErrDiscoveryInvalid, perr)
	}
	return doc, discoveryLifetime(resp.Header, d.minRefresh, d.maxAge), false, nil
}

var (
	errDiscoveryRedirect = errors.New("redirect not followed")
	errDiscoveryTooLarge = errors.New("document too large")
)

// discoveryCheckRedirect allows at most discoveryMaxRedirects redirects, each
// to the scheme and host of the original request.
func discoveryCheckRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > discoveryMaxRedirects {
		return fmt.Errorf("%w: more than %d", errDiscoveryRedirect, discoveryMaxRedirects)
	}
	from, to := via[0].URL, req.URL
	if to.Scheme != from.Scheme || !strings.EqualFold(to.Host, from.Host) {
		// Only scheme and host: the location's path and query are not logged.
		return fmt.Errorf("%w: to %s://%s", errDiscoveryRedirect, to.Scheme, to.Host)
	}
	return nil
}

// discoveryContentType accepts application/json and application/*+json,
// with any parameters but a charset other than UTF-8.
func discoveryContentType(v string) error {
	mt, params, err := mime.ParseMediaType(v)
	if err != nil {
		return fmt.Errorf("media type %q: %w", discoveryClip(v), err)
	}
	if mt != "application/json" && !(strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return fmt.Errorf("media type %q is not JSON", discoveryClip(mt))
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return fmt.Errorf("charset %q is not UTF-8", discoveryClip(cs))
	}
	return nil
}

// discoveryLifetime is the freshness lifetime of a response: its smallest
// Cache-Control max-age clamped to [lo, hi], or lo when there is none, when
// one cannot be read, or with no-store or no-cache.
func discoveryLifetime(h http.Header, lo, hi time.Duration) time.Duration {
	age, ok, malformed := cacheMaxAge(h.Values("Cache-Control"))
	if !ok || malformed {
		return lo
	}
	return min(max(age, lo), hi)
}

// discoveryParse validates a metadata document for issuer: at most maxSize
// bytes of one strict JSON object (UTF-8, no duplicate names, nothing after
// it), "issuer" equal to issuer, "jwks_uri" acceptable to discoveryURL, and
// the other members it keeps of their type.
func discoveryParse(body []byte, issuer string, maxSize int64) (*Metadata, error) {
	if int64(len(body)) > maxSize {
		return nil, errDiscoveryTooLarge
	}
	s := string(body)
	if err := strictjson.Valid(s); err != nil {
		return nil, err
	}
	var m Metadata
	var err error
	if m.Issuer, err = discoveryString(s, "issuer", true); err != nil {
		return nil, err
	}
	if m.Issuer != issuer {
		return nil, fmt.Errorf("issuer %q is not the configured %q", discoveryClip(m.Issuer), issuer)
	}
	if m.JWKSURI, err = discoveryString(s, "jwks_uri", true); err != nil {
		return nil, err
	}
	if _, err := discoveryURL(m.JWKSURI); err != nil {
		return nil, fmt.Errorf("jwks_uri %q: %w", discoveryClip(m.JWKSURI), err)
	}
	if m.TokenEndpoint, err = discoveryString(s, "token_endpoint", false); err != nil {
		return nil, err
	}
	if raw, ok := strictjson.Member(s, "id_token_signing_alg_values_supported"); ok {
		var elems []json.RawMessage
		if raw[0] != '[' || json.Unmarshal([]byte(raw), &elems) != nil {
			return nil, errors.New("id_token_signing_alg_values_supported is not an array of strings")
		}
		m.IDTokenSigningAlgValuesSupported = make([]string, len(elems))
		for i, e := range elems {
			if e[0] != '"' || json.Unmarshal(e, &m.IDTokenSigningAlgValuesSupported[i]) != nil {
				return nil, errors.New("id_token_signing_alg_values_supported is not an array of strings")
			}
		}
	}
	return &m, nil
}

// discoveryString returns the top-level string member name of the strict
// JSON object s ("" if absent and not required).
func discoveryString(s, name string, required bool) (string, error) {
	raw, ok := strictjson.Member(s, name)
	if !ok {
		if required {
			return "", errors.New(name + " is missing")
		}
		return "", nil
	}
	var v string
	if raw[0] != '"' || json.Unmarshal([]byte(raw), &v) != nil {
		return "", errors.New(name + " is not a string")
	}
	return v, nil
}

// discoveryURL parses s as an absolute http or https URL with a host and
// without userinfo or fragment, https unless the host is loopback.
func discoveryURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return nil, errors.New("is not a URL")
	case !u.IsAbs() || u.Hostname() == "":
		return nil, errors.New("is not an absolute URL with a host")
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, errors.New("is neither https nor http")
	case u.User != nil:
		return nil, errors.New("has userinfo")
	case strings.Contains(s, "#"):
		return nil, errors.New("has a fragment")
	case u.Scheme == "http" && !clientip.IsLoopbackHost(u.Hostname()):
		return nil, errors.New("uses http on a host that is not loopback")
	}
	return u, nil
}

// discoveryClip shortens untrusted text before it goes into an error.
func discoveryClip(s string) string {
	const n = 200
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
