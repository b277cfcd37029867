// Package bidlog holds the bid log: one row per (imp, DSP) considered, in the Parquet schema
// of DESIGN.md ("Bid log"), written by the simulator and the gateway and read by training.
package bidlog
