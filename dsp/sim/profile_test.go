package sim

import (
	"math"
	"strings"
	"testing"
)

const exampleProfiles = "testdata/example.yaml" // a copy of ../shared/sim/example.yaml

func TestLoadExample(t *testing.T) {
	p, err := Load(exampleProfiles)
	if err != nil {
		t.Fatal(err)
	}
	tr := p.Traffic
	if tr.Seed != 1 || tr.Publishers != 5000 || tr.ZipfS != 1.07 || tr.AppShare != 0.4 || tr.UserIDRate != 0.65 {
		t.Errorf("traffic scalars: %+v", tr)
	}
	if len(tr.Country) != 11 || tr.Country[0] != (Share{"AUS", 0.04}) {
		t.Errorf("countries (sorted by value): %v", tr.Country)
	}
	if tr.Floor != (Lognormal{0.40, 0.9}) {
		t.Errorf("floor %+v", tr.Floor)
	}
	if len(tr.ImpsPerRequest) != 3 || tr.ImpsPerRequest[2] != (Share{"3", 0.05}) {
		t.Errorf("imps per request %v", tr.ImpsPerRequest)
	}
	if got := strings.Join(p.Names(), ","); got != "alpha,bravo,charlie,delta,echo,foxtrot" {
		t.Fatalf("DSPs %s", got)
	}
	a := p.DSP("alpha")
	if a.LatencyMedianMS != 35 || a.LatencyP99MS != 120 || a.TimeoutRate != 0.01 || a.ErrorRate != 0.002 ||
		a.QPSLimit != 3000 || a.PriceMedianCPM != 1.10 || a.PriceSigma != 0.6 {
		t.Errorf("alpha: %+v", a)
	}
	if f := p.DSP("foxtrot"); f.pacing[13] != 1 || f.pacing[14] != 0.5 || f.pacing[18] != 0.5 || f.pacing[19] != 1 {
		t.Errorf("foxtrot pacing %v", f.pacing)
	}
	if p.DSP("zulu") != nil {
		t.Error("DSP(unknown) is not nil")
	}
}

// The intent of a known imp, computed by hand from example.yaml.
func TestEvaluateByHand(t *testing.T) {
	p, err := Load(exampleProfiles)
	if err != nil {
		t.Fatal(err)
	}
	usVideo := Attrs{Country: "USA", DeviceType: "phone", OS: "ios", Format: "video", Channel: "app",
		Domain: "com.x", Publisher: "pubX", Hour: 14, UserID: true}
	tests := []struct {
		dsp      string
		a        Attrs
		eligible bool
		intent   float64
		pacing   float64
	}{
		// -3.2 + USA 1.4 + phone 0.4 + video 1.3 + 13-22h 0.6 + user 1.0 + USA&video 0.8
		{"alpha", usVideo, true, 2.3, 1},
		// other OS: outside require
		{"alpha", with(usVideo, func(a *Attrs) { a.OS = "other" }), false, 0, 0},
		// "*" country, native, 3h, no user id: -3.2 - 1.5 + 0.4 - 2.5 - 0.8 - 1.2
		{"alpha", with(usVideo, func(a *Attrs) { a.Country = "FRA"; a.Format = "native"; a.Hour = 3; a.UserID = false }), true, -8.8, 1},
		// -3.0 + user 1.8 + "*" format -0.5 + ios 0.6
		{"bravo", usVideo, true, -1.1, 1},
		{"bravo", with(usVideo, func(a *Attrs) { a.Channel = "site" }), false, 0, 0},
		// -2.5 + "*" device -1.0 + "*" format -1.0 + USA 0.5
		{"charlie", with(usVideo, func(a *Attrs) { a.Channel = "site" }), true, -4.0, 1},
		// -4.5 + video 2.5 + ctv 2.0 + ctv&USA 1.0
		{"delta", with(usVideo, func(a *Attrs) { a.DeviceType = "ctv" }), true, 1.0, 1},
		// -3.0 + 8-20h 0.3
		{"echo", usVideo, true, -2.7, 1},
		{"echo", with(usVideo, func(a *Attrs) { a.Hour = 21 }), true, -3.0, 1},
		// -3.4 + "*" country -2.0 + 13-23h -0.4, paced by half at 14h
		{"foxtrot", usVideo, true, -5.8, 0.5},
		// -3.4 + IND 1.5 + 0-12h 0.8
		{"foxtrot", with(usVideo, func(a *Attrs) { a.Country = "IND"; a.Hour = 9 }), true, -1.1, 1},
	}
	for _, tt := range tests {
		d := p.DSP(tt.dsp)
		ev := d.Evaluate(&tt.a)
		if d.Boosted("publisher", tt.a.Publisher) || d.Boosted("domain", tt.a.Domain) {
			t.Fatalf("%s: the test's publisher is boosted; pick another", tt.dsp)
		}
		if ev.Eligible != tt.eligible {
			t.Errorf("%s %+v: eligible %v, want %v", tt.dsp, tt.a, ev.Eligible, tt.eligible)
			continue
		}
		if !tt.eligible {
			if ev.PBid != 0 || ev.TrueP != 0 {
				t.Errorf("%s: ineligible imp has P(bid) %g", tt.dsp, ev.PBid)
			}
			continue
		}
		if math.Abs(ev.Intent-tt.intent) > 1e-9 {
			t.Errorf("%s %+v: intent %g, want %g", tt.dsp, tt.a, ev.Intent, tt.intent)
		}
		want := sigmoid(tt.intent) * tt.pacing // floor 0: the price always reaches it
		if math.Abs(ev.PBid-want) > 1e-12 || math.Abs(ev.TrueP-want*(1-d.TimeoutRate-d.ErrorRate)) > 1e-12 {
			t.Errorf("%s: P(bid) %g, true_p %g; want %g and %g", tt.dsp, ev.PBid, ev.TrueP, want, want*(1-d.TimeoutRate-d.ErrorRate))
		}
	}
}

func TestAffinityAndFloorTerms(t *testing.T) {
	p, err := Load(exampleProfiles)
	if err != nil {
		t.Fatal(err)
	}
	alpha := p.DSP("alpha")
	var boosted, plain string
	for i := 0; boosted == "" || plain == ""; i++ {
		pub := "pub" + string(rune('a'+i%26)) + strings.Repeat("x", i/26)
		if alpha.Boosted("publisher", pub) {
			boosted = pub
		} else {
			plain = pub
		}
	}
	a := Attrs{Country: "USA", DeviceType: "phone", OS: "ios", Format: "300x250", Channel: "site", Hour: 10, UserID: true}
	a.Publisher = plain
	base := alpha.Evaluate(&a)
	a.Publisher = boosted
	if got := alpha.Evaluate(&a).Intent - base.Intent; math.Abs(got-2.0) > 1e-12 {
		t.Errorf("affinity adds %g to the intent, want the boost 2.0", got)
	}
	// The floor enters through P(price >= floor): at the median price, one half.
	a.Floor = alpha.PriceMedianCPM
	if got := alpha.Evaluate(&a).PBid / sigmoid(alpha.Evaluate(&a).Intent); math.Abs(got-0.5) > 1e-12 {
		t.Errorf("P(price >= median) = %g, want 0.5", got)
	}
}

// A valid file that each bad case breaks in one place.
const goodTraffic = `traffic:
  seed: 1
  publishers: 100
  zipf_s: 1.0
  app_share: 0.4
  country: {USA: 0.6, GBR: 0.4}
  device_type: {phone: 0.7, desktop: 0.3}
  os: {android: 0.5, ios: 0.3, windows: 0.2}
  format: {"300x250": 0.5, video: 0.5}
  floor: {median_cpm: 0.4, sigma: 0.9}
  user_id_rate: 0.5
  imps_per_request: {1: 0.9, 2: 0.1}
`

func TestParseMinimalDSP(t *testing.T) {
	p, err := Parse([]byte(goodTraffic + "dsps:\n  - name: solo\n    price: {median_cpm: 1, sigma: 0.5}\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := p.DSPs[0]
	// Everything absent is 0 (intent) or neutral (pacing 1, no latency, no limit).
	ev := d.Evaluate(&Attrs{Hour: 5})
	if ev.Intent != 0 || ev.PBid != 0.5 || d.QPSLimit != 0 || d.LatencyMedianMS != 0 {
		t.Errorf("minimal DSP: %+v, %+v", ev, d)
	}
}

func TestBadProfiles(t *testing.T) {
	dsp := func(body string) string {
		return goodTraffic + "dsps:\n  - name: alpha\n    price: {median_cpm: 1, sigma: 0.5}\n" + body
	}
	tests := []struct {
		name string
		yaml string
		want []string // each must appear in the error
	}{
		{"not yaml", "traffic: [", []string{"parse profiles"}},
		{"empty", "", []string{"empty file"}},
		{"unknown top-level key", goodTraffic + "dsps: []\nextra: 1\n", []string{"profiles: extra: unknown key"}},
		{"no dsps", goodTraffic, []string{"profiles: dsps: missing"}},
		{"empty dsps", goodTraffic + "dsps: []\n", []string{"dsps: must list at least one DSP"}},
		{"unknown traffic key", strings.Replace(goodTraffic, "seed: 1", "sed: 1", 1), []string{"traffic: sed: unknown key"}},
		{"missing publishers", strings.Replace(goodTraffic, "  publishers: 100\n", "", 1), []string{"traffic: publishers: missing"}},
		{"app share above 1", strings.Replace(goodTraffic, "app_share: 0.4", "app_share: 1.4", 1), []string{"traffic: app_share: must be in [0, 1], have 1.4"}},
		{"user id rate negative", strings.Replace(goodTraffic, "user_id_rate: 0.5", "user_id_rate: -0.1", 1), []string{"traffic: user_id_rate: must be in [0, 1], have -0.1"}},
		{"shares not summing to 1", strings.Replace(goodTraffic, "GBR: 0.4", "GBR: 0.3", 1), []string{"traffic: country: shares sum to 0.9, want 1"}},
		{"share above 1", strings.Replace(goodTraffic, "USA: 0.6, GBR: 0.4", "USA: 1.6, GBR: -0.6", 1), []string{"traffic: country.USA: must be in [0, 1], have 1.6", "traffic: country.GBR: must be in [0, 1], have -0.6"}},
		{"lower-case country", strings.Replace(goodTraffic, "GBR: 0.4", "gbr: 0.4", 1), []string{`traffic: country.gbr: "gbr" is not an upper-case ISO alpha-3 country code`}},
		{"unknown device type", strings.Replace(goodTraffic, "desktop: 0.3", "laptop: 0.3", 1), []string{`traffic: device_type.laptop: "laptop" is not one of phone, tablet, desktop, ctv, other`}},
		{"bad format", strings.Replace(goodTraffic, "video: 0.5", "300by250: 0.5", 1), []string{`traffic: format.300by250: "300by250" is not WxH, video, native or audio`}},
		{"negative floor sigma", strings.Replace(goodTraffic, "sigma: 0.9", "sigma: -0.9", 1), []string{"traffic: floor.sigma: must not be negative, have -0.9"}},
		{"zero floor median", strings.Replace(goodTraffic, "median_cpm: 0.4", "median_cpm: 0", 1), []string{"traffic: floor.median_cpm: must be positive, have 0"}},
		{"bad imps count", strings.Replace(goodTraffic, "2: 0.1", "0: 0.1", 1), []string{`traffic: imps_per_request.0: "0" is not a number of imps in 1-20`}},
		{"publishers not a number", strings.Replace(goodTraffic, "publishers: 100", "publishers: many", 1), []string{`traffic: publishers: must be an integer, have "many"`}},
		{"unknown dsp key", dsp("    colour: red\n"), []string{`dsp "alpha": colour: unknown key (allowed: name, latency_ms`}},
		{"missing name", goodTraffic + "dsps:\n  - price: {median_cpm: 1, sigma: 0.5}\n", []string{"dsps[0]: name: missing"}},
		{"bad name", goodTraffic + "dsps:\n  - name: a/b\n    price: {median_cpm: 1, sigma: 0.5}\n", []string{`dsps[0]: name: "a/b" must be 1-64 letters`}},
		{"duplicate name", dsp("  - name: alpha\n    price: {median_cpm: 1, sigma: 0.5}\n"), []string{`dsp "alpha": name: duplicate of dsps[0]`}},
		{"missing price", goodTraffic + "dsps:\n  - name: alpha\n", []string{`dsp "alpha": price: missing`}},
		{"negative price sigma", goodTraffic + "dsps:\n  - name: alpha\n    price: {median_cpm: 1, sigma: -0.6}\n", []string{`dsp "alpha": price.sigma: must not be negative, have -0.6`}},
		{"p99 below median", dsp("    latency_ms: {median: 50, p99: 20}\n"), []string{`dsp "alpha": latency_ms.p99: 20 is below the median 50`}},
		{"timeout rate above 1", dsp("    timeout_rate: 1.5\n"), []string{`dsp "alpha": timeout_rate: must be in [0, 1], have 1.5`}},
		{"rates summing above 1", dsp("    timeout_rate: 0.6\n    error_rate: 0.6\n"), []string{`dsp "alpha": error_rate: timeout_rate + error_rate is 1.2, more than 1`}},
		{"negative qps limit", dsp("    qps_limit: -5\n"), []string{`dsp "alpha": qps_limit: must be in [0, 100000000], have -5`}},
		{"unknown intent feature", dsp("    intent: {colour: {red: 1}}\n"), []string{`dsp "alpha": intent.colour: unknown key`}},
		{"intent term not a number", dsp("    intent: {country: {USA: high}}\n"), []string{`dsp "alpha": intent.country.USA: must be a number, have "high"`}},
		{"intent value never produced", dsp("    intent: {device_type: {phnoe: 1}}\n"), []string{`dsp "alpha": intent.device_type.phnoe: "phnoe" is not one of phone`}},
		{"hour range reversed", dsp("    intent: {hour_utc: {\"22-3\": 1}}\n"), []string{`dsp "alpha": intent.hour_utc.22-3: hour range "22-3": start after end`}},
		{"hour out of range", dsp("    intent: {hour_utc: {\"20-24\": 1}}\n"), []string{`dsp "alpha": intent.hour_utc.20-24: hour range "20-24": hour 24 outside 0-23`}},
		{"hour not a number", dsp("    intent: {hour_utc: {\"noon\": 1}}\n"), []string{`dsp "alpha": intent.hour_utc.noon: hour range "noon": "noon" is not an hour`}},
		{"overlapping hours", dsp("    intent: {hour_utc: {\"0-5\": 1, \"5-8\": 2}}\n"), []string{`dsp "alpha": intent.hour_utc.5-8: hour range "5-8" overlaps "0-5" at hour 5`}},
		{"user id not boolean", dsp("    intent: {user_id: {maybe: 1}}\n"), []string{`dsp "alpha": intent.user_id.maybe: "maybe" is not true or false`}},
		{"affinity share outside [0,1]", dsp("    intent:\n      affinity: [{feature: publisher, share: 1.5, boost: 2}]\n"), []string{`dsp "alpha": intent.affinity[0].share: must be in [0, 1], have 1.5`}},
		{"affinity on hours", dsp("    intent:\n      affinity: [{feature: hour_utc, share: 0.5, boost: 2}]\n"), []string{`dsp "alpha": intent.affinity[0].feature: "hour_utc" is not a categorical feature`}},
		{"affinity without boost", dsp("    intent:\n      affinity: [{feature: domain, share: 0.5}]\n"), []string{`dsp "alpha": intent.affinity[0].boost: missing`}},
		{"affinity unknown key", dsp("    intent:\n      affinity: [{feature: domain, share: 0.5, boost: 1, salt: 3}]\n"), []string{`dsp "alpha": intent.affinity[0].salt: unknown key`}},
		{"interaction unknown feature", dsp("    intent:\n      interactions: [{if: {planet: mars}, add: 1}]\n"), []string{`dsp "alpha": intent.interactions[0].if.planet: unknown feature`}},
		{"interaction without add", dsp("    intent:\n      interactions: [{if: {country: USA}}]\n"), []string{`dsp "alpha": intent.interactions[0].add: missing`}},
		{"interaction empty if", dsp("    intent:\n      interactions: [{if: {}, add: 1}]\n"), []string{`dsp "alpha": intent.interactions[0].if: must name at least one feature`}},
		{"require not a list", dsp("    require: {os: ios}\n"), []string{`dsp "alpha": require.os: must be a list`}},
		{"require empty list", dsp("    require: {os: []}\n"), []string{`dsp "alpha": require.os: empty list: the DSP would never bid`}},
		{"require unknown value", dsp("    require: {channel: [web]}\n"), []string{`dsp "alpha": require.channel: "web" is not one of site, app, dooh`}},
		{"require unknown feature", dsp("    require: {browser: [chrome]}\n"), []string{`dsp "alpha": require.browser: unknown feature`}},
		{"pacing above 1", dsp("    pacing: {hour_utc: {\"0-23\": 1.5}}\n"), []string{`dsp "alpha": pacing.hour_utc.0-23: must be in [0, 1], have 1.5`}},
		{"pacing on another feature", dsp("    pacing: {country: {USA: 0.5}}\n"), []string{`dsp "alpha": pacing.country: unknown key (allowed: hour_utc)`}},
		{"pacing bad hours", dsp("    pacing: {hour_utc: {\"5-25\": 0.5}}\n"), []string{`dsp "alpha": pacing.hour_utc.5-25: hour range "5-25": hour 25 outside 0-23`}},
		{"every problem at once", dsp("    colour: red\n    timeout_rate: 2\n    intent: {hour_utc: {\"9-8\": 1}}\n"), []string{
			`dsp "alpha": colour: unknown key`, `dsp "alpha": timeout_rate: must be in [0, 1]`, `dsp "alpha": intent.hour_utc.9-8`}},
		{"line numbers", dsp("    colour: red\n"), []string{"(line 16)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatalf("accepted:\n%s", tt.yaml)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not say\n%s", err, w)
				}
			}
		})
	}
}

func with(a Attrs, f func(*Attrs)) Attrs {
	f(&a)
	return a
}
