package jose

import (
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/apiguard/apiguard/internal/strictjson"
)

// FuzzDiscoveryDocument feeds the metadata document parser arbitrary bytes:
// it must not panic, and a document it accepts must be strict JSON within
// the size cap, name the configured issuer exactly and give a jwks_uri that
// is absolute, https or on a loopback host, without userinfo or fragment.
// The invariants are checked here without the parser's own helpers.
func FuzzDiscoveryDocument(f *testing.F) {
	issuers := []string{"https://op.example.com/tenant1", "http://127.0.0.1:8080", "https://op.example.com"}
	for _, iss := range issuers {
		f.Add([]byte(discTestDoc(iss)), uint8(0))
	}
	for _, s := range []string{
		`{"issuer":"https://op.example.com/tenant1","jwks_uri":"http://localhost/k"}`,
		`{"issuer":"https://op.example.com/tenant1","jwks_uri":"http://[::1]:80/k"}`,
		`{"issuer":"https://op.example.com/tenant1","jwks_uri":"http://keys.example.com/k"}`,
		`{"issuer":"https://op.example.com/tenant1","jwks_uri":"https://u@keys.example.com/k#f"}`,
		`{"issuer":"https:\/\/op.example.com\/tenant1","jwks\u005furi":"https:\/\/k.example.com"}`,
		`{"issuer":"https://op.example.com/tenant1/","jwks_uri":"https://k.example.com"}`,
		`{"issuer":"https://op.example.com/tenant1","jwks_uri":"https://k.example.com","issuer":"x"}`,
		`{"issuer":"https://op.example.com/tenant1","jwks_uri":"//k.example.com","id_token_signing_alg_values_supported":["RS256",1]}`,
		`[] `, `{"issuer":"\ud800"}`, "{\"issuer\":\"\xff\"}",
	} {
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, doc []byte, pick uint8) {
		issuer := issuers[int(pick)%len(issuers)]
		const maxSize = 4 << 10
		md, err := discoveryParse(doc, issuer, maxSize)
		if err != nil {
			if md != nil {
				t.Fatalf("metadata %+v with error %v", md, err)
			}
			return
		}
		if len(doc) > maxSize || strictjson.Valid(string(doc)) != nil {
			t.Fatalf("accepted a document that is not strict JSON within %d bytes: %q", maxSize, doc)
		}
		if md.Issuer != issuer {
			t.Fatalf("accepted issuer %q for %q", md.Issuer, issuer)
		}
		u, err := url.Parse(md.JWKSURI)
		if err != nil {
			t.Fatalf("accepted jwks_uri %q: %v", md.JWKSURI, err)
		}
		host := u.Hostname()
		ip := net.ParseIP(host)
		loopback := strings.EqualFold(host, "localhost") || ip != nil && ip.IsLoopback()
		if !u.IsAbs() || host == "" || u.User != nil || strings.Contains(md.JWKSURI, "#") ||
			!(u.Scheme == "https" || u.Scheme == "http" && loopback) {
			t.Fatalf("accepted jwks_uri %q", md.JWKSURI)
		}
	})
}
