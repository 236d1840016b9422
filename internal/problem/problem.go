// Package problem writes RFC 9457 problem details
// (application/problem+json) and decides, from a request's Accept header,
// whether the client prefers them to the plain JSON error bodies apiguard
// answers by default.
//
// The plain JSON bodies ({"error","error_description"}) stay the contract:
// a problem is written only to a client whose Accept field prefers
// application/problem+json (see Prefers). A handler answers
//
//	if problem.Prefers(r) {
//		problem.Write(w, problem.Details{Type: problem.TypeTemporaryReducedCapacity, Status: 503, Title: "..."})
//		return
//	}
//	// the default JSON body
//
// The problem types of the IETF RateLimit header draft
// (draft-ietf-httpapi-ratelimit-headers, section "Problem Types") are
// TypeQuotaExceeded, with its extension member violated-policies, and
// TypeTemporaryReducedCapacity.
package problem

import (
	"encoding/json"
	"net/http"
)

// MediaType is the media type of a problem details body (RFC 9457 §3).
const MediaType = "application/problem+json"

// The problem types the IETF RateLimit header draft registers.
const (
	// TypeQuotaExceeded: the client's requests exceed one or more quota
	// policies (answered with 429); Details.ViolatedPolicies names them.
	TypeQuotaExceeded = "https://iana.org/assignments/http-problem-types#quota-exceeded"
	// TypeTemporaryReducedCapacity: the server cannot serve the request
	// for now, whatever the client's own usage (answered with 503).
	TypeTemporaryReducedCapacity = "https://iana.org/assignments/http-problem-types#temporary-reduced-capacity"
)

// Details is one problem (RFC 9457 §3.1). Empty members are left out;
// Type "" means "about:blank" (RFC 9457 §4.2.1) and is left out too.
// Every member is written as given: never put a client's input, an internal
// error or a secret in one.
type Details struct {
	Type     string `json:"type,omitempty"`
	Title    string `json:"title,omitempty"`
	Status   int    `json:"status,omitempty"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// ViolatedPolicies is the quota-exceeded type's extension member:
	// the names of the policies whose quota was exceeded.
	ViolatedPolicies []string `json:"violated-policies,omitempty"`
}

// Body returns d as a JSON object followed by a newline, the body Write
// sends. Callers on a hot path compute it once and reuse it with
// WriteBody.
func (d Details) Body() []byte {
	b, err := json.Marshal(d)
	if err != nil { // cannot happen: strings, an int and a []string
		return []byte("{}\n")
	}
	return append(b, '\n')
}

// Write answers with d: Content-Type application/problem+json, the status
// d.Status (500 when it is not a valid status code), and d as the body.
// Headers already set on w (Retry-After, RateLimit) are kept.
func Write(w http.ResponseWriter, d Details) {
	if d.Status < 100 || d.Status > 999 {
		d.Status = http.StatusInternalServerError
	}
	WriteBody(w, d.Status, d.Body())
}

// WriteBody answers with status and a body made by Details.Body, with the
// problem media type.
func WriteBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = contentType
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

var contentType = []string{MediaType}
