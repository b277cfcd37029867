package privacy

import (
	"bytes"
	"encoding/json"
	"sync"

	"github.com/prebid/openrtb/v19/openrtb2"

	"github.com/bidsieve/bidsieve/config"
)

// Options configure a Policy.
type Options struct {
	// VendorList is the IAB GVL; nil withholds every DSP whenever GDPR applies.
	VendorList *VendorList
	// GDPRDefault applies GDPR to a request that does not say whether it applies.
	GDPRDefault bool
	// Node is bidsieve's supply-chain node; nil appends none.
	Node *openrtb2.SupplyChainNode
}

// OptionsFrom builds the Options of a configuration (privacy and schain keys) with the
// vendor list already loaded from privacy.gvl_file (nil when that key is empty).
func OptionsFrom(c *config.Config, vl *VendorList) Options {
	o := Options{VendorList: vl, GDPRDefault: c.Privacy.GDPRDefault}
	if c.SChain.ASI != "" {
		hp := int8(c.SChain.HP)
		o.Node = &openrtb2.SupplyChainNode{ASI: c.SChain.ASI, SID: c.SChain.SID, HP: &hp}
	}
	return o
}

// DSPFrom returns the privacy settings of a configured DSP.
func DSPFrom(d *config.DSP) DSP {
	p := AsReceived
	switch d.ORTB {
	case config.ORTB25:
		p = ORTB25
	case config.ORTB26:
		p = ORTB26
	}
	return DSP{GVLID: uint16(d.GVLID), ThirdParty: d.ThirdParty, Placement: p}
}

// Policy holds the rules of one configuration. It is immutable and safe for concurrent use.
type Policy struct {
	opt Options
	// ownChain is the chain of bidsieve's node alone, for requests that bring none, and
	// ownChainExt the source.ext of a 2.5 DSP then: built once, shared read-only.
	ownChain    *openrtb2.SupplyChain
	ownChainExt json.RawMessage
}

// New returns the Policy of the options.
func New(opt Options) *Policy {
	p := &Policy{opt: opt}
	if opt.Node != nil {
		p.ownChain = &openrtb2.SupplyChain{Complete: 0, Ver: "1.0", Nodes: []openrtb2.SupplyChainNode{*opt.Node}}
		p.ownChainExt = editObject(nil, []member{{"schain", jsonValue(p.ownChain)}})
	}
	return p
}

// Auction is one request's privacy signals, parsed once (Policy.Parse), from which each
// DSP's Action is decided.
type Auction struct {
	policy *Policy
	req    *openrtb2.BidRequest

	gdpr     bool // GDPR applies
	gdprFlag *int8
	consent  string // the TCF string the rules read: user's, else GPP's TCF EU section
	// userConsent is the string from user.consent or user.ext.consent, moved between them.
	userConsent string
	tcf         tcfConsent // nil: no valid TCF 2 string (no consent to anything)

	usPrivacy string
	usOptOut  Reason // ReasonUSPrivacy or ReasonGPP when a sale/share opt-out applies

	coppa, lmt bool

	chain     *openrtb2.SupplyChain // the publisher's chain, nil when none
	chainIn25 bool                  // it came in source.ext.schain

	regsOnce    [numPlacements]sync.Once
	regs        [numPlacements]*openrtb2.Regs
	userExtOnce [numPlacements]sync.Once
	userExt     [numPlacements]json.RawMessage
	srcOnce     [numPlacements]sync.Once
	src         [numPlacements]*openrtb2.Source

	// DSPs with the same scrubs and placement share one scrubbed user and device.
	memoMu sync.Mutex
	memo   [8]scrubbed
	memoN  int
}

// scrubbed is the user and device of one (scrubs, placement), nil where unchanged.
type scrubbed struct {
	scrub Fields
	place Placement
	user  *openrtb2.User
	dev   *openrtb2.Device
}

// the 2.5 ext placements read once per auction.
type regsExt struct {
	GDPR      *int8  `json:"gdpr"`
	USPrivacy string `json:"us_privacy"`
}

type userExt struct {
	Consent string `json:"consent"`
}

type sourceExt struct {
	SChain *openrtb2.SupplyChain `json:"schain"`
}

// Parse reads the request's privacy signals. req is not changed, and must be the request
// later given to Apply. A signal that does not parse restricts (a malformed TCF string is
// no consent, a malformed opt-out string is an opt-out); it is never an error.
func (p *Policy) Parse(req *openrtb2.BidRequest) *Auction {
	a := &Auction{policy: p, req: req}
	if r := req.Regs; r != nil {
		a.coppa = r.COPPA == 1
		a.gdprFlag, a.usPrivacy = r.GDPR, r.USPrivacy
		if len(r.Ext) > 0 && (a.gdprFlag == nil || a.usPrivacy == "") {
			var e regsExt
			if json.Unmarshal(r.Ext, &e) == nil {
				if a.gdprFlag == nil {
					a.gdprFlag = e.GDPR
				}
				if a.usPrivacy == "" {
					a.usPrivacy = e.USPrivacy
				}
			}
		}
	}
	if u := req.User; u != nil {
		a.consent = u.Consent
		if a.consent == "" && len(u.Ext) > 0 {
			var e userExt
			if json.Unmarshal(u.Ext, &e) == nil {
				a.consent = e.Consent
			}
		}
		a.userConsent = a.consent
	}
	if d := req.Device; d != nil && d.Lmt != nil && *d.Lmt == 1 {
		a.lmt = true
	}
	if s := req.Source; s != nil {
		a.chain = s.SChain
		if a.chain == nil && len(s.Ext) > 0 {
			var e sourceExt
			if json.Unmarshal(s.Ext, &e) == nil && e.SChain != nil {
				a.chain, a.chainIn25 = e.SChain, true
			}
		}
	}
	gppConsent := a.parseUS(req.Regs)
	if a.consent == "" {
		a.consent = gppConsent
	}
	switch {
	case a.gdprFlag != nil && *a.gdprFlag == 1:
		a.gdpr = true
	case a.gdprFlag != nil && *a.gdprFlag == 0:
	default: // absent, or a value that is neither 0 nor 1: unknown
		a.gdpr = p.opt.GDPRDefault
	}
	if a.gdpr {
		a.tcf = parseTCF(a.consent)
	}
	return a
}

// GDPR reports whether GDPR applies to the auction.
func (a *Auction) GDPR() bool { return a.gdpr }

// Decide returns what the DSP may receive. It copies nothing.
func (a *Auction) Decide(d DSP) Action {
	act := Action{place: d.Placement}
	if a.gdpr {
		if r := a.tcfDecide(d.GVLID, &act); r != ReasonNone {
			return Action{Blocked: true, Reason: r, place: d.Placement}
		}
	}
	if a.coppa {
		act.Scrub |= UserIDs | DeviceIDs | IP | GeoFull | Demographics
		act.Why = act.Why.with(ReasonCOPPA)
	}
	if a.lmt {
		act.Scrub |= UserIDs | DeviceIDs | IP | GeoCoarse | Demographics
		act.Why = act.Why.with(ReasonLMT)
	}
	if a.usOptOut != ReasonNone && d.ThirdParty {
		act.Scrub |= UserIDs | DeviceIDs | IP | GeoCoarse
		act.Why = act.Why.with(a.usOptOut)
	}
	return act
}

// Inert reports whether no rule of the policy can change req for any DSP: the policy
// appends no supply-chain node and does not apply GDPR by default, and req has no regs,
// no consent in user (user.consent, or a "consent" key in user.ext), no device.lmt = 1
// and no supply chain in source (source.schain, or a "schain" key in source.ext). Every
// DSP is then sent req itself, and the gateway skips Parse. It reads no JSON: a key
// named in some nested object of an ext only makes it answer false.
func (p *Policy) Inert(req *openrtb2.BidRequest) bool {
	if p.opt.Node != nil || p.opt.GDPRDefault || req.Regs != nil {
		return false
	}
	if u := req.User; u != nil && (u.Consent != "" || bytes.Contains(u.Ext, []byte(`"consent"`))) {
		return false
	}
	if d := req.Device; d != nil && d.Lmt != nil && *d.Lmt == 1 {
		return false
	}
	if s := req.Source; s != nil && (s.SChain != nil || bytes.Contains(s.Ext, []byte(`"schain"`))) {
		return false
	}
	return true
}
