package jose

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apiguard/apiguard/auditlog"
)

// AuditDiscoveryFailed is the audit reason recorded by DiscoveredJWKS
// (event auditlog.StoreUnavailable) for a failed discovery, when
// DiscoveredJWKSConfig.JWKS.Audit is set.
const AuditDiscoveryFailed = "discovery_failed"

// DefaultDiscoveredCheck is how often a DiscoveredJWKS asks its Discovery
// for the metadata again, to notice a changed jwks_uri. The Discovery answers
// from its cache while the document is fresh, so this costs no request.
const DefaultDiscoveredCheck = time.Minute

// DiscoveredJWKSConfig configures NewDiscoveredJWKS.
type DiscoveredJWKSConfig struct {
	// Discovery finds the jwks_uri; Discovery.Issuer is required, the other
	// fields default as in NewDiscovery.
	Discovery DiscoveryConfig
	// JWKS configures the RemoteJWKS built on the jwks_uri. Its URL must be
	// empty (it is the document's jwks_uri) and AllowInsecure false (the
	// jwks_uri is https, or http on a loopback host, as Discovery checks).
	// Now defaults to Discovery.Now. Its Audit also receives failed
	// discoveries (AuditDiscoveryFailed) unless Discovery.OnError is set,
	// and its Observer the discovery fetches unless Discovery.Observer is
	// set.
	JWKS RemoteJWKSConfig
	// Check is how often the metadata is asked for again (see
	// DefaultDiscoveredCheck, the default); a failed discovery is retried
	// when the Discovery allows (its MinRefresh).
	Check time.Duration
	// LookupTimeout is the longest a lookup waits, while no key set exists
	// yet, for the discovery and first fetch in flight. Default
	// DefaultJWKSLookupTimeout (500 ms).
	LookupTimeout time.Duration
}

// DiscoveredJWKS is a KeySource whose key set is found through an issuer's
// metadata (OpenID Connect Discovery or RFC 8414): the document's jwks_uri
// becomes a RemoteJWKS, built on the first successful discovery and built
// again when a later discovery names another jwks_uri. NewDiscoveredJWKS
// never waits for the network: until the keys arrive, lookups answer an
// error that wraps ErrKeysUnavailable and has a RetryAfter() method (the
// gate answers 503 with Retry-After), whether the provider was down at start
// or went away later with no key held. Safe for concurrent use; a lookup of a
// known key takes no lock and does no I/O.
type DiscoveredJWKS struct {
	disc          *Discovery
	jwks          RemoteJWKSConfig
	check         time.Duration
	lookupTimeout time.Duration
	now           func() time.Time

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	cur       atomic.Pointer[RemoteJWKS]
	nextCheck atomic.Int64 // unix nanoseconds of the next metadata check

	mu      sync.Mutex
	curURL  string
	running chan struct{} // closed when the resolution in flight ends; nil when none
	lastErr error
	closed  bool
}

// NewDiscoveredJWKS validates cfg and starts the first discovery in the
// background; it does no I/O itself. Call Close to stop it.
func NewDiscoveredJWKS(cfg DiscoveredJWKSConfig) (*DiscoveredJWKS, error) {
	if cfg.JWKS.URL != "" {
		return nil, fmt.Errorf("jose: DiscoveredJWKSConfig.JWKS.URL %q is set: the URL is the document's jwks_uri", cfg.JWKS.URL)
	}
	if cfg.JWKS.AllowInsecure {
		return nil, errors.New("jose: DiscoveredJWKSConfig.JWKS.AllowInsecure is set: a discovered jwks_uri is https or loopback")
	}
	if cfg.Check < 0 {
		return nil, fmt.Errorf("jose: DiscoveredJWKSConfig.Check is negative (%v)", cfg.Check)
	}
	if cfg.LookupTimeout < 0 {
		return nil, fmt.Errorf("jose: DiscoveredJWKSConfig.LookupTimeout is negative (%v)", cfg.LookupTimeout)
	}
	if cfg.Discovery.OnError == nil && cfg.JWKS.Audit != nil {
		audit := cfg.JWKS.Audit
		cfg.Discovery.OnError = func(error) {
			audit.Record(nil, auditlog.Event{Name: auditlog.StoreUnavailable, Reason: AuditDiscoveryFailed,
				Detail: "issuer discovery failed; tokens answered 503 until keys are held"})
		}
	}
	if cfg.Discovery.Observer == nil {
		cfg.Discovery.Observer = cfg.JWKS.Observer
	}
	disc, err := NewDiscovery(cfg.Discovery)
	if err != nil {
		return nil, err
	}
	d := &DiscoveredJWKS{disc: disc, jwks: cfg.JWKS, check: cfg.Check, lookupTimeout: cfg.LookupTimeout, now: cfg.Discovery.Now}
	if d.check == 0 {
		d.check = DefaultDiscoveredCheck
	}
	if d.lookupTimeout == 0 {
		d.lookupTimeout = DefaultJWKSLookupTimeout
	}
	if d.now == nil {
		d.now = time.Now
	}
	if d.jwks.Now == nil {
		d.jwks.Now = d.now
	}
	if d.jwks.Client == nil && cfg.Discovery.HTTPClient != nil {
		d.jwks.Client = cfg.Discovery.HTTPClient
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	d.mu.Lock()
	d.startLocked()
	d.mu.Unlock()
	return d, nil
}

// Issuer returns the configured issuer.
func (d *DiscoveredJWKS) Issuer() string { return d.disc.issuer }

// LookupKey implements KeySource.
func (d *DiscoveredJWKS) LookupKey(ctx context.Context, kid, alg string) (*Key, error) {
	if d.now().UnixNano() >= d.nextCheck.Load() {
		d.mu.Lock()
		d.startLocked()
		d.mu.Unlock()
	}
	r := d.cur.Load()
	if r == nil {
		d.mu.Lock()
		running := d.running
		d.mu.Unlock()
		if running != nil {
			t := time.NewTimer(d.lookupTimeout)
			select {
			case <-running:
			case <-t.C:
			case <-ctx.Done():
			}
			t.Stop()
		}
		if r = d.cur.Load(); r == nil {
			return nil, d.unavailable()
		}
	}
	return r.LookupKey(ctx, kid, alg)
}

// LastError returns the error of the last discovery, or nil if it
// succeeded. Fetch errors of the key set itself are the RemoteJWKS's.
func (d *DiscoveredJWKS) LastError() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lastErr
}

// Keys returns the keys of the current key set (nil before the first
// successful fetch).
func (d *DiscoveredJWKS) Keys() []*Key {
	if r := d.cur.Load(); r != nil {
		return r.Keys()
	}
	return nil
}

// Close stops the discovery and the key set's background refresh, and waits
// for them. It is safe to call more than once.
func (d *DiscoveredJWKS) Close() error {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	d.cancel()
	d.wg.Wait()
	if r := d.cur.Swap(nil); r != nil {
		return r.Close()
	}
	return nil
}

// startLocked starts a resolution unless one is running or d is closed.
// d.mu must be held.
func (d *DiscoveredJWKS) startLocked() {
	if d.running != nil || d.closed {
		return
	}
	// No other lookup starts one until this one has set the next check.
	d.nextCheck.Store(d.now().Add(d.check).UnixNano())
	done := make(chan struct{})
	d.running = done
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.resolve()
		d.mu.Lock()
		d.running = nil
		d.mu.Unlock()
		close(done)
	}()
}

// resolve asks for the metadata and builds a new RemoteJWKS when the
// jwks_uri is new.
func (d *DiscoveredJWKS) resolve() {
	md, err := d.disc.Metadata(d.ctx)
	if err != nil {
		var de *DiscoveryError
		next := d.check
		if errors.As(err, &de) && de.RetryAfter > 0 && de.RetryAfter < next {
			next = de.RetryAfter
		}
		d.nextCheck.Store(d.now().Add(next).UnixNano())
		d.mu.Lock()
		d.lastErr = err
		d.mu.Unlock()
		return
	}
	d.mu.Lock()
	same := md.JWKSURI == d.curURL
	d.lastErr = nil
	d.mu.Unlock()
	if same {
		return
	}
	cfg := d.jwks
	cfg.URL = md.JWKSURI
	r, err := NewRemoteJWKS(d.ctx, cfg)
	if err != nil {
		d.mu.Lock()
		d.lastErr = err
		d.mu.Unlock()
		return
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		_ = r.Close()
		return
	}
	d.curURL = md.JWKSURI
	d.mu.Unlock()
	if old := d.cur.Swap(r); old != nil {
		_ = old.Close()
	}
}

// unavailable is the error of a lookup while no key set exists.
func (d *DiscoveredJWKS) unavailable() error {
	ra := time.Duration(d.nextCheck.Load() - d.now().UnixNano())
	if ra < time.Second {
		ra = time.Second
	}
	d.mu.Lock()
	cause := d.lastErr
	d.mu.Unlock()
	return &UnavailableError{Cause: cause, After: ra}
}

// UnavailableError is the lookup error of a DiscoveredJWKS that holds no key
// set yet. It wraps ErrKeysUnavailable and the last discovery error (for
// logs only).
type UnavailableError struct {
	Cause error
	After time.Duration
}

// Error says the keys are unavailable, and why.
func (e *UnavailableError) Error() string {
	if e.Cause != nil {
		return ErrKeysUnavailable.Error() + ": " + e.Cause.Error()
	}
	return ErrKeysUnavailable.Error() + ": discovery in progress"
}

// Unwrap returns ErrKeysUnavailable and the cause.
func (e *UnavailableError) Unwrap() []error {
	if e.Cause == nil {
		return []error{ErrKeysUnavailable}
	}
	return []error{ErrKeysUnavailable, e.Cause}
}

// RetryAfter is how long until the provider is asked again (at least 1 s).
func (e *UnavailableError) RetryAfter() time.Duration { return e.After }
