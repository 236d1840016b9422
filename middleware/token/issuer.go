package token

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/apiguard/apiguard/internal/jwa"
	"github.com/apiguard/apiguard/internal/strictjson"
	"github.com/apiguard/apiguard/middleware/jose"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// DefaultAccessTTL is the lifetime of an access token when neither
// IssuerConfig.TTL nor TokenOptions.TTL says otherwise.
const DefaultAccessTTL = 15 * time.Minute

// TypAccessToken is the "typ" header of every token the Issuer signs
// (RFC 9068 §2.1).
const TypAccessToken = "at+jwt"

// IssuerConfig configures an Issuer. Only Issuer, Audience and Key are
// required; every other zero field means the documented default.
type IssuerConfig struct {
	// Issuer is the "iss" claim of every token. Required.
	Issuer string
	// Audience is the "aud" claim of every token. Required.
	Audience string
	// Key signs the tokens: an RSA key of at least 2048 bits, an ECDSA key on
	// P-256, P-384 or P-521, or an Ed25519 key. Any crypto.Signer whose
	// Public() is one of those works (a KMS or HSM handle, for example).
	// Required.
	Key crypto.Signer
	// Alg is the signing algorithm. It must fit Key. Default DefaultAlg(Key):
	// RS256 for RSA (set "PS256" for RSA-PSS), ES256/ES384/ES512 by curve,
	// EdDSA for Ed25519.
	Alg string
	// KID is the "kid" header naming Key. Default: the key's RFC 7638
	// thumbprint.
	KID string
	// TTL is the lifetime of a token when TokenOptions.TTL is zero.
	// Default DefaultAccessTTL (15 minutes); at least one second.
	TTL time.Duration
	// JWKSMaxAge is the Cache-Control max-age of JWKSHandler's answers.
	// Default 5 minutes, and never more than TTL (see JWKSHandler).
	JWKSMaxAge time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Rand supplies the 128 random bits of every "jti". Default crypto/rand.
	// A custom reader is read under a lock, so it need not be safe for
	// concurrent use. Signatures always draw from crypto/rand.
	Rand io.Reader
}

// TokenOptions are the per-token parts of an access token.
type TokenOptions struct {
	// Roles is the "roles" claim (always present, [] when empty). Each role
	// must be a non-empty UTF-8 string.
	Roles []string
	// Scope is emitted as the space-separated "scope" claim (RFC 9068 §2.2.3)
	// when not empty. Each scope token must be non-empty printable ASCII
	// without space, '"' or '\' (RFC 6749 §3.3).
	Scope []string
	// SessionID is emitted as the "sid" claim when not empty; it ties an
	// access token to its refresh-token family.
	SessionID string
	// TTL is this token's lifetime. Zero means IssuerConfig.TTL.
	TTL time.Duration
	// JKT binds the token to a DPoP key (RFC 9449 §6.1): it is emitted as
	// "cnf":{"jkt":JKT}, and the gate then accepts the token only with a
	// DPoP proof signed by that key. It is the key's RFC 7638 SHA-256
	// thumbprint in unpadded base64url (dpop.Proof.JKT): exactly 43
	// characters, canonical. Empty: no DPoP binding.
	JKT string
	// X5TS256 binds the token to a client certificate (RFC 8705 §3.1): it
	// is emitted as "cnf":{"x5t#S256":X5TS256}, and the gate then accepts
	// the token only on a connection with that certificate. It is the
	// SHA-256 of the certificate's DER in unpadded base64url: exactly 43
	// characters, canonical. Empty: no certificate binding. At most one of
	// JKT and X5TS256 is set: a token confirms one key (RFC 7800 §3.1).
	X5TS256 string
}

// IssuedToken describes a token Issue has signed, for the caller's records
// (revocation needs JTI and Expiry).
type IssuedToken struct {
	JTI      string
	KID      string
	IssuedAt time.Time
	Expiry   time.Time
}

// Issuer signs RFC 9068 access tokens and publishes the public keys that
// verify them. It is a KeySource over its current key and the previous keys
// whose tokens may still be valid, so the gate can verify its tokens
// directly. An Issuer is safe for concurrent use; LookupKey takes no lock.
type Issuer struct {
	iss, aud   string
	claimsHead []byte // `{"iss":"...","aud":"...","sub":`
	ttl        time.Duration
	jwksMaxAge time.Duration
	now        func() time.Time
	rand       io.Reader
	randMu     *sync.Mutex // nil when rand is crypto/rand

	// mu is held for reading while Issue picks its key and its expiry, and
	// for writing by Rotate, so that a rotated-out key's retirement time is
	// after the expiry of every token it signed.
	mu     sync.RWMutex
	maxTTL atomic.Int64 // the longest lifetime any token was issued with, ns
	set    atomic.Pointer[issuerKeys]

	jwks http.Handler
}

// issuerKey is one signing key and its precomputed header.
type issuerKey struct {
	pub      *jose.Key
	hash     crypto.Hash // of pub's algorithm; 0 for EdDSA
	esSize   int         // ES*: bytes of r and of s
	signer   crypto.Signer
	header   string    // base64url of {"alg":..,"kid":..,"typ":"at+jwt"}
	retireAt time.Time // previous keys only: when the last token it signed expires
}

// issuerKeys is an immutable snapshot of the Issuer's keys.
type issuerKeys struct {
	current    *issuerKey
	prev       []*issuerKey
	lookup     *jose.StaticKeys
	public     []*jose.Key // current first
	nextRetire time.Time   // earliest retireAt of prev; zero without prev
}

func newIssuerKeys(current *issuerKey, prev []*issuerKey) *issuerKeys {
	s := &issuerKeys{
		current: current,
		prev:    prev,
		public:  make([]*jose.Key, 0, 1+len(prev)),
	}
	for _, k := range append([]*issuerKey{current}, prev...) {
		s.public = append(s.public, k.pub)
		if k != current && (s.nextRetire.IsZero() || k.retireAt.Before(s.nextRetire)) {
			s.nextRetire = k.retireAt
		}
	}
	// Rotate refuses a kid already published, so the kids are unique.
	s.lookup, _ = jose.NewStaticKeys(s.public...)
	return s
}

// pruned returns s without the previous keys retired at now.
func (s *issuerKeys) pruned(now time.Time) *issuerKeys {
	keep := make([]*issuerKey, 0, len(s.prev))
	for _, k := range s.prev {
		if now.Before(k.retireAt) {
			keep = append(keep, k)
		}
	}
	if len(keep) == len(s.prev) {
		return s
	}
	return newIssuerKeys(s.current, keep)
}

// NewIssuer validates cfg and returns an Issuer.
func NewIssuer(cfg IssuerConfig) (*Issuer, error) {
	if cfg.Issuer == "" || !utf8.ValidString(cfg.Issuer) {
		return nil, fmt.Errorf("apiguard: NewIssuer: Issuer %q must be a non-empty UTF-8 string", cfg.Issuer)
	}
	if cfg.Audience == "" || !utf8.ValidString(cfg.Audience) {
		return nil, fmt.Errorf("apiguard: NewIssuer: Audience %q must be a non-empty UTF-8 string", cfg.Audience)
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultAccessTTL
	}
	if cfg.TTL < time.Second {
		return nil, fmt.Errorf("apiguard: NewIssuer: TTL %v is shorter than one second", cfg.TTL)
	}
	if cfg.JWKSMaxAge == 0 {
		cfg.JWKSMaxAge = jose.DefaultJWKSMaxAge
	}
	if cfg.JWKSMaxAge < 0 {
		return nil, fmt.Errorf("apiguard: NewIssuer: JWKSMaxAge %v is negative", cfg.JWKSMaxAge)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	i := &Issuer{
		iss:        cfg.Issuer,
		aud:        cfg.Audience,
		ttl:        cfg.TTL,
		jwksMaxAge: min(cfg.JWKSMaxAge, cfg.TTL),
		now:        cfg.Now,
		rand:       cfg.Rand,
	}
	if i.rand == nil {
		i.rand = rand.Reader
	} else {
		i.randMu = new(sync.Mutex)
	}
	head := append([]byte(`{"iss":`), strictjson.AppendString(nil, cfg.Issuer)...)
	head = append(head, `,"aud":`...)
	head = append(head, strictjson.AppendString(nil, cfg.Audience)...)
	i.claimsHead = append(head, `,"sub":`...)

	k, err := newIssuerKey("NewIssuer", cfg.Key, cfg.Alg, cfg.KID)
	if err != nil {
		return nil, err
	}
	i.maxTTL.Store(int64(cfg.TTL))
	i.set.Store(newIssuerKeys(k, nil))
	if i.jwks, err = jose.NewJWKSHandler(i, i.jwksMaxAge); err != nil {
		return nil, fmt.Errorf("apiguard: NewIssuer: %w", err)
	}
	return i, nil
}

func newIssuerKey(where string, signer crypto.Signer, alg, kid string) (*issuerKey, error) {
	if signer == nil {
		return nil, fmt.Errorf("apiguard: %s: Key is nil", where)
	}
	if alg == "" {
		a, err := jose.DefaultAlg(signer)
		if err != nil {
			return nil, fmt.Errorf("apiguard: %s: Key: %w", where, err)
		}
		alg = a
	}
	if alg == jose.HS256 || alg == jose.HS384 || alg == jose.HS512 {
		return nil, fmt.Errorf("apiguard: %s: Alg %q: the issuer signs with asymmetric keys only", where, alg)
	}
	if kid != "" && !utf8.ValidString(kid) {
		return nil, fmt.Errorf("apiguard: %s: KID %q is not UTF-8", where, kid)
	}
	pub, err := jose.NewKey(kid, alg, signer)
	if err != nil {
		return nil, fmt.Errorf("apiguard: %s: Key/Alg %q: %w", where, alg, err)
	}
	hdr, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{pub.Alg(), pub.ID(), TypAccessToken})
	if err != nil {
		return nil, fmt.Errorf("apiguard: %s: header: %w", where, err)
	}
	k := &issuerKey{pub: pub, signer: signer, hash: jwa.Hash(pub.Alg()), header: base64.RawURLEncoding.EncodeToString(hdr)}
	if ec, ok := pub.Public().(*ecdsa.PublicKey); ok {
		k.esSize = (ec.Curve.Params().BitSize + 7) / 8
	}
	return k, nil
}

// keys returns the current snapshot, first dropping the previous keys whose
// retirement time has passed. It takes no lock.
func (i *Issuer) keys() *issuerKeys {
	s := i.set.Load()
	if s.nextRetire.IsZero() {
		return s
	}
	now := i.now()
	if now.Before(s.nextRetire) {
		return s
	}
	ns := s.pruned(now)
	i.set.CompareAndSwap(s, ns) // a concurrent Rotate wins; it prunes too
	return ns
}

// LookupKey implements KeySource over the current key and the previous keys
// still published.
func (i *Issuer) LookupKey(ctx context.Context, kid, alg string) (*jose.Key, error) {
	return i.keys().lookup.LookupKey(ctx, kid, alg)
}

// JWKSHandler returns the handler of the Issuer's JWK Set (mount it at
// /.well-known/jwks.json): its current and still-valid previous public keys,
// each with kid, alg and "use":"sig", never a private member (see
// jose.NewJWKSHandler).
//
// Its Cache-Control max-age is IssuerConfig.JWKSMaxAge (default 5 minutes)
// but never more than the token lifetime: after a rotation the old key stays
// published for one token lifetime, so a verifier or CDN that caches the set
// no longer than that always holds a set that is at most one rotation behind.
func (i *Issuer) JWKSHandler() http.Handler { return i.jwks }

// PublicKeys returns the keys that verify the Issuer's unexpired tokens, the
// current signing key first.
func (i *Issuer) PublicKeys() []*jose.Key {
	return append([]*jose.Key(nil), i.keys().public...)
}

// Rotate makes key (with alg and kid, defaulted as in IssuerConfig) the
// signing key from now on. The previous key stays published, and accepted by
// LookupKey, until the last token it may have signed has expired (now plus
// the longest lifetime any token was issued with); then it is dropped.
func (i *Issuer) Rotate(key crypto.Signer, alg, kid string) error {
	k, err := newIssuerKey("Rotate", key, alg, kid)
	if err != nil {
		return err
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	now := i.now()
	s := i.set.Load().pruned(now)
	for _, p := range s.public {
		if p.ID() == k.pub.ID() {
			return fmt.Errorf("apiguard: Rotate: kid %q is already published", p.ID())
		}
	}
	old := *s.current
	old.retireAt = now.Add(time.Duration(i.maxTTL.Load()))
	prev := append(append(make([]*issuerKey, 0, len(s.prev)+1), &old), s.prev...)
	i.set.Store(newIssuerKeys(k, prev))
	return nil
}

// Errors of Issue.
var (
	errEmptySub = errors.New("apiguard: Issue: empty sub")
)

// Issue signs an access token for sub. The header is exactly
// {"alg":..,"kid":..,"typ":"at+jwt"}; the claims are iss, sub, aud, exp, iat,
// nbf, jti (128 random bits, base64url), roles, and scope, sid and cnf when
// given (RFC 9068; cnf with TokenOptions.JKT, RFC 9449 §6.1, or
// TokenOptions.X5TS256, RFC 8705 §3.1).
func (i *Issuer) Issue(sub string, opts TokenOptions) (string, IssuedToken, error) {
	if sub == "" {
		return "", IssuedToken{}, errEmptySub
	}
	if !utf8.ValidString(sub) {
		return "", IssuedToken{}, errors.New("apiguard: Issue: sub is not UTF-8")
	}
	if err := checkTokenOptions(&opts); err != nil {
		return "", IssuedToken{}, err
	}
	ttl := opts.TTL
	if ttl == 0 {
		ttl = i.ttl
	}
	var jti [16]byte
	if err := i.readRand(jti[:]); err != nil {
		return "", IssuedToken{}, fmt.Errorf("apiguard: Issue: jti: %w", err)
	}

	i.mu.RLock()
	for cur := i.maxTTL.Load(); int64(ttl) > cur; cur = i.maxTTL.Load() {
		if i.maxTTL.CompareAndSwap(cur, int64(ttl)) {
			break
		}
	}
	k := i.set.Load().current
	now := i.now()
	i.mu.RUnlock()

	iat := now.Unix()
	exp := now.Add(ttl).Unix()
	meta := IssuedToken{
		JTI:      base64.RawURLEncoding.EncodeToString(jti[:]),
		KID:      k.pub.ID(),
		IssuedAt: time.Unix(iat, 0),
		Expiry:   time.Unix(exp, 0),
	}

	c := make([]byte, 0, 320) // a constant size stays on the stack; 64 of it for a cnf
	c = append(c, i.claimsHead...)
	c = strictjson.AppendString(c, sub)
	c = append(c, `,"exp":`...)
	c = strconv.AppendInt(c, exp, 10)
	c = append(c, `,"iat":`...)
	c = strconv.AppendInt(c, iat, 10)
	c = append(c, `,"nbf":`...)
	c = strconv.AppendInt(c, iat, 10)
	c = append(c, `,"jti":"`...)
	c = append(c, meta.JTI...)
	c = append(c, `","roles":[`...)
	for n, r := range opts.Roles {
		if n > 0 {
			c = append(c, ',')
		}
		c = strictjson.AppendString(c, r)
	}
	c = append(c, ']')
	if len(opts.Scope) > 0 {
		c = append(c, `,"scope":"`...)
		for n, s := range opts.Scope {
			if n > 0 {
				c = append(c, ' ')
			}
			c = append(c, s...) // checked: no character needs escaping
		}
		c = append(c, '"')
	}
	if opts.SessionID != "" {
		c = append(c, `,"sid":`...)
		c = strictjson.AppendString(c, opts.SessionID)
	}
	switch { // checked: base64url, nothing to escape
	case opts.JKT != "":
		c = append(c, `,"cnf":{"jkt":"`...)
		c = append(c, opts.JKT...)
		c = append(c, `"}`...)
	case opts.X5TS256 != "":
		c = append(c, `,"cnf":{"x5t#S256":"`...)
		c = append(c, opts.X5TS256...)
		c = append(c, `"}`...)
	}
	c = append(c, '}')

	enc := base64.RawURLEncoding
	tok := make([]byte, 0, len(k.header)+1+enc.EncodedLen(len(c))+1+enc.EncodedLen(512))
	tok = append(tok, k.header...)
	tok = append(tok, '.')
	tok = enc.AppendEncode(tok, c)
	sig, err := k.sign(tok)
	if err != nil {
		return "", IssuedToken{}, fmt.Errorf("apiguard: Issue: sign: %w", err)
	}
	tok = append(tok, '.')
	tok = enc.AppendEncode(tok, sig)
	return string(tok), meta, nil
}

func checkTokenOptions(o *TokenOptions) error {
	if o.TTL < 0 || (o.TTL > 0 && o.TTL < time.Second) {
		return fmt.Errorf("apiguard: Issue: TTL %v is not at least one second", o.TTL)
	}
	for _, r := range o.Roles {
		if r == "" || !utf8.ValidString(r) {
			return fmt.Errorf("apiguard: Issue: role %q must be a non-empty UTF-8 string", r)
		}
	}
	for _, s := range o.Scope {
		if !validScopeToken(s) {
			return fmt.Errorf("apiguard: Issue: scope %q is not an RFC 6749 scope-token", s)
		}
	}
	if !utf8.ValidString(o.SessionID) {
		return errors.New("apiguard: Issue: SessionID is not UTF-8")
	}
	if err := checkThumbprint("Issue: TokenOptions.JKT", o.JKT); err != nil {
		return err
	}
	if err := checkThumbprint("Issue: TokenOptions.X5TS256", o.X5TS256); err != nil {
		return err
	}
	if o.JKT != "" && o.X5TS256 != "" {
		return errors.New("apiguard: Issue: TokenOptions.JKT and TokenOptions.X5TS256 are both set; a token confirms one key (RFC 7800 §3.1)")
	}
	return nil
}

// checkThumbprint accepts "" (no binding) or a SHA-256 thumbprint in
// unpadded, canonical base64url (43 characters), the form of RFC 7638 jkt
// and RFC 8705 x5t#S256.
func checkThumbprint(field, v string) error {
	if v == "" || validB64Of32(v) {
		return nil
	}
	return fmt.Errorf("apiguard: %s %.64q is not a SHA-256 thumbprint (43 characters of unpadded base64url)", field, v)
}

// validScopeToken: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
func validScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func (i *Issuer) readRand(b []byte) error {
	if i.randMu != nil {
		i.randMu.Lock()
		defer i.randMu.Unlock()
	}
	_, err := io.ReadFull(i.rand, b)
	return err
}

// sign returns the JWS signature of signingInput (RFC 7518 §3, RFC 8037).
func (k *issuerKey) sign(signingInput []byte) ([]byte, error) {
	alg := k.pub.Alg()
	if alg == jose.EdDSA || alg == jose.Ed25519 {
		if priv, ok := k.signer.(ed25519.PrivateKey); ok {
			return ed25519.Sign(priv, signingInput), nil
		}
		return k.signer.Sign(rand.Reader, signingInput, crypto.Hash(0))
	}
	var buf [64]byte
	digest := jwa.Digest(k.hash, signingInput, &buf)
	switch alg {
	case jose.RS256, jose.RS384, jose.RS512:
		if priv, ok := k.signer.(*rsa.PrivateKey); ok {
			return rsa.SignPKCS1v15(nil, priv, k.hash, digest)
		}
		return k.signer.Sign(rand.Reader, digest, k.hash)
	case jose.PS256, jose.PS384, jose.PS512:
		opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: k.hash}
		if priv, ok := k.signer.(*rsa.PrivateKey); ok {
			return rsa.SignPSS(rand.Reader, priv, k.hash, digest, opts)
		}
		return k.signer.Sign(rand.Reader, digest, opts)
	case jose.ES256, jose.ES384, jose.ES512:
		var der []byte
		var err error
		if priv, ok := k.signer.(*ecdsa.PrivateKey); ok {
			der, err = ecdsa.SignASN1(rand.Reader, priv, digest)
		} else {
			der, err = k.signer.Sign(rand.Reader, digest, k.hash)
		}
		if err != nil {
			return nil, err
		}
		return ecdsaRaw(der, k.esSize)
	}
	return nil, fmt.Errorf("unsupported algorithm %q", alg)
}

// ecdsaRaw converts an ASN.1 ECDSA signature to the JWS form: r and s as
// fixed-width big-endian integers of n bytes each (RFC 7518 §3.4).
func ecdsaRaw(der []byte, n int) ([]byte, error) {
	var r, s []byte
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1Integer(&r) || !seq.ReadASN1Integer(&s) || !seq.Empty() {
		return nil, errors.New("malformed ECDSA signature")
	}
	if len(r) > n || len(s) > n || (len(r) == 1 && r[0] == 0) || (len(s) == 1 && s[0] == 0) {
		return nil, errors.New("ECDSA signature out of range")
	}
	out := make([]byte, 2*n)
	copy(out[n-len(r):n], r)
	copy(out[2*n-len(s):], s)
	return out, nil
}
