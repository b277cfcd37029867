package prebid

import (
	"encoding/json"
	"testing"

	"github.com/bidsieve/bidsieve/gateway/auction"
	"github.com/google/go-cmp/cmp"
)

func micros(t *testing.T, f float64) auction.Micros {
	t.Helper()
	m, ok := auction.FromFloat(f)
	if !ok {
		t.Fatalf("FromFloat(%v)", f)
	}
	return m
}

// TestStandardBuckets: the hb_pb of prices at and around every bound of Prebid's
// documented granularities, including the ones float arithmetic gets wrong (0.3 / 0.1 is
// 2.9999... in floats: Prebid Server writes 0.20 where the documented bucket is 0.30).
func TestStandardBuckets(t *testing.T) {
	tests := []struct {
		g     string
		price float64
		want  string
	}{
		{"low", 0, "0.00"}, {"low", 0.29999, "0.00"}, {"low", 0.5, "0.50"}, {"low", 1.005, "1.00"},
		{"low", 4.99, "4.50"}, {"low", 5.0, "5.00"}, {"low", 5.01, "5.00"}, {"low", 19.999, "5.00"},
		{"medium", 0.29999, "0.20"}, {"medium", 0.3, "0.30"}, {"medium", 1.005, "1.00"}, {"medium", 5.0, "5.00"},
		{"medium", 19.999, "19.90"}, {"medium", 20.0, "20.00"}, {"medium", 20.01, "20.00"}, {"med", 0.71, "0.70"},
		{"high", 0.29999, "0.29"}, {"high", 0.3, "0.30"}, {"high", 1.005, "1.00"}, {"high", 5.0, "5.00"},
		{"high", 19.999, "19.99"}, {"high", 20.01, "20.00"}, {"high", 150, "20.00"},
		{"auto", 0.29999, "0.25"}, {"auto", 1.005, "1.00"}, {"auto", 4.99, "4.95"}, {"auto", 5.0, "5.00"},
		{"auto", 5.07, "5.00"}, {"auto", 9.99, "9.90"}, {"auto", 10.0, "10.00"}, {"auto", 10.49, "10.00"},
		{"auto", 19.999, "19.50"}, {"auto", 20.01, "20.00"},
		{"dense", 0.29999, "0.29"}, {"dense", 1.005, "1.00"}, {"dense", 2.999, "2.99"}, {"dense", 3.0, "3.00"},
		{"dense", 3.07, "3.05"}, {"dense", 5.0, "5.00"}, {"dense", 7.99, "7.95"}, {"dense", 8.0, "8.00"},
		{"dense", 8.49, "8.00"}, {"dense", 19.999, "19.50"}, {"dense", 20.01, "20.00"},
	}
	for _, tt := range tests {
		g, ok := GranularityByName(tt.g)
		if !ok {
			t.Fatalf("no granularity %q", tt.g)
		}
		if got := string(g.AppendBucket(nil, micros(t, tt.price))); got != tt.want {
			t.Errorf("%s %v: hb_pb %q, want %q", tt.g, tt.price, got, tt.want)
		}
	}
}

// TestCustomBuckets: custom ranges count from the previous range's max; precision writes
// as many decimals, rounding half to even when it is coarser than the increment.
func TestCustomBuckets(t *testing.T) {
	custom := Granularity{2, []Range{{1 * auction.MicrosPerUnit, 250_000}, {3 * auction.MicrosPerUnit, 300_000}}}
	tests := []struct {
		name  string
		g     Granularity
		price float64
		want  string
	}{
		{"first range", custom, 0.8, "0.75"},
		{"second range counts from 1", custom, 2.0, "1.90"},
		{"shared bound belongs to the upper range", custom, 1.0, "1.00"},
		{"top bound", custom, 3.0, "2.80"},
		{"above the top: the top", custom, 3.5, "3.00"},
		{"precision 0, half to even down", Granularity{0, Low.Ranges}, 4.5, "4"},
		{"precision 0, half to even up", Granularity{0, Low.Ranges}, 3.5, "4"},
		{"precision 1", Granularity{1, High.Ranges}, 1.27, "1.3"},
		{"precision 3", Granularity{3, Medium.Ranges}, 1.23, "1.200"},
		{"precision 8", Granularity{8, High.Ranges}, 1.23, "1.23000000"},
		{"micro increments", Granularity{6, []Range{{auction.MicrosPerUnit, 1}}}, 0.123456, "0.123456"},
	}
	for _, tt := range tests {
		if got := string(tt.g.AppendBucket(nil, micros(t, tt.price))); got != tt.want {
			t.Errorf("%s: %v gives %q, want %q", tt.name, tt.price, got, tt.want)
		}
	}
	if got := Medium.AppendBucket([]byte("x"), -1); string(got) != "x" {
		t.Errorf("negative price appended %q", got)
	}
	if _, ok := (&Granularity{}).Bucket(1); ok {
		t.Error("a granularity without ranges gave a bucket")
	}
}

// TestParseGranularity: names, the object form and its defaults, and every refusal.
func TestParseGranularity(t *testing.T) {
	tests := []struct {
		in      string
		want    Granularity
		wantErr bool
	}{
		{`"low"`, Low, false},
		{`"medium"`, Medium, false},
		{`"med"`, Medium, false},
		{`"high"`, High, false},
		{`"auto"`, Auto, false},
		{`"dense"`, Dense, false},
		{`{"precision":3,"ranges":[{"min":0,"max":5,"increment":0.05},{"min":7,"max":10,"increment":0.5}]}`,
			Granularity{3, []Range{{5_000_000, 50_000}, {10_000_000, 500_000}}}, false},
		{`{"ranges":[{"max":20,"increment":0.1}]}`, Medium, false},
		{`{"precision":0,"ranges":[{"max":20,"increment":1}]}`, Granularity{0, []Range{{20_000_000, 1_000_000}}}, false},
		{`{"precision":4}`, Medium, false},
		{`{}`, Medium, false},
		{`"fine"`, Granularity{}, true},
		{`{"precision":16,"ranges":[{"max":20,"increment":0.1}]}`, Granularity{}, true},
		{`{"precision":-1,"ranges":[{"max":20,"increment":0.1}]}`, Granularity{}, true},
		{`{"ranges":[{"max":5,"increment":0.1},{"max":5,"increment":0.5}]}`, Granularity{}, true},
		{`{"ranges":[{"max":0,"increment":0.1}]}`, Granularity{}, true},
		{`{"ranges":[{"max":5,"increment":0}]}`, Granularity{}, true},
		{`{"ranges":[{"max":5,"increment":0.0000001}]}`, Granularity{}, true},
		{`{"ranges":[{"max":1e300,"increment":1}]}`, Granularity{}, true},
		{`{"ranges":"x"}`, Granularity{}, true},
		{`7`, Granularity{}, true},
	}
	for _, tt := range tests {
		got, err := ParseGranularity(json.RawMessage(tt.in))
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: error %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: (-want +got)\n%s", tt.in, diff)
		}
	}
}
