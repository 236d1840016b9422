package auditlog

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

// t0 is the fixed start of every test clock.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// clock is a manual clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// lines decodes b as JSON lines: every line must be exactly one JSON object
// (json.Unmarshal rejects trailing data), and b must end with a newline.
func lines(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	if len(b) == 0 {
		return nil
	}
	if b[len(b)-1] != '\n' {
		t.Fatalf("log does not end with a newline: %q", b)
	}
	var out []map[string]any
	for i, l := range bytes.Split(b[:len(b)-1], []byte{'\n'}) {
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(l))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("line %d is not a JSON object: %v: %q", i, err, l)
		}
		if dec.More() {
			t.Fatalf("line %d holds more than one JSON value: %q", i, l)
		}
		if m == nil {
			t.Fatalf("line %d is null: %q", i, l)
		}
		out = append(out, m)
	}
	return out
}

// only returns the single line of b.
func only(t *testing.T, b []byte) map[string]any {
	t.Helper()
	ls := lines(t, b)
	if len(ls) != 1 {
		t.Fatalf("want 1 line, got %d:\n%s", len(ls), b)
	}
	return ls[0]
}

// num returns m[k] as an int64 (a json.Number), or fails.
func num(t *testing.T, m map[string]any, k string) int64 {
	t.Helper()
	n, ok := m[k].(json.Number)
	if !ok {
		t.Fatalf("field %q = %#v, want a number", k, m[k])
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatalf("field %q = %v: %v", k, n, err)
	}
	return i
}

// assertNoSecrets fails if any secret appears in b.
func assertNoSecrets(t *testing.T, b []byte, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(string(b), s) {
			t.Errorf("secret %q appears in the log:\n%s", s, b)
		}
	}
}
