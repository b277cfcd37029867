package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Seat is what the publisher was returned from one seat (the gateway names a seat after
// its DSP): the bids kept and their clearing prices.
type Seat struct {
	Bids          int64 `json:"bids"`
	RevenueMicros int64 `json:"revenue_micros"` // sum of the bids' prices, in millionths of a CPM unit
}

// meter accumulates the answers; safe for concurrent use.
type meter struct {
	mu        sync.Mutex
	hist      *hdrhistogram.Histogram // µs, every answer
	accepted  *hdrhistogram.Histogram // µs, answers that were not shed
	bound     time.Duration           // an accepted answer later than this is late; 0: the request's tmax
	status    map[int]int64
	seats     map[string]*Seat
	answered  int64
	shed      int64
	late      int64
	timeouts  int64
	failures  int64
	bidResps  int64
	bids      int64
	bidCPMSum float64
	revenue   int64
}

func newMeter(bound time.Duration) *meter {
	h := func() *hdrhistogram.Histogram { return hdrhistogram.New(1, int64(10*time.Minute/time.Microsecond), 3) }
	return &meter{hist: h(), accepted: h(), bound: bound, status: map[int]int64{}, seats: map[string]*Seat{}}
}

// bidResponse is the part of a BidResponse the meter reads.
type bidResponse struct {
	SeatBid []struct {
		Seat string `json:"seat"`
		Bid  []struct {
			Price float64 `json:"price"`
		} `json:"bid"`
	} `json:"seatbid"`
}

// isShed reports whether an answer refused the auction for load: a 503, or a no-bid
// carrying Retry-After.
func isShed(resp *http.Response, bids int64) bool {
	return resp.StatusCode == http.StatusServiceUnavailable || (bids == 0 && resp.Header.Get("Retry-After") != "")
}

func (m *meter) do(client *http.Client, target string, r Request, due time.Time, timeout time.Duration) {
	ctx, cancel := context.WithDeadline(context.Background(), due.Add(timeout))
	defer cancel()
	bound := m.bound
	if bound <= 0 {
		bound = r.TMax
	}
	if bound <= 0 {
		bound = timeout
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(r.Body))
	if err != nil {
		m.fail(err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Openrtb-Version", "2.5")
	resp, err := client.Do(req)
	if err != nil {
		m.fail(err)
		return
	}
	data, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close() // read to the end: the connection is reused
	if err != nil {
		m.fail(err)
		return
	}
	lat := time.Since(due)
	var br bidResponse
	if resp.StatusCode == http.StatusOK && len(data) > 0 && json.Unmarshal(data, &br) != nil {
		br = bidResponse{}
	}
	var n int64
	for _, sb := range br.SeatBid {
		n += int64(len(sb.Bid))
	}
	shed := isShed(resp, n)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.answered++
	m.status[resp.StatusCode]++
	us := max(1, lat.Microseconds())
	_ = m.hist.RecordValue(us)
	if shed {
		m.shed++
		return
	}
	_ = m.accepted.RecordValue(us)
	if lat > bound {
		m.late++
	}
	if n == 0 {
		return
	}
	m.bidResps++
	m.bids += n
	for _, sb := range br.SeatBid {
		s := m.seats[sb.Seat]
		if s == nil {
			s = &Seat{}
			m.seats[sb.Seat] = s
		}
		for _, b := range sb.Bid {
			micros := int64(math.Round(b.Price * 1e6))
			s.Bids++
			s.RevenueMicros += micros
			m.revenue += micros
			m.bidCPMSum += b.Price
		}
	}
}

func (m *meter) fail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.late++
	if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		m.timeouts++
	} else {
		m.failures++
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (m *meter) fill(r *Result) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r.Answered, r.Timeouts, r.Failures, r.Shed, r.Late = m.answered, m.timeouts, m.failures, m.shed, m.late
	r.Status = m.status
	r.BidResps, r.Bids, r.BidCPMSum, r.RevenueMicros = m.bidResps, m.bids, m.bidCPMSum, m.revenue
	r.Seats = make(map[string]Seat, len(m.seats))
	for k, s := range m.seats {
		r.Seats[k] = *s
	}
	r.Latency, r.AcceptedLatency = latencyOf(m.hist), latencyOf(m.accepted)
}

func latencyOf(h *hdrhistogram.Histogram) Latency {
	if h.TotalCount() == 0 {
		return Latency{}
	}
	us := func(v int64) float64 { return float64(v) / 1000 }
	return Latency{
		P50: us(h.ValueAtQuantile(50)), P90: us(h.ValueAtQuantile(90)), P99: us(h.ValueAtQuantile(99)),
		P999: us(h.ValueAtQuantile(99.9)), Max: us(h.Max()), Mean: h.Mean() / 1000,
	}
}
