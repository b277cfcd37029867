package gateway

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/modelfile"
)

// benchRequest is a typical Prebid-style request: one banner imp, site, device, user.
const benchRequest = `{"id":"bench-1","imp":[{"id":"1","banner":{"format":[{"w":300,"h":250},{"w":300,"h":600}],"pos":1},` +
	`"bidfloor":0.4,"bidfloorcur":"USD","tagid":"slot-1","secure":1,"ext":{"prebid":{"bidder":{"x":{"placementId":12345}}}}}],` +
	`"site":{"id":"site-1","domain":"news.example","page":"https://news.example/world/article-1","cat":["IAB12"],` +
	`"publisher":{"id":"pub-1","name":"News"}},"device":{"ua":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 ` +
	`(KHTML, like Gecko) Chrome/120.0 Safari/537.36","ip":"203.0.113.7","devicetype":2,"os":"Windows","language":"en",` +
	`"geo":{"country":"USA","region":"CA","city":"San Francisco"}},"user":{"id":"u-123","buyeruid":"bu-456"},` +
	`"regs":{"ext":{"gdpr":0}},"source":{"tid":"t-1"},"tmax":200,"cur":["USD"]}`

// stubTransport answers from memory: the network taken out of the fan-out.
type stubTransport struct {
	bids map[string][]byte // endpoint -> answer; absent: 204
}

func (s *stubTransport) Post(_ context.Context, endpoint string, _ []byte, buf *bytes.Buffer) (int, error) {
	b, ok := s.bids[endpoint]
	if !ok {
		return http.StatusNoContent, nil
	}
	buf.Write(b)
	return http.StatusOK, nil
}

func benchBid(i int) []byte {
	return fmt.Appendf(nil, `{"id":"bench-1","bidid":"bid-%d","cur":"USD","seatbid":[{"seat":"seat-%d","bid":[{"id":"b%d","impid":"1",`+
		`"price":%.2f,"adm":"<script src=\"https://cdn.dsp%d.example/ad.js?p=${AUCTION_PRICE}\"></script>",`+
		`"nurl":"http://127.0.0.1:1/win?p=${AUCTION_PRICE}","adomain":["brand%d.example"],"crid":"cr-%d","w":300,"h":250}]}]}`,
		i, i, i, 0.5+float64(i)/10, i, i, i)
}

// benchGateway is a gateway with 8 DSPs of which the first `bidders` bid.
func benchGateway(b *testing.B, bidders int) *Gateway {
	return benchGatewayWith(b, bidders, nil, nil)
}

// benchGatewayWith is benchGateway with a scorer and a change of the configuration.
func benchGatewayWith(b *testing.B, bidders int, sc Scorer, change func(*config.Config)) *Gateway {
	cfg := config.Defaults()
	cfg.AdminListen = ""
	cfg.Auction.Seed = 1
	stub := &stubTransport{bids: map[string][]byte{}}
	for i := range 8 {
		d := config.DefaultDSP()
		d.Name = fmt.Sprintf("dsp%d", i)
		d.Endpoint = "http://127.0.0.1:1/bid/" + d.Name
		// No notice host is allowed: notices are refused before any network.
		if i < bidders {
			stub.bids[d.Endpoint] = benchBid(i)
		}
		cfg.DSPs = append(cfg.DSPs, d)
	}
	if change != nil {
		change(cfg)
	}
	g, err := New(cfg, Options{Transport: stub, NoticeTransport: http.DefaultTransport, Scorer: sc})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = g.Close(context.Background()) })
	return g
}

// delivered is the deliverFunc of a publisher that gets every answer.
func delivered(reply) bool { return true }

// BenchmarkAuction is one auction from request bytes to answer bytes (decode, validate,
// plan, fan-out to 8 DSPs through a stubbed transport, decode their answers, auction,
// encode, notices): 1 imp, 8 DSPs, of which 0, 1 or 8 bid.
func BenchmarkAuction(b *testing.B) {
	for _, bidders := range []int{0, 1, 8} {
		b.Run(fmt.Sprintf("1imp-8dsp-%dbid", bidders), func(b *testing.B) {
			g := benchGateway(b, bidders)
			body := []byte(benchRequest)
			st := g.state.Load()
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			unsold := 0
			for b.Loop() {
				rerr := g.serve(context.Background(), st, time.Now(), body, func(a reply) bool {
					if (bidders > 0) != a.sold {
						unsold++ // only when the process stalled past the 185 ms deadline
					}
					return true
				})
				if rerr != nil {
					b.Fatal(rerr)
				}
			}
			if unsold > b.N/100 {
				b.Errorf("%d of %d auctions unsold", unsold, b.N)
			}
		})
	}
}

// benchServe measures g serving body on the state in force, to a client that takes every
// answer, with allocations reported.
func benchServe(b *testing.B, g *Gateway, body []byte) {
	st := g.state.Load()
	b.ReportAllocs()
	for b.Loop() {
		if rerr := g.serve(context.Background(), st, time.Now(), body, delivered); rerr != nil {
			b.Fatal(rerr)
		}
	}
}

// benchModel is an instant Model: DSP dspN scores 1 - N/10 on every imp, and every DSP's
// threshold is 0.55, so dsp0..dsp4 are sent and dsp5..dsp7 filtered (or explored).
type benchModel struct{ f *modelfile.File }

func newBenchModel() benchModel {
	f := &modelfile.File{Meta: modelfile.Metadata{Version: "bench", CreatedAt: time.Now()}}
	for i := range 8 {
		f.DSPs = append(f.DSPs, modelfile.DSP{Name: fmt.Sprintf("dsp%d", i), OK: true,
			Curve: []modelfile.CurvePoint{{Threshold: 0.55, Recall: 0.97, RecallLower: 0.96}}})
	}
	return benchModel{f: f}
}

func (m benchModel) File() *modelfile.File { return m.f }
func (m benchModel) Version() string       { return "bench" }
func (m benchModel) Score(_ context.Context, in *ScoreInput, dst []float64) error {
	for k, p := range in.Pairs {
		dst[k] = 1 - float64(p.DSP[3]-'0')/10
	}
	return nil
}

// BenchmarkAuctionShaping is BenchmarkAuction (1 imp, 8 DSPs, 1 bids) with an instant model:
// what the shaping decision itself costs (features, the batch, thresholds, the exploration
// draw, admission, the live figures), mode off against filter (5 of 8 DSPs sent) and
// shadow (all 8 sent). The model's own cost is BenchmarkPredict's (package predictor).
func BenchmarkAuctionShaping(b *testing.B) {
	for _, mode := range []string{config.ModeOff, config.ModeFilter, config.ModeShadow} {
		b.Run(mode, func(b *testing.B) {
			g := benchGatewayWith(b, 1, newBenchModel(), func(c *config.Config) { c.Shaping.Mode = mode })
			benchServe(b, g, []byte(benchRequest))
		})
	}
}

// BenchmarkAuctionPrivacy is BenchmarkAuction (1 imp, 8 DSPs, 1 bids) under the privacy
// rules (issue 12: under +15 µs over BenchmarkAuction): bidsieve's supply-chain node on,
// the 8 DSPs on vendors 10, 20 and 30 in both placements, and the request with GDPR and
// a TCF 2 string (full consent; purposes 1 and 2 only, so user ids go; none, so every
// DSP is withheld), or the benchmark's own request (regs.ext.gdpr 0) with the node; and
// full consent with every DSP in the publisher's placement (one body for all).
func BenchmarkAuctionPrivacy(b *testing.B) {
	withConsent := func(consent string) string {
		return strings.Replace(benchRequest, `"user":{"id":"u-123","buyeruid":"bu-456"},"regs":{"ext":{"gdpr":0}}`,
			`"user":{"id":"u-123","buyeruid":"bu-456","consent":"`+consent+`"},"regs":{"gdpr":1}`, 1)
	}
	for _, bc := range []struct {
		name, body string
		onePlace   bool // every DSP in the publisher's placement: one body for all
	}{
		{"gdpr0-node", benchRequest, false},
		{"tcf-full", withConsent(tcfFull), false},
		{"tcf-full-one-placement", withConsent(tcfFull), true},
		{"tcf-purposes12", withConsent(tcfPurposes12), false},
		{"tcf-none", withConsent(tcfNothing), false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if bc.body == benchRequest != (bc.name == "gdpr0-node") {
				b.Fatal("the consent was not spliced into the request")
			}
			g := benchGatewayWith(b, 1, nil, func(c *config.Config) {
				c.Privacy.GVLFile = testGVL
				c.SChain = config.SChain{ASI: "bidsieve.example", SID: "pub-1", HP: 1}
				for i := range c.DSPs {
					c.DSPs[i].GVLID = []int{10, 20, 30}[i%3]
					if !bc.onePlace {
						c.DSPs[i].ORTB = []string{config.ORTBAsReceived, config.ORTB26, config.ORTB25}[i%3]
					}
				}
			})
			benchServe(b, g, []byte(bc.body))
		})
	}
}

// BenchmarkHandler is BenchmarkAuction plus the HTTP layer (gin, body reading, headers)
// without a socket.
func BenchmarkHandler(b *testing.B) {
	g := benchGateway(b, 1)
	h := g.Handler()
	body := []byte(benchRequest)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/openrtb2/auction", bytes.NewReader(body))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// BenchmarkLoopback measures requests/s against a real gateway on loopback with 8
// instant fake DSPs (one bids) on loopback too: everything shares the machine's cores.
// It reports req/s and the answer latency percentiles seen by the clients.
func BenchmarkLoopback(b *testing.B) {
	cfg := config.Defaults()
	cfg.AdminListen = ""
	addLoopbackDSPs(b, cfg)
	cfg.Overload.MaxWait = 0 // the fake DSPs and the clients share the process: their scheduler waits are not the gateway's load
	g, err := New(cfg, Options{})
	if err != nil {
		b.Fatal(err)
	}
	gw := httptest.NewServer(g.Handler())
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	client := &http.Client{Transport: tr}
	defer func() {
		gw.Close()
		_ = g.Close(context.Background())
		tr.CloseIdleConnections()
	}()
	url := gw.URL + "/openrtb2/auction"
	var failures atomic.Int64
	lat := newLatencies()
	b.SetParallelism(8) // 8 x GOMAXPROCS concurrent clients
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			t0 := time.Now()
			resp, err := client.Post(url, "application/json", strings.NewReader(benchRequest))
			if err != nil {
				failures.Add(1)
				continue
			}
			buf := getBuf()
			_, _ = buf.ReadFrom(resp.Body)
			putBuf(buf)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				failures.Add(1)
			}
			lat.add(time.Since(t0))
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	p50, p99 := lat.percentiles()
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	if n := failures.Load(); n > 0 {
		b.Errorf("%d of %d requests failed", n, b.N)
	}
}

// addLoopbackDSPs adds 8 instant fake DSPs on loopback to cfg, dsp0 to dsp7: dsp0 bids
// (benchBid), the others answer 204. They close when tb's cleanups run.
func addLoopbackDSPs(tb testing.TB, cfg *config.Config) {
	for i := range 8 {
		answer := []byte(nil)
		if i == 0 {
			answer = benchBid(0)
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			buf := getBuf()
			_, _ = buf.ReadFrom(r.Body)
			putBuf(buf)
			if answer == nil {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			_, _ = w.Write(answer)
		}))
		tb.Cleanup(srv.Close)
		d := config.DefaultDSP()
		d.Name = fmt.Sprintf("dsp%d", i)
		d.Endpoint = srv.URL + "/bid/" + d.Name
		cfg.DSPs = append(cfg.DSPs, d)
	}
}

// latencies collects durations from many goroutines.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func newLatencies() *latencies { return &latencies{} }

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) percentiles() (p50, p99 time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0, 0
	}
	slices.Sort(l.d)
	return l.d[len(l.d)/2], l.d[len(l.d)*99/100]
}
