package idptest_test

import (
	"crypto"
	"crypto/ecdh"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apiguard/apiguard/internal/idptest"
)

var b64u = base64.RawURLEncoding

type jwk map[string]any

func (k jwk) str(name string) string { s, _ := k[name].(string); return s }

func fetch(t *testing.T, url string) (int, http.Header, []byte) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return res.StatusCode, res.Header, body
}

func fetchJSON(t *testing.T, url string, v any) http.Header {
	t.Helper()
	code, h, body := fetch(t, url)
	if code != http.StatusOK {
		t.Fatalf("GET %s: status %d", url, code)
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("GET %s: Content-Type %q", url, ct)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return h
}

func fetchKeys(t *testing.T, url string) []jwk {
	t.Helper()
	var set struct{ Keys []jwk }
	fetchJSON(t, url, &set)
	return set.Keys
}

func rsaPublic(t *testing.T, k jwk) *rsa.PublicKey {
	t.Helper()
	n, err1 := b64u.DecodeString(k.str("n"))
	e, err2 := b64u.DecodeString(k.str("e"))
	if err1 != nil || err2 != nil {
		t.Fatalf("kid %q: n or e is not base64url", k.str("kid"))
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
}

func decodeSeg(t *testing.T, seg string) map[string]any {
	t.Helper()
	raw, err := b64u.DecodeString(seg)
	if err != nil {
		t.Fatalf("segment not base64url: %v", err)
	}
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("segment not a JSON object: %v", err)
	}
	return m
}

// verify checks token's RS256 signature with the published key its kid
// names, with the standard library only, and returns header and claims.
func verify(t *testing.T, token string, keys []jwk) (header, claims map[string]any, err error) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	header, claims = decodeSeg(t, parts[0]), decodeSeg(t, parts[1])
	if header["alg"] != "RS256" {
		t.Fatalf("alg %v", header["alg"])
	}
	kid, _ := header["kid"].(string)
	i := slices.IndexFunc(keys, func(k jwk) bool { return k.str("kid") == kid })
	if i < 0 {
		t.Fatalf("kid %q is not published", kid)
	}
	sig, err := b64u.DecodeString(parts[2])
	if err != nil {
		t.Fatalf("signature not base64url: %v", err)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	return header, claims, rsa.VerifyPKCS1v15(rsaPublic(t, keys[i]), crypto.SHA256, sum[:], sig)
}

func strs(t *testing.T, v any, what string) []string {
	t.Helper()
	a, ok := v.([]any)
	if !ok {
		t.Fatalf("%s: %T %v, want an array", what, v, v)
	}
	var out []string
	for _, e := range a {
		s, ok := e.(string)
		if !ok {
			t.Fatalf("%s: element %T", what, e)
		}
		out = append(out, s)
	}
	return out
}

func spki256(t *testing.T, k *rsa.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(der)
	return s[:]
}

var (
	uuidRE  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	b64u27  = regexp.MustCompile(`^[A-Za-z0-9_-]{27}$`)
	b64u43  = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
	nanoid  = regexp.MustCompile(`^[A-Za-z0-9_-]{21}$`)
	legacy  = regexp.MustCompile(`^[A-Za-z0-9_-]{54}$`)
	std44   = regexp.MustCompile(`^[A-Za-z0-9+/]{43}=$`)
	hex40   = regexp.MustCompile(`^[0-9a-f]{40}$`)
	spaced  = regexp.MustCompile(`^\S+( \S+)+$`)
	hostRel = regexp.MustCompile(`^http://127\.0\.0\.1:\d+`)
)

type shape struct {
	typ         string // header typ; "" means absent
	headerRE    string // the header's exact bytes
	sigKeys     int
	encAlgs     []string
	alg         bool // keys carry alg
	x5c, x5tS   bool // x5c (and x5t) published; x5t#S256 published
	issuerMem   bool // Entra's issuer member
	kid         func(t *testing.T, p *idptest.Provider, k jwk)
	issuer      func(p *idptest.Provider) string
	jwksPath    string // jwks_uri relative to the server
	discoCC     string
	jwksCC      string
	metadata    int
	headerX5t   bool
	claims      func(t *testing.T, p *idptest.Provider, c map[string]any)
	noClaims    []string
	maxTokenLen int
}

var shapes = map[string]shape{
	idptest.Entra: {
		headerRE: `^\{"typ":"JWT","alg":"RS256","x5t":"([A-Za-z0-9_-]{27})","kid":"([A-Za-z0-9_-]{27})"\}$`,
		typ:      "JWT", sigKeys: 3, x5c: true, issuerMem: true, headerX5t: true,
		kid:      func(t *testing.T, p *idptest.Provider, k jwk) { match(t, b64u27, k.str("kid")) },
		issuer:   func(p *idptest.Provider) string { return p.Server.URL + "/" + p.Tenant + "/v2.0" },
		jwksPath: "/{tenant}/discovery/v2.0/keys",
		discoCC:  "max-age=86400, private", jwksCC: "max-age=86400, private",
		claims: func(t *testing.T, p *idptest.Provider, c map[string]any) {
			eq(t, c["aud"], p.Audience)
			match(t, uuidRE, p.Audience)
			eq(t, c["ver"], "2.0")
			eq(t, c["tid"], p.Tenant)
			eq(t, c["azp"], p.ClientID)
			match(t, uuidRE, c["oid"].(string))
			match(t, spaced, c["scp"].(string))
			strs(t, c["roles"], "roles")
			if _, ok := c["nbf"]; !ok {
				t.Error("Entra tokens carry nbf")
			}
		},
		noClaims:    []string{"scope", "client_id", "typ"},
		maxTokenLen: 1700,
	},
	idptest.Auth0: {
		headerRE: `^\{"alg":"RS256","typ":"JWT","kid":"[A-Za-z0-9_-]+"\}$`,
		typ:      "JWT", sigKeys: 2, alg: true, x5c: true, metadata: 1,
		kid: func(t *testing.T, p *idptest.Provider, k jwk) {
			if !nanoid.MatchString(k.str("kid")) && !legacy.MatchString(k.str("kid")) {
				t.Errorf("kid %q: neither a nanoid nor a legacy thumbprint", k.str("kid"))
			}
		},
		issuer:   func(p *idptest.Provider) string { return p.Server.URL + "/" },
		jwksPath: "/.well-known/jwks.json",
		discoCC:  "public, max-age=15, stale-while-revalidate=15, stale-if-error=86400",
		jwksCC:   "public, max-age=15, stale-while-revalidate=15, stale-if-error=86400",
		claims: func(t *testing.T, p *idptest.Provider, c map[string]any) {
			aud := strs(t, c["aud"], "aud")
			if !slices.Equal(aud, []string{p.Audience, p.Issuer + "userinfo"}) {
				t.Errorf("aud %v", aud)
			}
			match(t, spaced, c["scope"].(string))
			strs(t, c["permissions"], "permissions")
			eq(t, c["azp"], p.ClientID)
			if !strings.HasPrefix(c["sub"].(string), "auth0|") {
				t.Errorf("sub %v", c["sub"])
			}
		},
		noClaims:    []string{"nbf", "scp", "client_id"},
		maxTokenLen: 1000,
	},
	idptest.Okta: {
		headerRE: `^\{"kid":"[A-Za-z0-9_-]{43}","alg":"RS256"\}$`,
		sigKeys:  2, alg: true, metadata: 1,
		kid:      func(t *testing.T, p *idptest.Provider, k jwk) { match(t, b64u43, k.str("kid")) },
		issuer:   func(p *idptest.Provider) string { return p.Server.URL + "/oauth2/default" },
		jwksPath: "/oauth2/default/v1/keys",
		discoCC:  "max-age=86400, must-revalidate", jwksCC: "max-age=86400, must-revalidate",
		claims: func(t *testing.T, p *idptest.Provider, c map[string]any) {
			eq(t, c["ver"], json.Number("1"))
			eq(t, c["aud"], "api://default")
			eq(t, c["cid"], p.ClientID)
			if !strings.HasPrefix(c["uid"].(string), "00u") || !strings.HasPrefix(p.ClientID, "0oa") {
				t.Errorf("uid %v cid %v", c["uid"], p.ClientID)
			}
			if !slices.Contains(strs(t, c["scp"], "scp"), "openid") {
				t.Errorf("scp %v", c["scp"])
			}
			if !strings.HasPrefix(c["jti"].(string), "AT.") {
				t.Errorf("jti %v", c["jti"])
			}
		},
		noClaims:    []string{"nbf", "scope", "azp", "client_id"},
		maxTokenLen: 1000,
	},
	idptest.Keycloak: {
		headerRE: `^\{"alg":"RS256","typ" : "JWT","kid" : "[A-Za-z0-9_-]{43}"\}$`,
		typ:      "JWT", sigKeys: 1, encAlgs: []string{"RSA-OAEP"}, alg: true, x5c: true, x5tS: true, metadata: 2,
		kid: func(t *testing.T, p *idptest.Provider, k jwk) {
			eq(t, k.str("kid"), b64u.EncodeToString(spki256(t, rsaPublic(t, k))))
		},
		issuer:   func(p *idptest.Provider) string { return p.Server.URL + "/realms/demo" },
		jwksPath: "/realms/demo/protocol/openid-connect/certs",
		discoCC:  "no-cache, must-revalidate, no-transform, no-store", jwksCC: "no-cache",
		claims: func(t *testing.T, p *idptest.Provider, c map[string]any) {
			eq(t, c["typ"], "Bearer")
			eq(t, c["azp"], p.ClientID)
			if !slices.Contains(strs(t, c["aud"], "aud"), p.Audience) {
				t.Errorf("aud %v", c["aud"])
			}
			match(t, spaced, c["scope"].(string))
			ra := c["realm_access"].(map[string]any)
			strs(t, ra["roles"], "realm_access.roles")
			rs := c["resource_access"].(map[string]any)[p.Audience].(map[string]any)
			strs(t, rs["roles"], "resource_access.<client>.roles")
		},
		noClaims:    []string{"nbf", "scp", "client_id"},
		maxTokenLen: 1800,
	},
	idptest.Cognito: {
		headerRE: `^\{"kid":"[A-Za-z0-9+/]{43}=","alg":"RS256"\}$`,
		sigKeys:  2, alg: true,
		kid: func(t *testing.T, p *idptest.Provider, k jwk) {
			match(t, std44, k.str("kid"))
			eq(t, k.str("kid"), base64.StdEncoding.EncodeToString(spki256(t, rsaPublic(t, k))))
		},
		issuer:   func(p *idptest.Provider) string { return p.Server.URL + "/us-east-1_AbCdEf123" },
		jwksPath: "/us-east-1_AbCdEf123/.well-known/jwks.json",
		claims: func(t *testing.T, p *idptest.Provider, c map[string]any) {
			eq(t, c["client_id"], p.Audience)
			eq(t, c["token_use"], "access")
			match(t, spaced, c["scope"].(string))
			strs(t, c["cognito:groups"], "cognito:groups")
			eq(t, c["username"], c["sub"])
		},
		noClaims:    []string{"aud", "nbf", "azp", "scp"},
		maxTokenLen: 1300,
	},
	idptest.Google: {
		headerRE: `^\{"alg":"RS256","kid":"[0-9a-f]{40}","typ":"JWT"\}$`,
		typ:      "JWT", sigKeys: 2, alg: true,
		kid:      func(t *testing.T, p *idptest.Provider, k jwk) { match(t, hex40, k.str("kid")) },
		issuer:   func(p *idptest.Provider) string { return p.Server.URL },
		jwksPath: "/oauth2/v3/certs",
		discoCC:  "public, max-age=3600", jwksCC: "public, max-age=21600, must-revalidate, no-transform",
		claims: func(t *testing.T, p *idptest.Provider, c map[string]any) {
			eq(t, c["aud"], p.ClientID)
			eq(t, c["aud"], p.Audience)
			eq(t, c["azp"], p.ClientID)
			eq(t, c["email_verified"], true)
			if !strings.HasSuffix(p.ClientID, ".apps.googleusercontent.com") {
				t.Errorf("client id %q", p.ClientID)
			}
		},
		noClaims:    []string{"nbf", "scope", "scp"},
		maxTokenLen: 1300,
	},
}

func eq(t *testing.T, got, want any) {
	t.Helper()
	if got != want {
		t.Errorf("got %v (%T), want %v (%T)", got, got, want, want)
	}
}

func match(t *testing.T, re *regexp.Regexp, s string) {
	t.Helper()
	if !re.MatchString(s) {
		t.Errorf("%q does not match %s", s, re)
	}
}

func TestProviders(t *testing.T) {
	t.Parallel()
	if len(shapes) != len(idptest.Names) {
		t.Fatalf("%d shapes for %d providers", len(shapes), len(idptest.Names))
	}
	for _, name := range idptest.Names {
		want := shapes[name]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := idptest.New(t, name)
			if p.Name != name {
				t.Errorf("Name %q", p.Name)
			}
			eq(t, p.Issuer, want.issuer(p))
			match(t, hostRel, p.Issuer)

			// Discovery: served at the issuer's well-known path, issuer equal.
			if p.DiscoveryURL != strings.TrimSuffix(p.Issuer, "/")+"/.well-known/openid-configuration" {
				t.Errorf("discovery at %s for issuer %s", p.DiscoveryURL, p.Issuer)
			}
			var disco map[string]any
			h := fetchJSON(t, p.DiscoveryURL, &disco)
			eq(t, disco["issuer"], p.Issuer)
			eq(t, disco["jwks_uri"], p.JWKSURI)
			eq(t, h.Get("Cache-Control"), want.discoCC)
			eq(t, p.Server.URL+strings.ReplaceAll(want.jwksPath, "{tenant}", p.Tenant), p.JWKSURI)
			if !slices.Contains(strs(t, disco["id_token_signing_alg_values_supported"], "algs"), "RS256") {
				t.Error("RS256 not among the signing algs")
			}

			// RFC 8414 metadata where the provider has it.
			eq(t, len(p.MetadataURLs), want.metadata)
			for _, u := range p.MetadataURLs {
				var meta map[string]any
				fetchJSON(t, u, &meta)
				eq(t, meta["issuer"], p.Issuer)
				eq(t, meta["jwks_uri"], p.JWKSURI)
			}

			// JWKS: the provider's member set and key kinds.
			code, h, body := fetch(t, p.JWKSURI)
			eq(t, code, http.StatusOK)
			eq(t, h.Get("Cache-Control"), want.jwksCC)
			if string(body) != string(p.JWKS()) {
				t.Error("served JWKS differs from JWKS()")
			}
			keys := fetchKeys(t, p.JWKSURI)
			eq(t, len(keys), want.sigKeys+len(want.encAlgs))
			eq(t, len(p.Kids()), len(keys))
			var encAlgs []string
			for _, k := range keys {
				checkKey(t, p, want, k)
				if k.str("use") == "enc" {
					encAlgs = append(encAlgs, k.str("alg"))
				}
			}
			if !slices.Equal(encAlgs, want.encAlgs) {
				t.Errorf("encryption keys %v, want %v", encAlgs, want.encAlgs)
			}

			// Access token: signature with the published key, header, claims.
			tok := p.AccessToken(t, nil)
			hdr, c, err := verify(t, tok, keys)
			if err != nil {
				t.Fatalf("signature: %v", err)
			}
			eq(t, hdr["kid"], p.SigningKid())
			typ, hasTyp := hdr["typ"]
			if want.typ == "" && hasTyp {
				t.Errorf("header typ %v, want none", typ)
			} else if want.typ != "" {
				eq(t, typ, want.typ)
			}
			if raw := mustB64(t, strings.Split(tok, ".")[0]); !regexp.MustCompile(want.headerRE).MatchString(raw) {
				t.Errorf("header bytes %s, want %s", raw, want.headerRE)
			}
			if _, has := hdr["x5t"]; has != want.headerX5t {
				t.Errorf("header x5t present: %v", has)
			}
			eq(t, c["iss"], p.Issuer)
			now := time.Now().Unix()
			exp, _ := c["exp"].(json.Number).Int64()
			iat, _ := c["iat"].(json.Number).Int64()
			if exp <= now || iat > now || iat < now-5 {
				t.Errorf("iat %d exp %d now %d", iat, exp, now)
			}
			want.claims(t, p, c)
			for _, n := range want.noClaims {
				if _, has := c[n]; has {
					t.Errorf("claim %q present: %v", n, c[n])
				}
			}
			if len(tok) > want.maxTokenLen {
				t.Errorf("token is %d bytes, shape says at most %d", len(tok), want.maxTokenLen)
			}
			t.Logf("%s: access token %d bytes, header %s", name, len(tok), mustB64(t, strings.Split(tok, ".")[0]))

			t.Run("id-token", func(t *testing.T) { checkIDToken(t, p, keys) })
			t.Run("rotate", func(t *testing.T) { checkRotateRemoveAndRequests(t, p) })
		})
	}
}

func mustB64(t *testing.T, s string) string {
	b, err := b64u.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func checkKey(t *testing.T, p *idptest.Provider, want shape, k jwk) {
	t.Helper()
	kid := k.str("kid")
	eq(t, k.str("kty"), "RSA")
	if pub := rsaPublic(t, k); pub.N.BitLen() != 2048 || pub.E != 65537 {
		t.Errorf("kid %q: RSA-%d e=%d", kid, pub.N.BitLen(), pub.E)
	}
	if _, has := k["alg"]; has != want.alg {
		t.Errorf("kid %q: alg present %v", kid, has)
	}
	if k.str("use") != "sig" && k.str("use") != "enc" {
		t.Errorf("kid %q: use %q", kid, k.str("use"))
	}
	for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
		if _, has := k[private]; has {
			t.Errorf("kid %q: private member %q", kid, private)
		}
	}
	want.kid(t, p, k)
	if _, has := k["issuer"]; has != want.issuerMem {
		t.Errorf("kid %q: issuer member present %v", kid, has)
	} else if has {
		eq(t, k.str("issuer"), p.Server.URL+"/{tenantid}/v2.0")
	}
	_, hasX5c := k["x5c"]
	_, hasX5t := k["x5t"]
	_, hasS256 := k["x5t#S256"]
	if hasX5c != want.x5c || hasX5t != want.x5c || hasS256 != want.x5tS {
		t.Fatalf("kid %q: x5c %v x5t %v x5t#S256 %v", kid, hasX5c, hasX5t, hasS256)
	}
	if !hasX5c {
		return
	}
	chain := strs(t, k["x5c"], "x5c")
	eq(t, len(chain), 1)
	der, err := base64.StdEncoding.DecodeString(chain[0])
	if err != nil {
		t.Fatalf("kid %q: x5c not standard base64: %v", kid, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("kid %q: x5c: %v", kid, err)
	}
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		t.Errorf("kid %q: certificate not self-signed: %v", kid, err)
	}
	if !rsaPublic(t, k).Equal(cert.PublicKey) {
		t.Errorf("kid %q: certificate key differs from n, e", kid)
	}
	s1 := sha1.Sum(der)
	x5t := b64u.EncodeToString(s1[:])
	if p.Name == idptest.Auth0 && legacy.MatchString(kid) {
		// legacy Auth0: kid = x5t = base64url(upper-case hex SHA-1)
		x5t = b64u.EncodeToString([]byte(strings.ToUpper(hex.EncodeToString(s1[:]))))
		eq(t, kid, x5t)
	}
	eq(t, k.str("x5t"), x5t)
	if p.Name == idptest.Entra {
		eq(t, kid, x5t)
	}
	if want.x5tS {
		s2 := sha256.Sum256(der)
		eq(t, k.str("x5t#S256"), b64u.EncodeToString(s2[:]))
	}
}

func TestOktaMetadataIsAppendedNotInserted(t *testing.T) {
	t.Parallel()
	p := idptest.New(t, idptest.Okta)
	code, _, _ := fetch(t, p.Server.URL+"/.well-known/oauth-authorization-server/oauth2/default")
	eq(t, code, http.StatusNotFound)
}

// checkRotateRemoveAndRequests: Rotate publishes a new key of the
// provider's kind beside the old, RemoveKey unpublishes, and the counters
// count every request.
func checkRotateRemoveAndRequests(t *testing.T, p *idptest.Provider) {
	name := p.Name
	r0, j0 := p.Requests(), p.JWKSRequests()
	old := p.SigningKid()
	before := len(fetchKeys(t, p.JWKSURI))
	kid := p.Rotate(t)
	if kid == old || slices.Contains(p.Kids()[:before], kid) {
		t.Fatalf("Rotate returned %q (old %q)", kid, old)
	}
	eq(t, p.SigningKid(), kid)
	eq(t, p.IDSigningKid(), kid)
	keys := fetchKeys(t, p.JWKSURI)
	eq(t, len(keys), before+1)
	if !slices.Contains(p.Kids(), old) {
		t.Error("old key unpublished by Rotate")
	}
	for _, k := range keys {
		shapes[name].kid(t, p, k)
	}
	hdr, _, err := verify(t, p.AccessToken(t, nil), keys)
	if err != nil || hdr["kid"] != kid {
		t.Errorf("after rotation: kid %v, err %v", hdr["kid"], err)
	}
	hdr, _, err = verify(t, p.IDToken(t, nil), keys)
	if err != nil || hdr["kid"] != kid {
		t.Errorf("ID token after rotation: kid %v, err %v", hdr["kid"], err)
	}
	if p.RemoveKey(kid) {
		t.Error("removed the signing key")
	}
	if !p.RemoveKey(old) || p.RemoveKey(old) {
		t.Error("RemoveKey(old) should succeed once")
	}
	eq(t, len(fetchKeys(t, p.JWKSURI)), before)
	eq(t, p.Requests()-r0, 3)
	eq(t, p.JWKSRequests()-j0, 3)
	fetch(t, p.DiscoveryURL)
	fetch(t, p.Server.URL+"/nowhere")
	eq(t, p.Requests()-r0, 5)
	eq(t, p.JWKSRequests()-j0, 3)
}

func TestForeignToken(t *testing.T) {
	t.Parallel()
	p := idptest.New(t, idptest.Keycloak)
	keys := fetchKeys(t, p.JWKSURI)
	hdr, _, err := verify(t, p.ForeignToken(t, nil), keys)
	eq(t, hdr["kid"], p.SigningKid())
	if err == nil {
		t.Fatal("a token signed by a foreign key verified")
	}
}

func TestOverrides(t *testing.T) {
	t.Parallel()
	p := idptest.New(t, idptest.Cognito)
	keys := fetchKeys(t, p.JWKSURI)
	past := time.Now().Add(-time.Hour).Unix()
	_, c, err := verify(t, p.AccessToken(t, map[string]any{"exp": past, "username": nil, "aud": "x"}), keys)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, c["exp"], json.Number(big.NewInt(past).String()))
	if _, has := c["username"]; has {
		t.Error("nil did not delete username")
	}
	eq(t, c["aud"], "x")
	if _, has := p.DefaultClaims()["token_use"]; !has {
		t.Error("DefaultClaims lacks token_use")
	}

	hdr, _, err := verify(t, p.AccessTokenWithHeader(t, map[string]any{"typ": "at+jwt", "crit": []string{"exp"}}, nil), keys)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, hdr["typ"], "at+jwt")
	if _, has := hdr["crit"]; !has {
		t.Error("crit not added")
	}

	kc := idptest.New(t, idptest.Keycloak, idptest.WithAccessTokenTyp("at+jwt"))
	raw := mustB64(t, strings.Split(kc.AccessToken(t, nil), ".")[0])
	eq(t, raw, `{"alg":"RS256","typ" : "at+jwt","kid" : "`+kc.SigningKid()+`"}`)

	a := idptest.New(t, idptest.Auth0, idptest.WithAccessTokenTyp("at+jwt"), idptest.WithCacheControl("", "max-age=60"))
	hdr, _, err = verify(t, a.AccessToken(t, nil), fetchKeys(t, a.JWKSURI))
	if err != nil {
		t.Fatal(err)
	}
	eq(t, hdr["typ"], "at+jwt")
	_, h, _ := fetch(t, a.DiscoveryURL)
	if _, has := h["Cache-Control"]; has {
		t.Error("empty Cache-Control still sent")
	}
	_, h, _ = fetch(t, a.JWKSURI)
	eq(t, h.Get("Cache-Control"), "max-age=60")
	a.SetCacheControl("public, max-age=1", "public, max-age=2")
	_, h, _ = fetch(t, a.JWKSURI)
	eq(t, h.Get("Cache-Control"), "public, max-age=2")
}

func TestSetDown(t *testing.T) {
	t.Parallel()
	p := idptest.New(t, idptest.Okta)
	p.SetDown(true)
	for _, u := range append([]string{p.DiscoveryURL, p.JWKSURI}, p.MetadataURLs...) {
		if code, _, _ := fetch(t, u); code != http.StatusServiceUnavailable {
			t.Errorf("down: %s answered %d", u, code)
		}
	}
	p.SetDown(false)
	if code, _, _ := fetch(t, p.JWKSURI); code != http.StatusOK {
		t.Errorf("up again: %d", code)
	}
	eq(t, p.Requests(), 4)
}

func TestBadKeys(t *testing.T) {
	t.Parallel()
	p := idptest.New(t, idptest.Google)
	good := p.Kids()
	bad := p.AddBadKeys(t)
	keys := fetchKeys(t, p.JWKSURI)
	eq(t, len(keys), len(good)+len(bad))
	seen := map[string]bool{}
	for _, k := range good {
		seen[k] = true
	}
	byKid := map[string]jwk{}
	for _, k := range keys {
		byKid[k.str("kid")] = k
	}
	threats := 0
	for _, b := range bad {
		if seen[b.Kid] {
			t.Fatalf("kid %q repeated", b.Kid)
		}
		seen[b.Kid] = true
		var k jwk
		if err := json.Unmarshal(b.JSON, &k); err != nil {
			t.Fatalf("%s: %v", b.Kid, err)
		}
		eq(t, k.str("kid"), b.Kid)
		if _, ok := byKid[b.Kid]; !ok {
			t.Errorf("%s not published", b.Kid)
		}
		if b.Threat {
			threats++
		}
		switch b.Reason {
		case idptest.ReasonWeakRSA:
			eq(t, rsaPublic(t, k).N.BitLen(), 1024)
		case idptest.ReasonRSAExponent1:
			eq(t, rsaPublic(t, k).E, 1)
			eq(t, rsaPublic(t, k).N.BitLen(), 2048)
		case idptest.ReasonOffCurve:
			x, _ := b64u.DecodeString(k.str("x"))
			y, _ := b64u.DecodeString(k.str("y"))
			eq(t, len(x), 32)
			eq(t, len(y), 32)
			if _, err := ecdh.P256().NewPublicKey(append(append([]byte{4}, x...), y...)); err == nil {
				t.Error("point is on P-256")
			}
		case idptest.ReasonUnknownKty:
			eq(t, k.str("kty"), "AKP")
			eq(t, k.str("alg"), "ML-DSA-44")
			pub, _ := b64u.DecodeString(k.str("pub"))
			eq(t, len(pub), 1312)
		case idptest.ReasonUseEnc:
			eq(t, k.str("use"), "enc")
		case idptest.ReasonKeyOpsEncrypt:
			eq(t, strings.Join(strs(t, k["key_ops"], "key_ops"), ","), "encrypt")
			if _, has := k["use"]; has {
				t.Error("key_ops key also has use")
			}
		case idptest.ReasonPrivate:
			for _, m := range []string{"d", "p", "q", "dp", "dq", "qi"} {
				if k.str(m) == "" {
					t.Errorf("private member %q missing", m)
				}
			}
		case idptest.ReasonSymmetric:
			eq(t, k.str("kty"), "oct")
		default:
			t.Errorf("%s: reason %q untested", b.Kid, b.Reason)
		}
	}
	eq(t, len(bad), 8)
	eq(t, threats, 1)
	// The provider's own keys still sign verifiable tokens next to them.
	if _, _, err := verify(t, p.AccessToken(t, nil), keys); err != nil {
		t.Error(err)
	}
}

func TestJWKSBodyAndTLS(t *testing.T) {
	t.Parallel()
	p := idptest.New(t, idptest.Entra, idptest.WithTLS())
	if !strings.HasPrefix(p.Issuer, "https://127.0.0.1:") {
		t.Fatalf("issuer %s", p.Issuer)
	}
	get := func() (int, string) {
		res, err := p.Server.Client().Get(p.JWKSURI)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	p.AddKeyJSON(json.RawMessage(`"not a key object"`))
	if code, body := get(); code != http.StatusOK || !strings.HasSuffix(body, `"not a key object"]}`) {
		t.Errorf("%d %s", code, body)
	}
	p.SetJWKSBody([]byte(`{"keys":[`))
	if _, body := get(); body != `{"keys":[` {
		t.Errorf("body %q", body)
	}
	p.SetJWKSBody([]byte{})
	if code, body := get(); code != http.StatusOK || body != "" {
		t.Errorf("empty body: %d %q", code, body)
	}
	p.SetJWKSBody(nil)
	if _, body := get(); !json.Valid([]byte(body)) {
		t.Errorf("body %q", body)
	}
	defer func() {
		if recover() == nil {
			t.Error("AddKeyJSON took invalid JSON")
		}
	}()
	p.AddKeyJSON(json.RawMessage(`{"kty":`))
}

func TestEntraCommon(t *testing.T) {
	t.Parallel()
	p := idptest.New(t, idptest.EntraCommon)
	eq(t, p.Tenant, "common")
	eq(t, p.Issuer, p.Server.URL+"/{tenantid}/v2.0")
	eq(t, p.DiscoveryURL, p.Server.URL+"/common/v2.0/.well-known/openid-configuration")
	var disco map[string]any
	fetchJSON(t, p.DiscoveryURL, &disco)
	eq(t, disco["issuer"], p.Issuer)
	eq(t, disco["jwks_uri"], p.Server.URL+"/common/discovery/v2.0/keys")
	eq(t, disco["token_endpoint"], p.Server.URL+"/common/oauth2/v2.0/token")
	if v, has := disco["tenant_region_scope"]; !has || v != nil {
		t.Errorf("tenant_region_scope %v (present %v), want null", v, has)
	}
	keys := fetchKeys(t, p.JWKSURI)
	eq(t, len(keys), 5)
	issuers := map[string]int{}
	for _, k := range keys {
		checkKey(t, p, shape{x5c: true, issuerMem: false, kid: shapes[idptest.Entra].kid}, jwk(without(k, "issuer")))
		issuers[k.str("issuer")]++
	}
	eq(t, issuers[p.Server.URL+"/{tenantid}/v2.0"], 3)
	eq(t, issuers[p.Server.URL+"/"+idptest.MSATenant+"/v2.0"], 2)

	_, c, err := verify(t, p.AccessToken(t, nil), keys)
	if err != nil {
		t.Fatal(err)
	}
	tid := c["tid"].(string)
	match(t, uuidRE, tid)
	eq(t, c["iss"], p.Server.URL+"/"+tid+"/v2.0")
	_, c, err = verify(t, p.AccessToken(t, map[string]any{"tid": idptest.MSATenant}), keys)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, c["iss"], p.Server.URL+"/"+idptest.MSATenant+"/v2.0")
	_, c, _ = verify(t, p.AccessToken(t, map[string]any{"tid": idptest.MSATenant, "iss": "https://evil/v2.0"}), keys)
	eq(t, c["iss"], "https://evil/v2.0")
}

func without(k jwk, name string) map[string]any {
	out := map[string]any{}
	for n, v := range k {
		if n != name {
			out[n] = v
		}
	}
	return out
}

// checkIDToken: an ID token of the provider's shape, aud the client.
func checkIDToken(t *testing.T, p *idptest.Provider, keys []jwk) {
	name := p.Name
	tok := p.IDToken(t, nil)
	hdr, c, err := verify(t, tok, keys)
	if err != nil {
		t.Fatal(err)
	}
	if raw := mustB64(t, strings.Split(tok, ".")[0]); !regexp.MustCompile(shapes[name].headerRE).MatchString(raw) {
		t.Errorf("header bytes %s", raw)
	}
	eq(t, hdr["kid"], p.IDSigningKid())
	eq(t, c["aud"], p.ClientID)
	eq(t, c["iss"], p.Issuer)
	for _, n := range []string{"scp", "scope", "roles", "permissions", "cid", "client_id"} {
		if _, has := c[n]; has {
			t.Errorf("ID token carries %q", n)
		}
	}
	switch name {
	case idptest.Cognito:
		eq(t, c["token_use"], "id")
		if p.IDSigningKid() == p.SigningKid() {
			t.Error("Cognito signs ID and access tokens with one key")
		}
	case idptest.Keycloak:
		eq(t, c["typ"], "ID")
	case idptest.Google:
		eq(t, c["aud"], p.Audience)
	default:
		if c["aud"] == p.Audience {
			t.Errorf("ID token aud is the API audience %v", p.Audience)
		}
	}
}
