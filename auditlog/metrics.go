package auditlog

import (
	"errors"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Label values used when an event or reason cannot be a label of its own.
const (
	// OtherLabel replaces an event name outside the schema, a reason that
	// is not a code-like identifier, and any reason beyond the cap.
	OtherLabel = "other"
	// NoReasonLabel is the reason label of an event without a reason.
	NoReasonLabel = "none"
	// MaxReasonLabels is how many distinct reason labels one Metrics keeps;
	// later new reasons are counted under OtherLabel.
	MaxReasonLabels = 128
)

// Metrics counts audit events in the Prometheus counter
// apiguard_events_total{event,reason}. Every event given to Logger.Record is
// counted, including those below the log level and repeats suppressed from the
// log. The access lines of the RequestLogger are not counted.
//
// Label cardinality is bounded whatever the input: an event name outside the
// schema is counted as "other"; a reason must look like a code
// (1 to 64 bytes of [a-z0-9_.-]) or is counted as "other"; and at most
// MaxReasonLabels distinct reasons get a label of their own. Reasons are meant
// to be code constants; this only keeps a mistake from exploding the series.
//
// A Metrics is safe for concurrent use.
type Metrics struct {
	events *prometheus.CounterVec

	mu       sync.RWMutex
	counters map[metricKey]prometheus.Counter
	reasons  map[string]struct{}
}

type metricKey struct {
	event  EventName
	reason string
}

// NewMetrics registers apiguard_events_total on reg. If an identical collector
// is already registered there (a second Metrics on the same registry), it is
// shared rather than reported as an error.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	if reg == nil {
		return nil, errors.New("auditlog: NewMetrics: Registerer is nil")
	}
	cv := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "apiguard",
		Name:      "events_total",
		Help:      "Audit events recorded by apiguard, by event and reason code.",
	}, []string{"event", "reason"})
	if err := reg.Register(cv); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			return nil, errors.New("auditlog: NewMetrics: registering apiguard_events_total: " + err.Error())
		}
		existing, ok := are.ExistingCollector.(*prometheus.CounterVec)
		if !ok {
			return nil, errors.New("auditlog: NewMetrics: apiguard_events_total is already registered by another collector")
		}
		cv = existing
	}
	return &Metrics{
		events:   cv,
		counters: make(map[metricKey]prometheus.Counter),
		reasons:  make(map[string]struct{}),
	}, nil
}

// count adds one to the counter of (event, reason). A nil Metrics does
// nothing. After the first time for a pair it does not allocate.
func (m *Metrics) count(event EventName, reason string) {
	if m == nil {
		return
	}
	k := metricKey{event, reason}
	m.mu.RLock()
	c, ok := m.counters[k]
	m.mu.RUnlock()
	if !ok {
		c = m.slowCounter(k)
	}
	c.Inc()
}

func (m *Metrics) slowCounter(k metricKey) prometheus.Counter {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.counters[k]; ok {
		return c
	}
	ev := string(k.event)
	if !k.event.Known() {
		ev = OtherLabel
	}
	reason, own := k.reason, k.event.Known()
	switch {
	case reason == "":
		reason = NoReasonLabel
	case !codeLike(reason):
		reason, own = OtherLabel, false
	default:
		if _, ok := m.reasons[reason]; !ok {
			if len(m.reasons) >= MaxReasonLabels {
				reason, own = OtherLabel, false
			} else {
				m.reasons[reason] = struct{}{}
			}
		}
	}
	c := m.events.WithLabelValues(ev, reason)
	// Only pairs with labels of their own are cached, so the cache is
	// bounded like the series (13 events x MaxReasonLabels); the rest take
	// this slow path each time.
	if own {
		m.counters[k] = c
	}
	return c
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
