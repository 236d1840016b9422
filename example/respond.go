package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// maxBodyBytes bounds every JSON request body the example reads.
const maxBodyBytes = 4 << 10

// writeJSON answers status with v as JSON and a final newline. Token
// responses also set Cache-Control: no-store and Pragma: no-cache (RFC 6749
// §5.1). The body is encoded into a pooled buffer: json.Marshal would copy
// it out of its own, and the newline appended to that would copy it again,
// two allocations on every response (/api/me's among them).
func writeJSON(w http.ResponseWriter, status int, v any) {
	buf := jsonBuffers.Get().(*bytes.Buffer)
	defer putJSONBuffer(buf)
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		http.Error(w, `{"error":"server_error"}`, http.StatusInternalServerError)
		return
	}
	writeJSONBytes(w, status, buf.Bytes())
}

// jsonBuffers holds writeJSON's buffers; buffers that grew past
// maxPooledJSON (none of the example's answers do) are left to the garbage
// collector rather than kept.
var jsonBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledJSON = 16 << 10

func putJSONBuffer(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooledJSON {
		buf.Reset()
		jsonBuffers.Put(buf)
	}
}

// jsonContentType is assigned straight into the header map: a shared,
// never-modified slice costs no allocation per response.
var jsonContentType = []string{"application/json"}

// writeJSONBytes answers status with an already encoded JSON body. net/http
// sets Content-Length itself for a body written in one piece.
func writeJSONBytes(w http.ResponseWriter, status int, body []byte) {
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// challenge is the WWW-Authenticate of the example's own 401s (wrong
// password, missing claims). RFC 9110 §15.5.2 requires a challenge on every
// 401; the API's one scheme is Bearer and /auth/login is where a Bearer token
// is obtained, so the challenge names the realm without an error attribute.
var challenge = []string{`Bearer realm="` + realm + `"`}

// writeError answers status with the JSON error body. A 401 always carries a
// challenge: the one already set (the token gate's), or challenge.
func writeError(w http.ResponseWriter, status int, code, description string) {
	if status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header()["Www-Authenticate"] = challenge
	}
	writeJSON(w, status, errorBody{Error: code, Description: description})
}

// writeRetry answers 429 with Retry-After in whole seconds, rounded up.
func writeRetry(w http.ResponseWriter, retryAfter time.Duration, description string) {
	secs := int64((retryAfter + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	writeError(w, http.StatusTooManyRequests, "rate_limited", description)
}

func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

var errBadBody = errors.New("malformed request body")

// readJSON decodes exactly one JSON object of type T from a bounded body with
// Content-Type application/json; unknown fields and trailing data are refused.
func readJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return errBadBody
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return errBadBody
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errBadBody
	}
	return nil
}
