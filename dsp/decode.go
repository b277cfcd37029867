package dsp

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/prebid/openrtb/v19/openrtb2"
)

// Decode parses a DSP's 200 answer into resp and reports whether it holds any bid. An
// empty body, or a response without bids, is a no-bid. Invalid JSON, or a response whose
// id is not the request's, is a KindMalformed *Error. The bids themselves are not checked
// here: the auction refuses the ones it cannot trust.
func Decode(data []byte, requestID string, resp *openrtb2.BidResponse) (bool, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return false, nil
	}
	if err := json.Unmarshal(data, resp); err != nil {
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
