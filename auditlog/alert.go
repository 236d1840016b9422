package auditlog

import (
	"container/list"
	"context"
	"net/netip"
	"sync"
	"time"
)

// Alerter receives the threat events (security_threat, refresh_reuse,
// lockout) that an operator should hear about at once, after repeat
// suppression: at most one Alert per event, reason and client per
// SuppressWindow, carrying the count of what was suppressed before it.
//
// Alert is called synchronously on the goroutine that recorded the event
// (usually a request's), possibly from many goroutines at once: an
// implementation must be safe for concurrent use and must not block; one that
// talks to a network should queue and return. ctx carries the request's
// values but is never canceled.
type Alerter interface {
	Alert(ctx context.Context, a Alert)
}

// AlerterFunc adapts a function to the Alerter interface.
type AlerterFunc func(ctx context.Context, a Alert)

// Alert implements Alerter.
func (f AlerterFunc) Alert(ctx context.Context, a Alert) { f(ctx, a) }

// Alert is one threat notification.
type Alert struct {
	Event     EventName
	Reason    string
	Client    string // the client key (or its IP when no key was resolved)
	IP        string // written as Options.IP says; "" with IPNone
	Sub       string
	RequestID string
	Time      time.Time // when this alert was raised

	// Suppressed counts the identical events (same Event, Reason and
	// Client) that were not alerted nor logged since the previous alert,
	// seen between First and Last.
	Suppressed  int
	First, Last time.Time

	// Summary is true for an alert that reports only suppressed repeats: a
	// window ended with repeats pending and no new event came to carry the
	// count (the key was swept, evicted or flushed).
	Summary bool
}

// Defaults of the repeat suppression.
const (
	DefaultSuppressWindow  = time.Minute
	DefaultSuppressMaxKeys = 10000
)

// suppressKey names the lines that repeat one another: an event's name,
// reason and client, or for an access line (event Request) its client and
// status. The client is its client key, else its IP as Options.IP writes it
// (kept as an address, so that a lookup does not allocate).
type suppressKey struct {
	event  EventName
	reason string
	client string
	ip     netip.Addr // when client is ""
	status int
}

// suppressEntry is one key whose window opened at start: written lines were
// written in it, suppressed more were only counted.
type suppressEntry struct {
	key         suppressKey
	start       time.Time
	written     int
	suppressed  int
	first, last time.Time
}

// pending is the suppressed count of one key, reported on a summary line.
type pending struct {
	key         suppressKey
	suppressed  int
	first, last time.Time
}

// suppressor decides which repeated lines are written: the first budget of a
// key in each window, the rest only counted. Threat events have a budget of
// one, refusals Options.RefusalBurst. It keeps one entry per key in a map and
// in a list ordered by window start, oldest first, so expired windows are
// swept from the front and, at the cap, the oldest is evicted. No goroutine:
// sweeping happens while recording. Safe for concurrent use.
type suppressor struct {
	window  time.Duration
	maxKeys int
	budget  int

	mu      sync.Mutex
	entries map[suppressKey]*list.Element
	order   list.List // of *suppressEntry, by start
}

func newSuppressor(window time.Duration, maxKeys, budget int) *suppressor {
	s := &suppressor{window: window, maxKeys: maxKeys, budget: budget, entries: make(map[suppressKey]*list.Element)}
	s.order.Init()
	return s
}

// decision is what to do with one line.
type decision struct {
	write       bool // write (and for a threat, alert) this line
	suppressed  int  // repeats suppressed before it, to report with it
	first, last time.Time
}

// observe records an event of key at now and returns whether to write it,
// plus the summaries of other keys whose windows ended (or that were evicted)
// with suppressed repeats, appended to out.
func (s *suppressor) observe(k suppressKey, now time.Time, out []pending) (decision, []pending) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var d decision
	if el, ok := s.entries[k]; ok {
		e := el.Value.(*suppressEntry)
		if now.Sub(e.start) < s.window {
			if e.written < s.budget {
				e.written++
				return decision{write: true}, s.sweep(now, out)
			}
			e.suppressed++
			if e.suppressed == 1 {
				e.first = now
			}
			e.last = now
			return d, s.sweep(now, out)
		}
		// A new window: this event is written and carries the count.
		d = decision{write: true, suppressed: e.suppressed, first: e.first, last: e.last}
		*e = suppressEntry{key: k, start: now, written: 1}
		s.order.MoveToBack(el)
		return d, s.sweep(now, out)
	}
	out = s.sweep(now, out)
	for len(s.entries) >= s.maxKeys {
		out = s.drop(s.order.Front(), out)
	}
	s.entries[k] = s.order.PushBack(&suppressEntry{key: k, start: now, written: 1})
	return decision{write: true}, out
}

// sweep drops the entries whose window ended by now, oldest first, and
// returns the summaries of those with suppressed repeats.
func (s *suppressor) sweep(now time.Time, out []pending) []pending {
	for el := s.order.Front(); el != nil; el = s.order.Front() {
		if now.Sub(el.Value.(*suppressEntry).start) < s.window {
			break
		}
		out = s.drop(el, out)
	}
	return out
}

// flush drops every entry and returns the summaries of those with
// suppressed repeats.
func (s *suppressor) flush(out []pending) []pending {
	s.mu.Lock()
	defer s.mu.Unlock()
	for el := s.order.Front(); el != nil; el = s.order.Front() {
		out = s.drop(el, out)
	}
	return out
}

func (s *suppressor) drop(el *list.Element, out []pending) []pending {
	e := s.order.Remove(el).(*suppressEntry)
	delete(s.entries, e.key)
	if e.suppressed > 0 {
		out = append(out, pending{key: e.key, suppressed: e.suppressed, first: e.first, last: e.last})
	}
	return out
}

// len returns the number of keys tracked.
func (s *suppressor) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}
