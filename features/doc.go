// Package features is the one feature extractor of bidsieve: the gateway uses it to write
// bid-log rows and to score requests, and training uses it to build model inputs from those
// rows, so that training and serving can never disagree (no train/serve skew).
//
// Extract turns an OpenRTB request, one of its imps and the time of handling into Raw, the
// bid-log feature columns. Everything is pure and safe for concurrent use. Prices are CPM in
// the base currency.
package features
