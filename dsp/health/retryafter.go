package health

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ParseRetryAfter reads a Retry-After header value at now: delta-seconds ("120") or an
// HTTP-date ("Fri, 04 Dec 2026 22:00:00 GMT", and the two obsolete forms of RFC 9110). It
// returns the wait, capped at limit; a date in the past is 0. ok is false for an empty or
// malformed value (a negative number included), which asks for no wait.
func ParseRetryAfter(v string, now time.Time, limit time.Duration) (wait time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil && !isRange(err) {
			return 0, false
		}
		if s >= uint64(limit/time.Second)+1 || err != nil { // also keeps s*Second from overflowing
			return limit, true
		}
		return min(time.Duration(s)*time.Second, limit), true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return min(max(t.Sub(now), 0), limit), true
}

func isRange(err error) bool {
	ne, ok := err.(*strconv.NumError) //nolint:errorlint // strconv returns it unwrapped
	return ok && ne.Err == strconv.ErrRange
}
