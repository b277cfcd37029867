package health

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/dsp"
)

func TestResultOf(t *testing.T) {
	tests := []struct {
		err   error
		want  Result
		retry string
	}{
		{nil, Success, ""},
		{&dsp.Error{Kind: dsp.KindTimeout, Err: context.DeadlineExceeded}, Timeout, ""},
		{&dsp.Error{Kind: dsp.KindCanceled, Err: context.Canceled}, Excluded, ""},
		{&dsp.Error{Kind: dsp.KindStatus, Status: http.StatusTooManyRequests, RetryAfter: "2"}, RateLimited, "2"},
		{fmt.Errorf("call alpha: %w", &dsp.Error{Kind: dsp.KindStatus, Status: http.StatusTooManyRequests}), RateLimited, ""},
		{&dsp.Error{Kind: dsp.KindStatus, Status: http.StatusServiceUnavailable, RetryAfter: "2"}, Failure, ""},
		{&dsp.Error{Kind: dsp.KindMalformed}, Failure, ""},
		{&dsp.Error{Kind: dsp.KindTransport}, Failure, ""},
		{errors.New("something else"), Failure, ""},
	}
	for _, tt := range tests {
		if got, retry := ResultOf(tt.err); got != tt.want || retry != tt.retry {
			t.Errorf("ResultOf(%v) = %v, %q; want %v, %q", tt.err, got, retry, tt.want, tt.retry)
		}
	}
}

func TestOutcomeOurs(t *testing.T) {
	start := t0.Add(time.Millisecond)
	base := Outcome{
		Result: Timeout, Timeout: 150 * time.Millisecond,
		Planned: t0, Started: start, Deadline: start.Add(150 * time.Millisecond), Ended: start.Add(151 * time.Millisecond),
	}
	tests := []struct {
		name   string
		change func(o *Outcome)
		want   bool
	}{
		{"the whole budget, on time: the DSP's", func(*Outcome) {}, false},
		{"a budget short by the tolerance: still the DSP's", func(o *Outcome) {
			o.Deadline = o.Deadline.Add(-10 * time.Millisecond)
			o.Ended = o.Deadline.Add(time.Millisecond)
		}, false},
		{"the auction left less than the DSP's timeout", func(o *Outcome) { o.Deadline = o.Started.Add(100 * time.Millisecond) }, true},
		{"started 11 ms after planned", func(o *Outcome) { o.Planned = o.Started.Add(-11 * time.Millisecond) }, true},
		{"started 10 ms after planned: within the tolerance", func(o *Outcome) { o.Planned = o.Started.Add(-10 * time.Millisecond) }, false},
		{"the deadline seen 20 ms late", func(o *Outcome) { o.Ended = o.Deadline.Add(20 * time.Millisecond) }, true},
		{"no planned start: that check skipped", func(o *Outcome) { o.Planned = time.Time{} }, false},
		{"not a timeout: never ours", func(o *Outcome) { o.Result = Failure; o.Planned = o.Started.Add(-time.Second) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			tt.change(&o)
			if got := o.Ours(10 * time.Millisecond); got != tt.want {
				t.Errorf("Ours = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	limit := 10 * time.Second
	tests := []struct {
		v      string
		wait   time.Duration
		wantOK bool
	}{
		{"3", 3 * time.Second, true},
		{" 0 ", 0, true},
		{"120", limit, true},                     // capped
		{"99999999999999999999999", limit, true}, // past uint64: capped, not refused
		{t0.Add(4 * time.Second).Format(http.TimeFormat), 4 * time.Second, true},
		{"Friday, 04-Dec-26 22:00:07 GMT", 7 * time.Second, true}, // RFC 850
		{"Fri Dec  4 22:00:02 2026", 2 * time.Second, true},       // asctime
		{t0.Add(-time.Minute).Format(http.TimeFormat), 0, true},   // in the past
		{t0.Add(time.Hour).Format(http.TimeFormat), limit, true},
		{"", 0, false},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		wait, ok := ParseRetryAfter(tt.v, t0, limit)
		if wait != tt.wait || ok != tt.wantOK {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.v, wait, ok, tt.wait, tt.wantOK)
		}
	}
	if wait, ok := ParseRetryAfter("5", t0, 0); wait != 0 || !ok {
		t.Errorf("with max_retry_after 0: %v, %v; want 0 (ignored), true", wait, ok)
	}
}
