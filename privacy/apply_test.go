package privacy

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prebid/openrtb/v19/openrtb2"
)

func node() *openrtb2.SupplyChainNode {
	return &openrtb2.SupplyChainNode{ASI: "bidsieve.example", SID: "pub-42", HP: int8p(1)}
}

// wire is what a DSP receives: the request as JSON, the parts the placement test reads.
type wire struct {
	Regs   map[string]any `json:"regs"`
	User   map[string]any `json:"user"`
	Source map[string]any `json:"source"`
}

func onWire(t *testing.T, r *openrtb2.BidRequest) wire {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var w wire
	if err := json.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	delete(w.User, "id") // the placement test looks at consent and ext only
	for _, k := range []string{"buyeruid", "yob", "gender", "eids", "geo"} {
		delete(w.User, k)
	}
	return w
}

func TestPlacement(t *testing.T) {
	p := New(Options{VendorList: testVendorList(t), Node: node()})
	consent := fullTCF.String()
	ourNode := map[string]any{"asi": "bidsieve.example", "sid": "pub-42", "hp": 1.0}
	pubNode := map[string]any{"asi": "exchange.example", "sid": "7", "hp": 1.0}
	newChain := map[string]any{"complete": 0.0, "ver": "1.0", "nodes": []any{ourNode}}
	grownChain := map[string]any{"complete": 1.0, "ver": "1.0", "nodes": []any{pubNode, ourNode}}

	req26 := func() *openrtb2.BidRequest {
		r := gdprRequest(consent)
		r.Regs.USPrivacy = "1YNN"
		return r
	}
	req25 := func() *openrtb2.BidRequest {
		r := baseRequest()
		r.Regs = &openrtb2.Regs{Ext: json.RawMessage(`{"gdpr":1,"us_privacy":"1YNN"}`)}
		r.User.Ext = json.RawMessage(`{"consent":"` + consent + `"}`)
		r.Source.Ext = json.RawMessage(`{"schain":{"complete":1,"ver":"1.0","nodes":[{"asi":"exchange.example","sid":"7","hp":1}]}}`)
		return r
	}
	as26 := wire{
		Regs:   map[string]any{"gdpr": 1.0, "us_privacy": "1YNN"},
		User:   map[string]any{"consent": consent},
		Source: map[string]any{"tid": "tid-1", "schain": newChain},
	}
	tests := []struct {
		name  string
		req   *openrtb2.BidRequest
		place Placement
		want  wire
	}{
		{"2.6 request, as received: a new chain in source.schain", req26(), AsReceived, as26},
		{"2.6 request to a 2.6 DSP", req26(), ORTB26, as26},
		{"2.6 request to a 2.5 DSP", req26(), ORTB25, wire{
			Regs:   map[string]any{"ext": map[string]any{"gdpr": 1.0, "us_privacy": "1YNN"}},
			User:   map[string]any{"ext": map[string]any{"consent": consent}},
			Source: map[string]any{"tid": "tid-1", "ext": map[string]any{"schain": newChain}},
		}},
		{"2.5 request, as received: the chain grows in source.ext.schain", req25(), AsReceived, wire{
			Regs:   map[string]any{"ext": map[string]any{"gdpr": 1.0, "us_privacy": "1YNN"}},
			User:   map[string]any{"ext": map[string]any{"consent": consent}},
			Source: map[string]any{"tid": "tid-1", "ext": map[string]any{"schain": grownChain}},
		}},
		{"2.5 request to a 2.6 DSP", req25(), ORTB26, wire{
			Regs:   map[string]any{"gdpr": 1.0, "us_privacy": "1YNN"},
			User:   map[string]any{"consent": consent},
			Source: map[string]any{"tid": "tid-1", "schain": grownChain},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := json.Marshal(tt.req)
			a := p.Parse(tt.req)
			d := dspConsent
			d.Placement = tt.place
			out := a.Apply(a.Decide(d))
			if out == nil {
				t.Fatal("blocked")
			}
			if diff := cmp.Diff(tt.want, onWire(t, out)); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
			if after, _ := json.Marshal(tt.req); string(after) != string(before) {
				t.Errorf("the publisher's request changed")
			}
		})
	}
}

func TestSChainNotAppendedTwice(t *testing.T) {
	p := New(Options{Node: node()})
	r := baseRequest()
	r.Source.SChain = &openrtb2.SupplyChain{Complete: 1, Ver: "1.0", Nodes: []openrtb2.SupplyChainNode{*node()}}
	a := p.Parse(r)
	if n := len(a.Apply(a.Decide(DSP{})).Source.SChain.Nodes); n != 1 {
		t.Errorf("nodes = %d, want 1: bidsieve's node is last already", n)
	}
}

func TestSChainDoesNotShareThePublishersNodes(t *testing.T) {
	p := New(Options{Node: node()})
	r := baseRequest()
	nodes := make([]openrtb2.SupplyChainNode, 1, 4) // room to append in place
	nodes[0] = openrtb2.SupplyChainNode{ASI: "exchange.example", SID: "7"}
	r.Source.SChain = &openrtb2.SupplyChain{Complete: 1, Ver: "1.0", Nodes: nodes}
	a := p.Parse(r)
	out := a.Apply(a.Decide(DSP{}))
	out.Source.SChain.Nodes[1].SID = "changed"
	if got := nodes[:2][1].SID; got != "" {
		t.Errorf("the publisher's node array was written: %q", got)
	}
}

func TestNothingAppliesSendsThePublishersRequest(t *testing.T) {
	p := New(Options{VendorList: testVendorList(t)})
	r := baseRequest()
	r.Regs = &openrtb2.Regs{GDPR: int8p(0), USPrivacy: "1YNN"}
	a := p.Parse(r)
	for name, d := range testDSPs {
		if got := a.Apply(a.Decide(d)); got != r {
			t.Errorf("%s: got a copy, want the publisher's request itself", name)
		}
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, d := range testDSPs {
			_ = a.Apply(a.Decide(d))
		}
	})
	if allocs != 0 {
		t.Errorf("decide and apply for %d DSPs allocate %v times, want 0", len(testDSPs), allocs)
	}
}

func TestApplyCopiesOnlyWhatChanges(t *testing.T) {
	p := New(Options{VendorList: testVendorList(t)})
	r := gdprRequest(tcf{consent: []int{1, 2}, vendors: allVendors, geo: true}.String())
	a := p.Parse(r)
	out := a.Apply(a.Decide(dspConsent)) // user ids go, the device stays
	if out == r || out.User == r.User {
		t.Fatal("the user was not copied")
	}
	if out.Device != r.Device || out.Site != r.Site || &out.Imp[0] != &r.Imp[0] {
		t.Error("unchanged parts were copied")
	}
}

func TestUserExtEIDsRemoved(t *testing.T) {
	p := New(Options{})
	r := baseRequest()
	r.Regs = &openrtb2.Regs{COPPA: 1}
	r.User.Ext = json.RawMessage(`{"eids":[{"source":"x","uids":[{"id":"1"}]}],"data":"kept"}`)
	a := p.Parse(r)
	out := a.Apply(a.Decide(DSP{}))
	if got := string(out.User.Ext); got != `{"data":"kept"}` {
		t.Errorf("user.ext = %s, want eids removed, the rest kept", got)
	}
}

func TestVendorListErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := LoadVendorList(filepath.Join(dir, "absent.json"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	good, err := os.ReadFile("testdata/vendor-list.json")
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"truncated":  string(good[:len(good)/2]),
		"no version": `{"gvlSpecificationVersion":3,"vendors":{}}`,
		"TCF 1 list": `{"vendorListVersion":5,"vendors":{"1":{"id":1}}}`,
		"not json":   "<html>",
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".json")
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadVendorList(path)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: err = %v, want an error naming the file", name, err)
		}
	}
	vl := testVendorList(t)
	if vl.Version() != 71 {
		t.Errorf("version = %d, want 71", vl.Version())
	}
}

// TestConcurrentApply: the DSPs of one auction may be applied from their own goroutines
// (the lazily built regs, user.ext and source are built once); run with -race.
func TestConcurrentApply(t *testing.T) {
	p := New(Options{VendorList: testVendorList(t), Node: node()})
	r := gdprRequest(fullTCF.String())
	r.Regs.USPrivacy = "1YNN"
	a := p.Parse(r)
	outs := make([]*openrtb2.BidRequest, 8)
	done := make(chan struct{})
	for i := range outs {
		go func() {
			defer func() { done <- struct{}{} }()
			d := dspConsent
			d.Placement = Placement(i % int(numPlacements))
			outs[i] = a.Apply(a.Decide(d))
		}()
	}
	for range outs {
		<-done
	}
	for i, o := range outs {
		if o == nil || o.Source == nil || (o.Source.SChain == nil && len(o.Source.Ext) == 0) {
			t.Errorf("DSP %d: no supply chain in %+v", i, o)
		}
	}
	if outs[1].Source != outs[4].Source {
		t.Error("two 2.5 DSPs of one auction got different source copies: built twice")
	}
}

func TestSameScrubsShareOneCopy(t *testing.T) {
	p := New(Options{})
	r := baseRequest()
	r.Regs = &openrtb2.Regs{USPrivacy: "1YYN"}
	a := p.Parse(r)
	x, y := a.Apply(a.Decide(DSP{GVLID: 1, ThirdParty: true})), a.Apply(a.Decide(DSP{GVLID: 2, ThirdParty: true}))
	if x == y || x.User != y.User || x.Device != y.Device {
		t.Errorf("two DSPs with the same scrubs: requests %p %p, users %p %p, devices %p %p; want two requests sharing one user and device",
			x, y, x.User, y.User, x.Device, y.Device)
	}
	if z := a.Apply(a.Decide(DSP{ThirdParty: false})); z != r {
		t.Error("a service provider got a copy, want the publisher's request")
	}
}
