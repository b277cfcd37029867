package health

import "time"

// changeKind is a logged state change.
type changeKind uint8

const (
	opened    changeKind = iota + 1 // the failure ratio opened the breaker
	closed                          // the trial calls closed it
	lowered                         // a 429 lowered the send share
	recovered                       // the send share is back to 1
)

// change is a state change seen under the lock, logged after it.
type change struct {
	kind     changeKind
	c        counts        // opened: the window
	ok       int           // closed: the trial calls that succeeded
	from, to float64       // lowered: the send share
	dur      time.Duration // closed: open for; lowered: the Retry-After wait; recovered: limited for
}

// logChange logs a state change with its reason and figures.
func (b *Breaker) logChange(ch *change) {
	cfg := &b.cfg
	switch ch.kind {
	case opened:
		n := ch.c.ok + ch.c.failed
		b.log.Warn("dsp breaker opened", "dsp", b.name,
			"reason", "failure ratio over the window reached the limit",
			"failure_ratio", ratio(ch.c.failed, n), "limit", cfg.FailureRatio,
			"calls", n, "min_calls", cfg.MinCalls, "failures", ch.c.failed, "timeouts", ch.c.timeouts,
			"ours", ch.c.ours, "rate_limited", ch.c.limited, "window", cfg.Window, "trial_share", cfg.TrialShare)
	case closed:
		b.log.Info("dsp breaker closed", "dsp", b.name,
			"reason", "the latest trial calls succeeded",
			"success_ratio", float64(ch.ok)/float64(cfg.TrialCalls), "close_ratio", cfg.CloseRatio,
			"trial_successes", ch.ok, "trial_calls", cfg.TrialCalls, "open_for", ch.dur)
	case lowered:
		b.log.Warn("dsp send rate lowered", "dsp", b.name,
			"reason", "HTTP 429", "share_from", ch.from, "share_to", ch.to,
			"retry_after", ch.dur, "rate_recovery_per_s", cfg.RateRecovery)
	case recovered:
		b.log.Info("dsp send rate recovered", "dsp", b.name,
			"reason", "no 429 while the send share grew back", "share", 1.0, "limited_for", ch.dur)
	}
}

func ratio(a, n uint32) float64 {
	if n == 0 {
		return 0
	}
	return float64(a) / float64(n)
}
