package dsp

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/bidsieve/bidsieve/internal/queue"
)

// Notice kinds.
const (
	NoticeWin  = "win"  // the winner's nurl
	NoticeLoss = "loss" // a loser's lurl
)

// Notice results counted in bidsieve_notices_total.
const (
	noticeSent      = "sent"      // the host answered 2xx or 3xx
	noticeFailed    = "failed"    // the call failed or the host answered 4xx/5xx
	noticeDropped   = "dropped"   // the queue was full or the notifier closed
	noticeForbidden = "forbidden" // the host is not in the DSP's notice_hosts
)

// NotifierOptions configure a Notifier.
type NotifierOptions struct {
	Transport http.RoundTripper // nil: http.DefaultTransport
	Workers   int               // concurrent calls, >= 1
	Queue     int               // pending notices beyond the workers, >= 1
	Timeout   time.Duration     // per call
	Logger    *slog.Logger      // nil: no logs
	Meter     metric.Meter      // nil: no metrics
}

type notice struct {
	kind string
	url  string
}

// Notifier fires win and loss notices (HTTP GET, redirects not followed) from a fixed pool
// of workers fed by a bounded queue: Send never blocks, and drops (and counts) a notice
// when the queue is full. Close stops taking notices and waits until the queued ones are
// fired.
type Notifier struct {
	hc      *http.Client
	timeout time.Duration
	log     *slog.Logger
	queue   *queue.Bounded[notice]
	wg      sync.WaitGroup

	stop context.CancelFunc
	ctx  context.Context

	count  metric.Int64Counter
	counts map[[2]string][]metric.AddOption // (kind, result) -> attributes, built once
}

// NewNotifier starts the workers.
func NewNotifier(o NotifierOptions) *Notifier {
	if o.Transport == nil {
		o.Transport = http.DefaultTransport
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Meter == nil {
		o.Meter = noop.NewMeterProvider().Meter("")
	}
	o.Workers, o.Queue = max(o.Workers, 1), max(o.Queue, 1)
	ctx, stop := context.WithCancel(context.Background())
	n := &Notifier{
		hc: &http.Client{
			Transport:     o.Transport,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		timeout: o.Timeout,
		log:     o.Logger,
		queue:   queue.New[notice](o.Queue),
		ctx:     ctx,
		stop:    stop,
		counts:  map[[2]string][]metric.AddOption{},
	}
	n.count, _ = o.Meter.Int64Counter("bidsieve_notices_total",
		metric.WithDescription("Win and loss notices by kind and result (sent, failed, dropped, forbidden)."))
	for _, k := range []string{NoticeWin, NoticeLoss} {
		for _, r := range []string{noticeSent, noticeFailed, noticeDropped, noticeForbidden} {
			n.counts[[2]string{k, r}] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(
				attribute.String("kind", k), attribute.String("result", r)))}
		}
	}
	n.wg.Add(o.Workers)
	for range o.Workers {
		go n.work()
	}
	return n
}

// Send queues a notice of the given kind to rawURL (macros already substituted) if its
// host is in allowedHosts. It reports whether the notice was queued.
func (n *Notifier) Send(kind, rawURL string, allowedHosts []string) bool {
	if !HostAllowed(rawURL, allowedHosts) {
		n.record(kind, noticeForbidden)
		return false
	}
	if !n.queue.Send(notice{kind: kind, url: rawURL}) {
		n.record(kind, noticeDropped)
		return false
	}
	return true
}

// Close stops taking notices and waits until every queued one has been fired, or until
// ctx ends, in which case the calls in flight are canceled and the rest dropped.
func (n *Notifier) Close(ctx context.Context) error {
	n.queue.Close()
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	select {
	case <-done:
		n.stop()
		return nil
	case <-ctx.Done():
		n.stop() // the workers drop what is left and return
		<-done
		return ctx.Err()
	}
}

func (n *Notifier) work() {
	defer n.wg.Done()
	for nt := range n.queue.C {
		if n.ctx.Err() != nil {
			n.record(nt.kind, noticeDropped)
			continue
		}
		n.fire(nt)
	}
}

func (n *Notifier) fire(nt notice) {
	ctx, cancel := context.WithTimeout(n.ctx, n.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, nt.url, nil)
	if err != nil {
		n.record(nt.kind, noticeFailed)
		return
	}
	resp, err := n.hc.Do(req)
	if err != nil {
		n.log.Debug("notice failed", "kind", nt.kind, "url", nt.url, "err", err)
		n.record(nt.kind, noticeFailed)
		return
	}
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	_ = resp.Body.Close()
	if resp.StatusCode >= 400 {
		n.log.Debug("notice refused", "kind", nt.kind, "url", nt.url, "status", resp.StatusCode)
		n.record(nt.kind, noticeFailed)
		return
	}
	n.record(nt.kind, noticeSent)
}

func (n *Notifier) record(kind, result string) {
	if opts, ok := n.counts[[2]string{kind, result}]; ok {
		n.count.Add(context.Background(), 1, opts...)
	}
}
