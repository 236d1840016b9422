package main

import (
	"io"
	"strings"
	"testing"
)

func TestOIDCFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string // "" means valid
	}{
		{"issuer and audience", []string{"-oidc-issuer", "https://id.example.com/", "-oidc-audience", "api"}, ""},
		{"every profile name", []string{"-oidc-issuer", "https://id.example.com/", "-oidc-audience", "api", "-oidc-profile", "keycloak:orders"}, ""},
		{"issuer without audience", []string{"-oidc-issuer", "https://id.example.com/"}, "-oidc-audience"},
		{"audience without issuer", []string{"-oidc-audience", "api"}, "without -oidc-issuer"},
		{"unknown profile", []string{"-oidc-issuer", "https://id.example.com/", "-oidc-audience", "api", "-oidc-profile", "okta2"}, `-oidc-profile "okta2"`},
		{"keycloak without client", []string{"-oidc-issuer", "https://id.example.com/", "-oidc-audience", "api", "-oidc-profile", "keycloak:"}, `-oidc-profile "keycloak:"`},
		{"the example's own issuer", []string{"-oidc-issuer", "apiguard-example", "-oidc-audience", "api"}, "own -issuer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig(tt.args, func(string) string { return "" }, io.Discard)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one naming %q", err, tt.wantErr)
			}
		})
	}
	for _, name := range []string{"rfc9068", "jwt", "auth0", "entra", "okta", "keycloak:api", "cognito", "google"} {
		if p, err := profileByName(name); err != nil || p == nil {
			t.Errorf("profile %q: %v", name, err)
		}
	}
}
