package gateway

import (
	"encoding/json"

	"github.com/bidsieve/bidsieve/config"
	"github.com/prebid/openrtb/v19/openrtb2"
)

// The publisher's bidder list. An imp may name the DSPs it is for, as Prebid clients do:
// imp.ext.prebid.bidder.{code} (or the legacy imp.ext.{code}) with that DSP's parameters,
// where code is a DSP's name or one of its aliases (dsps[].aliases), compared without
// regard to case. An imp that names a DSP is offered only to the DSPs it names; an imp
// that names none (no list, or only codes that are no DSP's) goes to every eligible DSP, as
// without a list. A DSP is sent, in the imp's ext, only its own parameters, as
// imp.ext.bidder, beside the imp.ext members that name no bidder (data, context, gpid,
// tid, skadn, ae, igs, and of prebid only is_rewarded_inventory and options, as Prebid
// Server passes on): no DSP sees which others the imp names or their parameters. An imp
// without a list goes out as it came.

// bidderCode is one code an imp may name a DSP by: its name or one of its aliases.
type bidderCode struct {
	code string
	dsp  int // index in state.dsps
}

// bidderCodes returns the codes of the DSPs of cfg: every name, then every alias.
func bidderCodes(cfg *config.Config) []bidderCode {
	var codes []bidderCode
	for i := range cfg.DSPs {
		codes = append(codes, bidderCode{code: cfg.DSPs[i].Name, dsp: i})
	}
	for i := range cfg.DSPs {
		for _, a := range cfg.DSPs[i].Aliases {
			codes = append(codes, bidderCode{code: a, dsp: i})
		}
	}
	return codes
}

// dspOf returns the index of the DSP that key (an imp.ext key, as members returns it)
// names, or -1.
func (st *state) dspOf(key []byte) int {
	for _, c := range st.codes {
		if keyIs(key, c.code, true) {
			return c.dsp
		}
	}
	return -1
}

// bidderParams is what one imp's bidder list gives one DSP.
type bidderParams struct {
	imp, dsp int
	params   json.RawMessage
}

// bidderList is the bidder lists of one auction's imps, read once at intake. A nil
// *bidderList is an auction in which no imp names a DSP.
type bidderList struct {
	listed impSet         // the imps that name at least one DSP
	named  []impSet       // per DSP (state.dsps index): the listed imps that name it
	exts   [][]byte       // per imp: a listed imp's ext without its list (nil for the others)
	params []bidderParams // per (listed imp, DSP it names): the DSP's parameters
}

// passedImpExt are the members of a listed imp's ext that every DSP it names receives:
// those that name no bidder (config.ReservedImpExtKeys less prebid, all, general).
var passedImpExt = []string{"data", "context", "gpid", "tid", "skadn", "ae", "igs"}

// reservedKey reports whether an imp.ext key is one that never names a bidder.
func reservedKey(k []byte) bool {
	for _, r := range config.ReservedImpExtKeys {
		if keyIs(k, r, true) {
			return true
		}
	}
	return false
}

// passedPrebidExt are the members of imp.ext.prebid passed on beside the list.
var passedPrebidExt = []string{"is_rewarded_inventory", "options"}

// readBidders reads the bidder lists of req's imps: nil when no imp names a DSP, which
// allocates nothing.
func readBidders(req *openrtb2.BidRequest, st *state) *bidderList {
	var b *bidderList
	for i := range req.Imp {
		ext := req.Imp[i].Ext
		if len(ext) == 0 || !st.namesDSP(ext) {
			continue
		}
		if b == nil {
			b = &bidderList{named: make([]impSet, len(st.dsps)), exts: make([][]byte, len(req.Imp))}
		}
		b.listed.add(i)
		b.readImp(i, ext, st)
	}
	return b
}

// namesDSP reports whether an imp's ext names at least one DSP, without allocating.
func (st *state) namesDSP(ext []byte) bool {
	for m := objectMembers(ext); ; {
		k, v, ok := m.next()
		switch {
		case !ok:
			return false
		case keyIs(k, "prebid", false):
			for bm := objectMembers(member(v, "bidder")); ; {
				bk, _, ok := bm.next()
				if !ok {
					break
				}
				if st.dspOf(bk) >= 0 {
					return true
				}
			}
		case !reservedKey(k) && st.dspOf(k) >= 0:
			return true
		}
	}
}

// readImp reads the list of imp i (which names a DSP): the DSPs it names with their
// parameters (imp.ext.prebid.bidder first, then the legacy keys; a DSP named twice keeps
// the first), and its ext as every one of them gets it, less the list.
func (b *bidderList) readImp(i int, ext []byte, st *state) {
	add := func(k, v []byte) {
		d := st.dspOf(k)
		if d < 0 || b.named[d].has(i) {
			return
		}
		b.named[d].add(i)
		b.params = append(b.params, bidderParams{imp: i, dsp: d, params: v})
	}
	prebid := member(ext, "prebid")
	for m := objectMembers(member(prebid, "bidder")); ; {
		k, v, ok := m.next()
		if !ok {
			break
		}
		add(k, v)
	}
	out := []byte{'{'}
	for m := objectMembers(ext); ; {
		k, v, ok := m.next()
		if !ok {
			break
		}
		switch {
		case keyIs(k, "prebid", false):
			if p := keep(prebid, passedPrebidExt); p != nil {
				out = appendMember(out, "prebid", p)
			}
		case !reservedKey(k):
			add(k, v)
		default:
			for _, name := range passedImpExt {
				if keyIs(k, name, false) {
					out = appendMember(out, name, v)
				}
			}
		}
	}
	b.exts[i] = append(out, '}')
}

// keep returns the JSON object of the members of obj named in names, nil when none.
func keep(obj []byte, names []string) []byte {
	var out []byte
	for m := objectMembers(obj); ; {
		k, v, ok := m.next()
		if !ok {
			break
		}
		for _, name := range names {
			if keyIs(k, name, false) {
				if out == nil {
					out = []byte{'{'}
				}
				out = appendMember(out, name, v)
			}
		}
	}
	if out == nil {
		return nil
	}
	return append(out, '}')
}

// appendMember appends "key":val to the JSON object being written in out (after its '{'
// and any members already written).
func appendMember(out []byte, key string, val []byte) []byte {
	if len(out) > 1 {
		out = append(out, ',')
	}
	out = append(out, '"')
	out = append(out, key...)
	out = append(out, '"', ':')
	return append(out, val...)
}

// offered returns the imps DSP d may be offered: those without a list and those whose
// list names it.
func (b *bidderList) offered(d int, all impSet) impSet {
	if b == nil {
		return all
	}
	return impSet{all[0]&^b.listed[0] | b.named[d][0], all[1]&^b.listed[1] | b.named[d][1]}
}

// bodyKey is the DSP whose own body a call offered imps needs (its parameters are in it),
// or -1 when the body is that of any DSP offered the same imps.
func (b *bidderList) bodyKey(d int, imps impSet) int {
	if b == nil || imps[0]&b.listed[0]|imps[1]&b.listed[1] == 0 {
		return -1
	}
	return d
}

// impExt returns the ext of listed imp i as DSP d receives it: its ext less the list, with
// d's parameters at bidder.
func (b *bidderList) impExt(i, d int) json.RawMessage {
	base := b.exts[i]
	for _, p := range b.params {
		if p.imp == i && p.dsp == d {
			out := make([]byte, 0, len(base)+len(p.params)+10)
			out = appendMember(append(out, '{'), "bidder", p.params)
			if len(base) > 2 {
				out = append(append(out, ','), base[1:]...)
			} else {
				out = append(out, '}')
			}
			return out
		}
	}
	return base
}
