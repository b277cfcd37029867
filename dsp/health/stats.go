package health

import (
	"math/bits"
	"time"
)

// Stats are a breaker's figures for /metrics: its state, its send share and the window's
// counts and ratios. Counts are over the sliding window (breaker.window), which closing
// the breaker empties.
type Stats struct {
	State State
	Opens uint64 // times opened since New

	// SendShare is the share of the calls offered that Allow sends now: 1 when closed and
	// not backing off, the trial share when open, the back-off share after a 429, 0 during
	// a Retry-After wait.
	SendShare  float64
	RetryUntil time.Time // the end of a Retry-After wait; zero when none is in force

	Calls       int // counted calls: successes and failures
	Failures    int // counted failures, the DSP's timeouts included
	Timeouts    int // the DSP's timeouts
	Ours        int // timeouts the gateway caused: not counted
	RateLimited int // 429 answers: not counted

	FailureRatio     float64 // Failures / Calls: opens the breaker at breaker.failure_ratio
	TimeoutRatio     float64 // Timeouts / Calls
	OursRatio        float64 // Ours over all outcomes (Calls + Ours + RateLimited)
	RateLimitedRatio float64 // RateLimited over all outcomes

	TrialCalls     int // open: trial outcomes judged so far, at most breaker.trial_calls
	TrialSuccesses int // open: of which succeeded
}

// Stats returns the breaker's figures now.
func (b *Breaker) Stats() Stats {
	now := b.now()
	t := now.UnixNano()
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.win.sum(t)
	n, all := c.ok+c.failed, c.ok+c.failed+c.ours+c.limited
	s := Stats{
		State: b.State(), Opens: b.opens,
		Calls: int(n), Failures: int(c.failed), Timeouts: int(c.timeouts), Ours: int(c.ours), RateLimited: int(c.limited),
		FailureRatio: ratio(c.failed, n), TimeoutRatio: ratio(c.timeouts, n),
		OursRatio: ratio(c.ours, all), RateLimitedRatio: ratio(c.limited, all),
	}
	switch {
	case t < b.retryUntil:
		s.RetryUntil = time.Unix(0, b.retryUntil)
	case s.State == Open:
		s.SendShare = b.cfg.TrialShare
	default:
		s.SendShare = b.shareNow(t)
	}
	if s.State == Open {
		s.TrialCalls = b.nTrials
		s.TrialSuccesses = b.nTrials - bits.OnesCount64(b.trials)
	}
	return s
}
