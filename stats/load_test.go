package stats

import (
	"encoding/json"
	"testing"
	"time"
)

func TestLoadShedShare(t *testing.T) {
	l := Load{Window: time.Minute, Auctions: 200, Shed: map[string]int64{"wait": 30, "inflight": 10}, Inflight: 7}
	if got := l.ShedShare(); got != 0.2 {
		t.Errorf("ShedShare = %g, want 0.2 (40 of 200)", got)
	}
	if got := (&Load{}).ShedShare(); got != 0 {
		t.Errorf("ShedShare of nothing = %g, want 0", got)
	}
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"window_seconds":60,"auctions":200,"shed":{"inflight":10,"wait":30},"inflight":7,"shed_share":0.2}`
	if string(b) != want {
		t.Errorf("JSON\n got %s\nwant %s", b, want)
	}
}
