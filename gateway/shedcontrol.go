package gateway

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// shedControl is the wait trigger of the overload control: a limit on the auctions
// admitted a second, moved by the Go scheduler's waits (see overload). Shedding a share of
// the arrivals, as an earlier version did, chases the arrival rate, which swings with every
// burst; the rate the cores can serve moves much less. So once the cores are behind the
// controller sets a rate, cuts it while the queue keeps growing (a multiplicative
// decrease, as TCP's), otherwise steers it to keep the cores at a target share of their
// time, and stops limiting once the arrivals are well under the rate:
//
//   - the cores are behind when the p99 wait is long and the process used at least
//     busyGate of its cores (GOMAXPROCS) over the sample: waits while the process leaves
//     its cores idle are mostly someone else's (the host, a neighbour), which shedding
//     would not shorten. A queue past severeMul*max_wait is behind whatever the share
//     (a neighbour that takes half the core leaves the process a queue that grows);
//   - not limiting: the limit starts when the cores are behind with waits past max_wait
//     in startAfter samples in a row (a lone GC or burst shows in one), at cutFactor of
//     the rate the gateway was admitting;
//   - limiting: while they are behind with waits past max_wait/holdDiv the limit is cut
//     by cutFactor, at most every cutHold, and only when the wait has not fallen since
//     the last cut (a queue that drains needs no second cut) or cutRepeat has passed;
//     otherwise it moves towards the rate that keeps the cores at busyTarget of their
//     time, admitted*busyTarget/busy (both smoothed alike), up by at most jumpMax a
//     sample and down by at most stepDown; while the cores are under busyTarget it
//     rises by at least idleRise a sample, since an admitted rate under the limit (the
//     arrivals bunched, the bucket's burst) would otherwise hold it down with the cores
//     idle. The CPU an auction takes is what makes the ratio right. busyTarget is under
//     1 because the scheduler's waits do not see the whole queue: a request waits in the
//     socket until the runtime polls the network, which a core that never idles does
//     late. Probing upwards until the waits grow, as an earlier version did, overshot to
//     130% of what the core served on time, and the cut after each overshoot left the
//     core a fifth idle: at twice the capacity it kept 63-87% of the auctions with a bid
//     a second that it served at capacity, where this keeps 94-112% (docs/BENCHMARKS.md);
//   - it ends when the limit is past stopRatio of the arrival rate: nothing was shed.
//
// The admitted and arrival rates and the cores' use are smoothed over about 200 ms
// (slowWeight a sample). The process reads a request only when it gets the core, so in a
// stall (a GC, a burst) the arrivals and admissions it counts fall to near nothing and
// then come all at once; cutting from one sample's count set the limit at half the
// capacity after every stall, and comparing the limit with it ended the limit in the
// middle of one.
//
// Admission below the limit is a token bucket (golang.org/x/time/rate) whose burst is
// burstWindow of the rate, so arrivals that bunch up are not refused for it. The limit
// never falls under minAdmit of the arrivals: some auctions always get through, so
// recovery is seen. The limit and the admitted rate are read on the hot path without the
// lock; the sample that moves them takes it, one at a time.
type shedControl struct {
	arrived, admitted atomic.Int64 // since the last sample
	limiting          atomic.Bool
	bucket            *rate.Limiter // the limit while limiting

	mu       sync.Mutex // guards the rest, taken by the sample
	last     time.Time  // the last sample
	offered  float64    // arrivals a second, smoothed (slowWeight a sample)
	taken    float64    // admissions a second, likewise
	busy     float64    // the share of its cores the process used, smoothed alike (their ratio is used)
	limit    float64    // auctions admitted a second at most while limiting
	hot      int        // samples in a row past max_wait while not limiting
	lastCut  time.Time
	cutWait  time.Duration // the p99 wait at the last cut
	limitNow atomic.Uint64 // math.Float64bits(limit), 0 while not limiting: for logs and tests
}

const (
	startAfter  = 2                      // samples in a row past max_wait that start the limit
	busyGate    = 0.9                    // the share of its cores the process must use to be behind...
	severeMul   = 4                      // ...unless the p99 wait is past severeMul*max_wait
	holdDiv     = 2                      // while limiting, a p99 wait past max_wait/holdDiv cuts
	cutFactor   = 0.9                    // a cut keeps this share of the rate
	cutHold     = 30 * time.Millisecond  // cuts at most this often...
	cutRepeat   = 100 * time.Millisecond // ...and, while the wait falls, at most this often
	busyTarget  = 0.9                    // the share of the cores the limit steers the process to...
	jumpMax     = 0.1                    // ...rising towards it by at most this share a sample...
	stepDown    = 0.02                   // ...and falling towards it by at most this share a sample
	idleRise    = 0.002                  // with the cores under busyTarget it rises at least this share a sample
	stopRatio   = 1.2                    // the limit ends once it is this far above the arrivals
	minAdmit    = 0.03                   // the limit admits at least this share of the arrivals
	burstWindow = 10 * time.Millisecond  // the token bucket's burst, in time at the limit
	slowWeight  = 0.05                   // each sample's weight in the smoothed rates (about 200 ms)
)

func newShedControl() *shedControl {
	return &shedControl{bucket: rate.NewLimiter(rate.Inf, 1)}
}

// admit reports whether an auction arriving at now is admitted under the limit.
func (s *shedControl) admit(now time.Time) bool {
	s.arrived.Add(1)
	if s.limiting.Load() && !s.bucket.AllowN(now, 1) {
		return false
	}
	s.admitted.Add(1)
	return true
}

// waitSample is what the process saw since the previous sample: the p99 of the
// scheduler's waits, how many waits it recorded (fewer than minWaits say nothing) and the
// share of its cores (GOMAXPROCS) it used.
type waitSample struct {
	p99   time.Duration
	waits uint64
	busy  float64
}

// sample moves the limit at now from w, the waits since the last sample.
func (s *shedControl) sample(now time.Time, w waitSample, maxWait time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	arrived, admitted := s.arrived.Swap(0), s.admitted.Swap(0)
	dt := now.Sub(s.last).Seconds()
	first := s.last.IsZero()
	s.last = now
	if first || dt <= 0 {
		return
	}
	s.offered = ewma(s.offered, float64(arrived)/dt, slowWeight)
	s.taken = ewma(s.taken, float64(admitted)/dt, slowWeight)
	s.busy = ewma(s.busy, w.busy, slowWeight)
	behind := func(wait time.Duration) bool {
		return w.waits >= minWaits && w.p99 > wait && (w.busy >= busyGate || w.p99 > severeMul*maxWait)
	}
	switch {
	case s.limit == 0:
		if behind(maxWait) {
			s.hot++
		} else {
			s.hot = 0
		}
		if s.hot >= startAfter {
			s.cut(now, s.taken, w.p99)
		}
	case behind(maxWait / holdDiv):
		if since := now.Sub(s.lastCut); since >= cutHold && (w.p99 >= s.cutWait || since >= cutRepeat) {
			s.cut(now, min(s.limit, s.taken), w.p99)
		}
	default:
		// Towards the rate that keeps the cores at busyTarget: up by at most jumpMax a
		// sample, down by at most stepDown.
		target := s.limit * (1 + jumpMax)
		if s.busy > 0 {
			target = s.taken * busyTarget / s.busy
		}
		if s.busy < busyTarget { // idle cores never lower it, whatever the admitted rate says
			target = max(target, s.limit*(1+idleRise))
		}
		s.limit = min(max(target, s.limit*(1-stepDown)), s.limit*(1+jumpMax))
		if s.limit > stopRatio*s.offered {
			s.limit, s.hot = 0, 0
		}
	}
	if s.limit > 0 {
		s.limit = max(s.limit, minAdmit*s.offered, 1)
	}
	s.apply(now)
}

// cut sets the limit to cutFactor of rate.
func (s *shedControl) cut(now time.Time, rate float64, p99 time.Duration) {
	s.limit = max(rate*cutFactor, 1)
	s.lastCut, s.cutWait, s.hot = now, p99, 0
}

// apply puts the limit in force for admit.
func (s *shedControl) apply(now time.Time) {
	if s.limit == 0 {
		s.limiting.Store(false)
		s.limitNow.Store(0)
		return
	}
	s.bucket.SetLimitAt(now, rate.Limit(s.limit))
	s.bucket.SetBurstAt(now, max(1, int(s.limit*burstWindow.Seconds())))
	s.limiting.Store(true)
	s.limitNow.Store(math.Float64bits(s.limit))
}

// current gives the limit in force (auctions a second; 0 while not limiting) and the
// share of the arrivals it sheds.
func (s *shedControl) current() (limit, share float64) {
	limit = math.Float64frombits(s.limitNow.Load())
	s.mu.Lock()
	offered := s.offered
	s.mu.Unlock()
	if limit > 0 && offered > limit {
		share = 1 - limit/offered
	}
	return limit, share
}

// ewma moves old towards x by weight; a zero old (no sample yet) takes x.
func ewma(old, x, weight float64) float64 {
	if old == 0 {
		return x
	}
	return old + weight*(x-old)
}
