package jose

import "testing"

// FuzzParseJWKS: a remote JWKS is untrusted input. Parsing never panics, and
// every key it yields is bound to one algorithm and usable by a KeySource.
func FuzzParseJWKS(f *testing.F) {
	f.Add([]byte(`{"keys":[]}`))
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","alg":"EdDSA","kid":"k"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","alg":"ES256"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"AAAA","alg":"HS256","kid":"h"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","alg":"RS256"}]}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, _ := ParseJWKSLenient(data)
		for _, k := range keys {
			if k.ID() == "" || k.Alg() == "" {
				t.Fatalf("key without kid or alg from %q", data)
			}
		}
		if len(keys) > 0 {
			// Duplicate kids make NewStaticKeys refuse the set; anything else
			// must build.
			if _, err := NewStaticKeys(keys...); err != nil {
				seen := map[string]bool{}
				dup := false
				for _, k := range keys {
					dup = dup || seen[k.ID()]
					seen[k.ID()] = true
				}
				if !dup {
					t.Fatalf("NewStaticKeys refused parsed keys: %v", err)
				}
			}
		}
	})
}
