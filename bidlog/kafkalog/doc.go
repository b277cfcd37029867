// Package kafkalog carries the bid log through Kafka: Producer is the gateway's side (a
// gateway.BidLogSink that sends each row as one record in the encoding of bidlog/wire,
// docs/BIDLOG-WIRE.md), and Sink is `bidsieve bidlog-sink`'s (a consumer-group member that
// writes the rows into Hive-partitioned Parquet files, dt=YYYY-MM-DD/hour=HH/, the files
// `bidsieve train` reads, and commits offsets only once a file is durable).
//
// Producer: Log never blocks. Records are batched per partition (linger), compressed,
// produced idempotently with acks from all in-sync replicas and retried while the brokers
// are away, inside a bounded buffer (records and bytes); a row that finds the buffer full
// is dropped and counted. Log is safe for concurrent use.
//
// Sink: one goroutine (Run) polls, decodes and buffers the rows of each assigned partition
// and, per partition, writes them as one file per hour of row time named
// TOPIC-PARTITION-FIRSTOFFSET.parquet, synced and renamed into place, then commits the
// offset after the last record. On (re)assignment, the files of the partition that start at
// or after the offset consumption resumes from are removed before anything is written: they
// are the work of a run that stopped between a file and its commit, and the records are
// about to be written again. So a crash at any point duplicates nothing and loses nothing.
// A record that does not decode is counted, logged and skipped.
//
// Units: durations as Go durations, sizes in bytes, ts in Unix milliseconds (UTC).
package kafkalog
