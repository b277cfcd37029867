package dsp

import (
	"bytes"
	"fmt"

	"github.com/prebid/openrtb/v19/openrtb2"
)

// Decode parses a DSP's 200 answer into resp and reports whether it holds any bid. An
// empty body, or a response without bids, is a no-bid. Invalid JSON, or a response whose
// id is not the request's, is a KindMalformed *Error. The bids themselves are not checked
// here: the auction refuses the ones it cannot trust.
//
// resp gets exactly what json.Unmarshal would give it, and the same answers are refused
// (see decodeResponse), but the strings in resp share one copy of data: resp never
// aliases data, which the caller may reuse.
func Decode(data []byte, requestID string, resp *openrtb2.BidResponse) (bool, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return false, nil
	}
	if err := decodeResponse(data, resp); err != nil {
		return false, &Error{Kind: KindMalformed, Err: fmt.Errorf("decode bid response: %w", err)}
	}
	for i := range resp.SeatBid {
		if len(resp.SeatBid[i].Bid) > 0 {
			if resp.ID != requestID {
				return false, &Error{Kind: KindMalformed, Err: fmt.Errorf("bid response id %q is not the request's %q", resp.ID, requestID)}
			}
			return true, nil
		}
	}
	return false, nil
}
