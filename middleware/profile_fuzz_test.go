package middleware

import (
	"errors"
	"testing"

	"github.com/apiguard/apiguard/internal/strictjson"
)

// FuzzProfileClaims feeds untrusted claims sets to the two parsers this
// package adds in front of and after the signature: the iss pre-read (a
// strict pass over a payload whose signature is not checked yet) and the
// profiles' extraction of roles, scopes, audience and required claims. Neither
// may panic; the pre-read must agree with the claims decoder (it accepts
// exactly what ParseClaims accepts, with the same iss); extraction of an
// accepted set answers claim_invalid or aud_mismatch or nothing, the same
// every time.
func FuzzProfileClaims(f *testing.F) {
	for _, s := range []string{
		`{"iss":"https://a.example","sub":"x","roles":["a"],"scope":"b c"}`,
		`{"iss":"i","realm_access":{"roles":["r1","r2"]},"resource_access":{"api":{"roles":["w"]}},"typ":"Bearer"}`,
		`{"iss":"i","cognito:groups":["g"],"client_id":"c","token_use":"access","scope":"s"}`,
		`{"iss":"i","scp":"a b","roles":"one","permissions":["p"]}`,
		`{"iss":"i","iss":"j"}`,
		`{"iss":7}`,
		`{"realm_access":{"roles":{"x":1}},"resource_access":[]}`,
		`{"a":{"b":{"c":{"d":[[[[]]]]}}},"iss":"\u0069"}`,
		`{"iss":"i"} trailing`,
		`{"scp":["a",1]}`,
	} {
		f.Add(s)
	}
	profiles := []*profile{}
	for _, p := range []*Profile{ProfileRFC9068(), ProfileAuth0(), ProfileEntraID(), ProfileOkta(), ProfileKeycloak("api"),
		ProfileCognito(), ProfileGoogle(),
		{Roles: []ClaimSource{{Path: []string{"roles"}, String: StringOne}, {Path: []string{"a", "b", "c", "d"}}}, AudienceClaim: "azp"}} {
		c, err := compileProfile(p, "fuzz", false)
		if err != nil {
			f.Fatal(err)
		}
		profiles = append(profiles, c)
	}
	f.Fuzz(func(t *testing.T, s string) {
		iss, has, perr := strictjson.PeekString(s, "iss")
		var sc strictjson.Claims
		sc.NoRolesScope = true
		cerr := strictjson.ParseClaims(s, &sc)
		if (perr == nil) != (cerr == nil) {
			t.Fatalf("pre-read %v, claims decoder %v: they must accept the same sets", perr, cerr)
		}
		if cerr != nil {
			return
		}
		if iss != sc.Iss || (has && iss == "" && sc.Iss != "") {
			t.Fatalf("pre-read iss %q, decoder %q", iss, sc.Iss)
		}
		for _, p := range profiles {
			sc := strictjson.Claims{NoRolesScope: !p.standard, Select: p.names, Selected: make([]string, len(p.names))}
			if err := strictjson.ParseClaims(s, &sc); err != nil {
				if p.standard && errors.Is(err, strictjson.ErrType) {
					continue // roles or scope of the wrong type for RFC 9068
				}
				t.Fatalf("ParseClaims with Select refused what it accepted without: %v", err)
			}
			c1, c2 := &Claims{}, &Claims{}
			r1, r2 := p.extract(c1, sc.Selected, []string{"api"}), p.extract(c2, sc.Selected, []string{"api"})
			if r1 != r2 || len(c1.Roles) != len(c2.Roles) || len(c1.Scopes) != len(c2.Scopes) {
				t.Fatalf("extraction of %q is not deterministic", s)
			}
			if r1 != "" && r1 != ReasonClaimInvalid && r1 != ReasonAudMismatch {
				t.Fatalf("extraction reason %q", r1)
			}
		}
	})
}
