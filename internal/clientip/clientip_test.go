package clientip

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func req(remote string, hdr ...string) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = remote
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	return r
}

func TestNew(t *testing.T) {
	tests := []struct {
		in      []string
		wantErr string
	}{
		{in: nil},
		{in: []string{"10.0.0.0/8", "192.168.1.1", "fd00::/8", "::1", " 172.16.0.0/12 "}},
		{in: []string{"::ffff:10.0.0.0/104"}},
		{in: []string{"10.0.0.0/33"}, wantErr: `"10.0.0.0/33"`},
		{in: []string{"proxy.local"}, wantErr: `"proxy.local"`},
		{in: []string{"10.0.0.1", ""}, wantErr: `""`},
		{in: []string{"fe80::1%eth0"}, wantErr: `"fe80::1%eth0"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.in, ","), func(t *testing.T) {
			_, err := New(tt.in)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New(%q) error = %v, want one naming %s", tt.in, err, tt.wantErr)
			}
		})
	}
	r, _ := New([]string{"::ffff:10.0.0.0/104"})
	if !r.Trusted(netip.MustParseAddr("10.1.2.3")) {
		t.Fatal("a mapped prefix must match the plain IPv4 address")
	}
}

func TestResolve(t *testing.T) {
	trusted, err := New([]string{"10.0.0.0/8", "2001:db8:ffff::/48", "192.0.2.254"})
	if err != nil {
		t.Fatal(err)
	}
	none, _ := New(nil)
	tests := []struct {
		name   string
		r      *Resolver
		remote string
		hdr    []string
		want   string
	}{
		// No trusted proxy: the headers are the client's words and change nothing.
		{"spoofed xff without trust", none, "203.0.113.9:1234", []string{"X-Forwarded-For", "1.1.1.1"}, "203.0.113.9"},
		{"spoofed forwarded without trust", none, "203.0.113.9:1234", []string{"Forwarded", "for=1.1.1.1"}, "203.0.113.9"},
		{"spoofed xff from untrusted peer", trusted, "203.0.113.9:1234", []string{"X-Forwarded-For", "10.0.0.1, 1.1.1.1"}, "203.0.113.9"},
		{"spoofed forwarded from untrusted peer", trusted, "203.0.113.9:1234", []string{"Forwarded", "for=1.1.1.1"}, "203.0.113.9"},
		{"nil resolver", nil, "203.0.113.9:1234", []string{"X-Forwarded-For", "1.1.1.1"}, "203.0.113.9"},

		// One trusted proxy: the right-most entry is the client.
		{"one proxy", trusted, "10.0.0.1:80", []string{"X-Forwarded-For", "198.51.100.7"}, "198.51.100.7"},
		{"client-prepended lie", trusted, "10.0.0.1:80", []string{"X-Forwarded-For", "1.1.1.1, 198.51.100.7"}, "198.51.100.7"},
		{"chain of trusted proxies", trusted, "10.0.0.1:80", []string{"X-Forwarded-For", "1.1.1.1, 198.51.100.7, 10.9.9.9, 192.0.2.254"}, "198.51.100.7"},
		{"several header lines", trusted, "10.0.0.1:80", []string{"X-Forwarded-For", "1.1.1.1, 198.51.100.7", "X-Forwarded-For", "10.2.2.2"}, "198.51.100.7"},
		{"untrusted hop in the chain", trusted, "10.0.0.1:80", []string{"X-Forwarded-For", "198.51.100.7, 203.0.113.1, 10.2.2.2"}, "203.0.113.1"},
		{"all entries trusted", trusted, "10.0.0.1:80", []string{"X-Forwarded-For", "10.3.3.3, 10.2.2.2"}, "10.3.3.3"},
		{"empty members", trusted, "10.0.0.1:80", []string{"X-Forwarded-For", "198.51.100.7 , ,10.2.2.2,"}, "198.51.100.7"},
		{"entry with port", trusted, "10.0.0.1:80", []string{"X-Forwarded-For", "198.51.100.7:5555"}, "198.51.100.7"},
		{"ipv6 entry", trusted, "10.0.0.1:80", []string{"X-Forwarded-For", "2001:db8:1::7"}, "2001:db8:1::7"},
		{"bracketed ipv6 entry with port", trusted, "10.0.0.1:80", []string{"X-Forwarded-For", "[2001:db8:1::7]:443"}, "2001:db8:1::7"},
		{"mapped entry unmapped", trusted, "10.0.0.1:80", []string{"X-Forwarded-For", "::ffff:198.51.100.7"}, "198.51.100.7"},
		{"garbage entry falls back to peer", trusted, "10.0.0.1:80", []string{"X-Forwarded-For", "198.51.100.7, not-an-ip"}, "10.0.0.1"},
		{"unknown in xff falls back to peer", trusted, "10.0.0.1:80", []string{"X-Forwarded-For", "unknown"}, "10.0.0.1"},
		{"trusted ipv6 proxy", trusted, "[2001:db8:ffff::1]:443", []string{"X-Forwarded-For", "198.51.100.7"}, "198.51.100.7"},
		{"no headers from trusted proxy", trusted, "10.0.0.1:80", nil, "10.0.0.1"},
		{"xff wins over forwarded", trusted, "10.0.0.1:80", []string{"X-Forwarded-For", "198.51.100.7", "Forwarded", "for=1.1.1.1"}, "198.51.100.7"},

		// RFC 7239 Forwarded.
		{"forwarded token", trusted, "10.0.0.1:80", []string{"Forwarded", "for=198.51.100.7;proto=https"}, "198.51.100.7"},
		{"forwarded quoted with port", trusted, "10.0.0.1:80", []string{"Forwarded", `for="198.51.100.7:4711"`}, "198.51.100.7"},
		{"forwarded ipv6", trusted, "10.0.0.1:80", []string{"Forwarded", `for="[2001:db8:cafe::17]:4711"`}, "2001:db8:cafe::17"},
		{"forwarded case and spaces", trusted, "10.0.0.1:80", []string{"Forwarded", `proto=http; FOR=198.51.100.7 ;by=10.0.0.1`}, "198.51.100.7"},
		{"forwarded chain", trusted, "10.0.0.1:80", []string{"Forwarded", `for=1.1.1.1, for=198.51.100.7, for=10.4.4.4;proto=https`}, "198.51.100.7"},
		{"forwarded obfuscated stops at last trusted", trusted, "10.0.0.1:80", []string{"Forwarded", `for=1.1.1.1, for=_hidden, for=10.4.4.4`}, "10.4.4.4"},
		{"forwarded unknown stops at last trusted", trusted, "10.0.0.1:80", []string{"Forwarded", `for=1.1.1.1, for=unknown`}, "10.0.0.1"},
		{"forwarded without for", trusted, "10.0.0.1:80", []string{"Forwarded", `for=1.1.1.1, proto=https`}, "10.0.0.1"},
		{"forwarded bad quoting", trusted, "10.0.0.1:80", []string{"Forwarded", `for="198.51.100.7`}, "10.0.0.1"},
		{"forwarded ipv6 without brackets in quotes", trusted, "10.0.0.1:80", []string{"Forwarded", `for="[2001:db8::1"`}, "10.0.0.1"},

		// Peer parsing.
		{"ipv6 peer", none, "[2001:db8::1]:443", nil, "2001:db8::1"},
		{"mapped peer", none, "[::ffff:192.0.2.1]:443", nil, "192.0.2.1"},
		{"peer with zone", none, "[fe80::1%eth0]:443", nil, "fe80::1"},
		{"bare peer", none, "192.0.2.1", nil, "192.0.2.1"},
		{"garbage peer", none, "pipe", nil, "invalid IP"},
		{"empty peer", none, "", nil, "invalid IP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.r.Resolve(req(tt.remote, tt.hdr...))
			if got.String() != tt.want {
				t.Fatalf("Resolve = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestFromTrustedProxy(t *testing.T) {
	r, _ := New([]string{"10.0.0.0/8"})
	if !r.FromTrustedProxy(req("10.1.1.1:80")) {
		t.Error("peer 10.1.1.1 is trusted")
	}
	if r.FromTrustedProxy(req("203.0.113.1:80", "X-Forwarded-For", "10.1.1.1")) {
		t.Error("an untrusted peer must not become trusted through a header")
	}
	var nilR *Resolver
	if nilR.FromTrustedProxy(req("10.1.1.1:80")) {
		t.Error("a nil Resolver trusts nobody")
	}
}

// A hostile header of 10,000 entries is walked in linear time and without
// allocating.
func TestResolveLongHeaderAllocs(t *testing.T) {
	r, _ := New([]string{"10.0.0.0/8"})
	rq := req("10.0.0.1:80", "X-Forwarded-For", longXFF(10000, "10.0.0.2"))
	allocs := testing.AllocsPerRun(10, func() { _ = r.Resolve(rq) })
	if allocs != 0 {
		t.Fatalf("Resolve allocated %.0f times", allocs)
	}
	if got := r.Resolve(rq).String(); got != "10.0.0.2" {
		t.Fatalf("Resolve = %s", got)
	}
}

func longXFF(n int, entry string) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(entry)
	}
	return b.String()
}

func BenchmarkResolve(b *testing.B) {
	r, _ := New([]string{"10.0.0.0/8"})
	for _, n := range []int{1, 10, 100, 1000, 10000} {
		rq := req("10.0.0.1:80", "X-Forwarded-For", longXFF(n, "10.0.0.2"))
		b.Run("xff-"+itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = r.Resolve(rq)
			}
		})
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var buf [20]byte
	i := len(buf)
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return string(buf[i:])
}

func FuzzResolve(f *testing.F) {
	f.Add("10.0.0.1:80", "1.1.1.1, 198.51.100.7", "for=1.1.1.1")
	f.Add("10.0.0.1:80", "", `for="[2001:db8::1]:80";proto=https, for=_x`)
	f.Add("[::ffff:10.0.0.1]:1", "::ffff:1.2.3.4,,", `for=unknown`)
	f.Add("203.0.113.1:1", "10.0.0.9", "for=10.0.0.9")
	r, _ := New([]string{"10.0.0.0/8", "2001:db8::/32"})
	none, _ := New(nil)
	f.Fuzz(func(t *testing.T, remote, xff, fwd string) {
		rq := &http.Request{RemoteAddr: remote, Header: http.Header{}}
		if xff != "" {
			rq.Header["X-Forwarded-For"] = []string{xff}
		}
		if fwd != "" {
			rq.Header["Forwarded"] = []string{fwd}
		}
		peer := Peer(rq)
		got := r.Resolve(rq)
		if got.Is4In6() || got.Zone() != "" {
			t.Fatalf("Resolve returned %v: mapped or zoned", got)
		}
		// Without a trusted peer the headers must not matter.
		if !r.Trusted(peer) && got != peer {
			t.Fatalf("untrusted peer %v, but Resolve = %v", peer, got)
		}
		if g := none.Resolve(rq); g != peer {
			t.Fatalf("no trusted proxies, peer %v, but Resolve = %v", peer, g)
		}
		// Whatever came from the headers appears in them verbatim enough to
		// have been parsed: it is either the peer or a valid address.
		if got != peer && !got.IsValid() {
			t.Fatalf("Resolve = invalid address from a valid peer %v", peer)
		}
		// Forwarded (the scheme and host for DPoP's htu) reads the headers
		// of a trusted peer only, and returns pieces of its last element.
		scheme, host, trusted := r.Forwarded(rq)
		if trusted != r.Trusted(peer) {
			t.Fatalf("Forwarded trusted = %v for peer %v", trusted, peer)
		}
		if !trusted && (scheme != "" || host != "") {
			t.Fatalf("untrusted peer %v, but Forwarded = %q, %q", peer, scheme, host)
		}
		if strings.Contains(scheme, ",") || strings.Contains(host, ",") {
			t.Fatalf("Forwarded = %q, %q: more than the last element", scheme, host)
		}
	})
}

// FuzzParseHostPort checks that the IPv4 fast path never disagrees with the
// general parser (netip.ParseAddr behind the host:port split): whenever it
// answers, it answers exactly as parseHostPortSlow would.
func FuzzParseHostPort(f *testing.F) {
	for _, s := range []string{
		"198.51.100.7:40007", "1.2.3.4", "0.0.0.0:0", "255.255.255.255:65535",
		"256.1.1.1:1", "01.2.3.4:5", "1.2.3.4:", "1.2.3.4:123456", "1.2.3.4:5:6",
		"1.2.3:4", "1.2.3.4.5", "1..3.4", "::ffff:1.2.3.4", "[::1]:80", "1.2.3.4%eth0",
		"1.2.3.4 :80", "١.2.3.4", "1.2.3.0004", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := parseHostPortSlow(s)
		if got := parseHostPort(s); got != want {
			t.Fatalf("parseHostPort(%q) = %v, general parser = %v", s, got, want)
		}
		if a, ok := parseIPv4Port(s); ok && (a != want || !want.Is4()) {
			t.Fatalf("fast path accepted %q as %v, general parser says %v", s, a, want)
		}
	})
}

func TestParseIPv4PortStrict(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // "" means invalid
	}{
		{"198.51.100.7:40007", "198.51.100.7"},
		{"1.2.3.4", "1.2.3.4"},
		{"0.0.0.0:0", "0.0.0.0"},
		{"255.255.255.255:65535", "255.255.255.255"},
		{"256.1.1.1:1", ""},
		{"01.2.3.4:5", ""},
		{"1.2.3.4:", ""},
		{"1.2.3.4:123456", ""},
		{"1.2.3.4:5:6", ""},
		{"1.2.3:4", ""},
		{"1.2.3.4.5", ""},
		{"1.2.3.4:8a", ""},
		{"1.2.3.4 ", ""},
		{"9.99.199.0:1", "9.99.199.0"},
		{"1.2.3.256", ""},
		{"1.2.3.04", ""},
		{"1.2.3.00", ""},
		{"1234.1.1.1", ""},
		{"1.2.3.1234:80", ""},
		{"1.2.3.", ""},
		{"1.2.3./:80", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got := parseHostPort(tc.in)
			if tc.want == "" {
				if got.IsValid() {
					t.Fatalf("parseHostPort(%q) = %v, want invalid", tc.in, got)
				}
				return
			}
			if got.String() != tc.want {
				t.Fatalf("parseHostPort(%q) = %v, want %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestForwarded(t *testing.T) {
	r, err := New([]string{"10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		peer         string
		hdr          http.Header
		scheme, host string
		trusted      bool
	}{
		{"untrusted peer", "203.0.113.1:1", http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"api.example"}}, "", "", false},
		{"x-forwarded", "10.0.0.1:1", http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"api.example"}}, "https", "api.example", true},
		{"right-most value", "10.0.0.1:1", http.Header{"X-Forwarded-Proto": {"http", "evil, https"}, "X-Forwarded-Host": {"evil.example , api.example"}}, "https", "api.example", true},
		{"proto only", "10.0.0.1:1", http.Header{"X-Forwarded-Proto": {"https"}, "Forwarded": {"host=evil.example"}}, "https", "", true},
		{"forwarded", "10.0.0.1:1", http.Header{"Forwarded": {`for=1.2.3.4;proto=http, for=5.6.7.8;Proto=https;host="api.example:8443"`}}, "https", "api.example:8443", true},
		{"forwarded escape", "10.0.0.1:1", http.Header{"Forwarded": {`host="a\"b"`}}, "", "", true},
		{"none", "10.0.0.1:1", http.Header{}, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr, req.Header = tt.peer, tt.hdr
			scheme, host, trusted := r.Forwarded(req)
			if scheme != tt.scheme || host != tt.host || trusted != tt.trusted {
				t.Fatalf("got (%q, %q, %v), want (%q, %q, %v)", scheme, host, trusted, tt.scheme, tt.host, tt.trusted)
			}
		})
	}
}
