package gateway

import "github.com/bidsieve/bidsieve/bidlog"

// BidLogSink receives the bid log: one row per (imp, DSP) considered in an auction, with
// the features, the decision and the outcome. The gateway calls Log once per auction after
// the publisher has its answer, from the request's goroutine: Log must not block (queue
// the rows, or drop and count them under back-pressure) and owns rows after the call.
type BidLogSink interface {
	Log(rows []bidlog.Row)
}
