package dsp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prebid/openrtb/v19/openrtb2"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newTestClient(t *testing.T, maxBytes int64) *Client {
	t.Helper()
	tr := NewTransport(TransportOptions{MaxIdleConnsPerHost: 4, DialTimeout: time.Second, IdleConnTimeout: time.Second})
	t.Cleanup(tr.CloseIdleConnections)
	return NewClient(tr, maxBytes)
}

func TestClientPost(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // lets the server notice a client that hangs up
		switch r.URL.Path {
		case "/bid":
			if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			_, _ = w.Write([]byte(`{"id":"r1"}`))
		case "/nobid":
			w.WriteHeader(http.StatusNoContent)
		case "/boom":
			w.WriteHeader(http.StatusInternalServerError)
		case "/busy":
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusTooManyRequests)
		case "/huge": // with a Content-Length
			_, _ = w.Write(bytes.Repeat([]byte("x"), 2048))
		case "/huge-chunked": // without: the limit stops the read
			for range 4 {
				_, _ = w.Write(bytes.Repeat([]byte("x"), 512))
				w.(http.Flusher).Flush()
			}
		case "/huge-announced": // refused before the body comes
			w.Header().Set("Content-Length", "1048576")
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		case "/exact": // exactly the limit
			_, _ = w.Write(bytes.Repeat([]byte("x"), 1024))
		case "/redirect":
			http.Redirect(w, r, "/bid", http.StatusFound)
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}
	}))
	defer srv.Close()
	c := newTestClient(t, 1024)

	tests := []struct {
		path   string
		status int
		kind   Kind
		body   string
	}{
		{"/bid", 200, 0, `{"id":"r1"}`},
		{"/nobid", 204, 0, ""},
		{"/boom", 500, KindStatus, ""},
		{"/busy", 429, KindStatus, ""},
		{"/huge", 200, KindTooLarge, ""},
		{"/huge-chunked", 200, KindTooLarge, ""},
		{"/huge-announced", 200, KindTooLarge, ""},
		{"/exact", 200, 0, strings.Repeat("x", 1024)},
		{"/redirect", 302, KindStatus, ""},
		{"/slow", 0, KindTimeout, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			var buf bytes.Buffer
			start := time.Now()
			status, err := c.Post(ctx, srv.URL+tt.path, []byte(`{"id":"r1"}`), &buf)
			if status != tt.status {
				t.Errorf("status = %d, want %d", status, tt.status)
			}
			if tt.kind == 0 {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if buf.String() != tt.body {
					t.Errorf("body = %q, want %q", buf.String(), tt.body)
				}
				return
			}
			if KindOf(err) != tt.kind {
				t.Errorf("err = %v (kind %v), want kind %v", err, KindOf(err), tt.kind)
			}
			if time.Since(start) > time.Second {
				t.Errorf("took %v: the deadline was not honoured", time.Since(start))
			}
		})
	}

	t.Run("retry-after", func(t *testing.T) {
		var buf bytes.Buffer
		_, err := c.Post(context.Background(), srv.URL+"/busy", nil, &buf)
		var e *Error
		if !errors.As(err, &e) || e.Status != http.StatusTooManyRequests || e.RetryAfter != "3" {
			t.Fatalf("err = %#v, want a 429 with Retry-After 3", err)
		}
		if _, err := c.Post(context.Background(), srv.URL+"/boom", nil, &buf); !errors.As(err, &e) || e.RetryAfter != "" {
			t.Errorf("a 500 without Retry-After: err = %#v, want RetryAfter empty", err)
		}
	})
	t.Run("refused", func(t *testing.T) {
		var buf bytes.Buffer
		_, err := c.Post(context.Background(), "http://127.0.0.1:1/bid", nil, &buf)
		if KindOf(err) != KindTransport {
			t.Errorf("err = %v, want a transport error", err)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var buf bytes.Buffer
		_, err := c.Post(ctx, srv.URL+"/slow", nil, &buf)
		if KindOf(err) != KindCanceled {
			t.Errorf("err = %v, want canceled", err)
		}
	})
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		body string
		bids bool
		kind Kind
	}{
		{"empty body is a no-bid", "", false, 0},
		{"whitespace is a no-bid", " \n", false, 0},
		{"no seatbid is a no-bid", `{"id":"r1","nbr":2}`, false, 0},
		{"empty seatbid is a no-bid", `{"id":"r1","seatbid":[{"bid":[]}]}`, false, 0},
		{"a bid", `{"id":"r1","seatbid":[{"seat":"s","bid":[{"id":"b","impid":"1","price":1.5}]}]}`, true, 0},
		{"not JSON", `<html>`, false, KindMalformed},
		{"wrong types", `{"id":"r1","seatbid":[{"bid":[{"id":"b","impid":"1","price":"1.5"}]}]}`, false, KindMalformed},
		{"trailing garbage", `{"id":"r1"} x`, false, KindMalformed},
		{"another request's id", `{"id":"r2","seatbid":[{"bid":[{"id":"b","impid":"1","price":1}]}]}`, false, KindMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var resp openrtb2.BidResponse
			bids, err := Decode([]byte(tt.body), "r1", &resp)
			if bids != tt.bids {
				t.Errorf("bids = %v, want %v", bids, tt.bids)
			}
			switch {
			case tt.kind == 0 && err != nil:
				t.Errorf("err = %v", err)
			case tt.kind != 0 && KindOf(err) != tt.kind:
				t.Errorf("err = %v, want kind %v", err, tt.kind)
			}
		})
	}
}

func TestHostAllowed(t *testing.T) {
	hosts := []string{"127.0.0.1", "Notice.Example", "*.dsp.example", "[::1]"}
	tests := []struct {
		url  string
		want bool
	}{
		{"http://127.0.0.1:9001/win?p=1", true},
		{"https://notice.example/w", true},
		{"https://a.b.dsp.example/w", true},
		{"https://dsp.example/w", false}, // the wildcard is for subdomains
		{"https://evildsp.example/w", false},
		{"http://[::1]:80/w", true},
		{"http://127.0.0.2/w", false},
		{"http://127.0.0.1@evil.example/w", false}, // userinfo tricks
		{"ftp://127.0.0.1/w", false},
		{"//127.0.0.1/w", false},
		{"not a url", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := HostAllowed(tt.url, hosts); got != tt.want {
			t.Errorf("HostAllowed(%q) = %v, want %v", tt.url, got, tt.want)
		}
	}
	if HostAllowed("http://127.0.0.1/", nil) {
		t.Error("no notice_hosts must allow nothing")
	}
}

func TestNotifier(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * time.Millisecond)
		mu.Lock()
		got = append(got, r.URL.RequestURI())
		mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/redirect") {
			http.Redirect(w, r, "http://forbidden.example/", http.StatusFound)
		}
	}))
	defer srv.Close()
	tr := NewTransport(TransportOptions{MaxIdleConnsPerHost: 4, DialTimeout: time.Second, IdleConnTimeout: time.Second})
	defer tr.CloseIdleConnections()
	n := NewNotifier(NotifierOptions{Transport: tr, Workers: 2, Queue: 100, Timeout: time.Second})
	allowed := []string{"127.0.0.1"}
	for i := range 20 {
		if !n.Send(NoticeWin, srv.URL+"/win/"+string(rune('a'+i)), allowed) {
			t.Fatalf("notice %d not queued", i)
		}
	}
	if n.Send(NoticeLoss, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)+"/loss", allowed) {
		t.Error("a notice to a host not in notice_hosts was queued")
	}
	n.Send(NoticeWin, srv.URL+"/redirect", allowed)
	if err := n.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 21 {
		t.Errorf("the server saw %d notices, want the 21 queued before Close (drained): %v", len(got), got)
	}
	for _, u := range got {
		if strings.HasPrefix(u, "/loss") {
			t.Errorf("forbidden notice reached the server: %s", u)
		}
	}
	if n.Send(NoticeWin, srv.URL+"/late", allowed) {
		t.Error("Send after Close queued a notice")
	}
}

func TestNotifierDropsWhenFullAndCloseHonoursDeadline(t *testing.T) {
	release := make(chan struct{})
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	tr := NewTransport(TransportOptions{MaxIdleConnsPerHost: 4, DialTimeout: time.Second, IdleConnTimeout: time.Second})
	defer tr.CloseIdleConnections()
	n := NewNotifier(NotifierOptions{Transport: tr, Workers: 1, Queue: 2, Timeout: 10 * time.Second})
	allowed := []string{"127.0.0.1"}
	queued := 0
	for range 10 {
		if n.Send(NoticeWin, srv.URL+"/w", allowed) {
			queued++
		}
	}
	if queued > 3 { // one in the worker, two in the queue
		t.Errorf("%d notices queued with 1 worker and a queue of 2", queued)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := n.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want the deadline error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v past its deadline", d)
	}
	if hits.Load() > 1 {
		t.Errorf("%d notices reached the server after the deadline dropped them", hits.Load())
	}
}
