// Package telemetry builds the observability plumbing that cmd/bidsieve injects into the
// gateway: an OpenTelemetry MeterProvider exporting to a Prometheus registry of its own
// (no package-level registry anywhere), an OpenTelemetry TracerProvider (none, stdout, or
// OTLP/HTTP to a collector),
// and the process logger (log/slog, text or JSON).
//
// Everything returned is safe for concurrent use.
package telemetry

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// Metrics is a MeterProvider whose instruments are served in Prometheus text format.
type Metrics struct {
	Provider *sdkmetric.MeterProvider
	Registry *prometheus.Registry
	Handler  http.Handler // serves /metrics
}

// NewMetrics creates a Prometheus registry (with the Go runtime and process collectors) and
// a MeterProvider exporting to it. Instrument names are kept as given (bidsieve_...), without
// OpenTelemetry scope labels or a target_info series.
func NewMetrics() (*Metrics, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, fmt.Errorf("register go collector: %w", err)
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, fmt.Errorf("register process collector: %w", err)
	}
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	if err != nil {
		return nil, fmt.Errorf("prometheus exporter: %w", err)
	}
	return &Metrics{
		Provider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp)),
		Registry: reg,
		Handler:  promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: false}),
	}, nil
}

// NewLogger returns the process logger for the log.level and log.format keys.
func NewLogger(level, format string, w io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("unknown log format %q", format)
	}
}
