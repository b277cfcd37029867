package health

import (
	"errors"
	"net/http"
	"time"

	"github.com/bidsieve/bidsieve/dsp"
)

// Result is what a call to a DSP came to.
type Result uint8

// Results of a call.
const (
	Success     Result = iota // the DSP answered: a bid or a no-bid
	Failure                   // transport error, bad status, answer too large or malformed
	Timeout                   // the call's deadline passed first (whose fault: Outcome.Ours)
	RateLimited               // HTTP 429: the DSP asks for less traffic, not a failure
	Excluded                  // says nothing about the DSP (the caller gave up): not counted
)

var resultNames = [...]string{"success", "failure", "timeout", "rate_limited", "excluded"}

func (r Result) String() string {
	if int(r) < len(resultNames) {
		return resultNames[r]
	}
	return "unknown"
}

// ResultOf classifies the error of dsp.Client.Post (nil: Success) and returns the
// Retry-After header of a 429 ("" otherwise).
func ResultOf(err error) (Result, string) {
	if err == nil {
		return Success, ""
	}
	e, ok := err.(*dsp.Error) //nolint:errorlint // the fast path; errors.As below for wrapped ones
	if !ok && !errors.As(err, &e) {
		return Failure, ""
	}
	switch {
	case e.Kind == dsp.KindCanceled:
		return Excluded, ""
	case e.Kind == dsp.KindTimeout:
		return Timeout, ""
	case e.Kind == dsp.KindStatus && e.Status == http.StatusTooManyRequests:
		return RateLimited, e.RetryAfter
	default:
		return Failure, ""
	}
}

// Outcome is one call's result with the facts that say whose a timeout is. Started and
// Ended are required; Deadline is required for a Timeout; a zero Planned skips the
// late-start check.
type Outcome struct {
	Result     Result
	RetryAfter string // a 429's Retry-After header, raw: delta-seconds or an HTTP-date

	Timeout  time.Duration // the DSP's configured timeout
	Planned  time.Time     // when the call was due to start: the auction's arrival
	Started  time.Time     // when the call's request actually started
	Deadline time.Time     // the call's deadline: its own timeout or the auction's, the earlier
	Ended    time.Time     // when the outcome was seen
}

// Ours reports whether the outcome is a timeout that the gateway caused rather than the
// DSP, with tolerance of slack on each fact (the rule of the package documentation): the
// call did not get its whole timeout, or it started late, or its deadline was seen late.
func (o *Outcome) Ours(tolerance time.Duration) bool {
	if o.Result != Timeout {
		return false
	}
	if !o.Deadline.IsZero() {
		if o.Deadline.Sub(o.Started) < o.Timeout-tolerance || o.Ended.Sub(o.Deadline) > tolerance {
			return true
		}
	}
	return !o.Planned.IsZero() && o.Started.Sub(o.Planned) > tolerance
}
