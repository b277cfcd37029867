package auction

import (
	"encoding/binary"
	"testing"
)

// FuzzAuction builds an auction from raw bytes and checks the invariants of the rules: at
// most one winner per imp, every imp with a valid bid sold, the winner is the highest
// valid bid, the price lies between the floor and the winner's bid, the charge never
// exceeds the bid, and the outcome is deterministic.
func FuzzAuction(f *testing.F) {
	f.Add([]byte{1, 85, 0, 0, 100, 0, 1, 0, 90, 0}, uint64(1))
	f.Add([]byte{3, 10, 20, 30, 0, 0, 250, 1, 1, 1, 255, 2, 2, 7, 7, 2}, uint64(42))
	f.Add([]byte{2, 0, 0, 0, 0, 5, 5, 1, 0, 5, 5, 2, 1, 5, 5, 3}, uint64(0))
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		if len(data) < 1 {
			return
		}
		rates := testRates(t)
		currencies := []string{"USD", "EUR", "JPY", "XXX", ""}
		nImps := int(data[0]%4) + 1
		data = data[1:]
		req := Request{ID: "r", Currency: "USD", Seed: seed, BAdv: []string{"bad.example"}}
		for i := range nImps {
			var floor Micros
			if len(data) > 0 {
				floor = Micros(data[0]) * 10_000 // 0 .. 2.55
				data = data[1:]
			}
			req.Imps = append(req.Imps, Imp{ID: string(rune('a' + i)), Floor: floor})
		}
		bidders := []Bidder{
			{Name: "x", Adjustment: NoAdjustment},
			{Name: "y", Adjustment: AdjustmentFromFloat(0.8)},
			{Name: "z", Adjustment: AdjustmentFromFloat(1.5)},
		}
		var bids []Bid
		for len(data) >= 4 && len(bids) < 32 {
			price := Micros(int16(binary.LittleEndian.Uint16(data[1:3]))) * 1_000
			b := Bid{
				Bidder:   int(data[0]%4) - (int(data[0]>>7) * 5), // sometimes unknown or negative
				ImpID:    string(rune('a' + int(data[3]%5))),     // sometimes unknown
				Price:    price,
				Currency: currencies[int(data[3]>>4)%len(currencies)],
			}
			if data[3]&8 != 0 {
				b.ADomain = []string{"ads.bad.example"}
			}
			bids = append(bids, b)
			data = data[4:]
		}

		var res Result
		Run(&req, bidders, bids, rates, &res)
		if len(res.Outcomes) != len(bids) {
			t.Fatalf("%d outcomes for %d bids", len(res.Outcomes), len(bids))
		}
		sold := map[int]Win{}
		for _, w := range res.Wins {
			if _, dup := sold[w.Imp]; dup {
				t.Fatalf("imp %d sold twice", w.Imp)
			}
			sold[w.Imp] = w
			o := res.Outcomes[w.Bid]
			if o.Status != Won || o.Imp != w.Imp {
				t.Fatalf("win %+v points at outcome %+v", w, o)
			}
			floor := req.Imps[w.Imp].Floor
			if w.Clear > o.Adjusted || w.Clear <= 0 || w.Clear < min(floor, o.Adjusted) || o.Adjusted < floor {
				t.Fatalf("win %+v of bid %+v on floor %d: price out of bounds", w, o, floor)
			}
			if w.Charge > o.Price || w.Charge <= 0 {
				t.Fatalf("win %+v of bid %+v: charge out of bounds", w, o)
			}
		}
		for i, o := range res.Outcomes {
			switch o.Status {
			case Lost:
				w, ok := sold[o.Imp]
				if !ok {
					t.Fatalf("bid %d lost on imp %d that was not sold", i, o.Imp)
				}
				if o.Adjusted > res.Outcomes[w.Bid].Adjusted {
					t.Fatalf("bid %d (%d) beat the winner (%d)", i, o.Adjusted, res.Outcomes[w.Bid].Adjusted)
				}
				if o.LossCode != LossHigherBid {
					t.Fatalf("lost bid %d has loss code %d", i, o.LossCode)
				}
			case Rejected:
				if o.Reason == ReasonNone || o.Reason == ReasonOutbid {
					t.Fatalf("rejected bid %d has reason %v", i, o.Reason)
				}
			}
		}
		again := Result{}
		Run(&req, bidders, bids, rates, &again)
		for i := range res.Wins {
			if res.Wins[i] != again.Wins[i] {
				t.Fatalf("not deterministic: %+v then %+v", res.Wins[i], again.Wins[i])
			}
		}
	})
}
