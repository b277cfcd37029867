package prebid

import (
	"encoding/json"

	"github.com/prebid/openrtb/v19/openrtb2"
)

// typeValues are the JSON values written into ext.prebid.type, by media type.
var typeValues = [numMedia][]byte{
	MediaBanner: []byte(`"banner"`),
	MediaVideo:  []byte(`"video"`),
	MediaAudio:  []byte(`"audio"`),
	MediaNative: []byte(`"native"`),
}

// Complete validates a DSP's bid against the imp it names and completes what Prebid
// clients need, in place; it returns RejectNone, or why the bid must not enter the auction
// (the bid is then left as it came). imp is the request's imp whose id is bid.ImpID, nil
// when there is none. The rules:
//
//   - id, impid and crid are required;
//   - the media type is mtype (1-4) or ext.prebid.type ("banner", "video", "audio",
//     "native"); the two must agree when both are given; when neither is, it is the
//     imp's one media type, and a bid on an imp offering several is rejected;
//   - the media type must be one the imp offers;
//   - a video bid needs adm or nurl;
//   - a bid without a whole size (w or h missing) gets the imp's one size for its media
//     type (a banner's only format, or its w and h when it lists none; a video's w and
//     h); a banner bid without one on an imp of several sizes is rejected (Prebid.js
//     would drop it);
//   - mtype and ext.prebid.type are set when missing; the rest of ext is kept byte for
//     byte.
//
// Complete allocates only when it writes ext.prebid.type (one allocation).
func Complete(bid *openrtb2.Bid, imp *openrtb2.Imp) Rejection {
	switch {
	case bid.ID == "":
		return RejectMissingID
	case bid.ImpID == "":
		return RejectMissingImpID
	case imp == nil:
		return RejectUnknownImp
	case bid.CrID == "":
		return RejectMissingCrID
	}
	if !isNull(bid.Ext) && (!json.Valid(bid.Ext) || bid.Ext[skipSpace(bid.Ext, 0)] != '{') {
		return RejectInvalidExt
	}
	m, inExt, r := declared(bid)
	if r != RejectNone {
		return r
	}
	offers := offered(imp)
	if m == MediaNone {
		if m = offers.only(); m == MediaNone {
			if offers == 0 {
				return RejectMediaTypeNotOffered
			}
			return RejectAmbiguousMediaType
		}
	}
	if !offers.has(m) {
		return RejectMediaTypeNotOffered
	}
	if m == MediaVideo && bid.AdM == "" && bid.NURL == "" {
		return RejectVideoWithoutAdM
	}
	w, h := bid.W, bid.H
	if w <= 0 || h <= 0 {
		iw, ih, ok := impSize(imp, m)
		switch {
		case ok:
			w, h = iw, ih
		case m == MediaBanner:
			return RejectMissingSize
		}
	}
	if !inExt {
		ext, ok := setPrebidMember(bid.Ext, "type", typeValues[m])
		if !ok { // cannot happen: ext was checked to be null or an object
			return RejectInvalidExt
		}
		bid.Ext = ext
	}
	bid.W, bid.H = w, h
	bid.MType = openrtb2.MarkupType(m)
	return RejectNone
}

// declared returns the media type the bid gives (MediaNone when it gives none) and whether
// ext.prebid.type gives it.
func declared(bid *openrtb2.Bid) (m MediaType, inExt bool, r Rejection) {
	if bid.MType != 0 {
		if bid.MType < 0 || bid.MType >= openrtb2.MarkupType(numMedia) {
			return MediaNone, false, RejectInvalidMediaType
		}
		m = MediaType(bid.MType)
	}
	v, found := prebidMember(bid.Ext, "type")
	if !found || string(v) == "null" {
		return m, false, RejectNone
	}
	var e MediaType
	if len(v) >= 2 && v[0] == '"' {
		e = mediaFromName(v[1 : len(v)-1])
	}
	switch {
	case e == MediaNone:
		return MediaNone, false, RejectInvalidMediaType
	case m != MediaNone && m != e:
		return MediaNone, false, RejectMediaTypeConflict
	}
	return e, true, RejectNone
}
