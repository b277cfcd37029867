package gateway

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/features"
	"github.com/bidsieve/bidsieve/privacy"
	"github.com/prebid/openrtb/v19/openrtb2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Privacy (package privacy, docs/PRIVACY.md): the plan parses an auction's signals once
// (privacy.Policy.Parse, skipped when Policy.Inert says no rule can change the request),
// then at eligibility decides per DSP: a DSP withheld gets the decision privacy_blocked
// (not scored, not sent; counted in bidsieve_privacy_withheld_total{dsp, reason}, logged
// at debug level with the DSP and the reason only); any other is sent the request the
// rules scrubbed for it (call.req), which the fan-out encodes and whose user_id feature
// the model and the bid log read (call.feat).

// newPolicy builds the privacy rules of cfg, reading the vendor list privacy.gvl_file
// (again at every configuration change, so a new list is picked up by a reload). A
// missing or corrupt file is an error naming the key and the file.
func newPolicy(cfg *config.Config) (*privacy.Policy, error) {
	var vl *privacy.VendorList
	if path := cfg.Privacy.GVLFile; path != "" {
		var err error
		if vl, err = privacy.LoadVendorList(path); err != nil {
			return nil, fmt.Errorf("privacy.gvl_file: %w", err)
		}
	}
	return privacy.New(privacy.OptionsFrom(cfg, vl)), nil
}

// privacyCall applies the auction's privacy rules to an eligible call: withheld (state
// callPrivacy), or c.req set to the request the DSP is sent. a is nil when no rule
// applies to the auction: c.req is the publisher's request.
func (p *plan) privacyCall(req *openrtb2.BidRequest, a *privacy.Auction, c *call) {
	c.req = req
	if a == nil {
		return
	}
	c.priv = a.Decide(c.d.priv)
	if c.priv.Blocked {
		c.state, c.req = callPrivacy, nil
		return
	}
	// DSPs with the same action share one request (and the fan-out one body).
	for _, s := range p.scrubbed {
		if s.act == c.priv {
			c.req, c.feat = s.req, s.feat
			return
		}
	}
	c.req = a.Apply(c.priv)
	if c.req != req && len(p.feats) > 0 && p.feats[0].UserID && !features.HasUserID(c.req) {
		c.feat = p.scrubbedFeatures(len(req.Imp))
	}
	p.scrubbed = append(p.scrubbed, scrubbedReq{act: c.priv, req: c.req, feat: c.feat})
}

// scrubbedReq is one privacy action of an auction and the request it gives.
type scrubbedReq struct {
	act  privacy.Action
	req  *openrtb2.BidRequest
	feat int
}

// scrubbedFeatures appends, once, the imps' feature rows as a DSP whose ids were removed
// sees them (user_id false; no other feature reads a field the rules remove or coarsen:
// country and region stay), and returns where they start.
func (p *plan) scrubbedFeatures(imps int) int {
	if len(p.feats) == imps {
		for i := range imps {
			f := p.feats[i]
			f.UserID = false
			p.feats = append(p.feats, f)
		}
	}
	return imps
}

// countPrivacy counts a call's privacy action once the plan has decided it: the reason
// it was withheld for, or, when it is admitted (to be sent), the reasons of what was
// scrubbed from its request.
func (g *Gateway) countPrivacy(ctx context.Context, c *call) {
	m := c.d.m
	if c.priv.Blocked {
		g.m.privacyWithheld.Add(ctx, 1, m.privacyWithheld[c.priv.Reason]...)
		if g.log.Enabled(ctx, slog.LevelDebug) {
			g.log.DebugContext(ctx, "dsp withheld for privacy", "dsp", c.d.name, "reason", c.priv.Reason.String())
		}
		return
	}
	if c.priv.Why == 0 || c.state != callAdmitted {
		return
	}
	for r := privacy.Reason(1); r < privacyReasons; r++ {
		if c.priv.Why.Has(r) {
			g.m.privacyScrubbed.Add(ctx, 1, m.privacyScrubbed[r]...)
		}
	}
}

// privacyReasons bounds the privacy.Reason values the metrics have label sets for.
const privacyReasons = 16

// privacyLabels builds a DSP's label sets of the privacy counters, one per reason.
func privacyLabels(name string) (withheld, scrubbed [privacyReasons][]metric.AddOption) {
	for r := privacy.Reason(1); r < privacyReasons; r++ {
		l := r.String()
		if l == "unknown" {
			break
		}
		kv := []attribute.KeyValue{attribute.String("dsp", name), attribute.String("reason", l)}
		withheld[r], scrubbed[r] = addOpts(kv...), addOpts(kv...)
	}
	return withheld, scrubbed
}
