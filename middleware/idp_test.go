package middleware

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apiguard/apiguard/internal/idptest"
)

// idpCase is one provider: its ready-made profile and a role and a scope its
// default access token carries ("" where it carries none).
type idpCase struct {
	name        string
	profile     func(p *idptest.Provider) *Profile
	role, scope string
}

var idpCases = []idpCase{
	{idptest.Entra, func(*idptest.Provider) *Profile { return ProfileEntraID() }, "Tasks.Admin", "Tasks.Write"},
	{idptest.Auth0, func(*idptest.Provider) *Profile { return ProfileAuth0() }, "write:tasks", "read:tasks"},
	{idptest.Okta, func(*idptest.Provider) *Profile { return ProfileOkta() }, "", "tasks:read"},
	{idptest.Keycloak, func(p *idptest.Provider) *Profile { return ProfileKeycloak(p.Audience) }, "tasks:write", "email"},
	{idptest.Cognito, func(*idptest.Provider) *Profile { return ProfileCognito() }, "tasks-admin", "tasks/read"},
	{idptest.Google, func(*idptest.Provider) *Profile { return ProfileGoogle() }, "", ""},
}

// fakeClock is time.Now plus an offset tests move forward.
type fakeClock struct{ off atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *fakeClock) advance(d time.Duration) { c.off.Add(int64(d)) }

// idpGate is what a team writes for one provider: issuer, audience,
// Discovery and the profile, nothing else.
func idpGate(t *testing.T, p *idptest.Provider, prof *Profile, mod ...func(*Config)) *Authenticator {
	t.Helper()
	cfg := Config{Issuer: p.Issuer, Audience: p.Audience, Discovery: true, Profile: prof}
	for _, m := range mod {
		m(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// serveIDP runs tok through a.Handler then guards, and returns the recorder.
func serveIDP(a *Authenticator, tok string, guards ...func(http.Handler) http.Handler) *httptest.ResponseRecorder {
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	for i := len(guards) - 1; i >= 0; i-- {
		h = guards[i](h)
	}
	h = a.Handler(h)
	r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// audienceClaim is the claim a provider's audience lives in.
func audienceClaim(name string) string {
	if name == idptest.Cognito {
		return "client_id"
	}
	return "aud"
}

func TestProviders(t *testing.T) {
	for _, tc := range idpCases {
		t.Run(tc.name, func(t *testing.T) {
			p := idptest.New(t, tc.name)
			a := idpGate(t, p, tc.profile(p))
			ctx := context.Background()

			tok := p.AccessToken(t, nil)
			c, err := a.Verify(ctx, tok)
			if err != nil {
				t.Fatalf("the provider's own access token: %v", err)
			}
			if tc.role != "" && !c.HasRole(tc.role) {
				t.Errorf("Roles %q, want %q among them", c.Roles, tc.role)
			}
			if tc.scope != "" && !c.HasScope(tc.scope) {
				t.Errorf("Scopes %q, want %q among them", c.Scopes, tc.scope)
			}
			if tc.role == "" && len(c.Roles) != 0 || tc.scope == "" && len(c.Scopes) != 0 {
				t.Errorf("Roles %q, Scopes %q: want none", c.Roles, c.Scopes)
			}
			var guards []func(http.Handler) http.Handler
			if tc.role != "" {
				guards = append(guards, RequireRoles(tc.role))
			}
			if tc.scope != "" {
				guards = append(guards, RequireScopes(tc.scope))
			}
			if w := serveIDP(a, tok, guards...); w.Code != http.StatusOK {
				t.Errorf("through Handler and the guards: %d %s", w.Code, w.Header().Get("WWW-Authenticate"))
			}
			if w := serveIDP(a, tok, RequireRoles("no-such-role")); w.Code != http.StatusForbidden {
				t.Errorf("missing role: %d, want 403", w.Code)
			}

			now := time.Now()
			refused := []struct {
				name string
				tok  string
				want Reason
			}{
				{"forged", p.ForeignToken(t, nil), ReasonBadSignature},
				{"expired", p.AccessToken(t, map[string]any{"iat": now.Add(-3 * time.Hour).Unix(), "nbf": nil, "exp": now.Add(-2 * time.Hour).Unix()}), ReasonExpired},
				{"another audience", p.AccessToken(t, map[string]any{audienceClaim(tc.name): "https://other.example"}), ReasonAudMismatch},
				{"another issuer", p.AccessToken(t, map[string]any{"iss": p.Issuer + "x"}), ReasonIssMismatch},
				{"no sub", p.AccessToken(t, map[string]any{"sub": nil}), ReasonSubMissing},
			}
			if tc.name != idptest.Google { // Google's ID token is its access token
				// aud the client (Cognito: no client_id at all).
				refused = append(refused, struct {
					name string
					tok  string
					want Reason
				}{"ID token", p.IDToken(t, nil), ReasonAudMismatch})
			}
			if tc.name == idptest.Keycloak {
				refused = append(refused, struct {
					name string
					tok  string
					want Reason
				}{"ID token for the API's audience", p.AccessToken(t, map[string]any{"typ": "ID"}), ReasonClaimInvalid})
			}
			for _, r := range refused {
				if _, err := a.Verify(ctx, r.tok); reasonOf(err) != r.want {
					t.Errorf("%s: reason %q, want %q", r.name, reasonOf(err), r.want)
				}
			}

			// The profile is what makes the token acceptable: the default
			// RFC 9068 profile refuses it (typ), except where the provider's
			// token happens to carry at+jwt.
			def := idpGate(t, p, nil)
			if _, err := def.Verify(ctx, tok); reasonOf(err) != ReasonTypInvalid {
				t.Errorf("under ProfileRFC9068: reason %q, want %q", reasonOf(err), ReasonTypInvalid)
			}
		})
	}
}

// A token names one issuer and is verified with that issuer's keys only:
// provider A's token with iss rewritten to B (signed by A) is refused, and an
// unknown iss is refused before any key lookup.
func TestProvidersSeveralIssuers(t *testing.T) {
	a0 := idptest.New(t, idptest.Auth0)
	kc := idptest.New(t, idptest.Keycloak)
	a, err := New(Config{Issuers: []TrustedIssuer{
		{Issuer: a0.Issuer, Audience: a0.Audience, Discovery: true, Profile: ProfileAuth0()},
		{Issuer: kc.Issuer, Audience: kc.Audience, Discovery: true, Profile: ProfileKeycloak(kc.Audience)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx := context.Background()
	for _, p := range []*idptest.Provider{a0, kc} {
		c, err := a.Verify(ctx, p.AccessToken(t, nil))
		if err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		if c.Issuer != p.Issuer || c.trusted == nil || c.trusted.name != p.Issuer {
			t.Errorf("%s: verified as issuer %q", p.Name, c.Issuer)
		}
	}
	tests := []struct {
		name string
		tok  string
		want Reason
	}{
		// Auth0's token and key, Keycloak's iss and audience: Keycloak's keys
		// do not hold Auth0's kid.
		{"A signed, B named", a0.AccessToken(t, map[string]any{"iss": kc.Issuer, "aud": kc.Audience, "typ": "Bearer"}), ReasonUnknownKID},
		// The same with Keycloak's kid in the header: the signature fails.
		{"A signed, B named, B's kid", a0.AccessTokenWithHeader(t, map[string]any{"kid": kc.SigningKid()},
			map[string]any{"iss": kc.Issuer, "aud": kc.Audience, "typ": "Bearer"}), ReasonBadSignature},
		// Keycloak's token checked against Auth0's rules (its audience).
		{"B's token for A's audience", kc.AccessToken(t, map[string]any{"aud": a0.Audience}), ReasonAudMismatch},
		{"unknown iss", a0.AccessToken(t, map[string]any{"iss": "https://evil.example/"}), ReasonIssUnknown},
		{"no iss", a0.AccessToken(t, map[string]any{"iss": nil}), ReasonIssUnknown},
		{"numeric iss", a0.AccessToken(t, map[string]any{"iss": 7}), ReasonClaimInvalid},
		{"duplicate iss", dupIss(t, a0, kc.Issuer), ReasonDuplicateKey},
	}
	before := a0.Requests() + kc.Requests()
	for _, tt := range tests {
		if _, err := a.Verify(ctx, tt.tok); reasonOf(err) != tt.want {
			t.Errorf("%s: reason %q, want %q", tt.name, reasonOf(err), tt.want)
		}
	}
	// Unknown-kid lookups may refresh Keycloak's set once; nothing else
	// goes to the network.
	if n := a0.Requests() + kc.Requests() - before; n > 1 {
		t.Errorf("%d requests to the providers, want at most 1 (one unknown-kid refresh)", n)
	}
	// An unknown issuer asks nobody.
	before = a0.Requests() + kc.Requests()
	for i := 0; i < 50; i++ {
		if _, err := a.Verify(ctx, a0.AccessToken(t, map[string]any{"iss": "https://evil.example/" + strconv.Itoa(i)})); reasonOf(err) != ReasonIssUnknown {
			t.Fatalf("reason %q", reasonOf(err))
		}
	}
	if n := a0.Requests() + kc.Requests() - before; n != 0 {
		t.Errorf("unknown issuers made %d requests", n)
	}
}

// dupIss is p's token whose payload names iss twice, the second time other;
// the pre-read must refuse it rather than pick either.
func dupIss(t *testing.T, p *idptest.Provider, other string) string {
	return withPayload(t, p.AccessToken(t, nil), func(payload string) string {
		return `{"iss":"` + other + `",` + payload[1:]
	})
}

// withPayload replaces tok's payload by edit's, keeping header and
// signature: a token the pre-read must refuse before any signature check.
func withPayload(t *testing.T, tok string, edit func(string) string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(edit(string(raw))))
	return strings.Join(parts, ".")
}

// Entra tokens of a user in 200 groups are about 11 KB: ProfileEntraID's
// 16 KiB cap takes them, the default 8 KiB refuses them before parsing.
func TestProviderEntraGroups(t *testing.T) {
	p := idptest.New(t, idptest.Entra)
	groups := make([]string, 200)
	for i := range groups {
		groups[i] = "5f0a1c2e-3b4d-4e6f-8a9b-" + strconv.FormatInt(100000000000+int64(i), 10)
	}
	tok := p.AccessToken(t, map[string]any{"groups": groups})
	if len(tok) < 10_000 || len(tok) > DefaultEntraMaxTokenSize {
		t.Fatalf("token of %d bytes, want about 11 KB", len(tok))
	}
	if _, err := idpGate(t, p, ProfileEntraID()).Verify(context.Background(), tok); err != nil {
		t.Errorf("ProfileEntraID: %v", err)
	}
	small := ProfileEntraID()
	small.MaxTokenSize = 0
	if _, err := idpGate(t, p, small).Verify(context.Background(), tok); reasonOf(err) != ReasonTokenTooLarge {
		t.Errorf("8 KiB cap: reason %q, want %q", reasonOf(err), ReasonTokenTooLarge)
	}
	if _, err := idpGate(t, p, ProfileEntraID(), func(c *Config) { c.MaxTokenSize = DefaultMaxTokenSize }).Verify(context.Background(), tok); reasonOf(err) != ReasonTokenTooLarge {
		t.Errorf("Config.MaxTokenSize 8 KiB over the profile: reason %q, want %q", reasonOf(err), ReasonTokenTooLarge)
	}
}

// Among several issuers each keeps its own size cap: the largest is checked
// first, then, once iss is read, the issuer's own.
func TestProvidersSizeCapPerIssuer(t *testing.T) {
	entra, okta := idptest.New(t, idptest.Entra), idptest.New(t, idptest.Okta)
	a, err := New(Config{Issuers: []TrustedIssuer{
		{Issuer: entra.Issuer, Audience: entra.Audience, Discovery: true, Profile: ProfileEntraID()},
		{Issuer: okta.Issuer, Audience: okta.Audience, Discovery: true, Profile: ProfileOkta()},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	big := make([]string, 200)
	for i := range big {
		big[i] = "5f0a1c2e-3b4d-4e6f-8a9b-" + strconv.FormatInt(100000000000+int64(i), 10)
	}
	ctx := context.Background()
	if _, err := a.Verify(ctx, entra.AccessToken(t, map[string]any{"groups": big})); err != nil {
		t.Errorf("11 KB Entra token: %v", err)
	}
	if _, err := a.Verify(ctx, okta.AccessToken(t, map[string]any{"groups": big})); reasonOf(err) != ReasonTokenTooLarge {
		t.Errorf("11 KB Okta token: reason %q, want %q", reasonOf(err), ReasonTokenTooLarge)
	}
	if _, err := a.Verify(ctx, okta.AccessToken(t, nil)); err != nil {
		t.Errorf("Okta token: %v", err)
	}
}

// Cognito access tokens have no aud: client_id is the audience.
func TestProviderCognitoClientID(t *testing.T) {
	p := idptest.New(t, idptest.Cognito)
	a := idpGate(t, p, ProfileCognito())
	ctx := context.Background()
	tests := []struct {
		name   string
		claims map[string]any
		want   Reason
	}{
		{"client_id", nil, ""},
		{"wrong client_id", map[string]any{"client_id": "someone-else"}, ReasonAudMismatch},
		{"no client_id", map[string]any{"client_id": nil}, ReasonAudMismatch},
		{"numeric client_id", map[string]any{"client_id": 12}, ReasonClaimInvalid},
		{"aud instead of client_id", map[string]any{"client_id": nil, "aud": p.Audience}, ReasonAudMismatch},
		{"token_use id", map[string]any{"token_use": "id"}, ReasonClaimInvalid},
		{"no token_use", map[string]any{"token_use": nil}, ReasonClaimInvalid},
	}
	for _, tt := range tests {
		_, err := a.Verify(ctx, p.AccessToken(t, tt.claims))
		if reasonOf(err) != tt.want {
			t.Errorf("%s: reason %q, want %q", tt.name, reasonOf(err), tt.want)
		}
	}
}

// A role written as one string is one role where the profile says so
// (StringOne), and refuses the token where it does not.
func TestProfileSingleStringRole(t *testing.T) {
	p := idptest.New(t, idptest.Entra)
	tok := p.AccessToken(t, map[string]any{"roles": "Tasks.Admin"})
	ctx := context.Background()
	if _, err := idpGate(t, p, ProfileEntraID()).Verify(ctx, tok); reasonOf(err) != ReasonClaimInvalid {
		t.Errorf("ProfileEntraID: reason %q, want %q", reasonOf(err), ReasonClaimInvalid)
	}
	one := ProfileEntraID()
	one.Roles[0].String = StringOne
	c, err := idpGate(t, p, one).Verify(ctx, tok)
	if err != nil {
		t.Fatalf("StringOne: %v", err)
	}
	if !slices.Equal(c.Roles, []string{"Tasks.Admin"}) {
		t.Errorf("Roles %q", c.Roles)
	}
	// A space in a single-string role is part of the role, not a separator.
	c, err = idpGate(t, p, one).Verify(ctx, p.AccessToken(t, map[string]any{"roles": "Tasks Admin"}))
	if err != nil || !slices.Equal(c.Roles, []string{"Tasks Admin"}) {
		t.Errorf("StringOne with a space: %v, %q", err, c.Roles)
	}
	// scp as an array where Entra writes a string: StringWords takes both.
	c, err = idpGate(t, p, ProfileEntraID()).Verify(ctx, p.AccessToken(t, map[string]any{"scp": []string{"a", "b"}}))
	if err != nil || !slices.Equal(c.Scopes, []string{"a", "b"}) {
		t.Errorf("scp array: %v, %q", err, c.Scopes)
	}
}

// Provider down at start: New returns at once, tokens get 503 with
// Retry-After (never 401), then 200 once the provider is back; a provider
// going down later, with the keys held, changes nothing.
func TestProviderDownAtStart(t *testing.T) {
	p := idptest.New(t, idptest.Okta)
	p.SetDown(true)
	var clk fakeClock
	start := time.Now()
	a := idpGate(t, p, ProfileOkta(), func(c *Config) { c.Now = clk.now })
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("New took %v: it must not wait for the network", d)
	}
	tok := p.AccessToken(t, nil)
	for i := 0; i < 3; i++ {
		w := serveIDP(a, tok)
		if w.Code != http.StatusServiceUnavailable {
			t.Fatalf("provider down: %d, want 503", w.Code)
		}
		if ra, err := strconv.Atoi(w.Header().Get("Retry-After")); err != nil || ra < 1 || ra > 120 {
			t.Errorf("Retry-After %q", w.Header().Get("Retry-After"))
		}
	}
	p.SetDown(false)
	clk.advance(2 * time.Minute) // past Discovery's MinRefresh after a failure
	if w := serveIDP(a, tok); w.Code != http.StatusOK {
		t.Fatalf("provider up again: %d, want 200", w.Code)
	}
	p.SetDown(true)
	clk.advance(2 * time.Minute)
	a.cache = nil // no help from the validation cache
	if w := serveIDP(a, tok); w.Code != http.StatusOK {
		t.Errorf("provider down later, keys held: %d, want 200", w.Code)
	}
}

// A key rotation at the provider is picked up: the new kid is unknown, the
// set is fetched again, the token verifies.
func TestProviderRotation(t *testing.T) {
	for _, name := range []string{idptest.Auth0, idptest.Cognito} {
		t.Run(name, func(t *testing.T) {
			p := idptest.New(t, name)
			var clk fakeClock
			var prof *Profile
			for _, tc := range idpCases {
				if tc.name == name {
					prof = tc.profile(p)
				}
			}
			a := idpGate(t, p, prof, func(c *Config) { c.Now = clk.now })
			ctx := context.Background()
			old := p.AccessToken(t, nil)
			if _, err := a.Verify(ctx, old); err != nil {
				t.Fatal(err)
			}
			kid := p.Rotate(t)
			clk.advance(time.Minute) // past the unknown-kid interval
			tok := p.AccessToken(t, nil)
			c, err := a.Verify(ctx, tok)
			if err != nil {
				t.Fatalf("after Rotate: %v", err)
			}
			if c.KID != kid {
				t.Errorf("kid %q, want %q", c.KID, kid)
			}
			if _, err := a.Verify(ctx, old); err != nil {
				t.Errorf("the old key is still published: %v", err)
			}
		})
	}
}
