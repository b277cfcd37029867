package privacy

import (
	"testing"

	"github.com/prebid/openrtb/v19/openrtb2"
)

// BenchmarkAuction8DSPs is the per-auction cost the gateway adds: parse a request with a
// TCF string once, then decide and apply for 8 DSPs (transport not included).
func BenchmarkAuction8DSPs(b *testing.B) {
	p := New(Options{VendorList: testVendorList(b), Node: node()})
	dsps := []DSP{dspConsent, dspInterest, dspFlexible, dspUnlisted, dspNoID, dspService, {GVLID: 10, Placement: ORTB25}, {GVLID: 30, Placement: ORTB26}}
	for _, bc := range []struct {
		name string
		req  *openrtb2.BidRequest
	}{
		{"full_consent", gdprRequest(fullTCF.String())},
		{"no_user_ids", gdprRequest(tcf{consent: []int{1, 2}, vendors: allVendors}.String())},
		{"no_gdpr", func() *openrtb2.BidRequest { r := baseRequest(); r.Regs = &openrtb2.Regs{GDPR: int8p(0)}; return r }()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				a := p.Parse(bc.req)
				for _, d := range dsps {
					_ = a.Apply(a.Decide(d))
				}
			}
		})
	}
}
