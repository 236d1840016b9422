package fastverify

import (
	"crypto/ed25519"
	"crypto/fips140"
	"crypto/rand"
	"crypto/rsa"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/apiguard/apiguard/internal/jwa"
)

// fipsChildEnv marks the re-executed test binary of TestFIPSModeUsesStdlib.
const fipsChildEnv = "FASTVERIFY_FIPS_CHILD"

// verifyAll verifies a valid and a tampered signature with every verifier
// of the package, fails the test on a wrong answer, and returns how many
// times the precomputed path ran.
func verifyAll(t *testing.T) int {
	t.Helper()
	fastRuns := 0
	testHookFast = func() { fastRuns++ }
	defer func() { testHookFast = nil }()
	priv := testRSAKey(t, 2048, 65537)
	var dbuf [64]byte
	for _, h := range rsaHashes {
		d := jwa.Digest(h, []byte("header.payload"), &dbuf)
		pkcs, err := rsa.SignPKCS1v15(nil, priv, h, d)
		if err != nil {
			t.Fatal(err)
		}
		pss, err := rsa.SignPSS(rand.Reader, priv, h, d, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			pss bool
			sig []byte
		}{{false, pkcs}, {true, pss}} {
			v := newRSAVerifier(t, &priv.PublicKey, h, c.pss)
			bad := append([]byte(nil), c.sig...)
			bad[10] ^= 1
			if !v.Verify(d, c.sig) || v.Verify(d, bad) {
				t.Errorf("%s pss=%v: valid or tampered signature misjudged", h, c.pss)
			}
		}
	}
	pub, epriv, _ := ed25519.GenerateKey(nil)
	v, err := NewEd25519(pub)
	if err != nil {
		t.Fatal(err)
	}
	sig := ed25519.Sign(epriv, []byte("m"))
	bad := append([]byte(nil), sig...)
	bad[0] ^= 1
	if !v.Verify([]byte("m"), sig) || v.Verify([]byte("m"), bad) {
		t.Error("Ed25519: valid or tampered signature misjudged")
	}
	return fastRuns
}

// TestFIPSModeUsesStdlib proves that with GODEBUG=fips140=on every Verify
// goes to crypto/rsa or crypto/ed25519: the test binary re-runs this test
// in that mode, where the precomputed path must never run (and the answers
// must still be right); in this process it must run, so that the counter is
// known to count.
func TestFIPSModeUsesStdlib(t *testing.T) {
	if os.Getenv(fipsChildEnv) == "1" {
		if !fips140.Enabled() {
			t.Fatal("child: FIPS 140 mode is not on")
		}
		if n := verifyAll(t); n != 0 {
			t.Fatalf("child: the precomputed path ran %d times in FIPS 140 mode", n)
		}
		t.Log("fips140-child-ok")
		return
	}
	if fips140.Enabled() {
		t.Skip("already in FIPS 140 mode")
	}
	if n := verifyAll(t); n != 14 {
		t.Fatalf("the precomputed path ran %d times, want 14 (12 RSA, 2 Ed25519)", n)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFIPSModeUsesStdlib$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "GODEBUG=fips140=on", fipsChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "fips140-child-ok") {
		t.Fatalf("FIPS 140 child: %v\n%s", err, out)
	}
}
