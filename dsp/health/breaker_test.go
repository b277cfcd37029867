package health

import (
	"net/http"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/rnd"
)

// The behaviours of issue 15, each with a scripted DSP offered 1,000 calls a second on the
// default configuration (>= 50% failures over >= 100 calls in 10 s; 5% trial share).
func TestBreakerScripts(t *testing.T) {
	ok := reply{result: Success}
	timeout := reply{result: Timeout}
	tests := []struct {
		name   string
		dur    time.Duration
		script func() script // a fresh script per run: scripts keep their seeded state
		check  func(t *testing.T, tr *trace, b *Breaker, logs *capture)
	}{
		{
			name: "a DSP that fails 60% of its calls opens within the window",
			dur:  20 * time.Second,
			script: func() script {
				r := rnd.New(rnd.Hash(60))
				return func(time.Duration) reply {
					if r.Float64() < 0.6 {
						return reply{result: Failure}
					}
					return ok
				}
			},
			check: func(t *testing.T, tr *trace, b *Breaker, logs *capture) {
				if !tr.everOpen() || tr.firstOpen > 10*time.Second {
					t.Fatalf("first open at %v, want within the 10 s window", tr.firstOpen)
				}
				// Open, it keeps sending its trial share, every second.
				for from := tr.firstOpen.Truncate(time.Second) + time.Second; from < 20*time.Second; from += time.Second {
					tr.wantShare(t, from, from+time.Second, 0.03, 0.07, "the 5% trial share")
				}
				recs := logs.find("dsp breaker opened")
				if len(recs) != 1 {
					t.Fatalf("%d 'dsp breaker opened' records, want 1", len(recs))
				}
				a := recs[0].attrs
				if a["dsp"].String() != "alpha" || a["failure_ratio"].Float64() < 0.5 || a["calls"].Uint64() < 100 || a["reason"].String() == "" {
					t.Errorf("open logged with %v, want dsp alpha, a failure ratio >= 0.5 over >= 100 calls and a reason", a)
				}
				if st := b.Stats(); st.State != Open || st.Opens != 1 || st.SendShare != 0.05 || st.FailureRatio < 0.5 {
					t.Errorf("stats %+v, want open once, send share 0.05, failure ratio >= 0.5", st)
				}
			},
		},
		{
			name: "a DSP with 3% timeouts in bursts of 10 never opens",
			dur:  60 * time.Second,
			script: func() script {
				r := rnd.New(rnd.Hash(3))
				burst := 0
				return func(time.Duration) reply {
					if burst == 0 && r.Float64() < 0.03/(10*0.97) {
						burst = 10
					}
					if burst > 0 {
						burst--
						return timeout
					}
					return ok
				}
			},
			check: func(t *testing.T, tr *trace, b *Breaker, logs *capture) {
				mustNotOpen(t, tr)
				tr.wantShare(t, 0, 60*time.Second, 1, 1, "every call")
				// The script is what it says: about 3% timeouts in the window, in runs of
				// 10 (5 in a row opened the old breaker).
				if st := b.Stats(); st.TimeoutRatio < 0.015 || st.TimeoutRatio > 0.05 || st.Timeouts < 50 || st.Timeouts%10 > 1 && st.Timeouts%10 < 9 {
					t.Errorf("window: %d timeouts of %d calls (%.3f), want about 3%% in bursts of 10", st.Timeouts, st.Calls, st.TimeoutRatio)
				}
			},
		},
		{
			name: "a DSP that recovers is back to full traffic within 2 s of its recovery",
			dur:  12 * time.Second,
			script: func() script {
				return func(at time.Duration) reply {
					if at < 5*time.Second {
						return timeout // down: every call times out, with its whole budget
					}
					return ok
				}
			},
			check: func(t *testing.T, tr *trace, b *Breaker, logs *capture) {
				if !tr.everOpen() || tr.firstOpen >= 5*time.Second {
					t.Fatalf("first open at %v, want before the recovery at 5s", tr.firstOpen)
				}
				for from := tr.firstOpen.Truncate(slotWidth) + slotWidth; from < 5*time.Second; from += 500 * time.Millisecond {
					tr.wantShare(t, from, from+500*time.Millisecond, 0.001, 1, "some calls sent while open, never cut to zero")
				}
				for i := 70; i < 120; i++ { // from 7 s: every call sent
					if sl := tr.slots[i]; sl.sent != sl.offered || sl.open {
						t.Errorf("[%v, +100ms): %d of %d calls sent (open %v), want full traffic 2 s after the recovery",
							time.Duration(i)*slotWidth, sl.sent, sl.offered, sl.open)
					}
				}
				if recs := logs.find("dsp breaker closed"); len(recs) != 1 || recs[0].attrs["success_ratio"].Float64() < 0.8 {
					t.Errorf("close records %v, want one with a success ratio >= 0.8", recs)
				}
			},
		},
		{
			name:   "timeouts of calls started late by the gateway never open it",
			dur:    15 * time.Second,
			script: always(reply{result: Timeout, late: 50 * time.Millisecond}),
			check:  checkOurs,
		},
		{
			name:   "timeouts of calls the auction gave less than the DSP's timeout never open it",
			dur:    15 * time.Second,
			script: always(reply{result: Timeout, budget: 80 * time.Millisecond}),
			check:  checkOurs,
		},
		{
			name:   "timeouts an overloaded gateway saw late never open it",
			dur:    15 * time.Second,
			script: always(reply{result: Timeout, seenLate: 40 * time.Millisecond}),
			check:  checkOurs,
		},
		{
			name:   "the same timeouts with the whole budget are the DSP's and open it",
			dur:    15 * time.Second,
			script: always(reply{result: Timeout, late: 2 * time.Millisecond}),
			check: func(t *testing.T, tr *trace, b *Breaker, logs *capture) {
				if !tr.everOpen() || tr.firstOpen > time.Second {
					t.Fatalf("first open at %v, want within a second", tr.firstOpen)
				}
				if a := logs.find("dsp breaker opened")[0].attrs; a["timeouts"].Uint64() != a["calls"].Uint64() {
					t.Errorf("open logged %v, want every counted call a timeout", a)
				}
			},
		},
		{
			name:   "a 429 burst with Retry-After in seconds: nothing sent while it runs, then a lower rate, never open",
			dur:    16 * time.Second,
			script: limitedIn(2*time.Second, 4*time.Second, "1"),
			check: func(t *testing.T, tr *trace, b *Breaker, logs *capture) {
				mustNotOpen(t, tr)
				// The first 429 comes back at 2.02 s asking for a second's rest.
				tr.wantShare(t, 2100*time.Millisecond, 3*time.Second, 0, 0, "0 (Retry-After: 1)")
				tr.wantShare(t, 5*time.Second, 6*time.Second, 0.001, 0.6, "lowered (AIMD) but not zero")
				tr.wantShare(t, 14*time.Second, 16*time.Second, 1, 1, "recovered to every call")
				recs := logs.find("dsp send rate lowered")
				if len(recs) == 0 || recs[0].attrs["retry_after"].Duration() != time.Second || recs[0].attrs["share_to"].Float64() != 0.5 {
					t.Fatalf("lowered records %v, want the first with retry_after 1s and share 1 -> 0.5", recs)
				}
				if len(recs) > 4 {
					t.Errorf("%d decreases for a 2 s burst under Retry-After: 1, want one per round trip that got through", len(recs))
				}
				if len(logs.find("dsp send rate recovered")) != 1 {
					t.Errorf("recovery not logged once")
				}
			},
		},
		{
			name:   "a 429 burst with Retry-After as an HTTP-date: nothing sent until that date",
			dur:    8 * time.Second,
			script: limitedIn(2*time.Second, 2500*time.Millisecond, t0.Add(5*time.Second).Format(http.TimeFormat)),
			check: func(t *testing.T, tr *trace, b *Breaker, logs *capture) {
				mustNotOpen(t, tr)
				tr.wantShare(t, 2100*time.Millisecond, 5*time.Second, 0, 0, "0 until the Retry-After date")
				tr.wantShare(t, 5*time.Second, 5500*time.Millisecond, 0.4, 0.6, "the halved share")
			},
		},
		{
			name:   "a 429 burst without Retry-After lowers the rate, never to zero, and it recovers",
			dur:    16 * time.Second,
			script: limitedIn(2*time.Second, 4*time.Second, ""),
			check: func(t *testing.T, tr *trace, b *Breaker, logs *capture) {
				mustNotOpen(t, tr)
				for from := 2500 * time.Millisecond; from < 4*time.Second; from += 500 * time.Millisecond {
					tr.wantShare(t, from, from+500*time.Millisecond, 0.04, 0.2, "near the 5% floor")
				}
				tr.wantShare(t, 14*time.Second, 16*time.Second, 1, 1, "recovered")
				if st := b.Stats(); st.Calls == 0 || st.FailureRatio != 0 {
					t.Errorf("stats %+v: 429s must not count as failures", st)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, clk, logs := newBreaker(t, nil)
			tr := run(b, clk, 1000, tt.dur, tt.script())
			tt.check(t, tr, b, logs)
		})
	}
}

// always is a DSP that answers every call r.
func always(r reply) func() script {
	return func() script { return func(time.Duration) reply { return r } }
}

// limitedIn is a DSP that answers 429 with retryAfter to the calls sent in [from, to), and
// every other call at once.
func limitedIn(from, to time.Duration, retryAfter string) func() script {
	return func() script {
		return func(at time.Duration) reply {
			if at >= from && at < to {
				return reply{result: RateLimited, retryAfter: retryAfter}
			}
			return reply{result: Success}
		}
	}
}

// wantShare checks that the share of the offered calls sent in [from, to) is in [lo, hi];
// want says why.
func (tr *trace) wantShare(t *testing.T, from, to time.Duration, lo, hi float64, want string) {
	t.Helper()
	if s := tr.share(from, to); s < lo || s > hi {
		t.Errorf("share sent in [%v, %v) = %.4f, want %s (in [%g, %g])", from, to, s, want, lo, hi)
	}
}

// mustNotOpen stops the test if the breaker was ever open in the run.
func mustNotOpen(t *testing.T, tr *trace) {
	t.Helper()
	if tr.everOpen() {
		t.Fatalf("the breaker opened at %v", tr.firstOpen)
	}
}

// checkOurs asserts that the gateway's own timeouts neither opened the breaker nor cost
// the DSP a call, and that they are counted as ours.
func checkOurs(t *testing.T, tr *trace, b *Breaker, logs *capture) {
	t.Helper()
	mustNotOpen(t, tr)
	tr.wantShare(t, 0, 15*time.Second, 1, 1, "every call")
	if st := b.Stats(); st.Calls != 0 || st.Ours < 5000 || st.OursRatio != 1 {
		t.Errorf("stats %+v: want no counted call and every timeout ours", st)
	}
}
