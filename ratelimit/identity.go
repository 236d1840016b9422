package ratelimit

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash"
	"hash/maphash"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apiguard/apiguard/auditlog"
	"github.com/apiguard/apiguard/internal/clientip"
)

// MinSecretLen is the shortest accepted IdentityConfig.Secret.
const MinSecretLen = 32

// maxUA bounds how much of a User-Agent feeds the client key; longer values
// are cut (two agents differing only after this many bytes are one client).
const maxUA = 512

// Identity is who a request comes from, as far as rate limiting can tell.
type Identity struct {
	// IP is the client address (see internal/clientip): RemoteAddr, or the
	// right-most untrusted forwarded entry when the peer is a trusted proxy.
	// It is the zero Addr when RemoteAddr is not an address.
	IP netip.Addr
	// Group is the network the limits apply to: the IPv4 address (/32) or the
	// IPv6 /64 (by default) holding IP.
	Group netip.Prefix
	// Key is HMAC-SHA-256(secret, group || User-Agent): the client key. Stored
	// keys reveal neither IP nor agent.
	Key [32]byte
	// IPKey is the HMAC of the group alone, for thresholds that a new
	// User-Agent must not reset.
	IPKey [32]byte
}

// Short returns the first 12 hex digits of Key, for logs.
func (id Identity) Short() string {
	return hex.EncodeToString(id.Key[:6])
}

// IdentityConfig configures an Identifier. The zero value trusts no proxy and
// uses a random per-process secret.
type IdentityConfig struct {
	// TrustedProxies are the CIDRs (or single addresses) of the proxies whose
	// X-Forwarded-For / Forwarded headers are believed. Default: none.
	TrustedProxies []string
	// Secret keys the client-key HMAC; at least MinSecretLen bytes. Default
	// (nil): random per process, so keys differ between instances; Warning
	// then says so. Instances sharing a Redis store must share the secret:
	// redisstore.SharedSecret (package ratelimit/redisstore) gives them one.
	Secret []byte
	// IPv6Prefix is the length of the IPv6 network treated as one client,
	// 1 to 128. Default 64 (one customer site).
	IPv6Prefix int
}

// Identifier computes request identities. Safe for concurrent use.
type Identifier struct {
	resolver *clientip.Resolver
	v6bits   int
	pool     sync.Pool // *hasher
	warning  string
	seed     maphash.Seed
	// cache remembers the keys of recent (group, User-Agent) pairs, so a
	// returning client costs a hash and a compare instead of two HMACs. Each
	// pair may sit in one of two slots chosen by independent bits of its
	// hash, and the cache is lock-free: a slot holds an immutable entry,
	// replaced whole, and is used only when its group and whole agent equal
	// the request's; a miss only costs the HMACs again.
	cache [identityCacheSize]atomic.Pointer[cachedIdentity]
}

// identityCacheSize is the number of identity cache slots (a power of two).
const identityCacheSize = 4096

type cachedIdentity struct {
	group      netip.Prefix
	ua         string
	key, ipKey [32]byte
}

type hasher struct {
	mac hash.Hash
	buf []byte // group bytes + UA, reused
	sum [sha256.Size]byte
}

// NewIdentifier validates c and returns an Identifier.
func NewIdentifier(c IdentityConfig) (*Identifier, error) {
	res, err := clientip.New(c.TrustedProxies)
	if err != nil {
		return nil, errors.New("ratelimit: IdentityConfig.TrustedProxies: " + err.Error())
	}
	id := &Identifier{resolver: res, v6bits: c.IPv6Prefix, seed: maphash.MakeSeed()}
	if id.v6bits == 0 {
		id.v6bits = 64
	}
	if id.v6bits < 1 || id.v6bits > 128 {
		return nil, errors.New("ratelimit: IdentityConfig.IPv6Prefix " + strconv.Itoa(c.IPv6Prefix) + " is not between 1 and 128")
	}
	secret := c.Secret
	if secret == nil {
		secret = make([]byte, MinSecretLen)
		if _, err := rand.Read(secret); err != nil {
			return nil, errors.New("ratelimit: generating a client-key secret: " + err.Error())
		}
		id.warning = "ratelimit: no IdentityConfig.Secret set, using a random per-process secret: client keys differ between instances, so instances sharing a Redis store must share a secret"
	} else if len(secret) < MinSecretLen {
		return nil, errors.New("ratelimit: IdentityConfig.Secret is " + strconv.Itoa(len(secret)) + " bytes, want at least " + strconv.Itoa(MinSecretLen))
	} else {
		secret = append([]byte(nil), secret...)
	}
	id.pool.New = func() any {
		return &hasher{mac: hmac.New(sha256.New, secret), buf: make([]byte, 0, 17+maxUA)}
	}
	return id, nil
}

// MustNewIdentifier is NewIdentifier for literal configuration: it panics on
// an error.
func MustNewIdentifier(c IdentityConfig) *Identifier {
	id, err := NewIdentifier(c)
	if err != nil {
		panic(err)
	}
	return id
}

// Warning returns a message for the operator when the configuration is
// weaker than it should be (a random secret), or "".
func (id *Identifier) Warning() string { return id.warning }

// TrustedProxy reports whether r came straight from a trusted proxy, so its
// forwarded scheme may be believed (give it to the headers package).
func (id *Identifier) TrustedProxy(r *http.Request) bool {
	return id.resolver.FromTrustedProxy(r)
}

// Identify computes r's identity. It allocates only when the identity
// cache misses.
func (id *Identifier) Identify(r *http.Request) Identity {
	ip, e := id.lookup(r)
	return Identity{IP: ip, Group: e.group, Key: e.key, IPKey: e.ipKey}
}

// lookup resolves r's IP and returns the cache entry of its (group,
// User-Agent) pair, computing it on a miss. Entries are immutable, so the
// caller may read the one it gets while others replace it in the cache.
func (id *Identifier) lookup(r *http.Request) (netip.Addr, *cachedIdentity) {
	ip := id.resolver.Resolve(r)
	var group netip.Prefix
	switch {
	case ip.Is4():
		group = netip.PrefixFrom(ip, 32)
	case ip.Is6():
		group, _ = ip.Prefix(id.v6bits)
	}
	var ua string
	if v := r.Header["User-Agent"]; len(v) > 0 {
		ua = v[0]
	}
	if len(ua) > maxUA {
		ua = ua[:maxUA]
	}
	// The cache's one hash: the seeded agent hash, mixed with each half of
	// the group's address and its length.
	a := group.Addr().As16()
	h := maphash.String(id.seed, ua)
	h = mix64(h ^ binary.LittleEndian.Uint64(a[:8]))
	h = mix64(h ^ binary.LittleEndian.Uint64(a[8:]) ^ uint64(group.Bits()))
	// Two slots per pair, at independent places (skewed associativity):
	// three clients then rarely compete for the same two slots, as they do
	// when the two slots are a fixed set.
	i1, i2 := h&(identityCacheSize-1), (h>>32)&(identityCacheSize-1)
	if i2 == i1 {
		i2 ^= 1
	}
	set := [2]*atomic.Pointer[cachedIdentity]{&id.cache[i1], &id.cache[i2]}
	victim := set[h>>63]
	for _, slot := range set {
		e := slot.Load()
		if e == nil {
			victim = slot
			break // pairs fill their first free slot, so none is further on
		}
		if e.group == group && e.ua == ua {
			return ip, e
		}
	}
	out := Identity{Group: group}
	id.hmacs(&out, ua)
	e := &cachedIdentity{group: group, ua: strings.Clone(ua), key: out.Key, ipKey: out.IPKey}
	victim.Store(e)
	return ip, e
}

// mix64 is the murmur3 finalizer: every input bit reaches every output bit.
func mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// hmacs fills out.Key and out.IPKey from out.Group and ua.
func (id *Identifier) hmacs(out *Identity, ua string) {
	h := id.pool.Get().(*hasher)
	// The group is encoded with a kind byte and its length so that no group
	// and agent pair can collide with another.
	b := h.buf[:0]
	b = append(b, 'g')
	if out.Group.IsValid() {
		a := out.Group.Addr().As16()
		b = append(b, byte(out.Group.Bits()))
		if out.Group.Addr().Is4() {
			b = append(b, 4)
			b = append(b, a[12:]...)
		} else {
			b = append(b, 6)
			b = append(b, a[:]...)
		}
	}
	h.mac.Reset()
	h.mac.Write(b)
	copy(out.IPKey[:], h.mac.Sum(h.sum[:0]))

	b[0] = 'c'
	b = append(b, ua...)
	h.mac.Reset()
	h.mac.Write(b)
	copy(out.Key[:], h.mac.Sum(h.sum[:0]))
	h.buf = b[:0]
	id.pool.Put(h)
}

// Derive returns HMAC-SHA-256(secret, label || 0 || value): a keyed name for
// things other than clients (an account, a subject) that reveals nothing of
// value in a shared store.
func (id *Identifier) Derive(label, value string) [32]byte {
	h := id.pool.Get().(*hasher)
	b := append(h.buf[:0], 'd')
	b = append(b, label...)
	b = append(b, 0)
	b = append(b, value...)
	h.mac.Reset()
	h.mac.Write(b)
	var out [32]byte
	copy(out[:], h.mac.Sum(h.sum[:0]))
	if cap(b) <= 4*(17+maxUA) {
		h.buf = b[:0]
	}
	id.pool.Put(h)
	return out
}

type identityKey struct{ name string }

var identityCtxKey = &identityKey{"apiguard-identity"}

// identityContext carries an Identity in one allocation (context.WithValue
// plus a pointer to the value would take two).
type identityContext struct {
	context.Context
	ident Identity
}

func (c *identityContext) Value(k any) any {
	if k == any(identityCtxKey) {
		return &c.ident
	}
	return c.Context.Value(k)
}

// IdentityFromContext returns the identity the Identifier's Handler put in
// ctx.
func IdentityFromContext(ctx context.Context) (Identity, bool) {
	p, ok := ctx.Value(identityCtxKey).(*Identity)
	if !ok || p == nil {
		return Identity{}, false
	}
	return *p, true
}

// Handler computes the identity of each request once, puts it in the
// context for the limiter, the guard and the audit log, and fills the
// request's auditlog.RequestInfo (Client, IP) when there is one.
func (id *Identifier) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := &identityContext{Context: r.Context()}
		ctx.ident = id.Identify(r)
		if info, ok := auditlog.RequestInfoFrom(ctx.Context); ok {
			info.Client = ctx.ident.Short()
			info.IP = ctx.ident.IP
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// identityOf returns the identity in r's context, or computes it.
func (id *Identifier) identityOf(r *http.Request) Identity {
	if ident, ok := IdentityFromContext(r.Context()); ok {
		return ident
	}
	return id.Identify(r)
}

// clientKeys returns the client key and the IP-group key of r, from the
// context when an Identifier Handler put the identity there.
func (id *Identifier) clientKeys(r *http.Request) (key, ipKey [32]byte) {
	if p, ok := r.Context().Value(identityCtxKey).(*Identity); ok && p != nil {
		return p.Key, p.IPKey
	}
	_, e := id.lookup(r)
	return e.key, e.ipKey
}
