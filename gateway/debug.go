package gateway

import (
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/gateway/auction"
	"github.com/prebid/openrtb/v19/openrtb2"
)

// Debug output. A request with test: 1 or ext.prebid.debug: true, where debug.allow is
// set, gets ext.debug in its answer (a 200 even when nothing sold): how an integrator learns
// why a DSP was or was not called. ext.debug.dsps has, per DSP considered, the decision,
// the outcome, the score and threshold, the imps offered; ext.debug.httpcalls has, per DSP
// sent, the call as Prebid Server reports its own (uri, requestbody, responsebody,
// status). No header is reported (a DSP's credentials would be), and an endpoint's user
// information is left out. With debug off nothing is recorded (fanout.dbg is nil); in a
// debug auction the request bodies kept are the fan-out's own (shared, never copied) and
// each answer's body is copied.

// debugWanted reports whether req asks for debug output: test: 1 or ext.prebid.debug: true.
func debugWanted(req *openrtb2.BidRequest) bool {
	return req.Test == 1 || string(member(member(req.Ext, "prebid"), "debug")) == "true"
}

// debugOut is ext.debug.
type debugOut struct {
	DSPs      map[string]debugDSP        `json:"dsps"`
	HTTPCalls map[string][]debugHTTPCall `json:"httpcalls,omitempty"`
	Model     string                     `json:"model,omitempty"` // the scorer's version
}

// debugDSP is what the auction made of one DSP.
type debugDSP struct {
	Decision  string   `json:"decision"` // as the bid log names it
	Outcome   string   `json:"outcome"`  // as the bid log names it: not_sent, timeout, error, nobid, bid
	Score     *float64 `json:"score,omitempty"`
	Threshold *float64 `json:"threshold,omitempty"` // the threshold in force, where a shaping decision was made
	Imps      []string `json:"imps"`                // the imps offered
	LatencyMS float64  `json:"latencyms,omitempty"`
	Error     string   `json:"error,omitempty"`
}

// debugHTTPCall is one DSP call, with Prebid Server's field names (ext.debug.httpcalls).
type debugHTTPCall struct {
	URI          string `json:"uri"`
	RequestBody  string `json:"requestbody"`
	ResponseBody string `json:"responsebody,omitempty"`
	Status       int    `json:"status,omitempty"` // 0: no answer by the deadline
}

// withDebug returns the answer rep with ext.debug of run r added; a no-bid answer without
// a body gets one first.
func (r *run) withDebug(rep reply) reply {
	if len(rep.body) == 0 {
		rep.status, rep.body = r.set.noBidAnswer(config.NoBid200, r.ask.client, r.responseExt())
	}
	out, err := json.Marshal(r.debugOut())
	if err != nil || rep.status != http.StatusOK {
		return rep // cannot happen: strings and numbers
	}
	rep.body = addExt(rep.body, "debug", out)
	return rep
}

// debugOut builds ext.debug from the calls of the auction.
func (r *run) debugOut() *debugOut {
	s := &r.set
	out := &debugOut{DSPs: make(map[string]debugDSP, len(s.calls)), Model: r.plan.model}
	for i := range s.calls {
		c := &s.calls[i]
		d := debugDSP{Decision: c.decision().String(), Outcome: c.outcome(), Imps: []string{}}
		if c.scored {
			d.Score = &c.score
		}
		if c.verdict.decision != DecisionNone {
			d.Threshold = &c.verdict.threshold
		}
		for imp := range r.req.Imp {
			if c.imps.has(imp) {
				d.Imps = append(d.Imps, r.req.Imp[imp].ID)
			}
		}
		for k, o := range s.res.Outcomes {
			if s.refs[k].call == i && (o.Status == auction.Won || o.Status == auction.Lost) {
				d.Outcome = bidlog.OutcomeBid
			}
		}
		if c.sent() {
			hc := debugHTTPCall{URI: redactURL(c.d.endpoint), RequestBody: string(r.fan.dbg.bodies[i])}
			if c.answered() {
				d.LatencyMS = float64(c.ans.latency.Microseconds()) / 1000
				hc.ResponseBody, hc.Status = string(r.fan.dbg.answers[i]), c.ans.status
				if c.ans.err != nil {
					d.Error = c.ans.err.Error()
				}
			}
			if out.HTTPCalls == nil {
				out.HTTPCalls = map[string][]debugHTTPCall{}
			}
			out.HTTPCalls[c.d.name] = append(out.HTTPCalls[c.d.name], hc)
		}
		out.DSPs[c.d.name] = d
	}
	return out
}

// redactURL is an endpoint without its user information (a password may be in it).
func redactURL(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return ""
	}
	u.User = nil
	return u.String()
}

// addExt returns the JSON object body with ext.{key} = val added: into its ext object
// when it has one, in a new ext otherwise.
func addExt(body []byte, key string, val []byte) []byte {
	add := append([]byte(`"`+key+`":`), val...)
	for m := objectMembers(body); ; {
		k, v, ok := m.next()
		if !ok {
			break
		}
		if keyIs(k, "ext", false) && len(v) > 0 && v[0] == '{' {
			at := cap(body) - cap(v) + 1 // just after ext's '{'
			out := append(append(make([]byte, 0, len(body)+len(add)+1), body[:at]...), add...)
			if hasMembers(v) {
				out = append(out, ',')
			}
			return append(out, body[at:]...)
		}
	}
	end := len(body) - 1 // the closing '}'
	for end > 0 && body[end] != '}' {
		end--
	}
	out := append(make([]byte, 0, len(body)+len(add)+10), body[:end]...)
	if hasMembers(body) {
		out = append(out, ',')
	}
	out = append(append(append(out, `"ext":{`...), add...), '}')
	return append(out, body[end:]...)
}

// hasMembers reports whether the JSON object obj has at least one member.
func hasMembers(obj []byte) bool {
	m := objectMembers(obj)
	_, _, ok := m.next()
	return ok
}
