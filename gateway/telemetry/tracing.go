package telemetry

import (
	"context"
	"fmt"
	"io"
	"os"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/bidsieve/bidsieve/config"
)

// TracerOptions are what the tracing keys do not say: where stdout spans go, the binary's
// version, and (for tests) the ID generator.
type TracerOptions struct {
	Stdout  io.Writer // the stdout exporter's output; nil: os.Stdout
	Version string    // service.version; "" leaves the attribute out
	// IDs generates trace and span IDs; nil is the SDK's random generator. Tests pass a
	// seeded one so that the sampler's choices are reproducible.
	IDs sdktrace.IDGenerator
}

// Resource attribute keys (OpenTelemetry semantic conventions).
const (
	attrServiceName     = "service.name"
	attrServiceVersion  = "service.version"
	attrServiceInstance = "service.instance.id" // the replica
)

// NewTracerProvider returns the TracerProvider for the tracing keys: exporter "none" gives
// a no-op provider (spans cost next to nothing); "stdout" writes sampled spans as JSON to
// opts.Stdout; "otlp" batches them to the collector at cfg.Endpoint over OTLP/HTTP
// (protobuf, gzip), with cfg.Headers on every export. Sampling is parent-based: a trace
// that the caller sampled (traceparent) is kept, one it did not is not, and a root span
// is kept with probability cfg.SampleRatio, decided from its trace ID so that every
// replica agrees. Spans carry the resource service.name, service.version and
// service.instance.id (cfg.Replica, or the host name). The returned shutdown flushes the
// spans still batched and stops the exporter: call it last in a graceful stop.
func NewTracerProvider(cfg config.Tracing, opts TracerOptions) (trace.TracerProvider, func(context.Context) error, error) {
	var exp sdktrace.SpanExporter
	switch cfg.Exporter {
	case "", config.TracingNone:
		return noop.NewTracerProvider(), func(context.Context) error { return nil }, nil
	case config.TracingStdout:
		w := opts.Stdout
		if w == nil {
			w = os.Stdout
		}
		e, err := stdouttrace.New(stdouttrace.WithWriter(w))
		if err != nil {
			return nil, nil, fmt.Errorf("stdout trace exporter: %w", err)
		}
		exp = e
	case config.TracingOTLP:
		o := []otlptracehttp.Option{
			otlptracehttp.WithEndpointURL(cfg.Endpoint),
			otlptracehttp.WithCompression(otlptracehttp.GzipCompression),
		}
		if len(cfg.Headers) > 0 {
			o = append(o, otlptracehttp.WithHeaders(cfg.Headers))
		}
		// New does not dial: an unreachable collector costs dropped spans, never the start.
		e, err := otlptracehttp.New(context.Background(), o...)
		if err != nil {
			return nil, nil, fmt.Errorf("otlp trace exporter: %w", err)
		}
		exp = e
	default:
		return nil, nil, fmt.Errorf("unknown tracing exporter %q", cfg.Exporter)
	}
	res, err := tracingResource(cfg, opts.Version)
	if err != nil {
		return nil, nil, err
	}
	po := []sdktrace.TracerProviderOption{
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.SampleRatio))),
	}
	if opts.IDs != nil {
		po = append(po, sdktrace.WithIDGenerator(opts.IDs))
	}
	tp := sdktrace.NewTracerProvider(po...)
	return tp, tp.Shutdown, nil
}

// tracingResource is the resource every span carries. It is built from the keys alone
// (no OTEL_RESOURCE_ATTRIBUTES detection): the configuration says what a replica is.
func tracingResource(cfg config.Tracing, version string) (*resource.Resource, error) {
	name := cfg.ServiceName
	if name == "" {
		name = "bidsieve"
	}
	replica := cfg.Replica
	if replica == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("tracing.replica is empty and the host name is unknown: %w", err)
		}
		replica = h
	}
	attrs := []attribute.KeyValue{
		attribute.String(attrServiceName, name),
		attribute.String(attrServiceInstance, replica),
	}
	if version != "" {
		attrs = append(attrs, attribute.String(attrServiceVersion, version))
	}
	return resource.NewSchemaless(attrs...), nil
}
