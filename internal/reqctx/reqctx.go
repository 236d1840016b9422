// Package reqctx carries the per-request facts that several apiguard packages
// fill in and the access log reads at the end: the request id, the resolved
// client identity and the authenticated subject.
//
// The outermost middleware (auditlog's request logger) puts one *Info in the
// context; later steps fill its fields in place, so the access line written
// after the handler returns sees what they learned. Without an Info in the
// context the setters are no-ops. An Info belongs to one request and is not
// safe for concurrent use across goroutines.
package reqctx

import (
	"context"
	"net/netip"
)

// Info is what one request has learned about itself so far.
type Info struct {
	RequestID string     // validated or generated request id
	Client    string     // short hex of the HMAC client key; "" until resolved
	IP        netip.Addr // resolved client IP; zero until resolved
	Sub       string     // authenticated subject; "" when unauthenticated
	JTI       string     // authenticated token id
}

type contextKey struct{ name string }

var infoKey = &contextKey{"apiguard-request-info"}

// With returns a copy of ctx carrying info.
func With(ctx context.Context, info *Info) context.Context {
	return context.WithValue(ctx, infoKey, info)
}

// From returns the Info in ctx, if any.
func From(ctx context.Context) (*Info, bool) {
	info, ok := ctx.Value(infoKey).(*Info)
	return info, ok && info != nil
}
