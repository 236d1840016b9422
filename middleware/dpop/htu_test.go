package dpop

import (
	"net/url"
	"strings"
	"testing"
)

func TestNormalizeHTU(t *testing.T) {
	tests := []struct {
		in, want string // want "" for refused
	}{
		{"https://api.example/v1/me", "https://api.example/v1/me"},
		{"HTTPS://API.EXAMPLE/v1/me", "https://api.example/v1/me"},
		{"https://api.example:443/v1/me", "https://api.example/v1/me"},
		{"https://api.example:/v1/me", "https://api.example/v1/me"},
		{"http://api.example:80/", "http://api.example/"},
		{"http://api.example:443/", "http://api.example:443/"},
		{"https://api.example:80/", "https://api.example:80/"},
		{"https://api.example:08443/", "https://api.example:8443/"},
		{"https://api.example:00443/", "https://api.example/"},
		{"https://api.example", "https://api.example/"},
		{"https://api.example?q", "https://api.example/"},
		{"https://api.example/a?q=1#f", "https://api.example/a"},
		{"https://api.example/a#f?q", "https://api.example/a"},
		{"https://api.example/%7euser/%41%2f%2F%3a", "https://api.example/~user/A%2F%2F%3A"},
		{"https://api.example/a/./b/../c/", "https://api.example/a/c/"},
		{"https://api.example/a/%2E%2e/b", "https://api.example/b"},
		{"https://api.example/a/..", "https://api.example/"},
		{"https://api.example/a/.", "https://api.example/a/"},
		{"https://api.example/../../a", "https://api.example/a"},
		{"https://api.example/.a/..b/...", "https://api.example/.a/..b/..."},
		{"https://api.example//a", "https://api.example//a"},
		{"https://api.example/a;b=c/@:!$&'()*+,=", "https://api.example/a;b=c/@:!$&'()*+,="},
		{"https://[::1]:8443/", "https://[::1]:8443/"},
		{"https://[0:0::1]/", "https://[::1]/"},
		{"https://[FE80::1]/", "https://[fe80::1]/"},
		{"https://127.0.0.1/", "https://127.0.0.1/"},
		{"https://xn--bcher-kva.example/", "https://xn--bcher-kva.example/"},

		{"ftp://api.example/", ""},
		{"https:/api.example/", ""},
		{"//api.example/", ""},
		{"/v1/me", ""},
		{"https:///v1/me", ""},
		{"https://user@api.example/", ""},
		{"https://api.example:65536/", ""},
		{"https://api.example:0/", ""},
		{"https://api.example:123456/", ""},
		{"https://api.example:x/", ""},
		{"https://api.example:8443:1/", ""},
		{"https://[::1/", ""},
		{"https://[::1]x/", ""},
		{"https://[1.2.3.4]/", ""},
		{"https://[fe80::1%25eth0]/", ""},
		{"https://api%2eexample/", ""},
		{"https://bücher.example/", ""},
		{"https://api.example/a b", ""},
		{"https://api.example/a%2", ""},
		{"https://api.example/a%zz", ""},
		{"https://api.example/a\\b", ""},
		{"https://api.example/é", ""},
		{"https://api.example/a\x00", ""},
		{"https://api.example/a?b c", ""},
		{"https://api.example/a#%0X", ""},
		{"https://api.example/a#b#c", ""},
		{"https://api.example/a?%41[]", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			scheme, host, path, ok := normalizeHTU(tt.in)
			got := ""
			if ok {
				got = scheme + "://" + host + path
			}
			if got != tt.want {
				t.Fatalf("normalizeHTU(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestNormalizeHTUAllocs checks a URI already normal costs no allocation.
func TestNormalizeHTUAllocs(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { normalizeHTU("https://api.example/v1/me?x=1") }); n != 0 {
		t.Fatalf("%v allocations, want 0", n)
	}
}

// FuzzNormalizeHTU checks that normalizeHTU never panics, is idempotent,
// and accepts only what net/url accepts, with the same scheme, host and
// (escaped) path once normalised.
func FuzzNormalizeHTU(f *testing.F) {
	for _, s := range []string{
		"https://api.example/v1/me", "HTTP://A.B:80/%7e/./../x?q#f", "https://[::1]:8443/a%2F", "https://a/..%2e/%2e.",
		"https://a:0443", "http://a/b;c=d/@!$", "https://[::ffff:1.2.3.4]/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		scheme, host, path, ok := normalizeHTU(s)
		if !ok {
			return
		}
		norm := scheme + "://" + host + path
		s2, h2, p2, ok2 := normalizeHTU(norm)
		if !ok2 || s2 != scheme || h2 != host || p2 != path {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, norm, s2+"://"+h2+p2)
		}
		u, err := url.Parse(s)
		if err != nil {
			t.Fatalf("accepted %q, which net/url refuses: %v", s, err)
		}
		if strings.ToLower(u.Scheme) != scheme || u.User != nil || u.Opaque != "" {
			t.Fatalf("%q: net/url reads scheme %q, user %v, opaque %q; we %q", s, u.Scheme, u.User, u.Opaque, scheme)
		}
		n, err := url.Parse(norm)
		if err != nil {
			t.Fatalf("normal form %q of %q refused by net/url: %v", norm, s, err)
		}
		if n.Host != host || n.EscapedPath() != path || n.RawQuery != "" || n.Fragment != "" {
			t.Fatalf("normal form %q: net/url reads host %q path %q", norm, n.Host, n.EscapedPath())
		}
		// The same host as net/url reads in the input, once lower-cased
		// and without a default or empty port.
		want := strings.ToLower(u.Hostname())
		if got := strings.TrimSuffix(strings.TrimPrefix(n.Hostname(), "["), "]"); strings.Contains(want, ":") {
			if len(got) == 0 {
				t.Fatalf("%q: IPv6 host lost", s)
			}
		} else if got != want {
			t.Fatalf("%q: host %q, net/url reads %q", s, got, want)
		}
	})
}
