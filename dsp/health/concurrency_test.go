package health

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/config"
)

// Many goroutines asking and reporting at once lose no outcome, and a failing DSP opens
// its breaker once (run with -race).
func TestConcurrentUse(t *testing.T) {
	b, clk, logs := newBreaker(t, func(c *config.Breaker) { c.MinCalls = 1000 })
	const workers, each = 8, 2000
	phase := func(result Result, at time.Time) (sent int) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for w := range workers {
			wg.Go(func() {
				n := 0
				for i := range each {
					if !b.Allow().Sends() {
						continue
					}
					n++
					start := at.Add(time.Duration(w*each+i) * time.Microsecond)
					o := Outcome{Result: result, Timeout: dspTimeout, Planned: start, Started: start,
						Deadline: start.Add(dspTimeout), Ended: start.Add(time.Millisecond)}
					b.Report(&o)
					_ = b.Stats()
				}
				mu.Lock()
				sent += n
				mu.Unlock()
			})
		}
		wg.Wait()
		return sent
	}
	if sent := phase(Success, t0); sent != workers*each {
		t.Fatalf("%d of %d calls sent to a healthy DSP", sent, workers*each)
	}
	clk.Set(t0.Add(time.Second))
	if st := b.Stats(); st.Calls != workers*each || st.Failures != 0 || st.State != Closed {
		t.Fatalf("after %d successes: %+v", workers*each, st)
	}
	phase(Failure, t0.Add(time.Second))
	if st := b.Stats(); st.State != Open || st.Opens != 1 {
		t.Fatalf("after as many failures: %+v, want open once", st)
	}
	if n := len(logs.find("dsp breaker opened")); n != 1 {
		t.Errorf("%d open records, want 1", n)
	}
}

// The success path allocates nothing: Allow and Report of a closed breaker.
func TestSuccessPathAllocatesNothing(t *testing.T) {
	b, _, _ := newBreaker(t, nil)
	o := Outcome{Result: Success, Timeout: dspTimeout, Planned: t0, Started: t0, Deadline: t0.Add(dspTimeout)}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		i++
		o.Ended = t0.Add(time.Duration(i) * time.Millisecond) // rolls the window's buckets too
		if b.Allow().Sends() {
			b.Report(&o)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per call, want 0", allocs)
	}
}

func TestNewRefusesABadConfig(t *testing.T) {
	cfg := config.Defaults().Breaker
	cfg.TrialShare, cfg.TrialCalls = 0, 100
	_, err := New("alpha", cfg, Options{})
	if err == nil {
		t.Fatal("a zero trial share was accepted")
	}
	for _, want := range []string{"dsp alpha health", "breaker.trial_share: must be in (0, 1)", "breaker.trial_calls: must be in [1, 64]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// A call started before the breaker opened, reported after, judges the closed breaker it
// was sent under: it is not a trial call and cannot close the breaker.
func TestOutcomesOfThePreviousStateAreIgnored(t *testing.T) {
	b, clk, _ := newBreaker(t, func(c *config.Breaker) { c.MinCalls, c.TrialCalls, c.CloseRatio = 10, 1, 1 })
	at := t0
	for range 10 {
		at = at.Add(time.Millisecond)
		o := Outcome{Result: Failure, Started: at, Ended: at.Add(time.Millisecond)}
		b.Report(&o)
	}
	if b.State() != Open {
		t.Fatal("10 failures of 10 calls did not open it")
	}
	late := Outcome{Result: Success, Started: t0, Ended: at.Add(2 * time.Millisecond)}
	b.Report(&late)
	if b.State() != Open {
		t.Fatal("a success of a call sent before the opening closed it")
	}
	clk.Set(at.Add(3 * time.Millisecond))
	trial := Outcome{Result: Success, Started: at.Add(3 * time.Millisecond), Ended: at.Add(5 * time.Millisecond)}
	b.Report(&trial)
	if b.State() != Closed {
		t.Fatal("a successful trial call (trial_calls 1) did not close it")
	}
	if st := b.Stats(); st.Calls != 0 || st.SendShare != 1 {
		t.Errorf("after closing: %+v, want an empty window and full traffic", st)
	}
}
