package admin

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// failureLimiter limits failed sign-ins per client address: each client has a bucket of
// burst failures that refills one every `every`; with the bucket empty, the client's
// requests are refused (429) until it refills, valid token or not, so that guessing
// tokens is slow. Successful requests cost nothing.
type failureLimiter struct {
	burst float64
	every time.Duration
	now   func() time.Time
	max   int // clients tracked at most; full buckets are forgotten first

	mu      sync.Mutex
	clients map[netip.Prefix]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newFailureLimiter(burst int, every time.Duration, now func() time.Time) *failureLimiter {
	return &failureLimiter{burst: float64(burst), every: every, now: now, max: 100_000, clients: map[netip.Prefix]*bucket{}}
}

// refill brings b up to date; the caller holds mu.
func (l *failureLimiter) refill(b *bucket, now time.Time) {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = math.Min(l.burst, b.tokens+float64(d)/float64(l.every))
		b.at = now
	}
}

// blocked reports whether the client may not try now, and for how long.
func (l *failureLimiter) blocked(client netip.Prefix) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.clients[client]
	if !ok {
		return 0, false
	}
	now := l.now()
	l.refill(b, now)
	if b.tokens >= 1 {
		return 0, false
	}
	return time.Duration((1 - b.tokens) * float64(l.every)), true
}

// fail records a failed sign-in.
func (l *failureLimiter) fail(client netip.Prefix) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.clients[client]
	if !ok {
		if len(l.clients) >= l.max {
			l.pruneLocked(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.clients[client] = b
	}
	l.refill(b, now)
	b.tokens = math.Max(0, b.tokens-1)
}

// pruneLocked forgets clients whose bucket is full again; if that is not enough (a flood
// from many addresses), it forgets arbitrary ones: the limit is per address, and an
// attacker with that many addresses is not stopped by it anyway.
func (l *failureLimiter) pruneLocked(now time.Time) {
	for k, b := range l.clients {
		l.refill(b, now)
		if b.tokens >= l.burst {
			delete(l.clients, k)
		}
	}
	for k := range l.clients {
		if len(l.clients) < l.max {
			break
		}
		delete(l.clients, k)
	}
}

// clientOf returns the client's address as the limiter counts it: the IPv4 address, or
// the /64 network of an IPv6 address (one host usually holds a whole /64). It uses the
// connection's address, not X-Forwarded-For, which a client can forge.
func clientOf(r *http.Request) netip.Prefix {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{}
	}
	addr = addr.Unmap()
	if addr.Is4() {
		return netip.PrefixFrom(addr, 32)
	}
	p, _ := addr.WithZone("").Prefix(64)
	return p
}
