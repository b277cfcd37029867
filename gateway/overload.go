package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/stats"
	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Overload control at the edge (config overload). Past its capacity a gateway that takes
// every auction serves all of them late: its own lateness becomes DSP timeouts, every
// breaker sees them, and the publisher gets fast no-bids while the DSPs get nothing. So an
// auction the gateway cannot start at once is refused at once, before any decision, and
// the auctions it accepts keep their deadlines:
//
//   - in flight: more than overload.max_inflight auctions between the body read and the
//     answer (1024 per core by default: at 150 ms an auction, far beyond what a core
//     serves, so it only binds when DSPs stall);
//   - the wait for a worker: the CPU stages before the fan-out (decode, validate, score,
//     decide) run on one of overload.workers slots (one per core). An auction that waits
//     more than overload.max_wait for one is shed: the queue for the cores is the measure
//     of being behind that the Go scheduler does not give.
//
// A shed auction gets 503 with Retry-After, or, for a Prebid client (a request carrying
// ext.prebid, or auction.nobid 200), 200 with an empty seatbid, nbr 1 and Retry-After:
// Prebid.js and Prebid Server read a 503 as a bidder error. It is counted in
// bidsieve_shed_total{reason} and bidsieve_auctions_total{result="shed"}.
type overload struct {
	inflight atomic.Int64
	workers  chan struct{} // a semaphore of overload.workers slots; sized at start
	shed     [numShedReasons]atomic.Int64
	logs     everyLog
	edge     edgeRing // the last FiguresWindow, for the admin page
}

// edgeRing counts the auctions reaching the gateway and those shed, in one-minute slots
// over FiguresWindow, as the DSPs' figures are counted.
type edgeRing struct {
	mu    sync.Mutex
	first time.Time
	slots [figSlots]struct {
		minute   int64
		auctions int64
		shed     [numShedReasons]int64
	}
}

// count counts one auction at now, shed for why (shedNone: not shed).
func (e *edgeRing) count(now time.Time, why shedReason) {
	m := now.Unix() / int64(figSlot/time.Second)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.first.IsZero() {
		e.first = now
	}
	s := &e.slots[int(m%int64(figSlots))]
	if s.minute != m {
		s.minute, s.auctions, s.shed = m, 0, [numShedReasons]int64{}
	}
	s.auctions++
	if why != shedNone {
		s.shed[why]++
	}
}

// window sums the slots of the last FiguresWindow at now.
func (e *edgeRing) window(now time.Time) stats.Load {
	m := now.Unix() / int64(figSlot/time.Second)
	l := stats.Load{Shed: make(map[string]int64, numShedReasons)}
	var shed [numShedReasons]int64
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range e.slots {
		if s := &e.slots[i]; s.minute > m-int64(figSlots) && s.minute <= m {
			l.Auctions += s.auctions
			for r := range shed {
				shed[r] += s.shed[r]
			}
		}
	}
	for r := shedReason(0); r < numShedReasons; r++ {
		l.Shed[r.String()] = shed[r]
	}
	if !e.first.IsZero() {
		l.Window = min(FiguresWindow, now.Sub(e.first))
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

// Reasons an auction is shed: the reason label of bidsieve_shed_total.
type shedReason int

const (
	shedNone     shedReason = iota - 1
	shedInflight            // overload.max_inflight auctions were in flight
	shedWait                // no worker came free within overload.max_wait
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

// inflightPerCore is the default in-flight cap per core (overload.max_inflight 0).
const inflightPerCore = 1024

// shedLogPeriod is how often shedding is logged while it lasts.
const shedLogPeriod = 10 * time.Second

func newOverload(o *config.Overload) *overload {
	n := o.Workers
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	return &overload{workers: make(chan struct{}, n)}
}

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

// admit takes one more auction in flight and, when overload.max_wait is set, a worker for
// its CPU stages (held reports it: serve gives it back before the fan-out). An auction
// shed gets the reason and holds nothing; one admitted is given back with leave.
func (l *overload) admit(ctx context.Context, o *config.Overload) (held bool, why shedReason) {
	n := l.inflight.Add(1)
	if limit := maxInflight(o); limit > 0 && n > limit {
		l.inflight.Add(-1)
		return false, shedInflight
	}
	if o.MaxWait <= 0 {
		return false, shedNone
	}
	select {
	case l.workers <- struct{}{}:
		return true, shedNone
	default:
	}
	t := time.NewTimer(o.MaxWait)
	defer t.Stop()
	select {
	case l.workers <- struct{}{}:
		return true, shedNone
	case <-t.C:
	case <-ctx.Done(): // the publisher hung up while waiting: nothing to serve
	}
	l.inflight.Add(-1)
	return false, shedWait
}

// release gives back the worker admit took.
func (l *overload) release() { <-l.workers }

// leave ends an admitted auction.
func (l *overload) leave() { l.inflight.Add(-1) }

// Shed gives the auctions shed since start, by reason ("inflight", "wait").
func (g *Gateway) Shed() map[string]int64 {
	out := make(map[string]int64, numShedReasons)
	for r := shedReason(0); r < numShedReasons; r++ {
		out[r.String()] = g.load.shed[r].Load()
	}
	return out
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
		g.log.Warn("shedding auctions: the gateway is at capacity", "reason", why.String(),
			"inflight", g.load.inflight.Load(), "workers", cap(g.load.workers), "shed_since_last_line", held)
	}
	status := http.StatusServiceUnavailable
	c.Header("Retry-After", strconv.Itoa(int(st.cfg.Overload.RetryAfter/time.Second)))
	c.Header("X-Openrtb-Version", "2.6")
	var head struct {
		ID  string `json:"id"`
		Ext struct {
			Prebid json.RawMessage `json:"prebid"`
		} `json:"ext"`
	}
	if json.Unmarshal(body, &head) == nil && head.ID != "" &&
		(st.cfg.Auction.NoBid == config.NoBid200 || (st.cfg.Auction.NoBid == config.NoBidAuto && len(head.Ext.Prebid) > 0 && string(head.Ext.Prebid) != "null")) {
		if b, err := json.Marshal(shedBody{ID: head.ID, SeatBid: []struct{}{}, NBR: nbrTechnicalError}); err == nil {
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
