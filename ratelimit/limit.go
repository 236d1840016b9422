package ratelimit

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Limit is a rate: Rate requests per Period, with bursts of up to Burst.
type Limit struct {
	Rate   int           // requests per Period; > 0
	Period time.Duration // > 0
	Burst  int           // requests allowed at once; 0 means Rate
}

// ParseLimit parses "rate/period", where period is a Go duration or a unit
// alone meaning one of it: "100/1m", "5/15m", "10/s", "1000/h".
func ParseLimit(s string) (Limit, error) {
	rs, ps, ok := strings.Cut(strings.TrimSpace(s), "/")
	rate, err := strconv.Atoi(rs)
	if !ok || err != nil || rate <= 0 {
		return Limit{}, errors.New("ratelimit: limit " + strconv.Quote(s) + " is not of the form rate/period, such as 100/1m")
	}
	if ps != "" && (ps[0] < '0' || ps[0] > '9') {
		ps = "1" + ps
	}
	p, err := time.ParseDuration(ps)
	if err != nil || p <= 0 {
		return Limit{}, errors.New("ratelimit: limit " + strconv.Quote(s) + " has no valid period, such as 1m or 15m")
	}
	l := Limit{Rate: rate, Period: p}
	return l, l.validate()
}

// String returns the limit in ParseLimit's form.
func (l Limit) String() string {
	s := strconv.Itoa(l.Rate) + "/" + l.Period.String()
	if l.Burst != 0 && l.Burst != l.Rate {
		s += " burst " + strconv.Itoa(l.Burst)
	}
	return s
}

func (l Limit) burst() int {
	if l.Burst <= 0 {
		return l.Rate
	}
	return l.Burst
}

// interval is the GCRA emission interval: the time one request costs.
func (l Limit) interval() time.Duration {
	return l.Period / time.Duration(l.Rate)
}

func (l Limit) validate() error {
	switch {
	case l.Rate <= 0:
		return errors.New("ratelimit: Limit.Rate " + strconv.Itoa(l.Rate) + " must be positive")
	case l.Period <= 0:
		return errors.New("ratelimit: Limit.Period " + l.Period.String() + " must be positive")
	case l.Burst < 0:
		return errors.New("ratelimit: Limit.Burst " + strconv.Itoa(l.Burst) + " must not be negative")
	case l.interval() < time.Microsecond:
		return errors.New("ratelimit: Limit " + l.String() + " is finer than one request per microsecond")
	case int64(l.burst())*int64(l.interval()) > int64(100*365*24*time.Hour):
		return errors.New("ratelimit: Limit " + l.String() + " spans more than a century")
	}
	return nil
}

// Decision is the outcome of one Allow call.
type Decision struct {
	Allowed bool
	Limit   Limit
	// Remaining is how many more requests would be allowed right now.
	Remaining int
	// ResetAfter is the time until the full burst is available again.
	ResetAfter time.Duration
	// RetryAfter is the time until this request would be allowed; 0 when it
	// was.
	RetryAfter time.Duration
}

// Store keeps GCRA state: one time (the theoretical arrival time, TAT) per
// key. Allow takes n requests (n >= 0; 0 only reports) for key under limit at
// time now, atomically. Implementations are safe for concurrent use.
//
// The clock is a parameter, as in golang.org/x/time/rate: the memory store
// uses now exactly; the Redis store uses Redis's clock (see RedisStore).
type Store interface {
	Allow(ctx context.Context, key [32]byte, limit Limit, now time.Time, n int) (Decision, error)
}

// gcra applies n requests at time now (ns) to the stored TAT (ns; 0 when
// none), for a limit l whose emission interval is T = l.interval() and whose
// tolerance (how far ahead of now the TAT may run) is tau = l.burst() * T;
// callers compute both once. It sets all of *d to the decision (written in
// place: the hot path copies no Decision) and returns the TAT to store
// (unchanged when denied).
func gcra(d *Decision, l *Limit, T, tau, tat, now int64, n int) int64 {
	if tat < now {
		tat = now
	}
	newTAT := tat + int64(n)*T
	*d = Decision{Limit: *l}
	if allowAt := newTAT - tau; allowAt > now {
		d.RetryAfter = time.Duration(allowAt - now)
		d.ResetAfter = time.Duration(tat - now)
		d.Remaining = int((tau - (tat - now)) / T)
		return tat
	}
	d.Allowed = true
	d.ResetAfter = time.Duration(newTAT - now)
	d.Remaining = int((tau - (newTAT - now)) / T)
	return newTAT
}
