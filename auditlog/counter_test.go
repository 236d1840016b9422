package auditlog

import (
	"bytes"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"
)

// countingCounter is a Counter that keeps its counts in a map, safe for
// concurrent use.
type countingCounter struct {
	mu sync.Mutex
	n  map[[2]string]int
}

func newCountingCounter() *countingCounter {
	return &countingCounter{n: make(map[[2]string]int)}
}

func (c *countingCounter) Inc(event, reason string) {
	c.mu.Lock()
	c.n[[2]string{event, reason}]++
	c.mu.Unlock()
}

func (c *countingCounter) get(event, reason string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[[2]string{event, reason}]
}

func (c *countingCounter) series() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.n)
}

func TestCounterLabels(t *testing.T) {
	tests := []struct {
		name          string
		e             Event
		event, reason string
	}{
		{"known event and reason", Event{Name: TokenRejected, Reason: "expired"}, "token_rejected", "expired"},
		{"no reason", Event{Name: LoginSuccess}, "login_success", NoReasonLabel},
		{"event outside the schema", Event{Name: "made_up"}, OtherLabel, NoReasonLabel},
		{"event outside the schema keeps a code", Event{Name: "made_up", Reason: "expired"}, OtherLabel, "expired"},
		{"reason with CR LF and spaces", Event{Name: TokenRejected, Reason: "Bad Reason\r\n"}, "token_rejected", OtherLabel},
		{"upper-case reason", Event{Name: TokenRejected, Reason: "Expired"}, "token_rejected", OtherLabel},
		{"reason over 64 bytes", Event{Name: TokenRejected, Reason: strings.Repeat("a", 65)}, "token_rejected", OtherLabel},
		{"reason of 64 bytes", Event{Name: TokenRejected, Reason: strings.Repeat("a", 64)}, "token_rejected", strings.Repeat("a", 64)},
		{"request access line name", Event{Name: Request}, "request", NoReasonLabel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCountingCounter()
			New(nil, Options{Counter: c}).Record(nil, tt.e)
			if got := c.get(tt.event, tt.reason); got != 1 || c.series() != 1 {
				t.Errorf("counts %v, want {%s %s}:1", c.n, tt.event, tt.reason)
			}
		})
	}
}

// TestCounterCountsEverything checks that counting depends neither on the
// level nor on the suppression of repeated threats.
func TestCounterCountsEverything(t *testing.T) {
	tests := []struct {
		name string
		o    Options
	}{
		{"level disabled, suppression on", Options{Level: zerolog.Disabled}},
		{"every level, suppression on", Options{}},
		{"suppression off", Options{SuppressWindow: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCountingCounter()
			tt.o.Counter = c
			var buf bytes.Buffer
			l := New(&buf, tt.o)
			for range 100 {
				l.Record(clientRequest("a"), Event{Name: SecurityThreat, Reason: "alg_none"})
			}
			l.RecordContext(t.Context(), Event{Name: TokenRevoked})
			if got := c.get("security_threat", "alg_none"); got != 100 {
				t.Errorf("security_threat/alg_none = %d, want 100", got)
			}
			if got := c.get("token_revoked", NoReasonLabel); got != 1 {
				t.Errorf("token_revoked/none = %d, want 1", got)
			}
			if tt.o.Level == zerolog.Disabled && buf.Len() != 0 {
				t.Errorf("disabled level wrote %s", buf.Bytes())
			}
		})
	}
}

// TestCounterReasonCap proves the cardinality bound: however many distinct
// reasons are recorded, the Counter sees at most MaxReasonLabels of them,
// plus OtherLabel.
func TestCounterReasonCap(t *testing.T) {
	tests := []struct {
		name    string
		reasons int
		series  int
		other   int
	}{
		{"under the cap", MaxReasonLabels - 1, MaxReasonLabels - 1, 0},
		{"at the cap", MaxReasonLabels, MaxReasonLabels, 0},
		{"ten times the cap", 10 * MaxReasonLabels, MaxReasonLabels + 1, 9 * MaxReasonLabels},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCountingCounter()
			l := New(nil, Options{Counter: c})
			for i := range tt.reasons {
				l.Record(nil, Event{Name: TokenRejected, Reason: "r" + strconv.Itoa(i)})
			}
			// A reason seen before the cap keeps its label after it.
			l.Record(nil, Event{Name: TokenRejected, Reason: "r0"})
			if n := c.series(); n != tt.series {
				t.Errorf("%d series, want %d", n, tt.series)
			}
			if got := c.get("token_rejected", OtherLabel); got != tt.other {
				t.Errorf("other = %d, want %d", got, tt.other)
			}
			if got := c.get("token_rejected", "r0"); got != 2 {
				t.Errorf("r0 = %d, want 2", got)
			}
		})
	}
}

func TestCounterConcurrent(t *testing.T) {
	c := newCountingCounter()
	l := New(nil, Options{Counter: c})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				l.Record(nil, Event{Name: TokenRejected, Reason: "r" + strconv.Itoa(g*100+i)})
			}
		})
	}
	wg.Wait()
	if n := c.series(); n != MaxReasonLabels+1 {
		t.Errorf("%d series, want %d", n, MaxReasonLabels+1)
	}
}

func TestCounterFunc(t *testing.T) {
	var got []string
	l := New(nil, Options{Counter: CounterFunc(func(event, reason string) { got = append(got, event+"/"+reason) })})
	l.Record(nil, Event{Name: Lockout, Reason: "login"})
	if len(got) != 1 || got[0] != "lockout/login" {
		t.Errorf("got %v", got)
	}
	var nilL *Logger
	nilL.Record(nil, Event{Name: Lockout}) // no counter, no panic
}
