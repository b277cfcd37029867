package wire

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/features"
)

// gatewayRow is a row as the gateway logs it: a sent imp answered with a bid, no true_p.
func gatewayRow() bidlog.Row {
	return bidlog.Row{
		TS: 1764950400123, RequestID: "0f8fad5b-d9cb-469f-a165-70867728950e", ImpID: "1", DSP: "dsp-a",
		Raw: features.Raw{Country: "USA", Region: "CA", DeviceType: "phone", OS: "ios", Browser: "safari",
			Connection: "wifi", Channel: "app", Domain: "com.example.game", Publisher: "pub-1234",
			Category: "IAB9", Format: "320x50", Position: "1", UserID: true, FloorCPM: 0.35,
			HourUTC: 14, DayOfWeek: 5, ImpCount: 1, TMaxMS: 300},
		Decision: bidlog.DecisionSent, Propensity: 1, Score: 0.4213, Threshold: 0.05, ModelVersion: "m-20261205-1",
		Outcome: bidlog.OutcomeBid, BidCPM: 1.27, Won: true, ClearCPM: 0.91, LatencyMS: 42.5,
	}
}

func TestRoundTrip(t *testing.T) {
	p := 0.123
	rows := []bidlog.Row{{}, gatewayRow()}
	sim := gatewayRow()
	sim.TrueP, sim.Won, sim.UserID = &p, false, false
	sim.TS, sim.HourUTC, sim.TMaxMS = -5, math.MaxInt32, math.MinInt32
	sim.Domain = strings.Repeat("é", 300) // a length over one varint byte
	sim.BidCPM = math.Inf(1)
	rows = append(rows, sim)
	for i, r := range rows {
		b := Append(nil, &r)
		if b[0] != Version {
			t.Fatalf("row %d: first byte %d, want version %d", i, b[0], Version)
		}
		var got bidlog.Row
		if err := Decode(b, &got); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		if d := cmp.Diff(r, got); d != "" {
			t.Errorf("row %d round trip (-want +got):\n%s", i, d)
		}
	}
}

// TestSize pins the encoded size of a typical gateway row, the figure docs/SCALE.md uses
// for Kafka bytes a day; a change to the encoding must update both.
func TestSize(t *testing.T) {
	r := gatewayRow()
	n := Size(&r)
	t.Logf("encoded gateway row: %d bytes", n)
	if n != 209 {
		t.Errorf("gateway row encodes to %d bytes; docs/BIDLOG-WIRE.md and docs/SCALE.md say 209", n)
	}
}

func TestCorrupt(t *testing.T) {
	r := gatewayRow()
	p := 0.5
	r.TrueP = &p
	good := Append(nil, &r)
	for n := 0; n < len(good); n++ { // every truncation fails
		var got bidlog.Row
		err := Decode(good[:n], &got)
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d bytes: err %v, want ErrCorrupt", n, err)
		}
		if got.TS != 0 || got.DSP != "" {
			t.Fatalf("truncated to %d bytes: row not cleared: %+v", n, got)
		}
	}
	cases := map[string]struct {
		b    []byte
		want string
	}{
		"version":  {append([]byte{2}, good[1:]...), "version 2"},
		"trailing": {append(append([]byte{}, good...), 0), "1 trailing bytes"},
		"length":   {[]byte{Version, 0, 0xff, 0xff, 0x03}, "field request_id"},
		"varint":   {[]byte{Version, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, "field ts"},
	}
	flags := append([]byte{}, good...)
	flags[flagsOffset(t, &r)] |= 0x80
	cases["flags"] = struct {
		b    []byte
		want string
	}{flags, "unknown bits 0x80"}
	for name, c := range cases {
		var got bidlog.Row
		err := Decode(c.b, &got)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want ErrCorrupt naming %q", name, err, c.want)
		}
	}
}

// flagsOffset is the index of the flags byte in r's encoding.
func flagsOffset(t *testing.T, r *bidlog.Row) int {
	t.Helper()
	b := Append(nil, r)
	// The strings before the flags byte are r's; encode them with an empty tail, whose
	// length from the flags byte on is known (64 bytes), to find where the flags byte is.
	head := Append(nil, &bidlog.Row{TS: r.TS, RequestID: r.RequestID, ImpID: r.ImpID, DSP: r.DSP, Raw: features.Raw{
		Country: r.Country, Region: r.Region, DeviceType: r.DeviceType, OS: r.OS, Browser: r.Browser,
		Connection: r.Connection, Channel: r.Channel, Domain: r.Domain, Publisher: r.Publisher,
		Category: r.Category, Format: r.Format, Position: r.Position}})
	i := len(head) - (1 + 8 + 4 + 1 + 24 + 1 + 1 + 24) // the empty tail from flags on
	if b[i]&flagsKnown == 0 {
		t.Fatalf("byte %d (%#x) is not the flags byte", i, b[i])
	}
	return i
}

func FuzzDecode(f *testing.F) {
	r := gatewayRow()
	f.Add(Append(nil, &r))
	f.Add(Append(nil, &bidlog.Row{}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var got bidlog.Row
		if err := Decode(b, &got); err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		// A record that decodes re-encodes to the same bytes: the encoding is canonical
		// except for non-minimal varints, which Go's decoder refuses past 10 bytes only.
		again := Append(nil, &got)
		var back bidlog.Row
		if err := Decode(again, &back); err != nil {
			t.Fatalf("re-encoding of a decoded record does not decode: %v", err)
		}
		if d := cmp.Diff(got, back, cmp.Comparer(func(a, b float64) bool {
			return math.Float64bits(a) == math.Float64bits(b)
		})); d != "" {
			t.Fatalf("decode(encode(decode(b))) differs (-first +second):\n%s", d)
		}
	})
}
