package ratelimit

import (
	"context"
	"errors"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// Limit is a rate: Rate requests per Period, with bursts of up to Burst.
// Build one as a literal (Limit{Rate: 100, Period: time.Minute}), with
// PerSecond, PerMinute or PerHour, or from text with ParseLimit.
type Limit struct {
	Rate   int           // requests per Period; > 0
	Period time.Duration // > 0; Period/Rate must be at least a microsecond
	Burst  int           // requests allowed at once; 0 means Rate
}

// PerSecond returns a limit of n requests per second.
func PerSecond(n int) Limit { return Limit{Rate: n, Period: time.Second} }

// PerMinute returns a limit of n requests per minute.
func PerMinute(n int) Limit { return Limit{Rate: n, Period: time.Minute} }

// PerHour returns a limit of n requests per hour.
func PerHour(n int) Limit { return Limit{Rate: n, Period: time.Hour} }

// PerDay returns a limit of n requests per 24 hours.
func PerDay(n int) Limit { return Limit{Rate: n, Period: 24 * time.Hour} }

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
	if err := l.check("limit " + strconv.Quote(s)); err != nil {
		return Limit{}, err
	}
	return l, nil
}

// MustParseLimit is ParseLimit for literal configuration: it panics on an
// error.
func MustParseLimit(s string) Limit {
	l, err := ParseLimit(s)
	if err != nil {
		panic(err)
	}
	return l
}

// String returns the limit in ParseLimit's form.
func (l Limit) String() string {
	s := strconv.Itoa(l.Rate) + "/" + l.Period.String()
	if l.Burst != 0 && l.Burst != l.Rate {
		s += " burst " + strconv.Itoa(l.Burst)
	}
	return s
}

// Validate reports why l cannot be used, naming the field and its value.
// Stores call it on every decision.
func (l Limit) Validate() error {
	_, _, err := l.params("Limit")
	return err
}

// check is Validate with the limit's name in the configuration, such as
// "Config.Limit", for the error.
func (l Limit) check(name string) error {
	_, _, err := l.params(name)
	return err
}

// params validates l and returns its GCRA emission interval T (Interval)
// and tolerance tau (Tolerance) in ns, computed once for a decision.
func (l Limit) params(name string) (T, tau int64, err error) {
	switch {
	case l.Rate <= 0:
		return 0, 0, errors.New("ratelimit: " + name + ".Rate " + strconv.Itoa(l.Rate) + " must be positive")
	case l.Period <= 0:
		return 0, 0, errors.New("ratelimit: " + name + ".Period " + l.Period.String() + " must be positive")
	case l.Burst < 0:
		return 0, 0, errors.New("ratelimit: " + name + ".Burst " + strconv.Itoa(l.Burst) + " must not be negative")
	}
	T = int64(l.Period) / int64(l.Rate)
	if T < int64(time.Microsecond) {
		return 0, 0, errors.New("ratelimit: " + name + " " + l.String() + " is finer than one request per microsecond")
	}
	hi, lo := bits.Mul64(uint64(l.burst()), uint64(T))
	if hi != 0 || lo > uint64(100*365*24*time.Hour) {
		return 0, 0, errors.New("ratelimit: " + name + " " + l.String() + " spans more than a century")
	}
	return T, int64(lo), nil
}

func (l Limit) burst() int {
	if l.Burst <= 0 {
		return l.Rate
	}
	return l.Burst
}

// Interval is the GCRA emission interval, Period/Rate: the time one request
// costs.
func (l Limit) Interval() time.Duration { return l.Period / time.Duration(l.Rate) }

// Tolerance is how far ahead of now a key's stored time may run before a
// request is refused: Burst (or Rate) intervals.
func (l Limit) Tolerance() time.Duration { return time.Duration(l.burst()) * l.Interval() }

// Decision is the outcome of one Allow call.
type Decision struct {
	Allowed bool
	Limit   Limit
	// Policy names the deciding policy of a Limiter's decision (Check,
	// ErrorWriter); stores leave it empty.
	Policy string
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
// time now, atomically, and returns an error for an invalid limit or count.
// Implementations are safe for concurrent use.
//
// The clock is a parameter, as in golang.org/x/time/rate: the MemoryStore
// uses now exactly; the Redis store (package ratelimit/redisstore) uses
// Redis's clock. Keys are uniformly distributed (HMAC outputs, see
// Identifier), which a store may rely on to spread them.
type Store interface {
	Allow(ctx context.Context, key [32]byte, limit Limit, now time.Time, n int) (Decision, error)
}

// errCount is Allow's error for a negative n.
var errCount = errors.New("ratelimit: Allow: n must not be negative")

// gcra decides n requests at now (unix ns) against a key's stored TAT (unix
// ns, 0 when none) under a limit l whose params are T and tau. It returns
// the decision and, when the requests are allowed, the TAT to store.
func gcra(l Limit, T, tau, tat, now int64, n int) (Decision, int64) {
	tat = max(tat, now)
	next := tat + int64(n)*T
	if allowAt := next - tau; allowAt > now {
		return Decision{
			Limit:      l,
			RetryAfter: time.Duration(allowAt - now),
			ResetAfter: time.Duration(tat - now),
			Remaining:  int((tau - (tat - now)) / T),
		}, tat
	}
	return Decision{
		Allowed:    true,
		Limit:      l,
		ResetAfter: time.Duration(next - now),
		Remaining:  int((tau - (next - now)) / T),
	}, next
}
