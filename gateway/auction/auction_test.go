package auction

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func cpm(f float64) Micros {
	m, ok := FromFloat(f)
	if !ok {
		panic(fmt.Sprint("bad price ", f))
	}
	return m
}

func testRates(t testing.TB) *Rates {
	r, err := NewRates("USD", map[string]float64{"EUR": 1.25, "JPY": 0.01})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRun(t *testing.T) {
	two := []Bidder{{Name: "a", Adjustment: NoAdjustment}, {Name: "b", Adjustment: NoAdjustment}, {Name: "c", Adjustment: NoAdjustment}}
	oneImp := func(floor float64) []Imp { return []Imp{{ID: "1", Floor: cpm(floor)}} }
	type want struct {
		wins     []Win
		statuses []Status
		reasons  []Reason
		losses   []int
	}
	tests := []struct {
		name    string
		req     Request
		bidders []Bidder
		bids    []Bid
		want    want
	}{
		{
			name:    "OpenRTB 2.6 4.4.1: floor 0.85, bids 1.00 and 0.90 clear at 0.91",
			req:     Request{Currency: "USD", Imps: oneImp(0.85)},
			bidders: two,
			bids:    []Bid{{Bidder: 0, ImpID: "1", Price: cpm(1.00)}, {Bidder: 1, ImpID: "1", Price: cpm(0.90)}},
			want: want{
				wins:     []Win{{Imp: 0, Bid: 0, Clear: cpm(0.91), Charge: cpm(0.91), Second: cpm(0.90)}},
				statuses: []Status{Won, Lost}, reasons: []Reason{ReasonNone, ReasonOutbid}, losses: []int{0, 102},
			},
		},
		{
			name:    "a single bid clears at the floor",
			req:     Request{Currency: "USD", Imps: oneImp(0.85)},
			bidders: two,
			bids:    []Bid{{Bidder: 0, ImpID: "1", Price: cpm(3)}},
			want: want{
				wins:     []Win{{Imp: 0, Bid: 0, Clear: cpm(0.85), Charge: cpm(0.85)}},
				statuses: []Status{Won}, reasons: []Reason{ReasonNone}, losses: []int{0},
			},
		},
		{
			name:    "a single bid without floor clears at 0.01",
			req:     Request{Currency: "USD", Imps: oneImp(0)},
			bidders: two,
			bids:    []Bid{{Bidder: 0, ImpID: "1", Price: cpm(2)}},
			want: want{
				wins:     []Win{{Imp: 0, Bid: 0, Clear: cpm(0.01), Charge: cpm(0.01)}},
				statuses: []Status{Won}, reasons: []Reason{ReasonNone}, losses: []int{0},
			},
		},
		{
			name:    "the price is never above the winner's bid (second within a cent)",
			req:     Request{Currency: "USD", Imps: oneImp(0.5)},
			bidders: two,
			bids:    []Bid{{Bidder: 0, ImpID: "1", Price: cpm(1.000)}, {Bidder: 1, ImpID: "1", Price: cpm(0.995)}},
			want: want{
				wins:     []Win{{Imp: 0, Bid: 0, Clear: cpm(1.00), Charge: cpm(1.00), Second: cpm(0.995)}},
				statuses: []Status{Won, Lost}, reasons: []Reason{ReasonNone, ReasonOutbid}, losses: []int{0, 102},
			},
		},
		{
			name:    "a tiny bid without floor clears at its own price, not 0.01",
			req:     Request{Currency: "USD", Imps: oneImp(0)},
			bidders: two,
			bids:    []Bid{{Bidder: 0, ImpID: "1", Price: 5000}},
			want: want{
				wins:     []Win{{Imp: 0, Bid: 0, Clear: 5000, Charge: 5000}},
				statuses: []Status{Won}, reasons: []Reason{ReasonNone}, losses: []int{0},
			},
		},
		{
			name:    "below floor is rejected with loss code 100; floor equal is fine",
			req:     Request{Currency: "USD", Imps: oneImp(1)},
			bidders: two,
			bids:    []Bid{{Bidder: 0, ImpID: "1", Price: cpm(0.99)}, {Bidder: 1, ImpID: "1", Price: cpm(1)}},
			want: want{
				wins:     []Win{{Imp: 0, Bid: 1, Clear: cpm(1), Charge: cpm(1)}},
				statuses: []Status{Rejected, Won}, reasons: []Reason{ReasonBelowFloor, ReasonNone}, losses: []int{100, 0},
			},
		},
		{
			name: "the bid adjustment ranks, the charge undoes it",
			req:  Request{Currency: "USD", Imps: oneImp(0.5)},
			bidders: []Bidder{
				{Name: "a", Adjustment: AdjustmentFromFloat(0.8)}, // 1.50 -> 1.20
				{Name: "b", Adjustment: NoAdjustment},             // 1.25
				{Name: "c", Adjustment: AdjustmentFromFloat(0.5)}, // 2.00 -> 1.00
			},
			bids: []Bid{{Bidder: 0, ImpID: "1", Price: cpm(1.5)}, {Bidder: 1, ImpID: "1", Price: cpm(1.25)}, {Bidder: 2, ImpID: "1", Price: cpm(2)}},
			want: want{
				wins:     []Win{{Imp: 0, Bid: 1, Clear: cpm(1.21), Charge: cpm(1.21), Second: cpm(1.2)}},
				statuses: []Status{Lost, Won, Lost}, reasons: []Reason{ReasonOutbid, ReasonNone, ReasonOutbid}, losses: []int{102, 0, 102},
			},
		},
		{
			name:    "an adjusted winner is charged in its own terms, never above its bid",
			req:     Request{Currency: "USD", Imps: oneImp(0)},
			bidders: []Bidder{{Name: "a", Adjustment: AdjustmentFromFloat(0.5)}, {Name: "b", Adjustment: NoAdjustment}},
			bids:    []Bid{{Bidder: 0, ImpID: "1", Price: cpm(4)}, {Bidder: 1, ImpID: "1", Price: cpm(1)}},
			want: want{
				// adjusted 2.00 beats 1.00; clears at 1.01; charged 1.01 / 0.5 = 2.02
				wins:     []Win{{Imp: 0, Bid: 0, Clear: cpm(1.01), Charge: cpm(2.02), Second: cpm(1)}},
				statuses: []Status{Won, Lost}, reasons: []Reason{ReasonNone, ReasonOutbid}, losses: []int{0, 102},
			},
		},
		{
			name:    "a floor under the adjusted price: adjusted price counts",
			req:     Request{Currency: "USD", Imps: oneImp(1)},
			bidders: []Bidder{{Name: "a", Adjustment: AdjustmentFromFloat(0.5)}},
			bids:    []Bid{{Bidder: 0, ImpID: "1", Price: cpm(1.5)}},
			want:    want{statuses: []Status{Rejected}, reasons: []Reason{ReasonBelowFloor}, losses: []int{100}},
		},
		{
			name:    "currencies convert into the auction currency",
			req:     Request{Currency: "EUR", Imps: oneImp(1)}, // floor 1 EUR
			bidders: two,
			bids: []Bid{
				{Bidder: 0, ImpID: "1", Price: cpm(2), Currency: "USD"},   // 1.60 EUR
				{Bidder: 1, ImpID: "1", Price: cpm(1.5), Currency: "EUR"}, // 1.50 EUR
				{Bidder: 2, ImpID: "1", Price: cpm(200), Currency: "JPY"}, // 1.60 EUR? no: 200*0.01/1.25 = 1.60: ties are seeded
			},
			want: want{
				wins:     []Win{{Imp: 0, Bid: 2, Clear: cpm(1.6), Charge: cpm(1.6), Second: cpm(1.6)}},
				statuses: []Status{Lost, Lost, Won}, reasons: []Reason{ReasonOutbid, ReasonOutbid, ReasonNone}, losses: []int{102, 102, 0},
			},
		},
		{
			name:    "a DSP never sets its own price",
			req:     Request{Currency: "USD", Imps: oneImp(0.1)},
			bidders: two,
			bids:    []Bid{{Bidder: 0, ImpID: "1", Price: cpm(3)}, {Bidder: 0, ImpID: "1", Price: cpm(2.5)}, {Bidder: 1, ImpID: "1", Price: cpm(1)}},
			want: want{
				wins:     []Win{{Imp: 0, Bid: 0, Clear: cpm(1.01), Charge: cpm(1.01), Second: cpm(1)}},
				statuses: []Status{Won, Lost, Lost}, reasons: []Reason{ReasonNone, ReasonOutbid, ReasonOutbid}, losses: []int{0, 102, 102},
			},
		},
		{
			name:    "untrusted answers are rejected",
			req:     Request{Currency: "USD", Cur: []string{"USD", "EUR"}, Imps: oneImp(0)},
			bidders: two,
			bids: []Bid{
				{Bidder: 5, ImpID: "1", Price: cpm(1)},                    // no such DSP
				{Bidder: 0, ImpID: "nope", Price: cpm(1)},                 // no such imp
				{Bidder: 0, ImpID: "1", Price: cpm(-1)},                   // negative
				{Bidder: 0, ImpID: "1", Price: 0},                         // zero
				{Bidder: 0, ImpID: "1", Price: MaxPrice + 1},              // absurd
				{Bidder: 0, ImpID: "1", Price: cpm(1), Currency: "XXX"},   // unknown currency
				{Bidder: 0, ImpID: "1", Price: cpm(100), Currency: "JPY"}, // known, but not allowed by cur
			},
			want: want{
				statuses: []Status{Rejected, Rejected, Rejected, Rejected, Rejected, Rejected, Rejected},
				reasons:  []Reason{ReasonUnknownBidder, ReasonUnknownImp, ReasonPrice, ReasonPrice, ReasonPrice, ReasonCurrency, ReasonCurrency},
				losses:   []int{0, 0, 0, 0, 0, 0, 0},
			},
		},
		{
			name:    "badv blocks the domain and its subdomains, any case",
			req:     Request{Currency: "USD", Imps: oneImp(0), BAdv: []string{"Blocked.example"}},
			bidders: two,
			bids: []Bid{
				{Bidder: 0, ImpID: "1", Price: cpm(5), ADomain: []string{"ok.example", "blocked.example"}},
				{Bidder: 1, ImpID: "1", Price: cpm(4), ADomain: []string{"ads.BLOCKED.example"}},
				{Bidder: 2, ImpID: "1", Price: cpm(1), ADomain: []string{"notblocked.example"}},
			},
			want: want{
				wins:     []Win{{Imp: 0, Bid: 2, Clear: cpm(0.01), Charge: cpm(0.01)}},
				statuses: []Status{Rejected, Rejected, Won}, reasons: []Reason{ReasonBlockedAdvertiser, ReasonBlockedAdvertiser, ReasonNone}, losses: []int{0, 0, 0},
			},
		},
		{
			name:    "wseat and bseat",
			req:     Request{Currency: "USD", Imps: oneImp(0), WSeat: []string{"s1", "s2"}, BSeat: []string{"s2"}},
			bidders: two,
			bids:    []Bid{{Bidder: 0, ImpID: "1", Price: cpm(5), Seat: "s3"}, {Bidder: 1, ImpID: "1", Price: cpm(4), Seat: "s2"}, {Bidder: 2, ImpID: "1", Price: cpm(1), Seat: "s1"}},
			want: want{
				wins:     []Win{{Imp: 0, Bid: 2, Clear: cpm(0.01), Charge: cpm(0.01)}},
				statuses: []Status{Rejected, Rejected, Won}, reasons: []Reason{ReasonBlockedSeat, ReasonBlockedSeat, ReasonNone}, losses: []int{0, 0, 0},
			},
		},
		{
			name:    "several imps are sold separately",
			req:     Request{Currency: "USD", Imps: []Imp{{ID: "a", Floor: cpm(1)}, {ID: "b"}, {ID: "c"}}},
			bidders: two,
			bids:    []Bid{{Bidder: 0, ImpID: "b", Price: cpm(2)}, {Bidder: 1, ImpID: "a", Price: cpm(3)}, {Bidder: 0, ImpID: "a", Price: cpm(2)}},
			want: want{
				wins: []Win{
					{Imp: 0, Bid: 1, Clear: cpm(2.01), Charge: cpm(2.01), Second: cpm(2)},
					{Imp: 1, Bid: 0, Clear: cpm(0.01), Charge: cpm(0.01)},
				},
				statuses: []Status{Won, Won, Lost}, reasons: []Reason{ReasonNone, ReasonNone, ReasonOutbid}, losses: []int{0, 0, 102},
			},
		},
		{
			name:    "no bids, no wins",
			req:     Request{Currency: "USD", Imps: oneImp(0)},
			bidders: two,
		},
	}
	rates := testRates(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var res Result
			Run(&tt.req, tt.bidders, tt.bids, rates, &res)
			var got want
			got.wins = res.Wins
			for _, o := range res.Outcomes {
				got.statuses = append(got.statuses, o.Status)
				got.reasons = append(got.reasons, o.Reason)
				got.losses = append(got.losses, o.LossCode)
			}
			if len(got.wins) == 0 {
				got.wins = nil
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("Run (-want +got):\n%s", diff)
			}
			for _, w := range res.Wins {
				o := res.Outcomes[w.Bid]
				if w.Clear > o.Adjusted || w.Charge > o.Price {
					t.Errorf("win %+v priced above the bid %+v", w, o)
				}
			}
		})
	}
}

func TestTiesAreBrokenBySeed(t *testing.T) {
	bidders := []Bidder{{Name: "a", Adjustment: NoAdjustment}, {Name: "b", Adjustment: NoAdjustment}, {Name: "c", Adjustment: NoAdjustment}}
	bids := []Bid{{Bidder: 0, ImpID: "1", Price: cpm(1)}, {Bidder: 1, ImpID: "1", Price: cpm(1)}, {Bidder: 2, ImpID: "1", Price: cpm(1)}}
	rates := testRates(t)
	wins := map[int]int{}
	var res Result
	for seed := range uint64(3000) {
		req := Request{Currency: "USD", Imps: []Imp{{ID: "1"}}, Seed: seed}
		Run(&req, bidders, bids, rates, &res)
		first := res.Wins[0].Bid
		Run(&req, bidders, bids, rates, &res)
		if res.Wins[0].Bid != first {
			t.Fatalf("seed %d: winner %d then %d: not deterministic", seed, first, res.Wins[0].Bid)
		}
		if res.Wins[0].Clear != cpm(1) {
			t.Fatalf("a tie clears at the tied price, got %v", res.Wins[0].Clear)
		}
		wins[first]++
	}
	for b := range 3 {
		if wins[b] < 850 || wins[b] > 1150 {
			t.Errorf("bid %d won %d of 3000 ties, want about 1000 (fair draw)", b, wins[b])
		}
	}
}

func TestRunDoesNotAllocate(t *testing.T) {
	bidders := make([]Bidder, 8)
	bids := make([]Bid, 8)
	for i := range bidders {
		bidders[i] = Bidder{Name: fmt.Sprint(i), Adjustment: NoAdjustment}
		bids[i] = Bid{Bidder: i, ImpID: "1", Price: cpm(float64(i) + 0.5), Currency: "EUR", ADomain: []string{"a.example"}}
	}
	req := Request{Currency: "USD", Imps: []Imp{{ID: "1", Floor: cpm(0.2)}}, BAdv: []string{"b.example"}}
	rates := testRates(t)
	var res Result
	Run(&req, bidders, bids, rates, &res)
	if n := testing.AllocsPerRun(100, func() { Run(&req, bidders, bids, rates, &res) }); n != 0 {
		t.Errorf("Run allocates %v times per auction, want 0", n)
	}
}

func BenchmarkRun8Bids(b *testing.B) {
	bidders := make([]Bidder, 8)
	bids := make([]Bid, 8)
	for i := range bidders {
		bidders[i] = Bidder{Name: fmt.Sprint(i), Adjustment: NoAdjustment}
		bids[i] = Bid{Bidder: i, ImpID: "1", Price: cpm(float64(i) + 0.5), ADomain: []string{"a.example"}}
	}
	req := Request{Currency: "USD", Imps: []Imp{{ID: "1", Floor: cpm(0.2)}}}
	rates := testRates(b)
	var res Result
	b.ReportAllocs()
	for b.Loop() {
		Run(&req, bidders, bids, rates, &res)
	}
}
