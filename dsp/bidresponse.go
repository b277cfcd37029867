package dsp

import (
	"bytes"
	"encoding/json"
	"strconv"
	"sync"

	"github.com/prebid/openrtb/v19/openrtb2"
	"github.com/prebid/openrtb/v19/openrtb3"
)

// decodeResponse decodes an answer into resp (the zero value, as encoding/json would
// leave it otherwise, or json.Unmarshal's merge rules apply) with the same outcome as
// json.Unmarshal(data, resp): the same answers accepted, the same values. A hand-written
// decoder reads every usual answer in one pass with a handful of allocations (one copy of
// the answer that its strings share, one per slice, one per string with escapes, one per
// ext); whatever it does not decide itself (see errSlow) goes through encoding/json.
func decodeResponse(data []byte, resp *openrtb2.BidResponse) error {
	if zeroResponse(resp) {
		d := decoders.Get().(*respDecoder)
		d.reset(data)
		err := d.response(resp)
		d.release()
		if err == nil {
			return nil
		}
		*resp = openrtb2.BidResponse{}
	}
	return json.Unmarshal(data, resp)
}

func zeroResponse(r *openrtb2.BidResponse) bool {
	return r.ID == "" && r.SeatBid == nil && r.BidID == "" && r.Cur == "" && r.CustomData == "" &&
		r.NBR == nil && r.Ext == nil
}

// respDecoder is the hand-written decoder. Arrays are read into its scratch slices, then
// copied into slices of their exact length; it is pooled with that scratch.
type respDecoder struct {
	reader
	seats []openrtb2.SeatBid
	bids  []openrtb2.Bid
	strs  []string
	ints  []int64
}

var decoders = sync.Pool{New: func() any { return new(respDecoder) }}

// maxScratch bounds the scratch slices kept in the pool (elements).
const maxScratch = 64

func (d *respDecoder) release() {
	d.seats = clearScratch(d.seats)
	d.bids = clearScratch(d.bids)
	d.strs = clearScratch(d.strs)
	d.ints = clearScratch(d.ints)
	d.reset(nil)
	decoders.Put(d)
}

// clearScratch drops what s refers to (strings of an answer) and keeps it for the next
// answer unless it grew large. Beyond len(s) it is clear already (takeScratch).
func clearScratch[T any](s []T) []T {
	if cap(s) > maxScratch {
		return nil
	}
	clear(s)
	return s[:0]
}

// takeScratch returns a copy of (*scratch)[mark:], an empty non-nil slice when there is
// none (as encoding/json decodes []), and truncates the scratch to mark.
func takeScratch[T any](scratch *[]T, mark int) []T {
	s := *scratch
	out := []T{}
	if len(s) > mark {
		out = make([]T, len(s)-mark)
		copy(out, s[mark:])
		clear(s[mark:])
	}
	*scratch = s[:mark]
	return out
}

// The fields of openrtb2.BidResponse, by JSON name.
const (
	respID = iota
	respSeatBid
	respBidID
	respCur
	respCustomData
	respNBR
	respExt
)

func responseField(k []byte) int {
	switch string(k) {
	case "id":
		return respID
	case "seatbid":
		return respSeatBid
	case "bidid":
		return respBidID
	case "cur":
		return respCur
	case "customdata":
		return respCustomData
	case "nbr":
		return respNBR
	case "ext":
		return respExt
	}
	return -1
}

// response reads the top-level value into resp.
// object reads one JSON object: field maps each key to its field number (-1 for a key the
// decoder skips) and member reads that field's value. A key seen twice gives errSlow, so
// that encoding/json, which merges duplicates, decides the answer.
func (d *respDecoder) object(field func(k []byte) int, member func(f int) error) error {
	more, err := d.objectStart()
	var seen uint64
	for more && err == nil {
		var k []byte
		if k, err = d.key(); err != nil {
			return err
		}
		f := field(k)
		if f >= 0 {
			if seen&(1<<f) != 0 {
				return errSlow
			}
			seen |= 1 << f
		}
		if err = member(f); err != nil {
			return err
		}
		more, err = d.objectNext()
	}
	return err
}

func (d *respDecoder) response(resp *openrtb2.BidResponse) error {
	d.ws()
	if d.peek() == 'n' { // null leaves resp as it is
		if err := d.literal("null"); err != nil {
			return err
		}
		return d.end()
	}
	err := d.object(responseField, func(f int) error {
		switch f {
		case respID:
			return d.str(&resp.ID)
		case respSeatBid:
			return d.seatBids(&resp.SeatBid)
		case respBidID:
			return d.str(&resp.BidID)
		case respCur:
			return d.str(&resp.Cur)
		case respCustomData:
			return d.str(&resp.CustomData)
		case respNBR:
			return d.nbr(&resp.NBR)
		case respExt:
			return d.raw(&resp.Ext)
		default:
			return d.skip(0)
		}
	})
	if err != nil {
		return err
	}
	return d.end()
}

func (d *respDecoder) seatBids(dst *[]openrtb2.SeatBid) error {
	if d.peek() == 'n' {
		*dst = nil
		return d.literal("null")
	}
	mark := len(d.seats)
	more, err := d.arrayStart()
	for more && err == nil {
		var sb openrtb2.SeatBid
		if d.peek() == 'n' {
			err = d.literal("null")
		} else {
			err = d.seatBid(&sb)
		}
		if err != nil {
			return err
		}
		d.seats = append(d.seats, sb)
		more, err = d.arrayNext()
	}
	if err != nil {
		return err
	}
	*dst = takeScratch(&d.seats, mark)
	return nil
}

// The fields of openrtb2.SeatBid, by JSON name.
const (
	seatBid = iota
	seatSeat
	seatGroup
	seatExt
)

func seatBidField(k []byte) int {
	switch string(k) {
	case "bid":
		return seatBid
	case "seat":
		return seatSeat
	case "group":
		return seatGroup
	case "ext":
		return seatExt
	}
	return -1
}

func (d *respDecoder) seatBid(sb *openrtb2.SeatBid) error {
	return d.object(seatBidField, func(f int) error {
		switch f {
		case seatBid:
			return d.bidList(&sb.Bid)
		case seatSeat:
			return d.str(&sb.Seat)
		case seatGroup:
			return intValue(&d.reader, &sb.Group)
		case seatExt:
			return d.raw(&sb.Ext)
		default:
			return d.skip(0)
		}
	})
}

func (d *respDecoder) bidList(dst *[]openrtb2.Bid) error {
	if d.peek() == 'n' {
		*dst = nil
		return d.literal("null")
	}
	mark := len(d.bids)
	more, err := d.arrayStart()
	for more && err == nil {
		d.bids = append(d.bids, openrtb2.Bid{})
		if d.peek() == 'n' {
			err = d.literal("null")
		} else {
			err = d.bid(&d.bids[len(d.bids)-1]) // the scratch does not grow while a bid is read
		}
		if err != nil {
			return err
		}
		more, err = d.arrayNext()
	}
	if err != nil {
		return err
	}
	*dst = takeScratch(&d.bids, mark)
	return nil
}

// The fields of openrtb2.Bid, by JSON name.
const (
	bidID = iota
	bidImpID
	bidPrice
	bidNURL
	bidBURL
	bidLURL
	bidAdM
	bidAdID
	bidADomain
	bidBundle
	bidIURL
	bidCID
	bidCrID
	bidTactic
	bidCatTax
	bidCat
	bidAttr
	bidAPIs
	bidAPI
	bidProtocol
	bidQAGMediaRating
	bidLanguage
	bidLangB
	bidDealID
	bidW
	bidH
	bidWRatio
	bidHRatio
	bidExp
	bidDur
	bidMType
	bidSlotInPod
	bidExt
)

func bidField(k []byte) int {
	switch string(k) {
	case "id":
		return bidID
	case "impid":
		return bidImpID
	case "price":
		return bidPrice
	case "nurl":
		return bidNURL
	case "burl":
		return bidBURL
	case "lurl":
		return bidLURL
	case "adm":
		return bidAdM
	case "adid":
		return bidAdID
	case "adomain":
		return bidADomain
	case "bundle":
		return bidBundle
	case "iurl":
		return bidIURL
	case "cid":
		return bidCID
	case "crid":
		return bidCrID
	case "tactic":
		return bidTactic
	case "cattax":
		return bidCatTax
	case "cat":
		return bidCat
	case "attr":
		return bidAttr
	case "apis":
		return bidAPIs
	case "api":
		return bidAPI
	case "protocol":
		return bidProtocol
	case "qagmediarating":
		return bidQAGMediaRating
	case "language":
		return bidLanguage
	case "langb":
		return bidLangB
	case "dealid":
		return bidDealID
	case "w":
		return bidW
	case "h":
		return bidH
	case "wratio":
		return bidWRatio
	case "hratio":
		return bidHRatio
	case "exp":
		return bidExp
	case "dur":
		return bidDur
	case "mtype":
		return bidMType
	case "slotinpod":
		return bidSlotInPod
	case "ext":
		return bidExt
	}
	return -1
}

func (d *respDecoder) bid(b *openrtb2.Bid) error {
	r := &d.reader
	return d.object(bidField, func(f int) error {
		switch f {
		case bidID:
			return d.str(&b.ID)
		case bidImpID:
			return d.str(&b.ImpID)
		case bidPrice:
			return d.float(&b.Price)
		case bidNURL:
			return d.str(&b.NURL)
		case bidBURL:
			return d.str(&b.BURL)
		case bidLURL:
			return d.str(&b.LURL)
		case bidAdM:
			return d.str(&b.AdM)
		case bidAdID:
			return d.str(&b.AdID)
		case bidADomain:
			return d.strList(&b.ADomain)
		case bidBundle:
			return d.str(&b.Bundle)
		case bidIURL:
			return d.str(&b.IURL)
		case bidCID:
			return d.str(&b.CID)
		case bidCrID:
			return d.str(&b.CrID)
		case bidTactic:
			return d.str(&b.Tactic)
		case bidCatTax:
			return intValue(r, &b.CatTax)
		case bidCat:
			return d.strList(&b.Cat)
		case bidAttr:
			return intList(d, &b.Attr)
		case bidAPIs:
			return intList(d, &b.APIs)
		case bidAPI:
			return intValue(r, &b.API)
		case bidProtocol:
			return intValue(r, &b.Protocol)
		case bidQAGMediaRating:
			return intValue(r, &b.QAGMediaRating)
		case bidLanguage:
			return d.str(&b.Language)
		case bidLangB:
			return d.str(&b.LangB)
		case bidDealID:
			return d.str(&b.DealID)
		case bidW:
			return intValue(r, &b.W)
		case bidH:
			return intValue(r, &b.H)
		case bidWRatio:
			return intValue(r, &b.WRatio)
		case bidHRatio:
			return intValue(r, &b.HRatio)
		case bidExp:
			return intValue(r, &b.Exp)
		case bidDur:
			return intValue(r, &b.Dur)
		case bidMType:
			return intValue(r, &b.MType)
		case bidSlotInPod:
			return intValue(r, &b.SlotInPod)
		case bidExt:
			return d.raw(&b.Ext)
		default:
			return d.skip(0)
		}
	})
}

// str reads a string; null leaves dst as it is.
func (r *reader) str(dst *string) error {
	switch r.peek() {
	case '"':
		s, err := r.stringValue()
		*dst = s
		return err
	case 'n':
		return r.literal("null")
	}
	return errSlow
}

// strList reads an array of strings (null elements are ""); null sets dst to nil.
func (d *respDecoder) strList(dst *[]string) error {
	if d.peek() == 'n' {
		*dst = nil
		return d.literal("null")
	}
	mark := len(d.strs)
	more, err := d.arrayStart()
	for more && err == nil {
		var s string
		if err = d.str(&s); err != nil {
			return err
		}
		d.strs = append(d.strs, s)
		more, err = d.arrayNext()
	}
	if err != nil {
		return err
	}
	*dst = takeScratch(&d.strs, mark)
	return nil
}

// intValue reads an integer (a number that strconv.ParseInt takes, within T's range, as
// encoding/json requires); null leaves dst as it is.
func intValue[T ~int8 | ~int64](r *reader, dst *T) error {
	if r.peek() == 'n' {
		return r.literal("null")
	}
	s, e, err := r.number()
	if err != nil {
		return err
	}
	n, err := strconv.ParseInt(r.sub(s, e), 10, 64)
	if err != nil || int64(T(n)) != n {
		return errSlow
	}
	*dst = T(n)
	return nil
}

// intList reads an array of integers (null elements are 0); null sets dst to nil.
func intList[T ~int64](d *respDecoder, dst *[]T) error {
	if d.peek() == 'n' {
		*dst = nil
		return d.literal("null")
	}
	mark := len(d.ints)
	more, err := d.arrayStart()
	for more && err == nil {
		var n int64
		if err = intValue(&d.reader, &n); err != nil {
			return err
		}
		d.ints = append(d.ints, n)
		more, err = d.arrayNext()
	}
	if err != nil {
		return err
	}
	out := []T{}
	if n := len(d.ints) - mark; n > 0 {
		out = make([]T, n)
		for i, v := range d.ints[mark:] {
			out[i] = T(v)
		}
	}
	d.ints = d.ints[:mark]
	*dst = out
	return nil
}

// float reads a number as strconv.ParseFloat does (out of range is an error); null leaves
// dst as it is.
func (r *reader) float(dst *float64) error {
	if r.peek() == 'n' {
		return r.literal("null")
	}
	s, e, err := r.number()
	if err != nil {
		return err
	}
	f, err := strconv.ParseFloat(r.sub(s, e), 64)
	if err != nil {
		return errSlow
	}
	*dst = f
	return nil
}

// nbr reads the no-bid reason; null sets it to nil.
func (r *reader) nbr(dst **openrtb3.NoBidReason) error {
	if r.peek() == 'n' {
		*dst = nil
		return r.literal("null")
	}
	var n openrtb3.NoBidReason
	if err := intValue(r, &n); err != nil {
		return err
	}
	*dst = &n
	return nil
}

// raw reads any value, null included, as its JSON text (json.RawMessage's UnmarshalJSON),
// copied.
func (r *reader) raw(dst *json.RawMessage) error {
	s := r.pos
	if err := r.skip(0); err != nil {
		return err
	}
	*dst = bytes.Clone(r.data[s:r.pos])
	return nil
}
