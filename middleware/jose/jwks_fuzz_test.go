package jose

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseJWKSKeyByKey: a remote JWKS is untrusted input. Parsing never
// panics; the document is split into exactly the keys and set-aside keys it
// holds; and every key accepted is public (in a public set), bound to one
// known algorithm that fits it, and strong enough.
func FuzzParseJWKSKeyByKey(f *testing.F) {
	f.Add([]byte(`{"keys":[]}`), false)
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","alg":"EdDSA","kid":"k"}]}`), false)
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`), false)
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","alg":"HS256","kid":"h"}]}`), true)
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","alg":"RS256"}]}`), false)
	f.Add([]byte(`{"keys":[1,"a",[],{"kid":"x","kid":"y","d":"AA"}],"\u006beys":[]}`), false)
	f.Add([]byte(`[`), false)
	for _, k := range append(goodKeys(f), func() (s []string) {
		for _, b := range badKeys(f) {
			s = append(s, b.json)
		}
		return s
	}()...) {
		f.Add(setOf(k), false)
	}
	if dir, ok := findIDPDir(); ok {
		files, _ := filepath.Glob(filepath.Join(dir, "*.jwks.json"))
		for _, name := range files {
			if b, err := os.ReadFile(name); err == nil {
				f.Add(b, false)
			}
		}
	}
	algs := []string{RS256, ES256, ES384, ES512, Ed25519, HS256}
	f.Fuzz(func(t *testing.T, data []byte, symmetric bool) {
		o, err := ParseOptions{Algorithms: algs, Symmetric: symmetric}.check("fuzz")
		if err != nil {
			t.Fatal(err)
		}
		keys, skipped, err := parseJWKS(data, o)
		if err != nil {
			if keys != nil || skipped != nil {
				t.Fatal("keys with a refused document")
			}
			return
		}
		raws, err := splitKeySet(data)
		if err != nil {
			t.Fatalf("parseJWKS accepted what splitKeySet refuses: %v", err)
		}
		if len(keys)+len(skipped) != len(raws) {
			t.Fatalf("%d keys + %d set aside from %d members", len(keys), len(skipped), len(raws))
		}
		aside := map[int]bool{}
		for _, s := range skipped {
			if s.Reason == "" || s.Index < 0 || s.Index >= len(raws) || aside[s.Index] {
				t.Fatalf("bad SkippedKey %+v", s)
			}
			aside[s.Index] = true
		}
		for i, raw := range raws {
			if aside[i] {
				continue
			}
			m, dup, ok := objectMembers(raw)
			if !ok || dup {
				t.Fatalf("member %d accepted though not a strict object", i)
			}
			for _, p := range privateMembers {
				if _, ok := m[p]; ok {
					t.Fatalf("member %d accepted with private member %q", i, p)
				}
			}
		}
		for _, k := range keys {
			checkKeyInvariants(t, k, symmetric)
		}
		ks, err := NewStaticKeys(keys...)
		if err != nil {
			t.Fatalf("NewStaticKeys refused parsed keys: %v", err)
		}
		for _, k := range keys {
			for _, alg := range signingAlgs {
				if got, err := ks.LookupKey(context.Background(), k.ID(), alg); (err == nil) != (alg == k.Alg()) || err == nil && got != k {
					t.Fatalf("key %q (%s) looked up as %s: %v", k.ID(), k.Alg(), alg, err)
				}
			}
		}
	})
}

// checkKeyInvariants fails t unless k is a usable verification key: a kid,
// one known algorithm, a key of the type and strength the algorithm needs,
// and no secret unless symmetric keys were allowed.
func checkKeyInvariants(t *testing.T, k *Key, symmetric bool) {
	t.Helper()
	if k.ID() == "" || !knownAlg(k.Alg()) {
		t.Fatalf("key %q with alg %q", k.ID(), k.Alg())
	}
	if k.secret != nil && (!symmetric || k.public != nil) {
		t.Fatalf("key %q: a secret from a public set", k.ID())
	}
	switch pub := k.Public().(type) {
	case *rsa.PublicKey:
		if algKeyType(k.Alg()) != "RSA" || pub.N.BitLen() < MinRSABits || pub.N.BitLen() > MaxRSABits || pub.E < 3 || pub.E%2 == 0 {
			t.Fatalf("key %q: RSA %d bits e %d for %s", k.ID(), pub.N.BitLen(), pub.E, k.Alg())
		}
	case *ecdsa.PublicKey:
		if algKeyType(k.Alg()) != "EC "+pub.Curve.Params().Name {
			t.Fatalf("key %q: %s for %s", k.ID(), pub.Curve.Params().Name, k.Alg())
		}
		if _, err := pub.ECDH(); err != nil {
			t.Fatalf("key %q: point off its curve: %v", k.ID(), err)
		}
	case ed25519.PublicKey:
		if algKeyType(k.Alg()) != "Ed25519" || len(pub) != ed25519.PublicKeySize {
			t.Fatalf("key %q: Ed25519 of %d bytes for %s", k.ID(), len(pub), k.Alg())
		}
	case nil:
		if h, ok := hmacHash(k.Alg()); !symmetric || !ok || len(k.secret) < h.Size() {
			t.Fatalf("key %q: secret of %d bytes for %s", k.ID(), len(k.secret), k.Alg())
		}
	default:
		t.Fatalf("key %q: %T", k.ID(), pub)
	}
}
