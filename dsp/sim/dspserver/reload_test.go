package dspserver

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/bidsieve/bidsieve/dsp/sim"
	"github.com/bidsieve/bidsieve/dsp/sim/simtest"
	"github.com/bidsieve/bidsieve/dsp/sim/traffic"
)

// TestReloadChangesDSPsMidRun: a reloaded profile file changes what a DSP buys at once;
// a DSP kept keeps its counts, one removed answers 404 and leaves /stats, one added
// answers from zero.
func TestReloadChangesDSPsMidRun(t *testing.T) {
	f := newFixture(t, Options{Seed: 1})
	raw, err := os.ReadFile(simtest.ExamplePath())
	if err != nil {
		t.Fatal(err)
	}
	// alpha now buys app traffic only (before: any site or app with a desktop or mobile
	// OS); charlie is renamed golf.
	text := strings.Replace(string(raw), "require: {os: [ios, android, windows, macos]}", "require: {channel: [app]}", 1)
	text = strings.Replace(text, "- name: charlie", "- name: golf", 1)
	if text == string(raw) {
		t.Fatal("the example file changed: the test's edits no longer apply")
	}
	changed, err := sim.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	siteBids := func(n int) (bids int) {
		gen := traffic.New(f.p.Traffic, 5)
		for sent := 0; sent < n; {
			req := gen.Next()
			if req.Site == nil {
				continue
			}
			sent++
			if code, br := f.post(t, "alpha", req); code == http.StatusOK {
				bids += len(br.SeatBid[0].Bid)
			}
		}
		return bids
	}
	before := siteBids(300)
	if before == 0 {
		t.Fatal("alpha never bid on site traffic before the reload: the test proves nothing")
	}
	requestsBefore := f.srv.Stats().DSPs["alpha"].Requests

	added, removed := f.srv.Reload(changed)
	if strings.Join(added, ",") != "golf" || strings.Join(removed, ",") != "charlie" {
		t.Errorf("reload: added %v removed %v; want [golf] and [charlie]", added, removed)
	}
	if after := siteBids(300); after != 0 {
		t.Errorf("alpha bid %d times on site traffic after the reload made it app-only (%d before)", after, before)
	}
	st := f.srv.Stats()
	if got := st.DSPs["alpha"].Requests; got != requestsBefore+300 {
		t.Errorf("alpha's requests %d after the reload, want %d: its counts were not kept", got, requestsBefore+300)
	}
	if _, ok := st.DSPs["charlie"]; ok {
		t.Error("charlie, removed, is still in /stats")
	}
	if g, ok := st.DSPs["golf"]; !ok || g.Requests != 0 {
		t.Errorf("golf, added: %+v (in stats: %v), want zero counts", g, ok)
	}
	req := traffic.New(f.p.Traffic, 1).Next()
	if code, _ := f.post(t, "charlie", req); code != http.StatusNotFound {
		t.Errorf("charlie after the reload: status %d, want 404", code)
	}
	if code, _ := f.post(t, "golf", req); code == http.StatusNotFound {
		t.Error("golf after the reload: 404")
	}
}

// TestReloadWhileServing: reloads in the middle of requests race with nothing (-race) and
// never answer a kept DSP with 404.
func TestReloadWhileServing(t *testing.T) {
	f := newFixture(t, Options{Seed: 1})
	other := simtest.LoadExample(t)
	done := make(chan struct{})
	errs := make(chan string, 4)
	for w := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			gen := traffic.New(f.p.Traffic, uint64(10+w))
			for range 50 {
				if code, _ := f.post(t, "alpha", gen.Next()); code == http.StatusNotFound || code == http.StatusBadRequest {
					errs <- http.StatusText(code)
					return
				}
			}
		}()
	}
	for i := range 20 {
		if i%2 == 0 {
			f.srv.Reload(other)
		} else {
			f.srv.Reload(f.p)
		}
	}
	for range 4 {
		<-done
	}
	close(errs)
	for e := range errs {
		t.Errorf("alpha answered %s during reloads", e)
	}
}
