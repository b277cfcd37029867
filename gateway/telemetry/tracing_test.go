package telemetry

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"

	"github.com/bidsieve/bidsieve/config"
)

// receiver is an in-process OTLP/HTTP collector: it decodes every export request
// (protobuf, gzip or not) as a collector would and keeps the spans with their resources.
type receiver struct {
	srv     *httptest.Server
	mu      sync.Mutex
	reqs    []*coltrace.ExportTraceServiceRequest
	headers []http.Header
	errs    []string
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		fail := func(code int, msg string) {
			r.mu.Lock()
			r.errs = append(r.errs, msg)
			r.mu.Unlock()
			http.Error(w, msg, code)
		}
		if req.Method != http.MethodPost || req.URL.Path != "/v1/traces" {
			fail(http.StatusNotFound, req.Method+" "+req.URL.Path)
			return
		}
		if ct := req.Header.Get("Content-Type"); ct != "application/x-protobuf" {
			fail(http.StatusUnsupportedMediaType, "content type "+ct)
			return
		}
		var body io.Reader = req.Body
		if req.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(req.Body)
			if err != nil {
				fail(http.StatusBadRequest, "gzip: "+err.Error())
				return
			}
			body = zr
		}
		data, err := io.ReadAll(body)
		if err != nil {
			fail(http.StatusBadRequest, "read: "+err.Error())
			return
		}
		var er coltrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(data, &er); err != nil {
			fail(http.StatusBadRequest, "decode: "+err.Error())
			return
		}
		r.mu.Lock()
		r.reqs = append(r.reqs, &er)
		r.headers = append(r.headers, req.Header.Clone())
		r.mu.Unlock()
		out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// span is one received span with its resource's attributes.
type span struct {
	name     string
	traceID  []byte
	resource map[string]string
}

func (r *receiver) spans(t *testing.T) []span {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errs) > 0 {
		t.Fatalf("the receiver refused exports: %v", r.errs)
	}
	var out []span
	for _, er := range r.reqs {
		for _, rs := range er.GetResourceSpans() {
			res := attrs(rs.GetResource().GetAttributes())
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					out = append(out, span{name: s.GetName(), traceID: s.GetTraceId(), resource: res})
				}
			}
		}
	}
	return out
}

func attrs(kvs []*commonpb.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[kv.GetKey()] = kv.GetValue().GetStringValue()
	}
	return m
}

// seededIDs is a reproducible IDGenerator: the sampler decides from the trace ID, so fixed
// IDs make its choices, and the test, deterministic.
type seededIDs struct {
	mu  sync.Mutex
	rng *rand.Rand
}

func newSeededIDs(seed uint64) *seededIDs {
	return &seededIDs{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (g *seededIDs) NewIDs(context.Context) (trace.TraceID, trace.SpanID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var tid trace.TraceID
	var sid trace.SpanID
	for i := range tid {
		tid[i] = byte(g.rng.Uint32())
	}
	for i := range sid {
		sid[i] = byte(g.rng.Uint32())
	}
	return tid, sid
}

func (g *seededIDs) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	g.mu.Lock()
	defer g.mu.Unlock()
	var sid trace.SpanID
	for i := range sid {
		sid[i] = byte(g.rng.Uint32())
	}
	return sid
}

var _ sdktrace.IDGenerator = (*seededIDs)(nil)

func otlpConfig(r *receiver, ratio float64) config.Tracing {
	return config.Tracing{
		Exporter:    config.TracingOTLP,
		Endpoint:    r.srv.URL + "/v1/traces",
		Headers:     map[string]string{"X-Api-Key": "s3cret"},
		SampleRatio: ratio,
		ServiceName: "bidsieve",
		Replica:     "bidsieve-7d9f-abcde",
	}
}

// Spans reach the collector over OTLP/HTTP, with the resource that names the service, its
// version and the replica, and the configured headers.
func TestOTLPSpansArriveWithTheResource(t *testing.T) {
	r := newReceiver(t)
	tp, shutdown, err := NewTracerProvider(otlpConfig(r, 1), TracerOptions{Version: "v1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, root := tp.Tracer("t").Start(context.Background(), "auction")
	_, child := tp.Tracer("t").Start(ctx, "dsp alpha")
	child.End()
	root.End()
	if err := shutdown(context.Background()); err != nil { // flushes the batch
		t.Fatal(err)
	}
	got := r.spans(t)
	if len(got) != 2 {
		t.Fatalf("the collector got %d spans, want 2 (auction and its DSP call)", len(got))
	}
	want := map[string]string{"service.name": "bidsieve", "service.version": "v1.2.3", "service.instance.id": "bidsieve-7d9f-abcde"}
	names := map[string]bool{}
	for _, s := range got {
		names[s.name] = true
		for k, v := range want {
			if s.resource[k] != v {
				t.Errorf("span %q: resource %s = %q, want %q", s.name, k, s.resource[k], v)
			}
		}
	}
	if !names["auction"] || !names["dsp alpha"] {
		t.Errorf("spans %v, want auction and dsp alpha", names)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, h := range r.headers {
		if h.Get("X-Api-Key") != "s3cret" {
			t.Errorf("export without the configured header: %v", h)
		}
	}
}

// The ratio sampler keeps about sample_ratio of the auctions (root spans); the trace IDs
// are seeded, so the count is the same on every run.
func TestOTLPSamplerKeepsTheRatio(t *testing.T) {
	const n, ratio = 4000, 0.25
	r := newReceiver(t)
	tp, shutdown, err := NewTracerProvider(otlpConfig(r, ratio), TracerOptions{IDs: newSeededIDs(7)})
	if err != nil {
		t.Fatal(err)
	}
	sampled := 0
	for range n {
		_, s := tp.Tracer("t").Start(context.Background(), "auction")
		if s.SpanContext().IsSampled() {
			sampled++
		}
		s.End()
	}
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := len(r.spans(t))
	t.Logf("%d of %d auctions traced", got, n)
	if got != sampled {
		t.Errorf("the collector got %d spans; %d were sampled", got, sampled)
	}
	// Binomial(4000, 0.25): mean 1000, sd 27; +-100 is beyond 3.5 sd.
	if got < 900 || got > 1100 {
		t.Errorf("%d of %d auctions traced at sample_ratio %v, want about %d", got, n, ratio, int(n*ratio))
	}
}

// Parent-based: a caller's sampling decision (traceparent) wins over the ratio.
func TestOTLPSamplerFollowsTheParent(t *testing.T) {
	r := newReceiver(t)
	tp, shutdown, err := NewTracerProvider(otlpConfig(r, 0), TracerOptions{IDs: newSeededIDs(1)})
	if err != nil {
		t.Fatal(err)
	}
	remote := func(flags trace.TraceFlags, b byte) context.Context {
		sc := trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: trace.TraceID{b, 1}, SpanID: trace.SpanID{b, 2}, TraceFlags: flags, Remote: true,
		})
		return trace.ContextWithRemoteSpanContext(context.Background(), sc)
	}
	_, s := tp.Tracer("t").Start(remote(trace.FlagsSampled, 0xaa), "sampled by the caller")
	s.End()
	_, s = tp.Tracer("t").Start(remote(0, 0xbb), "not sampled by the caller")
	s.End()
	_, s = tp.Tracer("t").Start(context.Background(), "root at ratio 0")
	s.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := r.spans(t)
	if len(got) != 1 || got[0].name != "sampled by the caller" || !bytes.Equal(got[0].traceID[:2], []byte{0xaa, 1}) {
		t.Errorf("spans %+v, want only the one whose caller sampled it, in the caller's trace", got)
	}
}

// An unreachable collector neither fails the start nor blocks the spans' callers; the
// shutdown reports what it could not send.
func TestOTLPCollectorDownDoesNotBlock(t *testing.T) {
	r := newReceiver(t)
	cfg := otlpConfig(r, 1)
	r.srv.Close() // nobody listens there any more
	tp, shutdown, err := NewTracerProvider(cfg, TracerOptions{})
	if err != nil {
		t.Fatalf("start with the collector down: %v", err)
	}
	start := time.Now()
	for range 100 {
		_, s := tp.Tracer("t").Start(context.Background(), "auction")
		s.End()
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("100 spans took %v with the collector down: the callers waited on the export", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	_ = shutdown(ctx) // a deadline or connection error: what could not be sent
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("shutdown took %v past its 200ms deadline", d)
	}
}

func TestStdoutAndNoneExporters(t *testing.T) {
	tp, shutdown, err := NewTracerProvider(config.Tracing{Exporter: config.TracingNone}, TracerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, span := tp.Tracer("t").Start(context.Background(), "x"); span.IsRecording() {
		t.Error("the none exporter records spans")
	}
	_ = shutdown(context.Background())

	var out bytes.Buffer
	tp, shutdown, err = NewTracerProvider(config.Tracing{Exporter: config.TracingStdout, SampleRatio: 1, ServiceName: "bidsieve", Replica: "r1"}, TracerOptions{Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	_, span := tp.Tracer("t").Start(context.Background(), "auction")
	span.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"Name":"auction"`) || !strings.Contains(out.String(), `"r1"`) {
		t.Errorf("stdout exporter wrote %q", out.String())
	}
	if _, _, err := NewTracerProvider(config.Tracing{Exporter: "zipkin"}, TracerOptions{}); err == nil {
		t.Error("an unknown exporter was accepted")
	}
}
