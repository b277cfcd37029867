package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/bidsieve/bidsieve/bidlog"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// RowWriter writes bid-log rows synchronously; *bidlog.Writer is one.
type RowWriter interface {
	Write(rows []bidlog.Row) error
}

var _ RowWriter = (*bidlog.Writer)(nil)

// AsyncBidLog is a BidLogSink that hands rows to one writer goroutine through a bounded
// queue of batches: Log never blocks, and rows that find the queue full are dropped and
// counted (bidsieve_bidlog_rows_dropped_total). Close drains the queue. The RowWriter is
// only ever called from that one goroutine.
type AsyncBidLog struct {
	w     RowWriter
	log   *slog.Logger
	queue chan []bidlog.Row
	done  chan struct{}

	mu     sync.RWMutex // guards closed against Log racing Close
	closed bool

	written, dropped, failed metric.Int64Counter
}

// NewAsyncBidLog starts the writer goroutine; queue is the number of batches (one per
// auction) that may wait. logger and mp may be nil.
func NewAsyncBidLog(w RowWriter, queue int, logger *slog.Logger, mp metric.MeterProvider) *AsyncBidLog {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if mp == nil {
		mp = noop.NewMeterProvider()
	}
	m := mp.Meter("github.com/bidsieve/bidsieve/gateway")
	a := &AsyncBidLog{w: w, log: logger, queue: make(chan []bidlog.Row, max(queue, 1)), done: make(chan struct{})}
	a.written, _ = m.Int64Counter("bidsieve_bidlog_rows_written_total", metric.WithDescription("Bid-log rows handed to the writer."))
	a.dropped, _ = m.Int64Counter("bidsieve_bidlog_rows_dropped_total", metric.WithDescription("Bid-log rows dropped because the queue was full."))
	a.failed, _ = m.Int64Counter("bidsieve_bidlog_rows_failed_total", metric.WithDescription("Bid-log rows the writer refused (an I/O error)."))
	go a.run()
	return a
}

// Log queues one auction's rows, or drops them when the queue is full or the sink closed.
func (a *AsyncBidLog) Log(rows []bidlog.Row) {
	if len(rows) == 0 {
		return
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	if !a.closed {
		select {
		case a.queue <- rows:
			return
		default:
		}
	}
	a.dropped.Add(context.Background(), int64(len(rows)))
}

func (a *AsyncBidLog) run() {
	defer close(a.done)
	for rows := range a.queue {
		if err := a.w.Write(rows); err != nil {
			a.failed.Add(context.Background(), int64(len(rows)))
			a.log.Error("bid log write failed", "rows", len(rows), "err", err)
			continue
		}
		a.written.Add(context.Background(), int64(len(rows)))
	}
}

// Close stops taking rows and waits until the queued ones are written, or ctx ends. It
// does not close the RowWriter: its owner does that afterwards.
func (a *AsyncBidLog) Close(ctx context.Context) error {
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		close(a.queue)
	}
	a.mu.Unlock()
	select {
	case <-a.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("bid log: %d batches not written: %w", len(a.queue), ctx.Err())
	}
}
