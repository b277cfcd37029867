// Package dspserver serves simulated DSPs over HTTP (`bidsieve dsp-sim`): every DSP of a
// profile file on one listener, POST /bid/{name} with an OpenRTB 2.5 bid request.
//
// A DSP answers exactly as the offline simulator draws it (dsp/sim's DrawRequest and
// DrawBid, from the server's seed and the request and imp ids): a BidResponse with one
// bid per imp it bids on (seat = its name), or 204 without bids, after sleeping its
// latency; a late 204 for its timeouts (after the request's tmax), 500 for its errors,
// 429 beyond its QPS limit, 400 for a request it cannot decode. Win, loss and billing
// notices come back to GET /win/{name}, /loss/{name} and /bill/{name}; GET /stats serves
// the counts as JSON (see Stats); POST /stats/reset zeroes them.
//
// Reload puts a new profile file in force while serving (`dsp-sim` calls it on SIGHUP or
// a change to the file), so that a DSP's behaviour can change mid-run: a request is
// answered wholly by the profiles in force when it arrived; a DSP kept by name keeps its
// counts and, when its qps_limit is unchanged, its QPS bucket; a DSP added starts at zero;
// a DSP removed answers 404 and leaves /stats.
//
// The hour of the profiles' hour_utc terms is the server's clock (wall clock unless a
// test injects one). Prices are CPM in USD, latencies ms. A Server is safe for
// concurrent use.
package dspserver

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bidsieve/bidsieve/dsp/sim"
	"github.com/prebid/openrtb/v19/openrtb2"
)

// Options tunes a Server. The zero value serves with the wall clock, real sleeps and
// seed 0.
type Options struct {
	// Seed draws the outcomes; `simulate --seed S` and a server with Seed S draw the
	// same answers to the same requests.
	Seed uint64
	// Now is the clock for hour_utc and the QPS limit; time.Now when nil.
	Now func() time.Time
	// Hours, when set, is the clock of the hour_utc terms instead of Now: a simulated
	// clock (`dsp-sim --clock`) whose days pass in minutes, while the QPS limit keeps Now.
	Hours func() time.Time
	// Sleep waits out a DSP's latency; the package's Sleep (a timer that stops early when
	// ctx is done) when nil.
	// Tests may make it return at once.
	Sleep func(ctx context.Context, d time.Duration)
	// BaseURL prefixes the notice URLs (e.g. "http://127.0.0.1:9001"); when empty they
	// point at the Host the request came to.
	BaseURL string
	// QPSWindow is the burst a DSP tolerates: its QPS limit is a token bucket holding
	// qps_limit x QPSWindow requests. One second when 0.
	QPSWindow time.Duration
	// MaxBodyBytes bounds a bid request; 1 MiB when 0.
	MaxBodyBytes int64
	// Logger receives one line per bad request; nil discards.
	Logger *slog.Logger
}

// defaultTMaxMS is the deadline of a request without tmax.
const defaultTMaxMS = 200

// lateBy is how far past the deadline a timed-out DSP answers.
const lateBy = 50 * time.Millisecond

// Server is the HTTP handler of the simulated DSPs.
type Server struct {
	opts   Options
	roster atomic.Pointer[roster] // the DSPs in force; swapped whole by Reload
	mu     sync.Mutex             // serializes Reload
	mux    *http.ServeMux
}

// roster is the DSPs of one profile file, by name and in the file's order. It is never
// changed once in force.
type roster struct {
	byName map[string]*dspState
	order  []*dspState
}

type dspState struct {
	d       *sim.DSP
	limiter *bucket
	c       *counters // shared with the DSP of the same name in the roster before
}

// New returns a server for every DSP of p.
func New(p *sim.Profiles, opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = Sleep
	}
	if opts.Hours == nil {
		opts.Hours = opts.Now
	}
	if opts.QPSWindow <= 0 {
		opts.QPSWindow = time.Second
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	s := &Server{opts: opts, mux: http.NewServeMux()}
	s.Reload(p)
	s.mux.HandleFunc("POST /bid/{name}", s.bid)
	s.mux.HandleFunc("/win/{name}", s.notice(func(c *counters) *counter { return &c.wins }))
	s.mux.HandleFunc("/loss/{name}", s.notice(func(c *counters) *counter { return &c.losses }))
	s.mux.HandleFunc("/bill/{name}", s.notice(func(c *counters) *counter { return &c.billed }))
	s.mux.HandleFunc("POST /truth", s.truth)
	s.mux.HandleFunc("GET /stats", s.stats)
	s.mux.HandleFunc("POST /stats/reset", s.reset)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	return s
}

// Reload puts the DSPs of p in force, as the package comment describes, and returns the
// names of the DSPs added and removed.
func (s *Server) Reload(p *sim.Profiles) (added, removed []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.roster.Load()
	r := &roster{byName: make(map[string]*dspState, len(p.DSPs))}
	for _, d := range p.DSPs {
		st := &dspState{d: d, c: &counters{}}
		var prev *dspState
		if old != nil {
			prev = old.byName[d.Name]
		}
		switch {
		case prev != nil:
			st.c = prev.c
			if d.QPSLimit > 0 && prev.d.QPSLimit == d.QPSLimit {
				st.limiter = prev.limiter
			}
		case old != nil:
			added = append(added, d.Name)
		}
		if d.QPSLimit > 0 && st.limiter == nil {
			st.limiter = newBucket(float64(d.QPSLimit), s.opts.QPSWindow, s.opts.Now())
		}
		r.byName[d.Name] = st
		r.order = append(r.order, st)
	}
	if old != nil {
		for _, st := range old.order {
			if r.byName[st.d.Name] == nil {
				removed = append(removed, st.d.Name)
			}
		}
	}
	s.roster.Store(r)
	return added, removed
}

// dsp returns the DSP in force named name, nil when there is none.
func (s *Server) dsp(name string) *dspState { return s.roster.Load().byName[name] }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Sleep waits d, or until ctx is done if that comes first: the default of Options.Sleep,
// for a caller that wraps it (scaling the latencies, say).
func Sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (s *Server) bid(w http.ResponseWriter, r *http.Request) {
	st := s.dsp(r.PathValue("name"))
	if st == nil {
		http.Error(w, "unknown DSP", http.StatusNotFound)
		return
	}
	c := st.c
	c.requests.add(1)
	if st.limiter != nil && !st.limiter.take(s.opts.Now()) {
		c.throttled.add(1)
		http.Error(w, "over the QPS limit", http.StatusTooManyRequests)
		return
	}
	req, err := s.decode(w, r)
	if err != nil {
		c.badRequests.add(1)
		s.opts.Logger.Info("bad bid request", "dsp", st.d.Name, "err", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}

	d := st.d
	tmax := deadlineMS(req)
	a := s.answer(d, req, s.opts.Hours())
	fate, latency := a.fate, a.latency
	var bids []openrtb2.Bid
	for _, ib := range a.bids {
		bids = append(bids, s.makeBid(r, d.Name, req, &req.Imp[ib.imp], ib.price))
	}
	c.imps.add(int64(len(req.Imp)))
	c.sumTrueP.addFloat(a.sumP)

	switch fate {
	case sim.TimedOut:
		s.opts.Sleep(r.Context(), time.Duration(tmax)*time.Millisecond+lateBy)
		c.timeouts.add(1)
		w.WriteHeader(http.StatusNoContent)
		return
	case sim.Failed:
		s.opts.Sleep(r.Context(), ms(latency))
		c.errors.add(1)
		http.Error(w, "simulated DSP error", http.StatusInternalServerError)
		return
	}
	s.opts.Sleep(r.Context(), ms(latency))
	if len(bids) == 0 {
		c.nobids.add(1)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	body, err := json.Marshal(&openrtb2.BidResponse{
		ID:      req.ID,
		BidID:   req.ID + "-" + d.Name,
		Cur:     "USD",
		SeatBid: []openrtb2.SeatBid{{Seat: d.Name, Bid: bids}},
	})
	if err != nil {
		c.errors.add(1)
		http.Error(w, "encode bid response", http.StatusInternalServerError)
		return
	}
	c.bidResponses.add(1)
	c.bids.add(int64(len(bids)))
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body) // a client gone is not our error
}

// answer is what DSP d answers to req with the hour_utc clock at now: a pure function of
// the seed, the DSP's profile, the request and now, so the answer to a request the DSP
// never got is known exactly (Truth).
type answer struct {
	fate    sim.Fate
	latency float64 // ms
	bids    []impBid
	sumP    float64 // sum of the imps' true_p
}

type impBid struct {
	imp   int // index in req.Imp
	price float64
}

func (s *Server) answer(d *sim.DSP, req *openrtb2.BidRequest, now time.Time) answer {
	var out answer
	out.fate, out.latency = d.DrawRequest(s.opts.Seed, req.ID, deadlineMS(req))
	for i := range req.Imp {
		imp := &req.Imp[i]
		a := sim.ParseAttrs(req, imp, now)
		ev := d.Evaluate(&a)
		out.sumP += ev.TrueP
		if out.fate != sim.Answered {
			continue
		}
		if price, ok := d.DrawBid(s.opts.Seed, req.ID, imp.ID, &a, &ev); ok {
			out.bids = append(out.bids, impBid{imp: i, price: price})
		}
	}
	return out
}

// deadlineMS is req's tmax, or defaultTMaxMS without one.
func deadlineMS(req *openrtb2.BidRequest) int {
	if req.TMax <= 0 {
		return defaultTMaxMS
	}
	return int(req.TMax)
}

// Truth is the ground truth of req: for every DSP in force, the imps it would bid on in
// time had it been sent req now (its QPS limit aside), exactly as POST /bid answers it.
// It counts them in the DSPs' offered and would_bid figures, so that a DSP's true recall
// is bids / would_bid over the requests offered to the gateway, the ones it never got
// included (the loop's table, `make loop`). POST /truth serves it for other processes.
func (s *Server) Truth(req *openrtb2.BidRequest) map[string]int {
	r := s.roster.Load()
	now := s.opts.Hours()
	out := make(map[string]int, len(r.order))
	for _, st := range r.order {
		n := len(s.answer(st.d, req, now).bids)
		st.c.offered.add(1)
		st.c.wouldBid.add(int64(n))
		out[st.d.Name] = n
	}
	return out
}

// truth serves POST /truth: a bid request in, {"dsp": imps it would bid on, ...} out.
func (s *Server) truth(w http.ResponseWriter, r *http.Request) {
	req, err := s.decode(w, r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(s.Truth(req)) // a client gone is not our error
}

func ms(x float64) time.Duration { return time.Duration(x * float64(time.Millisecond)) }

// decode reads the bid request: JSON, gzip allowed, size bounded; it needs an id and at
// least one imp with an id.
func (s *Server) decode(w http.ResponseWriter, r *http.Request) (*openrtb2.BidRequest, error) {
	var body io.Reader = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, fmt.Errorf("decode bid request: gzip: %w", err)
		}
		defer func() { _ = zr.Close() }()
		body = io.LimitReader(zr, s.opts.MaxBodyBytes)
	}
	var req openrtb2.BidRequest
	if err := json.NewDecoder(body).Decode(&req); err != nil {
		return nil, fmt.Errorf("decode bid request: %w", err)
	}
	if req.ID == "" {
		return nil, fmt.Errorf("decode bid request: no id")
	}
	if len(req.Imp) == 0 {
		return nil, fmt.Errorf("decode bid request: no imp")
	}
	for i := range req.Imp {
		if req.Imp[i].ID == "" {
			return nil, fmt.Errorf("decode bid request: imp[%d] has no id", i)
		}
	}
	return &req, nil
}

// makeBid builds the bid of DSP name on imp, with notice URLs back to this server.
func (s *Server) makeBid(r *http.Request, name string, req *openrtb2.BidRequest, imp *openrtb2.Imp, price float64) openrtb2.Bid {
	base := s.opts.BaseURL
	if base == "" {
		base = "http://" + r.Host
	}
	q := "?req=${AUCTION_ID}&imp=${AUCTION_IMP_ID}"
	crid := name + "-" + imp.ID
	b := openrtb2.Bid{
		ID:      req.ID + "-" + imp.ID + "-" + name,
		ImpID:   imp.ID,
		Price:   price,
		NURL:    base + "/win/" + name + q + "&price=${AUCTION_PRICE}",
		BURL:    base + "/bill/" + name + q + "&price=${AUCTION_PRICE}",
		LURL:    base + "/loss/" + name + q + "&reason=${AUCTION_LOSS}",
		AdID:    "ad-" + crid,
		CrID:    "cr-" + crid,
		CID:     "campaign-" + name,
		ADomain: []string{name + "-advertiser.example"},
	}
	switch {
	case imp.Banner != nil:
		b.MType = openrtb2.MarkupBanner
		if f := imp.Banner.Format; len(f) > 0 {
			b.W, b.H = f[0].W, f[0].H
		} else if imp.Banner.W != nil && imp.Banner.H != nil {
			b.W, b.H = *imp.Banner.W, *imp.Banner.H
		}
		b.AdM = `<a href="https://` + name + `-advertiser.example/"><img src="https://cdn.example/` + crid + `.png" width="` +
			strconv.FormatInt(b.W, 10) + `" height="` + strconv.FormatInt(b.H, 10) + `"></a>`
	case imp.Video != nil:
		b.MType = openrtb2.MarkupVideo
		b.AdM = `<VAST version="3.0"><Ad id="` + crid + `"><InLine><AdSystem>` + name + `</AdSystem><AdTitle>` + crid +
			`</AdTitle><Creatives><Creative><Linear><Duration>00:00:15</Duration><MediaFiles><MediaFile delivery="progressive" type="video/mp4" width="640" height="360">https://cdn.example/` +
			crid + `.mp4</MediaFile></MediaFiles></Linear></Creative></Creatives></InLine></Ad></VAST>`
	case imp.Native != nil:
		b.MType = openrtb2.MarkupNative
		b.AdM = `{"ver":"1.2","assets":[{"id":1,"title":{"text":"Simulated ad by ` + name + `"}},{"id":2,"img":{"url":"https://cdn.example/` +
			crid + `.png","w":1200,"h":627}}],"link":{"url":"https://` + name + `-advertiser.example/"}}`
	case imp.Audio != nil:
		b.MType = openrtb2.MarkupAudio
		b.AdM = `<VAST version="3.0"><Ad id="` + crid + `"><InLine><AdSystem>` + name + `</AdSystem><AdTitle>` + crid + `</AdTitle></InLine></Ad></VAST>`
	}
	return b
}

// notice counts a win, loss or billing notice.
func (s *Server) notice(which func(*counters) *counter) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		st := s.dsp(r.PathValue("name"))
		if st == nil {
			http.Error(w, "unknown DSP", http.StatusNotFound)
			return
		}
		which(st.c).add(1)
		if p, err := strconv.ParseFloat(r.URL.Query().Get("price"), 64); err == nil && p > 0 && strings.HasPrefix(r.URL.Path, "/win/") {
			st.c.spend.addFloat(p)
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// bucket is a token bucket: rate tokens a second, at most burst held.
type bucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(rate float64, window time.Duration, now time.Time) *bucket {
	burst := max(1, rate*window.Seconds())
	return &bucket{rate: rate, burst: burst, tokens: burst, last: now}
}

func (b *bucket) take(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(b.burst, b.tokens+dt*b.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
