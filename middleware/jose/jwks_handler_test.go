package jose

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestJWKSHandlerHTTP(t *testing.T) {
	src := &keyList{keys: []*Key{rjKey(t, "ed", EdDSA, "ed")}}
	h := newJWKSHandler(src, DefaultJWKSMaxAge)
	get := issGetJWKS(t, h)

	t.Run("HEAD", func(t *testing.T) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/", nil))
		if rec.Code != 200 || rec.Body.Len() != 0 || rec.Header().Get("Content-Type") == "" || rec.Header().Get("Content-Length") != get.Header().Get("Content-Length") {
			t.Errorf("HEAD: %d, body %q, headers %v", rec.Code, rec.Body, rec.Header())
		}
	})
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodOptions, "PATCH"} {
		t.Run(m, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(m, "/", strings.NewReader("{}")))
			if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("%s: %d Allow %q", m, rec.Code, rec.Header().Get("Allow"))
			}
			if strings.Contains(rec.Body.String(), "keys") {
				t.Errorf("%s: body %q", m, rec.Body)
			}
		})
	}
	t.Run("If-None-Match", func(t *testing.T) {
		etag := get.Header().Get("ETag")
		if etag == "" {
			t.Fatal("no ETag")
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("If-None-Match", etag)
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
			t.Errorf("If-None-Match: %d %q", rec.Code, rec.Body)
		}
		src.set(rjKey(t, "ed2", EdDSA, "ed2"), rjKey(t, "ed", EdDSA, "ed"))
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || rec.Header().Get("ETag") == etag {
			t.Errorf("after Rotate: %d, ETag %q unchanged", rec.Code, rec.Header().Get("ETag"))
		}
	})
}

// The body is built once per key set and rebuilt when the keys change.
func TestJWKSHandlerCache(t *testing.T) {
	src := &keyList{keys: []*Key{rjKey(t, "ed", EdDSA, "ed")}}
	h := newJWKSHandler(src, DefaultJWKSMaxAge)
	issGetJWKS(t, h)
	b1 := h.body.Load()
	issGetJWKS(t, h)
	if h.body.Load() != b1 {
		t.Error("body rebuilt although the keys did not change")
	}
	src.set(rjKey(t, "ed2", EdDSA, "ed2"), rjKey(t, "ed", EdDSA, "ed"))
	rec := issGetJWKS(t, h)
	if h.body.Load() == b1 || !strings.Contains(rec.Body.String(), "ed2") {
		t.Error("body not rebuilt after Rotate")
	}
}

type issKeyList []*Key

func (l issKeyList) PublicKeys() []*Key { return l }

// NewJWKSHandler over any key list never publishes an HMAC secret.
func TestNewJWKSHandler(t *testing.T) {
	hk, err := NewKey("hmac", HS256, []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	ek, err := NewKey("", ES256, issKey(t, "p256").Public())
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewJWKSHandler(issKeyList{hk, ek}, 42*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	rec := issGetJWKS(t, h)
	body := rec.Body.String()
	if strings.Contains(body, `"k"`) || strings.Contains(body, "hmac") || strings.Contains(body, `"oct"`) {
		t.Errorf("HMAC key published: %s", body)
	}
	if keys, err := ParseJWKS(rec.Body.Bytes()); err != nil || len(keys) != 1 || keys[0].ID() != ek.ID() {
		t.Errorf("ParseJWKS: %v %v", keys, err)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "public, max-age=42" {
		t.Errorf("Cache-Control %q", cc)
	}
	for _, tt := range []struct {
		name   string
		src    PublicKeySet
		maxAge time.Duration
	}{{"nil src", nil, 0}, {"negative maxAge", issKeyList{ek}, -time.Second}} {
		if _, err := NewJWKSHandler(tt.src, tt.maxAge); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}

// keyList is a PublicKeySet whose keys can be replaced, as a rotation does.
type keyList struct {
	mu   sync.Mutex
	keys []*Key
}

func (l *keyList) PublicKeys() []*Key {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*Key(nil), l.keys...)
}

func (l *keyList) set(keys ...*Key) {
	l.mu.Lock()
	l.keys = keys
	l.mu.Unlock()
}
