package prebid

// Rejection says why Complete refused a bid; the names are metric label values and never
// change.
type Rejection uint8

// Rejections.
const (
	RejectNone                Rejection = iota // the bid is valid
	RejectMissingID                            // no bid.id
	RejectMissingImpID                         // no bid.impid
	RejectUnknownImp                           // bid.impid names no imp of the request
	RejectMissingCrID                          // no bid.crid: Prebid.js drops such a bid
	RejectInvalidExt                           // bid.ext is not a JSON object
	RejectInvalidMediaType                     // mtype outside 1-4, or ext.prebid.type not banner/video/audio/native
	RejectMediaTypeConflict                    // mtype and ext.prebid.type disagree
	RejectMediaTypeNotOffered                  // the bid's media type is not one the imp offers
	RejectAmbiguousMediaType                   // no media type given and the imp offers several
	RejectMissingSize                          // a banner bid lacking w or h on an imp of several sizes
	RejectVideoWithoutAdM                      // a video bid with neither adm nor nurl
	numRejections
)

var rejectionNames = [numRejections]string{
	RejectNone:                "none",
	RejectMissingID:           "missing_id",
	RejectMissingImpID:        "missing_impid",
	RejectUnknownImp:          "unknown_imp",
	RejectMissingCrID:         "missing_crid",
	RejectInvalidExt:          "invalid_ext",
	RejectInvalidMediaType:    "invalid_media_type",
	RejectMediaTypeConflict:   "media_type_conflict",
	RejectMediaTypeNotOffered: "media_type_not_offered",
	RejectAmbiguousMediaType:  "ambiguous_media_type",
	RejectMissingSize:         "missing_size",
	RejectVideoWithoutAdM:     "video_without_adm",
}

func (r Rejection) String() string {
	if r < numRejections {
		return rejectionNames[r]
	}
	return "unknown"
}

// Rejections lists every rejection (RejectNone excluded), for metric label sets.
func Rejections() []Rejection {
	out := make([]Rejection, 0, numRejections-1)
	for r := RejectNone + 1; r < numRejections; r++ {
		out = append(out, r)
	}
	return out
}

// NonBidCode is the seatnonbid status code of a bid so rejected: 353 (invalid creative,
// incorrect format) for a media type the imp did not offer or cannot be told, 350
// (invalid creative) for a video without markup, 300 (response rejected, general) for the
// rest; NoBid for RejectNone.
func (r Rejection) NonBidCode() NonBidCode {
	switch r {
	case RejectNone:
		return NoBid
	case RejectInvalidMediaType, RejectMediaTypeConflict, RejectMediaTypeNotOffered, RejectAmbiguousMediaType:
		return ResponseRejectedIncorrectFormat
	case RejectVideoWithoutAdM:
		return ResponseRejectedInvalidCreative
	}
	return ResponseRejectedGeneral
}
