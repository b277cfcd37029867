package privacy

import (
	"encoding/json"
	"testing"

	"github.com/prebid/openrtb/v19/openrtb2"
)

// TestInert: Inert says true only where every DSP, in every placement, would be sent the
// publisher's request itself, and false for each signal that may change it.
func TestInert(t *testing.T) {
	vl := testVendorList(t)
	plain := New(Options{VendorList: vl})
	one := int8(1)
	noSignals := func() *openrtb2.BidRequest {
		r := baseRequest()
		r.User.Ext = json.RawMessage(`{"eids":[]}`)
		return r
	}
	for _, tt := range []struct {
		name   string
		policy *Policy
		req    func() *openrtb2.BidRequest
		want   bool
	}{
		{"no signal, no node", plain, noSignals, true},
		{"no user, device or source", plain, func() *openrtb2.BidRequest { return &openrtb2.BidRequest{ID: "x"} }, true},
		{"a node to append", New(Options{VendorList: vl, Node: node()}), noSignals, false},
		{"GDPR by default", New(Options{VendorList: vl, GDPRDefault: true}), noSignals, false},
		{"regs", plain, func() *openrtb2.BidRequest { r := noSignals(); r.Regs = &openrtb2.Regs{}; return r }, false},
		{"user.consent", plain, func() *openrtb2.BidRequest { r := noSignals(); r.User.Consent = "x"; return r }, false},
		{"user.ext.consent", plain, func() *openrtb2.BidRequest {
			r := noSignals()
			r.User.Ext = json.RawMessage(`{"consent":"x"}`)
			return r
		}, false},
		{"device.lmt", plain, func() *openrtb2.BidRequest { r := noSignals(); r.Device.Lmt = &one; return r }, false},
		{"source.schain", plain, func() *openrtb2.BidRequest {
			r := noSignals()
			r.Source.SChain = &openrtb2.SupplyChain{Ver: "1.0"}
			return r
		}, false},
		{"source.ext.schain", plain, func() *openrtb2.BidRequest {
			r := noSignals()
			r.Source.Ext = json.RawMessage(`{"schain":{"ver":"1.0","nodes":[]}}`)
			return r
		}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req()
			if got := tt.policy.Inert(req); got != tt.want {
				t.Fatalf("Inert = %v, want %v", got, tt.want)
			}
			if !tt.want {
				return
			}
			a := tt.policy.Parse(req)
			for _, d := range []DSP{dspConsent, dspNoID, {GVLID: 10, Placement: ORTB25}, {GVLID: 10, Placement: ORTB26}} {
				if out := a.Apply(a.Decide(d)); out != req {
					t.Errorf("Inert, but DSP %+v is sent a changed request", d)
				}
			}
		})
	}
}
