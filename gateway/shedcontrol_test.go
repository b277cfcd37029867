package gateway

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// queueSim is a fluid model of a gateway's cores for the shed controller. Work waits in
// one queue, first come first served, as runnable goroutines wait for the Go scheduler:
// an arriving request first costs shedCost of CPU to be read, and only once the cores get
// to it is it admitted or shed (so in a pause arrivals pile up unseen and are counted all
// at once after it, as in the gateway); an admitted one then queues the rest of its cost.
// The cores work off the queue at capacity (cores' seconds a second), and the scheduler's
// p99 wait over a sample is the longest the queue was in it. Time moves in 1 ms steps; the
// controller samples every sampleEvery, as the gateway does.
type queueSim struct {
	ctl      *shedControl
	rng      *rand.Rand
	now      time.Time
	queue    []simWork // the work waiting for the cores, oldest first
	backlog  float64   // its sum, seconds
	maxWait  time.Duration
	cost     float64 // CPU seconds an admitted auction takes
	shedCost float64 // and a shed one (the read that comes before admission)
	// noise, when set, gives a sample's p99 wait and busy share in place of the model's
	// (a host that steals the cores, say); ok false keeps the model's.
	noise func(*rand.Rand) (p99 time.Duration, busy float64, ok bool)

	arrived, admitted int
	peak              float64 // the longest queue, seconds
	waits             []float64
}

// simWork is one piece of queued work: a request to read and admit, or an admitted
// auction's work.
type simWork struct {
	cost    float64
	arrival bool
}

func newQueueSim(seed uint64, cost float64) *queueSim {
	return &queueSim{
		ctl: newShedControl(), rng: rand.New(rand.NewPCG(seed, 1)),
		now: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC), maxWait: 20 * time.Millisecond,
		cost: cost, shedCost: cost / 10,
	}
}

// run moves d at offered auctions a second with the cores able to work capacity (1: one
// whole core) of each second, and pause (if > 0) every pauseEvery with no capacity (a GC
// that takes the core).
func (q *queueSim) run(d time.Duration, offered, capacity float64, pauseEvery, pause time.Duration) {
	step := time.Millisecond
	var sampleMax, sampleWork, sampleSpan float64
	for t := time.Duration(0); t < d; t += step {
		q.now = q.now.Add(step)
		// Poisson arrivals in the step.
		for n := q.poisson(offered * step.Seconds()); n > 0; n-- {
			q.arrived++
			q.push(simWork{cost: q.shedCost, arrival: true})
		}
		c := capacity
		if pause > 0 && t%pauseEvery < pause {
			c = 0
		}
		work := q.work(c * step.Seconds())
		sampleWork += work
		sampleSpan += step.Seconds()
		sampleMax = max(sampleMax, q.backlog)
		q.peak = max(q.peak, q.backlog)
		q.waits = append(q.waits, q.backlog)
		if q.now.UnixNano()%int64(sampleEvery) == 0 {
			w := waitSample{p99: time.Duration(sampleMax * float64(time.Second)), waits: 100, busy: sampleWork / sampleSpan}
			if q.noise != nil {
				if p, b, ok := q.noise(q.rng); ok {
					w.p99, w.busy = p, b
				}
			}
			q.ctl.sample(q.now, w, q.maxWait)
			sampleMax, sampleWork, sampleSpan = 0, 0, 0
		}
	}
}

func (q *queueSim) push(w simWork) {
	q.queue = append(q.queue, w)
	q.backlog += w.cost
}

// work spends up to budget seconds of the cores on the queue, oldest first, admitting or
// shedding each request it finishes reading, and returns what it spent.
func (q *queueSim) work(budget float64) float64 {
	spent := 0.0
	for len(q.queue) > 0 && budget > 0 {
		w := &q.queue[0]
		if w.cost > budget {
			w.cost -= budget
			q.backlog -= budget
			return spent + budget
		}
		budget -= w.cost
		spent += w.cost
		q.backlog -= w.cost
		done := *w
		q.queue = q.queue[1:]
		if done.arrival && q.ctl.admit(q.now) {
			q.admitted++
			q.push(simWork{cost: q.cost - q.shedCost})
		}
	}
	if len(q.queue) == 0 {
		q.backlog = 0 // no float drift
	}
	return spent
}

func (q *queueSim) poisson(mean float64) int {
	n := 0
	for p, l := q.rng.Float64(), math.Exp(-mean); p > l; p *= q.rng.Float64() {
		n++
	}
	return n
}

// reset clears the counts, keeping the controller and the queue.
func (q *queueSim) reset() { q.arrived, q.admitted, q.peak, q.waits = 0, 0, 0, nil }

func (q *queueSim) shedShare() float64 { return 1 - float64(q.admitted)/float64(max(q.arrived, 1)) }

// waitQuantile is the p-quantile of the queue over the steps since reset, seconds.
func (q *queueSim) waitQuantile(p float64) float64 {
	w := append([]float64(nil), q.waits...)
	slices.Sort(w)
	return w[int(p*float64(len(w)-1))]
}

// A core that serves 2,000 auctions a second (500 µs each).
const simCost = 1.0 / 2000

// TestShedControlBelowCapacity: at 80% of the core, with a GC that takes the whole core
// for 15 ms every 700 ms, the queues those pauses leave drain by themselves: next to
// nothing is shed.
func TestShedControlBelowCapacity(t *testing.T) {
	q := newQueueSim(1, simCost)
	q.run(20*time.Second, 1600, 1, 700*time.Millisecond, 15*time.Millisecond)
	if s := q.shedShare(); s > 0.005 {
		t.Errorf("at 80%% of the core with GC pauses, %.2f%% shed; want under 0.5%%", 100*s)
	}
}

// TestShedControlTwiceCapacity: offered twice what the core serves, the controller sheds
// the excess: after the first second the admitted rate stays at 95% or more of the share
// of the core it aims to use (busyTarget) of what the core can serve besides refusing the
// rest, and the queue (the delay every accepted auction sees) stays short.
func TestShedControlTwiceCapacity(t *testing.T) {
	q := newQueueSim(2, simCost)
	q.run(time.Second, 4000, 1, 0, 0)
	q.reset()
	q.run(10*time.Second, 4000, 1, 0, 0)
	admitted := float64(q.admitted) / 10
	shedWork := float64(q.arrived-q.admitted) * q.shedCost
	room := (10 - shedWork) / q.cost / 10 // auctions a second the core has left after the refusals
	p99, peak := q.waitQuantile(0.99), q.peak
	t.Logf("twice capacity: %.0f admitted/s of the %.0f the core has room for, shed %.1f%%, queue p99 %.1f ms, peak %.1f ms",
		admitted, room, 100*q.shedShare(), 1000*p99, 1000*peak)
	if admitted < 0.95*busyTarget*room {
		t.Errorf("admitted %.0f auctions/s; want at least 95%% of busyTarget (%.2f) of the %.0f the core has room for", admitted, busyTarget, room)
	}
	if p99 > 0.015 || peak > 0.04 {
		t.Errorf("queue p99 %.1f ms, peak %.1f ms; want under 15 ms and 40 ms", 1000*p99, 1000*peak)
	}
}

// TestShedControlTwiceCapacityThroughPauses: offered twice what the core serves, with a
// collection that takes the whole core for 40 ms every second (the gateway at 6,000/s
// collects about once a second), the limit does not fall to what the stalls let through:
// the admitted rate stays at 90% or more of the share of the core the controller aims to
// use (busyTarget) of what it has room for, and the queue stays under max_wait nine
// tenths of the time (a pause and the backlog it leaves take the rest).
func TestShedControlTwiceCapacityThroughPauses(t *testing.T) {
	const pause, every = 40 * time.Millisecond, time.Second
	q := newQueueSim(6, simCost)
	q.run(time.Second, 4000, 1, every, pause)
	q.reset()
	q.run(10*time.Second, 4000, 1, every, pause)
	admitted := float64(q.admitted) / 10
	shedWork := float64(q.arrived-q.admitted) * q.shedCost
	core := 10 * (1 - pause.Seconds()/every.Seconds()) // the core's seconds over the 10 s
	room := (core - shedWork) / q.cost / 10
	p90 := q.waitQuantile(0.90)
	t.Logf("twice capacity with pauses: %.0f admitted/s of the %.0f the core has room for, shed %.1f%%, queue p90 %.1f ms, peak %.1f ms",
		admitted, room, 100*q.shedShare(), 1000*p90, 1000*q.peak)
	if admitted < 0.9*busyTarget*room {
		t.Errorf("admitted %.0f auctions/s; want at least 90%% of busyTarget (%.2f) of the %.0f the core has room for", admitted, busyTarget, room)
	}
	if p90 > q.maxWait.Seconds() {
		t.Errorf("queue p90 %.1f ms; want under max_wait (%v)", 1000*p90, q.maxWait)
	}
}

// TestShedControlIgnoresWaitsItDidNotCause: waits past max_wait while the process uses
// half its core (a host stealing it, a neighbour) are not the gateway's queue, and
// shedding would not shorten them: nothing is shed.
func TestShedControlIgnoresWaitsItDidNotCause(t *testing.T) {
	q := newQueueSim(3, simCost)
	q.noise = func(r *rand.Rand) (time.Duration, float64, bool) {
		if r.Float64() < 0.3 {
			return 50 * time.Millisecond, 0.5, true
		}
		return 0, 0, false
	}
	q.run(10*time.Second, 1000, 1, 0, 0)
	if s := q.shedShare(); s != 0 {
		t.Errorf("with long waits at half the core, %.2f%% shed; want none", 100*s)
	}
}

// TestShedControlRecovers: when the overload ends, the limit ends with it; when the core
// comes back after a spell at half speed, the admitted rate follows within a second.
func TestShedControlRecovers(t *testing.T) {
	q := newQueueSim(4, simCost)
	q.run(3*time.Second, 4000, 1, 0, 0)
	if !q.ctl.limiting.Load() {
		t.Fatal("not limiting at twice the capacity")
	}
	q.run(200*time.Millisecond, 1000, 1, 0, 0)
	q.reset()
	q.run(2*time.Second, 1000, 1, 0, 0)
	if s := q.shedShare(); s != 0 {
		t.Errorf("offered half the capacity after an overload: %.2f%% still shed 200 ms later", 100*s)
	}

	q = newQueueSim(5, simCost)
	q.run(3*time.Second, 1600, 0.5, 0, 0) // the core at half speed: 1,000 a second
	q.run(time.Second, 1600, 1, 0, 0)
	q.reset()
	q.run(2*time.Second, 1600, 1, 0, 0)
	if s := q.shedShare(); s > 0.01 {
		t.Errorf("a second after the core came back, %.1f%% of 80%% of its capacity is still shed", 100*s)
	}
}
