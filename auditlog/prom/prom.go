// Package prom counts apiguard's audit events in Prometheus, as the counter
// apiguard_events_total{event,reason}.
//
// A *Counter is an auditlog.Counter: give it to auditlog.Options.Counter and
// every event the Logger records is counted, including those below the log
// level and repeats suppressed from the log (the RequestLogger's access lines
// are not counted).
//
//	reg := prometheus.NewRegistry()
//	c, err := prom.NewCounter(reg)
//	...
//	audit := auditlog.New(os.Stderr, auditlog.Options{Counter: c})
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// The series stay few whatever a client sends: the Logger bounds the label
// values before it calls Inc (an event outside the schema becomes "other", a
// reason that is not a code becomes "other", and at most
// auditlog.MaxReasonLabels distinct reasons get a label of their own; see
// auditlog.Counter). The reason cap is kept by each Logger, so Loggers
// sharing one Counter may each bring their own MaxReasonLabels reasons.
//
// This is the only apiguard package that imports the Prometheus client: the
// others see only the auditlog.Counter interface, so a program that does not
// import this package compiles neither Prometheus nor protobuf.
package prom

import (
	"errors"
	"maps"
	"sync"
	"sync/atomic"

	"github.com/apiguard/apiguard/auditlog"
	"github.com/prometheus/client_golang/prometheus"
)

// maxCached bounds the counters kept by label pair: every event of the
// schema plus "other", by every reason a Logger passes on plus "none" and
// "other". Labels from auditlog.Loggers stay within it; beyond it (Inc called
// directly with other values) a counter is looked up in the vector each time.
const maxCached = 14 * (auditlog.MaxReasonLabels + 2)

// Counter counts events in apiguard_events_total{event,reason}. It is an
// auditlog.Counter. Safe for concurrent use; a nil *Counter counts nothing.
type Counter struct {
	events *prometheus.CounterVec

	// cached holds the counter of each label pair seen, at most maxCached.
	// The map is never written once stored: a new pair stores a copy,
	// under mu, so Inc finds a known pair without a lock.
	cached atomic.Pointer[map[labels]prometheus.Counter]
	mu     sync.Mutex
}

type labels struct{ event, reason string }

var _ auditlog.Counter = (*Counter)(nil)

// NewCounter registers apiguard_events_total on reg. If an identical
// collector is already registered there (a second Counter on the same
// registry), it is shared rather than reported as an error.
func NewCounter(reg prometheus.Registerer) (*Counter, error) {
	if reg == nil {
		return nil, errors.New("prom: NewCounter: Registerer is nil")
	}
	cv := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "apiguard",
		Name:      "events_total",
		Help:      "Audit events recorded by apiguard, by event and reason code.",
	}, []string{"event", "reason"})
	if err := reg.Register(cv); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			return nil, errors.New("prom: NewCounter: registering apiguard_events_total: " + err.Error())
		}
		existing, ok := are.ExistingCollector.(*prometheus.CounterVec)
		if !ok {
			return nil, errors.New("prom: NewCounter: apiguard_events_total is already registered by another collector")
		}
		cv = existing
	}
	c := &Counter{events: cv}
	c.cached.Store(&map[labels]prometheus.Counter{})
	return c, nil
}

// Inc adds one to apiguard_events_total{event,reason}. It uses the values as
// they are: an auditlog.Logger bounds them before the call, and code calling
// Inc directly must bound its own. After the first time for a pair it does
// not allocate.
func (c *Counter) Inc(event, reason string) {
	if c == nil {
		return
	}
	k := labels{event, reason}
	ctr, ok := (*c.cached.Load())[k]
	if !ok {
		ctr = c.slowCounter(k)
	}
	ctr.Inc()
}

func (c *Counter) slowCounter(k labels) prometheus.Counter {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := *c.cached.Load()
	if ctr, ok := m[k]; ok {
		return ctr
	}
	ctr := c.events.WithLabelValues(k.event, k.reason)
	if len(m) < maxCached {
		next := maps.Clone(m)
		next[k] = ctr
		c.cached.Store(&next)
	}
	return ctr
}
