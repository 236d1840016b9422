package problem

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

func TestPrefersAccept(t *testing.T) {
	tests := []struct {
		accept []string
		want   bool
	}{
		{nil, false},
		{[]string{""}, false},
		{[]string{"*/*"}, false},
		{[]string{"application/*"}, false},
		{[]string{"application/json"}, false},
		{[]string{"application/problem+json"}, true},
		{[]string{"APPLICATION/Problem+JSON"}, true},
		{[]string{"application/problem+json, application/json"}, true},
		{[]string{"application/json, application/problem+json"}, true}, // order does not matter
		{[]string{"application/json", "application/problem+json"}, true},
		{[]string{"application/problem+json;q=0.5, application/json"}, false},
		{[]string{"application/problem+json;q=0.9, application/json;q=0.8"}, true},
		{[]string{"application/problem+json ; q=1.000 , application/json;q=1"}, true},
		{[]string{"application/problem+json;q=0"}, false},
		{[]string{"application/problem+json;q=0.000"}, false},
		{[]string{"application/problem+json;q=0.001"}, true},
		{[]string{"application/*;q=0.9, application/json;q=0.1"}, true}, // problem via the wildcard, 0.9 > 0.1
		{[]string{"*/*;q=0.5, application/json;q=0.5"}, false},
		{[]string{"*/*, application/problem+json;q=0"}, false}, // the exact range wins over the wildcard
		{[]string{"application/problem+json;q=0, */*"}, false},
		{[]string{"text/html, application/problem+json;q=0.1"}, true},
		// malformed q-values: the range is ignored
		{[]string{"application/problem+json;q=2"}, false},
		{[]string{"application/problem+json;q=1.5"}, false},
		{[]string{"application/problem+json;q=0.1234"}, false},
		{[]string{"application/problem+json;q=x"}, false},
		{[]string{"application/problem+json;q="}, false},
		{[]string{"application/problem+json;q=-1"}, false},
		{[]string{"application/problem+json;q=2, application/json"}, false},
		// malformed ranges are ignored
		{[]string{"application, problem+json"}, false},
		{[]string{"/problem+json"}, false},
		{[]string{"application/problem+json;charset=utf-8"}, true},
		{[]string{",,, ,application/problem+json"}, true},
		{[]string{"application/problem+json, application/problem+json;q=0"}, false}, // a refusal is not overridden
	}
	for _, tt := range tests {
		if got := PrefersAccept(tt.accept...); got != tt.want {
			t.Errorf("Accept %q: Prefers %v, want %v", tt.accept, got, tt.want)
		}
	}
}

// Ranges beyond the first 64 are not read, so a huge Accept costs a bounded
// amount of work.
func TestPrefersAcceptBounded(t *testing.T) {
	long := ""
	for range maxRanges {
		long += "text/plain, "
	}
	if PrefersAccept(long + "application/problem+json") {
		t.Fatal("the 65th range was read")
	}
	if !PrefersAccept(long[:len(long)-len("text/plain, ")] + "application/problem+json") {
		t.Fatal("the 64th range was not read")
	}
}

func TestPrefersRequest(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Add("Accept", "text/html")
	r.Header.Add("Accept", "application/problem+json")
	if !Prefers(r) {
		t.Fatal("second Accept line not read")
	}
}

func TestPrefersAllocs(t *testing.T) {
	a := "text/html;q=0.9, application/problem+json, application/json;q=0.5, */*;q=0.1"
	if n := testing.AllocsPerRun(100, func() { _ = PrefersAccept(a) }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

func TestWrite(t *testing.T) {
	rec := httptest.NewRecorder()
	rec.Header().Set("Retry-After", "3")
	Write(rec, Details{Type: TypeQuotaExceeded, Title: "Too many requests", Status: 429, ViolatedPolicies: []string{"burst", "daily"}})
	if rec.Code != 429 || rec.Header().Get("Content-Type") != MediaType || rec.Header().Get("Retry-After") != "3" {
		t.Fatalf("status %d, headers %v", rec.Code, rec.Header())
	}
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"type":              TypeQuotaExceeded,
		"title":             "Too many requests",
		"status":            float64(429),
		"violated-policies": []any{"burst", "daily"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("body %s", rec.Body)
	}
	// an invalid status is never written as is
	rec = httptest.NewRecorder()
	Write(rec, Details{Title: "x"})
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d for a zero Details.Status", rec.Code)
	}
}

func FuzzPrefersAccept(f *testing.F) {
	for _, s := range []string{"application/problem+json;q=0.5, application/json", "*/*", "a/b;q=1.000;x=y", ";;,/,;q="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// An explicit refusal of problem details always wins (within the
		// ranges read).
		if strings.Count(s, ",") < maxRanges-2 && PrefersAccept(s+", application/problem+json;q=0") {
			t.Fatalf("%q with problem+json;q=0 still prefers problem details", s)
		}
	})
}
