package sim

import (
	"math"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/prebid/openrtb/v19/adcom1"
	"github.com/prebid/openrtb/v19/openrtb2"
)

func mustLoad(t testing.TB) *Profiles {
	t.Helper()
	p, err := Load(exampleProfiles)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// within reports whether k successes in n trials are within z standard errors of rate p.
func within(k, n int, p, z float64) bool {
	sd := math.Sqrt(float64(n) * p * (1 - p))
	return math.Abs(float64(k)-float64(n)*p) <= z*sd+1e-9
}

func TestDrawRequestRatesAndLatency(t *testing.T) {
	const n = 200000
	for _, d := range mustLoad(t).DSPs {
		var timeouts, errs int
		var lats []float64
		for i := range n {
			fate, lat := d.DrawRequest(7, "req-"+strconv.Itoa(i), 100000)
			switch fate {
			case TimedOut:
				timeouts++
				if lat != 100000 {
					t.Fatalf("%s: a timeout's latency is %g, want the tmax", d.Name, lat)
				}
			case Failed:
				errs++
			default:
				lats = append(lats, lat)
			}
		}
		// 99.9% bounds, for 12 checks.
		if !within(timeouts, n, d.TimeoutRate, 3.3) || !within(errs, n, d.ErrorRate, 3.3) {
			t.Errorf("%s: %d timeouts and %d errors in %d, want rates %g and %g", d.Name, timeouts, errs, n, d.TimeoutRate, d.ErrorRate)
		}
		sort.Float64s(lats)
		med, p99 := lats[len(lats)/2], lats[len(lats)*99/100]
		if math.Abs(med/d.LatencyMedianMS-1) > 0.02 || math.Abs(p99/d.LatencyP99MS-1) > 0.05 {
			t.Errorf("%s: latency median %.1f, p99 %.1f; profile %g, %g", d.Name, med, p99, d.LatencyMedianMS, d.LatencyP99MS)
		}
	}
}

func TestAnsweredLatencyStaysUnderTheDeadline(t *testing.T) {
	delta := mustLoad(t).DSP("delta") // p99 220 ms, above a 150 ms tmax
	late := 0
	for i := range 20000 {
		fate, lat := delta.DrawRequest(1, strconv.Itoa(i), 150)
		if fate == Answered && lat > latencyCap*150 {
			late++
		}
	}
	if late > 0 {
		t.Errorf("%d answered requests past %g ms", late, latencyCap*150)
	}
}

func TestDrawBid(t *testing.T) {
	p := mustLoad(t)
	const n = 100000
	for _, d := range p.DSPs {
		a := Attrs{Country: "USA", DeviceType: "ctv", OS: "android", Format: "video", Channel: "site",
			Domain: "news.example", Publisher: "pub1", Hour: 15, UserID: true, Floor: 0.9}
		if d.Name == "bravo" {
			a.Channel = "app"
		}
		ev := d.Evaluate(&a)
		bids := 0
		var prices []float64
		for i := range n {
			price, ok := d.DrawBid(3, "r"+strconv.Itoa(i), "1", &a, &ev)
			if !ok {
				continue
			}
			bids++
			if price < a.Floor {
				t.Fatalf("%s bid %g under the floor %g", d.Name, price, a.Floor)
			}
			prices = append(prices, price)
			// Pure function of its inputs.
			if again, _ := d.DrawBid(3, "r"+strconv.Itoa(i), "1", &a, &ev); again != price {
				t.Fatalf("%s: the same draw gave %g then %g", d.Name, price, again)
			}
		}
		if !within(bids, n, ev.PBid, 3.3) {
			t.Errorf("%s: %d bids in %d, want P(bid) %.4f", d.Name, bids, n, ev.PBid)
		}
		// Bids are the prices above the floor: their median is the conditional median.
		if len(prices) > 1000 {
			sort.Float64s(prices)
			q := 1 - d.pAbove(a.Floor)/2 // the median of the price given price >= floor
			want := math.Exp(d.priceMu + d.PriceSigma*math.Sqrt2*math.Erfinv(2*q-1))
			if got := prices[len(prices)/2]; math.Abs(got/want-1) > 0.05 {
				t.Errorf("%s: median bid %.3f, want %.3f", d.Name, got, want)
			}
		}
	}
}

func TestDrawsAreIndependentAcrossKeys(t *testing.T) {
	d := mustLoad(t).DSP("echo")
	a := Attrs{Hour: 12}
	ev := d.Evaluate(&a)
	ev.Intent = 0 // want with probability 1/2
	same := 0
	for i := range 10000 {
		r := strconv.Itoa(i)
		_, b1 := d.DrawBid(1, r, "1", &a, &ev)
		_, b2 := d.DrawBid(1, r, "2", &a, &ev)
		_, b3 := d.DrawBid(2, r, "1", &a, &ev)
		if b1 == b2 {
			same++
		}
		if b1 == b3 {
			same++
		}
	}
	// Independent fair coins agree half the time.
	if !within(same, 20000, 0.5, 4) {
		t.Errorf("draws for different imps or seeds agree %d times in 20000", same)
	}
}

func TestParseAttrs(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	now := time.Date(2024, 1, 1, 17, 59, 0, 0, time.FixedZone("CET", 3600)) // 16h UTC
	tests := []struct {
		name string
		req  openrtb2.BidRequest
		want Attrs
	}{
		{"site banner", openrtb2.BidRequest{
			Site:   &openrtb2.Site{Domain: "WWW.News.Example", Publisher: &openrtb2.Publisher{ID: "p1"}},
			Device: &openrtb2.Device{Geo: &openrtb2.Geo{Country: "usa"}, DeviceType: adcom1.DevicePC, OS: "Windows"},
			User:   &openrtb2.User{BuyerUID: "b"},
			Imp:    []openrtb2.Imp{{ID: "1", Banner: &openrtb2.Banner{Format: []openrtb2.Format{{W: 300, H: 250}, {W: 320, H: 50}}}, BidFloor: 0.5}},
		}, Attrs{Country: "USA", DeviceType: "desktop", OS: "windows", Format: "300x250", Channel: "site",
			Domain: "news.example", Publisher: "p1", Hour: 16, UserID: true, Floor: 0.5}},
		{"app video", openrtb2.BidRequest{
			App:    &openrtb2.App{Bundle: "com.Game", Publisher: &openrtb2.Publisher{ID: "p2"}},
			Device: &openrtb2.Device{DeviceType: adcom1.DeviceTV, OS: "Android TV", IFA: "x"},
			User:   &openrtb2.User{Geo: &openrtb2.Geo{Country: "gbr"}},
			Imp:    []openrtb2.Imp{{ID: "1", Video: &openrtb2.Video{MIMEs: []string{"video/mp4"}}}},
		}, Attrs{Country: "GBR", DeviceType: "ctv", OS: "android", Format: "video", Channel: "app",
			Domain: "com.game", Publisher: "p2", Hour: 16, UserID: true}},
		{"banner w/h, iPadOS tablet, no user", openrtb2.BidRequest{
			Site:   &openrtb2.Site{},
			Device: &openrtb2.Device{DeviceType: adcom1.DeviceTablet, OS: "iPadOS"},
			Imp:    []openrtb2.Imp{{ID: "1", Banner: &openrtb2.Banner{W: i64(728), H: i64(90)}}},
		}, Attrs{DeviceType: "tablet", OS: "ios", Format: "728x90", Channel: "site", Hour: 16}},
		{"native, no device", openrtb2.BidRequest{
			Imp: []openrtb2.Imp{{ID: "1", Native: &openrtb2.Native{Request: "{}"}, BidFloor: -1}},
		}, Attrs{DeviceType: "other", OS: "other", Format: "native", Hour: 16}},
		{"mobile/tablet code, macOS", openrtb2.BidRequest{
			Device: &openrtb2.Device{DeviceType: adcom1.DeviceMobile, OS: "Mac OS X"},
			Imp:    []openrtb2.Imp{{ID: "1", Audio: &openrtb2.Audio{}}},
		}, Attrs{DeviceType: "phone", OS: "macos", Format: "audio", Hour: 16}},
	}
	for _, tt := range tests {
		if got := ParseAttrs(&tt.req, &tt.req.Imp[0], now); got != tt.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.name, got, tt.want)
		}
	}
}

func BenchmarkEvaluateAndDraw(b *testing.B) {
	p := mustLoad(b)
	a := Attrs{Country: "USA", DeviceType: "phone", OS: "ios", Format: "video", Channel: "app",
		Domain: "com.x", Publisher: "pub00042", Hour: 14, UserID: true, Floor: 0.4}
	b.ReportAllocs()
	for b.Loop() {
		for _, d := range p.DSPs {
			ev := d.Evaluate(&a)
			d.DrawBid(1, "0123456789abcdef0123456789abcdef", "1", &a, &ev)
		}
	}
}
