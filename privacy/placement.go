package privacy

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"

	"github.com/prebid/openrtb/v19/openrtb2"
)

// regsFor returns regs with gdpr, us_privacy, gpp and gpp_sid where place puts them:
// the request's own Regs when they are there already. Built once per auction and
// placement, shared by the DSPs' requests.
func (a *Auction) regsFor(place Placement) *openrtb2.Regs {
	in := a.req.Regs
	if in == nil || place == AsReceived {
		return in
	}
	a.regsOnce[place].Do(func() { a.regs[place] = a.buildRegs(in, place) })
	return a.regs[place]
}

func (a *Auction) buildRegs(in *openrtb2.Regs, place Placement) *openrtb2.Regs {
	r := *in
	if place == ORTB26 {
		if !hasKey(in.Ext, "gdpr") && !hasKey(in.Ext, "us_privacy") && !hasKey(in.Ext, "gpp") && !hasKey(in.Ext, "gpp_sid") {
			return in
		}
		r.GDPR, r.USPrivacy = a.gdprFlag, a.usPrivacy
		var e struct {
			GPP    string `json:"gpp"`
			GPPSID []int8 `json:"gpp_sid"`
		}
		_ = json.Unmarshal(in.Ext, &e) // a malformed ext leaves them empty
		if r.GPP == "" {
			r.GPP, r.GPPSID = e.GPP, e.GPPSID
		}
		r.Ext = editObject(in.Ext, nil, "gdpr", "us_privacy", "gpp", "gpp_sid")
		return &r
	}
	if in.GDPR == nil && in.USPrivacy == "" && in.GPP == "" && in.GPPSID == nil {
		return in
	}
	var set []member // in key order
	if a.gdprFlag != nil {
		set = append(set, member{"gdpr", strconv.AppendInt(nil, int64(*a.gdprFlag), 10)})
	}
	if in.GPP != "" {
		set = append(set, member{"gpp", jsonValue(in.GPP)})
	}
	if in.GPPSID != nil {
		set = append(set, member{"gpp_sid", jsonValue(in.GPPSID)})
	}
	if a.usPrivacy != "" {
		set = append(set, member{"us_privacy", jsonValue(a.usPrivacy)})
	}
	r.GDPR, r.USPrivacy, r.GPP, r.GPPSID = nil, "", "", nil
	r.Ext = editObject(in.Ext, set)
	return &r
}

// userExtFor returns user.ext with consent where place puts it, and whether it differs
// from the request's. Built once per auction and placement.
func (a *Auction) userExtFor(place Placement) (json.RawMessage, bool) {
	u := a.req.User
	if u == nil {
		return nil, false
	}
	switch {
	case place == ORTB25 && u.Consent != "":
	case place == ORTB26 && hasKey(u.Ext, "consent"):
	default:
		return u.Ext, false
	}
	a.userExtOnce[place].Do(func() {
		if place == ORTB25 {
			a.userExt[place] = editObject(u.Ext, []member{{"consent", jsonValue(u.Consent)}})
		} else {
			a.userExt[place] = editObject(u.Ext, nil, "consent")
		}
	})
	return a.userExt[place], true
}

// sourceFor returns source with the supply chain (the publisher's plus bidsieve's node)
// where place puts it. Built once per auction and placement.
func (a *Auction) sourceFor(place Placement) *openrtb2.Source {
	node := a.policy.opt.Node
	if place == AsReceived {
		if node == nil {
			return a.req.Source
		}
		place = ORTB26
		if a.chainIn25 {
			place = ORTB25
		}
	}
	if node == nil && a.chain == nil || node == nil && a.chainIn25 == (place == ORTB25) {
		return a.req.Source
	}
	a.srcOnce[place].Do(func() { a.src[place] = a.buildSource(place) })
	return a.src[place]
}

func (a *Auction) buildSource(place Placement) *openrtb2.Source {
	var s openrtb2.Source
	if a.req.Source != nil {
		s = *a.req.Source
	}
	chain := a.chainWithNode()
	if place == ORTB26 {
		s.SChain = chain
		if hasKey(s.Ext, "schain") {
			s.Ext = editObject(s.Ext, nil, "schain")
		}
		return &s
	}
	s.SChain = nil
	if len(s.Ext) == 0 && chain == a.policy.ownChain {
		s.Ext = a.policy.ownChainExt
	} else {
		s.Ext = editObject(s.Ext, []member{{"schain", jsonValue(chain)}})
	}
	return &s
}

// chainWithNode is the publisher's chain with bidsieve's node appended (not twice: a
// chain whose last node is bidsieve's already is kept), or a new incomplete chain of
// bidsieve's node alone: bidsieve cannot vouch for the nodes before it.
func (a *Auction) chainWithNode() *openrtb2.SupplyChain {
	node := a.policy.opt.Node
	if node == nil {
		return a.chain
	}
	if a.chain == nil {
		return a.policy.ownChain
	}
	c := *a.chain
	if n := len(c.Nodes); n > 0 && c.Nodes[n-1].ASI == node.ASI && c.Nodes[n-1].SID == node.SID {
		return &c
	}
	c.Nodes = append(slices.Clip(c.Nodes), *node)
	if c.Ver == "" {
		c.Ver = "1.0"
	}
	return &c
}

// hasKey reports whether the JSON object ext has the key at its top level.
func hasKey(ext json.RawMessage, key string) bool {
	if len(ext) == 0 {
		return false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(ext, &m) != nil {
		return false
	}
	_, ok := m[key]
	return ok
}

// deleteKey returns ext without the top-level key (ext itself when it has none).
func deleteKey(ext json.RawMessage, key string) json.RawMessage {
	if !hasKey(ext, key) {
		return ext
	}
	return editObject(ext, nil, key)
}

// member is one key and JSON value to set in an object.
type member struct {
	key string
	val []byte
}

// editObject returns a copy of the JSON object ext with the members set (in key order)
// set and the keys del removed; a missing or non-object ext counts as {}. nil when the
// result is empty. Keys come out sorted.
func editObject(ext json.RawMessage, set []member, del ...string) json.RawMessage {
	if len(ext) == 0 { // the common case: build it directly
		if len(set) == 0 {
			return nil
		}
		out := []byte{'{'}
		for i, m := range set {
			if i > 0 {
				out = append(out, ',')
			}
			out = appendMember(out, m.key, m.val)
		}
		return append(out, '}')
	}
	m := map[string]json.RawMessage{}
	if json.Unmarshal(ext, &m) != nil {
		m = map[string]json.RawMessage{}
	}
	for _, k := range del {
		delete(m, k)
	}
	for _, kv := range set {
		m[kv.key] = kv.val
	}
	if len(m) == 0 {
		return nil
	}
	out := []byte{'{'}
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendMember(out, k, m[k])
	}
	return append(out, '}')
}

func appendMember(out []byte, key string, val []byte) []byte {
	out = strconv.AppendQuote(out, key)
	out = append(out, ':')
	return append(out, val...)
}

// jsonValue encodes a value the placements move (a string, a slice of int8, a supply
// chain): a nil for a value encoding/json refuses, which none of those is.
func jsonValue(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
