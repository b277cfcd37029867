package prebid

import (
	"encoding/json"
	"testing"

	"github.com/prebid/openrtb/v19/openrtb2"
)

func ptr(v int64) *int64 { return &v }

func bannerImp(sizes ...[2]int64) *openrtb2.Imp {
	b := &openrtb2.Banner{}
	for _, s := range sizes {
		b.Format = append(b.Format, openrtb2.Format{W: s[0], H: s[1]})
	}
	return &openrtb2.Imp{ID: "1", Banner: b}
}

func okBid() openrtb2.Bid {
	return openrtb2.Bid{ID: "b1", ImpID: "1", CrID: "cr1", Price: 1, AdM: "<div/>"}
}

// TestComplete: each rule of validation, completion and rejection, by what the bid looks
// like afterwards (size, mtype, ext) or the rejection it gets.
func TestComplete(t *testing.T) {
	video := &openrtb2.Imp{ID: "1", Video: &openrtb2.Video{W: 640, H: 480}}
	multi := &openrtb2.Imp{ID: "1", Banner: &openrtb2.Banner{Format: []openrtb2.Format{{W: 300, H: 250}}}, Video: &openrtb2.Video{W: 640, H: 480}}
	native := &openrtb2.Imp{ID: "1", Native: &openrtb2.Native{Request: "{}"}}
	audio := &openrtb2.Imp{ID: "1", Audio: &openrtb2.Audio{}}
	bannerWH := &openrtb2.Imp{ID: "1", Banner: &openrtb2.Banner{W: ptr(728), H: ptr(90)}}
	tests := []struct {
		name    string
		imp     *openrtb2.Imp
		edit    func(*openrtb2.Bid)
		want    Rejection
		w, h    int64
		mtype   openrtb2.MarkupType
		wantExt string
	}{
		{"complete bid is kept", bannerImp([2]int64{300, 250}), func(b *openrtb2.Bid) {
			b.W, b.H, b.MType, b.Ext = 300, 250, 1, json.RawMessage(`{"prebid":{"type":"banner"}}`)
		}, RejectNone, 300, 250, 1, `{"prebid":{"type":"banner"}}`},
		{"missing id", bannerImp([2]int64{300, 250}), func(b *openrtb2.Bid) { b.ID = "" }, RejectMissingID, 0, 0, 0, ""},
		{"missing impid", bannerImp([2]int64{300, 250}), func(b *openrtb2.Bid) { b.ImpID = "" }, RejectMissingImpID, 0, 0, 0, ""},
		{"unknown imp", nil, nil, RejectUnknownImp, 0, 0, 0, ""},
		{"missing crid", bannerImp([2]int64{300, 250}), func(b *openrtb2.Bid) { b.CrID = "" }, RejectMissingCrID, 0, 0, 0, ""},
		{"single-format banner: size, mtype and type filled", bannerImp([2]int64{300, 250}), nil, RejectNone, 300, 250, 1, `{"prebid":{"type":"banner"}}`},
		{"banner w/h without formats", bannerWH, nil, RejectNone, 728, 90, 1, `{"prebid":{"type":"banner"}}`},
		{"multi-format banner with the bid's own size", bannerImp([2]int64{300, 250}, [2]int64{300, 600}), func(b *openrtb2.Bid) { b.W, b.H = 300, 600 }, RejectNone, 300, 600, 1, `{"prebid":{"type":"banner"}}`},
		{"multi-format banner, bid without size", bannerImp([2]int64{300, 250}, [2]int64{300, 600}), nil, RejectMissingSize, 0, 0, 0, ""},
		{"half a size is completed from the imp", bannerImp([2]int64{300, 250}), func(b *openrtb2.Bid) { b.W = 320 }, RejectNone, 300, 250, 1, `{"prebid":{"type":"banner"}}`},
		{"half a size on a multi-size imp", bannerImp([2]int64{300, 250}, [2]int64{300, 600}), func(b *openrtb2.Bid) { b.H = 600 }, RejectMissingSize, 0, 600, 0, ""},
		{"bid's own size is kept on a single-size imp", bannerImp([2]int64{300, 250}), func(b *openrtb2.Bid) { b.W, b.H = 320, 50 }, RejectNone, 320, 50, 1, `{"prebid":{"type":"banner"}}`},
		{"video: player size filled", video, func(b *openrtb2.Bid) { b.AdM = "<VAST/>" }, RejectNone, 640, 480, 2, `{"prebid":{"type":"video"}}`},
		{"video with nurl only", video, func(b *openrtb2.Bid) { b.AdM, b.NURL = "", "https://dsp/vast" }, RejectNone, 640, 480, 2, `{"prebid":{"type":"video"}}`},
		{"video without adm or nurl", video, func(b *openrtb2.Bid) { b.AdM = "" }, RejectVideoWithoutAdM, 0, 0, 0, ""},
		{"video imp without size: no size, still valid", &openrtb2.Imp{ID: "1", Video: &openrtb2.Video{}}, nil, RejectNone, 0, 0, 2, `{"prebid":{"type":"video"}}`},
		{"native", native, nil, RejectNone, 0, 0, 4, `{"prebid":{"type":"native"}}`},
		{"audio", audio, nil, RejectNone, 0, 0, 3, `{"prebid":{"type":"audio"}}`},
		{"multi-format imp, no media type", multi, nil, RejectAmbiguousMediaType, 0, 0, 0, ""},
		{"multi-format imp, mtype video", multi, func(b *openrtb2.Bid) { b.MType = 2 }, RejectNone, 640, 480, 2, `{"prebid":{"type":"video"}}`},
		{"multi-format imp, ext type banner: mtype set", multi, func(b *openrtb2.Bid) { b.Ext = json.RawMessage(`{"prebid":{"type":"banner"}}`) }, RejectNone, 300, 250, 1, `{"prebid":{"type":"banner"}}`},
		{"media type not offered (mtype)", bannerImp([2]int64{300, 250}), func(b *openrtb2.Bid) { b.MType = 2 }, RejectMediaTypeNotOffered, 0, 0, 2, ""},
		{"media type not offered (ext)", bannerImp([2]int64{300, 250}), func(b *openrtb2.Bid) { b.Ext = json.RawMessage(`{"prebid":{"type":"native"}}`) }, RejectMediaTypeNotOffered, 0, 0, 0, `{"prebid":{"type":"native"}}`},
		{"imp with no media object", &openrtb2.Imp{ID: "1"}, nil, RejectMediaTypeNotOffered, 0, 0, 0, ""},
		{"mtype out of range", bannerImp([2]int64{300, 250}), func(b *openrtb2.Bid) { b.MType = 5 }, RejectInvalidMediaType, 0, 0, 5, ""},
		{"unknown ext type", bannerImp([2]int64{300, 250}), func(b *openrtb2.Bid) { b.Ext = json.RawMessage(`{"prebid":{"type":"display"}}`) }, RejectInvalidMediaType, 0, 0, 0, `{"prebid":{"type":"display"}}`},
		{"mtype and ext type disagree", multi, func(b *openrtb2.Bid) { b.MType, b.Ext = 1, json.RawMessage(`{"prebid":{"type":"video"}}`) }, RejectMediaTypeConflict, 0, 0, 1, `{"prebid":{"type":"video"}}`},
		{"ext not an object", bannerImp([2]int64{300, 250}), func(b *openrtb2.Bid) { b.Ext = json.RawMessage(`[1]`) }, RejectInvalidExt, 0, 0, 0, `[1]`},
		{"ext not JSON", bannerImp([2]int64{300, 250}), func(b *openrtb2.Bid) { b.Ext = json.RawMessage(`{"a":`) }, RejectInvalidExt, 0, 0, 0, `{"a":`},
		{"other ext keys kept", bannerImp([2]int64{300, 250}), func(b *openrtb2.Bid) {
			b.Ext = json.RawMessage(`{"dsp":{"x":[1,"}"]}, "prebid":{"meta":{"adomain":["a.com"]}}}`)
		}, RejectNone, 300, 250, 1, `{"dsp":{"x":[1,"}"]}, "prebid":{"meta":{"adomain":["a.com"]},"type":"banner"}}`},
		{"ext.prebid null is replaced", bannerImp([2]int64{300, 250}), func(b *openrtb2.Bid) { b.Ext = json.RawMessage(`{"a":1,"prebid":null}`) }, RejectNone, 300, 250, 1, `{"a":1,"prebid":{"type":"banner"}}`},
		{"ext type null counts as missing", bannerImp([2]int64{300, 250}), func(b *openrtb2.Bid) { b.Ext = json.RawMessage(`{"prebid":{"type":null}}`) }, RejectNone, 300, 250, 1, `{"prebid":{"type":"banner"}}`},
		{"ext without prebid", bannerImp([2]int64{300, 250}), func(b *openrtb2.Bid) { b.Ext = json.RawMessage(` { "a" : 1 } `) }, RejectNone, 300, 250, 1, ` { "a" : 1 ,"prebid":{"type":"banner"}} `},
		{"ext null", bannerImp([2]int64{300, 250}), func(b *openrtb2.Bid) { b.Ext = json.RawMessage(`null`) }, RejectNone, 300, 250, 1, `{"prebid":{"type":"banner"}}`},
		{"empty ext object", bannerImp([2]int64{300, 250}), func(b *openrtb2.Bid) { b.Ext = json.RawMessage(`{}`) }, RejectNone, 300, 250, 1, `{"prebid":{"type":"banner"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := okBid()
			if tt.edit != nil {
				tt.edit(&b)
			}
			if got := Complete(&b, tt.imp); got != tt.want {
				t.Fatalf("Complete = %v, want %v", got, tt.want)
			}
			if b.W != tt.w || b.H != tt.h || b.MType != tt.mtype {
				t.Errorf("w, h, mtype = %d, %d, %d; want %d, %d, %d", b.W, b.H, b.MType, tt.w, tt.h, tt.mtype)
			}
			if string(b.Ext) != tt.wantExt {
				t.Errorf("ext = %s, want %s", b.Ext, tt.wantExt)
			}
			if tt.want == RejectNone && !json.Valid(b.Ext) {
				t.Errorf("ext %s is not valid JSON", b.Ext)
			}
		})
	}
}

// TestCompleteDoesNotWriteIntoTheInput: the ext Complete writes is a new slice, so the
// response body the DSP's ext aliases is never overwritten.
func TestCompleteDoesNotWriteIntoTheInput(t *testing.T) {
	body := []byte(`{"a":1}XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX`)
	b := okBid()
	b.Ext = body[:7]
	if r := Complete(&b, bannerImp([2]int64{300, 250})); r != RejectNone {
		t.Fatal(r)
	}
	if string(body) != `{"a":1}XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX` {
		t.Errorf("input overwritten: %s", body)
	}
}

// TestRejectionLabels: every rejection has a distinct label, stable for metrics.
func TestRejectionLabels(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rejections() {
		s := r.String()
		if s == "" || s == "unknown" || seen[s] {
			t.Errorf("rejection %d has label %q", r, s)
		}
		seen[s] = true
	}
	if len(seen) != int(numRejections)-1 {
		t.Errorf("%d labels, want %d", len(seen), numRejections-1)
	}
	if Rejection(200).String() != "unknown" {
		t.Error("out-of-range rejection is not unknown")
	}
}
