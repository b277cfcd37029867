package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/otel/metric"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/bidlog/kafkalog"
	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/gateway"
)

// bidLogPrefix starts the names of the gateway's bid-log files (the simulator's are
// "bidlog-..."): training reads both alike.
const bidLogPrefix = "gateway"

var _ gateway.BidLogSink = (*kafkalog.Producer)(nil)

// bidLog is the gateway's bid log: the rolling Parquet writer behind a bounded queue, or
// (bidlog.kafka.brokers set) the Kafka producer instead.
type bidLog struct {
	w     *bidlog.Writer
	async *gateway.AsyncBidLog // the file writer's queue; nil without one
	kafka *kafkalog.Producer   // nil without Kafka
	sink  gateway.BidLogSink   // nil when no bid log is written
	log   *slog.Logger
}

// openBidLog opens the bid log of cfg.BidLog. With bidlog.kafka.brokers set, rows go to
// Kafka only (bidlog.dir is not written: bidlog-sink writes the Parquet downstream).
// Otherwise, when bidlog.dir is set, rows are queued (bidlog.queue auctions at most;
// beyond, dropped and counted), written by one goroutine and published as a complete file
// at least every bidlog.roll_interval.
func openBidLog(cfg *config.Config, log *slog.Logger, mp metric.MeterProvider) (*bidLog, error) {
	b := &bidLog{log: log}
	if k := cfg.BidLog.Kafka; k.Enabled() {
		p, err := kafkalog.NewProducer(kafkalog.ProducerOptions{
			Brokers: k.Brokers, Topic: k.Topic, ClientID: k.ClientID, Compression: k.Compression,
			Linger: k.Linger, MaxBufferedRecords: k.MaxBufferedRecords, MaxBufferedBytes: k.MaxBufferedBytes,
			DeliveryTimeout: k.DeliveryTimeout, Logger: log, MeterProvider: mp,
		})
		if err != nil {
			return nil, err
		}
		b.kafka, b.sink = p, p
		log.Info("bid log to Kafka", "brokers", k.Brokers, "topic", k.Topic, "compression", k.Compression,
			"max_buffered_records", k.MaxBufferedRecords, "max_buffered_bytes", k.MaxBufferedBytes)
		return b, nil
	}
	if cfg.BidLog.Dir == "" {
		log.Warn("bidlog.dir is empty and bidlog.kafka.brokers unset: no bid log is written")
		return b, nil
	}
	w, err := bidlog.NewWriter(cfg.BidLog.Dir, bidlog.WriterOptions{Prefix: bidLogPrefix, MaxFileBytes: cfg.BidLog.MaxFileBytes})
	if err != nil {
		return nil, err
	}
	b.w = w
	b.async = gateway.NewAsyncBidLog(w, gateway.AsyncOptions{
		Queue: cfg.BidLog.Queue, RollInterval: cfg.BidLog.RollInterval, Logger: log, MeterProvider: mp,
	})
	b.sink = b.async
	log.Info("bid log", "dir", cfg.BidLog.Dir, "roll_interval", cfg.BidLog.RollInterval, "queue", cfg.BidLog.Queue)
	return b, nil
}

// Close writes the queued rows (until ctx ends) and publishes the open file, or waits for
// Kafka to acknowledge the buffered records. Call it once no auction can log any more
// (after the auction listener has shut down).
func (b *bidLog) Close(ctx context.Context) error {
	if b.kafka != nil {
		return b.kafka.Close(ctx)
	}
	if b.async == nil {
		return nil
	}
	var errs []error
	if err := b.async.Close(ctx); err != nil {
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

// bidLogTarget says where the bid log goes, for the start line.
func bidLogTarget(b config.BidLog) string {
	if b.Kafka.Enabled() {
		return "kafka:" + b.Kafka.Topic
	}
	return b.Dir
}
