package headers

import "net/http"

// cacheWriter adds the default Cache-Control when the response is written,
// unless the handler set one of its own.
type cacheWriter struct {
	http.ResponseWriter
	value   []string
	applied bool
}

// apply adds the default for a response with status code. Informational (1xx)
// responses are not the final response, so they leave the decision open.
func (c *cacheWriter) apply(code int) {
	if c.applied || (code >= 100 && code < 200) {
		return
	}
	c.applied = true
	h := c.ResponseWriter.Header()
	if _, ok := h[cacheControlHeader]; !ok {
		h[cacheControlHeader] = c.value
	}
}

func (c *cacheWriter) WriteHeader(code int) {
	c.apply(code)
	c.ResponseWriter.WriteHeader(code)
}

func (c *cacheWriter) Write(b []byte) (int, error) {
	c.apply(http.StatusOK)
	return c.ResponseWriter.Write(b)
}

// Flush implements http.Flusher for handlers that stream.
func (c *cacheWriter) Flush() {
	c.apply(http.StatusOK)
	_ = http.NewResponseController(c.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer
// (Hijack, SetReadDeadline, …).
func (c *cacheWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }
