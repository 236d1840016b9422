package strictjson

import (
	"errors"
	"testing"
)

func TestParseProofClaims(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want ProofClaims
		err  error
	}{
		{"all", `{"htm":"GET","htu":"https://a/b","jti":"j","iat":1800000000,"ath":"x","nonce":"n","other":[1,{"a":2}]}`,
			ProofClaims{Htm: "GET", Htu: "https://a/b", Jti: "j", Ath: "x", Nonce: "n", HasAth: true, HasNonce: true, Iat: NumericDate{Sec: 1800000000, Set: true}}, nil},
		{"empty", `{}`, ProofClaims{}, nil},
		{"empty ath", `{"ath":""}`, ProofClaims{HasAth: true}, nil},
		{"escaped name collides", `{"htm":"GET","\u0068tm":"POST"}`, ProofClaims{}, ErrDuplicate},
		{"duplicate other", `{"x":1,"x":2}`, ProofClaims{}, ErrDuplicate},
		{"htm number", `{"htm":1}`, ProofClaims{}, ErrType},
		{"iat string", `{"iat":"1"}`, ProofClaims{}, ErrType},
		{"nonce null", `{"nonce":null}`, ProofClaims{}, ErrType},
		{"trailing", `{}x`, ProofClaims{}, ErrTrailing},
		{"bad utf8", "{\"jti\":\"\xff\"}", ProofClaims{}, ErrUTF8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c ProofClaims
			c.Jti = "stale" // ParseProofClaims starts from zero
			err := ParseProofClaims(tt.in, &c)
			if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if err == nil && c != tt.want {
				t.Fatalf("got %+v, want %+v", c, tt.want)
			}
		})
	}
}

func TestParseJWK(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		kty, x  string
		private string
		ops     int
		err     error
	}{
		{"ec", `{"kty":"EC","crv":"P-256","x":"AA","y":"BB","ext":true}`, "EC", "AA", "", 0, nil},
		{"key_ops", `{"kty":"EC","key_ops":["verify","sign"]}`, "EC", "", "", 2, nil},
		{"private d", `{"kty":"EC","x":"AA","d":"CC"}`, "EC", "AA", "d", 0, nil},
		{"private oth any type", `{"kty":"RSA","oth":[{"r":"1"}],"qi":"x"}`, "RSA", "", "oth", 0, nil},
		{"symmetric k", `{"kty":"oct","k":"AAAA"}`, "oct", "", "k", 0, nil},
		{"duplicate", `{"kty":"EC","kty":"RSA"}`, "", "", "", 0, ErrDuplicate},
		{"duplicate escaped", `{"x":"a","\u0078":"b"}`, "", "", "", 0, ErrDuplicate},
		{"x number", `{"x":1}`, "", "", "", 0, ErrType},
		{"key_ops string", `{"key_ops":"verify"}`, "", "", "", 0, ErrType},
		{"not object", `[]`, "", "", "", 0, ErrNotObject},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var k JWK
			err := ParseJWK(tt.in, &k)
			if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if err == nil && (k.Kty != tt.kty || k.X != tt.x || k.Private != tt.private || len(k.KeyOps) != tt.ops) {
				t.Fatalf("got %+v", k)
			}
		})
	}
}

func TestParseHeaderJWK(t *testing.T) {
	var h Header
	if err := ParseHeader(`{"typ":"dpop+jwt","alg":"ES256","jwk": {"kty":"EC","n":[1]} }`, &h); err != nil {
		t.Fatal(err)
	}
	if !h.HasJWK || h.JWK != `{"kty":"EC","n":[1]}` {
		t.Fatalf("jwk %q", h.JWK)
	}
	h = Header{}
	if err := ParseHeader(`{"alg":"ES256"}`, &h); err != nil || h.HasJWK || h.JWK != "" {
		t.Fatalf("no jwk: %v %+v", err, h)
	}
}

func TestParseProofClaimsAllocs(t *testing.T) {
	in := `{"htm":"GET","htu":"https://a/b","jti":"j","iat":1800000000,"ath":"x"}`
	var c ProofClaims
	if n := testing.AllocsPerRun(100, func() {
		if err := ParseProofClaims(in, &c); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("%v allocations, want 0", n)
	}
}
