package token_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/apiguard/apiguard/middleware/jose"
	"github.com/apiguard/apiguard/middleware/token"
)

// An Issuer signs access tokens and publishes the keys that verify them.
func ExampleNewIssuer() {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)) // use a real key
	iss, err := token.NewIssuer(token.IssuerConfig{
		Issuer:   "https://auth.example",
		Audience: "api.example",
		Key:      key,
		KID:      "2026-11",
		Now:      func() time.Time { return time.Unix(1_800_000_000, 0) },
	})
	if err != nil {
		panic(err)
	}
	tok, meta, err := iss.Issue("alice", token.TokenOptions{Roles: []string{"user"}})
	if err != nil {
		panic(err)
	}
	header, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	fmt.Println("header:", string(header))
	fmt.Println("lifetime:", meta.Expiry.Sub(meta.IssuedAt))

	mux := http.NewServeMux()
	mux.Handle("GET /.well-known/jwks.json", iss.JWKSHandler())
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/jwks.json", nil))
	var set struct {
		Keys []struct{ Kid, Alg, Use, Kty string }
	}
	json.Unmarshal(rec.Body.Bytes(), &set)
	fmt.Println("cache:", rec.Header().Get("Cache-Control"))
	for _, k := range set.Keys {
		fmt.Println("key:", k.Kid, k.Alg, k.Use, k.Kty)
	}
	// Output:
	// header: {"alg":"EdDSA","kid":"2026-11","typ":"at+jwt"}
	// lifetime: 15m0s
	// cache: public, max-age=300
	// key: 2026-11 EdDSA sig OKP
}

// A server that issues its own tokens and also accepts those of another
// issuer's JWKS: the own keys first, so they never cost a remote fetch.
func ExampleIssuer_LookupKey() {
	other, _ := token.NewIssuer(token.IssuerConfig{
		Issuer: "https://idp.example", Audience: "api.example",
		Key: ed25519.NewKeyFromSeed(make([]byte, 32)), KID: "idp-1",
	})
	idp := httptest.NewServer(other.JWKSHandler()) // stands in for https://idp.example/jwks.json
	defer idp.Close()

	own, _ := token.NewIssuer(token.IssuerConfig{
		Issuer: "https://auth.example", Audience: "api.example",
		Key: ed25519.NewKeyFromSeed([]byte("an example seed, not a real key!")), KID: "own-1",
	})
	remote, err := jose.NewRemoteJWKS(context.Background(), jose.RemoteJWKSConfig{URL: idp.URL})
	if err != nil {
		panic(err)
	}
	defer remote.Close()
	keys := jose.MultiKeySource(own, remote)

	for _, kid := range []string{"own-1", "idp-1", "unknown"} {
		k, err := keys.LookupKey(context.Background(), kid, jose.EdDSA)
		if err != nil {
			fmt.Println(kid, "->", err)
			continue
		}
		fmt.Println(kid, "->", k.ID(), k.Alg())
	}
	// Output:
	// own-1 -> own-1 EdDSA
	// idp-1 -> idp-1 EdDSA
	// unknown -> apiguard: no matching key
}

// A DPoP-bound access token (RFC 9449 §6.1): cnf.jkt is the thumbprint of the
// key of the token request's verified proof (dpop.Proof.JKT), and a gate
// then accepts the token only with a proof signed by that key.
func ExampleIssuer_Issue_dpop() {
	iss, err := token.NewIssuer(token.IssuerConfig{
		Issuer:   "https://auth.example",
		Audience: "api.example",
		Key:      ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)), // use a real key
	})
	if err != nil {
		panic(err)
	}
	tok, _, err := iss.Issue("alice", token.TokenOptions{JKT: "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"})
	if err != nil {
		panic(err)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	var claims struct {
		Cnf map[string]string `json:"cnf"`
	}
	json.Unmarshal(payload, &claims)
	fmt.Println("cnf:", claims.Cnf)

	_, _, err = iss.Issue("alice", token.TokenOptions{JKT: "not-a-thumbprint"})
	fmt.Println(err)
	// Output:
	// cnf: map[jkt:NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs]
	// apiguard: Issue: TokenOptions.JKT "not-a-thumbprint" is not a SHA-256 thumbprint (43 characters of unpadded base64url)
}
