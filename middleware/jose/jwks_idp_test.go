package jose

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// idpDir returns shared/testdata/interop/idp, the JWK Sets real identity
// providers published, found beside the module root or one of its parents
// (the checkout, or the folder holding its worktrees); the test is skipped
// when there is none. The files are read in place, never copied.
func idpDir(t *testing.T) string {
	t.Helper()
	d, ok := findIDPDir()
	if !ok {
		t.Skip("shared/testdata/interop/idp is absent")
	}
	return d
}

func findIDPDir() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
	for {
		d := filepath.Join(dir, "..", "shared", "testdata", "interop", "idp")
		if _, err := os.Stat(filepath.Join(d, "SOURCES.md")); err == nil {
			return d, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// TestProviderSets reads the key sets real providers published, with the
// allowlist a gate for them would have (RS256 and ES256), and checks each
// yields its usable keys and sets the others aside for the right reason.
func TestProviderSets(t *testing.T) {
	dir := idpDir(t)
	gate := []string{RS256, ES256}
	for _, tt := range []struct {
		file   string
		opts   ParseOptions
		usable int
		aside  map[string]string // kid -> reason
		kids   []string          // some kids that must be usable
	}{
		{"google.jwks.json", ParseOptions{Algorithms: gate}, 2, nil, nil},
		{"google-dockyard.jwks.json", ParseOptions{Algorithms: gate}, 2, nil, nil},
		// Entra ID publishes no alg: each RSA key is bound to RS256.
		{"entra-id-v2-common.jwks.json", ParseOptions{Algorithms: gate}, 7, nil, []string{"Mc7l3Iz93g7uwgNeEmmw_WYGPko"}},
		{"entra-id-v2-dockyard.jwks.json", ParseOptions{Algorithms: gate}, 10, nil, nil},
		{"auth0.jwks.json", ParseOptions{Algorithms: gate}, 2, nil, nil},
		{"okta.jwks.json", ParseOptions{Algorithms: gate}, 2, nil, nil},
		// Keycloak's encryption key is set aside; its signing key serves.
		{"keycloak.jwks.json", ParseOptions{Algorithms: gate}, 1,
			map[string]string{"Q2O_f0Z7hVL1WUxKQbChyWK_FzQK-qRZh4Kg9mxxt_I": SkipUseNotSig}, []string{"nB0vgzwAcgJmjXwQZSzBMNkhoCaH4fvSwx5GC8Jq93c"}},
		{"onelogin.jwks.json", ParseOptions{Algorithms: gate}, 1, nil, []string{"JRcO4nxs5jgc8YdN7I2hLO4V_ql1bdoiMXmcYgHm4Hs"}},
		// Cognito's kids carry + / =.
		{"aws-cognito.jwks.json", ParseOptions{Algorithms: gate}, 2, nil, []string{"vyVQH7UMjwYboVvyFf+zd4KHZfgc+RtmU/A2vHhgITI="}},
		{"apple.jwks.json", ParseOptions{Algorithms: gate}, 3, nil, nil},
		// PayPal: RS256 and PS256 keys with alg, P-256 keys without (bound
		// to ES256), moduli with a leading zero octet, and an X25519 key.
		{"paypal.jwks.json", ParseOptions{Algorithms: gate}, 14,
			map[string]string{"753778214125442a472d4b6150645367": SkipUnsupportedCrv}, []string{"f16b4522a7c8ad2358df9a57a500851114d2e7d2", "10aba280c5c211ec9d640242ac120002"}},
		// Yahoo signs with ES256 next to three 1024-bit RSA keys.
		{"yahoo.jwks.json", ParseOptions{Algorithms: gate}, 1, map[string]string{
			"6ff94cdad11e7c3ac08dc9ec3c44844b87e364f7": SkipWeakKey, "0": SkipWeakKey, "4": SkipWeakKey,
		}, []string{"3466d51f7dd0c780565688c183921816c45889ad"}},
		// mojeID: one 4096-bit key without alg or use.
		{"mojeid.jwks.json", ParseOptions{Algorithms: gate}, 1, nil, []string{"Pt7HjUz1rqdn1ae1ezT-nO5Fwp6CwuJU5OVaXQJ3uPg"}},
	} {
		t.Run(strings.TrimSuffix(tt.file, ".jwks.json"), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			keys, skipped, err := ParseJWKSWith(data, tt.opts)
			if err != nil {
				t.Fatalf("ParseJWKSWith: %v", err)
			}
			if len(keys) != tt.usable {
				t.Errorf("%d usable keys, want %d (set aside: %v)", len(keys), tt.usable, skipped)
			}
			if len(skipped) != len(tt.aside) {
				t.Errorf("set aside %v, want %v", skipped, tt.aside)
			}
			for _, s := range skipped {
				if tt.aside[s.KID] != s.Reason || s.Threat {
					t.Errorf("set aside %v, want %v", s, tt.aside)
				}
			}
			byID := map[string]*Key{}
			for _, k := range keys {
				byID[k.ID()] = k
				if k.Alg() != RS256 && k.Alg() != ES256 && k.Alg() != PS256 {
					t.Errorf("key %q bound to %s", k.ID(), k.Alg())
				}
			}
			for _, kid := range tt.kids {
				if byID[kid] == nil {
					t.Errorf("key %q not usable", kid)
				}
			}
			if _, err := NewStaticKeys(keys...); err != nil {
				t.Error(err)
			}
		})
	}
	// Without the allowlist, the keys without alg cannot be bound; with two
	// RSA algorithms allowed they are ambiguous, until DefaultAlgs decides.
	t.Run("entra without allowlist", func(t *testing.T) {
		data, _ := os.ReadFile(filepath.Join(dir, "entra-id-v2-common.jwks.json"))
		_, skipped, err := ParseJWKSWith(data, ParseOptions{})
		if err == nil || len(skipped) != 7 || skipped[0].Reason != SkipNoAlg {
			t.Fatalf("err %v, skipped %v", err, skipped)
		}
		_, _, err = ParseJWKSWith(data, ParseOptions{Algorithms: []string{RS256, PS256}})
		if err == nil || !strings.Contains(err.Error(), `"Mc7l3Iz93g7uwgNeEmmw_WYGPko"`) {
			t.Fatalf("RS256 and PS256 allowed: %v, want an error naming the keys", err)
		}
		keys, _, err := ParseJWKSWith(data, ParseOptions{Algorithms: []string{RS256, PS256}, DefaultAlgs: []string{PS256}})
		if err != nil || len(keys) != 7 || keys[0].Alg() != PS256 {
			t.Fatalf("DefaultAlgs PS256: %d keys, %v", len(keys), err)
		}
	})
	// The old strict short form refuses Yahoo's set whole, as documented.
	t.Run("yahoo with ParseJWKS", func(t *testing.T) {
		data, _ := os.ReadFile(filepath.Join(dir, "yahoo.jwks.json"))
		if _, err := ParseJWKS(data); err == nil || !strings.Contains(err.Error(), SkipWeakKey) {
			t.Fatalf("ParseJWKS: %v", err)
		}
	})
}
