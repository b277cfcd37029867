package config

import (
	"testing"
)

func TestValidatePrivacy(t *testing.T) {
	checkValidate(t, []validateCase{
		{"gdpr default without a vendor list", func(c *Config) { c.Privacy.GDPRDefault = true },
			[]string{"privacy.gvl_file: must be set when privacy.gdpr_default is true (without it every DSP is withheld from every request)"}},
		{"gdpr default with a vendor list", func(c *Config) { c.Privacy = Privacy{GVLFile: "gvl/vendor-list.json", GDPRDefault: true} }, nil},
		{"schain node", func(c *Config) { c.SChain = SChain{ASI: "bidsieve.example", SID: "pub-1", HP: 1} }, nil},
		{"bad schain", func(c *Config) { c.SChain = SChain{ASI: "https://Bidsieve.example/", HP: 2} }, []string{
			`schain.asi: must be a lower-case domain name (the operator's sellers.json domain), got "https://Bidsieve.example/"`,
			"schain.sid: must be set when schain.asi is",
			"schain.hp: must be 0 or 1, got 2",
		}},
		{"schain sid without asi", func(c *Config) { c.SChain.SID = "pub-1" }, []string{"schain.asi: must be set when schain.sid is"}},
		{"DSP privacy keys", func(c *Config) {
			c.DSPs[1].GVLID, c.DSPs[1].ORTB = 755, ORTB25
			c.DSPs[2].GVLID, c.DSPs[2].ORTB = 70000, "3.0"
			c.DSPs[3].GVLID = -1
		}, []string{
			"dsps[2].gvl_id: must be in [0, 65535] (0: no IAB vendor id), got 70000",
			`dsps[2].ortb: must be "2.5", "2.6" or empty (as the publisher sent them), got "3.0"`,
			"dsps[3].gvl_id: must be in [0, 65535] (0: no IAB vendor id), got -1",
		}},
	})
}

func TestParsePrivacyKeys(t *testing.T) {
	c, err := Parse([]byte(`
privacy: {gvl_file: /etc/bidsieve/vendor-list.json, gdpr_default: true}
schain: {asi: bidsieve.example, sid: pub-1}
dsps:
  - name: a
    endpoint: http://127.0.0.1:1/bid
    gvl_id: 755
    ortb: "2.5"
  - name: b
    endpoint: http://127.0.0.1:2/bid
    third_party: false
`))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Privacy{GVLFile: "/etc/bidsieve/vendor-list.json", GDPRDefault: true}); c.Privacy != want {
		t.Errorf("privacy = %+v, want %+v", c.Privacy, want)
	}
	if want := (SChain{ASI: "bidsieve.example", SID: "pub-1", HP: 1}); c.SChain != want {
		t.Errorf("schain = %+v, want %+v (hp defaults to 1)", c.SChain, want)
	}
	a, b := c.DSPs[0], c.DSPs[1]
	if a.GVLID != 755 || a.ORTB != ORTB25 || !a.ThirdParty {
		t.Errorf("dsps[0] = gvl_id %d, ortb %q, third_party %v; want 755, 2.5, true (the default)", a.GVLID, a.ORTB, a.ThirdParty)
	}
	if b.ThirdParty || b.GVLID != 0 || b.ORTB != ORTBAsReceived {
		t.Errorf("dsps[1] = gvl_id %d, ortb %q, third_party %v; want 0, \"\", false", b.GVLID, b.ORTB, b.ThirdParty)
	}
}
