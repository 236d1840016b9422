package jose

import (
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"testing"
)

var b64u = base64.RawURLEncoding

// jwkMap is a JWK under construction; nil values delete a member.
type jwkMap map[string]any

func (m jwkMap) with(kv ...any) jwkMap {
	out := jwkMap{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

func (m jwkMap) json(tb testing.TB) string {
	tb.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func rsaJWK(kid string, pub *rsa.PublicKey) jwkMap {
	return jwkMap{"kty": "RSA", "kid": kid, "alg": RS256, "use": "sig",
		"n": b64u.EncodeToString(pub.N.Bytes()), "e": b64u.EncodeToString(big.NewInt(int64(pub.E)).Bytes())}
}

func ecJWK(kid string, pub *ecdsa.PublicKey) jwkMap {
	b, err := pub.Bytes()
	if err != nil {
		panic(err)
	}
	size := (len(b) - 1) / 2
	return jwkMap{"kty": "EC", "kid": kid, "alg": ES256, "use": "sig", "crv": pub.Curve.Params().Name,
		"x": b64u.EncodeToString(b[1 : 1+size]), "y": b64u.EncodeToString(b[1+size:])}
}

func edJWK(kid string, pub ed25519.PublicKey) jwkMap {
	return jwkMap{"kty": "OKP", "kid": kid, "alg": EdDSA, "use": "sig", "crv": "Ed25519", "x": b64u.EncodeToString(pub)}
}

func setOf(members ...string) []byte {
	return []byte(`{"keys":[` + strings.Join(members, ",") + `]}`)
}

var weakRSA = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		panic(err)
	}
	return k
})

// badKey is one unusable JWK: a set carrying it must still serve its good
// keys and set this one aside with exactly this reason.
type badKey struct {
	name, kid, reason string
	threat            bool
	json              string
}

// badKeys returns one key of each kind a set must set aside (kids
// "bad-..."), none of which may take the good keys down.
func badKeys(tb testing.TB) []badKey {
	tb.Helper()
	rsaPriv := issKey(tb, "rsa2").(*rsa.PrivateKey)
	rsaPub := &rsaPriv.PublicKey
	ecPriv := issKey(tb, "p256b").(*ecdsa.PrivateKey)
	ec := ecJWK("bad-ec-off-curve", &ecPriv.PublicKey)
	// Flip the low bit of y: the point leaves the curve (checked below).
	y, _ := b64u.DecodeString(ec["y"].(string))
	y[len(y)-1] ^= 1
	x, _ := b64u.DecodeString(ec["x"].(string))
	if _, err := ecdh.P256().NewPublicKey(append(append([]byte{4}, x...), y...)); err == nil {
		tb.Fatal("the altered point is on the curve")
	}
	ec["y"] = b64u.EncodeToString(y)
	bi := func(i *big.Int) string { return b64u.EncodeToString(i.Bytes()) }
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	huge := new(big.Int).Lsh(big.NewInt(1), MaxRSABits+8)
	huge.Add(huge, big.NewInt(1))
	edPub := issKey(tb, "ed2").Public().(ed25519.PublicKey)
	return []badKey{
		{"RSA 1024 bits", "bad-rsa-1024", SkipWeakKey, false, rsaJWK("bad-rsa-1024", &weakRSA().PublicKey).json(tb)},
		{"RSA e=1", "bad-rsa-e1", SkipInvalidKey, false, rsaJWK("bad-rsa-e1", rsaPub).with("e", "AQ").json(tb)},
		{"RSA e even", "bad-rsa-e-even", SkipInvalidKey, false, rsaJWK("bad-rsa-e-even", rsaPub).with("e", "AQAA").json(tb)},
		{"RSA modulus even", "bad-rsa-n-even", SkipInvalidKey, false, rsaJWK("bad-rsa-n-even", rsaPub).with("n", bi(new(big.Int).Lsh(rsaPub.N, 1))).json(tb)},
		{"RSA over MaxRSABits", "bad-rsa-huge", SkipInvalidKey, false, rsaJWK("bad-rsa-huge", rsaPub).with("n", bi(huge)).json(tb)},
		{"EC point off its curve", "bad-ec-off-curve", SkipInvalidKey, false, ec.json(tb)},
		{"EC coordinate short", "bad-ec-short", SkipInvalidKey, false, ecJWK("bad-ec-short", &ecPriv.PublicKey).with("x", "AAAA").json(tb)},
		{"EC unknown curve", "bad-ec-secp256k1", SkipUnsupportedCrv, false, ecJWK("bad-ec-secp256k1", &ecPriv.PublicKey).with("crv", "secp256k1", "alg", nil).json(tb)},
		{"OKP X25519", "bad-x25519", SkipUnsupportedCrv, false, jwkMap{"kty": "OKP", "kid": "bad-x25519", "crv": "X25519", "x": b64u.EncodeToString(x25519.PublicKey().Bytes())}.json(tb)},
		{"Ed25519 short", "bad-ed-short", SkipInvalidKey, false, edJWK("bad-ed-short", edPub[:31]).json(tb)},
		{"unknown kty (ML-DSA AKP)", "bad-akp", SkipUnsupportedKty, false, jwkMap{"kty": "AKP", "kid": "bad-akp", "alg": "ML-DSA-44", "use": "sig", "pub": b64u.EncodeToString(make([]byte, 1312))}.json(tb)},
		{"no kty", "bad-no-kty", SkipUnsupportedKty, false, rsaJWK("bad-no-kty", rsaPub).with("kty", nil).json(tb)},
		{"use enc", "bad-use-enc", SkipUseNotSig, false, rsaJWK("bad-use-enc", rsaPub).with("use", "enc", "alg", "RSA-OAEP").json(tb)},
		{"key_ops encrypt", "bad-key-ops", SkipKeyOpsNoVerify, false, rsaJWK("bad-key-ops", rsaPub).with("use", nil, "key_ops", []string{"encrypt"}).json(tb)},
		{"key_ops empty", "bad-key-ops-empty", SkipKeyOpsNoVerify, false, rsaJWK("bad-key-ops-empty", rsaPub).with("key_ops", []string{}).json(tb)},
		{"key_ops twice verify", "bad-key-ops-dup", SkipMalformed, false, rsaJWK("bad-key-ops-dup", rsaPub).with("key_ops", []string{"verify", "verify"}).json(tb)},
		{"key_ops not an array", "bad-key-ops-str", SkipMalformed, false, rsaJWK("bad-key-ops-str", rsaPub).with("key_ops", "verify").json(tb)},
		{"alg RSA-OAEP without use", "bad-alg-oaep", SkipUnsupportedAlg, false, rsaJWK("bad-alg-oaep", rsaPub).with("use", nil, "alg", "RSA-OAEP").json(tb)},
		{"alg none", "bad-alg-none", SkipUnsupportedAlg, false, rsaJWK("bad-alg-none", rsaPub).with("alg", "none").json(tb)},
		{"alg ES256 on RSA", "bad-alg-mismatch", SkipAlgKeyMismatch, false, rsaJWK("bad-alg-mismatch", rsaPub).with("alg", ES256).json(tb)},
		{"alg ES384 on P-256", "bad-alg-curve", SkipAlgKeyMismatch, false, ecJWK("bad-alg-curve", &ecPriv.PublicKey).with("alg", ES384).json(tb)},
		{"alg HS256 on RSA", "bad-alg-hs", SkipAlgKeyMismatch, false, rsaJWK("bad-alg-hs", rsaPub).with("alg", HS256).json(tb)},
		{"RSA private members", "bad-rsa-private", SkipPrivateMember, true, rsaJWK("bad-rsa-private", rsaPub).with(
			"d", bi(rsaPriv.D), "p", bi(rsaPriv.Primes[0]), "q", bi(rsaPriv.Primes[1]),
			"dp", bi(rsaPriv.Precomputed.Dp), "dq", bi(rsaPriv.Precomputed.Dq), "qi", bi(rsaPriv.Precomputed.Qinv)).json(tb)},
		{"RSA d alone", "bad-rsa-d", SkipPrivateMember, true, rsaJWK("bad-rsa-d", rsaPub).with("d", bi(rsaPriv.D)).json(tb)},
		{"RSA oth", "bad-rsa-oth", SkipPrivateMember, true, rsaJWK("bad-rsa-oth", rsaPub).with("oth", []any{}).json(tb)},
		{"EC private d", "bad-ec-private", SkipPrivateMember, true, ecJWK("bad-ec-private", &ecPriv.PublicKey).with("d", b64u.EncodeToString(make([]byte, 32))).json(tb)},
		{"private member in a malformed key", "bad-private-dup", SkipPrivateMember, true, `{"kty":"RSA","kid":"bad-private-dup","kid":"x","d":"AQAB"}`},
		{"oct key in a public set", "bad-oct", SkipSymmetricKey, true, jwkMap{"kty": "oct", "kid": "bad-oct", "alg": HS256, "use": "sig", "k": b64u.EncodeToString(make([]byte, 32))}.json(tb)},
		{"duplicate member name", "bad-dup-member", SkipMalformed, false, strings.Replace(rsaJWK("bad-dup-member", rsaPub).json(tb), `"kty":"RSA"`, `"kty":"RSA","kty":"RSA"`, 1)},
		{"duplicate member name, escaped", "bad-dup-escaped", SkipMalformed, false, strings.Replace(rsaJWK("bad-dup-escaped", rsaPub).json(tb), `"kty":"RSA"`, `"kty":"RSA","\u006bty":"EC"`, 1)},
		{"invalid UTF-8", "bad-utf8", SkipMalformed, false, strings.Replace(rsaJWK("bad-utf8", rsaPub).json(tb), `"use":"sig"`, "\"x-note\":\"\xff\",\"use\":\"sig\"", 1)},
		{"unpaired surrogate", "bad-surrogate", SkipMalformed, false, strings.Replace(rsaJWK("bad-surrogate", rsaPub).json(tb), `"use":"sig"`, `"x-note":"\ud800","use":"sig"`, 1)},
		{"kid not a string", "", SkipMalformed, false, rsaJWK("", rsaPub).with("kid", 7).json(tb)},
		{"n padded", "bad-n-padded", SkipMalformed, false, rsaJWK("bad-n-padded", rsaPub).with("e", "AQAB=").json(tb)},
		{"n standard base64", "bad-n-std", SkipMalformed, false, rsaJWK("bad-n-std", rsaPub).with("n", base64.RawStdEncoding.EncodeToString(append(rsaPub.N.Bytes(), 0xfb, 0xff))).json(tb)},
		{"no n", "bad-no-n", SkipMalformed, false, rsaJWK("bad-no-n", rsaPub).with("n", nil).json(tb)},
		{"not an object", "", SkipMalformed, false, `"a string"`},
		{"an array", "", SkipMalformed, false, `[{"kty":"RSA"}]`},
		{"too deep", "bad-deep", SkipMalformed, false, rsaJWK("bad-deep", rsaPub).with("x-deep", deep(20)).json(tb)},
		{"no alg, none allowed fits", "bad-no-alg", SkipNoAlg, false, edJWK("bad-no-alg", edPub).with("alg", nil).json(tb)},
		{"duplicate kid", "good-rsa", SkipDuplicateKID, false, ecJWK("good-rsa", &ecPriv.PublicKey).json(tb)},
	}
}

func deep(n int) any {
	var v any = "x"
	for range n {
		v = []any{v}
	}
	return v
}

// goodKeys are the usable keys of the resilience sets, as published.
func goodKeys(tb testing.TB) []string {
	tb.Helper()
	return []string{
		rsaJWK("good-rsa", issKey(tb, "rsa").Public().(*rsa.PublicKey)).json(tb),
		ecJWK("good-ec", issKey(tb, "p256").Public().(*ecdsa.PublicKey)).json(tb),
		edJWK("good-ed", issKey(tb, "ed").Public().(ed25519.PublicKey)).with("key_ops", []string{"verify"}).json(tb),
	}
}

// Each bad key, alone among good keys, is set aside with its reason and
// kid, and the good keys still serve.
func TestParseJWKSWithSetsAsideBadKeys(t *testing.T) {
	good := goodKeys(t)
	for _, bk := range badKeys(t) {
		t.Run(bk.name, func(t *testing.T) {
			// The bad key sits between good ones.
			data := setOf(good[0], bk.json, good[1], good[2])
			keys, skipped, err := ParseJWKSWith(data, ParseOptions{Algorithms: []string{RS256, ES256}})
			if err != nil {
				t.Fatalf("ParseJWKSWith: %v", err)
			}
			if len(keys) != 3 {
				t.Errorf("%d usable keys, want the 3 good ones", len(keys))
			}
			for _, k := range keys {
				if strings.HasPrefix(k.ID(), "bad-") {
					t.Errorf("bad key %q served", k.ID())
				}
			}
			if len(skipped) != 1 {
				t.Fatalf("skipped %v, want exactly the bad key", skipped)
			}
			s := skipped[0]
			if s.Index != 1 || s.KID != bk.kid || s.Reason != bk.reason || s.Threat != bk.threat {
				t.Errorf("skipped %+v, want index 1, kid %q, reason %s, threat %v", s, bk.kid, bk.reason, bk.threat)
			}
			if s.Detail == "" {
				t.Error("no detail")
			}
			for _, secret := range []string{`"d":"`, `"k":"`} {
				if i := strings.Index(bk.json, secret); i >= 0 {
					material := bk.json[i+len(secret) : i+len(secret)+4]
					if strings.Contains(s.String(), material) {
						t.Errorf("key material in %q", s)
					}
				}
			}
		})
	}
	t.Run("all at once", func(t *testing.T) {
		bad := badKeys(t)
		members := append([]string(nil), good...)
		for _, bk := range bad {
			members = append(members, bk.json)
		}
		keys, skipped, err := ParseJWKSWith(setOf(members...), ParseOptions{Algorithms: []string{RS256, ES256}})
		if err != nil || len(keys) != 3 || len(skipped) != len(bad) {
			t.Fatalf("%d keys, %d skipped (want 3, %d), err %v", len(keys), len(skipped), len(bad), err)
		}
	})
}

// The document is refused as a whole only when it cannot be split into keys.
func TestParseJWKSWithDocument(t *testing.T) {
	good := goodKeys(t)[1]
	many := make([]string, MaxJWKSKeys+1)
	for i := range many {
		many[i] = "{}"
	}
	for _, tt := range []struct {
		name string
		doc  string
		keys int // -1: the document is refused
	}{
		{"plain", `{"keys":[` + good + `]}`, 1},
		{"whitespace and other members", " \n{\"other\":{\"a\":[1,2.5e3,true,null]},\"keys\" : [ " + good + " ] }\t", 1},
		{"escaped name", `{"\u006beys":[` + good + `]}`, 1},
		{"not an object", `[` + good + `]`, -1},
		{"no keys", `{"other":[` + good + `]}`, -1},
		{"keys not an array", `{"keys":` + good + `}`, -1},
		{"two keys members", `{"keys":[` + good + `],"keys":[]}`, -1},
		{"two keys members, one escaped", `{"keys":[` + good + `],"\u006beys":[]}`, -1},
		{"duplicate other member", `{"a":1,"a":2,"keys":[` + good + `]}`, -1},
		{"invalid UTF-8 outside the keys", "{\"a\":\"\xff\",\"keys\":[" + good + "]}", -1},
		{"trailing data", `{"keys":[` + good + `]}x`, -1},
		{"two documents", `{"keys":[` + good + `]}{}`, -1},
		{"trailing comma", `{"keys":[` + good + `,]}`, -1},
		{"bad number in a key", `{"keys":[` + good + `,{"a":01}]}`, -1},
		{"bad literal", `{"keys":[` + good + `,{"a":tru}]}`, -1},
		{"bad escape", `{"keys":[` + good + `,{"a":"\x"}]}`, -1},
		{"control character", "{\"keys\":[" + good + ",{\"a\":\"\x01\"}]}", -1},
		{"unterminated", `{"keys":[` + good, -1},
		{"nesting past the splitter's cap", `{"keys":[` + good + `,` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `]}`, -1},
		{"too many keys", `{"keys":[` + strings.Join(many, ",") + `]}`, -1},
		{"empty", ``, -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			keys, _, err := ParseJWKSWith([]byte(tt.doc), ParseOptions{})
			if tt.keys < 0 {
				if err == nil || !strings.Contains(err.Error(), "JWKS") {
					t.Fatalf("accepted (%d keys), err %v", len(keys), err)
				}
				return
			}
			if err != nil || len(keys) != tt.keys {
				t.Fatalf("%d keys, err %v", len(keys), err)
			}
		})
	}
	t.Run("MaxSize", func(t *testing.T) {
		doc := []byte(`{"keys":[` + good + `]}`)
		if _, _, err := ParseJWKSWith(doc, ParseOptions{MaxSize: len(doc) - 1}); err == nil {
			t.Error("a document over MaxSize accepted")
		}
		if _, _, err := ParseJWKSWith(doc, ParseOptions{MaxSize: len(doc)}); err != nil {
			t.Errorf("a document of MaxSize refused: %v", err)
		}
	})
	t.Run("no usable key", func(t *testing.T) {
		_, skipped, err := ParseJWKSWith(setOf(badKeys(t)[0].json), ParseOptions{})
		if err == nil || len(skipped) != 1 {
			t.Errorf("err %v, skipped %v", err, skipped)
		}
	})
}

// A key without alg is bound to the one configured algorithm that fits it.
func TestParseJWKSWithBindsKeysWithoutAlg(t *testing.T) {
	rsaPub := issKey(t, "rsa").Public().(*rsa.PublicKey)
	noAlg := func(m jwkMap) string { return m.with("alg", nil).json(t) }
	rsaKey := noAlg(rsaJWK("r", rsaPub))
	p256 := noAlg(ecJWK("e256", issKey(t, "p256").Public().(*ecdsa.PublicKey)))
	p384 := noAlg(ecJWK("e384", issKey(t, "p384").Public().(*ecdsa.PublicKey)))
	p521 := noAlg(ecJWK("e521", issKey(t, "p521").Public().(*ecdsa.PublicKey)))
	ed := noAlg(edJWK("ed", issKey(t, "ed").Public().(ed25519.PublicKey)))
	withAlg := rsaJWK("r512", issKey(t, "rsa2").Public().(*rsa.PublicKey)).with("alg", RS512).json(t)
	all := []string{RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA, Ed25519}
	for _, tt := range []struct {
		name    string
		key     string
		opts    ParseOptions
		want    string // the bound alg; "" with reason: set aside; "" with errKID: an error naming it
		reason  string
		errKID  string
		wantKID string
	}{
		{"RSA, RS256 allowed", rsaKey, ParseOptions{Algorithms: []string{RS256, ES256}}, RS256, "", "", "r"},
		{"RSA, PS384 allowed", rsaKey, ParseOptions{Algorithms: []string{PS384, EdDSA}}, PS384, "", "", "r"},
		{"RSA, RS256 listed twice", rsaKey, ParseOptions{Algorithms: []string{RS256, RS256}}, RS256, "", "", "r"},
		{"RSA, RS256 and PS256: ambiguous", rsaKey, ParseOptions{Algorithms: []string{RS256, PS256}}, "", SkipAmbiguousAlg, "r", ""},
		{"RSA, RS256 and PS256, DefaultAlgs PS256", rsaKey, ParseOptions{Algorithms: []string{RS256, PS256}, DefaultAlgs: []string{PS256}}, PS256, "", "", "r"},
		{"RSA, every alg, DefaultAlgs RS256", rsaKey, ParseOptions{Algorithms: all, DefaultAlgs: []string{RS256, ES384}}, RS256, "", "", "r"},
		{"RSA, KeyAlgs decides", rsaKey, ParseOptions{Algorithms: []string{RS256, PS256}, KeyAlgs: map[string]string{"r": PS512}}, PS512, "", "", "r"},
		{"RSA, KeyAlgs does not fit", rsaKey, ParseOptions{KeyAlgs: map[string]string{"r": ES256}}, "", SkipAlgKeyMismatch, "", ""},
		{"RSA, only EC allowed", rsaKey, ParseOptions{Algorithms: []string{ES256}}, "", SkipNoAlg, "", ""},
		{"RSA, nothing configured", rsaKey, ParseOptions{}, "", SkipNoAlg, "", ""},
		{"P-256", p256, ParseOptions{Algorithms: all, DefaultAlgs: []string{RS256, EdDSA}}, ES256, "", "", "e256"},
		{"P-384", p384, ParseOptions{Algorithms: all, DefaultAlgs: []string{RS256, EdDSA}}, ES384, "", "", "e384"},
		{"P-521", p521, ParseOptions{Algorithms: all, DefaultAlgs: []string{RS256, EdDSA}}, ES512, "", "", "e521"},
		{"P-384, only ES256 allowed", p384, ParseOptions{Algorithms: []string{ES256}}, "", SkipNoAlg, "", ""},
		{"Ed25519, EdDSA allowed", ed, ParseOptions{Algorithms: []string{RS256, EdDSA}}, EdDSA, "", "", "ed"},
		{"Ed25519, Ed25519 allowed", ed, ParseOptions{Algorithms: []string{Ed25519, ES256}}, Ed25519, "", "", "ed"},
		{"Ed25519, both allowed: ambiguous", ed, ParseOptions{Algorithms: []string{EdDSA, Ed25519}}, "", SkipAmbiguousAlg, "ed", ""},
		{"Ed25519, both allowed, DefaultAlgs", ed, ParseOptions{Algorithms: []string{EdDSA, Ed25519}, DefaultAlgs: []string{Ed25519}}, Ed25519, "", "", "ed"},
		{"a key with alg keeps it", withAlg, ParseOptions{Algorithms: []string{RS256}, DefaultAlgs: []string{RS256}}, RS512, "", "", "r512"},
		{"a key with alg, KeyAlgs agrees", withAlg, ParseOptions{KeyAlgs: map[string]string{"r512": RS512}}, RS512, "", "", "r512"},
		{"a key with alg, KeyAlgs differs", withAlg, ParseOptions{KeyAlgs: map[string]string{"r512": RS256}}, "", SkipAlgKeyMismatch, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			good := goodKeys(t)[1] // an ES256 key with alg, so the set is never empty
			keys, skipped, err := ParseJWKSWith(setOf(good, tt.key), tt.opts)
			if tt.errKID != "" {
				if err == nil || !strings.Contains(err.Error(), strconv.Quote(tt.errKID)) || keys != nil {
					t.Fatalf("err %v, keys %v: want an error naming %q", err, keys, tt.errKID)
				}
				if len(skipped) != 1 || skipped[0].Reason != tt.reason {
					t.Errorf("skipped %v", skipped)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if len(keys) != 1 || len(skipped) != 1 || skipped[0].Reason != tt.reason {
					t.Fatalf("keys %d, skipped %v: want set aside as %s", len(keys), skipped, tt.reason)
				}
				return
			}
			if len(keys) != 2 || len(skipped) != 0 {
				t.Fatalf("keys %d, skipped %v", len(keys), skipped)
			}
			k := keys[1]
			if k.ID() != tt.wantKID || k.Alg() != tt.want {
				t.Fatalf("key %q bound to %s, want %q %s", k.ID(), k.Alg(), tt.wantKID, tt.want)
			}
			// One algorithm per key: no other alg finds it.
			ks, err := NewStaticKeys(keys...)
			if err != nil {
				t.Fatal(err)
			}
			for _, alg := range signingAlgs {
				_, err := ks.LookupKey(context.Background(), k.ID(), alg)
				if (err == nil) != (alg == tt.want) {
					t.Errorf("LookupKey(%q, %s): %v", k.ID(), alg, err)
				}
			}
		})
	}
}

func TestParseOptionsCheck(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts ParseOptions
		want string
	}{
		{"unknown alg", ParseOptions{Algorithms: []string{"RS1"}}, "Algorithms"},
		{"none", ParseOptions{Algorithms: []string{"none"}}, "Algorithms"},
		{"DefaultAlgs not allowed", ParseOptions{Algorithms: []string{RS256}, DefaultAlgs: []string{PS256}}, "DefaultAlgs"},
		{"DefaultAlgs unknown", ParseOptions{DefaultAlgs: []string{"XS256"}}, "DefaultAlgs"},
		{"DefaultAlgs two for RSA", ParseOptions{Algorithms: []string{RS256, PS256}, DefaultAlgs: []string{RS256, PS256}}, "DefaultAlgs"},
		{"DefaultAlgs two for Ed25519", ParseOptions{Algorithms: []string{EdDSA, Ed25519}, DefaultAlgs: []string{EdDSA, Ed25519}}, "DefaultAlgs"},
		{"KeyAlgs unknown", ParseOptions{KeyAlgs: map[string]string{"k": "RSA-OAEP"}}, "KeyAlgs"},
		{"MaxSize", ParseOptions{MaxSize: -1}, "MaxSize"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ParseJWKSWith(setOf(goodKeys(t)[1]), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want one naming %s", err, tt.want)
			}
		})
	}
}

// key_ops (RFC 7517 §4.3) must allow verification when present.
func TestParseJWKSKeyOps(t *testing.T) {
	base := ecJWK("k", issKey(t, "p256").Public().(*ecdsa.PublicKey)).with("use", nil)
	for _, tt := range []struct {
		ops    any
		reason string
	}{
		{[]string{"verify"}, ""},
		{[]string{"sign", "verify"}, ""},
		{[]string{"verify", "x-custom"}, ""},
		{[]string{"encrypt"}, SkipKeyOpsNoVerify},
		{[]string{"sign"}, SkipKeyOpsNoVerify},
		{[]string{"Verify"}, SkipKeyOpsNoVerify},
		{[]string{}, SkipKeyOpsNoVerify},
		{[]string{"verify", "verify"}, SkipMalformed},
		{"verify", SkipMalformed},
		{[]any{"verify", 1}, SkipMalformed},
	} {
		t.Run(strings.ReplaceAll(jwkMap{"o": tt.ops}.json(t), "/", "_"), func(t *testing.T) {
			keys, skipped, _ := ParseJWKSWith(setOf(base.with("key_ops", tt.ops).json(t)), ParseOptions{})
			if tt.reason == "" {
				if len(keys) != 1 {
					t.Fatalf("refused: %v", skipped)
				}
				return
			}
			if len(keys) != 0 || len(skipped) != 1 || skipped[0].Reason != tt.reason {
				t.Fatalf("keys %d, skipped %v; want %s", len(keys), skipped, tt.reason)
			}
		})
	}
	t.Run("use sig and key_ops verify", func(t *testing.T) {
		if _, _, err := ParseJWKSWith(setOf(base.with("use", "sig", "key_ops", []string{"verify"}).json(t)), ParseOptions{}); err != nil {
			t.Fatal(err)
		}
	})
}

// Ed25519 (RFC 9864) is an alg name of its own: a key published with it
// verifies only tokens whose header says Ed25519.
func TestEd25519Alg(t *testing.T) {
	priv := issKey(t, "ed").(ed25519.PrivateKey)
	input := []byte("eyJhbGciOiJFZDI1NTE5In0.e30")
	sig := ed25519.Sign(priv, input)
	keys, _, err := ParseJWKSWith(setOf(edJWK("ed", priv.Public().(ed25519.PublicKey)).with("alg", Ed25519).json(t)), ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	k := keys[0]
	if k.Alg() != Ed25519 {
		t.Fatalf("alg %s", k.Alg())
	}
	if err := k.Verify(input, sig); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if err := k.Verify(input[1:], sig); !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("Verify of other input: %v", err)
	}
	ks, _ := NewStaticKeys(k)
	if _, err := ks.LookupKey(context.Background(), "ed", Ed25519); err != nil {
		t.Errorf("LookupKey Ed25519: %v", err)
	}
	if _, err := ks.LookupKey(context.Background(), "ed", EdDSA); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("an Ed25519 key answered for EdDSA: %v", err)
	}
	if _, err := NewKey("x", Ed25519, &issKey(t, "rsa").(*rsa.PrivateKey).PublicKey); err == nil {
		t.Error("NewKey bound an RSA key to Ed25519")
	}
	// Published by the JWKS handler with its alg, and read back the same.
	rec := issGetJWKS(t, newJWKSHandler(issKeyList{k}, 0))
	if !strings.Contains(rec.Body.String(), `"alg":"Ed25519"`) {
		t.Fatalf("published %s", rec.Body)
	}
	back, err := ParseJWKS(rec.Body.Bytes())
	if err != nil || back[0].Alg() != Ed25519 || back[0].ID() != "ed" {
		t.Fatalf("round trip: %v %v", back, err)
	}
}

// The short forms keep their contracts: ParseJWKS refuses a set with any
// unusable key and names it; ParseJWK reads one key.
func TestParseJWKSShortForms(t *testing.T) {
	good := goodKeys(t)
	bad := badKeys(t)[0]
	if keys, err := ParseJWKS(setOf(good...)); err != nil || len(keys) != 3 {
		t.Fatalf("ParseJWKS: %d keys, %v", len(keys), err)
	}
	_, err := ParseJWKS(setOf(good[0], bad.json))
	if err == nil || !strings.Contains(err.Error(), strconv.Quote(bad.kid)) || !strings.Contains(err.Error(), bad.reason) {
		t.Fatalf("ParseJWKS with a bad key: %v, want its kid and reason", err)
	}
	// A local set may hold HMAC keys; they need a kid and a long secret.
	hmacKey := jwkMap{"kty": "oct", "kid": "h", "alg": HS256, "k": b64u.EncodeToString(fixtureKeys(t).HMAC)}
	if keys, err := ParseJWKS(setOf(hmacKey.json(t))); err != nil || keys[0].Public() != nil || keys[0].Alg() != HS256 {
		t.Fatalf("HMAC key: %v %v", keys, err)
	}
	for _, m := range []jwkMap{hmacKey.with("kid", nil), hmacKey.with("k", "c2hvcnQ")} {
		if _, err := ParseJWKS(setOf(m.json(t))); err == nil {
			t.Errorf("HMAC key %v accepted", m)
		}
	}
	if _, err := ParseJWKS(setOf(good[0], good[0])); err == nil || !strings.Contains(err.Error(), SkipDuplicateKID) {
		t.Errorf("duplicate kid: %v", err)
	}
	keys, skipped, err := ParseJWKSWith(setOf(good[0], bad.json), ParseOptions{})
	if err != nil || len(keys) != 1 || len(skipped) != 1 || skipped[0].KID != bad.kid {
		t.Errorf("ParseJWKSWith: %d keys, %v, %v", len(keys), skipped, err)
	}
	if k, err := ParseJWK([]byte(good[1])); err != nil || k.ID() != "good-ec" {
		t.Errorf("ParseJWK: %v %v", k, err)
	}
	for _, data := range []string{bad.json, good[1] + "x", `{"kty":"EC"`, rsaJWK("r", issKey(t, "rsa").Public().(*rsa.PublicKey)).with("alg", nil).json(t)} {
		if _, err := ParseJWK([]byte(data)); err == nil {
			t.Errorf("ParseJWK accepted %.40s", data)
		}
	}
	// A JWK without kid is named by its thumbprint.
	tp, _ := Thumbprint(issKey(t, "p256").Public())
	if k, err := ParseJWK([]byte(ecJWK("", issKey(t, "p256").Public().(*ecdsa.PublicKey)).with("kid", nil).json(t))); err != nil || k.ID() != tp {
		t.Errorf("kid-less JWK: %v %v", k, err)
	}
}
