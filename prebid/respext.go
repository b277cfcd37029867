package prebid

// NonBid is one entry of seatnonbid[].nonbid: an imp the seat did not bid on, and why.
type NonBid struct {
	ImpID      string     `json:"impid"`
	StatusCode NonBidCode `json:"statuscode"`
}

// SeatNonBid is one entry of ext.seatnonbid: a seat (bidsieve: a DSP's name) and its
// non-bids.
type SeatNonBid struct {
	Seat   string   `json:"seat"`
	NonBid []NonBid `json:"nonbid"`
}

// SeatNonBids collects the non-bids of an auction, seat by seat in the order seats are
// first added. The zero value is empty and ready; it is not safe for concurrent use.
type SeatNonBids struct {
	seats []SeatNonBid
}

// Add records that seat did not bid on impID, for code.
func (s *SeatNonBids) Add(seat, impID string, code NonBidCode) {
	for i := range s.seats {
		if s.seats[i].Seat == seat {
			s.seats[i].NonBid = append(s.seats[i].NonBid, NonBid{ImpID: impID, StatusCode: code})
			return
		}
	}
	s.seats = append(s.seats, SeatNonBid{Seat: seat, NonBid: []NonBid{{ImpID: impID, StatusCode: code}}})
}

// Slice returns the ext.seatnonbid value; nil when nothing was added (omitted from JSON).
func (s *SeatNonBids) Slice() []SeatNonBid { return s.seats }

// Message is one entry of ext.errors.{dsp} or ext.warnings.{dsp}: Prebid Server's
// {code, message}.
type Message struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Prebid Server's error codes (its errortypes package) for ext.errors.
const (
	ErrorCodeTimeout           = 1   // no answer before the deadline
	ErrorCodeBadInput          = 2   // the request was unusable
	ErrorCodeBadServerResponse = 4   // the DSP answered something unusable (status, body, invalid bids)
	ErrorCodeUnknown           = 999 // anything else (connection errors)
)

// ResponseExt is the BidResponse.ext a Prebid client reads: per DSP the time it took and
// its errors, and the seats that did not bid. Each member is omitted when empty.
// SeatNonBid sits at ext.seatnonbid, where the community extension, Prebid Server Java
// and Prebid.js (when s2sConfig.extPrebid.returnallbidstatus is set) put it; Prebid Server
// Go writes ext.prebid.seatnonbid instead.
type ResponseExt struct {
	ResponseTimeMillis map[string]int       `json:"responsetimemillis,omitempty"`
	Errors             map[string][]Message `json:"errors,omitempty"`
	Warnings           map[string][]Message `json:"warnings,omitempty"`
	SeatNonBid         []SeatNonBid         `json:"seatnonbid,omitempty"`
}
