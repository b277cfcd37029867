package traffic

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/dsp/sim"
	"github.com/bidsieve/bidsieve/dsp/sim/simtest"
	"github.com/bidsieve/bidsieve/features"
	"github.com/prebid/openrtb/v19/openrtb2"
)

// validate applies the checks a gateway makes on an inbound request.
func validate(req *openrtb2.BidRequest) string {
	if req.ID == "" {
		return "no id"
	}
	if len(req.Imp) == 0 {
		return "no imps"
	}
	if (req.Site == nil) == (req.App == nil) {
		return "exactly one of site and app"
	}
	if len(req.Cur) != 1 || req.Cur[0] != "USD" {
		return "cur is not [USD]"
	}
	if req.TMax <= 0 {
		return "no tmax"
	}
	seen := map[string]bool{}
	for _, imp := range req.Imp {
		if imp.ID == "" || seen[imp.ID] {
			return "missing or repeated imp id " + imp.ID
		}
		seen[imp.ID] = true
		media := 0
		if b := imp.Banner; b != nil {
			media++
			if len(b.Format) == 0 || b.Format[0].W <= 0 || b.Format[0].H <= 0 {
				return "banner without a size"
			}
		}
		if v := imp.Video; v != nil {
			media++
			if len(v.MIMEs) == 0 {
				return "video without mimes"
			}
		}
		if n := imp.Native; n != nil {
			media++
			if !json.Valid([]byte(n.Request)) {
				return "native request is not JSON"
			}
		}
		if a := imp.Audio; a != nil {
			media++
			if len(a.MIMEs) == 0 {
				return "audio without mimes"
			}
		}
		if media != 1 {
			return "imp " + imp.ID + " has " + strconv.Itoa(media) + " media objects"
		}
		if imp.BidFloor < 0 || math.IsNaN(imp.BidFloor) || imp.BidFloorCur != "USD" {
			return "bad floor"
		}
	}
	if req.Device == nil || req.Device.Geo == nil || req.Device.UA == "" {
		return "no device, geo or user agent"
	}
	return ""
}

func TestRequestsAreValidOpenRTB(t *testing.T) {
	for _, file := range []string{simtest.ExamplePath(), "../testdata/unseen.yaml"} {
		p, err := sim.Load(file)
		if err != nil {
			t.Fatal(err)
		}
		g := New(p.Traffic, 1)
		ids := map[string]bool{}
		for i := range 10000 {
			req := g.Next()
			if msg := validate(req); msg != "" {
				t.Fatalf("%s, request %d: %s", file, i, msg)
			}
			if ids[req.ID] {
				t.Fatalf("%s, request %d: id %s repeated", file, i, req.ID)
			}
			ids[req.ID] = true
			// A JSON round trip keeps it valid and equal.
			b, err := json.Marshal(req)
			if err != nil {
				t.Fatal(err)
			}
			var back openrtb2.BidRequest
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(&back, req) {
				t.Fatalf("%s, request %d changes in a JSON round trip:\n%s", file, i, b)
			}
		}
	}
}

// TestMarginalsFollowTheProfile checks that the traffic mix follows the configured shares
// (as seen by the gateway's feature extractor), within tolerances that leave room for the
// publishers' heterogeneity.
func TestMarginalsFollowTheProfile(t *testing.T) {
	p := simtest.LoadExample(t)
	tr := p.Traffic
	g := New(tr, 2)
	const n = 100000
	counts := map[string]map[string]float64{"country": {}, "device_type": {}, "format": {}, "imps": {}, "channel": {}}
	uid, imps := 0.0, 0.0
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	for range n {
		req := g.Next()
		counts["imps"][strconv.Itoa(len(req.Imp))]++
		f := features.Extract(req, &req.Imp[0], now, nil)
		counts["country"][f.Country]++
		counts["device_type"][f.DeviceType]++
		counts["channel"][f.Channel]++
		if f.UserID {
			uid++
		}
		for i := range req.Imp {
			counts["format"][features.FormatName(&req.Imp[i])]++
			imps++
		}
	}
	check := func(name string, shares []sim.Share, total, tol float64) {
		for _, s := range shares {
			got := counts[name][s.Value] / total
			if math.Abs(got-s.Weight) > tol {
				t.Errorf("%s %s: share %.3f, profile says %.3f (tolerance %.2f)", name, s.Value, got, s.Weight, tol)
			}
		}
	}
	check("country", tr.Country, n, 0.03)
	check("device_type", tr.DeviceType, n, 0.04)
	check("format", tr.Format, imps, 0.06)
	check("imps", tr.ImpsPerRequest, n, 0.01)
	if got := uid / n; math.Abs(got-tr.UserIDRate) > 0.01 {
		t.Errorf("user id rate %.3f, want %.3f", got, tr.UserIDRate)
	}
	t.Logf("channel mix: %v (apps are %.0f%% of publishers)", counts["channel"], 100*tr.AppShare)
}

func TestUniverseDependsOnTrafficSeedOnly(t *testing.T) {
	p := simtest.LoadExample(t)
	a, b := New(p.Traffic, 1), New(p.Traffic, 99)
	if !reflect.DeepEqual(a.Publishers(), b.Publishers()) {
		t.Fatal("different request seeds gave different publishers")
	}
	if ra, rb := a.Next(), b.Next(); ra.ID == rb.ID {
		t.Fatal("different request seeds gave the same request")
	}
	other := p.Traffic
	other.Seed++
	if reflect.DeepEqual(a.Publishers(), New(other, 1).Publishers()) {
		t.Fatal("a different traffic.seed gave the same publishers")
	}
	// The same seeds give the same requests.
	c := New(p.Traffic, 1)
	a = New(p.Traffic, 1)
	for range 100 {
		if !reflect.DeepEqual(a.Next(), c.Next()) {
			t.Fatal("the same seeds gave different requests")
		}
	}
}

func TestPublishersAreHeterogeneous(t *testing.T) {
	p := simtest.LoadExample(t)
	pubs := New(p.Traffic, 1).Publishers()
	if len(pubs) != p.Traffic.Publishers {
		t.Fatalf("%d publishers, want %d", len(pubs), p.Traffic.Publishers)
	}
	countries, devices, apps := map[string]bool{}, map[string]bool{}, 0
	domains := map[string]bool{}
	for i, pub := range pubs {
		countries[pub.Country] = true
		devices[pub.DeviceType] = true
		if pub.App {
			apps++
			if pub.DeviceType == "desktop" {
				t.Errorf("app publisher %s is desktop-first", pub.ID)
			}
		}
		if domains[pub.Domain] {
			t.Errorf("domain %s repeated", pub.Domain)
		}
		domains[pub.Domain] = true
		if len(pub.Formats) < 1 || len(pub.Formats) > 3 {
			t.Errorf("publisher %s has %d formats", pub.ID, len(pub.Formats))
		}
		if i > 0 && pub.Volume > pubs[i-1].Volume {
			t.Fatalf("publishers not by decreasing volume at %d", i)
		}
	}
	if len(countries) != len(p.Traffic.Country) || len(devices) != len(p.Traffic.DeviceType) {
		t.Errorf("home countries %v, device types %v: want every value of the profile", countries, devices)
	}
	if share := float64(apps) / float64(len(pubs)); math.Abs(share-p.Traffic.AppShare) > 0.03 {
		t.Errorf("app share %.3f, want %.2f", share, p.Traffic.AppShare)
	}
	// Zipf: rank 1 carries 2^s times the volume of rank 2.
	if r := pubs[0].Volume / pubs[1].Volume; math.Abs(r-math.Pow(2, p.Traffic.ZipfS)) > 1e-9 {
		t.Errorf("volume ratio of ranks 1 and 2 is %g, want 2^%g", r, p.Traffic.ZipfS)
	}
}

func TestDayTimes(t *testing.T) {
	day := time.Date(2024, 5, 6, 15, 4, 0, 0, time.UTC) // any time of the day
	var prev time.Time
	var perHour [24]int
	n := 0
	for ts := range DayTimes(day, 10001) {
		if ts.Before(prev) {
			t.Fatalf("times not increasing: %v after %v", ts, prev)
		}
		if ts.Day() != 6 {
			t.Fatalf("time %v outside the day", ts)
		}
		prev = ts
		perHour[ts.Hour()]++
		n++
	}
	if n != 10001 {
		t.Fatalf("%d times, want 10001", n)
	}
	curve := DayCurve()
	for h, c := range perHour {
		if math.Abs(float64(c)-curve[h]*10001) > 1 {
			t.Errorf("hour %d: %d requests, curve says %.1f", h, c, curve[h]*10001)
		}
	}
	if perHour[16] < 2*perHour[4] {
		t.Errorf("the day curve is too flat: %d at 16h, %d at 4h", perHour[16], perHour[4])
	}
}

func BenchmarkNext(b *testing.B) {
	g := New(simtest.LoadExample(b).Traffic, 1)
	b.ReportAllocs()
	for b.Loop() {
		g.Next()
	}
}
