package health

import (
	"fmt"
	"log/slog"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bidsieve/bidsieve/config"
)

// State is a breaker's state.
type State uint8

// States of a breaker. There is no half-open state: an open breaker sends its trial share.
const (
	Closed State = iota
	Open
)

func (s State) String() string {
	if s == Open {
		return "open"
	}
	return "closed"
}

// Admission is Allow's answer for one call.
type Admission uint8

// Admissions.
const (
	Send    Admission = iota // send the call
	Trial                    // send it: one of an open breaker's trial calls
	Refused                  // do not send: the breaker is open and the call is not in the trial share
	Limited                  // do not send: backing off after a 429 (the send share, or a Retry-After)
)

// Sends reports whether the call is to be sent.
func (a Admission) Sends() bool { return a == Send || a == Trial }

// Options are a Breaker's dependencies.
type Options struct {
	Now func() time.Time // the clock of the Outcomes' times; nil: time.Now
	Log *slog.Logger     // state changes; nil: not logged
}

// Mode bits: the breaker is open; a 429 back-off is in force.
const (
	modeOpen    = 1
	modeLimited = 2
)

// one is a send share of 1 in the fixed point of pick.
const one = 1 << 16

// Breaker is one DSP's health: its circuit breaker and its 429 back-off. Build it with
// New; it is safe for concurrent use.
type Breaker struct {
	name   string
	cfg    config.Breaker
	now    func() time.Time
	log    *slog.Logger
	width  int64  // ns per window bucket
	trialQ uint64 // cfg.TrialShare in the fixed point of pick
	mask   uint64 // cfg.TrialCalls low bits

	mode atomic.Uint32 // modeOpen | modeLimited; written under mu
	seq  atomic.Uint64 // calls offered to pick

	mu       sync.Mutex
	win      window
	since    int64  // Unix ns of the last open or close: earlier calls are not judged
	trials   uint64 // the latest trial outcomes, newest in bit 0; 1 = failed
	nTrials  int    // trial outcomes since opening, at most cfg.TrialCalls
	opens    uint64 // times opened
	openedAt int64

	share       float64 // the send share at shareAt, while modeLimited
	shareAt     int64   // from then the share grows by cfg.RateRecovery per second
	retryUntil  int64   // no call before this (a Retry-After)
	decreasedAt int64   // the last decrease: a 429 to a call started earlier is no new signal
	limitedAt   int64   // when the back-off began
}

// New returns the breaker of the DSP name (used in logs), closed and not backing off.
// cfg is checked as config.Breaker.Validate does.
func New(name string, cfg config.Breaker, o Options) (*Breaker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("dsp %s health: %w", name, err)
	}
	b := &Breaker{
		name: name, cfg: cfg, now: o.Now, log: o.Log,
		width:  max(int64(cfg.Window/buckets), 1),
		trialQ: fixed(cfg.TrialShare),
		mask:   ^uint64(0) >> (64 - cfg.TrialCalls),
	}
	b.win.width = b.width
	if b.now == nil {
		b.now = time.Now
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	return b, nil
}

// fixed converts a share in (0, 1] to the fixed point of pick, never 0.
func fixed(share float64) uint64 { return max(min(uint64(share*one), one), 1) }

// pick admits a share q (fixed point) of the calls that ask, evenly spread: call n is
// admitted when n*q crosses a multiple of one.
func (b *Breaker) pick(q uint64) bool { return (b.seq.Add(1)*q)&(one-1) < q }

// Name returns the DSP's name.
func (b *Breaker) Name() string { return b.name }

// State returns the breaker's state.
func (b *Breaker) State() State {
	if b.mode.Load()&modeOpen != 0 {
		return Open
	}
	return Closed
}

// Allow says whether to send the next call to the DSP. A sent call's outcome must then be
// given to Report (an unsent one's must not).
func (b *Breaker) Allow() Admission {
	if b.mode.Load() == 0 {
		return Send
	}
	return b.allowSlow()
}

func (b *Breaker) allowSlow() Admission {
	q := uint64(one)
	if b.mode.Load()&modeLimited != 0 {
		now := b.now().UnixNano()
		var ch change
		b.mu.Lock()
		if now < b.retryUntil {
			b.mu.Unlock()
			return Limited
		}
		if s := b.shareNow(now); s >= 1 {
			ch = b.recover(now)
		} else {
			q = fixed(s)
		}
		b.mu.Unlock()
		b.logChange(&ch)
	}
	if b.mode.Load()&modeOpen != 0 {
		if b.pick(b.trialQ) {
			return Trial
		}
		return Refused
	}
	if q == one || b.pick(q) {
		return Send
	}
	return Limited
}

// Report takes the outcome of a call that Allow sent.
func (b *Breaker) Report(o *Outcome) {
	r := o.Result
	if r == Excluded {
		return
	}
	ours := o.Ours(b.cfg.LagTolerance)
	end := o.Ended.UnixNano()
	start := end
	if !o.Started.IsZero() {
		start = o.Started.UnixNano()
	}
	var ch change
	b.mu.Lock()
	c := b.win.at(end)
	if start < b.since || c == nil { // judged the previous state, or older than the window
		b.mu.Unlock()
		return
	}
	open := b.mode.Load()&modeOpen != 0
	switch {
	case r == RateLimited:
		c.limited++
		ch = b.limit(o.RetryAfter, start, end)
	case ours:
		c.ours++
	case r == Success:
		c.ok++
		if open {
			ch = b.trial(0, end)
		}
	default: // Failure, Timeout
		c.failed++
		if r == Timeout {
			c.timeouts++
		}
		if open {
			ch = b.trial(1, end)
		} else {
			ch = b.judge(end)
		}
	}
	b.mu.Unlock()
	if ch.kind != 0 {
		b.logChange(&ch)
	}
}

// judge opens a closed breaker whose window holds enough calls with enough failures.
func (b *Breaker) judge(now int64) change {
	s := b.win.sum(now)
	n := s.ok + s.failed
	if int(n) < b.cfg.MinCalls || float64(s.failed) < b.cfg.FailureRatio*float64(n) {
		return change{}
	}
	b.mode.Or(modeOpen)
	b.since, b.openedAt = now, now
	b.trials, b.nTrials = 0, 0
	b.opens++
	return change{kind: opened, c: s}
}

// trial records a trial outcome (failed 1 or 0) and closes an open breaker whose latest
// trial calls succeeded enough.
func (b *Breaker) trial(failed uint64, now int64) change {
	b.trials = (b.trials<<1 | failed) & b.mask
	b.nTrials = min(b.nTrials+1, b.cfg.TrialCalls)
	ok := b.nTrials - bits.OnesCount64(b.trials)
	if b.nTrials < b.cfg.TrialCalls || float64(ok) < b.cfg.CloseRatio*float64(b.cfg.TrialCalls) {
		return change{}
	}
	b.mode.And(^uint32(modeOpen))
	b.since = now
	b.win.clear()
	return change{kind: closed, ok: ok, dur: time.Duration(now - b.openedAt)}
}

// limit takes a 429: the send share is lowered (once per round trip) and a Retry-After
// stops every call until it passes.
func (b *Breaker) limit(retryAfter string, start, now int64) change {
	var ch change
	if start >= b.decreasedAt {
		from := b.shareNow(now)
		if b.mode.Load()&modeLimited == 0 {
			b.limitedAt = now
		}
		b.share = max(b.cfg.RateFloor, from*b.cfg.RateDecrease)
		b.shareAt, b.decreasedAt = now, now
		b.mode.Or(modeLimited)
		ch = change{kind: lowered, from: from, to: b.share}
	}
	if wait, ok := ParseRetryAfter(retryAfter, time.Unix(0, now), b.cfg.MaxRetryAfter); ok && wait > 0 {
		if until := now + int64(wait); until > b.retryUntil {
			b.share = b.shareNow(now) // frozen until the wait is over
			b.retryUntil, b.shareAt = until, max(now, until)
			b.mode.Or(modeLimited)
		}
		ch.dur = wait
	}
	return ch
}

// shareNow returns the send share at now: 1 without a back-off, else the share last set,
// grown back by cfg.RateRecovery per second since shareAt.
func (b *Breaker) shareNow(now int64) float64 {
	if b.mode.Load()&modeLimited == 0 {
		return 1
	}
	if now <= b.shareAt {
		return b.share
	}
	return min(1, b.share+b.cfg.RateRecovery*float64(now-b.shareAt)/float64(time.Second))
}

// recover ends the back-off: the share is 1 again.
func (b *Breaker) recover(now int64) change {
	b.mode.And(^uint32(modeLimited))
	b.share = 1
	return change{kind: recovered, dur: time.Duration(now - b.limitedAt)}
}
