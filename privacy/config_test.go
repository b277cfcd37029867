package privacy

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bidsieve/bidsieve/config"
)

func TestFromConfig(t *testing.T) {
	c := config.Default()
	c.Privacy.GDPRDefault = true
	c.SChain = config.SChain{ASI: "bidsieve.example", SID: "pub-42", HP: 1}
	vl := testVendorList(t)
	o := OptionsFrom(c, vl)
	want := Options{VendorList: vl, GDPRDefault: true, Node: node()}
	if diff := cmp.Diff(want, o, cmp.AllowUnexported(VendorList{}, vendorDecl{})); diff != "" {
		t.Errorf("OptionsFrom (-want +got)\n%s", diff)
	}
	c.SChain = config.SChain{}
	if OptionsFrom(c, nil).Node != nil {
		t.Error("an empty schain.asi appends a node")
	}
	for _, tt := range []struct {
		d    config.DSP
		want DSP
	}{
		{config.DSP{GVLID: 755, ThirdParty: true, ORTB: config.ORTB25}, DSP{GVLID: 755, ThirdParty: true, Placement: ORTB25}},
		{config.DSP{ORTB: config.ORTB26}, DSP{Placement: ORTB26}},
		{config.DefaultDSP(), DSP{ThirdParty: true, Placement: AsReceived}},
	} {
		if got := DSPFrom(&tt.d); got != tt.want {
			t.Errorf("DSPFrom(%+v) = %+v, want %+v", tt.d, got, tt.want)
		}
	}
}
