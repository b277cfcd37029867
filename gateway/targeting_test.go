package gateway

import (
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/features"
	"github.com/prebid/openrtb/v19/openrtb2"
)

// Targeting reads the channel and the country the features extract, so that a DSP is
// chosen by the same values the model scores and the bid log records.
func TestTargetingMatchesTheRequestsFeatures(t *testing.T) {
	geo := func(country string) *openrtb2.Geo { return &openrtb2.Geo{Country: country} }
	tests := []struct {
		name string
		req  func(r *openrtb2.BidRequest)
		tg   config.Targeting
		want bool
	}{
		{"no terms match everything", func(r *openrtb2.BidRequest) { r.Device = nil }, config.Targeting{}, true},
		{"site for a site buyer", func(*openrtb2.BidRequest) {}, config.Targeting{Channels: []string{"site"}}, true},
		{"site for an app buyer", func(*openrtb2.BidRequest) {}, config.Targeting{Channels: []string{"app"}}, false},
		{"app for an app buyer", func(r *openrtb2.BidRequest) { r.Site, r.App = nil, &openrtb2.App{Bundle: "com.x"} },
			config.Targeting{Channels: []string{"dooh", "app"}}, true},
		{"dooh", func(r *openrtb2.BidRequest) { r.Site, r.DOOH = nil, &openrtb2.DOOH{} }, config.Targeting{Channels: []string{"dooh"}}, true},
		{"no channel for a channel buyer", func(r *openrtb2.BidRequest) { r.Site = nil }, config.Targeting{Channels: []string{"site"}}, false},
		{"device country", func(*openrtb2.BidRequest) {}, config.Targeting{Countries: []string{"GBR", "USA"}}, true},
		{"another country", func(*openrtb2.BidRequest) {}, config.Targeting{Countries: []string{"GBR"}}, false},
		{"country sent in lower case", func(r *openrtb2.BidRequest) { r.Device.Geo = geo(" gbr ") },
			config.Targeting{Countries: []string{"GBR"}}, true},
		{"user country when the device has none", func(r *openrtb2.BidRequest) {
			r.Device.Geo, r.User = nil, &openrtb2.User{Geo: geo("GBR")}
		}, config.Targeting{Countries: []string{"GBR"}}, true},
		{"user country when the device's is blank", func(r *openrtb2.BidRequest) {
			r.Device.Geo, r.User = geo("  "), &openrtb2.User{Geo: geo("GBR")}
		}, config.Targeting{Countries: []string{"GBR"}}, true},
		{"device country before the user's", func(r *openrtb2.BidRequest) { r.User = &openrtb2.User{Geo: geo("GBR")} },
			config.Targeting{Countries: []string{"GBR"}}, false},
		{"no country for a country buyer", func(r *openrtb2.BidRequest) { r.Device = nil }, config.Targeting{Countries: []string{"USA"}}, false},
		{"both terms", func(*openrtb2.BidRequest) {}, config.Targeting{Channels: []string{"site"}, Countries: []string{"USA"}}, true},
		{"one of two terms", func(*openrtb2.BidRequest) {}, config.Targeting{Channels: []string{"app"}, Countries: []string{"USA"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := request("r", 0)
			tt.req(req)
			f := features.Extract(req, &req.Imp[0], time.Unix(0, 0), nil)
			tg := newTargeting(tt.tg)
			if got := tg.matchesRequest(&f); got != tt.want {
				t.Errorf("channel %q, country %q against %+v: match = %v, want %v", f.Channel, f.Country, tt.tg, got, tt.want)
			}
		})
	}
}
