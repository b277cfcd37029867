package telemetry

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

func TestMetricsAreServedWithTheirNames(t *testing.T) {
	m, err := NewMetrics()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Provider.Shutdown(context.Background())
	meter := m.Provider.Meter("test")
	c, _ := meter.Int64Counter("bidsieve_auctions_total")
	c.Add(context.Background(), 2, metric.WithAttributes(attribute.String("result", "bid")))
	h, _ := meter.Float64Histogram("bidsieve_auction_duration_seconds", metric.WithUnit("s"))
	h.Record(context.Background(), 0.02)

	rec := httptest.NewRecorder()
	m.Handler.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`bidsieve_auctions_total{result="bid"} 2`,
		`bidsieve_auction_duration_seconds_count 1`,
		`go_goroutines `,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(string(body), "otel_scope") || strings.Contains(string(body), "target_info") {
		t.Error("/metrics carries OpenTelemetry scope labels or target_info")
	}
	// A second set of metrics does not collide with the first: no global registry.
	if _, err := NewMetrics(); err != nil {
		t.Errorf("a second registry: %v", err)
	}
}

func TestLogger(t *testing.T) {
	var out bytes.Buffer
	log, err := NewLogger("warn", "json", &out)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown", "k", 1)
	if s := out.String(); strings.Contains(s, "hidden") || !strings.Contains(s, `"msg":"shown"`) {
		t.Errorf("log output %q", s)
	}
	if _, err := NewLogger("loud", "text", io.Discard); err == nil {
		t.Error("an unknown level was accepted")
	}
	if _, err := NewLogger("info", "xml", io.Discard); err == nil {
		t.Error("an unknown format was accepted")
	}
}
