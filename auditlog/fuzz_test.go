package auditlog

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzRequestID feeds arbitrary X-Request-ID values through the middleware:
// the id used is either the incoming one, when it is safe, or a fresh one.
func FuzzRequestID(f *testing.F) {
	for _, s := range []string{"", "abc", "a b", "a\r\nb", strings.Repeat("z", 64), strings.Repeat("z", 65), "é", "../x"} {
		f.Add(s)
	}
	rl, err := NewRequestLogger(nil, RequestLogOptions{})
	if err != nil {
		f.Fatal(err)
	}
	var seen string
	h := rl.Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		info, _ := RequestInfoFrom(r.Context())
		seen = info.RequestID
	}))
	f.Fuzz(func(t *testing.T, id string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header["X-Request-Id"] = []string{id}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if seen == id {
			if !ValidRequestID(id) {
				t.Fatalf("unsafe id %q kept", id)
			}
			for _, c := range []byte(id) {
				if !strings.ContainsRune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", rune(c)) || len(id) > 64 {
					t.Fatalf("ValidRequestID accepted %q", id)
				}
			}
		} else if !hex32.MatchString(seen) {
			t.Fatalf("id %q replaced by %q", id, seen)
		}
	})
}

// FuzzRecordFields puts arbitrary client-controlled values in every field a
// client can reach: each event is still exactly one bounded JSON line with
// the right event name.
func FuzzRecordFields(f *testing.F) {
	for _, s := range injections {
		f.Add(s, s, s)
	}
	f.Add("/a/b", "curl/8", "alice")
	f.Fuzz(func(t *testing.T, path, ua, sub string) {
		var buf bytes.Buffer
		l := New(&buf, Options{SuppressWindow: -1})
		rl, _ := NewRequestLogger(l, RequestLogOptions{LogUserAgent: true})
		h := rl.Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			l.Record(r, Event{Name: SecurityThreat, Reason: sub, Sub: sub, KID: ua, JTI: path})
		}))
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL.Path = path
		r.Method = sub
		r.Header["User-Agent"] = []string{ua}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if buf.Len() > 8192 {
			t.Fatalf("%d bytes for two lines", buf.Len())
		}
		for i, l := range bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), []byte{'\n'}) {
			var m map[string]any
			if err := json.Unmarshal(l, &m); err != nil {
				t.Fatalf("line %d: %v: %q", i, err, l)
			}
			if want := []string{"security_threat", "request"}[i]; m["event"] != want {
				t.Fatalf("line %d event %v, want %s", i, m["event"], want)
			}
			if i > 1 {
				t.Fatalf("more than two lines: %q", buf.Bytes())
			}
		}
	})
}
