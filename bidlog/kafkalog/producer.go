package kafkalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"golang.org/x/time/rate"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/bidlog/wire"
	"github.com/bidsieve/bidsieve/config"
)

// Drop reasons, the reason label of bidsieve_bidlog_rows_dropped_total.
const (
	ReasonBufferFull = "buffer_full" // the producer's buffer was full (brokers away or slow)
	ReasonFailed     = "failed"      // Kafka refused the record, or its delivery timed out
	ReasonClosed     = "closed"      // logged after Close, or still buffered when Close gave up
)

// ProducerOptions configures a Producer. Brokers and Topic are required; the other fields
// have the defaults of config.Defaults (bidlog.kafka) when zero.
type ProducerOptions struct {
	Brokers            []string
	Topic              string
	ClientID           string        // "bidsieve" when empty
	Compression        string        // one of config's Compression names (bidlog.kafka.compression); zstd when empty
	Linger             time.Duration // 0: send as soon as a batch is ready
	MaxBufferedRecords int           // 1 << 20 when 0
	MaxBufferedBytes   int64         // 256 MiB when 0
	DeliveryTimeout    time.Duration // 0: retry until the buffer fills
	// DropLogEvery is the least time between two logs of dropped rows (each gives the
	// count since the last); 10s when 0.
	DropLogEvery  time.Duration
	Logger        *slog.Logger         // nil: no logs
	MeterProvider metric.MeterProvider // nil: no metrics
	// ExtraOpts are appended to the client's options (tests: shorter retry backoffs).
	ExtraOpts []kgo.Opt
}

// Producer sends bid-log rows to a Kafka topic, one record per row. It satisfies
// gateway.BidLogSink (cmd/bidsieve wires the two). Safe for concurrent use.
type Producer struct {
	cl    *kgo.Client
	topic string
	// The client's limits, checked before each record is handed over: franz-go delivers
	// a refusal through its promise queue, which may make a caller wait when it is long.
	maxRecs, maxBytes int64
	log               *slog.Logger
	logLim            *rate.Limiter

	closed atomic.Bool

	// Counts since the start (Stats), and since the last drop log.
	produced, acked, droppedFull, droppedFailed, droppedClosed atomic.Int64
	unlogged                                                   atomic.Int64

	written, dropped                 metric.Int64Counter
	dropFull, dropFailed, dropClosed []metric.AddOption
	reg                              metric.Registration
}

// ProducerStats counts a Producer's rows.
type ProducerStats struct {
	Produced      int64 // handed to the client
	Acked         int64 // acknowledged by Kafka
	DroppedFull   int64 // dropped: the buffer was full
	DroppedFailed int64 // dropped: refused by Kafka or timed out
	DroppedClosed int64 // dropped: after Close, or unsent when Close gave up
	Buffered      int64 // in the client's buffer now
}

// NewProducer starts a producer. It does not wait for the brokers: the client connects in
// the background, and rows are buffered meanwhile.
func NewProducer(o ProducerOptions) (*Producer, error) {
	if len(o.Brokers) == 0 || o.Topic == "" {
		return nil, errors.New("kafka bid log: brokers and topic are required")
	}
	codec, err := compression(o.Compression)
	if err != nil {
		return nil, err
	}
	if o.ClientID == "" {
		o.ClientID = "bidsieve"
	}
	if o.MaxBufferedRecords <= 0 {
		o.MaxBufferedRecords = 1 << 20
	}
	if o.MaxBufferedBytes <= 0 {
		o.MaxBufferedBytes = 256 << 20
	}
	if o.DropLogEvery <= 0 {
		o.DropLogEvery = 10 * time.Second
	}
	p := &Producer{topic: o.Topic, maxRecs: int64(o.MaxBufferedRecords), maxBytes: o.MaxBufferedBytes, log: o.Logger, logLim: rate.NewLimiter(rate.Every(o.DropLogEvery), 1)}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(o.Brokers...),
		kgo.DefaultProduceTopic(o.Topic),
		kgo.ClientID(o.ClientID),
		kgo.ProducerBatchCompression(codec),
		kgo.ProducerLinger(o.Linger),
		kgo.MaxBufferedRecords(o.MaxBufferedRecords),
		kgo.MaxBufferedBytes(int(o.MaxBufferedBytes)),
		// Idempotent production (franz-go's default, stated here) needs acks from all
		// in-sync replicas: a retried batch is written once.
		kgo.RequiredAcks(kgo.AllISRAcks()),
		// Records are retried without a count limit (franz-go's default): while the
		// brokers are away they wait in the bounded buffer, and what does not fit is
		// dropped at Log. A topic that does not exist fails its records (reason failed).
		kgo.WithLogger(kgoLogger{log: p.log, lim: rate.NewLimiter(rate.Every(o.DropLogEvery), 3)}),
	}
	if o.DeliveryTimeout > 0 {
		opts = append(opts, kgo.RecordDeliveryTimeout(o.DeliveryTimeout))
	}
	opts = append(opts, o.ExtraOpts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka bid log: %w", err)
	}
	p.cl = cl

	mp := o.MeterProvider
	if mp == nil {
		mp = noop.NewMeterProvider()
	}
	m := mp.Meter("github.com/bidsieve/bidsieve/bidlog/kafkalog")
	p.written, _ = m.Int64Counter("bidsieve_bidlog_rows_written_total", metric.WithDescription("Bid-log rows written: acknowledged by Kafka."))
	p.dropped, _ = m.Int64Counter("bidsieve_bidlog_rows_dropped_total", metric.WithDescription("Bid-log rows dropped, by reason: buffer_full (Kafka away or slow), failed (refused or timed out), closed."))
	p.dropFull = []metric.AddOption{metric.WithAttributes(attribute.String("reason", ReasonBufferFull))}
	p.dropFailed = []metric.AddOption{metric.WithAttributes(attribute.String("reason", ReasonFailed))}
	p.dropClosed = []metric.AddOption{metric.WithAttributes(attribute.String("reason", ReasonClosed))}
	buffered, _ := m.Int64ObservableGauge("bidsieve_bidlog_kafka_buffered_records", metric.WithDescription("Bid-log records buffered in the Kafka producer, not yet acknowledged."))
	p.reg, _ = m.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		ob.ObserveInt64(buffered, cl.BufferedProduceRecords())
		return nil
	}, buffered)
	return p, nil
}

func compression(name string) (kgo.CompressionCodec, error) {
	switch name {
	case "", config.CompressionZstd:
		return kgo.ZstdCompression(), nil
	case config.CompressionLZ4:
		return kgo.Lz4Compression(), nil
	case config.CompressionSnappy:
		return kgo.SnappyCompression(), nil
	case config.CompressionGzip:
		return kgo.GzipCompression(), nil
	case config.CompressionNone:
		return kgo.NoCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("kafka bid log: unknown compression %q", name)
}

// Log encodes the rows and hands them to the client without waiting: a row that finds the
// buffer full is dropped and counted. It owns nothing after the call (each record has its
// own encoded copy).
func (p *Producer) Log(rows []bidlog.Row) {
	if len(rows) == 0 {
		return
	}
	if p.closed.Load() {
		p.drop(ReasonClosed, int64(len(rows)))
		return
	}
	// One allocation for the auction's values; each record gets its own sub-slice.
	size := 0
	for i := range rows {
		size += 160 + len(rows[i].RequestID) + len(rows[i].Domain)
	}
	if p.full(size) {
		p.drop(ReasonBufferFull, int64(len(rows)))
		return
	}
	buf := make([]byte, 0, size)
	recs := make([]kgo.Record, len(rows)) // one allocation for the auction's records too
	ctx := context.Background()
	for i := range rows {
		if i > 0 && p.full(size) {
			p.drop(ReasonBufferFull, int64(len(rows)-i))
			return
		}
		start := len(buf)
		buf = wire.Append(buf, &rows[i])
		rec := &recs[i]
		rec.Value = buf[start:len(buf):len(buf)]
		p.produced.Add(1)
		p.cl.TryProduce(ctx, rec, p.promise)
	}
}

// full reports whether the client's buffer cannot take size more bytes or one more record.
func (p *Producer) full(size int) bool {
	return p.cl.BufferedProduceRecords() >= p.maxRecs || p.cl.BufferedProduceBytes()+int64(size) > p.maxBytes
}

// promise runs for every record, serially, when Kafka answers or the record fails.
func (p *Producer) promise(_ *kgo.Record, err error) {
	switch {
	case err == nil:
		p.acked.Add(1)
		p.written.Add(context.Background(), 1)
	case errors.Is(err, kgo.ErrMaxBuffered):
		p.drop(ReasonBufferFull, 1)
	case errors.Is(err, kgo.ErrClientClosed) || p.closed.Load():
		p.drop(ReasonClosed, 1)
	default:
		p.drop(ReasonFailed, 1)
		if p.logLim.Allow() {
			p.log.Error("kafka bid log: record failed", "err", err)
		}
	}
}

func (p *Producer) drop(reason string, n int64) {
	ctx := context.Background()
	switch reason {
	case ReasonBufferFull:
		p.droppedFull.Add(n)
		p.dropped.Add(ctx, n, p.dropFull...)
	case ReasonFailed:
		p.droppedFailed.Add(n)
		p.dropped.Add(ctx, n, p.dropFailed...)
	default:
		p.droppedClosed.Add(n)
		p.dropped.Add(ctx, n, p.dropClosed...)
	}
	total := p.unlogged.Add(n)
	if p.logLim.Allow() {
		p.unlogged.Add(-total)
		st := p.Stats()
		p.log.Warn("kafka bid log: rows dropped", "rows_since_last_log", total, "latest_reason", reason,
			"buffer_full_total", st.DroppedFull, "failed_total", st.DroppedFailed, "closed_total", st.DroppedClosed,
			"buffered", st.Buffered)
	}
}

// Stats returns the counts so far.
func (p *Producer) Stats() ProducerStats {
	return ProducerStats{
		Produced: p.produced.Load(), Acked: p.acked.Load(),
		DroppedFull: p.droppedFull.Load(), DroppedFailed: p.droppedFailed.Load(), DroppedClosed: p.droppedClosed.Load(),
		Buffered: p.cl.BufferedProduceRecords(),
	}
}

// Flush waits until every buffered record is acknowledged or has failed, or ctx ends.
func (p *Producer) Flush(ctx context.Context) error {
	if err := p.cl.Flush(ctx); err != nil {
		return fmt.Errorf("kafka bid log flush: %w", err)
	}
	return nil
}

// Close stops taking rows, waits until the buffered ones are acknowledged (or ctx ends:
// those still buffered are dropped, reason closed) and closes the client. Call it once no
// auction can log any more.
func (p *Producer) Close(ctx context.Context) error {
	if p.closed.Swap(true) {
		return nil
	}
	err := p.cl.Flush(ctx)
	left := p.cl.BufferedProduceRecords()
	p.cl.Close() // fails what is left: the promises count it as closed
	if p.reg != nil {
		_ = p.reg.Unregister()
	}
	st := p.Stats()
	p.log.Info("kafka bid log closed", "acked", st.Acked, "dropped_buffer_full", st.DroppedFull,
		"dropped_failed", st.DroppedFailed, "dropped_closed", st.DroppedClosed)
	if err != nil {
		return fmt.Errorf("kafka bid log: %d records not acknowledged: %w", left, err)
	}
	return nil
}

// kgoLogger sends franz-go's warnings and errors to slog (its info and debug are chatty),
// at a bounded rate: with the brokers away it warns on every connection attempt.
type kgoLogger struct {
	log *slog.Logger
	lim *rate.Limiter
}

func (l kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (l kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	if !l.lim.Allow() {
		return
	}
	lv := slog.LevelWarn
	if level == kgo.LogLevelError {
		lv = slog.LevelError
	}
	l.log.Log(context.Background(), lv, "kafka: "+msg, keyvals...)
}
