package gateway

import (
	"encoding/json"
	"math"
	"net/http"
	"runtime"
	rtmetrics "runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/stats"
	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Overload control at the edge (config overload). Past its capacity a gateway that takes
// every auction serves all of them late: its own lateness becomes DSP timeouts, every
// breaker sees them, and the publisher gets fast no-bids while the DSPs get nothing. So
// when the gateway is behind, a share of the new auctions is refused at once, before any
// decision, and the auctions it accepts keep their deadlines:
//
//   - the wait for a core: the Go scheduler's own record of how long runnable goroutines
//     waited to run (runtime/metrics /sched/latencies:seconds), read every sampleEvery as
//     auctions arrive. When its p99 stays past overload.max_wait, the cores are behind:
//     the auctions admitted a second are limited, and the limit follows the queue (see
//     shedControl) so that it settles where the cores keep up while a lone pause (a GC,
//     a burst) sheds nothing. This is the queue that a saturated process builds before
//     any handler runs, where a semaphore inside the handler would never see it;
//   - in flight: more than overload.max_inflight auctions between the body read and the
//     answer (1024 per core by default: far beyond what a core serves at 150 ms an
//     auction, so it binds only when DSPs stall).
//
// A shed auction gets 503 with Retry-After, or, for a Prebid client (a request carrying
// ext.prebid, or auction.nobid 200), 200 with an empty seatbid, nbr 1 and Retry-After:
// Prebid.js and Prebid Server read a 503 as a bidder error. It is counted in
// bidsieve_shed_total{reason} and bidsieve_auctions_total{result="shed"}.
type overload struct {
	inflight atomic.Int64
	shed     [numShedReasons]atomic.Int64
	logs     everyLog
	edge     edgeRing // the last FiguresWindow, for the admin page

	ctl    *shedControl
	wait   atomic.Int64 // the latest sample's p99 wait for a core in ns, 0 when it had too few (see allowance)
	mu     sync.Mutex   // guards the sampling below
	next   atomic.Int64 // unix nanos of the next sample
	every  time.Duration
	sample func() waitSample
}

// Reasons an auction is shed: the reason label of bidsieve_shed_total.
type shedReason int

const (
	shedNone     shedReason = iota - 1
	shedInflight            // overload.max_inflight auctions were in flight
	shedWait                // goroutines waited longer than overload.max_wait for a core
	numShedReasons
)

func (r shedReason) String() string {
	switch r {
	case shedInflight:
		return "inflight"
	case shedWait:
		return "wait"
	}
	return "none"
}

const (
	// inflightPerCore is the default in-flight cap per core (overload.max_inflight 0).
	inflightPerCore = 1024
	// sampleEvery is how often the scheduler's waits are read, as auctions arrive.
	sampleEvery = 10 * time.Millisecond
	// minWaits is the fewest waits a sample needs to say anything (the runtime records
	// one goroutine wake-up in 8: at 1,500 auctions/s a 10 ms sample holds about 20).
	minWaits = 8
)

// shedLogPeriod is how often shedding is logged while it lasts.
const shedLogPeriod = 10 * time.Second

func newOverload() *overload {
	return &overload{ctl: newShedControl(), every: sampleEvery, sample: newSchedSampler()}
}

// newSchedSampler returns a reader of the Go scheduler's waits since the previous call:
// their p99 (the lower edge of the runtime histogram's bucket that holds it), how many
// there were, and the share of GOMAXPROCS the process used meanwhile (getrusage: user and
// system time, which Linux keeps to the nanosecond).
func newSchedSampler() func() waitSample {
	s := []rtmetrics.Sample{{Name: "/sched/latencies:seconds"}}
	var prev, d []uint64
	var lastCPU, lastWall time.Duration
	return func() waitSample {
		cpu, wall := processCPU(), time.Duration(nanotime())
		var busy float64
		if lastWall > 0 && wall > lastWall {
			busy = float64(cpu-lastCPU) / float64(wall-lastWall) / float64(runtime.GOMAXPROCS(0))
		}
		lastCPU, lastWall = cpu, wall
		rtmetrics.Read(s)
		if s[0].Value.Kind() != rtmetrics.KindFloat64Histogram {
			return waitSample{busy: busy}
		}
		h := s[0].Value.Float64Histogram()
		if len(prev) != len(h.Counts) {
			prev, d = make([]uint64, len(h.Counts)), make([]uint64, len(h.Counts))
		}
		for i, c := range h.Counts {
			d[i] = c - prev[i]
			prev[i] = c
		}
		var total, acc uint64
		for _, c := range d {
			total += c
		}
		var p99 time.Duration
		for i, c := range d {
			if acc += c; acc*100 >= total*99 {
				if lo := h.Buckets[i]; lo > 0 && !math.IsInf(lo, 1) {
					p99 = time.Duration(lo * float64(time.Second))
				}
				break
			}
		}
		return waitSample{p99: p99, waits: total, busy: busy}
	}
}

// processCPU is the CPU time the process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// nanotime is a monotonic clock in nanoseconds.
func nanotime() int64 { return int64(time.Since(processStart)) }

var processStart = time.Now()

// maxInflight is the in-flight cap that o means; 0 is no cap.
func maxInflight(o *config.Overload) int64 {
	switch {
	case o.MaxInflight < 0:
		return 0
	case o.MaxInflight == 0:
		return inflightPerCore * int64(runtime.GOMAXPROCS(0))
	}
	return int64(o.MaxInflight)
}

// admit takes one more auction in flight, or says why it is shed; body is the request
// (its tmax, read only while there is a queue, gives the budget that allowance judges).
// An auction admitted is given back with leave.
func (l *overload) admit(now time.Time, o *config.Overload, a *config.Auction, body []byte) shedReason {
	if o.MaxWait > 0 {
		l.update(now, o.MaxWait)
		if l.wait.Load() > 0 {
			if _, late := l.allowance(deadlineFor(a, tmaxOf(body))); late {
				l.ctl.arrived.Add(1) // an arrival the limit did not admit
				return shedWait
			}
		}
		if !l.ctl.admit(now) {
			return shedWait
		}
	}
	n := l.inflight.Add(1)
	if limit := maxInflight(o); limit > 0 && n > limit {
		l.inflight.Add(-1)
		return shedInflight
	}
	return shedNone
}

// update reads the scheduler's waits when sampleEvery has passed and moves the limit.
func (l *overload) update(now time.Time, maxWait time.Duration) {
	t := now.UnixNano()
	if t < l.next.Load() || !l.mu.TryLock() { // one sampler at a time; the others go on
		return
	}
	defer l.mu.Unlock()
	if t < l.next.Load() {
		return
	}
	l.next.Store(t + int64(l.every))
	w := l.sample()
	if w.waits >= minWaits {
		l.wait.Store(int64(w.p99))
	} else {
		l.wait.Store(0) // too few waits to show a queue
	}
	l.ctl.sample(now, w, maxWait)
}

// allowance is the part of an auction's budget that the process's own queue takes, twice
// the latest p99 wait for a core, capped at half the budget; it reports whether the cap
// binds. A request read now has waited about that long in its socket before the process
// got to it, and its answer will wait about as long for a core once it is ready, and
// the auction's clock, which starts at the read, sees neither: without the allowance the
// auctions read after a stall answer past their tmax (at twice a core's capacity,
// 0.73-1.16% of the accepted, against 0.23-0.57% with it; docs/BENCHMARKS.md). When the cap binds, the
// auction cannot be served in time: admit sheds it. A budget of 0 or less (a tmax within
// the safety margin) asks no DSP whatever the queue, so it loses nothing. The wait is only
// sampled while overload.max_wait is set; otherwise the allowance is 0.
func (l *overload) allowance(budget time.Duration) (time.Duration, bool) {
	a := 2 * time.Duration(l.wait.Load())
	if budget <= 0 {
		return 0, false
	}
	if a > budget/2 {
		return budget / 2, true
	}
	return a, false
}

// leave ends an admitted auction.
func (l *overload) leave() { l.inflight.Add(-1) }

// edgeRing counts the auctions reaching the gateway and those shed, in one-minute slots
// over FiguresWindow, as the DSPs' figures are counted.
type edgeRing struct {
	ring ring[edgeCounts]
}

// edgeCounts are the counts of one slot.
type edgeCounts struct {
	auctions int64
	shed     [numShedReasons]int64
}

// count counts one auction at now, shed for why (shedNone: not shed).
func (e *edgeRing) count(now time.Time, why shedReason) {
	e.ring.update(now, func(c *edgeCounts) {
		c.auctions++
		if why != shedNone {
			c.shed[why]++
		}
	})
}

// window sums the slots of the last FiguresWindow at now.
func (e *edgeRing) window(now time.Time) stats.Load {
	l := stats.Load{Shed: make(map[string]int64, numShedReasons)}
	var shed [numShedReasons]int64
	l.Window = e.ring.window(now, func(c *edgeCounts) {
		l.Auctions += c.auctions
		for r := range shed {
			shed[r] += c.shed[r]
		}
	})
	for r := shedReason(0); r < numShedReasons; r++ {
		l.Shed[r.String()] = shed[r]
	}
	return l
}

// Load gives the auctions that reached the gateway and those it shed over the last
// FiguresWindow, and the auctions in flight now (the admin page's shed share).
func (g *Gateway) Load() stats.Load {
	l := g.load.edge.window(time.Now())
	l.Inflight = g.load.inflight.Load()
	return l
}

// Shed gives the auctions shed since start, by reason ("inflight", "wait").
func (g *Gateway) Shed() map[string]int64 {
	out := make(map[string]int64, numShedReasons)
	for r := shedReason(0); r < numShedReasons; r++ {
		out[r.String()] = g.load.shed[r].Load()
	}
	return out
}

// isPrebid reports whether a bid request carries ext.prebid (not null): a Prebid client.
func isPrebid(body []byte) bool {
	p := member(member(body, "ext"), "prebid")
	return len(p) > 0 && string(p) != "null"
}

// tmaxOf reads a bid request's tmax (ms) without decoding the rest, for admission: 0 (the
// default tmax) when it is missing or not an integer, which decoding then reports.
func tmaxOf(body []byte) int64 {
	n, err := strconv.ParseInt(string(member(body, "tmax")), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// shedBody is the no-bid a Prebid client gets for a shed auction.
type shedBody struct {
	ID      string     `json:"id"`
	SeatBid []struct{} `json:"seatbid"`
	NBR     int        `json:"nbr"`
}

// refuseLoad answers a shed auction (see overload) and counts it. It reads only the id
// and ext.prebid of the body, which need not be valid: a body that does not decode gets
// the 503.
func (g *Gateway) refuseLoad(c *gin.Context, st *state, start time.Time, span trace.Span, body []byte, why shedReason) {
	g.load.shed[why].Add(1)
	g.load.edge.count(time.Now(), why)
	ctx := c.Request.Context()
	g.m.shed.Add(ctx, 1, g.m.shedOpts[why]...)
	g.m.auction(ctx, resultShed, time.Since(start).Seconds())
	if ok, held := g.load.logs.allow(time.Now(), shedLogPeriod); ok {
		limit, share := g.load.ctl.current()
		g.log.Warn("shedding auctions: the gateway is at capacity", "reason", why.String(),
			"inflight", g.load.inflight.Load(), "admitted_per_s", math.Round(limit), "shed_share", math.Round(share*1000)/1000, "shed_since_last_line", held)
	}
	status := http.StatusServiceUnavailable
	c.Header("Retry-After", strconv.Itoa(int(st.cfg.Overload.RetryAfter/time.Second)))
	c.Header("X-Openrtb-Version", "2.6")
	// Only two members are read, without decoding the rest: a shed auction must cost
	// little, since the gateway sheds because it is short of CPU.
	var id string
	if raw := member(body, "id"); raw != nil && json.Unmarshal(raw, &id) == nil && id != "" &&
		(st.cfg.Auction.NoBid == config.NoBid200 || (st.cfg.Auction.NoBid == config.NoBidAuto && isPrebid(body))) {
		if b, err := json.Marshal(shedBody{ID: id, SeatBid: []struct{}{}, NBR: nbrTechnicalError}); err == nil {
			status = http.StatusOK
			c.Data(status, "application/json", b)
		}
	}
	if status != http.StatusOK {
		c.Status(status)
		c.Writer.WriteHeaderNow()
	}
	if span.IsRecording() {
		span.SetAttributes(attribute.Int("http.status_code", status), attribute.String("bidsieve.shed", why.String()))
	}
}
