package auditlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestRequestID(t *testing.T) {
	tests := []struct {
		name     string
		incoming []string
		ignore   bool
		keep     bool // the incoming id is kept
	}{
		{"none", nil, false, false},
		{"valid", []string{"abc-DEF_1.2"}, false, true},
		{"64 bytes", []string{strings.Repeat("a", 64)}, false, true},
		{"65 bytes", []string{strings.Repeat("a", 65)}, false, false},
		{"empty", []string{""}, false, false},
		{"space", []string{"a b"}, false, false},
		{"CRLF", []string{"a\r\nb"}, false, false},
		{"quote", []string{`a"b`}, false, false},
		{"html", []string{"<script>"}, false, false},
		{"unicode", []string{"idé"}, false, false},
		{"slash", []string{"a/b"}, false, false},
		{"two headers", []string{"one", "two"}, false, false},
		{"valid but ignored", []string{"abc"}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rl, err := NewRequestLogger(nil, RequestLogOptions{IgnoreIncomingID: tt.ignore})
			if err != nil {
				t.Fatal(err)
			}
			var seen string
			h := rl.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				info, ok := RequestInfoFrom(r.Context())
				if !ok {
					t.Fatal("no RequestInfo in the context")
				}
				seen = info.RequestID
			}))
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			for _, v := range tt.incoming {
				r.Header.Add("X-Request-ID", v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if got := w.Header().Values("X-Request-ID"); len(got) != 1 || got[0] != seen {
				t.Fatalf("response header %q, context id %q", got, seen)
			}
			if tt.keep {
				if seen != tt.incoming[0] {
					t.Errorf("id = %q, want the incoming %q", seen, tt.incoming[0])
				}
			} else if !hex32.MatchString(seen) {
				t.Errorf("id = %q, want 32 fresh hex digits", seen)
			}
		})
	}
}

func TestRequestIDGenerated(t *testing.T) {
	rl, _ := NewRequestLogger(nil, RequestLogOptions{Rand: bytes.NewReader(bytes.Repeat([]byte{0xab}, 16))})
	h := rl.Handler(http.NotFoundHandler())
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if got := w.Header().Get("X-Request-ID"); got != strings.Repeat("ab", 16) {
		t.Errorf("id from injected Rand = %q", got)
	}
	// A failing Rand falls back to crypto/rand, and ids differ.
	rl, _ = NewRequestLogger(nil, RequestLogOptions{Rand: iotestErrReader{}})
	h = rl.Handler(http.NotFoundHandler())
	seen := map[string]bool{}
	for range 100 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
		id := w.Header().Get("X-Request-ID")
		if !hex32.MatchString(id) || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
	}
}

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

func TestRequestLoggerHeaderName(t *testing.T) {
	for _, bad := range []string{"X Request", "X-ID\r\n", "a:b", "é"} {
		_, err := NewRequestLogger(nil, RequestLogOptions{HeaderName: bad})
		if err == nil || !strings.Contains(err.Error(), "HeaderName") || !strings.Contains(err.Error(), `"`) {
			t.Errorf("HeaderName %q: err = %v", bad, err)
		}
	}
	rl, err := NewRequestLogger(nil, RequestLogOptions{HeaderName: "x-correlation-id"})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("X-Correlation-Id", "corr-1")
	w := httptest.NewRecorder()
	rl.Handler(http.NotFoundHandler()).ServeHTTP(w, r)
	if got := w.Header().Get("X-Correlation-Id"); got != "corr-1" {
		t.Errorf("custom header = %q", got)
	}
}

func TestAccessLine(t *testing.T) {
	var buf bytes.Buffer
	clk := newClock()
	l := New(&buf, Options{Now: clk.Now, IP: IPMasked})
	rl, _ := NewRequestLogger(l, RequestLogOptions{})
	var inner *http.Request
	h := rl.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner = r
		info, _ := RequestInfoFrom(r.Context()) // what later middlewares fill in
		info.Client = "c0ffee01"
		info.Sub = "alice"
		info.JTI = "jti-1"
		clk.Add(1500 * time.Microsecond)
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, "hello")
	}))
	r := httptest.NewRequest(http.MethodPost, "/api/items?access_token="+fakeJWT, nil)
	r.Header.Set("X-Request-ID", "rid-7")
	r.Header.Set("User-Agent", "secret-agent") // not logged by default
	h.ServeHTTP(httptest.NewRecorder(), r)

	got := only(t, buf.Bytes())
	want := map[string]any{
		"level": "info", "time": "2026-01-02T03:04:05.001Z", "event": "request",
		"request_id": "rid-7", "client": "c0ffee01", "ip": "192.0.2.0/24",
		"method": "POST", "path": "/api/items", "sub": "alice", "jti": "jti-1",
		"status": json.Number("201"), "bytes": json.Number("5"), "duration": json.Number("1.5"),
	}
	if len(got) != len(want) {
		t.Errorf("fields\n got %v\nwant %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	assertNoSecrets(t, buf.Bytes(), fakeJWT, "access_token", "secret-agent")
	if _, ok := RequestInfoFrom(r.Context()); ok {
		t.Error("the caller's request was mutated")
	}
	if inner == r {
		t.Error("next got the caller's request, not a copy")
	}
}

func TestAccessLineStatus(t *testing.T) {
	tests := []struct {
		name    string
		h       http.HandlerFunc
		status  int64
		bytes   int64
		panicky bool
	}{
		{"nothing written", func(http.ResponseWriter, *http.Request) {}, 200, 0, false},
		{"write only", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("abc")) }, 200, 3, false},
		{"early hints then 204", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusNoContent)
		}, 204, 0, false},
		{"second WriteHeader ignored", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusNotFound)
			w.WriteHeader(http.StatusOK)
		}, 404, 0, false},
		{"ReadFrom", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.Copy(w, strings.NewReader(strings.Repeat("x", 10000)))
		}, 200, 10000, false},
		{"panic", func(http.ResponseWriter, *http.Request) { panic("boom") }, 500, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			rl, _ := NewRequestLogger(New(&buf, Options{}), RequestLogOptions{})
			func() {
				defer func() {
					if p := recover(); (p != nil) != tt.panicky {
						t.Errorf("recover() = %v", p)
					}
				}()
				rl.Handler(tt.h).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
			}()
			m := only(t, buf.Bytes())
			if num(t, m, "status") != tt.status || num(t, m, "bytes") != tt.bytes {
				t.Errorf("status %v bytes %v, want %d %d", m["status"], m["bytes"], tt.status, tt.bytes)
			}
			if (m["panic"] == true) != tt.panicky {
				t.Errorf("panic = %v", m["panic"])
			}
		})
	}
}

func TestResponseWriterKeepsInterfaces(t *testing.T) {
	rl, _ := NewRequestLogger(New(io.Discard, Options{}), RequestLogOptions{})
	rec := httptest.NewRecorder()
	rl.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(http.Flusher); !ok {
			t.Error("not an http.Flusher")
		}
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("ResponseController.Flush: %v", err)
		}
		// Recorder has no deadlines: the controller must reach it through
		// Unwrap and report ErrNotSupported from it, not fail on the wrapper.
		if err := http.NewResponseController(w).SetWriteDeadline(time.Time{}); !errors.Is(err, http.ErrNotSupported) {
			t.Errorf("SetWriteDeadline: %v", err)
		}
		if _, _, err := w.(http.Hijacker).Hijack(); !errors.Is(err, http.ErrNotSupported) {
			t.Errorf("Hijack on a recorder: %v", err)
		}
	})).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if !rec.Flushed {
		t.Error("flush did not reach the underlying writer")
	}
}

func TestHijackOverRealServer(t *testing.T) {
	lineCh := make(chan []byte, 1)
	rl, _ := NewRequestLogger(New(chanWriter(lineCh), Options{}), RequestLogOptions{})
	srv := httptest.NewServer(rl.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		_, _ = rw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
		_ = rw.Flush()
		_ = c.Close()
	})))
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	srv.Close()
	m := only(t, <-lineCh) // the access line is written after the handler returns

	if m["hijacked"] != true {
		t.Errorf("line %v lacks hijacked", m)
	}
}

func TestRequestLoggerNilLoggerOnlyHandlesID(t *testing.T) {
	rl, err := NewRequestLogger(nil, RequestLogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var wrapped bool
	w := httptest.NewRecorder()
	rl.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, wrapped = w.(*responseWriter)
	})).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if wrapped {
		t.Error("writer wrapped although nothing is logged")
	}
	if !hex32.MatchString(w.Header().Get("X-Request-ID")) {
		t.Error("no request id")
	}
}

// chanWriter sends each line written to it on a channel.
type chanWriter chan []byte

func (c chanWriter) Write(p []byte) (int, error) {
	c <- bytes.Clone(p)
	return len(p), nil
}
