package prebid

import (
	"encoding/json"
	"testing"

	"github.com/prebid/openrtb/v19/openrtb2"
)

// FuzzComplete: whatever the bid's ext, mtype, size and markup and whatever the imp's
// media, Complete never panics; an accepted bid has a valid JSON object ext whose
// prebid.type agrees with its mtype, and every member the DSP sent is still there.
func FuzzComplete(f *testing.F) {
	f.Add([]byte(`{"prebid":{"type":"banner"}}`), int8(0), int64(0), int64(0), "<div/>", uint8(1))
	f.Add([]byte(`{"a":[1,{"b":"}"}],"prebid":{"meta":{}}}`), int8(2), int64(0), int64(0), "", uint8(3))
	f.Add([]byte(` {"prebid":null} `), int8(4), int64(1), int64(1), "x", uint8(8))
	f.Add([]byte(`{"prebid":{"type":"vid\u0065o"}}`), int8(-1), int64(0), int64(0), "x", uint8(15))
	f.Add([]byte(`[]`), int8(0), int64(0), int64(0), "", uint8(0))
	f.Add([]byte(`{"prebid":{"type":"native","type":"banner"}}`), int8(1), int64(0), int64(0), "x", uint8(5))
	f.Fuzz(func(t *testing.T, ext []byte, mtype int8, w, h int64, adm string, media uint8) {
		imp := &openrtb2.Imp{ID: "1"}
		if media&1 != 0 {
			imp.Banner = &openrtb2.Banner{Format: []openrtb2.Format{{W: 300, H: 250}}}
			if media&16 != 0 {
				imp.Banner.Format = append(imp.Banner.Format, openrtb2.Format{W: 320, H: 50})
			}
		}
		if media&2 != 0 {
			imp.Video = &openrtb2.Video{W: 640, H: 480}
		}
		if media&4 != 0 {
			imp.Audio = &openrtb2.Audio{}
		}
		if media&8 != 0 {
			imp.Native = &openrtb2.Native{}
		}
		in := append([]byte(nil), ext...)
		bid := openrtb2.Bid{ID: "b", ImpID: "1", CrID: "c", AdM: adm, MType: openrtb2.MarkupType(mtype), W: w, H: h, Ext: ext}
		if Complete(&bid, imp) != RejectNone {
			if string(bid.Ext) != string(in) {
				t.Fatalf("rejected bid's ext changed: %q -> %q", in, bid.Ext)
			}
			return
		}
		var out map[string]json.RawMessage
		if err := json.Unmarshal(bid.Ext, &out); err != nil {
			t.Fatalf("ext %q -> %q: %v", in, bid.Ext, err)
		}
		var p struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(out["prebid"], &p); err != nil || p.Type != MediaType(bid.MType).String() {
			t.Fatalf("ext %q -> %q: type %q, mtype %d (%v)", in, bid.Ext, p.Type, bid.MType, err)
		}
		var before map[string]json.RawMessage
		if json.Unmarshal(in, &before) == nil {
			for k := range before {
				if _, ok := out[k]; !ok {
					t.Fatalf("ext %q -> %q lost %q", in, bid.Ext, k)
				}
			}
		}
	})
}
