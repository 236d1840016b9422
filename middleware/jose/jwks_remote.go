package jose

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apiguard/apiguard/auditlog"
	"github.com/apiguard/apiguard/internal/clientip"
)

// Defaults of RemoteJWKSConfig.
const (
	DefaultJWKSMinRefresh         = time.Minute
	DefaultJWKSMaxRefresh         = 24 * time.Hour
	DefaultJWKSRefresh            = 15 * time.Minute
	DefaultJWKSUnknownKIDInterval = 30 * time.Second
	DefaultJWKSLookupTimeout      = 500 * time.Millisecond
	DefaultJWKSMaxResponseSize    = 1 << 20
	defaultJWKSFetchTimeout       = 10 * time.Second
)

// Audit reasons recorded by RemoteJWKS. A fetch that fails, or yields no
// usable key, is an auditlog.StoreUnavailable event (the keys held are
// kept); a key set aside is recorded once per kid and reason for as long as
// the set carries it: an auditlog.SecurityThreat with AuditJWKSPrivateKey
// when it publishes a private member (SkippedKey.Threat), else an
// auditlog.StoreUnavailable with AuditJWKSKeySkipped. Both carry the kid,
// and the SkippedKey reason code in the detail.
const (
	AuditJWKSFetchFailed = "jwks_fetch_failed"
	AuditJWKSNoUsableKey = "jwks_no_usable_key"
	AuditJWKSKeySkipped  = "jwks_key_skipped"
	AuditJWKSPrivateKey  = "jwks_private_key"
)

// ErrJWKSTooLarge is the fetch error of a JWKS response over MaxResponseSize.
var ErrJWKSTooLarge = errors.New("apiguard: remote JWKS response too large")

// RemoteJWKSConfig configures a RemoteJWKS. Only URL is required.
type RemoteJWKSConfig struct {
	// URL of the JWK Set. It must be https, or http for a loopback host
	// (localhost, 127.0.0.0/8, ::1) unless AllowInsecure is set. It is the
	// only URL the source ever fetches. Required.
	URL string
	// AllowInsecure permits an http URL on a non-loopback host.
	AllowInsecure bool
	// Client fetches the set. Default: a client with a 10 s timeout that
	// follows at most 3 redirects, only to the same host and never from
	// https to http.
	Client *http.Client
	// MinRefresh and MaxRefresh bound the refresh interval taken from the
	// response's Cache-Control max-age. Defaults 1 minute and 24 hours. A
	// response without max-age is refreshed after 15 minutes (within the
	// bounds); a failed fetch is retried after MinRefresh.
	MinRefresh, MaxRefresh time.Duration
	// UnknownKIDInterval: when a token names a kid the set does not hold, at
	// most one extra fetch per interval. Default 30 seconds.
	UnknownKIDInterval time.Duration
	// LookupTimeout is the longest a lookup waits for that fetch before it
	// answers from the keys already held. Default 500 ms.
	LookupTimeout time.Duration
	// InitialWait is the longest NewRemoteJWKS waits for the first fetch
	// (which may take up to the client's 10 s timeout against a server that
	// hangs). Default 0: LookupTimeout. Negative: do not wait. A fetch not
	// done by then goes on in the background; until it succeeds, lookups
	// return ErrKeysUnavailable (the gate answers 503 with Retry-After),
	// while the other sources of a MultiKeySource serve at once.
	InitialWait time.Duration
	// MaxResponseSize: a larger response is an error and the keys held are
	// kept. Default 1 MiB.
	MaxResponseSize int64
	// Algorithms, DefaultAlgs and KeyAlgs bind keys without "alg", as in
	// ParseOptions: each such key to the one algorithm of Algorithms that
	// fits its type and curve (pass the gate's allowlist), DefaultAlgs
	// deciding where several fit. If the first fetch, done within
	// InitialWait, finds a key that is still ambiguous, NewRemoteJWKS fails
	// naming it; a first fetch that ends later, and every later fetch, sets
	// such a key aside (SkipAmbiguousAlg) and reports it (OnSkippedKey,
	// AuditJWKSKeySkipped). Default none: a key without alg is set aside
	// (SkipNoAlg).
	Algorithms  []string
	DefaultAlgs []string
	KeyAlgs     map[string]string
	// OnSkippedKey is told of each key the set carries but that is set
	// aside: once per kid and reason while the set keeps carrying it, not
	// on every refresh. It is called from the fetching goroutine, one call
	// at a time, and must not block. Default none.
	OnSkippedKey func(SkippedKey)
	// Audit receives fetch failures and set-aside keys (never key material,
	// never the URL): see AuditJWKSFetchFailed. Default: none.
	Audit *auditlog.Logger
	// Observer, when set, is told of every fetch (auditlog.FetchJWKS: the
	// URL without query or userinfo, status, duration, error). Default
	// none.
	Observer auditlog.Observer
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// RemoteJWKS is a KeySource over a JWK Set fetched from one URL, refreshed in
// the background as the response's Cache-Control allows, and again (at most
// once per UnknownKIDInterval) when a token names an unknown kid. It never
// follows a URL from a token, and never takes a symmetric (HMAC) key from the
// set. Every fetch reads the set key by key (see ParseJWKSWith): a key
// rotated in next to an unusable one is picked up, and the unusable one is
// set aside and reported once. Safe for concurrent use; a lookup of a known
// key takes no lock and does no I/O.
type RemoteJWKS struct {
	url             string
	client          *http.Client
	minRefresh      time.Duration
	maxRefresh      time.Duration
	unknownInterval time.Duration
	lookupTimeout   time.Duration
	maxSize         int64
	audit           *auditlog.Logger
	observer        auditlog.Observer
	now             func() time.Time
	opts            ParseOptions
	onSkipped       func(SkippedKey)

	snap        atomic.Pointer[remoteKeys] // nil until a fetch succeeds
	inflight    atomic.Pointer[fetchCall]
	lastUnknown atomic.Int64 // unix ns of the last unknown-kid fetch; 0 none

	mu          sync.Mutex // guards the fields below and starting a fetch
	nextRefresh time.Time
	lastErr     error
	closed      bool
	skipped     []SkippedKey // set aside by the last fetch that read a set
	reported    map[skipID]bool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// remoteKeys is an immutable snapshot of the fetched keys.
type remoteKeys struct {
	byID  map[string]*Key
	byAlg map[string][]*Key
	keys  []*Key
}

// skipID names a set-aside key for reporting it once.
// A key without kid is named by its content instead.
type skipID struct {
	kid, reason string
	content     uint64
}

// fetchCall is one fetch that concurrent callers share.
type fetchCall struct {
	done chan struct{}
	err  error
	// waitUntil is when lookups stop waiting for this fetch: its start plus
	// LookupTimeout, the same for every lookup, so that a request that looks
	// up several times (the gate tries each allowed alg for an unknown kid)
	// still waits at most LookupTimeout in all.
	waitUntil time.Time
}

// NewRemoteJWKS validates cfg, starts the first fetch and the background
// refresh, which runs until Close or until ctx is done, and waits for that
// first fetch at most InitialWait (LookupTimeout, 500 ms, by default), so a
// hanging JWKS server never holds up a program's start for long. A failed
// or unfinished first fetch is not an error: it is recorded (see Ready and
// LastError), and lookups return ErrKeysUnavailable until a fetch succeeds.
func NewRemoteJWKS(ctx context.Context, cfg RemoteJWKSConfig) (*RemoteJWKS, error) {
	if err := checkJWKSURL(cfg.URL, cfg.AllowInsecure); err != nil {
		return nil, err
	}
	durations := []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"MinRefresh", &cfg.MinRefresh, DefaultJWKSMinRefresh},
		{"MaxRefresh", &cfg.MaxRefresh, DefaultJWKSMaxRefresh},
		{"UnknownKIDInterval", &cfg.UnknownKIDInterval, DefaultJWKSUnknownKIDInterval},
		{"LookupTimeout", &cfg.LookupTimeout, DefaultJWKSLookupTimeout},
	}
	for _, d := range durations {
		if *d.v < 0 {
			return nil, fmt.Errorf("apiguard: NewRemoteJWKS: %s %v is negative", d.name, *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if cfg.InitialWait == 0 {
		cfg.InitialWait = cfg.LookupTimeout
	}
	if cfg.MinRefresh > cfg.MaxRefresh {
		return nil, fmt.Errorf("apiguard: NewRemoteJWKS: MinRefresh %v is longer than MaxRefresh %v", cfg.MinRefresh, cfg.MaxRefresh)
	}
	if cfg.MaxResponseSize < 0 {
		return nil, fmt.Errorf("apiguard: NewRemoteJWKS: MaxResponseSize %d is negative", cfg.MaxResponseSize)
	}
	if cfg.MaxResponseSize == 0 {
		cfg.MaxResponseSize = DefaultJWKSMaxResponseSize
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: defaultJWKSFetchTimeout, CheckRedirect: sameHostRedirects}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	opts, err := ParseOptions{Algorithms: cfg.Algorithms, DefaultAlgs: cfg.DefaultAlgs, KeyAlgs: cfg.KeyAlgs,
		MaxSize: int(min(cfg.MaxResponseSize, 1<<31-1))}.check("NewRemoteJWKS")
	if err != nil {
		return nil, err
	}
	r := &RemoteJWKS{
		url:             cfg.URL,
		client:          cfg.Client,
		minRefresh:      cfg.MinRefresh,
		maxRefresh:      cfg.MaxRefresh,
		unknownInterval: cfg.UnknownKIDInterval,
		lookupTimeout:   cfg.LookupTimeout,
		maxSize:         cfg.MaxResponseSize,
		audit:           cfg.Audit,
		observer:        cfg.Observer,
		now:             cfg.Now,
		opts:            opts,
		onSkipped:       cfg.OnSkippedKey,
		reported:        make(map[skipID]bool),
	}
	r.ctx, r.cancel = context.WithCancel(ctx)
	first := r.startFetch()
	if cfg.InitialWait > 0 {
		t := time.NewTimer(cfg.InitialWait)
		r.wait(first, t.C, nil)
		t.Stop()
	}
	select {
	case <-first.done:
		// Done within the wait: an ambiguous key is a configuration error.
		// Later, it is only set aside and reported.
		if err := ambiguityError("NewRemoteJWKS", r.Skipped()); err != nil {
			r.Close()
			return nil, err
		}
	default:
	}
	r.wg.Add(1)
	go r.loop()
	return r, nil
}

func checkJWKSURL(raw string, allowInsecure bool) error {
	u, err := url.Parse(raw)
	if err != nil || raw == "" {
		return errors.New("apiguard: NewRemoteJWKS: URL is not a valid absolute URL")
	}
	if u.Host == "" || u.Hostname() == "" {
		return errors.New("apiguard: NewRemoteJWKS: URL has no host")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if allowInsecure || clientip.IsLoopbackHost(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("apiguard: NewRemoteJWKS: URL is http on host %q: use https (or AllowInsecure)", u.Hostname())
	}
	return fmt.Errorf("apiguard: NewRemoteJWKS: URL scheme %q is not https", u.Scheme)
}

// sameHostRedirects follows at most 3 redirects, to the original host only,
// and never from https to http.
func sameHostRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= 3 {
		return errors.New("apiguard: remote JWKS: too many redirects")
	}
	first := via[0].URL
	if !strings.EqualFold(req.URL.Host, first.Host) {
		return errors.New("apiguard: remote JWKS: redirect to another host refused")
	}
	if first.Scheme == "https" && req.URL.Scheme != "https" {
		return errors.New("apiguard: remote JWKS: redirect from https to http refused")
	}
	return nil
}

// LookupKey implements KeySource. A known key is answered from the last
// fetched set without I/O, and so is a known kid with another alg
// (ErrKeyNotFound). An unknown kid (or no set at all) triggers one
// fetch per UnknownKIDInterval, shared by concurrent lookups, which they wait
// for until LookupTimeout after it started at the latest (or until ctx is
// done); then the lookup
// answers from whatever keys are held: ErrKeyNotFound if the key is still
// unknown, ErrKeysUnavailable if no fetch has ever succeeded.
func (r *RemoteJWKS) LookupKey(ctx context.Context, kid, alg string) (*Key, error) {
	if s := r.snap.Load(); s != nil {
		k, err := lookup(s.byID, s.byAlg, kid, alg)
		if err == nil {
			return k, nil
		}
		if _, known := s.byID[kid]; known {
			return nil, err // a known kid with another alg: a fetch would not help
		}
	}
	if c := r.unknownKIDFetch(); c != nil {
		if d := time.Until(c.waitUntil); d > 0 {
			t := time.NewTimer(d)
			r.wait(c, t.C, ctx.Done())
			t.Stop()
		}
	}
	s := r.snap.Load()
	if s == nil {
		return nil, ErrKeysUnavailable
	}
	return lookup(s.byID, s.byAlg, kid, alg)
}

// unknownKIDFetch returns the fetch a lookup that missed may wait for: the
// one in flight, or a new one if the last unknown-kid fetch started at least
// UnknownKIDInterval ago; nil otherwise.
func (r *RemoteJWKS) unknownKIDFetch() *fetchCall {
	if c := r.inflight.Load(); c != nil {
		return c
	}
	now := r.now().UnixNano()
	if last := r.lastUnknown.Load(); last != 0 && now-last < int64(r.unknownInterval) {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.inflight.Load(); c != nil {
		return c
	}
	if last := r.lastUnknown.Load(); last != 0 && now-last < int64(r.unknownInterval) {
		return nil
	}
	r.lastUnknown.Store(now)
	return r.startFetchLocked()
}

// Ready reports whether a fetch has succeeded, so lookups can find keys.
func (r *RemoteJWKS) Ready() bool { return r.snap.Load() != nil }

// LastError returns the error of the last fetch, or nil if it succeeded.
// It never contains the URL.
func (r *RemoteJWKS) LastError() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastErr
}

// Skipped returns the keys set aside by the last fetch that read a set
// (including one that found no usable key).
func (r *RemoteJWKS) Skipped() []SkippedKey {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]SkippedKey(nil), r.skipped...)
}

// Keys returns the keys of the last successful fetch.
func (r *RemoteJWKS) Keys() []*Key {
	if s := r.snap.Load(); s != nil {
		return append([]*Key(nil), s.keys...)
	}
	return nil
}

// Close stops the background refresh and any fetch in flight, and waits for
// them to end. It is safe to call more than once.
func (r *RemoteJWKS) Close() error {
	r.once.Do(func() {
		r.mu.Lock()
		r.closed = true
		r.mu.Unlock()
		r.cancel()
		r.wg.Wait()
	})
	return nil
}

func (r *RemoteJWKS) loop() {
	defer r.wg.Done()
	t := time.NewTimer(r.untilRefresh())
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
		}
		r.refreshIfDue()
		t.Reset(r.untilRefresh())
	}
}

// untilRefresh is the wait before the next scheduled refresh, at least a
// second so that a stopped clock cannot make the loop spin.
func (r *RemoteJWKS) untilRefresh() time.Duration {
	r.mu.Lock()
	d := r.nextRefresh.Sub(r.now())
	r.mu.Unlock()
	return max(d, time.Second)
}

// refreshDue reports whether the scheduled refresh time has come.
func (r *RemoteJWKS) refreshDue() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.now().Before(r.nextRefresh)
}

// refreshIfDue fetches when the scheduled refresh is due, and waits for it.
func (r *RemoteJWKS) refreshIfDue() {
	if r.refreshDue() {
		r.wait(r.startFetch(), nil, nil)
	}
}

// wait blocks until c is done, timeout fires, done is closed or r is
// closed. A nil channel never fires.
func (r *RemoteJWKS) wait(c *fetchCall, timeout <-chan time.Time, done <-chan struct{}) {
	select {
	case <-c.done:
	case <-timeout:
	case <-done:
	case <-r.ctx.Done():
	}
}

func (r *RemoteJWKS) startFetch() *fetchCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.startFetchLocked()
}

// closedFetch is the already-finished fetch of a closed source.
func closedFetch() *fetchCall {
	c := &fetchCall{done: make(chan struct{}), err: errors.New("apiguard: remote JWKS closed")}
	close(c.done)
	return c
}

// startFetchLocked returns the fetch in flight or starts one. r.mu is held.
func (r *RemoteJWKS) startFetchLocked() *fetchCall {
	if c := r.inflight.Load(); c != nil {
		return c
	}
	if r.closed {
		return closedFetch()
	}
	c := &fetchCall{done: make(chan struct{}), waitUntil: time.Now().Add(r.lookupTimeout)}
	r.inflight.Store(c)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		c.err = r.fetch()
		r.inflight.Store(nil)
		close(c.done)
	}()
	return c
}

// fetch gets the set once and, on success, replaces the snapshot. On failure
// the keys held are kept and the next refresh is scheduled MinRefresh later.
func (r *RemoteJWKS) fetch() error {
	keys, skipped, read, maxAge, err := r.get()
	now := r.now()
	r.mu.Lock()
	r.lastErr = err
	var fresh []SkippedKey
	if read {
		fresh = r.newlySkippedLocked(skipped)
	}
	if err != nil {
		r.nextRefresh = now.Add(r.minRefresh)
	} else {
		r.snap.Store(keys)
		r.nextRefresh = now.Add(min(max(maxAge, r.minRefresh), r.maxRefresh))
	}
	r.mu.Unlock()
	r.report(fresh)
	if err != nil {
		reason, detail := AuditJWKSFetchFailed, "remote JWKS fetch failed; keeping the keys held"
		if read {
			reason, detail = AuditJWKSNoUsableKey, "remote JWKS has no usable key; keeping the keys held"
		}
		r.audit.Record(nil, auditlog.Event{Name: auditlog.StoreUnavailable, Reason: reason, Detail: detail})
	}
	return err
}

// newlySkippedLocked records skipped as the set-aside keys of the set and
// returns those not reported yet. Only what the last set carried is
// remembered, so the memory is bounded by the set, and a key that leaves the
// set and comes back is reported again. r.mu is held.
func (r *RemoteJWKS) newlySkippedLocked(skipped []SkippedKey) []SkippedKey {
	var fresh []SkippedKey
	now := make(map[skipID]bool, len(skipped))
	for _, s := range skipped {
		id := skipID{s.KID, s.Reason, s.content}
		if !r.reported[id] && !now[id] {
			fresh = append(fresh, s)
		}
		now[id] = true
	}
	r.reported = now
	r.skipped = skipped
	return fresh
}

// report tells OnSkippedKey and the audit log of newly set-aside keys.
func (r *RemoteJWKS) report(fresh []SkippedKey) {
	for _, s := range fresh {
		if r.onSkipped != nil {
			r.onSkipped(s)
		}
		e := auditlog.Event{Name: auditlog.StoreUnavailable, Reason: AuditJWKSKeySkipped, KID: s.KID,
			Detail: "remote JWKS key set aside: " + s.Reason}
		if s.Threat {
			e.Name, e.Reason = auditlog.SecurityThreat, AuditJWKSPrivateKey
			e.Detail = "remote JWKS publishes a private key; set aside: " + s.Reason
		}
		r.audit.Record(nil, e)
	}
}

// get fetches and parses the set, returning its usable keys, the keys set
// aside, whether a set was read at all, and the refresh interval the
// response asks for. A set without a usable key is an error.
func (r *RemoteJWKS) get() (_ *remoteKeys, skipped []SkippedKey, read bool, _ time.Duration, err error) {
	ctx, cancel := context.WithTimeout(r.ctx, defaultJWKSFetchTimeout)
	defer cancel()
	status := 0
	if r.observer != nil {
		start := time.Now()
		defer func() {
			r.observer.Fetched(ctx, auditlog.Fetch{Kind: auditlog.FetchJWKS, URL: auditlog.FetchURL(r.url),
				Start: start, Duration: time.Since(start), Status: status, Err: err})
		}()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, nil, false, 0, errors.New("apiguard: remote JWKS: bad request")
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may carry credentials
		}
		return nil, nil, false, 0, fmt.Errorf("apiguard: remote JWKS: %w", err)
	}
	defer resp.Body.Close()
	status = resp.StatusCode
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, nil, false, 0, fmt.Errorf("apiguard: remote JWKS: status %d", resp.StatusCode)
	}
	if resp.ContentLength > r.maxSize {
		return nil, nil, false, 0, ErrJWKSTooLarge
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, r.maxSize+1))
	if err != nil {
		return nil, nil, false, 0, fmt.Errorf("apiguard: remote JWKS: reading the body: %w", err)
	}
	if int64(len(body)) > r.maxSize {
		return nil, nil, false, 0, ErrJWKSTooLarge
	}
	// Symmetric keys are never admitted (r.opts.Symmetric is false): a
	// secret served at a URL is no secret. Duplicate kids: the first keeps it.
	keys, skipped, err := parseJWKS(body, r.opts)
	if err != nil {
		return nil, nil, false, 0, errors.New("apiguard: remote " + strings.TrimPrefix(err.Error(), "apiguard: "))
	}
	s := &remoteKeys{byID: make(map[string]*Key, len(keys)), byAlg: make(map[string][]*Key)}
	for _, k := range keys {
		s.byID[k.kid] = k
		s.byAlg[k.alg] = append(s.byAlg[k.alg], k)
		s.keys = append(s.keys, k)
	}
	if len(s.keys) == 0 {
		return nil, skipped, true, 0, fmt.Errorf("apiguard: remote JWKS: no usable key (%d set aside)", len(skipped))
	}
	age, ok, _ := cacheMaxAge(resp.Header.Values("Cache-Control"))
	if !ok {
		age = DefaultJWKSRefresh
	}
	return s, skipped, true, age, nil
}

// cacheMaxAge reads the Cache-Control header values of a response the way
// both remote documents (a JWK Set and a discovery document) are cached: the
// smallest readable max-age (saturating at about 146 years) with ok true,
// 0 and ok true with no-store or no-cache, ok false when no max-age is
// readable; malformed reports a max-age that is not delta-seconds (RFC 9111
// §1.2.2), which a JWK Set skips and discovery reads as the shortest
// lifetime. The caller clamps the age.
func cacheMaxAge(values []string) (age time.Duration, ok, malformed bool) {
	const limit = int64(1<<62) / int64(time.Second)
	for _, v := range values {
		for _, d := range strings.Split(v, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-store", "no-cache":
				return 0, true, malformed
			case "max-age":
				val = strings.TrimSpace(val)
				if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
					val = val[1 : len(val)-1]
				}
				if !isDigits(val) {
					malformed = true
					continue
				}
				var n int64
				for i := 0; i < len(val) && n < limit; i++ {
					n = n*10 + int64(val[i]-'0')
				}
				if d := time.Duration(min(n, limit)) * time.Second; !ok || d < age {
					age = d // the most conservative of repeated max-age
				}
				ok = true
			}
		}
	}
	return age, ok, malformed
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
