package auditlog

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

const fakeJWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"

// authedRequest is a request whose context already holds what the other
// middlewares learn, with a token in its query string.
func authedRequest() *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/api/me?access_token="+fakeJWT+"&x=1", nil)
	info := &RequestInfo{RequestID: "rid-1", Client: "c0ffee01", IP: netip.MustParseAddr("203.0.113.7"), Sub: "alice", JTI: "jti-ctx"}
	return r.WithContext(WithRequestInfo(r.Context(), info))
}

func TestRecordSchema(t *testing.T) {
	reqFields := map[string]any{
		"request_id": "rid-1", "client": "c0ffee01", "ip": "203.0.113.7",
		"method": "GET", "path": "/api/me",
	}
	with := func(m map[string]any, extra map[string]any) map[string]any {
		out := maps.Clone(m)
		maps.Copy(out, extra)
		return out
	}
	base := func(level string, ev EventName) map[string]any {
		return map[string]any{"level": level, "time": "2026-01-02T03:04:05.000Z", "event": string(ev)}
	}
	tests := []struct {
		name string
		r    *http.Request
		e    Event
		want map[string]any
	}{
		{"login_success", authedRequest(), Event{Name: LoginSuccess, Sub: "alice"},
			with(base("info", LoginSuccess), with(reqFields, map[string]any{"sub": "alice", "jti": "jti-ctx"}))},
		{"login_failure", authedRequest(), Event{Name: LoginFailure, Reason: "bad_password", Sub: "bob", Status: 401},
			with(base("info", LoginFailure), with(reqFields, map[string]any{"reason": "bad_password", "sub": "bob", "jti": "jti-ctx", "status": json.Number("401")}))},
		{"token_issued", nil, Event{Name: TokenIssued, Sub: "alice", JTI: "j1", KID: "k1", Iss: "apiguard", Token: TokenID(fakeJWT)},
			with(base("info", TokenIssued), map[string]any{"sub": "alice", "jti": "j1", "kid": "k1", "iss": "apiguard", "token": TokenID(fakeJWT)})},
		{"token_refresh", nil, Event{Name: TokenRefresh, Sub: "alice", JTI: "j2"},
			with(base("info", TokenRefresh), map[string]any{"sub": "alice", "jti": "j2"})},
		{"token_rejected", authedRequest(), Event{Name: TokenRejected, Reason: "expired", KID: "k1", Token: TokenID(fakeJWT), Status: 401, Detail: "token expired"},
			with(base("info", TokenRejected), with(reqFields, map[string]any{"reason": "expired", "sub": "alice", "jti": "jti-ctx", "kid": "k1", "token": TokenID(fakeJWT), "status": json.Number("401"), "detail": "token expired"}))},
		{"token_revoked", nil, Event{Name: TokenRevoked, Reason: "logout", JTI: "j3", Iss: "apiguard"},
			with(base("info", TokenRevoked), map[string]any{"reason": "logout", "jti": "j3", "iss": "apiguard"})},
		{"refresh_reuse", authedRequest(), Event{Name: RefreshReuse, Reason: "spent_token", Sub: "alice"},
			with(base("warn", RefreshReuse), with(reqFields, map[string]any{"reason": "spent_token", "sub": "alice", "jti": "jti-ctx"}))},
		{"rate_limited", authedRequest(), Event{Name: RateLimited, Reason: "client_budget", Status: 429},
			with(base("info", RateLimited), with(reqFields, map[string]any{"reason": "client_budget", "sub": "alice", "jti": "jti-ctx", "status": json.Number("429")}))},
		{"lockout", authedRequest(), Event{Name: Lockout, Reason: "login_failures", Status: 429},
			with(base("warn", Lockout), with(reqFields, map[string]any{"reason": "login_failures", "sub": "alice", "jti": "jti-ctx", "status": json.Number("429")}))},
		{"cors_rejected", authedRequest(), Event{Name: CORSRejected, Reason: "origin_not_allowed", Status: 403},
			with(base("info", CORSRejected), with(reqFields, map[string]any{"reason": "origin_not_allowed", "sub": "alice", "jti": "jti-ctx", "status": json.Number("403")}))},
		{"security_threat", authedRequest(), Event{Name: SecurityThreat, Reason: "alg_none", Status: 401},
			with(base("warn", SecurityThreat), with(reqFields, map[string]any{"reason": "alg_none", "sub": "alice", "jti": "jti-ctx", "status": json.Number("401")}))},
		{"store_unavailable", nil, Event{Name: StoreUnavailable, Reason: "redis_down", Detail: "fail closed"},
			with(base("warn", StoreUnavailable), map[string]any{"reason": "redis_down", "detail": "fail closed"})},
		{"request without info", httptest.NewRequest(http.MethodPost, "/auth/login?u=x", nil), Event{Name: LoginFailure, Reason: "bad_password"},
			with(base("info", LoginFailure), map[string]any{"reason": "bad_password", "ip": "192.0.2.1", "method": "POST", "path": "/auth/login"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := New(&buf, Options{Now: newClock().Now})
			l.Record(tt.r, tt.e)
			got := only(t, buf.Bytes())
			if !maps.EqualFunc(got, tt.want, func(a, b any) bool { return a == b }) {
				t.Errorf("line\n got %v\nwant %v", got, tt.want)
			}
			assertNoSecrets(t, buf.Bytes(), fakeJWT, "access_token", "x=1")
		})
	}
}

func TestNilLoggerIsNoOp(t *testing.T) {
	var l *Logger
	l.Record(authedRequest(), Event{Name: SecurityThreat, Reason: "alg_none"})
	l.Record(nil, Event{Name: LoginSuccess})
	l.Flush()
	if l.infoEnabled() {
		t.Error("nil Logger reports info enabled")
	}
}

func TestLevel(t *testing.T) {
	tests := []struct {
		level zerolog.Level
		want  []string // events written, in order
	}{
		{zerolog.Disabled, nil},
		{zerolog.WarnLevel, []string{"security_threat", "store_unavailable"}},
		{zerolog.InfoLevel, []string{"login_success", "security_threat", "store_unavailable"}},
		{zerolog.NoLevel, []string{"login_success", "security_threat", "store_unavailable"}},
	}
	for _, tt := range tests {
		t.Run(tt.level.String(), func(t *testing.T) {
			var buf bytes.Buffer
			l := New(&buf, Options{Level: tt.level})
			l.Record(nil, Event{Name: LoginSuccess})
			l.Record(nil, Event{Name: SecurityThreat, Reason: "alg_none"})
			l.Record(nil, Event{Name: StoreUnavailable})
			var got []string
			for _, m := range lines(t, buf.Bytes()) {
				got = append(got, m["event"].(string))
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("written %v, want %v", got, tt.want)
			}
		})
	}
}

func TestIPModes(t *testing.T) {
	tests := []struct {
		name   string
		mode   IPMode
		ctxIP  string // "" : none in the context
		remote string
		want   any // nil: no ip field
	}{
		{"full v4 from context", IPFull, "203.0.113.7", "192.0.2.1:1", "203.0.113.7"},
		{"full from RemoteAddr", IPFull, "", "192.0.2.1:1234", "192.0.2.1"},
		{"full v6 RemoteAddr", IPFull, "", "[2001:db8:1:2::7]:443", "2001:db8:1:2::7"},
		{"full mapped", IPFull, "::ffff:203.0.113.7", "", "203.0.113.7"},
		{"masked v4", IPMasked, "203.0.113.7", "", "203.0.113.0/24"},
		{"masked v6", IPMasked, "2001:db8:1:2:3:4:5:6", "", "2001:db8:1::/48"},
		{"masked mapped is v4", IPMasked, "::ffff:198.51.100.200", "", "198.51.100.0/24"},
		{"masked RemoteAddr", IPMasked, "", "192.0.2.77:1", "192.0.2.0/24"},
		{"none", IPNone, "203.0.113.7", "192.0.2.1:1", nil},
		{"unknown mode is none", IPMode(42), "203.0.113.7", "192.0.2.1:1", nil},
		{"bad RemoteAddr", IPFull, "", "not-an-ip", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := New(&buf, Options{IP: tt.mode})
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.remote
			info := &RequestInfo{}
			if tt.ctxIP != "" {
				info.IP = netip.MustParseAddr(tt.ctxIP)
			}
			r = r.WithContext(WithRequestInfo(r.Context(), info))
			l.Record(r, Event{Name: LoginSuccess})
			got := only(t, buf.Bytes())["ip"]
			if got != tt.want {
				t.Errorf("ip = %#v, want %#v", got, tt.want)
			}
			if tt.mode == IPMasked && tt.ctxIP != "" && strings.Contains(buf.String(), tt.ctxIP+`"`) {
				t.Errorf("masked mode wrote the full IP: %s", buf.Bytes())
			}
		})
	}
	if IPMasked.String() != "masked" || IPMode(9).String() != "IPMode(9)" {
		t.Error("IPMode.String")
	}
}

func TestTokenFieldNeverHoldsAToken(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, Options{})
	l.Record(nil, Event{Name: TokenRejected, Token: fakeJWT}) // a caller's mistake
	l.Record(nil, Event{Name: TokenRejected, Token: "ABCDEF012345"})
	ls := lines(t, buf.Bytes())
	if ls[0]["token"] != TokenID(fakeJWT) {
		t.Errorf("token = %v, want the fingerprint %s", ls[0]["token"], TokenID(fakeJWT))
	}
	if ls[1]["token"] != TokenID("ABCDEF012345") {
		t.Errorf("upper-case hex is not a TokenID: got %v", ls[1]["token"])
	}
	assertNoSecrets(t, buf.Bytes(), fakeJWT, "eyJhbGci")
}

func TestTokenID(t *testing.T) {
	// sha256("abc") = ba7816bf8f01cfea...
	if got := TokenID("abc"); got != "ba7816bf8f01" {
		t.Errorf("TokenID(abc) = %s", got)
	}
	if !isTokenID(TokenID(fakeJWT)) {
		t.Error("TokenID output is not recognised as one")
	}
}

// injections are client-controlled values that try to end the line and
// start a forged one.
var injections = []string{
	"\r\n{\"event\":\"login_success\",\"sub\":\"admin\"}",
	"x\"}\n{\"event\":\"login_success\"}\n",
	"\"event\":\"login_success\"",
	"\\\"},{\"event\":\"login_success\"",
	"\u2028{\"event\":\"login_success\"}\u2029",
	"\x00\x1b[31m\x7f",
	"\xff\xfe{\"event\":\"login_success\"}", // invalid UTF-8
}

func TestInjectionCannotForgeLines(t *testing.T) {
	for i, inj := range injections {
		t.Run(string(rune('a'+i)), func(t *testing.T) {
			var buf bytes.Buffer
			l := New(&buf, Options{Now: newClock().Now})
			rl, err := NewRequestLogger(l, RequestLogOptions{LogUserAgent: true})
			if err != nil {
				t.Fatal(err)
			}
			h := rl.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				info, _ := RequestInfoFrom(r.Context())
				info.Sub = inj
				l.Record(r, Event{Name: TokenRejected, Reason: inj, Sub: inj, KID: inj, Iss: inj, JTI: inj, Detail: inj})
				l.Record(r, Event{Name: SecurityThreat, Reason: inj, Sub: inj})
			}))
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.URL.Path = "/p" + inj // as net/http decodes %0D%0A%22
			r.Header.Set("User-Agent", inj)
			r.Header.Set("X-Request-ID", inj)
			h.ServeHTTP(httptest.NewRecorder(), r)

			ls := lines(t, buf.Bytes())
			want := []string{"token_rejected", "security_threat", "request"}
			if len(ls) != len(want) {
				t.Fatalf("%d lines, want %d:\n%s", len(ls), len(want), buf.Bytes())
			}
			for j, m := range ls {
				if m["event"] != want[j] {
					t.Errorf("line %d event = %v, want %s", j, m["event"], want[j])
				}
				if m["request_id"] == inj {
					t.Error("an unsafe request id was kept")
				}
			}
			// Valid UTF-8 values come back exactly: escaped, not altered.
			if strings.ToValidUTF8(inj, "") == inj {
				if ls[0]["sub"] != inj || ls[0]["reason"] != inj || ls[2]["user_agent"] != inj || ls[2]["path"] != "/p"+inj {
					t.Errorf("values did not round-trip: %v / %v", ls[0], ls[2])
				}
			}
		})
	}
}

func TestLongFieldsAreCut(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, Options{})
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.URL.Path = "/" + strings.Repeat("é", 1<<19) // 1 MiB, 2-byte runes
	l.Record(r, Event{Name: TokenRejected, Sub: strings.Repeat("s", 1<<20), Reason: strings.Repeat("r", 1000)})
	if buf.Len() > 2048 {
		t.Errorf("line is %d bytes", buf.Len())
	}
	m := only(t, buf.Bytes())
	p := m["path"].(string)
	if len(p) > maxPath || !strings.HasPrefix(p, "/é") || strings.ContainsRune(p, '\uFFFD') {
		t.Errorf("path cut badly: %d bytes, %q...", len(p), p[:10])
	}
	if len(m["sub"].(string)) != maxSub || len(m["reason"].(string)) != maxReason {
		t.Errorf("sub/reason not cut: %d, %d", len(m["sub"].(string)), len(m["reason"].(string)))
	}
	if m["truncated"] != true {
		t.Error("no truncated flag")
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
		cut  bool
	}{
		{"abc", 3, "abc", false},
		{"abcd", 3, "abc", true},
		{"aé", 2, "a", true},
		{"é", 1, "", true},
		{"", 0, "", false},
	}
	for _, tt := range tests {
		got, cut := clip(tt.s, tt.n)
		if got != tt.want || cut != tt.cut {
			t.Errorf("clip(%q, %d) = %q, %v", tt.s, tt.n, got, cut)
		}
	}
}

func TestConcurrentRecordKeepsLinesWhole(t *testing.T) {
	var buf bytes.Buffer // not safe for concurrent use: New must serialise
	l := New(&buf, Options{SuppressWindow: -1, RefusalWindow: -1, RefusalCeiling: -1})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				l.Record(authedRequest(), Event{Name: TokenRejected, Reason: "expired", Status: 400 + g + i%2})
				l.Record(nil, Event{Name: SecurityThreat, Reason: "alg_none"})
			}
		})
	}
	wg.Wait()
	if n := len(lines(t, buf.Bytes())); n != 8*200*2 {
		t.Errorf("%d lines, want %d", n, 8*200*2)
	}
}

func TestNilWriter(t *testing.T) {
	l := New(nil, Options{})
	l.Record(authedRequest(), Event{Name: LoginSuccess}) // must not panic
}

func TestAppendTimeMatchesLayout(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2026, 11, 28, 23, 4, 5, 678_900_000, time.UTC),
		time.Date(1999, 1, 2, 3, 4, 5, 0, time.FixedZone("x", -7*3600)),
		time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(0, 1, 1, 0, 0, 0, 1_000_000, time.UTC),
		time.Unix(0, 0),
	} {
		want := tm.UTC().Format(timeLayout)
		if got := string(appendTime(nil, tm)); got != want {
			t.Errorf("appendTime(%v) = %q, want %q", tm, got, want)
		}
	}
}

// TestRecordContext: an event recorded from a context (a token service that
// has no request) carries the request's id, client and IP from its RequestInfo, no
// method or path, and is suppressed per that client like any threat.
func TestRecordContext(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, Options{Now: func() time.Time { return time.Unix(1_800_000_000, 0) }})
	info := &RequestInfo{RequestID: "req-1", Client: "abcdef012345", IP: netip.MustParseAddr("192.0.2.7")}
	ctx := WithRequestInfo(context.Background(), info)
	l.RecordContext(ctx, Event{Name: RefreshReuse, Reason: "refresh_reuse", Sub: "alice"})
	l.RecordContext(ctx, Event{Name: RefreshReuse, Reason: "refresh_reuse", Sub: "alice"}) // suppressed
	l.RecordContext(context.Background(), Event{Name: TokenRevoked, Reason: "logout"})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2 (the repeat suppressed):\n%s", len(lines), buf.String())
	}
	var first, second map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil {
		t.Fatal(err)
	}
	if first["request_id"] != "req-1" || first["client"] != "abcdef012345" || first["ip"] != "192.0.2.7" || first["sub"] != "alice" {
		t.Errorf("context fields missing: %v", first)
	}
	if _, ok := first["method"]; ok {
		t.Errorf("method written without a request: %v", first)
	}
	if _, ok := second["request_id"]; ok || second["event"] != "token_revoked" {
		t.Errorf("a context without RequestInfo: %v", second)
	}
}
