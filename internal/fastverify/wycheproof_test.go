package fastverify

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apiguard/apiguard/internal/jwa"
)

// wycheproofDir returns shared/testdata/wycheproof, found beside the module
// root or one of its parents (the checkout, or the folder holding its
// worktrees); the test is skipped when there is none. The files are read in
// place, never copied.
func wycheproofDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		d := filepath.Join(dir, "..", "shared", "testdata", "wycheproof")
		if _, err := os.Stat(filepath.Join(d, "SOURCE.md")); err == nil {
			return d
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("shared/testdata/wycheproof is absent")
		}
		dir = parent
	}
}

type wpFile struct {
	TestGroups []struct {
		Sha       string `json:"sha"`
		Mgf       string `json:"mgf"`
		MgfSha    string `json:"mgfSha"`
		SLen      *int   `json:"sLen"`
		PublicKey struct {
			Modulus        string `json:"modulus"`
			PublicExponent string `json:"publicExponent"`
			PK             string `json:"pk"`
		} `json:"publicKey"`
		Tests []struct {
			TcID    int      `json:"tcId"`
			Comment string   `json:"comment"`
			Msg     string   `json:"msg"`
			Sig     string   `json:"sig"`
			Result  string   `json:"result"`
			Flags   []string `json:"flags"`
		} `json:"tests"`
	} `json:"testGroups"`
}

func wpHash(name string) crypto.Hash {
	return map[string]crypto.Hash{"SHA-256": crypto.SHA256, "SHA-384": crypto.SHA384, "SHA-512": crypto.SHA512}[name]
}

// TestWycheproof runs every vector of the RSASSA-PKCS1-v1_5, RSASSA-PSS and
// Ed25519 files through both implementations: they must agree on every
// vector, accept every valid one and refuse every invalid one. Acceptable
// vectors are listed with what both did. PSS groups whose parameters are
// not JWA's (salt = hash length, MGF1 with the same hash) are skipped and
// counted.
func TestWycheproof(t *testing.T) {
	dir := wycheproofDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, path := range files {
		name := filepath.Base(path)
		kind := ""
		switch {
		case strings.HasPrefix(name, "rsa_signature_"):
			kind = "pkcs1"
		case strings.HasPrefix(name, "rsa_pss_"):
			kind = "pss"
		case name == "ed25519_test.json":
			kind = "ed25519"
		default:
			continue // ECDSA: crypto/ecdsa verifies ES*, unchanged
		}
		ran++
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var f wpFile
			if err := json.Unmarshal(data, &f); err != nil {
				t.Fatal(err)
			}
			var valid, invalid, skipped int
			var acceptable []string
			for _, g := range f.TestGroups {
				var verify func(msg, sig []byte) (fast, std bool)
				switch kind {
				case "pkcs1", "pss":
					h := wpHash(g.Sha)
					if h == 0 {
						t.Fatalf("unknown hash %q", g.Sha)
					}
					pss := kind == "pss"
					if pss && (g.Mgf != "MGF1" || g.MgfSha != g.Sha || g.SLen == nil || *g.SLen != h.Size()) {
						skipped += len(g.Tests)
						continue
					}
					nb, _ := hex.DecodeString(g.PublicKey.Modulus)
					eb, _ := hex.DecodeString(g.PublicKey.PublicExponent)
					pub := &rsa.PublicKey{N: new(big.Int).SetBytes(nb), E: int(new(big.Int).SetBytes(eb).Int64())}
					v := newRSAVerifier(t, pub, h, pss)
					std := stdVerifier(pub, h, pss)
					verify = func(msg, sig []byte) (bool, bool) {
						var dbuf [64]byte
						d := jwa.Digest(h, msg, &dbuf)
						return v.Verify(d, sig), std(d, sig)
					}
				case "ed25519":
					pk, _ := hex.DecodeString(g.PublicKey.PK)
					v, err := NewEd25519(pk)
					if err != nil {
						t.Fatal(err)
					}
					verify = func(msg, sig []byte) (bool, bool) { return v.Verify(msg, sig), ed25519.Verify(pk, msg, sig) }
				}
				for _, tc := range g.Tests {
					msg, err1 := hex.DecodeString(tc.Msg)
					sig, err2 := hex.DecodeString(tc.Sig)
					if err1 != nil || err2 != nil {
						t.Fatalf("tcId %d: bad hex", tc.TcID)
					}
					fast, std := verify(msg, sig)
					if fast != std {
						t.Errorf("tcId %d (%s %v): fastverify %v, crypto/* %v", tc.TcID, tc.Comment, tc.Flags, fast, std)
					}
					switch tc.Result {
					case "valid":
						if !fast {
							t.Errorf("tcId %d (%s): valid vector refused", tc.TcID, tc.Comment)
						}
						valid++
					case "invalid":
						if fast {
							t.Errorf("tcId %d (%s %v): invalid vector accepted", tc.TcID, tc.Comment, tc.Flags)
						}
						invalid++
					default:
						acceptable = append(acceptable, formatAcceptable(tc.TcID, tc.Flags, fast, std))
					}
				}
			}
			t.Logf("%s: %d valid accepted, %d invalid refused, %d acceptable %v, %d skipped (not JWA parameters)",
				name, valid, invalid, len(acceptable), acceptable, skipped)
		})
	}
	if ran == 0 {
		t.Fatal("no RSA or Ed25519 vector file found")
	}
}

func formatAcceptable(id int, flags []string, fast, std bool) string {
	verdict := func(ok bool) string {
		if ok {
			return "accepted"
		}
		return "refused"
	}
	return "tcId " + strconv.Itoa(id) + " " + strings.Join(flags, ",") + ": fastverify " + verdict(fast) + ", crypto/* " + verdict(std)
}
