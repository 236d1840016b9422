package jose

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math/big"
	"strconv"
	"strings"

	"github.com/apiguard/apiguard/internal/strictjson"
)

// MaxRSABits is the largest RSA modulus a JWK may carry: a bigger one costs
// every verification more than it protects.
const MaxRSABits = 8192

// Why a key of a set was set aside (SkippedKey.Reason). The values are
// stable reason codes.
const (
	// SkipMalformed: the member is not a strict JSON object (not an object,
	// a duplicate member name, invalid UTF-8, over 64 KiB or nested deeper
	// than 16), or a member has the wrong type or is not canonical
	// base64url.
	SkipMalformed = "malformed"
	// SkipPrivateMember: the key carries a private member (d, p, q, dp, dq,
	// qi, oth). Publishing it is a leak: SkippedKey.Threat is set.
	SkipPrivateMember = "private_member"
	// SkipSymmetricKey: an "oct" (HMAC) key in a public set, where a secret
	// is no secret. Threat when it carries its "k".
	SkipSymmetricKey = "symmetric_key"
	// SkipUnsupportedKty: kty missing or not RSA, EC, OKP (or oct where
	// symmetric keys are allowed), for example ML-DSA's "AKP".
	SkipUnsupportedKty = "unsupported_kty"
	// SkipUnsupportedCrv: an EC curve other than P-256, P-384, P-521, or an
	// OKP curve other than Ed25519 (X25519 and X448 do not sign).
	SkipUnsupportedCrv = "unsupported_crv"
	// SkipUseNotSig: "use" is present and is not "sig".
	SkipUseNotSig = "use_not_sig"
	// SkipKeyOpsNoVerify: "key_ops" is present without "verify".
	SkipKeyOpsNoVerify = "key_ops_no_verify"
	// SkipUnsupportedAlg: "alg" names no signature algorithm apiguard
	// verifies (RSA-OAEP, none, ES256K, ...).
	SkipUnsupportedAlg = "unsupported_alg"
	// SkipAlgKeyMismatch: "alg" (or the key's ParseOptions.KeyAlgs entry)
	// does not fit the key's type or curve, or the two disagree.
	SkipAlgKeyMismatch = "alg_key_mismatch"
	// SkipNoAlg: the key has no "alg" and no allowed algorithm fits it.
	SkipNoAlg = "no_alg"
	// SkipAmbiguousAlg: the key has no "alg" and several allowed
	// algorithms fit it, with no ParseOptions.DefaultAlgs or KeyAlgs entry
	// to choose. ParseJWKSWith and NewRemoteJWKS refuse such a set; a
	// running RemoteJWKS sets the key aside.
	SkipAmbiguousAlg = "ambiguous_alg"
	// SkipWeakKey: an RSA modulus under MinRSABits, or an HMAC secret
	// shorter than its hash.
	SkipWeakKey = "weak_key"
	// SkipInvalidKey: the key material is not a valid public key: an EC
	// point off its curve or of the wrong size, an RSA exponent below 3 or
	// even, an even modulus or one over MaxRSABits, an Ed25519 key of the
	// wrong size.
	SkipInvalidKey = "invalid_key"
	// SkipDuplicateKID: another key of the set, earlier in it, has the same
	// kid (after a missing kid is replaced by the thumbprint).
	SkipDuplicateKID = "duplicate_kid"
)

// SkippedKey is a key of a set that was set aside, and why.
type SkippedKey struct {
	// Index is the key's position in the set's "keys" array.
	Index int
	// KID is the key's kid as published; "" when it has none, or none could
	// be read. It comes from the set: treat it as untrusted text.
	KID string
	// Reason is one of the Skip* codes.
	Reason string
	// Detail says what exactly is wrong, in fixed words (never key material).
	Detail string
	// Threat is set when publishing the key is itself a security incident:
	// it carries a private member (see SkipPrivateMember, SkipSymmetricKey).
	Threat bool

	// content names a key without kid by its text, so that a RemoteJWKS
	// reports each such key once.
	content uint64
}

func (s SkippedKey) String() string {
	kid := ""
	if s.KID != "" {
		kid = " " + strconv.Quote(s.KID)
	}
	return "JWKS key " + strconv.Itoa(s.Index) + kid + ": " + s.Reason + ": " + s.Detail
}

// ParseOptions says how ParseJWKSWith reads a set. Its zero value reads a
// public set (no symmetric key) whose keys must each carry their "alg".
type ParseOptions struct {
	// Algorithms is the allowlist of the key source. It is used only to
	// bind a key without "alg" to the one allowed algorithm that fits its
	// type and curve (RSA: the one RS* or PS* listed; EC: ES256, ES384,
	// ES512 by curve; OKP Ed25519: EdDSA or Ed25519; oct: the one HS*
	// listed). A key that carries its alg keeps it, listed or not. Default
	// none: a key without alg is set aside (SkipNoAlg).
	Algorithms []string
	// DefaultAlgs decides for a key without alg when more than one listed
	// algorithm fits it (RS256 and PS256 both allowed: which one an RSA
	// key verifies). At most one per key type; each must be in Algorithms.
	// Without it such a key is ambiguous: an error of ParseJWKSWith naming
	// the key (SkipAmbiguousAlg).
	DefaultAlgs []string
	// KeyAlgs binds keys by kid, before anything else: a key without alg
	// gets its entry; a key whose alg differs from its entry is set aside
	// (SkipAlgKeyMismatch). Each value must be a known algorithm.
	KeyAlgs map[string]string
	// Symmetric admits "oct" keys as HMAC keys: only for a set read from
	// local configuration, never for one fetched from a URL. Default false:
	// an oct key is set aside (SkipSymmetricKey).
	Symmetric bool
	// MaxSize caps the document, in bytes. Default
	// DefaultJWKSMaxResponseSize (1 MiB), the cap of a RemoteJWKS.
	MaxSize int
}

// signingAlgs are the algorithms a JWK may name.
var signingAlgs = [...]string{RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA, Ed25519, HS256, HS384, HS512}

func knownAlg(alg string) bool {
	for _, a := range signingAlgs {
		if a == alg {
			return true
		}
	}
	return false
}

// keyType names what an algorithm needs: "RSA", "EC P-256", "Ed25519",
// "oct"; "" for an unknown algorithm.
func algKeyType(alg string) string {
	switch alg {
	case RS256, RS384, RS512, PS256, PS384, PS512:
		return "RSA"
	case ES256:
		return "EC P-256"
	case ES384:
		return "EC P-384"
	case ES512:
		return "EC P-521"
	case EdDSA, Ed25519:
		return "Ed25519"
	case HS256, HS384, HS512:
		return "oct"
	}
	return ""
}

// check validates o and returns it with its defaults; its errors begin with
// "apiguard: " and who.
func (o ParseOptions) check(who string) (ParseOptions, error) {
	if o.MaxSize < 0 {
		return o, fmt.Errorf("apiguard: %s: MaxSize %d is negative", who, o.MaxSize)
	}
	if o.MaxSize == 0 {
		o.MaxSize = DefaultJWKSMaxResponseSize
	}
	for _, a := range o.Algorithms {
		if !knownAlg(a) {
			return o, fmt.Errorf("apiguard: %s: Algorithms contains unknown algorithm %q", who, a)
		}
	}
	byType := map[string]string{}
	for _, a := range o.DefaultAlgs {
		if !knownAlg(a) {
			return o, fmt.Errorf("apiguard: %s: DefaultAlgs contains unknown algorithm %q", who, a)
		}
		if !containsAlg(o.Algorithms, a) {
			return o, fmt.Errorf("apiguard: %s: DefaultAlgs contains %q, which is not in Algorithms", who, a)
		}
		t := algKeyType(a)
		if prev, dup := byType[t]; dup && prev != a {
			return o, fmt.Errorf("apiguard: %s: DefaultAlgs contains %q and %q, both for %s keys", who, prev, a, t)
		}
		byType[t] = a
	}
	for kid, a := range o.KeyAlgs {
		if !knownAlg(a) {
			return o, fmt.Errorf("apiguard: %s: KeyAlgs[%q] is unknown algorithm %q", who, kid, a)
		}
	}
	return o, nil
}

func containsAlg(list []string, alg string) bool {
	for _, a := range list {
		if a == alg {
			return true
		}
	}
	return false
}

// ParseJWKSWith reads a JWK Set key by key. Each key is judged on its own: a
// usable key is returned, bound to exactly one algorithm (its "alg", or the
// one o binds it to); an unusable one is set aside in skipped with its kid
// and reason, and never takes the others down.
//
// err is set when the document itself is refused (not one strict JSON
// object with a "keys" array, over o.MaxSize or MaxJWKSKeys), when o is
// invalid, when a key without alg is ambiguous (SkipAmbiguousAlg: the error
// names it, so fix o.DefaultAlgs or o.KeyAlgs), or when no key is usable.
// skipped is returned with the last three.
func ParseJWKSWith(data []byte, o ParseOptions) (keys []*Key, skipped []SkippedKey, err error) {
	if o, err = o.check("ParseJWKSWith"); err != nil {
		return nil, nil, err
	}
	keys, skipped, err = parseJWKS(data, o)
	if err != nil {
		return nil, nil, err
	}
	if err := ambiguityError("ParseJWKSWith", skipped); err != nil {
		return nil, skipped, err
	}
	if len(keys) == 0 {
		return nil, skipped, fmt.Errorf("apiguard: JWKS has no usable key (%d set aside)", len(skipped))
	}
	return keys, skipped, nil
}

// ambiguityError is the construction error of a set whose keys without alg
// several allowed algorithms fit (SkipAmbiguousAlg), naming them; nil when
// there is none.
func ambiguityError(who string, skipped []SkippedKey) error {
	var kids []string
	for _, s := range skipped {
		if s.Reason == SkipAmbiguousAlg {
			kids = append(kids, strconv.Quote(s.KID))
		}
	}
	if len(kids) == 0 {
		return nil
	}
	return fmt.Errorf("apiguard: %s: key %s has no alg and several of Algorithms fit it: set DefaultAlgs or KeyAlgs", who, strings.Join(kids, ", "))
}

// parseJWKS is ParseJWKSWith for checked options, without the set-level
// verdicts: a RemoteJWKS makes its own.
func parseJWKS(data []byte, o ParseOptions) ([]*Key, []SkippedKey, error) {
	if len(data) > o.MaxSize {
		return nil, nil, fmt.Errorf("apiguard: JWKS: document of %d bytes is over the %d-byte cap", len(data), o.MaxSize)
	}
	raws, err := splitKeySet(data)
	if err != nil {
		return nil, nil, fmt.Errorf("apiguard: JWKS: %w", err)
	}
	var keys []*Key
	var skipped []SkippedKey
	seen := make(map[string]bool, len(raws))
	for i, raw := range raws {
		k, s := parseSetKey(raw, o)
		if k != nil && seen[k.kid] {
			k, s = nil, &SkippedKey{KID: k.kid, Reason: SkipDuplicateKID, Detail: "an earlier key has the same kid"}
		}
		if s != nil {
			s.Index = i
			if s.KID == "" {
				h := fnv.New64a()
				h.Write(raw)
				s.content = h.Sum64()
			}
			skipped = append(skipped, *s)
			continue
		}
		seen[k.kid] = true
		keys = append(keys, k)
	}
	return keys, skipped, nil
}

// privateMembers are the members of a private key (RFC 7518 §6.3.2, §6.4).
var privateMembers = [...]string{"d", "p", "q", "dp", "dq", "qi", "oth"}

// jwkFields are the members parseSetKey reads, all strings when present.
type jwkFields struct {
	Kty, Kid, Alg, Use, Crv, N, E, X, Y, K *string
	KeyOps                                 []string
}

// parseSetKey judges one member of a set's "keys" array: a usable key, or
// why not.
func parseSetKey(raw []byte, o ParseOptions) (*Key, *SkippedKey) {
	members, dup, ok := objectMembers(raw)
	if !ok {
		return nil, &SkippedKey{Reason: SkipMalformed, Detail: "not a JSON object"}
	}
	skip := func(reason, detail string) (*Key, *SkippedKey) {
		s := &SkippedKey{Reason: reason, Detail: detail}
		if v, ok := members["kid"]; ok {
			json.Unmarshal(v, &s.KID) // a kid that is no string stays ""
		}
		return nil, s
	}
	// A private member is a leak whatever else is wrong with the key, so it
	// is looked for first, even in a key that is not strict JSON.
	var present []string
	for _, m := range privateMembers {
		if _, ok := members[m]; ok {
			present = append(present, m)
		}
	}
	if len(present) > 0 {
		_, s := skip(SkipPrivateMember, "private member "+strings.Join(present, ", ")+" published")
		s.Threat = true
		return nil, s
	}
	var kty string
	if v, ok := members["kty"]; ok {
		json.Unmarshal(v, &kty)
	}
	if kty == "oct" && !o.Symmetric {
		_, k := members["k"]
		_, s := skip(SkipSymmetricKey, "symmetric (oct) key in a public set")
		s.Threat = k
		return nil, s
	}
	if dup {
		return skip(SkipMalformed, "duplicate member name")
	}
	if err := strictjson.Valid(string(raw)); err != nil {
		return skip(SkipMalformed, strings.TrimPrefix(err.Error(), "strictjson: "))
	}
	var f jwkFields
	for _, m := range []struct {
		name string
		dst  **string
	}{{"kty", &f.Kty}, {"kid", &f.Kid}, {"alg", &f.Alg}, {"use", &f.Use}, {"crv", &f.Crv}, {"n", &f.N}, {"e", &f.E}, {"x", &f.X}, {"y", &f.Y}, {"k", &f.K}} {
		v, ok := members[m.name]
		if !ok {
			continue
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return skip(SkipMalformed, strconv.Quote(m.name)+" is not a string")
		}
		*m.dst = &s
	}
	kid := ""
	if f.Kid != nil {
		kid = *f.Kid
	}
	if f.Use != nil && *f.Use != "sig" {
		return skip(SkipUseNotSig, "use is not \"sig\"")
	}
	if v, ok := members["key_ops"]; ok {
		if err := json.Unmarshal(v, &f.KeyOps); err != nil || f.KeyOps == nil {
			return skip(SkipMalformed, "\"key_ops\" is not an array of strings")
		}
		verify := false
		ops := make(map[string]bool, len(f.KeyOps))
		for _, op := range f.KeyOps {
			if ops[op] {
				return skip(SkipMalformed, "\"key_ops\" has a duplicate value")
			}
			ops[op] = true
			verify = verify || op == "verify"
		}
		if !verify {
			return skip(SkipKeyOpsNoVerify, "key_ops does not contain \"verify\"")
		}
	}
	switch {
	case f.Kty == nil:
		return skip(SkipUnsupportedKty, "no kty")
	case *f.Kty != "RSA" && *f.Kty != "EC" && *f.Kty != "OKP" && *f.Kty != "oct":
		return skip(SkipUnsupportedKty, "kty is not RSA, EC or OKP")
	}
	alg := ""
	if f.Alg != nil {
		alg = *f.Alg
		if !knownAlg(alg) {
			return skip(SkipUnsupportedAlg, "alg is not a signature algorithm apiguard verifies")
		}
	}
	pub, typ, s := publicFromJWK(&f, o.Symmetric)
	if s != nil {
		return skip(s.Reason, s.Detail)
	}
	want, hasWant := o.KeyAlgs[kid]
	switch {
	case alg != "":
		if algKeyType(alg) != typ {
			return skip(SkipAlgKeyMismatch, "alg "+alg+" does not fit a "+typ+" key")
		}
		if hasWant && want != alg {
			return skip(SkipAlgKeyMismatch, "alg "+alg+" differs from KeyAlgs' "+want)
		}
	case hasWant:
		if algKeyType(want) != typ {
			return skip(SkipAlgKeyMismatch, "KeyAlgs' "+want+" does not fit a "+typ+" key")
		}
		alg = want
	default:
		var fit []string
		for _, a := range o.Algorithms {
			if algKeyType(a) == typ && !containsAlg(fit, a) {
				fit = append(fit, a)
			}
		}
		switch len(fit) {
		case 0:
			return skip(SkipNoAlg, "no alg, and no allowed algorithm fits a "+typ+" key")
		case 1:
			alg = fit[0]
		default:
			for _, a := range o.DefaultAlgs {
				if algKeyType(a) == typ {
					alg = a
				}
			}
			if alg == "" {
				return skip(SkipAmbiguousAlg, "no alg, and "+strings.Join(fit, ", ")+" all fit a "+typ+" key")
			}
		}
	}
	if secret, ok := pub.([]byte); ok {
		if h, _ := hmacHash(alg); len(secret) < h.Size() {
			return skip(SkipWeakKey, "HMAC secret shorter than the "+alg+" hash")
		}
		if kid == "" {
			return skip(SkipMalformed, "an HMAC key needs a kid")
		}
	}
	k, err := NewKey(kid, alg, pub)
	if err != nil { // every check NewKey makes was made above
		return skip(SkipInvalidKey, "refused by NewKey")
	}
	return k, nil
}

// b64 is the one base64 of JWK members: base64url, no padding, canonical.
var b64 = base64.RawURLEncoding.Strict()

// publicFromJWK decodes the key material of f: a public key or (sym) an
// HMAC secret, and the key type name of algKeyType.
func publicFromJWK(f *jwkFields, sym bool) (any, string, *SkippedKey) {
	bad := func(reason, detail string) (any, string, *SkippedKey) {
		return nil, "", &SkippedKey{Reason: reason, Detail: detail}
	}
	member := func(name string, p *string) ([]byte, *SkippedKey) {
		if p == nil {
			return nil, &SkippedKey{Reason: SkipMalformed, Detail: "no " + strconv.Quote(name)}
		}
		b, err := b64.DecodeString(*p)
		if err != nil {
			return nil, &SkippedKey{Reason: SkipMalformed, Detail: strconv.Quote(name) + " is not canonical base64url"}
		}
		return b, nil
	}
	switch *f.Kty {
	case "RSA":
		nb, s := member("n", f.N)
		if s != nil {
			return nil, "", s
		}
		eb, s := member("e", f.E)
		if s != nil {
			return nil, "", s
		}
		n := new(big.Int).SetBytes(nb)
		switch bits := n.BitLen(); {
		case bits > MaxRSABits:
			return bad(SkipInvalidKey, "RSA modulus of "+strconv.Itoa(bits)+" bits (maximum "+strconv.Itoa(MaxRSABits)+")")
		case bits < MinRSABits:
			return bad(SkipWeakKey, "RSA modulus of "+strconv.Itoa(bits)+" bits (minimum "+strconv.Itoa(MinRSABits)+")")
		case n.Bit(0) == 0:
			return bad(SkipInvalidKey, "RSA modulus is even")
		}
		e := new(big.Int).SetBytes(eb)
		if e.BitLen() > 31 || e.Int64() < 3 || e.Bit(0) == 0 {
			return bad(SkipInvalidKey, "RSA exponent below 3, even, or over 2^31-1")
		}
		return &rsa.PublicKey{N: n, E: int(e.Int64())}, "RSA", nil
	case "EC":
		if f.Crv == nil {
			return bad(SkipMalformed, "no \"crv\"")
		}
		var curve elliptic.Curve
		switch *f.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			return bad(SkipUnsupportedCrv, "EC curve is not P-256, P-384 or P-521")
		}
		x, s := member("x", f.X)
		if s != nil {
			return nil, "", s
		}
		y, s := member("y", f.Y)
		if s != nil {
			return nil, "", s
		}
		size := (curve.Params().BitSize + 7) / 8
		if len(x) != size || len(y) != size {
			return bad(SkipInvalidKey, "EC coordinates are not "+strconv.Itoa(size)+" bytes")
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, append(append([]byte{4}, x...), y...))
		if err != nil {
			return bad(SkipInvalidKey, "EC point is not on "+*f.Crv)
		}
		return pub, "EC " + *f.Crv, nil
	case "OKP":
		if f.Crv == nil {
			return bad(SkipMalformed, "no \"crv\"")
		}
		if *f.Crv != "Ed25519" {
			return bad(SkipUnsupportedCrv, "OKP curve is not Ed25519")
		}
		x, s := member("x", f.X)
		if s != nil {
			return nil, "", s
		}
		if len(x) != ed25519.PublicKeySize {
			return bad(SkipInvalidKey, "Ed25519 key is not 32 bytes")
		}
		return ed25519.PublicKey(x), "Ed25519", nil
	case "oct":
		if !sym {
			return bad(SkipSymmetricKey, "symmetric (oct) key in a public set")
		}
		k, s := member("k", f.K)
		if s != nil {
			return nil, "", s
		}
		return k, "oct", nil
	}
	return bad(SkipUnsupportedKty, "kty is not RSA, EC or OKP")
}

// ParseJWK reads one JWK, held to the rules of a key in ParseJWKSWith with
// symmetric keys allowed. Its "alg" member is required (one algorithm per
// key); its "kid" is used when present, else the thumbprint. Symmetric
// ("oct") keys become HMAC keys and need a kid.
func ParseJWK(data []byte) (*Key, error) {
	sc := jsonScanner{s: data}
	sc.ws()
	if err := sc.value(1); err != nil {
		return nil, fmt.Errorf("apiguard: JWK: %w", err)
	}
	sc.ws()
	if sc.i != len(data) {
		return nil, errors.New("apiguard: JWK: data after the JSON value")
	}
	k, s := parseSetKey(data, ParseOptions{Symmetric: true})
	if s != nil {
		return nil, fmt.Errorf("apiguard: JWK: %s: %s", s.Reason, s.Detail)
	}
	return k, nil
}

// ParseJWKS reads a JWK Set from local configuration, where every key must
// be usable: each must carry its "alg"; symmetric ("oct") keys are HMAC keys.
// The first key that ParseJWKSWith would set aside is an error naming it. A
// set fetched from a URL should be read with ParseJWKSWith or a RemoteJWKS.
func ParseJWKS(data []byte) ([]*Key, error) {
	keys, skipped, err := ParseJWKSWith(data, ParseOptions{Symmetric: true})
	if len(skipped) > 0 {
		return nil, errors.New("apiguard: " + skipped[0].String())
	}
	if err != nil {
		return nil, err
	}
	return keys, nil
}
