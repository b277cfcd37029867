package prebid

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/bidsieve/bidsieve/gateway/auction"
)

// Targeting keys, as Prebid Server writes them.
const (
	KeyPrice  = "hb_pb"     // the price bucket
	KeyBidder = "hb_bidder" // the bidder (bidsieve: the DSP's name)
	KeySize   = "hb_size"   // WxH
	KeyAdID   = "hb_adid"   // the bid's id
	KeyFormat = "hb_format" // banner, video, audio, native (with includeformat)
	KeyDeal   = "hb_deal"   // the deal id, when the bid has one
	KeyEnv    = "hb_env"    // "mobile-app" for an app request
)

// MaxKeyLength is the longest targeting key: ad servers (Google Ad Manager) cut keys at
// 20 characters, so bidder keys are cut there too.
const MaxKeyLength = 20

// Targeting is what a request's ext.prebid.targeting asks for.
type Targeting struct {
	Granularity Granularity
	// ByMedia overrides Granularity for banner, video and native bids
	// (mediatypepricegranularity); a zero Granularity (no ranges) is no override.
	ByMedia           [numMedia]Granularity
	IncludeWinners    bool // the winner's keys, unsuffixed
	IncludeBidderKeys bool // every bidder's best bid's keys, suffixed _{bidder}
	IncludeFormat     bool // hb_format
}

type targetingJSON struct {
	Prebid struct {
		Targeting *struct {
			PriceGranularity json.RawMessage `json:"pricegranularity"`
			MediaType        struct {
				Banner json.RawMessage `json:"banner"`
				Video  json.RawMessage `json:"video"`
				Native json.RawMessage `json:"native"`
			} `json:"mediatypepricegranularity"`
			IncludeWinners    *bool `json:"includewinners"`
			IncludeBidderKeys *bool `json:"includebidderkeys"`
			IncludeFormat     bool  `json:"includeformat"`
		} `json:"targeting"`
	} `json:"prebid"`
}

// ParseTargeting reads ext.prebid.targeting from a request's ext. It returns nil, nil when
// the request asks for no targeting. Defaults are Prebid Server's: granularity medium,
// includewinners and includebidderkeys true. A request that turns both off, or gives an
// unusable granularity, gets an error naming the field.
func ParseTargeting(reqExt json.RawMessage) (*Targeting, error) {
	if isNull(reqExt) {
		return nil, nil
	}
	var in targetingJSON
	if err := json.Unmarshal(reqExt, &in); err != nil {
		return nil, fmt.Errorf("ext.prebid.targeting: %w", err)
	}
	tj := in.Prebid.Targeting
	if tj == nil {
		return nil, nil
	}
	t := &Targeting{Granularity: Medium, IncludeWinners: true, IncludeBidderKeys: true, IncludeFormat: tj.IncludeFormat}
	if tj.IncludeWinners != nil {
		t.IncludeWinners = *tj.IncludeWinners
	}
	if tj.IncludeBidderKeys != nil {
		t.IncludeBidderKeys = *tj.IncludeBidderKeys
	}
	if !t.IncludeWinners && !t.IncludeBidderKeys {
		return nil, errors.New("ext.prebid.targeting: includewinners or includebidderkeys must be true")
	}
	for _, f := range []struct {
		raw json.RawMessage
		dst *Granularity
		key string
	}{
		{tj.PriceGranularity, &t.Granularity, "pricegranularity"},
		{tj.MediaType.Banner, &t.ByMedia[MediaBanner], "mediatypepricegranularity.banner"},
		{tj.MediaType.Video, &t.ByMedia[MediaVideo], "mediatypepricegranularity.video"},
		{tj.MediaType.Native, &t.ByMedia[MediaNative], "mediatypepricegranularity.native"},
	} {
		if isNull(f.raw) {
			continue
		}
		g, err := ParseGranularity(f.raw)
		if err != nil {
			return nil, fmt.Errorf("ext.prebid.targeting.%s: %w", f.key, err)
		}
		*f.dst = g
	}
	return t, nil
}

// TargetBid is what the targeting keys of one bid are made of.
type TargetBid struct {
	Bidder string         // the DSP's name
	ID     string         // bid.id
	Price  auction.Micros // the price the response quotes (the clearing price)
	Media  MediaType
	W, H   int64
	DealID string
	App    bool // the request is an app's (hb_env=mobile-app)
	Winner bool // the bid won its imp
}

// KeyValue is one targeting key and its value.
type KeyValue struct{ Key, Value string }

// Keys appends the targeting of one bid to dst: with IncludeBidderKeys every key suffixed
// _{bidder} (cut to MaxKeyLength), and for the winner with IncludeWinners every key
// unsuffixed. The caller passes each DSP's best bid on an imp, as Prebid Server does.
func (t *Targeting) Keys(dst []KeyValue, b *TargetBid) []KeyValue {
	g := &t.Granularity
	if b.Media < numMedia && len(t.ByMedia[b.Media].Ranges) > 0 {
		g = &t.ByMedia[b.Media]
	}
	add := func(key, val string) {
		if t.IncludeBidderKeys {
			dst = append(dst, KeyValue{bidderKey(key, b.Bidder), val})
		}
		if t.IncludeWinners && b.Winner {
			dst = append(dst, KeyValue{key, val})
		}
	}
	if pb := g.AppendBucket(nil, b.Price); len(pb) > 0 {
		add(KeyPrice, string(pb))
	}
	add(KeyBidder, b.Bidder)
	if b.W != 0 && b.H != 0 {
		size := strconv.AppendInt(nil, b.W, 10)
		size = append(size, 'x')
		add(KeySize, string(strconv.AppendInt(size, b.H, 10)))
	}
	add(KeyAdID, b.ID)
	if t.IncludeFormat && b.Media != MediaNone {
		add(KeyFormat, b.Media.String())
	}
	if b.DealID != "" {
		add(KeyDeal, b.DealID)
	}
	if b.App {
		add(KeyEnv, "mobile-app")
	}
	return dst
}

// bidderKey returns key_bidder cut to MaxKeyLength bytes, never inside a UTF-8 sequence.
func bidderKey(key, bidder string) string {
	s := key + "_" + bidder
	if len(s) <= MaxKeyLength {
		return s
	}
	n := MaxKeyLength
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// AppendJSON appends kvs as a JSON object {"key": "value", ...}; a key repeated keeps its
// first value.
func AppendJSON(dst []byte, kvs []KeyValue) []byte {
	dst = append(dst, '{')
	n := 0
	for i, kv := range kvs {
		dup := false
		for _, prev := range kvs[:i] {
			if prev.Key == kv.Key {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		dst = appendJSONString(dst, kv.Key)
		dst = append(dst, ':')
		dst = appendJSONString(dst, kv.Value)
	}
	return append(dst, '}')
}

// SetTargeting writes kvs into ext.prebid.targeting of a bid's ext (see Complete for how
// ext is kept); it reports false when ext is not a JSON object.
func SetTargeting(ext json.RawMessage, kvs []KeyValue) (json.RawMessage, bool) {
	if !isNull(ext) && !json.Valid(ext) {
		return nil, false
	}
	return setPrebidMember(ext, "targeting", AppendJSON(nil, kvs))
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, "\ufffd"...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}
