package dsp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Kind classifies a failed call.
type Kind uint8

// Kinds of failure.
const (
	KindTimeout   Kind = iota + 1 // the call's deadline passed
	KindCanceled                  // the caller gave up (client gone, shutdown)
	KindTransport                 // connection refused, reset, DNS...
	KindStatus                    // an HTTP status other than 200 and 204
	KindTooLarge                  // the answer exceeds the size limit
	KindMalformed                 // not a usable OpenRTB BidResponse
)

var kindNames = [...]string{"", "timeout", "canceled", "transport", "status", "too_large", "malformed"}

func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return "unknown"
}

// Kinds lists every Kind, for metric label sets.
func Kinds() []Kind {
	return []Kind{KindTimeout, KindCanceled, KindTransport, KindStatus, KindTooLarge, KindMalformed}
}

// Error is a failed call to a DSP.
type Error struct {
	Kind   Kind
	Status int // the HTTP status, for KindStatus
	// RetryAfter is the answer's Retry-After header, raw (delta-seconds or an HTTP-date),
	// for KindStatus; "" when absent. A 429 carries it to slow the gateway down.
	RetryAfter string
	Err        error
}

func (e *Error) Error() string {
	switch {
	case e.Kind == KindStatus:
		return fmt.Sprintf("dsp answered HTTP %d", e.Status)
	case e.Err != nil:
		return fmt.Sprintf("dsp %s: %v", e.Kind, e.Err)
	default:
		return "dsp " + e.Kind.String()
	}
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of err: 0 for nil, KindTransport for an error that is not an *Error.
func KindOf(err error) Kind {
	if err == nil {
		return 0
	}
	if e, ok := err.(*Error); ok { //nolint:errorlint // the fast path; errors.As below for wrapped ones
		return e.Kind
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindTransport
}

// TransportOptions tune the shared HTTP transport.
type TransportOptions struct {
	MaxIdleConnsPerHost int           // keep-alive connections kept per DSP host
	DialTimeout         time.Duration // TCP connect (and TLS handshake) limit
	IdleConnTimeout     time.Duration // an idle keep-alive connection is closed after this
}

// NewTransport returns the one HTTP transport for every DSP call and notice: large
// keep-alive pools per host, dial and TLS timeouts, compression accepted. Per-call deadlines
// come from the request contexts.
func NewTransport(o TransportOptions) *http.Transport {
	d := &net.Dialer{Timeout: o.DialTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 nil, // DSP traffic never goes through an environment proxy
		DialContext:           d.DialContext,
		MaxIdleConns:          o.MaxIdleConnsPerHost * 16,
		MaxIdleConnsPerHost:   o.MaxIdleConnsPerHost,
		IdleConnTimeout:       o.IdleConnTimeout,
		TLSHandshakeTimeout:   o.DialTimeout,
		ExpectContinueTimeout: 0,
		ForceAttemptHTTP2:     true,
		WriteBufferSize:       16 << 10,
		ReadBufferSize:        16 << 10,
	}
}

// Client posts bid requests to DSPs.
type Client struct {
	hc       *http.Client
	maxBytes int64
}

// NewClient returns a Client sending through rt that drops answers larger than
// maxResponseBytes.
func NewClient(rt http.RoundTripper, maxResponseBytes int64) *Client {
	return &Client{
		hc: &http.Client{
			Transport: rt,
			// A DSP's bid endpoint answers; it does not redirect. Never follow one.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		maxBytes: maxResponseBytes,
	}
}

// Post sends the OpenRTB JSON body to endpoint and writes the answer's body into buf. It
// returns the HTTP status: 200 with the body in buf, or 204 (no bid, buf untouched). Any
// other status, a transport failure, a timeout or an answer over the size limit is an
// *Error. The deadline is ctx's.
func (c *Client) Post(ctx context.Context, endpoint string, body []byte, buf *bytes.Buffer) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, &Error{Kind: KindTransport, Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Openrtb-Version", "2.6")
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, classify(ctx, err)
	}
	defer func() {
		// Drain a little so that the connection can be reused (pointless when more is
		// announced), then close.
		if resp.ContentLength <= drainBytes {
			_, _ = io.CopyN(io.Discard, resp.Body, drainBytes)
		}
		_ = resp.Body.Close()
	}()
	switch resp.StatusCode {
	case http.StatusNoContent:
		return http.StatusNoContent, nil
	case http.StatusOK:
	default:
		return resp.StatusCode, &Error{Kind: KindStatus, Status: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After")}
	}
	// An answer announced as too large is refused unread; one of a known size is read
	// into a buffer grown once (ReadFrom wants MinRead bytes free before each read).
	if resp.ContentLength > c.maxBytes {
		return resp.StatusCode, &Error{Kind: KindTooLarge, Err: fmt.Errorf("answer of %d bytes, larger than %d", resp.ContentLength, c.maxBytes)}
	}
	if resp.ContentLength > 0 {
		buf.Grow(int(resp.ContentLength) + bytes.MinRead)
	}
	n, err := buf.ReadFrom(io.LimitReader(resp.Body, c.maxBytes+1))
	if err != nil {
		return resp.StatusCode, classify(ctx, err)
	}
	if n > c.maxBytes {
		return resp.StatusCode, &Error{Kind: KindTooLarge, Err: fmt.Errorf("answer larger than %d bytes", c.maxBytes)}
	}
	return http.StatusOK, nil
}

// drainBytes is how much of an unread answer is read to keep its connection.
const drainBytes = 4 << 10

func classify(ctx context.Context, err error) *Error {
	var ne net.Error
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return &Error{Kind: KindTimeout, Err: err}
	case errors.Is(err, context.Canceled):
		return &Error{Kind: KindCanceled, Err: err}
	default:
		return &Error{Kind: KindTransport, Err: err}
	}
}
