package kafkalog

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/bidlog"
)

// BenchmarkProducerLog is the gateway's cost per auction of handing 4 rows to Kafka
// (encode, buffer; the send is on the client's goroutines), with a broker up (kfake in
// process, so its work shares the cores) and with the broker down and the buffer full
// (the drop path). ns/row is per row.
func BenchmarkProducerLog(b *testing.B) {
	rows := testRows(4)
	for i := range rows {
		rows[i].RequestID = "6f1c0c1e-8a0b-4a57-9a43-5c3f2f1b7d21"
	}
	run := func(b *testing.B, p *Producer) {
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			p.Log(rows)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rows)), "ns/row")
	}
	b.Run("broker_up", func(b *testing.B) {
		c := newCluster(b, 6)
		defer c.Close()
		p, err := NewProducer(ProducerOptions{Brokers: c.ListenAddrs(), Topic: testTopic, Linger: 5 * time.Millisecond})
		if err != nil {
			b.Fatal(err)
		}
		run(b, p)
		b.StopTimer()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = p.Close(ctx)
		st := p.Stats()
		b.ReportMetric(float64(st.DroppedFull)/float64(st.Produced+st.DroppedFull), "dropped/row")
	})
	b.Run("broker_down_buffer_full", func(b *testing.B) {
		p, err := NewProducer(ProducerOptions{Brokers: []string{"127.0.0.1:1"}, Topic: testTopic, MaxBufferedRecords: 1000})
		if err != nil {
			b.Fatal(err)
		}
		for range 250 {
			p.Log(rows) // fill the buffer
		}
		run(b, p)
		b.StopTimer()
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		_ = p.Close(ctx)
	})
}

// BenchmarkEndToEnd measures rows/s from Producer.Log through an in-process broker
// (kfake) to durable Parquet files written by a Sink: 200,000 rows, 6 partitions.
func BenchmarkEndToEnd(b *testing.B) {
	const n = 200_000
	base := testRows(n)
	b.StopTimer()
	for range b.N {
		c := newCluster(b, 6)
		dir := b.TempDir()
		rows := make([]bidlog.Row, n)
		copy(rows, base)
		b.StartTimer()
		start := time.Now()
		p, err := NewProducer(ProducerOptions{Brokers: c.ListenAddrs(), Topic: testTopic, Linger: 5 * time.Millisecond})
		if err != nil {
			b.Fatal(err)
		}
		s, err := NewSink(SinkOptions{Brokers: c.ListenAddrs(), Topic: testTopic, Group: "bench", Dir: dir, MaxRows: 50_000, FlushInterval: 200 * time.Millisecond})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		for i := 0; i < n; i += 4 {
			p.Log(rows[i : i+4 : i+4])
		}
		produced := time.Since(start)
		fctx, fcancel := context.WithTimeout(context.Background(), time.Minute)
		if err := p.Close(fctx); err != nil {
			b.Fatal(err)
		}
		fcancel()
		acked := time.Since(start)
		for s.Stats().Rows < p.Stats().Acked {
			time.Sleep(5 * time.Millisecond)
		}
		all := time.Since(start)
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		st := p.Stats()
		if st.DroppedFull+st.DroppedFailed > 0 {
			b.Logf("dropped %d rows", st.DroppedFull+st.DroppedFailed)
		}
		b.ReportMetric(float64(n)/produced.Seconds(), "logged_rows/s")
		b.ReportMetric(float64(st.Acked)/acked.Seconds(), "acked_rows/s")
		b.ReportMetric(float64(s.Stats().Rows)/all.Seconds(), "parquet_rows/s")
		b.Log(fmt.Sprintf("%d rows: logged in %s, acked by %s, in Parquet by %s", n, produced, acked, all))
		c.Close()
	}
}
