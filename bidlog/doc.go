// Package bidlog holds the bid log: one row per (imp, DSP) considered, in the Parquet schema
// of docs/DESIGN.md ("Bid log"), written by the simulator and the gateway and read by training.
//
// Writer writes rows into rolling Parquet files (by size and by row-time window), each
// published under its final name by an atomic rename only when complete; names sort in
// time order; WriteFile writes one complete file durably under a given name (bidlog-sink).
// ListFiles describes the published files under a directory, walking its folders (the Hive
// layout dt=YYYY-MM-DD/hour=HH/ of bidlog-sink), from their footers
// (row count and time range), so that training can pick days without reading rows, and
// Reader streams rows from a list of files in caller-sized batches, one file open at a
// time.
//
// Units: ts and the time ranges in Unix milliseconds (UTC), prices (floor_cpm, bid_cpm,
// clear_cpm) in CPM of the base currency, latency_ms in milliseconds, sizes in bytes.
//
// Concurrency: a Writer and a Reader each belong to one goroutine. Row values are plain
// data.
package bidlog
