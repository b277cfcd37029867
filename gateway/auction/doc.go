// Package auction is bidsieve's second-price auction, pure and deterministic: given the
// request's imps and floors, the bids the DSPs returned, the currency rates and a seed, Run
// decides which bids are valid, the winner of every imp and its clearing price, and the
// loss code of every loser. Expand substitutes the OpenRTB auction macros.
//
// The rules (docs/DESIGN.md, "Second-price auction"):
//   - A valid bid comes from a known DSP, names an imp of the request, has a price > 0 in a
//     known currency (converted into the auction currency with the configured rates), from
//     a seat the request allows (wseat, bseat), for no advertiser the request blocks (badv,
//     subdomains included), at or above the imp's floor after the DSP's bid adjustment.
//   - The bid adjustment multiplies the converted price; the adjusted price ranks the bids,
//     is compared with the floor and is what the publisher is quoted.
//   - Winner: the highest adjusted price; ties are broken at random with the request's seed.
//   - Clearing price: min(winner, max(floor, second + 0.01)), where second is the highest
//     other valid adjusted price on the imp from another DSP (a DSP never sets its own price);
//     with no second bid, max(floor, 0.01) capped at the winner's price.
//   - The winner is charged the clearing price undone of its adjustment (clear / adjustment),
//     never more than what it bid.
//   - Loss codes: 100 for a bid below the floor, 102 for a valid bid that lost.
//
// Units: prices are Micros, millionths of a currency unit of CPM (1.25 CPM = 1_250_000);
// floats appear only at the edges (FromFloat, Micros.Float). Bid adjustments are parts per
// million. Everything here is safe for concurrent use; Run allocates nothing once the
// Result's slices have grown to size.
package auction
