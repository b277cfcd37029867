package auction

import "testing"

func TestExpand(t *testing.T) {
	m := &Macros{
		AuctionID: "req 1", BidID: "b1", ImpID: "imp-1", SeatID: "seat&1", AdID: "ad9",
		Price: 910_000, Currency: "USD", Loss: 102,
	}
	tests := []struct {
		name   string
		in     string
		escape bool
		want   string
	}{
		{"no macro", "https://n.example/win?x=1", true, "https://n.example/win?x=1"},
		{"every macro in a URL, escaped",
			"https://n.example/w?a=${AUCTION_ID}&b=${AUCTION_BID_ID}&i=${AUCTION_IMP_ID}&s=${AUCTION_SEAT_ID}&ad=${AUCTION_AD_ID}&p=${AUCTION_PRICE}&c=${AUCTION_CURRENCY}&l=${AUCTION_LOSS}",
			true,
			"https://n.example/w?a=req+1&b=b1&i=imp-1&s=seat%261&ad=ad9&p=0.91&c=USD&l=102"},
		{"markup is not escaped", `<img src="x?p=${AUCTION_PRICE}&s=${AUCTION_SEAT_ID}">`, false, `<img src="x?p=0.91&s=seat&1">`},
		{"repeated", "${AUCTION_PRICE}/${AUCTION_PRICE}", false, "0.91/0.91"},
		{"unknown macro kept", "x${AUCTION_MBR}y${AUCTION_PRICE}", false, "x${AUCTION_MBR}y0.91"},
		{"unterminated", "x${AUCTION_PRICE", false, "x${AUCTION_PRICE"},
		{"adjacent", "${AUCTION_ID}${AUCTION_IMP_ID}", false, "req 1imp-1"},
		{"empty", "", true, ""},
		{"dollar alone", "$5 ${", false, "$5 ${"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Expand(tt.in, m, tt.escape); got != tt.want {
				t.Errorf("Expand(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	if got := Expand("l=${AUCTION_LOSS}", &Macros{}, true); got != "l=" {
		t.Errorf("a win's loss code expands to %q, want empty", got)
	}
	if n := testing.AllocsPerRun(100, func() { Expand("https://n.example/win", m, true) }); n != 0 {
		t.Errorf("Expand without macros allocates %v times", n)
	}
}
