package stats

import (
	"encoding/json"
	"time"
)

// Load is the gateway's edge over Window: the auctions that reached it and those it shed
// for load (refused before any decision, see the gateway's overload control), by reason.
//
// As JSON (the admin API): window_seconds, auctions, shed (by reason), shed_share and
// inflight.
type Load struct {
	Window   time.Duration    `json:"-"`
	Auctions int64            `json:"auctions"` // auctions that reached the gateway, shed ones included
	Shed     map[string]int64 `json:"shed"`     // shed auctions by reason
	Inflight int64            `json:"inflight"` // auctions being served now
}

// ShedTotal is the number of auctions shed, all reasons.
func (l *Load) ShedTotal() int64 {
	var n int64
	for _, v := range l.Shed {
		n += v
	}
	return n
}

// ShedShare is the share of the auctions shed, 0 when none came.
func (l *Load) ShedShare() float64 {
	if l.Auctions <= 0 {
		return 0
	}
	return float64(l.ShedTotal()) / float64(l.Auctions)
}

// MarshalJSON writes the figures as the admin API shows them (see [Load]).
func (l Load) MarshalJSON() ([]byte, error) {
	type fields Load
	return json.Marshal(struct {
		WindowSeconds float64 `json:"window_seconds"`
		fields
		ShedShare float64 `json:"shed_share"`
	}{l.Window.Seconds(), fields(l), l.ShedShare()})
}
