package middleware_test

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/apiguard/apiguard/middleware"
)

// Two providers in one Authenticator, each with its own keys, audience and
// ready-made profile. With real providers, set Discovery: true instead of
// PEM and the keys are found from the issuer alone.
func Example_issuers() {
	auth0Key := ed25519.NewKeyFromSeed([]byte("auth0 example seed, not a key!!!"))
	cognitoKey := ed25519.NewKeyFromSeed([]byte("cognito example seed, not a key!"))
	const (
		auth0Iss   = "https://tenant.eu.auth0.com/"
		cognitoIss = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"
	)
	now := time.Unix(1_800_000_000, 0)
	a := middleware.MustNew(middleware.Config{
		Issuers: []middleware.TrustedIssuer{
			{Issuer: auth0Iss, Audience: "https://orders.example", PEM: publicPEM(auth0Key), Profile: middleware.ProfileAuth0()},
			{Issuer: cognitoIss, Audience: "4cgk1example", PEM: publicPEM(cognitoKey), Profile: middleware.ProfileCognito()},
		},
		Now: func() time.Time { return now },
	})
	defer a.Close()

	exp := fmt.Sprint(now.Add(time.Hour).Unix())
	tokens := []struct{ name, token string }{
		{"auth0", sign(auth0Key, `{"alg":"EdDSA","typ":"JWT"}`,
			`{"iss":"`+auth0Iss+`","sub":"auth0|42","aud":["https://orders.example","`+auth0Iss+`userinfo"],"exp":`+exp+
				`,"scope":"openid read:orders","permissions":["read:orders","refund:orders"]}`)},
		{"cognito", sign(cognitoKey, `{"alg":"EdDSA"}`,
			`{"iss":"`+cognitoIss+`","sub":"b1c2","client_id":"4cgk1example","token_use":"access","exp":`+exp+
				`,"scope":"orders/read","cognito:groups":["support"]}`)},
		// Auth0's claims, signed with Auth0's key, naming Cognito: verified
		// with Cognito's keys only, so refused.
		{"auth0 as cognito", sign(auth0Key, `{"alg":"EdDSA"}`,
			`{"iss":"`+cognitoIss+`","sub":"auth0|42","client_id":"4cgk1example","token_use":"access","exp":`+exp+`}`)},
		{"unknown issuer", sign(auth0Key, `{"alg":"EdDSA","typ":"JWT"}`,
			`{"iss":"https://evil.example/","sub":"x","aud":"https://orders.example","exp":`+exp+`}`)},
	}
	for _, tt := range tokens {
		c, err := a.Verify(context.Background(), tt.token)
		var e *middleware.Error
		if errors.As(err, &e) {
			fmt.Printf("%s: refused (%s)\n", tt.name, e.Reason)
			continue
		}
		fmt.Printf("%s: sub %s roles %q scopes %q\n", tt.name, c.Subject, c.Roles, c.Scopes)
	}
	// Output:
	// auth0: sub auth0|42 roles ["read:orders" "refund:orders"] scopes ["openid" "read:orders"]
	// cognito: sub b1c2 roles ["support"] scopes ["orders/read"]
	// auth0 as cognito: refused (bad_signature)
	// unknown issuer: refused (iss_unknown)
}

func publicPEM(k ed25519.PrivateKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func sign(k ed25519.PrivateKey, header, claims string) string {
	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(claims))
	return input + "." + enc.EncodeToString(ed25519.Sign(k, []byte(input)))
}
