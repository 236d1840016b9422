package main

import (
	"fmt"
	"strings"

	"github.com/apiguard/apiguard/middleware"
)

// profileNames are the values of -oidc-profile.
var profileNames = []string{"rfc9068", "jwt", "auth0", "entra", "okta", "keycloak:<client>", "cognito", "google"}

// profileByName maps -oidc-profile to a middleware profile. "jwt" is RFC 9068
// with the header typ "JWT" accepted beside at+jwt (what zitadel and many
// other providers send): nothing else relaxed.
func profileByName(name string) (*middleware.Profile, error) {
	switch {
	case name == "rfc9068" || name == "":
		return middleware.ProfileRFC9068(), nil
	case name == "jwt":
		p := middleware.ProfileRFC9068()
		p.Name = "jwt"
		p.Typ = append(p.Typ, "JWT")
		return p, nil
	case name == "auth0":
		return middleware.ProfileAuth0(), nil
	case name == "entra":
		return middleware.ProfileEntraID(), nil
	case name == "okta":
		return middleware.ProfileOkta(), nil
	case strings.HasPrefix(name, "keycloak:") && len(name) > len("keycloak:"):
		return middleware.ProfileKeycloak(strings.TrimPrefix(name, "keycloak:")), nil
	case name == "cognito":
		return middleware.ProfileCognito(), nil
	case name == "google":
		return middleware.ProfileGoogle(), nil
	}
	return nil, fmt.Errorf("-oidc-profile %q: want one of %s", name, strings.Join(profileNames, ", "))
}
