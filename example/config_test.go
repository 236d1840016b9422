package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	env := func(m map[string]string) func(string) string {
		return func(k string) string { return m[k] }
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(t *testing.T, c *config)
		wantErr string
	}{
		{name: "defaults", check: func(t *testing.T, c *config) {
			if c.Addr != "127.0.0.1:8080" || c.AppAddr != "127.0.0.1:8081" || c.Issuer != "apiguard-example" ||
				c.Audience != "apiguard-example-api" || c.AccessTTL != 15*time.Minute || c.RefreshTTL != 168*time.Hour ||
				c.Leeway != 30*time.Second || c.MaxAge != 24*time.Hour || c.Rate != "100/1m" || c.LoginAttempts != "5/15m" ||
				c.LogLevel != "info" || c.Redis != "" || c.KeyFile != "" {
				t.Fatalf("defaults differ from the documented flag defaults: %+v", c)
			}
			if got := c.apiOrigin(); got != "http://127.0.0.1:8080" {
				t.Errorf("apiOrigin = %q", got)
			}
			if got := c.appOrigin(); got != "http://127.0.0.1:8081" {
				t.Errorf("appOrigin = %q", got)
			}
		}},
		{name: "env fills a flag", env: map[string]string{"APIGUARD_ACCESS_TTL": "5m", "APIGUARD_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.0.1"},
			check: func(t *testing.T, c *config) {
				if c.AccessTTL != 5*time.Minute {
					t.Errorf("AccessTTL = %s, want 5m from APIGUARD_ACCESS_TTL", c.AccessTTL)
				}
				if strings.Join(c.TrustedProxies, "|") != "10.0.0.0/8|192.168.0.1" {
					t.Errorf("TrustedProxies = %q", c.TrustedProxies)
				}
			}},
		{name: "command line wins over env", args: []string{"-issuer", "from-flag"}, env: map[string]string{"APIGUARD_ISSUER": "from-env"},
			check: func(t *testing.T, c *config) {
				if c.Issuer != "from-flag" {
					t.Errorf("Issuer = %q, want the flag's value", c.Issuer)
				}
			}},
		{name: "empty app addr disables the demo", args: []string{"-app-addr", ""}, check: func(t *testing.T, c *config) {
			if c.appOrigin() != "" {
				t.Errorf("appOrigin = %q, want empty", c.appOrigin())
			}
		}},
		{name: "https origin drops the default port", args: []string{"-addr", "127.0.0.1:443", "-tls-cert", "c", "-tls-key", "k"},
			check: func(t *testing.T, c *config) {
				if c.apiOrigin() != "https://127.0.0.1" {
					t.Errorf("apiOrigin = %q", c.apiOrigin())
				}
			}},
		{name: "bad env duration", env: map[string]string{"APIGUARD_LEEWAY": "soon"}, wantErr: "APIGUARD_LEEWAY"},
		{name: "bad flag", args: []string{"-nope"}, wantErr: "nope"},
		{name: "negative ttl", args: []string{"-access-ttl", "-1s"}, wantErr: "-access-ttl"},
		{name: "ttl beyond max age", args: []string{"-access-ttl", "48h"}, wantErr: "-max-age"},
		{name: "tls half configured", args: []string{"-tls-cert", "c"}, wantErr: "-tls-cert and -tls-key"},
		{name: "redirect without tls", args: []string{"-redirect-addr", ":80"}, wantErr: "-redirect-addr"},
		{name: "stray argument", args: []string{"serve"}, wantErr: "unexpected argument"},
		{name: "dpop default allowed, nonce off", check: func(t *testing.T, c *config) {
			if c.DPoP != dpopAllowed || c.DPoPNonce || c.resource() != "http://127.0.0.1:8080" {
				t.Errorf("DPoP %q, DPoPNonce %v, resource %q; want allowed, false, the API origin", c.DPoP, c.DPoPNonce, c.resource())
			}
		}},
		{name: "dpop from env", env: map[string]string{"APIGUARD_DPOP": "required", "APIGUARD_DPOP_NONCE": "true"},
			check: func(t *testing.T, c *config) {
				if c.DPoP != dpopRequired || !c.DPoPNonce {
					t.Errorf("DPoP %q, DPoPNonce %v; want required, true", c.DPoP, c.DPoPNonce)
				}
			}},
		{name: "bad dpop mode", args: []string{"-dpop", "maybe"}, wantErr: `-dpop "maybe"`},
		{name: "nonce without dpop", args: []string{"-dpop", "off", "-dpop-nonce"}, wantErr: "-dpop-nonce"},
		{name: "negative token cache", args: []string{"-token-cache", "-1"}, wantErr: "-token-cache"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseConfig(tt.args, env(tt.env), io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestUserStoreUnknownUserCostsAPasswordCheck(t *testing.T) {
	s, err := newUserStore(4)
	if err != nil {
		t.Fatal(err)
	}
	if roles, err := s.authenticate("alice", "alice-password"); err != nil || len(roles) != 1 || roles[0] != "user" {
		t.Fatalf("alice: %v %v", roles, err)
	}
	if roles, err := s.authenticate("admin", "admin-password"); err != nil || len(roles) != 2 {
		t.Fatalf("admin: %v %v", roles, err)
	}
	for _, c := range [][2]string{{"alice", "wrong"}, {"nobody", "alice-password"}, {"", ""}} {
		if _, err := s.authenticate(c[0], c[1]); err == nil {
			t.Errorf("authenticate(%q, %q) succeeded", c[0], c[1])
		}
	}
	if len(s.dummy) == 0 {
		t.Fatal("no dummy hash: an unknown user would skip bcrypt and be told apart by timing")
	}
}
