package config

import (
	"regexp"
)

// Privacy configures the enforcement of the publisher's privacy signals (package privacy;
// docs/PRIVACY.md says what each signal does to each field).
type Privacy struct {
	// GVLFile is the IAB Global Vendor List (v2 or v3 JSON, vendor-list.json) the TCF 2
	// rules read each DSP's declared purposes from; reloaded with the configuration. ""
	// runs without a vendor list: under GDPR every DSP is then withheld (no_consent).
	GVLFile string `yaml:"gvl_file"`
	// GDPRDefault says whether GDPR applies to a request that says neither yes nor no
	// (no regs.gdpr, no regs.ext.gdpr). Default false; an EU-facing operator sets true,
	// as Prebid Server's gdpr.default_value "1" does, together with gvl_file.
	GDPRDefault bool `yaml:"gdpr_default"`
}

// SChain is bidsieve's own node in the OpenRTB supply chain (source.schain), appended to
// every request sent to a DSP. An empty ASI appends no node.
type SChain struct {
	ASI string `yaml:"asi"` // the operator's advertising system domain, as in its sellers.json
	SID string `yaml:"sid"` // the publisher's seller id in that sellers.json
	HP  int    `yaml:"hp"`  // 1: bidsieve takes part in the payment flow (default), 0: it does not
}

// OpenRTB placements of the regulation, consent and supply-chain fields (dsps[].ortb).
const (
	ORTBAsReceived = ""    // where the publisher put them; a new schain goes to source.schain
	ORTB25         = "2.5" // regs.ext.gdpr, regs.ext.us_privacy, user.ext.consent, source.ext.schain
	ORTB26         = "2.6" // regs.gdpr, regs.us_privacy, user.consent, source.schain
)

// MaxGVLID is the largest IAB vendor id a consent string can encode (16 bits).
const MaxGVLID = 65535

var asiRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$`)

func (v *validator) privacy(c *Config) {
	if c.Privacy.GDPRDefault && c.Privacy.GVLFile == "" {
		v.add("privacy.gvl_file", "must be set when privacy.gdpr_default is true (without it every DSP is withheld from every request)")
	}
	s := c.SChain
	if s.ASI != "" && !asiRE.MatchString(s.ASI) {
		v.add("schain.asi", "must be a lower-case domain name (the operator's sellers.json domain), got %q", s.ASI)
	}
	if s.ASI != "" && s.SID == "" {
		v.add("schain.sid", "must be set when schain.asi is")
	}
	if s.ASI == "" && s.SID != "" {
		v.add("schain.asi", "must be set when schain.sid is")
	}
	if s.HP != 0 && s.HP != 1 {
		v.add("schain.hp", "must be 0 or 1, got %d", s.HP)
	}
}

func (v *validator) dspPrivacy(p string, d *DSP) {
	if d.GVLID < 0 || d.GVLID > MaxGVLID {
		v.add(p+".gvl_id", "must be in [0, %d] (0: no IAB vendor id), got %d", MaxGVLID, d.GVLID)
	}
	if d.ORTB != ORTBAsReceived && d.ORTB != ORTB25 && d.ORTB != ORTB26 {
		v.add(p+".ortb", `must be "2.5", "2.6" or empty (as the publisher sent them), got %q`, d.ORTB)
	}
}
