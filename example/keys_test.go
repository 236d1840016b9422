package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeKeyPEM(t *testing.T, key crypto.Signer) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestKeyFlagEveryAlgorithm: -key is honoured for every algorithm of the
// contract, -alg PS256 selects RSA-PSS, and tokens signed with it verify.
func TestKeyFlagEveryAlgorithm(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	tests := []struct {
		key     crypto.Signer
		alg     string
		wantAlg string
	}{
		{rsaKey, "", "RS256"},
		{rsaKey, "PS256", "PS256"},
		{ecKey, "", "ES256"},
		{edKey, "", "EdDSA"},
	}
	for _, tt := range tests {
		t.Run(tt.wantAlg, func(t *testing.T) {
			args := []string{"-key", writeKeyPEM(t, tt.key)}
			if tt.alg != "" {
				args = append(args, "-alg", tt.alg)
			}
			ts := newTestServer(t, args...)
			tok := ts.login("alice", "alice-password")
			if hdr := decodeSegment(t, strings.Split(tok.access, ".")[0]); hdr["alg"] != tt.wantAlg {
				t.Fatalf("alg = %v, want %s", hdr["alg"], tt.wantAlg)
			}
			if res := ts.do("GET", "/api/me", tok.access, nil); res.status != 200 {
				t.Fatalf("/api/me: %d %s", res.status, res.raw)
			}
		})
	}
}

func TestKeyFlagErrors(t *testing.T) {
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	notPEM := filepath.Join(t.TempDir(), "junk")
	_ = os.WriteFile(notPEM, []byte("not a key"), 0o600)
	tests := []struct {
		name, path, alg, want string
	}{
		{"missing file", filepath.Join(t.TempDir(), "none.pem"), "", "-key"},
		{"not PEM", notPEM, "", "PKCS#8"},
		{"weak RSA", writeKeyPEM(t, weak), "", "too weak"},
		{"P-384", writeKeyPEM(t, p384), "", "P-256"},
		{"alg does not fit", writeKeyPEM(t, ecKey), "RS256", "RS256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"-key", tt.path}
			if tt.alg != "" {
				args = append(args, "-alg", tt.alg)
			}
			cfg, err := parseConfig(args, func(string) string { return "" }, nil)
			if err != nil {
				t.Fatal(err)
			}
			a, err := newApp(t.Context(), cfg, &syncBuffer{})
			if err == nil {
				a.Close()
				t.Fatal("newApp accepted the key")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}
