package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/otel/metric"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/gateway"
)

// bidLogPrefix starts the names of the gateway's bid-log files (the simulator's are
// "bidlog-..."): training reads both alike.
const bidLogPrefix = "gateway"

// bidLog is the gateway's bid log: the rolling Parquet writer behind a bounded queue.
type bidLog struct {
	w    *bidlog.Writer
	sink *gateway.AsyncBidLog // nil when bidlog.dir is empty
	log  *slog.Logger
}

// openBidLog opens the bid log of cfg.BidLog (nothing when its dir is empty): rows are
// queued (bidlog.queue auctions at most; beyond, dropped and counted), written by one
// goroutine and published as a complete file at least every bidlog.roll_interval.
func openBidLog(cfg *config.Config, log *slog.Logger, mp metric.MeterProvider) (*bidLog, error) {
	b := &bidLog{log: log}
	if cfg.BidLog.Dir == "" {
		log.Warn("bidlog.dir is empty: no bid log is written")
		return b, nil
	}
	w, err := bidlog.NewWriter(cfg.BidLog.Dir, bidlog.WriterOptions{Prefix: bidLogPrefix, MaxFileBytes: cfg.BidLog.MaxFileBytes})
	if err != nil {
		return nil, err
	}
	b.w = w
	b.sink = gateway.NewAsyncBidLog(w, gateway.AsyncOptions{
		Queue: cfg.BidLog.Queue, RollInterval: cfg.BidLog.RollInterval, Logger: log, MeterProvider: mp,
	})
	log.Info("bid log", "dir", cfg.BidLog.Dir, "roll_interval", cfg.BidLog.RollInterval, "queue", cfg.BidLog.Queue)
	return b, nil
}

// Close writes the queued rows (until ctx ends) and publishes the open file. Call it once
// no auction can log any more (after the auction listener has shut down).
func (b *bidLog) Close(ctx context.Context) error {
	if b.sink == nil {
		return nil
	}
	var errs []error
	if err := b.sink.Close(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := b.w.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close bid log: %w", err))
	} else {
		st := b.w.Stats()
		b.log.Info("bid log closed", "files", st.Files, "rows", st.Rows)
	}
	return errors.Join(errs...)
}
