package admin_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/store"
	"github.com/bidsieve/bidsieve/store/storetest"
)

// TestTwoGatewaysOnOnePostgres runs two gateway instances (settings layer, admin API,
// fake gateway) on one PostgreSQL database: a change made through one is in force in the
// other within a second, audited once, and a third instance started later sees it too.
func TestTwoGatewaysOnOnePostgres(t *testing.T) {
	url := storetest.Postgres(t)
	open := func() *env {
		// The default poll interval (500ms): the test shows what production gets.
		st, err := store.OpenPostgres(t.Context(), url, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return newEnvWith(t, baseConfig(t), st)
	}
	a, b := open(), open()
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for _, e := range []*env{a, b} {
		wg.Go(func() { e.settings.Run(ctx) })
	}
	defer func() { cancel(); wg.Wait() }()
	time.Sleep(300 * time.Millisecond) // let both LISTEN connections start

	inForce := func(e *env, check func(*config.DSP) bool) time.Duration {
		start := time.Now()
		for time.Since(start) < 3*time.Second {
			if cfg := e.gw.last(); cfg != nil && check(cfg.DSP("alpha")) {
				return time.Since(start)
			}
			time.Sleep(2 * time.Millisecond)
		}
		return -1
	}

	steps := []struct {
		via   *env
		body  string
		check func(*config.DSP) bool
	}{
		{a, `{"recall_target": 0.98}`, func(d *config.DSP) bool { return d.RecallTarget != nil && *d.RecallTarget == 0.98 }},
		{b, `{"mode": "shadow", "qps_limit": 777}`, func(d *config.DSP) bool { return d.Mode != nil && *d.Mode == "shadow" && d.QPSLimit == 777 }},
		{a, `{"enabled": false}`, func(d *config.DSP) bool { return !d.Enabled }},
	}
	for i, s := range steps {
		other := b
		if s.via == b {
			other = a
		}
		start := time.Now()
		if st, body := s.via.do("PATCH", "/admin/api/dsps/alpha", managerToken, s.body, nil); st != 200 {
			t.Fatalf("step %d: %d %s", i, st, body)
		}
		if !s.check(s.via.gw.last().DSP("alpha")) {
			t.Fatalf("step %d: not in force on the instance that made it", i)
		}
		d := inForce(other, s.check)
		if d < 0 {
			t.Fatalf("step %d: the other instance never put %s in force", i, s.body)
		}
		total := time.Since(start)
		t.Logf("step %d %s: in force on the other instance %v after the call began (%v after it answered)", i, s.body, total, d)
		if total > time.Second {
			t.Fatalf("step %d: in force on the other instance after %v, want within 1s", i, total)
		}
	}
	// Both instances show the same trail: four entries.
	var ta, tb auditJSON
	a.do("GET", "/admin/api/audit", viewerToken, nil, &ta)
	b.do("GET", "/admin/api/audit", viewerToken, nil, &tb)
	if len(ta.Entries) != 4 || len(tb.Entries) != 4 || ta.Entries[0].ID != tb.Entries[0].ID {
		t.Fatalf("audit: %d and %d entries", len(ta.Entries), len(tb.Entries))
	}
	// A replica started now begins with every setting.
	c := open()
	d := c.gw.last().DSP("alpha")
	if d.Enabled || *d.Mode != "shadow" || d.QPSLimit != 777 || *d.RecallTarget != 0.98 {
		t.Fatalf("a new replica starts with alpha %+v", d)
	}
}
