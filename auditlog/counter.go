package auditlog

import (
	"maps"
	"sync"
	"sync/atomic"
)

// Label values a Logger gives a Counter when an event or reason cannot be a
// label of its own.
const (
	// OtherLabel replaces an event name outside the schema, a reason that
	// is not a code-like identifier, and any reason beyond the cap.
	OtherLabel = "other"
	// NoReasonLabel is the reason label of an event without a reason.
	NoReasonLabel = "none"
	// MaxReasonLabels is how many distinct reasons one Logger passes to its
	// Counter as they are; later new reasons are passed as OtherLabel.
	MaxReasonLabels = 128
)

// Counter counts audit events by event name and reason, for a metrics
// system. Package auditlog/prom provides one for Prometheus
// (apiguard_events_total{event,reason}); this package imports no metrics
// library, so code that only logs does not compile one.
//
// A Logger with Options.Counter calls Inc once for every event given to
// Record or RecordContext, including those below the level and repeats
// suppressed from the log. The access lines of the RequestLogger are not
// counted.
//
// The Logger bounds both values before the call, so they may be used as
// label values as they are, whatever the input: event is an EventName of the
// schema or OtherLabel; reason is NoReasonLabel for an event without one,
// OtherLabel for a reason that does not look like a code (1 to 64 bytes of
// [a-z0-9_.-]), and otherwise the reason itself, for at most MaxReasonLabels
// distinct reasons per Logger (later new ones are OtherLabel). Reasons are
// meant to be code constants; the bound only keeps a mistake from exploding
// the series.
//
// Inc is called on the request path, from many goroutines at once: it must be
// safe for concurrent use and should neither block nor allocate.
type Counter interface {
	Inc(event, reason string)
}

// CounterFunc adapts a function to the Counter interface.
type CounterFunc func(event, reason string)

// Inc calls f(event, reason).
func (f CounterFunc) Inc(event, reason string) { f(event, reason) }

// boundedCounter passes events to a Counter with bounded label values (see
// Counter). Safe for concurrent use; a known reason is looked up without a
// lock.
type boundedCounter struct {
	c Counter

	// reasons holds the reasons passed on as they are, at most
	// MaxReasonLabels. The map is never written once stored: a new reason
	// stores a copy, under mu, at most MaxReasonLabels times.
	reasons atomic.Pointer[map[string]struct{}]
	mu      sync.Mutex
}

// newBoundedCounter returns c behind the label bound; nil for a nil c.
func newBoundedCounter(c Counter) *boundedCounter {
	if c == nil {
		return nil
	}
	b := &boundedCounter{c: c}
	b.reasons.Store(&map[string]struct{}{})
	return b
}

// inc counts one event. A nil boundedCounter does nothing. Once a reason has
// been seen it does not allocate.
func (b *boundedCounter) inc(event EventName, reason string) {
	if b == nil {
		return
	}
	ev, re := b.labels(event, reason)
	b.c.Inc(ev, re)
}

// labels returns the bounded label values of (event, reason).
func (b *boundedCounter) labels(event EventName, reason string) (string, string) {
	ev := string(event)
	if !event.Known() {
		ev = OtherLabel
	}
	if reason == "" {
		return ev, NoReasonLabel
	}
	m := *b.reasons.Load()
	if _, seen := m[reason]; seen {
		return ev, reason // only code-like reasons are in m
	}
	if len(m) >= MaxReasonLabels || !codeLike(reason) {
		return ev, OtherLabel // no lock for a flood of new reasons
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	m = *b.reasons.Load()
	if _, seen := m[reason]; seen {
		return ev, reason
	}
	if len(m) >= MaxReasonLabels {
		return ev, OtherLabel
	}
	next := maps.Clone(m)
	next[reason] = struct{}{}
	b.reasons.Store(&next)
	return ev, reason
}

// codeLike reports whether s looks like a reason code constant.
func codeLike(s string) bool {
	if len(s) == 0 || len(s) > maxReason {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}
