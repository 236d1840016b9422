package ratelimit

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/apiguard/apiguard/auditlog"
)

var testSecret = bytes.Repeat([]byte("k"), 32)

func newReq(remote, ua string, hdr ...string) *http.Request {
	r := httptest.NewRequest("GET", "/api", nil)
	r.RemoteAddr = remote
	if ua != "" {
		r.Header.Set("User-Agent", ua)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	return r
}

func mustIdentifier(t testing.TB, c IdentityConfig) *Identifier {
	t.Helper()
	if c.Secret == nil {
		c.Secret = testSecret
	}
	id, err := NewIdentifier(c)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestNewIdentifierErrors(t *testing.T) {
	tests := []struct {
		name string
		c    IdentityConfig
		want string
	}{
		{"short secret", IdentityConfig{Secret: []byte("short")}, "Secret is 5 bytes"},
		{"bad cidr", IdentityConfig{Secret: testSecret, TrustedProxies: []string{"10.0.0.0/99"}}, `"10.0.0.0/99"`},
		{"bad prefix", IdentityConfig{Secret: testSecret, IPv6Prefix: 129}, "IPv6Prefix 129"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewIdentifier(tt.c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %s", err, tt.want)
			}
		})
	}
	id, err := NewIdentifier(IdentityConfig{})
	if err != nil || !strings.Contains(id.Warning(), "share") {
		t.Fatalf("random secret: err %v, warning %q", err, id.Warning())
	}
	if mustIdentifier(t, IdentityConfig{}).Warning() != "" {
		t.Fatal("a configured secret must not warn")
	}
}

func TestIdentity(t *testing.T) {
	plain := mustIdentifier(t, IdentityConfig{})
	proxied := mustIdentifier(t, IdentityConfig{TrustedProxies: []string{"10.0.0.0/8"}})
	v6at48 := mustIdentifier(t, IdentityConfig{IPv6Prefix: 48})
	same := func(a, b Identity) bool { return a.Key == b.Key }
	tests := []struct {
		name     string
		id       *Identifier
		a, b     *http.Request
		sameKey  bool
		sameIP   bool
		wantIP   string
		wantNet  string
		wantSame bool
	}{
		{name: "spoofed xff changes nothing", id: plain,
			a: newReq("203.0.113.5:1", "ua"), b: newReq("203.0.113.5:1", "ua", "X-Forwarded-For", "1.2.3.4"),
			sameKey: true, sameIP: true, wantIP: "203.0.113.5", wantNet: "203.0.113.5/32"},
		{name: "spoofed forwarded changes nothing", id: plain,
			a: newReq("203.0.113.5:1", "ua"), b: newReq("203.0.113.5:1", "ua", "Forwarded", "for=1.2.3.4"),
			sameKey: true, sameIP: true, wantIP: "203.0.113.5", wantNet: "203.0.113.5/32"},
		{name: "spoofed xff from an untrusted peer with proxies configured", id: proxied,
			a: newReq("203.0.113.5:1", "ua"), b: newReq("203.0.113.5:1", "ua", "X-Forwarded-For", "1.2.3.4"),
			sameKey: true, sameIP: true, wantIP: "203.0.113.5", wantNet: "203.0.113.5/32"},
		{name: "trusted proxy: client from xff", id: proxied,
			a: newReq("10.0.0.1:1", "ua", "X-Forwarded-For", "9.9.9.9, 198.51.100.7"), b: newReq("198.51.100.7:1", "ua"),
			sameKey: true, sameIP: true, wantIP: "198.51.100.7", wantNet: "198.51.100.7/32"},
		{name: "two clients behind one proxy differ", id: proxied,
			a: newReq("10.0.0.1:1", "ua", "X-Forwarded-For", "198.51.100.7"), b: newReq("10.0.0.1:1", "ua", "X-Forwarded-For", "198.51.100.8"),
			sameKey: false, sameIP: false, wantIP: "198.51.100.7", wantNet: "198.51.100.7/32"},
		{name: "ipv6 /64 is one client", id: plain,
			a: newReq("[2001:db8:1:2::1]:1", "ua"), b: newReq("[2001:db8:1:2:ffff:ffff:ffff:ffff]:1", "ua"),
			sameKey: true, sameIP: true, wantIP: "2001:db8:1:2::1", wantNet: "2001:db8:1:2::/64"},
		{name: "neighbouring /64s differ", id: plain,
			a: newReq("[2001:db8:1:2::1]:1", "ua"), b: newReq("[2001:db8:1:3::1]:1", "ua"),
			sameKey: false, sameIP: false, wantIP: "2001:db8:1:2::1", wantNet: "2001:db8:1:2::/64"},
		{name: "configurable /48", id: v6at48,
			a: newReq("[2001:db8:1:2::1]:1", "ua"), b: newReq("[2001:db8:1:3::1]:1", "ua"),
			sameKey: true, sameIP: true, wantIP: "2001:db8:1:2::1", wantNet: "2001:db8:1::/48"},
		{name: "ipv4-mapped is the ipv4 client", id: plain,
			a: newReq("[::ffff:192.0.2.1]:1", "ua"), b: newReq("192.0.2.1:2", "ua"),
			sameKey: true, sameIP: true, wantIP: "192.0.2.1", wantNet: "192.0.2.1/32"},
		{name: "user agent changes the key not the ip key", id: plain,
			a: newReq("192.0.2.1:1", "curl"), b: newReq("192.0.2.1:1", "firefox"),
			sameKey: false, sameIP: true, wantIP: "192.0.2.1", wantNet: "192.0.2.1/32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := tt.id.Identify(tt.a), tt.id.Identify(tt.b)
			if a.IP.String() != tt.wantIP || a.Group.String() != tt.wantNet {
				t.Fatalf("identity %v %v, want %s %s", a.IP, a.Group, tt.wantIP, tt.wantNet)
			}
			if same(a, b) != tt.sameKey {
				t.Errorf("same key = %v, want %v", same(a, b), tt.sameKey)
			}
			if (a.IPKey == b.IPKey) != tt.sameIP {
				t.Errorf("same IP key = %v, want %v", a.IPKey == b.IPKey, tt.sameIP)
			}
		})
	}
}

func TestIdentityKeyedBySecret(t *testing.T) {
	a := mustIdentifier(t, IdentityConfig{Secret: bytes.Repeat([]byte("a"), 32)})
	b := mustIdentifier(t, IdentityConfig{Secret: bytes.Repeat([]byte("b"), 32)})
	r := newReq("192.0.2.1:1", "ua")
	if a.Identify(r).Key == b.Identify(r).Key {
		t.Fatal("the key does not depend on the secret")
	}
	first, again := a.Identify(r).Key, a.Identify(r).Key
	if first != again {
		t.Fatal("the key is not stable")
	}
	if got := a.Identify(r).Short(); len(got) != 12 {
		t.Fatalf("Short() = %q", got)
	}
}

func TestIdentifierHandler(t *testing.T) {
	id := mustIdentifier(t, IdentityConfig{TrustedProxies: []string{"10.0.0.0/8"}})
	var got Identity
	var ok bool
	h := id.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok = IdentityFromContext(r.Context())
	}))
	info := &auditlog.RequestInfo{}
	r := newReq("10.0.0.1:1", "ua", "X-Forwarded-For", "198.51.100.7")
	r = r.WithContext(auditlog.WithRequestInfo(r.Context(), info))
	h.ServeHTTP(httptest.NewRecorder(), r)
	if !ok || got.IP.String() != "198.51.100.7" {
		t.Fatalf("identity in context: %v %v", got, ok)
	}
	if info.Client != got.Short() || info.IP != got.IP {
		t.Fatalf("RequestInfo = %+v", info)
	}
	if _, ok := IdentityFromContext(r.Context()); ok {
		t.Fatal("the handler modified the caller's request context")
	}
	if !id.TrustedProxy(newReq("10.0.0.1:1", "")) || id.TrustedProxy(newReq("192.0.2.1:1", "")) {
		t.Fatal("TrustedProxy wrong")
	}
}

func TestIdentifyAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	id := mustIdentifier(t, IdentityConfig{})
	r := newReq("192.0.2.1:1234", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36")
	_ = id.Identify(r)
	if a := testing.AllocsPerRun(100, func() { _ = id.Identify(r) }); a != 0 {
		t.Fatalf("Identify allocated %.1f times", a)
	}
}

// The identity cache never hands one client another's key: 20,000 distinct
// (address, agent) pairs, far more than the cache holds, each checked
// against a fresh HMAC, twice (cold and after churn).
func TestIdentityCacheExact(t *testing.T) {
	id := mustIdentifier(t, IdentityConfig{})
	for round := 0; round < 2; round++ {
		for i := 0; i < 20000; i++ {
			ip := "10." + strconv.Itoa(i/65536) + "." + strconv.Itoa(i/256%256) + "." + strconv.Itoa(i%256)
			r := newReq(ip+":1", "ua-"+strconv.Itoa(i%3))
			got := id.Identify(r)
			// the expected identity, computed without the cache
			want := Identity{IP: netip.MustParseAddr(ip)}
			want.Group = netip.PrefixFrom(want.IP, 32)
			id.hmacs(&want, r.Header.Get("User-Agent"))
			if got != want {
				t.Fatalf("round %d client %d: Identify = %+v, want %+v", round, i, got, want)
			}
		}
	}
}

// A poisoned cache hands out nothing: every slot holds an entry for a pair
// that differs from the request's in one detail (agent, its length, group,
// group kind or prefix length) with a bogus key, and Identify must still
// return the HMAC of the request's own pair, whichever slots the pair maps
// to. The control case (the poisoned pair itself) proves the cache is read.
func TestIdentityCachePoisoned(t *testing.T) {
	const ua = "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"
	bogus := [32]byte{0xba, 0xd}
	for _, tc := range []struct {
		name, remote, ua string
		v6bits           int
		poisonRemote     string
		poisonUA         string
		poisonBits       int // 0: the group of poisonRemote as the Identifier groups it
	}{
		{"other agent", "192.0.2.1:1", ua, 0, "192.0.2.1:1", ua + "x", 0},
		{"agent prefix", "192.0.2.1:1", ua + "x", 0, "192.0.2.1:1", ua, 0},
		{"agent of the same length", "192.0.2.1:1", ua, 0, "192.0.2.1:1", ua[:len(ua)-1] + "1", 0},
		{"agent differing first", "192.0.2.1:1", ua, 0, "192.0.2.1:1", "m" + ua[1:], 0},
		{"no agent", "192.0.2.1:1", "", 0, "192.0.2.1:1", " ", 0},
		{"other IPv4", "192.0.2.1:1", ua, 0, "192.0.2.2:1", ua, 0},
		{"IPv4 vs mapped IPv6 bytes", "192.0.2.1:1", ua, 128, "[::ffff:c000:201]:1", ua, 128},
		{"IPv6 other /64", "[2001:db8:0:1::1]:1", ua, 0, "[2001:db8:0:2::1]:1", ua, 0},
		{"IPv6 same address, other prefix length", "[2001:db8::1]:1", ua, 64, "[2001:db8::]:1", ua, 56},
		{"no address vs 0.0.0.0", "not-an-address", ua, 0, "0.0.0.0:1", ua, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := mustIdentifier(t, IdentityConfig{IPv6Prefix: tc.v6bits})
			r := newReq(tc.remote, tc.ua)
			want := id.Identify(r) // from an empty cache: computed
			w2 := want
			id.hmacs(&w2, tc.ua)
			if w2 != want {
				t.Fatal("keys from an empty cache differ from the HMAC")
			}

			p := id.Identify(newReq(tc.poisonRemote, tc.poisonUA))
			group := p.Group
			if tc.poisonBits != 0 {
				group = netip.PrefixFrom(group.Addr(), tc.poisonBits)
			}
			if tc.name == "IPv4 vs mapped IPv6 bytes" {
				// the same 16 bytes and prefix length, another address family:
				// the cache must tell 192.0.2.1/32 from ::ffff:192.0.2.1/32
				group = netip.PrefixFrom(netip.AddrFrom16(want.Group.Addr().As16()), want.Group.Bits())
			}
			if group == want.Group && tc.poisonUA == tc.ua {
				t.Fatal("the poisoned pair is the request's own pair")
			}
			for i := range id.cache {
				id.cache[i].Store(&cachedIdentity{group: group, ua: tc.poisonUA, key: bogus, ipKey: bogus})
			}
			if got := id.Identify(r); got != want {
				t.Fatalf("Identify(%s, %q) with a poisoned cache = %+v, want %+v", tc.remote, tc.ua, got, want)
			}
			// Control: the poisoned pair itself is answered from the cache.
			for i := range id.cache {
				id.cache[i].Store(&cachedIdentity{group: want.Group, ua: tc.ua, key: bogus, ipKey: bogus})
			}
			if id.Identify(r).Key != bogus {
				t.Fatal("control: the cache was not consulted, so this test proves nothing")
			}
		})
	}
}
