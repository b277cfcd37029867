package health

// buckets is how many buckets the sliding window is kept in: it covers between
// (buckets-1)/buckets of breaker.window and all of it.
const buckets = 10

// counts are the outcomes of one bucket, or of the window.
type counts struct {
	ok       uint32 // counted successes
	failed   uint32 // counted failures, the DSP's timeouts included
	timeouts uint32 // the DSP's timeouts
	ours     uint32 // timeouts the gateway caused: not counted
	limited  uint32 // 429 answers: not counted
}

func (c *counts) add(o *counts) {
	c.ok += o.ok
	c.failed += o.failed
	c.timeouts += o.timeouts
	c.ours += o.ours
	c.limited += o.limited
}

// bucket is the outcomes seen in one period of the window: epoch is the time (Unix ns)
// divided by the bucket's width.
type bucket struct {
	epoch int64
	counts
}

// window is a sliding window of outcomes, rolled lazily: a bucket is emptied when a later
// period reuses it. Times are Unix ns, after 1970.
type window struct {
	width int64 // ns per bucket
	b     [buckets]bucket
}

// at returns the bucket of time t, nil when t is older than the window.
func (w *window) at(t int64) *counts {
	e := t / w.width
	k := &w.b[e%buckets]
	if k.epoch != e {
		if k.epoch > e {
			return nil
		}
		*k = bucket{epoch: e}
	}
	return &k.counts
}

// sum returns the outcomes of the window that ends at t.
func (w *window) sum(t int64) counts {
	var s counts
	e := t / w.width
	for i := range w.b {
		if k := &w.b[i]; k.epoch > e-buckets && k.epoch <= e {
			s.add(&k.counts)
		}
	}
	return s
}

func (w *window) clear() { w.b = [buckets]bucket{} }
