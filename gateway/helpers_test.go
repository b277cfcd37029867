package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/config"
	"github.com/prebid/openrtb/v19/openrtb2"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind (gateways, fake DSPs
// and clients are all closed by their tests' cleanups).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// answer is what a fake DSP does with one request.
type answer struct {
	status int           // 0: 200 with body (or 204 when body is nil)
	body   any           // marshalled to JSON; a []byte or string is sent as is
	delay  time.Duration // before answering; cut short when the caller hangs up
	header http.Header   // added to the answer's headers (a 429's Retry-After)
}

// fakeDSP is a DSP on loopback.
type fakeDSP struct {
	srv  *httptest.Server
	hits atomic.Int64

	mu   sync.Mutex
	reqs []openrtb2.BidRequest
}

func newFakeDSP(t *testing.T, fn func(req *openrtb2.BidRequest) answer) *fakeDSP {
	t.Helper()
	f := &fakeDSP{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		var req openrtb2.BidRequest
		body, _ := io.ReadAll(r.Body) // reading it all lets the server see a hang-up
		if err := json.Unmarshal(body, &req); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, req)
		f.mu.Unlock()
		a := fn(&req)
		if a.delay > 0 {
			select {
			case <-time.After(a.delay):
			case <-r.Context().Done():
				return
			}
		}
		for k, v := range a.header {
			w.Header()[k] = v
		}
		if a.status != 0 && a.status != http.StatusOK {
			w.WriteHeader(a.status)
			return
		}
		if a.body == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		_, _ = w.Write(bodyBytes(a.body))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeDSP) requests() []openrtb2.BidRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]openrtb2.BidRequest(nil), f.reqs...)
}

// bidOn answers with one bid per listed price on the request's first imp.
func bidOn(price float64, extra func(b *openrtb2.Bid)) func(req *openrtb2.BidRequest) answer {
	return func(req *openrtb2.BidRequest) answer {
		b := openrtb2.Bid{ID: "b-" + req.Imp[0].ID, ImpID: req.Imp[0].ID, Price: price, AdM: "<ad price=${AUCTION_PRICE}>", CrID: "cr1", ADomain: []string{"adv.example"}}
		if extra != nil {
			extra(&b)
		}
		return answer{body: openrtb2.BidResponse{ID: req.ID, SeatBid: []openrtb2.SeatBid{{Seat: "seat1", Bid: []openrtb2.Bid{b}}}}}
	}
}

func noBid(*openrtb2.BidRequest) answer { return answer{} }

// noticeServer records the notices it receives.
type noticeServer struct {
	srv  *httptest.Server
	mu   sync.Mutex
	urls []string
}

func newNoticeServer(t *testing.T) *noticeServer {
	n := &noticeServer{}
	n.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.mu.Lock()
		n.urls = append(n.urls, r.URL.RequestURI())
		n.mu.Unlock()
	}))
	t.Cleanup(n.srv.Close)
	return n
}

func (n *noticeServer) got() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.urls...)
}

// testConfig returns a valid configuration with one DSP per fake, named a, b, c...
func testConfig(dsps ...*fakeDSP) *config.Config {
	c := config.Defaults()
	c.Listen = "127.0.0.1:0"
	c.AdminListen = ""
	c.Auction.Seed = 1
	// The scheduler's waits are the whole test binary's, which runs beside other packages
	// under the race detector: they say nothing about this gateway's load. The overload
	// tests that need the wait trigger set max_wait and a fake record themselves.
	c.Overload.MaxWait = 0
	c.Currency.Rates = map[string]float64{"EUR": 1.25, "GBP": 1.5, "JPY": 0.01}
	for i, f := range dsps {
		d := config.DefaultDSP()
		d.Name = string(rune('a' + i))
		d.Endpoint = f.srv.URL + "/bid/" + d.Name
		d.NoticeHosts = []string{"127.0.0.1"}
		c.DSPs = append(c.DSPs, d)
	}
	return c
}

type testGateway struct {
	g      *Gateway
	srv    *httptest.Server
	client *http.Client
	reader *sdkmetric.ManualReader
}

func newTestGateway(t *testing.T, cfg *config.Config, opts ...func(*Options)) *testGateway {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	o := Options{MeterProvider: mp}
	for _, f := range opts {
		f(&o)
	}
	g, err := New(cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler())
	tr := &http.Transport{}
	tg := &testGateway{g: g, srv: srv, client: &http.Client{Transport: tr}, reader: reader}
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := g.Close(ctx); err != nil {
			t.Errorf("close gateway: %v", err)
		}
		tr.CloseIdleConnections()
		_ = mp.Shutdown(ctx)
	})
	return tg
}

// stop shuts the HTTP server down (waiting for the handlers, which fire notices and log
// rows after answering), then closes the gateway (draining the notices), as serve does.
func (tg *testGateway) stop(t *testing.T) {
	t.Helper()
	tg.srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tg.g.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// post sends a bid request and returns the status and body.
func (tg *testGateway) post(t *testing.T, body any) (int, []byte) {
	t.Helper()
	resp, err := tg.client.Post(tg.srv.URL+"/openrtb2/auction", "application/json", bytes.NewReader(bodyBytes(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// bodyBytes is a test body as bytes: []byte and string as they are, anything else as JSON.
func bodyBytes(body any) []byte {
	switch b := body.(type) {
	case []byte:
		return b
	case string:
		return []byte(b)
	default:
		raw, _ := json.Marshal(b)
		return raw
	}
}

// metric returns the sum of the data points of an Int64 counter or gauge whose attributes
// include every given key=value.
func (tg *testGateway) metric(t *testing.T, name string, kv ...string) int64 {
	t.Helper()
	return sumMetric[int64](t, tg, name, kv)
}

// floatMetric returns the sum of the data points of a float64 gauge or counter whose
// attributes include every given key=value.
func (tg *testGateway) floatMetric(t *testing.T, name string, kv ...string) float64 {
	t.Helper()
	return sumMetric[float64](t, tg, name, kv)
}

// sumMetric collects tg's metrics and sums the data points of the counter or gauge name
// (of number type N) whose attributes include every given key=value.
func sumMetric[N int64 | float64](t *testing.T, tg *testGateway, name string, kv []string) N {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := tg.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var total N
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			var points []metricdata.DataPoint[N]
			switch d := m.Data.(type) {
			case metricdata.Sum[N]:
				points = d.DataPoints
			case metricdata.Gauge[N]:
				points = d.DataPoints
			}
			for _, p := range points {
				if hasAttrs(p.Attributes, kv) {
					total += p.Value
				}
			}
		}
	}
	return total
}

func hasAttrs(set attribute.Set, kv []string) bool {
	for i := 0; i+1 < len(kv); i += 2 {
		v, ok := set.Value(attribute.Key(kv[i]))
		if !ok || v.AsString() != kv[i+1] {
			return false
		}
	}
	return true
}

// request returns a minimal valid bid request with one banner imp.
func request(id string, floor float64) *openrtb2.BidRequest {
	return &openrtb2.BidRequest{
		ID:     id,
		Imp:    []openrtb2.Imp{{ID: "1", Banner: &openrtb2.Banner{Format: []openrtb2.Format{{W: 300, H: 250}}}, BidFloor: floor}},
		Site:   &openrtb2.Site{ID: "s", Domain: "pub.example", Publisher: &openrtb2.Publisher{ID: "p"}},
		Device: &openrtb2.Device{UA: "Mozilla/5.0", Geo: &openrtb2.Geo{Country: "USA"}},
		TMax:   300,
	}
}

// decodeError decodes a 4xx body.
func decodeError(t *testing.T, body []byte) errorBody {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %q is not JSON: %v", body, err)
	}
	if e.Field == "" || !strings.HasPrefix(e.Error, e.Field+": ") {
		t.Errorf("error body %q: want {error: \"FIELD: ...\", field: FIELD}", body)
	}
	return e
}
