package health

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/config"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// t0 is the scripts' start, on a whole second (HTTP-dates have a second's resolution).
var t0 = time.Date(2026, 12, 4, 22, 0, 0, 0, time.UTC)

// dspTimeout is the scripted DSPs' configured timeout.
const dspTimeout = 150 * time.Millisecond

// fakeClock is the injected clock, safe for concurrent use.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) Now() time.Time   { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Set(t time.Time)  { c.ns.Store(t.UnixNano()) }
func newClock(t time.Time) *fakeClock { c := new(fakeClock); c.Set(t); return c }

// record is one logged state change.
type record struct {
	msg   string
	attrs map[string]slog.Value
}

// capture is a slog handler that keeps the records.
type capture struct {
	mu   sync.Mutex
	recs []record
}

func (c *capture) Enabled(context.Context, slog.Level) bool { return true }
func (c *capture) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *capture) WithGroup(string) slog.Handler            { return c }

func (c *capture) Handle(_ context.Context, r slog.Record) error {
	rec := record{msg: r.Message, attrs: map[string]slog.Value{}}
	r.Attrs(func(a slog.Attr) bool { rec.attrs[a.Key] = a.Value; return true })
	c.mu.Lock()
	c.recs = append(c.recs, rec)
	c.mu.Unlock()
	return nil
}

// find returns the records with the message msg.
func (c *capture) find(msg string) []record {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []record
	for _, r := range c.recs {
		if r.msg == msg {
			out = append(out, r)
		}
	}
	return out
}

// newBreaker returns a breaker on the default configuration (changed by change, when not
// nil), the fake clock at t0 and a log capture.
func newBreaker(t testing.TB, change func(*config.Breaker)) (*Breaker, *fakeClock, *capture) {
	t.Helper()
	cfg := config.Defaults().Breaker
	if change != nil {
		change(&cfg)
	}
	clk, logs := newClock(t0), new(capture)
	b, err := New("alpha", cfg, Options{Now: clk.Now, Log: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	return b, clk, logs
}

// reply is a scripted DSP's answer to one call, with the gateway's side of it.
type reply struct {
	result     Result
	latency    time.Duration // when a non-timeout answer comes; 0: 20 ms
	retryAfter string

	late     time.Duration // the call starts this long after it was planned
	budget   time.Duration // the call's deadline is this long after its start; 0: dspTimeout
	seenLate time.Duration // a timeout is seen this long after its deadline
}

// script answers the call sent at offset at from t0.
type script func(at time.Duration) reply

// slot is 100 ms of a run.
type slot struct {
	offered, sent, trials int
	open                  bool // the breaker was open at some call of the slot
}

const slotWidth = 100 * time.Millisecond

// trace is what a run did.
type trace struct {
	slots     []slot
	firstOpen time.Duration // -1: never open
}

// run offers rate calls a second, evenly spaced, for dur: each call Allow sends is answered
// by s and its outcome reported when it ends, in the order of the ends.
func run(b *Breaker, clk *fakeClock, rate int, dur time.Duration, s script) *trace {
	tr := &trace{slots: make([]slot, (dur+slotWidth-1)/slotWidth), firstOpen: -1}
	var pending []Outcome // sorted by Ended
	step := time.Second / time.Duration(rate)
	for at := time.Duration(0); at < dur; at += step {
		now := t0.Add(at)
		for len(pending) > 0 && !pending[0].Ended.After(now) {
			clk.Set(pending[0].Ended)
			b.Report(&pending[0])
			pending = pending[1:]
		}
		clk.Set(now)
		sl := &tr.slots[at/slotWidth]
		sl.offered++
		if a := b.Allow(); a.Sends() {
			sl.sent++
			if a == Trial {
				sl.trials++
			}
			o := outcomeOf(now, s(at))
			k, _ := slices.BinarySearchFunc(pending, o.Ended, func(p Outcome, t time.Time) int { return p.Ended.Compare(t) })
			pending = slices.Insert(pending, k, o)
		}
		if b.State() == Open {
			sl.open = true
			if tr.firstOpen < 0 {
				tr.firstOpen = at
			}
		}
	}
	return tr
}

// outcomeOf builds the outcome of a call started at now and answered r.
func outcomeOf(now time.Time, r reply) Outcome {
	budget := r.budget
	if budget == 0 {
		budget = dspTimeout
	}
	latency := r.latency
	if latency == 0 {
		latency = 20 * time.Millisecond
	}
	o := Outcome{
		Result: r.result, RetryAfter: r.retryAfter, Timeout: dspTimeout,
		Planned: now.Add(-r.late), Started: now, Deadline: now.Add(budget), Ended: now.Add(latency),
	}
	if r.result == Timeout {
		o.Ended = o.Deadline.Add(r.seenLate)
	}
	return o
}

// share is the share of the offered calls sent in [from, to).
func (tr *trace) share(from, to time.Duration) float64 {
	var offered, sent int
	for i := from / slotWidth; i < to/slotWidth && int(i) < len(tr.slots); i++ {
		offered += tr.slots[i].offered
		sent += tr.slots[i].sent
	}
	if offered == 0 {
		return 0
	}
	return float64(sent) / float64(offered)
}

// everOpen reports whether the breaker was open at any call of the run.
func (tr *trace) everOpen() bool { return tr.firstOpen >= 0 }
