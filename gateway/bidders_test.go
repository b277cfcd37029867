package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/config"
	"github.com/prebid/openrtb/v19/openrtb2"
)

// rawDSP is a DSP on loopback that keeps every request body as it received it and bids
// nothing.
type rawDSP struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies []string
}

func newRawDSP(t *testing.T) *rawDSP {
	t.Helper()
	d := &rawDSP{}
	d.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		d.mu.Lock()
		d.bodies = append(d.bodies, string(b))
		d.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(d.srv.Close)
	return d
}

func (d *rawDSP) got() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.bodies)
}

// bidderListGateway is a gateway in front of three raw DSPs named alpha, bravo and
// charlie (alias charlieMedia), with a bid log.
func bidderListGateway(t *testing.T) (*testGateway, []*rawDSP, *memSink) {
	t.Helper()
	dsps := []*rawDSP{newRawDSP(t), newRawDSP(t), newRawDSP(t)}
	cfg := testConfig()
	for i, name := range []string{"alpha", "bravo", "charlie"} {
		d := config.DefaultDSP()
		d.Name, d.Endpoint = name, dsps[i].srv.URL+"/bid"
		d.Timeout = 900 * time.Millisecond // fake DSPs answer at once, unless the machine is loaded
		cfg.DSPs = append(cfg.DSPs, d)
	}
	cfg.DSPs[2].Aliases = []string{"charlieMedia"}
	sink := &memSink{}
	return newTestGateway(t, cfg, func(o *Options) { o.BidLog = sink }), dsps, sink
}

// sentImp is one imp as a DSP received it: its id and ext.
type sentImp struct {
	ID  string          `json:"id"`
	Ext json.RawMessage `json:"ext"`
}

func impsSent(t *testing.T, body string) []sentImp {
	t.Helper()
	var r struct {
		Imp []sentImp `json:"imp"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("DSP got %q: %v", body, err)
	}
	return r.Imp
}

// compactJSON is s without insignificant space and with its keys sorted, for comparing
// JSON values by their bytes.
func compactJSON(t *testing.T, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func TestBidderList(t *testing.T) {
	type want struct {
		imps []string          // the imps the DSP is offered, in order; nil: not called
		exts map[string]string // imp id -> its ext as the DSP got it (JSON); absent: not checked
	}
	tests := []struct {
		name string
		exts []string // imp.ext of imps "1", "2", ... ("" for none)
		want [3]want  // alpha, bravo, charlie
	}{
		{"no list: everyone", []string{`{"gpid":"/slot"}`},
			[3]want{{imps: []string{"1"}, exts: map[string]string{"1": `{"gpid":"/slot"}`}}, {imps: []string{"1"}}, {imps: []string{"1"}}}},
		{"prebid.bidder names one", []string{`{"prebid":{"bidder":{"alpha":{"placement":7}}}}`},
			[3]want{{imps: []string{"1"}, exts: map[string]string{"1": `{"bidder":{"placement":7}}`}}, {}, {}}},
		{"legacy imp.ext.{name}", []string{`{"bravo":{"zone":"z1"},"gpid":"/slot","data":{"pbadslot":"x"}}`},
			[3]want{{}, {imps: []string{"1"}, exts: map[string]string{"1": `{"bidder":{"zone":"z1"},"gpid":"/slot","data":{"pbadslot":"x"}}`}}, {}}},
		{"alias, in another case", []string{`{"prebid":{"bidder":{"CHARLIEMEDIA":{"site":3}}}}`},
			[3]want{{}, {}, {imps: []string{"1"}, exts: map[string]string{"1": `{"bidder":{"site":3}}`}}}},
		{"only unknown bidders: everyone, ext as it came", []string{`{"prebid":{"bidder":{"appnexus":{"placementId":1}}}}`},
			[3]want{{imps: []string{"1"}, exts: map[string]string{"1": `{"prebid":{"bidder":{"appnexus":{"placementId":1}}}}`}}, {imps: []string{"1"}}, {imps: []string{"1"}}}},
		{"one imp listed, one not", []string{`{"prebid":{"bidder":{"alpha":{"p":1}}}}`, ""},
			[3]want{{imps: []string{"1", "2"}, exts: map[string]string{"1": `{"bidder":{"p":1}}`}}, {imps: []string{"2"}}, {imps: []string{"2"}}}},
		{"each imp its own DSPs", []string{`{"prebid":{"bidder":{"alpha":{"p":1},"bravo":{"p":2}}}}`, `{"charlie":{"p":3}}`},
			[3]want{
				{imps: []string{"1"}, exts: map[string]string{"1": `{"bidder":{"p":1}}`}},
				{imps: []string{"1"}, exts: map[string]string{"1": `{"bidder":{"p":2}}`}},
				{imps: []string{"2"}, exts: map[string]string{"2": `{"bidder":{"p":3}}`}}}},
		{"prebid.bidder wins over the legacy key; other prebid members dropped but options", []string{
			`{"alpha":{"old":1},"prebid":{"bidder":{"alpha":{"new":2}},"storedrequest":{"id":"s"},"options":{"echovideoattrs":true}},"tid":"t1"}`},
			[3]want{{imps: []string{"1"}, exts: map[string]string{"1": `{"bidder":{"new":2},"prebid":{"options":{"echovideoattrs":true}},"tid":"t1"}`}}, {}, {}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg, dsps, sink := bidderListGateway(t)
			req := request("r1", 0)
			req.Imp = nil
			for i, ext := range tt.exts {
				imp := openrtb2.Imp{ID: string(rune('1' + i)), Banner: &openrtb2.Banner{Format: []openrtb2.Format{{W: 300, H: 250}}}}
				if ext != "" {
					imp.Ext = json.RawMessage(ext)
				}
				req.Imp = append(req.Imp, imp)
			}
			if status, body := tg.post(t, req); status != http.StatusNoContent {
				t.Fatalf("status %d %s, want 204", status, body)
			}
			tg.stop(t)
			rows := map[string][]string{} // DSP -> imps with a bid-log row
			for _, r := range sink.all() {
				rows[r.DSP] = append(rows[r.DSP], r.ImpID)
			}
			for k, name := range []string{"alpha", "bravo", "charlie"} {
				w, got := tt.want[k], dsps[k].got()
				if w.imps == nil {
					if len(got) != 0 || rows[name] != nil {
						t.Errorf("%s: got %d requests and bid-log rows for imps %q; want it not considered (no request, no row)", name, len(got), rows[name])
					}
					continue
				}
				if len(got) != 1 {
					t.Fatalf("%s: %d requests, want 1", name, len(got))
				}
				var ids []string
				for _, imp := range impsSent(t, got[0]) {
					ids = append(ids, imp.ID)
					if want, ok := w.exts[imp.ID]; ok && compactJSON(t, string(imp.Ext)) != compactJSON(t, want) {
						t.Errorf("%s: imp %s ext %s, want %s", name, imp.ID, imp.Ext, want)
					}
				}
				if !slices.Equal(ids, w.imps) || !slices.Equal(sorted(rows[name]), w.imps) {
					t.Errorf("%s: offered imps %q with bid-log rows for %q, want %q", name, ids, rows[name], w.imps)
				}
			}
		})
	}
}

// Each DSP's request holds its own parameters and nothing of the others': not their names,
// aliases or parameters.
func TestBidderParamsAreIsolated(t *testing.T) {
	tg, dsps, _ := bidderListGateway(t)
	req := request("r1", 0)
	req.Imp[0].Ext = json.RawMessage(`{"prebid":{"bidder":{"alpha":{"secret":"alpha-key-111"},` +
		`"charlieMedia":{"secret":"charlie-key-333"}}},"bravo":{"secret":"bravo-key-222"},"gpid":"/slot"}`)
	req.Imp = append(req.Imp, openrtb2.Imp{ID: "2", Banner: &openrtb2.Banner{Format: []openrtb2.Format{{W: 300, H: 250}}}})
	tg.post(t, req)
	tg.stop(t)
	secrets := []string{"alpha-key-111", "bravo-key-222", "charlie-key-333"}
	for k, name := range []string{"alpha", "bravo", "charlie"} {
		got := dsps[k].got()
		if len(got) != 1 {
			t.Fatalf("%s: %d requests, want 1", name, len(got))
		}
		body := got[0]
		for j, other := range []string{"alpha", "bravo", "charlie"} {
			if j == k {
				continue
			}
			if strings.Contains(body, other) || strings.Contains(body, secrets[j]) || strings.Contains(strings.ToLower(body), "charliemedia") {
				t.Errorf("%s's request names %s or carries its parameters: %s", name, other, body)
			}
		}
		imps := impsSent(t, body)
		if len(imps) != 2 || imps[0].ID != "1" {
			t.Fatalf("%s: imps %+v, want imps 1 and 2", name, imps)
		}
		var ext struct {
			Bidder struct {
				Secret string `json:"secret"`
			} `json:"bidder"`
			GPID string `json:"gpid"`
		}
		if err := json.Unmarshal(imps[0].Ext, &ext); err != nil || ext.Bidder.Secret != secrets[k] || ext.GPID != "/slot" {
			t.Errorf("%s: imp.ext %s, want its own parameters at bidder and the gpid", name, imps[0].Ext)
		}
		if len(imps[1].Ext) != 0 {
			t.Errorf("%s: imp 2 (no list) ext %s, want none", name, imps[1].Ext)
		}
	}
}

// DSPs offered the same imps without parameters of their own share one encoded body; a
// DSP with parameters gets its own.
func TestBodiesSharedWithoutParams(t *testing.T) {
	req := request("r1", 0)
	req.Imp[0].Ext = json.RawMessage(`{"prebid":{"bidder":{"alpha":{"p":1},"bravo":{"p":2}}}}`)
	req.Imp = append(req.Imp, openrtb2.Imp{ID: "2", Banner: &openrtb2.Banner{}})
	cfg := testConfig()
	for _, name := range []string{"alpha", "bravo", "charlie", "delta"} {
		d := config.DefaultDSP()
		d.Name, d.Endpoint = name, "http://127.0.0.1:1/"
		cfg.DSPs = append(cfg.DSPs, d)
	}
	st, _, err := buildState(cfg, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	bl := readBidders(req, st)
	all := fullSet(2)
	var cache []encoded
	body := func(d int) string {
		imps := bl.offered(d, all)
		b, err := bodyFor(&cache, req, bl, imps, all, bl.bodyKey(d, imps), 100)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	a, b, c, d := body(0), body(1), body(2), body(3)
	if len(cache) != 3 {
		t.Errorf("%d bodies encoded for alpha, bravo (own parameters) and charlie, delta (the same imps, none); want 3", len(cache))
	}
	if a == b || c != d || strings.Contains(c, `"p":`) {
		t.Errorf("bodies: alpha %s, bravo %s, charlie %s, delta %s", a, b, c, d)
	}
}

// A request without a bidder list reads it without allocating.
func TestReadBiddersWithoutListAllocatesNothing(t *testing.T) {
	var req openrtb2.BidRequest
	if rerr := DecodeRequest([]byte(benchRequest), &req); rerr != nil {
		t.Fatal(rerr)
	}
	cfg := testConfig()
	d := config.DefaultDSP()
	d.Name, d.Endpoint, d.Aliases = "alpha", "http://127.0.0.1:1/", []string{"alphaMedia"}
	cfg.DSPs = append(cfg.DSPs, d)
	st, _, err := buildState(cfg, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if readBidders(&req, st) != nil {
			t.Fatal("the bench request (bidder x only) read as naming a DSP")
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per request without a list of ours, want 0", allocs)
	}
}

// BenchmarkAuctionBidderList is BenchmarkAuction's 1-bid auction with the imp naming four
// of the eight DSPs, each with its parameters: what reading the list and encoding one
// body per named DSP cost.
func BenchmarkAuctionBidderList(b *testing.B) {
	g := benchGateway(b, 1)
	body := []byte(strings.Replace(benchRequest, `"bidder":{"x":{"placementId":12345}}`,
		`"bidder":{"dsp0":{"placementId":1},"dsp1":{"placementId":2},"dsp2":{"placementId":3},"dsp3":{"placementId":4}}`, 1))
	benchServe(b, g, body)
}
