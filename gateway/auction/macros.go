package auction

import (
	"net/url"
	"strconv"
	"strings"
)

// Macros holds the values of the OpenRTB substitution macros for one bid.
type Macros struct {
	AuctionID string // ${AUCTION_ID}: the request's id
	BidID     string // ${AUCTION_BID_ID}: the bid response's bidid, else the bid's id
	ImpID     string // ${AUCTION_IMP_ID}
	SeatID    string // ${AUCTION_SEAT_ID}
	AdID      string // ${AUCTION_AD_ID}
	Price     Micros // ${AUCTION_PRICE}: the charge price, as decimal CPM
	Currency  string // ${AUCTION_CURRENCY}
	Loss      int    // ${AUCTION_LOSS}: the loss code; 0 expands to ""
}

// Expand substitutes the auction macros in s. With escape (URLs: nurl, burl, lurl) the
// values are query-escaped; without (adm) they go in as they are. Unknown macros are left
// in place. A string without "${" is returned as is, without allocating.
func Expand(s string, m *Macros, escape bool) string {
	i := strings.Index(s, "${")
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	var num [24]byte
	for i >= 0 {
		b.WriteString(s[:i])
		s = s[i:]
		end := strings.IndexByte(s, '}')
		if end < 0 {
			break
		}
		name := s[2:end]
		var v string
		known := true
		switch name {
		case "AUCTION_ID":
			v = m.AuctionID
		case "AUCTION_BID_ID":
			v = m.BidID
		case "AUCTION_IMP_ID":
			v = m.ImpID
		case "AUCTION_SEAT_ID":
			v = m.SeatID
		case "AUCTION_AD_ID":
			v = m.AdID
		case "AUCTION_PRICE":
			v = string(m.Price.AppendText(num[:0]))
		case "AUCTION_CURRENCY":
			v = m.Currency
		case "AUCTION_LOSS":
			if m.Loss != 0 {
				v = string(strconv.AppendInt(num[:0], int64(m.Loss), 10))
			}
		default:
			known = false
		}
		if known {
			if escape {
				v = url.QueryEscape(v)
			}
			b.WriteString(v)
			s = s[end+1:]
		} else {
			b.WriteString("${")
			s = s[2:]
		}
		i = strings.Index(s, "${")
	}
	b.WriteString(s)
	return b.String()
}
