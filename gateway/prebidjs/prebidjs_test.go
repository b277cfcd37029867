package prebidjs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/gateway"
	chromiumtest "github.com/bidsieve/bidsieve/internal/chromium"
	"github.com/prebid/openrtb/v19/openrtb2"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// prebidVersion is the Prebid.js release the test runs (testdata/package.json).
const prebidVersion = "11.36.0"

// auctionTimeout is the page's requestBids timeout, in ms; "well before" it is under half
// of it (the gateway answers in a few ms, but Chromium on a loaded 2-core CI box has been
// seen to take 1 s to run Prebid.js's auction around it).
const auctionTimeout = 3000

// A scripted DSP answers per imp id (Prebid.js makes it the ad unit code): the bid it
// makes on that imp, if any.
type script map[string]openrtb2.Bid

// want is what Prebid.js must report for one ad unit: its one bid.
type want struct {
	bidder     string
	cpm        float64 // the clearing price
	mediaType  string
	w, h       int
	creativeID string
	ad         string // a substring of the ad markup (banner: macros substituted)
}

// prebidCase is one auction on the page.
type prebidCase struct {
	name    string
	adUnits []map[string]any
	bids    map[string]script               // per DSP name
	want    map[string]want                 // per ad unit code; a code not here must get no bid
	s2s     map[string]any                  // s2sConfig keys set on top of the common ones
	check   func(seen []seenRequest) string // a problem with what reached the gateway; "" for none
	// nonBids, when set, is the seatnonbid status code Prebid.js must report per seat in
	// its pbsAnalytics event (s2sConfig.extPrebid.returnallbidstatus).
	nonBids map[string]int
	// pending says which feature the case waits for: it runs, and is skipped with its
	// problems listed while it fails; once it passes the test fails until the mark goes.
	pending string
}

func banner(code string, sizes ...[2]int) map[string]any {
	return map[string]any{
		"code":       code,
		"mediaTypes": map[string]any{"banner": map[string]any{"sizes": sizes}},
		"bids":       []map[string]any{{"bidder": "alpha", "params": map[string]any{}}, {"bidder": "bravo", "params": map[string]any{}}},
	}
}

// withMedia replaces an ad unit's media types by one.
func withMedia(u map[string]any, media string, conf map[string]any) map[string]any {
	u["mediaTypes"] = map[string]any{media: conf}
	return u
}

func bannerBid(imp string, price float64, crid string, w, h int64) openrtb2.Bid {
	return openrtb2.Bid{
		ID: "b-" + crid, ImpID: imp, Price: price, CrID: crid, W: w, H: h, MType: openrtb2.MarkupBanner,
		AdM: `<div class="ad" data-crid="` + crid + `">price ${AUCTION_PRICE}</div>`, ADomain: []string{"adv.example"},
	}
}

// cases are the auctions the page runs. To add one (video, native, a DSP omitting mtype
// or size, a bid without crid): its ad units, what each DSP bids, what Prebid.js must show.
func cases() []prebidCase {
	return []prebidCase{
		{
			name:    "banner",
			adUnits: []map[string]any{banner("banner-1", [2]int{300, 250})},
			bids: map[string]script{
				"alpha": {"banner-1": bannerBid("banner-1", 2.50, "cr-alpha-1", 300, 250)},
				"bravo": {"banner-1": bannerBid("banner-1", 1.80, "cr-bravo-1", 300, 250)},
			},
			want: map[string]want{"banner-1": {bidder: "alpha", cpm: 1.81, mediaType: "banner", w: 300, h: 250, creativeID: "cr-alpha-1", ad: "price 1.81"}},
		},
		{
			name:    "two units",
			adUnits: []map[string]any{banner("top-1", [2]int{728, 90}), banner("side-1", [2]int{300, 600}, [2]int{300, 250})},
			bids: map[string]script{
				"alpha": {"top-1": bannerBid("top-1", 3.00, "cr-alpha-top", 728, 90), "side-1": bannerBid("side-1", 1.20, "cr-alpha-side", 300, 250)},
				"bravo": {"top-1": bannerBid("top-1", 2.00, "cr-bravo-top", 728, 90), "side-1": bannerBid("side-1", 1.50, "cr-bravo-side", 300, 600)},
			},
			want: map[string]want{
				"top-1":  {bidder: "alpha", cpm: 2.01, mediaType: "banner", w: 728, h: 90, creativeID: "cr-alpha-top", ad: "price 2.01"},
				"side-1": {bidder: "bravo", cpm: 1.21, mediaType: "banner", w: 300, h: 600, creativeID: "cr-bravo-side", ad: "price 1.21"},
			},
		},
		{
			name:    "no bid",
			adUnits: []map[string]any{banner("nobid-1", [2]int{300, 250})},
			bids:    map[string]script{"alpha": {}, "bravo": {}},
			want:    map[string]want{},
		},
		{
			// endpointCompression: Prebid.js gzips the body and adds ?gzip=1.
			name:    "gzip body",
			adUnits: []map[string]any{banner("gzip-1", [2]int{320, 50})},
			bids:    map[string]script{"alpha": {"gzip-1": bannerBid("gzip-1", 0.90, "cr-alpha-gz", 320, 50)}, "bravo": {}},
			want:    map[string]want{"gzip-1": {bidder: "alpha", cpm: 0.01, mediaType: "banner", w: 320, h: 50, creativeID: "cr-alpha-gz", ad: "price 0.01"}},
			s2s:     map[string]any{"endpointCompression": true},
			check: func(seen []seenRequest) string {
				if len(seen) != 1 || seen[0].method != http.MethodPost || seen[0].query.Get("gzip") != "1" {
					return fmt.Sprintf("the gateway saw %+v, want one POST with ?gzip=1", seen)
				}
				return ""
			},
		},
		{
			// Outstream, so that Prebid.js takes VAST XML without a cache; the renderer is the
			// page's test renderer (renderer.js), called only when the ad is shown.
			name: "video outstream",
			adUnits: []map[string]any{withMedia(banner("video-1"), "video", map[string]any{
				"context": "outstream", "playerSize": [][2]int{{640, 480}}, "mimes": []string{"video/mp4"}, "protocols": []int{2, 3, 5, 6},
				"renderer": "/renderer.js",
			})},
			bids: map[string]script{"alpha": {"video-1": {
				ID: "b-v", ImpID: "video-1", Price: 4.00, CrID: "cr-alpha-vast", W: 640, H: 480, MType: openrtb2.MarkupVideo,
				AdM:     `<VAST version="3.0"><Ad id="1"><InLine><AdSystem>t</AdSystem><AdTitle>t</AdTitle><Impression/><Creatives/></InLine></Ad></VAST>`,
				ADomain: []string{"adv.example"},
			}}, "bravo": {"video-1": {
				ID: "b-v2", ImpID: "video-1", Price: 3.00, CrID: "cr-bravo-vast", W: 640, H: 480, MType: openrtb2.MarkupVideo,
				AdM: `<VAST version="3.0"></VAST>`, ADomain: []string{"adv.example"},
			}}},
			want: map[string]want{"video-1": {bidder: "alpha", cpm: 3.01, mediaType: "video", w: 640, h: 480, creativeID: "cr-alpha-vast", ad: `<VAST version="3.0"><Ad id="1">`}},
		},
		{
			name: "native",
			adUnits: []map[string]any{withMedia(banner("native-1"), "native", map[string]any{"ortb": map[string]any{
				"ver": "1.2", "assets": []map[string]any{{"id": 1, "required": 1, "title": map[string]any{"len": 80}}, {"id": 2, "required": 1, "img": map[string]any{"type": 3, "w": 300, "h": 250}}},
			}})},
			bids: map[string]script{"alpha": {}, "bravo": {"native-1": {
				ID: "b-n", ImpID: "native-1", Price: 2.20, CrID: "cr-bravo-native", MType: openrtb2.MarkupNative, ADomain: []string{"adv.example"},
				AdM: `{"ver":"1.2","assets":[{"id":1,"title":{"text":"Native title"}},{"id":2,"img":{"url":"http://127.0.0.1/i.png","w":300,"h":250}}],"link":{"url":"http://adv.example/"}}`,
			}}},
			want: map[string]want{"native-1": {bidder: "bravo", cpm: 0.01, mediaType: "native", creativeID: "cr-bravo-native", ad: "Native title"}},
		},
		{
			// The DSP leaves out mtype and w/h on a one-size banner and a one-size outstream
			// video: Prebid.js takes a bid without mtype for a banner and drops it on a video
			// unit, unless the gateway completes it from the imp.
			name:    "bid without mtype and size",
			adUnits: []map[string]any{banner("bare-1", [2]int{300, 250}), withMedia(banner("bare-2"), "video", map[string]any{"context": "outstream", "playerSize": [][2]int{{640, 360}}, "mimes": []string{"video/mp4"}, "renderer": "/renderer.js"})},
			bids: map[string]script{"alpha": {
				"bare-1": {ID: "b-bare", ImpID: "bare-1", Price: 1.40, CrID: "cr-alpha-bare", AdM: "<div>bare ${AUCTION_PRICE}</div>", ADomain: []string{"adv.example"}},
				"bare-2": {ID: "b-bare-v", ImpID: "bare-2", Price: 1.60, CrID: "cr-alpha-bare-v", AdM: `<VAST version="3.0"></VAST>`, ADomain: []string{"adv.example"}},
			}, "bravo": {}},
			want: map[string]want{
				"bare-1": {bidder: "alpha", cpm: 0.01, mediaType: "banner", w: 300, h: 250, creativeID: "cr-alpha-bare", ad: "bare 0.01"},
				"bare-2": {bidder: "alpha", cpm: 0.01, mediaType: "video", w: 640, h: 360, creativeID: "cr-alpha-bare-v", ad: "<VAST"},
			},
		},
		{
			// alpha's higher bid has no crid: Prebid.js would drop it silently and the unit
			// would go empty; the gateway must reject it so that bravo's bid wins.
			name:    "bid without crid",
			adUnits: []map[string]any{banner("nocrid-1", [2]int{300, 250})},
			bids: map[string]script{
				"alpha": {"nocrid-1": func() openrtb2.Bid { b := bannerBid("nocrid-1", 5.00, "", 300, 250); b.ID = "b-nocrid"; return b }()},
				"bravo": {"nocrid-1": bannerBid("nocrid-1", 1.00, "cr-bravo-ok", 300, 250)},
			},
			want: map[string]want{"nocrid-1": {bidder: "bravo", cpm: 0.01, mediaType: "banner", w: 300, h: 250, creativeID: "cr-bravo-ok", ad: "price 0.01"}},
		},
		{
			// Asked for every bidder's status, Prebid.js passes the answer's seatnonbid to its
			// analytics: bravo was called and did not bid (code 0).
			name:    "seat non-bid",
			adUnits: []map[string]any{banner("snb-1", [2]int{300, 250})},
			bids:    map[string]script{"alpha": {"snb-1": bannerBid("snb-1", 1.30, "cr-alpha-snb", 300, 250)}, "bravo": {}},
			want:    map[string]want{"snb-1": {bidder: "alpha", cpm: 0.01, mediaType: "banner", w: 300, h: 250, creativeID: "cr-alpha-snb", ad: "price 0.01"}},
			s2s:     map[string]any{"extPrebid": map[string]any{"returnallbidstatus": true}},
			nonBids: map[string]int{"bravo": 0},
		},
		{
			// A custom header makes the browser send a CORS preflight first.
			name:    "preflight",
			adUnits: []map[string]any{banner("hdr-1", [2]int{300, 250})},
			bids:    map[string]script{"alpha": {}, "bravo": {"hdr-1": bannerBid("hdr-1", 1.10, "cr-bravo-hdr", 300, 250)}},
			want:    map[string]want{"hdr-1": {bidder: "bravo", cpm: 0.01, mediaType: "banner", w: 300, h: 250, creativeID: "cr-bravo-hdr", ad: "price 0.01"}},
			s2s:     map[string]any{"customHeaders": map[string]string{"X-Publisher-Test": "1"}},
			check: func(seen []seenRequest) string {
				if len(seen) != 2 || seen[0].method != http.MethodOptions || seen[1].method != http.MethodPost {
					return fmt.Sprintf("the gateway saw %+v, want a preflight OPTIONS then the POST", seen)
				}
				return ""
			},
		},
	}
}

// seenRequest is one request that reached the gateway's listener.
type seenRequest struct {
	method, origin, contentType string
	query                       url.Values
	status                      int // the gateway's answer
}

// statusWriter keeps the status a handler answers with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// result is what run.mjs reports for one case.
type result struct {
	Name    string
	Error   string
	Version string
	Bids    map[string][]struct {
		Bidder, Currency, MediaType, CreativeID, AdID, Ad, VastXML, Native string
		CPM                                                                float64
		Width, Height                                                      int
	}
	DebugErrors    []string
	ConsoleErrors  []string
	FailedRequests []string
	Events         map[string]int
	// SeatNonBid is what Prebid.js's pbsAnalytics events carried: the answer's ext.seatnonbid.
	SeatNonBid []struct {
		Seat   string
		NonBid []struct {
			ImpID      string
			StatusCode int
		}
	}
	TimedOut  *bool
	ElapsedMs *float64
}

// tools returns node and run.mjs's directory, or stops the test when they are missing.
func tools(t *testing.T) (node, dir string) {
	t.Helper()
	node = chromiumtest.Tool(t, "Debian: apt-get install nodejs npm", "node")
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	pkg := filepath.Join(dir, "node_modules", "prebid.js", "package.json")
	raw, err := os.ReadFile(pkg)
	if err != nil {
		chromiumtest.Missing(t, "%s: %v (run: npm ci --prefix gateway/prebidjs/testdata)", pkg, err)
	}
	var p struct{ Version string }
	if err := json.Unmarshal(raw, &p); err != nil || p.Version != prebidVersion {
		t.Fatalf("%s: version %q (%v), want %s; run: npm ci --prefix gateway/prebidjs/testdata", pkg, p.Version, err, prebidVersion)
	}
	return node, dir
}

// scriptedDSP answers from the scripts of every case: the bids on the imps it knows, 204
// when it has none.
func scriptedDSP(t *testing.T, name string, all []prebidCase) *httptest.Server {
	bids := map[string]openrtb2.Bid{}
	for _, c := range all {
		for imp, b := range c.bids[name] {
			bids[imp] = b
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req openrtb2.BidRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp := openrtb2.BidResponse{ID: req.ID, Cur: "USD"}
		for _, imp := range req.Imp {
			if b, ok := bids[imp.ID]; ok {
				if len(resp.SeatBid) == 0 {
					resp.SeatBid = []openrtb2.SeatBid{{Seat: name + "-seat"}}
				}
				resp.SeatBid[0].Bid = append(resp.SeatBid[0].Bid, b)
			}
		}
		if len(resp.SeatBid) == 0 {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(resp)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// recorder keeps the requests that reach the gateway, per case: each case's endpoint
// carries ?case=NAME (the gateway ignores it).
type recorder struct {
	mu   sync.Mutex
	seen map[string][]seenRequest
}

func (rc *recorder) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		rc.mu.Lock()
		rc.seen[q.Get("case")] = append(rc.seen[q.Get("case")], seenRequest{method: r.Method, query: q, origin: r.Header.Get("Origin"), contentType: r.Header.Get("Content-Type"), status: sw.status})
		rc.mu.Unlock()
	})
}

func (rc *recorder) of(name string) []seenRequest {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.seen[name]
}

func TestPrebidJSAgainstTheGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	node, dir := tools(t)
	chromium := chromiumtest.Find(t)
	all := cases()

	cfg := config.Defaults()
	cfg.Listen, cfg.AdminListen = "127.0.0.1:0", ""
	cfg.Model.Path, cfg.BidLog.Dir = "", ""
	cfg.Auction.Seed = 1
	// The gateway runs in the test binary, beside the scripted DSPs and other packages'
	// tests on a small box: the scheduler's waits are not its load, so the overload wait
	// trigger is off (shedding has its own tests in package gateway).
	cfg.Overload.MaxWait = 0
	for _, name := range []string{"alpha", "bravo"} {
		d := config.DefaultDSP()
		d.Name, d.Endpoint = name, scriptedDSP(t, name, all).URL+"/bid"
		d.Timeout = 900 * time.Millisecond // the box may be loaded: a late DSP would lose its bid
		cfg.DSPs = append(cfg.DSPs, d)
	}
	g, err := gateway.New(cfg, gateway.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{seen: map[string][]seenRequest{}}
	gw := httptest.NewServer(rec.wrap(g.Handler()))
	t.Cleanup(func() {
		gw.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := g.Close(ctx); err != nil {
			t.Errorf("close gateway: %v", err)
		}
	})
	// The page is on 127.0.0.1, the gateway on localhost: another origin, as on a real site.
	endpoint := strings.Replace(gw.URL, "127.0.0.1", "localhost", 1) + "/openrtb2/auction?case="

	site := t.TempDir()
	page, err := os.ReadFile(filepath.Join(dir, "page.html"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"index.html": page, "favicon.ico": nil, "renderer.js": []byte("/* outstream test renderer */\n"),
	} {
		if err := os.WriteFile(filepath.Join(site, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pages := httptest.NewServer(http.FileServer(http.Dir(site)))
	t.Cleanup(pages.Close)

	type caseSpec struct {
		Name      string           `json:"name"`
		AdUnits   []map[string]any `json:"adUnits"`
		S2SConfig map[string]any   `json:"s2sConfig"`
		Timeout   int              `json:"timeout"`
		SettleMs  int              `json:"settleMs"`
	}
	var specs []caseSpec
	for _, c := range all {
		ep := endpoint + url.QueryEscape(c.name)
		s2s := map[string]any{
			"accountId": "1", "enabled": true, "adapter": "prebidServer", "bidders": []string{"alpha", "bravo"},
			"endpoint": map[string]string{"p1Consent": ep, "noP1Consent": ep}, "timeout": 2000,
		}
		for k, v := range c.s2s {
			s2s[k] = v
		}
		specs = append(specs, caseSpec{Name: c.name, AdUnits: c.adUnits, S2SConfig: s2s, Timeout: auctionTimeout, SettleMs: 200})
	}
	// The cases run one after the other in one browser, each in a fresh browser context.
	spec := map[string]any{
		"chromium": chromium, "flags": chromiumtest.Flags(t.TempDir()), "bundle": filepath.Join(site, "prebid.js"),
		"page": pages.URL + "/index.html", "cases": specs,
	}
	specFile, resultFile := filepath.Join(t.TempDir(), "spec.json"), filepath.Join(t.TempDir(), "result.json")
	raw, _ := json.Marshal(spec)
	if err := os.WriteFile(specFile, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, "run.mjs"), specFile, resultFile)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node run.mjs: %v\n%s", err, out)
	}
	raw, err = os.ReadFile(resultFile)
	if err != nil {
		t.Fatal(err)
	}
	var res struct{ Results []result }
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatalf("result %s: %v", raw, err)
	}
	if len(res.Results) != len(all) {
		t.Fatalf("%d results for %d cases:\n%s", len(res.Results), len(all), raw)
	}
	for i, c := range all {
		t.Run(c.name, func(t *testing.T) {
			r := &res.Results[i]
			if r.ElapsedMs != nil {
				t.Logf("bidsBackHandler after %.0f ms", *r.ElapsedMs)
			}
			p := problems(&c, r, rec.of(c.name), pages.URL)
			switch {
			case c.pending != "" && len(p) == 0:
				t.Errorf("passes now: drop its pending mark (%s)", c.pending)
			case c.pending != "":
				t.Skipf("pending, %s:\n%s", c.pending, strings.Join(p, "\n"))
			}
			for _, e := range p {
				t.Error(e)
			}
		})
	}
}

// problems lists where Prebid.js's report of a case differs from what it should be.
func problems(c *prebidCase, r *result, seen []seenRequest, pageOrigin string) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if r.Error != "" {
		return []string{"the page failed: " + r.Error}
	}
	if r.Version != "v"+prebidVersion {
		bad("Prebid.js %q on the page, want %s", r.Version, prebidVersion)
	}
	if r.TimedOut == nil || r.ElapsedMs == nil {
		return append(out, "bidsBackHandler was not called")
	}
	if *r.TimedOut || *r.ElapsedMs > auctionTimeout/2 {
		bad("bidsBackHandler after %.0f ms (timed out: %v), want well before the %d ms timeout", *r.ElapsedMs, *r.TimedOut, auctionTimeout)
	}
	if c.nonBids != nil {
		got := map[string]int{}
		for _, sn := range r.SeatNonBid {
			for _, nb := range sn.NonBid {
				got[sn.Seat] = nb.StatusCode
			}
		}
		if !reflect.DeepEqual(got, c.nonBids) {
			bad("Prebid.js reported seatnonbid %v (from %+v), want %v", got, r.SeatNonBid, c.nonBids)
		}
	}
	if got := r.Events["bidderDone"]; got != 2 {
		bad("bidderDone fired %d times, want 2 (alpha and bravo): Prebid.js took the answer as an error", got)
	}
	for _, ev := range []string{"bidderError", "bidRejected", "bidTimeout"} {
		if n := r.Events[ev]; n != 0 {
			bad("Prebid.js fired %s %d times", ev, n)
		}
	}
	for _, list := range [][]string{r.DebugErrors, r.ConsoleErrors, r.FailedRequests} {
		for _, e := range list {
			bad("on the page: %s", e)
		}
	}
	for _, u := range c.adUnits {
		code := u["code"].(string)
		got, w := r.Bids[code], c.want[code]
		if w.bidder == "" {
			if len(got) != 0 {
				bad("%s: Prebid.js has bids %+v, want none", code, got)
			}
			continue
		}
		if len(got) != 1 {
			bad("%s: Prebid.js has %d bids %+v, want one from %s", code, len(got), got, w.bidder)
			continue
		}
		b := got[0]
		if b.Bidder != w.bidder || math.Abs(b.CPM-w.cpm) > 1e-9 || b.Currency != "USD" || b.MediaType != w.mediaType ||
			b.Width != w.w || b.Height != w.h || b.CreativeID != w.creativeID {
			bad("%s: Prebid.js has %s %.4f %s %s %dx%d creative %q, want %s %.4f USD %s %dx%d creative %q",
				code, b.Bidder, b.CPM, b.Currency, b.MediaType, b.Width, b.Height, b.CreativeID, w.bidder, w.cpm, w.mediaType, w.w, w.h, w.creativeID)
		}
		if !strings.Contains(b.Ad+b.VastXML+b.Native, w.ad) {
			bad("%s: the ad %q does not contain %q", code, b.Ad+b.VastXML+b.Native, w.ad)
		}
	}
	for _, s := range seen {
		if s.origin != pageOrigin {
			bad("the gateway saw Origin %q, want the page's %q", s.origin, pageOrigin)
		}
		if s.method == http.MethodPost && !strings.HasPrefix(s.contentType, "text/plain") {
			bad("Prebid.js posted %q, want text/plain", s.contentType)
		}
	}
	if len(seen) == 0 {
		bad("no request reached the gateway")
	}
	if c.check != nil {
		if p := c.check(seen); p != "" {
			bad("%s", p)
		}
	}
	if len(out) > 0 {
		for _, r := range seen {
			bad("(the gateway answered %s with %d)", r.method, r.status)
		}
	}
	return out
}
