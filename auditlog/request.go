package auditlog

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// DefaultRequestIDHeader is the header that carries the request id.
const DefaultRequestIDHeader = "X-Request-ID"

// RequestLogOptions configures a RequestLogger. The zero value is the safe
// default: the X-Request-ID header, an incoming id kept only when it is
// well-formed, no User-Agent in the lines, ids from crypto/rand.
type RequestLogOptions struct {
	// HeaderName is the request and response header of the request id.
	// Default DefaultRequestIDHeader ("X-Request-ID").
	HeaderName string
	// IgnoreIncomingID, when set, always generates a new id. By default an
	// incoming id is kept when the request carries exactly one, of 1 to 64
	// bytes of [A-Za-z0-9._-]; any other is replaced by a new one.
	IgnoreIncomingID bool
	// LogUserAgent adds the User-Agent (cut to 256 bytes) to access lines.
	// Default off.
	LogUserAgent bool
	// Rand is the source of new request ids (128 bits each). Default
	// crypto/rand; on a read error crypto/rand is used.
	Rand io.Reader
}

// RequestLogger is the outermost apiguard middleware: it gives every request
// an id, puts a *RequestInfo in its context for later steps to fill, and
// writes one access line when the handler returns; the lines of requests
// answered with a 4xx are aggregated as the Logger's Options say (see
// Options.RefusalWindow). Safe for concurrent use.
type RequestLogger struct {
	log    *Logger
	header string // canonical header name
	ignore bool
	ua     bool
	rand   io.Reader
}

// NewRequestLogger returns a RequestLogger writing access lines to l. A nil l
// writes nothing: the middleware then only handles the request id and the
// context. The only error is a HeaderName that is not a valid header field
// name.
func NewRequestLogger(l *Logger, o RequestLogOptions) (*RequestLogger, error) {
	name := o.HeaderName
	if name == "" {
		name = DefaultRequestIDHeader
	}
	if !validHeaderName(name) {
		return nil, errors.New("auditlog: RequestLogOptions.HeaderName " + strconv.Quote(name) + " is not a valid header field name")
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	return &RequestLogger{
		log:    l,
		header: http.CanonicalHeaderKey(name),
		ignore: o.IgnoreIncomingID,
		ua:     o.LogUserAgent,
		rand:   o.Rand,
	}, nil
}

// MustNewRequestLogger is like NewRequestLogger but panics with its error.
// It is meant for literal configuration known at compile time.
func MustNewRequestLogger(l *Logger, o RequestLogOptions) *RequestLogger {
	rl, err := NewRequestLogger(l, o)
	if err != nil {
		panic(err)
	}
	return rl
}

// requestState is everything the middleware keeps for one request, in one
// allocation.
type requestState struct {
	info RequestInfo
	rw   responseWriter
	hdr  [1]string // the response header value, without a []string allocation
	rnd  [16]byte  // a new id's random bits, here so they do not escape alone
}

// Handler returns next wrapped: the request next sees is a copy carrying a
// *RequestInfo (RequestID set) in its context, the response carries the id
// header, and an access line (event "request") is written after next returns,
// or panics.
func (rl *RequestLogger) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var start time.Time
		logging := rl.log.infoEnabled() && !rl.log.slogDrops(r.Context())
		if logging {
			start = rl.log.now()
		}
		st := &requestState{}
		st.info.RequestID = rl.requestID(r, &st.rnd)
		st.hdr[0] = st.info.RequestID
		w.Header()[rl.header] = st.hdr[:]
		if !logging {
			next.ServeHTTP(w, r.WithContext(WithRequestInfo(r.Context(), &st.info)))
			return
		}
		st.rw.ResponseWriter = w
		r2 := r.WithContext(WithRequestInfo(r.Context(), &st.info))
		done := false
		defer func() {
			rl.access(r2, st, start, !done)
		}()
		next.ServeHTTP(&st.rw, r2)
		done = true
	})
}

// requestID returns the incoming id if acceptable, else a new one.
func (rl *RequestLogger) requestID(r *http.Request, b *[16]byte) string {
	if !rl.ignore {
		if v := r.Header[rl.header]; len(v) == 1 && ValidRequestID(v[0]) {
			return v[0]
		}
	}
	if _, err := io.ReadFull(rl.rand, b[:]); err != nil {
		_, _ = rand.Read(b[:]) // never fails (Go 1.24+)
	}
	return hex.EncodeToString(b[:])
}

// ValidRequestID reports whether id is acceptable as an incoming request id:
// 1 to 64 bytes of [A-Za-z0-9._-].
func ValidRequestID(id string) bool {
	if len(id) == 0 || len(id) > maxRequestID {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// access writes the access line of one request. The line of a refused
// request (a 4xx) is aggregated like refusal events (see
// Options.RefusalWindow): per client and status, and under the ceiling;
// not if the handler panicked, a bug to hear about every time.
func (rl *RequestLogger) access(r *http.Request, st *requestState, start time.Time, panicked bool) {
	l := rl.log
	if !l.infoEnabled() || l.slogDrops(r.Context()) {
		return
	}
	now := l.now()
	status := st.rw.status
	if status == 0 && !st.rw.hijacked {
		status = http.StatusOK // what net/http sends when the handler wrote nothing
		if panicked {
			status = http.StatusInternalServerError
		}
	}
	var d decision
	if refusedStatus(status) && !panicked {
		var ok bool
		if d, ok = l.admit(r, &st.info, suppressKey{event: Request, status: status}, now); !ok {
			return
		}
	}
	ln, ok := l.open(r.Context(), Request)
	if !ok {
		return
	}
	ln.head(now, Request)
	l.requestFields(&ln, r, &st.info)
	ln.str("sub", st.info.Sub, maxSub)
	ln.str("jti", st.info.JTI, maxJTI)
	if status != 0 {
		ln.int("status", status)
	}
	ln.suppressed(d)
	ln.int64("bytes", st.rw.bytes)
	ln.float("duration", float64(now.Sub(start))/float64(time.Millisecond))
	if rl.ua {
		ln.str("user_agent", r.UserAgent(), maxUserAgent)
	}
	if st.rw.hijacked {
		ln.flag("hijacked")
	}
	if panicked {
		ln.flag("panic")
	}
	ln.send()
}

// responseWriter records the status and the body bytes of a response. It
// passes Flush, Hijack and ReadFrom through, and Unwrap lets
// http.NewResponseController reach the rest (deadlines, full duplex).
type responseWriter struct {
	http.ResponseWriter
	status   int
	bytes    int64
	hijacked bool
}

func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 && (code < 100 || code > 199 || code == http.StatusSwitchingProtocols) {
		w.status = code // 1xx other than 101 are informational, not the status
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// ReadFrom keeps the sendfile path of the underlying writer.
func (w *responseWriter) ReadFrom(src io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(writerOnly{w.ResponseWriter}, src)
	}
	w.bytes += n
	return n, err
}

// Flush implements http.Flusher; it does nothing if the underlying writer
// cannot flush.
func (w *responseWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack implements http.Hijacker when the underlying writer does.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.hijacked = true
	}
	return c, rw, err
}

// Unwrap returns the wrapped writer, for http.NewResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type writerOnly struct{ io.Writer }

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			continue
		}
		switch c {
		case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
			continue
		}
		return false
	}
	return true
}
