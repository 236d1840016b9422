package auditlog

import (
	"bytes"
	"context"

	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// bothSinks runs scenario once on a zerolog Logger and once on a slog one
// (slog.NewJSONHandler), each with its own clock from t0, and returns the
// decoded lines of each.
func bothSinks(t *testing.T, o Options, scenario func(l *Logger, c *clock)) (zl, sl []map[string]any, raw []byte) {
	t.Helper()
	var zbuf, sbuf bytes.Buffer
	zc, sc := newClock(), newClock()
	zo, so := o, o
	zo.Now, so.Now = zc.Now, sc.Now
	scenario(New(&zbuf, zo), zc)
	scenario(NewSlog(slog.New(slog.NewJSONHandler(&sbuf, nil)), so), sc)
	return lines(t, zbuf.Bytes()), lines(t, sbuf.Bytes()), append(zbuf.Bytes(), sbuf.Bytes()...)
}

// fromSlog maps a slog JSON line onto the schema: "msg" must be the event
// and is dropped, level is lower-cased, time is rewritten in the schema's
// layout (slog writes nanoseconds).
func fromSlog(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	if m["msg"] != m["event"] {
		t.Errorf("slog msg = %v, want the event %v", m["msg"], m["event"])
	}
	delete(out, "msg")
	if s, ok := m["level"].(string); ok {
		out["level"] = strings.ToLower(s)
	}
	if s, ok := m["time"].(string); ok {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Errorf("slog time %q: %v", s, err)
		}
		out["time"] = string(appendTime(nil, tm))
	}
	return out
}

// sameLines fails unless the two sinks wrote the same lines: the same keys,
// the same JSON types and the same values.
func sameLines(t *testing.T, zl, sl []map[string]any) {
	t.Helper()
	if len(zl) != len(sl) {
		t.Fatalf("zerolog wrote %d lines, slog %d:\nzerolog %v\nslog    %v", len(zl), len(sl), zl, sl)
	}
	for i := range zl {
		s := fromSlog(t, sl[i])
		if !reflect.DeepEqual(zl[i], s) {
			t.Errorf("line %d differs:\nzerolog %v\nslog    %v", i, zl[i], s)
		}
	}
}

func TestSlogSameLinesAsZerolog(t *testing.T) {
	long := strings.Repeat("é", 300)
	events := []struct {
		name string
		r    func() *http.Request
		e    Event
	}{
		{"login_success", authedRequest, Event{Name: LoginSuccess, Sub: "alice"}},
		{"login_failure", authedRequest, Event{Name: LoginFailure, Reason: "bad_password", Sub: "bob", Status: 401}},
		{"token_issued", nil, Event{Name: TokenIssued, Sub: "alice", JTI: "j1", KID: "k1", Iss: "apiguard", Token: TokenID(fakeJWT)}},
		{"token_rejected", authedRequest, Event{Name: TokenRejected, Reason: "expired", KID: "k1", Token: fakeJWT, Status: 401, Detail: "token expired"}},
		{"token_revoked", nil, Event{Name: TokenRevoked, Reason: "logout", JTI: "j3", Iss: "apiguard"}},
		{"refresh_reuse", authedRequest, Event{Name: RefreshReuse, Reason: "spent_token", Sub: "alice"}},
		{"security_threat", authedRequest, Event{Name: SecurityThreat, Reason: "alg_none", Status: 401}},
		{"store_unavailable", nil, Event{Name: StoreUnavailable, Reason: "redis_down", Detail: "fail closed"}},
		{"truncated", authedRequest, Event{Name: LoginFailure, Reason: long, Sub: long, Status: 401}},
	}
	modes := []IPMode{IPFull, IPMasked, IPNone}
	for _, mode := range modes {
		for _, ev := range events {
			t.Run(fmt.Sprintf("%s/%s", mode, ev.name), func(t *testing.T) {
				zl, sl, raw := bothSinks(t, Options{IP: mode}, func(l *Logger, _ *clock) {
					var r *http.Request
					if ev.r != nil {
						r = ev.r()
					}
					l.Record(r, ev.e)
				})
				sameLines(t, zl, sl)
				assertNoSecrets(t, raw, fakeJWT, "eyJhbGci", "access_token")
				if mode != IPFull {
					assertNoSecrets(t, raw, "203.0.113.7")
				}
			})
		}
	}
}

// TestSlogSameAggregation floods both sinks with threats, refusals and
// refused requests: the same lines are written and the same are held back,
// with the same summaries and log_suppressed counts.
func TestSlogSameAggregation(t *testing.T) {
	refused := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if info, ok := RequestInfoFrom(r.Context()); ok {
			info.Client = "c0ffee01"
			info.IP = netip.MustParseAddr("203.0.113.7")
		}
		w.WriteHeader(http.StatusUnauthorized)
	})
	scenario := func(l *Logger, c *clock) {
		rl := MustNewRequestLogger(l, RequestLogOptions{LogUserAgent: true})
		h := rl.Handler(refused)
		for i := range 12 {
			l.Record(authedRequest(), Event{Name: SecurityThreat, Reason: "alg_none"})
			l.Record(authedRequest(), Event{Name: TokenRejected, Reason: "bad_signature", Status: 401})
			r := httptest.NewRequest(http.MethodGet, "/api/me?access_token="+fakeJWT, nil)
			r.Header.Set("X-Request-ID", fmt.Sprintf("rid-%d", i))
			h.ServeHTTP(httptest.NewRecorder(), r)
			c.Add(time.Second)
		}
		// Many clients at once: beyond the ceiling.
		for i := range 30 {
			r := authedRequest()
			info, _ := RequestInfoFrom(r.Context())
			info.Client = fmt.Sprintf("client-%d", i)
			l.Record(r, Event{Name: RateLimited, Reason: "rate", Status: 429})
		}
		c.Add(2 * time.Minute)
		l.Record(authedRequest(), Event{Name: TokenRejected, Reason: "bad_signature", Status: 401})
		l.Flush()
	}
	zl, sl, raw := bothSinks(t, Options{RefusalCeiling: 10}, scenario)
	sameLines(t, zl, sl)
	assertNoSecrets(t, raw, fakeJWT, "eyJhbGci", "access_token")
	var summaries, floods int
	for _, m := range zl {
		if m["summary"] == true {
			summaries++
		}
		if m["event"] == string(LogSuppressed) {
			floods++
		}
	}
	if summaries == 0 || floods == 0 {
		t.Fatalf("the scenario wrote %d summaries and %d log_suppressed lines; it must exercise both:\n%v", summaries, floods, zl)
	}
}

func TestSlogLevelsAndNil(t *testing.T) {
	var buf bytes.Buffer
	var counted int
	l := NewSlog(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn})), Options{
		Counter: CounterFunc(func(string, string) { counted++ }),
	})
	l.Record(nil, Event{Name: LoginSuccess})
	l.Record(authedRequest(), Event{Name: TokenRejected, Reason: "expired", Status: 401})
	l.Record(nil, Event{Name: SecurityThreat, Reason: "alg_none"})
	ls := lines(t, buf.Bytes())
	if len(ls) != 1 || ls[0]["event"] != "security_threat" || ls[0]["level"] != "WARN" {
		t.Errorf("a warn handler wrote %v, want the threat alone at WARN", ls)
	}
	if counted != 3 {
		t.Errorf("counted %d events, want 3 (the handler's level does not hide events from the Counter)", counted)
	}
	if !l.slogDrops(context.Background()) {
		t.Error("info reported enabled under a warn handler")
	}
	n := NewSlog(nil, Options{})
	n.Record(authedRequest(), Event{Name: SecurityThreat})
	n.Flush()
	if !n.slogDrops(context.Background()) {
		t.Error("a nil slog.Logger reports info enabled")
	}
}

// ctxHandler records the contexts it is handed.
type ctxHandler struct {
	slog.Handler
	got *[]context.Context
}

func (h ctxHandler) Handle(ctx context.Context, r slog.Record) error {
	*h.got = append(*h.got, ctx)
	return h.Handler.Handle(ctx, r)
}

func TestSlogGetsRequestContext(t *testing.T) {
	type key struct{}
	var got []context.Context
	l := NewSlog(slog.New(ctxHandler{slog.NewJSONHandler(io.Discard, nil), &got}), Options{})
	r := authedRequest()
	r = r.WithContext(context.WithValue(r.Context(), key{}, "span"))
	l.Record(r, Event{Name: LoginSuccess})
	if len(got) != 1 || got[0].Value(key{}) != "span" {
		t.Errorf("the handler was not given the request's context")
	}
}

func ExampleNewSlog() {
	h := slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{
		// Drop time for a stable output.
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})
	l := NewSlog(slog.New(h), Options{IP: IPMasked})
	r := httptest.NewRequest(http.MethodGet, "/api/me?access_token=secret", nil)
	r.RemoteAddr = "203.0.113.7:4242"
	l.Record(r, Event{Name: TokenRejected, Reason: "expired", Status: 401, Detail: "token expired"})
	// Output:
	// {"level":"INFO","msg":"token_rejected","event":"token_rejected","reason":"expired","status":401,"detail":"token expired","ip":"203.0.113.0/24","method":"GET","path":"/api/me"}
}
