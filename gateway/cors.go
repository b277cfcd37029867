package gateway

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/trace"
)

// corsMaxAge is how long, in seconds, a browser may reuse a preflight answer.
const corsMaxAge = "600"

// allowCORS lets publishers' pages call the auction endpoint, as Prebid Server does:
// a request with an Origin the configuration allows (cors.allowed_origins; empty allows
// any) gets Access-Control-Allow-Origin echoing that Origin and
// Access-Control-Allow-Credentials: true (Prebid.js posts with credentials, so "*" would be
// refused by the browser), and a preflight OPTIONS is answered here with 204. A request
// from an origin not allowed is refused with 403 before any DSP is called: the browser
// would not let the page read the answer anyway. A request without Origin (a server, not a
// browser) passes untouched.
func (g *Gateway) allowCORS(c *gin.Context) {
	req := c.Request
	h := c.Writer.Header()
	origin := req.Header.Get("Origin")
	preflight := req.Method == http.MethodOptions
	if origin == "" { // a server, not a page: no CORS (nor Vary, which would cost an allocation)
		if preflight {
			h.Set("Allow", "POST, OPTIONS")
			c.AbortWithStatus(http.StatusNoContent)
			return
		}
		c.Next()
		return
	}
	h.Add("Vary", "Origin")
	if !originAllowed(g.state.Load().cfg.CORS.AllowedOrigins, origin) {
		rerr := &RequestError{Status: http.StatusForbidden, Field: "Origin", Msg: fmt.Sprintf("%q is not in cors.allowed_origins", origin)}
		if preflight {
			c.AbortWithStatusJSON(rerr.Status, errorBody{Error: rerr.Error(), Field: rerr.Field})
			return
		}
		g.refuse(c, time.Now(), trace.SpanFromContext(req.Context()), rerr)
		c.Abort()
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	if !preflight {
		c.Next()
		return
	}
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	if rh := req.Header.Get("Access-Control-Request-Headers"); rh != "" && headerList(rh) {
		h.Set("Access-Control-Allow-Headers", rh) // s2sConfig.customHeaders, Content-Encoding...
	}
	h.Set("Access-Control-Max-Age", corsMaxAge)
	c.AbortWithStatus(http.StatusNoContent)
}

// originAllowed reports whether origin is in allowed, ignoring case; an empty list allows
// every origin.
func originAllowed(allowed []string, origin string) bool {
	if len(allowed) == 0 {
		return true
	}
	for _, a := range allowed {
		if strings.EqualFold(a, origin) {
			return true
		}
	}
	return false
}

// headerList reports whether s is a comma-separated list of header names (RFC 9110
// tokens), so that it can be echoed in Access-Control-Allow-Headers.
func headerList(s string) bool {
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~, \t", b) >= 0:
		default:
			return false
		}
	}
	return true
}
