package jose_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net/http/httptest"

	"github.com/apiguard/apiguard/middleware/jose"
)

// A JWK Set is parsed key by key; each key keeps its one algorithm.
func ExampleParseJWKS() {
	keys, err := jose.ParseJWKS([]byte(`{"keys":[
		{"kty":"OKP","crv":"Ed25519","kid":"2026-11","alg":"EdDSA","use":"sig","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
	]}`))
	if err != nil {
		panic(err)
	}
	for _, k := range keys {
		fmt.Println(k.ID(), k.Alg())
	}
	set, _ := jose.NewStaticKeys(keys...)
	_, err = set.LookupKey(context.Background(), "2026-11", jose.RS256)
	fmt.Println("same kid, other alg:", err)
	// Output:
	// 2026-11 EdDSA
	// same kid, other alg: apiguard: no matching key
}

// ParseJWKSWith reads a set key by key: a key without alg is bound to the one
// allowed algorithm that fits it, and unusable keys are set aside with their
// kid and reason instead of failing the set.
func ExampleParseJWKSWith() {
	keys, skipped, err := jose.ParseJWKSWith([]byte(`{"keys":[
		{"kty":"EC","crv":"P-256","kid":"no-alg","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
		{"kty":"OKP","crv":"Ed25519","kid":"ed","alg":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
		{"kty":"RSA","kid":"enc","use":"enc","alg":"RSA-OAEP","n":"AQAB","e":"AQAB"},
		{"kty":"EC","crv":"P-256","kid":"leaked","d":"AA","x":"AA","y":"AA"}
	]}`), jose.ParseOptions{Algorithms: []string{jose.RS256, jose.ES256, jose.Ed25519}})
	if err != nil {
		panic(err)
	}
	for _, k := range keys {
		fmt.Println(k.ID(), k.Alg())
	}
	for _, s := range skipped {
		fmt.Printf("set aside: %q %s threat=%v\n", s.KID, s.Reason, s.Threat)
	}
	// Output:
	// no-alg ES256
	// ed Ed25519
	// set aside: "enc" use_not_sig threat=false
	// set aside: "leaked" private_member threat=true
}

// A RemoteJWKS fetches a provider's set once at start and answers lookups
// from memory; NewJWKSHandler serves such a set.
func ExampleNewRemoteJWKS() {
	pub := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public() // use a real key
	key, err := jose.NewKey("idp-1", jose.EdDSA, pub)
	if err != nil {
		panic(err)
	}
	h, err := jose.NewJWKSHandler(publicKeys{key}, 0)
	if err != nil {
		panic(err)
	}
	idp := httptest.NewServer(h) // stands in for https://idp.example/jwks.json
	defer idp.Close()

	remote, err := jose.NewRemoteJWKS(context.Background(), jose.RemoteJWKSConfig{URL: idp.URL})
	if err != nil {
		panic(err)
	}
	defer remote.Close()
	k, err := remote.LookupKey(context.Background(), "idp-1", jose.EdDSA)
	fmt.Println(k.ID(), k.Alg(), err, remote.Ready())
	// Output:
	// idp-1 EdDSA <nil> true
}

// A key without a kid is named by its RFC 7638 thumbprint.
func ExampleThumbprint() {
	pub := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public()
	tp, err := jose.Thumbprint(pub)
	if err != nil {
		panic(err)
	}
	k, _ := jose.NewKey("", jose.EdDSA, pub)
	fmt.Println(tp, k.ID() == tp)
	// Output:
	// 9ZP03Nu8GrXPAUkbKNxHOKBzxPX83SShgFkRNK-f2lw true
}

// publicKeys is a fixed jose.PublicKeySet.
type publicKeys []*jose.Key

func (l publicKeys) PublicKeys() []*jose.Key { return l }
