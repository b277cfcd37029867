package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/internal/queue"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// RowWriter writes bid-log rows synchronously; *bidlog.Writer is one.
type RowWriter interface {
	Write(rows []bidlog.Row) error
}

var _ RowWriter = (*bidlog.Writer)(nil)

// Roller is a RowWriter that can publish what it has written so far as a complete file
// (*bidlog.Writer's Roll).
type Roller interface {
	Roll() error
}

var _ Roller = (*bidlog.Writer)(nil)

// AsyncOptions tunes an AsyncBidLog; every field may be left zero.
type AsyncOptions struct {
	Queue int // batches (one per auction) that may wait; 1 when < 1
	// RollInterval, when > 0 and the RowWriter is a Roller, rolls the writer this often
	// (from the writer goroutine), so that a crash loses at most this long of rows.
	RollInterval  time.Duration
	Logger        *slog.Logger         // nil: no logs
	MeterProvider metric.MeterProvider // nil: no metrics
}

// AsyncBidLog is a BidLogSink that hands rows to one writer goroutine through a bounded
// queue of batches: Log never blocks, and rows that find the queue full are dropped and
// counted (bidsieve_bidlog_rows_dropped_total). Close drains the queue. The RowWriter is
// only ever called from that one goroutine.
type AsyncBidLog struct {
	w     RowWriter
	log   *slog.Logger
	queue *queue.Bounded[[]bidlog.Row]
	done  chan struct{}
	roll  time.Duration

	written, dropped, failed, rolls metric.Int64Counter
	rollOK, rollErr                 []metric.AddOption
}

// NewAsyncBidLog starts the writer goroutine in front of w.
func NewAsyncBidLog(w RowWriter, o AsyncOptions) *AsyncBidLog {
	logger, mp := o.Logger, o.MeterProvider
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if mp == nil {
		mp = noop.NewMeterProvider()
	}
	m := mp.Meter("github.com/bidsieve/bidsieve/gateway")
	a := &AsyncBidLog{w: w, log: logger, queue: queue.New[[]bidlog.Row](max(o.Queue, 1)), done: make(chan struct{})}
	if _, ok := w.(Roller); ok {
		a.roll = o.RollInterval
	}
	a.written, _ = m.Int64Counter("bidsieve_bidlog_rows_written_total", metric.WithDescription("Bid-log rows handed to the writer."))
	a.dropped, _ = m.Int64Counter("bidsieve_bidlog_rows_dropped_total", metric.WithDescription("Bid-log rows dropped because the queue was full."))
	a.failed, _ = m.Int64Counter("bidsieve_bidlog_rows_failed_total", metric.WithDescription("Bid-log rows the writer refused (an I/O error)."))
	a.rolls, _ = m.Int64Counter("bidsieve_bidlog_rolls_total", metric.WithDescription("Timed rolls of the bid-log file by result: ok, error."))
	a.rollOK = []metric.AddOption{metric.WithAttributes(attribute.String("result", "ok"))}
	a.rollErr = []metric.AddOption{metric.WithAttributes(attribute.String("result", "error"))}
	go a.run()
	return a
}

// Log queues one auction's rows, or drops them when the queue is full or the sink closed.
func (a *AsyncBidLog) Log(rows []bidlog.Row) {
	if len(rows) == 0 {
		return
	}
	if a.queue.Send(rows) {
		return
	}
	a.dropped.Add(context.Background(), int64(len(rows)))
}

func (a *AsyncBidLog) run() {
	defer close(a.done)
	var tick <-chan time.Time
	if a.roll > 0 {
		t := time.NewTicker(a.roll)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case rows, ok := <-a.queue.C:
			if !ok {
				return
			}
			if err := a.w.Write(rows); err != nil {
				a.failed.Add(context.Background(), int64(len(rows)))
				a.log.Error("bid log write failed", "rows", len(rows), "err", err)
				continue
			}
			a.written.Add(context.Background(), int64(len(rows)))
		case <-tick:
			if err := a.w.(Roller).Roll(); err != nil {
				a.rolls.Add(context.Background(), 1, a.rollErr...)
				a.log.Error("bid log roll failed", "err", err)
				continue
			}
			a.rolls.Add(context.Background(), 1, a.rollOK...)
		}
	}
}

// Close stops taking rows and waits until the queued ones are written, or ctx ends. It
// does not close the RowWriter: its owner does that afterwards.
func (a *AsyncBidLog) Close(ctx context.Context) error {
	a.queue.Close()
	select {
	case <-a.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("bid log: %d batches not written: %w", len(a.queue.C), ctx.Err())
	}
}
