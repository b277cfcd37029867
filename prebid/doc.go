// Package prebid holds what Prebid clients (Prebid.js's Prebid Server adapter, AMP, the
// mobile SDKs, a Prebid Server calling bidsieve as a bidder) expect of an auction server,
// as pure rules the gateway calls: bid validation and completion before the auction
// (Complete), price granularities and targeting keys (Granularity, ParseTargeting,
// Targeting.Keys, SetTargeting), and the seatnonbid codes and response ext shapes
// (NonBidCode, CallCode, BidCode, SeatNonBids, ResponseExt). It works on openrtb2 types
// and knows nothing of HTTP, configuration or the model.
//
// Units: prices are auction.Micros (millionths of a currency unit of CPM); price buckets
// are computed in integer micros, so 0.30 at 0.10 increments is 0.30 (Prebid Server's
// float arithmetic gives 0.20) and 1.005 at 0.01 is 1.00. Everything here is safe for
// concurrent use; nothing keeps state between calls except a SeatNonBids being filled,
// which is not safe for concurrent use. Complete allocates once when it writes
// ext.prebid.type and never otherwise; it reads and writes bid.ext with a small scanner
// (after json.Valid), never encoding/json's reflection, and keeps the DSP's other members
// byte for byte.
//
// Where bidsieve differs from Prebid Server (Go, read from its source: exchange's
// validateBid, exchange/price_granularity.go, exchange/targeting.go, openrtb_ext's
// request.go, response.go and seat_non_bids.go; Java's BidRejectionReason), and why:
//
//   - Bid validation. PBS requires id, impid, crid and a price > 0 (0 with a deal);
//     bidsieve's auction already refuses a price <= 0 (auction.ReasonPrice), so Complete
//     leaves prices alone. PBS takes the media type from its adapter; bidsieve has none,
//     so it reads mtype and ext.prebid.type, infers the type only from an imp offering
//     one, and rejects the rest (ambiguous_media_type, media_type_not_offered,
//     media_type_conflict, invalid_media_type). The video-needs-adm-or-nurl rule and the
//     banner size rules are bidsieve's: PBS does not check them, and Prebid.js silently
//     drops a banner bid without a size on a multi-size ad unit, so bidsieve rejects it
//     (missing_size) and lets another bid win.
//   - ext.prebid. PBS rewrites bid.ext.prebid from its own struct (keeping meta);
//     bidsieve keeps every member the DSP sent and only adds type (and targeting).
//   - Granularity. As PBS: a range's min is ignored (it is the previous range's max), a
//     price at a bound shared by two ranges falls in the upper one, a price above the top
//     range gets the top, precision defaults to 2 and is at most 15, a custom granularity
//     without ranges is medium. Unlike PBS: integer micros instead of floats; a precision
//     coarser than the increment rounds half to even exactly (strconv on PBS's inexact
//     floats rounds either way); increments finer than a micro are refused.
//   - Targeting. As PBS: hb_pb, hb_bidder, hb_size (WxH, when the bid has both), hb_deal
//     (with a deal), hb_env=mobile-app (app requests), hb_format (with includeformat);
//     bidder keys suffixed _{bidder} and cut at 20 bytes; includewinners and
//     includebidderkeys default true and may not both be false; the keys go in
//     seatbid[].bid[].ext.prebid.targeting of each bidder's best bid per imp. Unlike PBS:
//     hb_adid (the bid's id) is added, which PBS leaves to Prebid.js; a cut never splits a
//     UTF-8 sequence; hb_cache_id, hb_uuid and the cache host/path keys are absent
//     (bidsieve has no cache); the key prefix and account-level truncation are not
//     supported.
//   - seatnonbid. The codes are the community extension's, as PBS Java names them
//     (0, 100-103, 200-204, 300-356). The value belongs at BidResponse.ext.seatnonbid,
//     where the extension, PBS Java and Prebid.js (which reads it only when
//     s2sConfig.extPrebid.returnallbidstatus is set) have it; PBS Go writes
//     ext.prebid.seatnonbid. "Withheld by the model" is 203 (request blocked, optimized:
//     what PBS Java's Greenbids traffic-shaping module uses). bidsieve's own codes: 501
//     the DSP's QPS cap was reached, 502 its circuit breaker was open, 503 no time was
//     left to call it.
//   - ext.errors uses PBS's {code, message} and its codes: 1 timeout, 2 bad input, 4 bad
//     server response, 999 unknown.
package prebid
