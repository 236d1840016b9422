package jose_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/apiguard/apiguard/internal/jwstest"
	"github.com/apiguard/apiguard/middleware"
	"github.com/apiguard/apiguard/middleware/jose"
)

// Through the gate: a remote set like Entra ID's (no alg) next to a weak
// key like Yahoo's serves its keys, bound to the gate's one RSA algorithm;
// and an Ed25519 key verifies only tokens whose header says Ed25519.
func TestGateWithKeyByKeySets(t *testing.T) {
	b64 := base64.RawURLEncoding
	rsaPriv := jwstest.Signer(t, "rsa").(*rsa.PrivateKey)
	edPriv := jwstest.Signer(t, "ed").(ed25519.PrivateKey)
	weak := `{"kty":"RSA","kid":"weak","alg":"RS256","n":"` + b64.EncodeToString(make([]byte, 127)) + `AQ","e":"AQAB"}`
	set := `{"keys":[` + weak + `,` +
		`{"kty":"RSA","kid":"entra","use":"sig","n":"` + b64.EncodeToString(rsaPriv.N.Bytes()) + `","e":"` + b64.EncodeToString(big.NewInt(int64(rsaPriv.E)).Bytes()) + `"},` +
		`{"kty":"OKP","crv":"Ed25519","kid":"ed","alg":"Ed25519","x":"` + b64.EncodeToString(edPriv.Public().(ed25519.PublicKey)) + `"}]}`
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(set)) }))
	defer idp.Close()
	algs := []string{jose.RS256, jose.ES256, jose.EdDSA, jose.Ed25519}
	var skipped []jose.SkippedKey
	remote, err := jose.NewRemoteJWKS(context.Background(), jose.RemoteJWKSConfig{URL: idp.URL, Algorithms: algs,
		OnSkippedKey: func(s jose.SkippedKey) { skipped = append(skipped, s) }})
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	if len(skipped) != 1 || skipped[0].KID != "weak" || skipped[0].Reason != jose.SkipWeakKey {
		t.Fatalf("skipped %v", skipped)
	}
	clock := jwstest.NewClock()
	// The gate allows PS256 too: the alg-less key is still RS256 only.
	g, err := middleware.New(middleware.Config{Keys: remote, Algorithms: append(algs, jose.PS256), Issuer: "https://idp.example", Audience: "api", Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	now := clock.Now().Unix()
	claims := `{"iss":"https://idp.example","sub":"u","aud":"api","iat":` + strconv.FormatInt(now, 10) + `,"exp":` + strconv.FormatInt(now+int64(time.Hour/time.Second), 10) + `}`
	edToken := func(alg string) string {
		input := b64.EncodeToString([]byte(`{"alg":"`+alg+`","kid":"ed","typ":"at+jwt"}`)) + "." + b64.EncodeToString([]byte(claims))
		return input + "." + b64.EncodeToString(ed25519.Sign(edPriv, []byte(input)))
	}
	for _, tt := range []struct {
		name, token string
		ok          bool
	}{
		{"alg-less RSA key as RS256", jwstest.SignJSON(t, "RS256", rsaPriv, `{"alg":"RS256","kid":"entra","typ":"at+jwt"}`, claims), true},
		{"alg-less RSA key as PS256", jwstest.SignJSON(t, "PS256", rsaPriv, `{"alg":"PS256","kid":"entra","typ":"at+jwt"}`, claims), false},
		{"Ed25519 key, header Ed25519", edToken(jose.Ed25519), true},
		{"Ed25519 key, header EdDSA", edToken(jose.EdDSA), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := g.Verify(context.Background(), tt.token)
			if (err == nil) != tt.ok {
				t.Fatalf("Verify: %v, want ok %v", err, tt.ok)
			}
			var e *middleware.Error
			if err != nil && (!errors.As(err, &e) || e.Reason != middleware.ReasonAlgMismatch) {
				t.Fatalf("refused for %v, want %s (one algorithm per key)", err, middleware.ReasonAlgMismatch)
			}
		})
	}
}
