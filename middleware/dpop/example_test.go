package dpop_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/apiguard/apiguard/internal/dpoptest"
	"github.com/apiguard/apiguard/middleware/dpop"
	"github.com/apiguard/apiguard/middleware/jose"
)

// A resource server checks the proof that comes with a DPoP-bound access
// token; the token's cnf.jkt must then equal the proof's JKT. With a nonce
// secret, the first proof is answered use_dpop_nonce with the nonce to use.
func Example() {
	v, err := dpop.New(dpop.Config{NonceSecret: []byte(strings.Repeat("s", 32))})
	if err != nil {
		panic(err)
	}

	// The client's key, and the token issued to it (bound to the key).
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jkt, _ := jose.Thumbprint(key.Public())
	const token = "eyJ...the-access-token"

	call := func(nonce string) (*dpop.Proof, error) {
		var opts []dpoptest.Option
		if nonce != "" {
			opts = append(opts, dpoptest.Nonce(nonce))
		}
		p := dpoptest.NewProof(key, "ES256", "GET", "https://api.example/v1/me", append(opts, dpoptest.AccessToken(token))...)
		r := httptest.NewRequest("GET", "https://api.example/v1/me?page=2", nil)
		r.Header.Set("Authorization", "DPoP "+token)
		r.Header.Set("DPoP", p)
		return v.Verify(r, token)
	}

	_, err = call("")
	var e *dpop.Error
	if errors.As(err, &e) {
		fmt.Println(e.Status, e.Code, e.Reason, e.Nonce == v.Nonce())
	}
	proof, err := call(e.Nonce)
	if err != nil {
		panic(err)
	}
	fmt.Println(proof.Alg, proof.JKT == jkt)
	// Output:
	// 401 use_dpop_nonce dpop_nonce_missing true
	// ES256 true
}
