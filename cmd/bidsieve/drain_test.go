package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/internal/logtest"
	"github.com/bidsieve/bidsieve/internal/ortbtest"
	"github.com/bidsieve/bidsieve/internal/waittest"
)

// TestServeDrainsOnSIGTERM is a replica's stop in a fleet, signal included: auctions
// arrive from four clients when SIGTERM comes. /readyz must fail at once while auctions
// are still answered for server.drain_delay; an auction still running when the listener
// closes gets its answer; every accepted auction answers 200, fires its win notice and has
// its bid-log row on disk; and the process returns within server.drain_timeout.
func TestServeDrainsOnSIGTERM(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const (
		drainDelay   = 2 * time.Second
		drainTimeout = 12 * time.Second
		slowDSP      = 2500 * time.Millisecond // the last auction outlives the drain delay
	)
	var wins atomic.Int64
	noticeSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wins.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer noticeSrv.Close()
	var dspCalls, slowCalls atomic.Int64
	dspSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dspCalls.Add(1)
		reqID, impID := ortbtest.FirstImp(r.Body)
		delay := 20 * time.Millisecond
		if strings.HasPrefix(reqID, "slow") {
			slowCalls.Add(1)
			delay = slowDSP
		}
		time.Sleep(delay)
		fmt.Fprintf(w, `{"id":%q,"seatbid":[{"bid":[{"id":"b","impid":%q,"price":1.5,"crid":"c","nurl":%q}]}]}`,
			reqID, impID, noticeSrv.URL+"/win?price=${AUCTION_PRICE}")
	}))
	defer dspSrv.Close()

	addr := freeAddr(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "bidsieve.yaml")
	cfg := fmt.Sprintf(`listen: %q
admin_listen: ""
server: {drain_delay: %s, drain_timeout: %s}
auction: {default_tmax: 4s, max_tmax: 4s}
%sdsps:
  - {name: a, endpoint: %q, timeout: 3500ms, notice_hosts: [127.0.0.1]}
`, addr, drainDelay, drainTimeout, dataKeys(dir), dspSrv.URL+"/bid/a")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	// The command as main runs it: SIGTERM reaches it through signal.NotifyContext.
	var stderr logtest.Buffer
	exited := make(chan int, 1)
	go func() { exited <- mainErr([]string{"serve", "--config", path}, io.Discard, &stderr) }()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	get := func(p string) (int, error) { return statusOf(client.Get("http://" + addr + p)) }
	waittest.For(t, "the gateway to be ready", func() bool { s, _ := get("/readyz"); return s == http.StatusOK })

	var (
		mu       sync.Mutex
		answered = map[string]int{} // request id -> status; every accepted one must be 200
		failures []string
	)
	auction := func(id string) {
		body := fmt.Sprintf(`{"id":%q,"imp":[{"id":"1","banner":{"w":300,"h":250}}]}`, id)
		status, err := statusOf(client.Post("http://"+addr+"/openrtb2/auction", "application/json", strings.NewReader(body)))
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failures = append(failures, fmt.Sprintf("%s: %v", id, err))
			return
		}
		answered[id] = status
	}
	stopLoad := make(chan struct{})
	var load sync.WaitGroup
	for w := range 4 {
		load.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stopLoad:
					return
				default:
				}
				auction(fmt.Sprintf("w%d-%d", w, i))
			}
		})
	}
	waittest.For(t, "auctions under load", func() bool { return dspCalls.Load() >= 20 })

	signalled := time.Now()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Not ready at once: the first answers after the signal are 503, from a listener
	// that still serves.
	var notReady time.Duration
	waittest.For(t, "/readyz to fail", func() bool {
		s, err := get("/readyz")
		if err != nil {
			t.Fatalf("/readyz after SIGTERM: %v (the listener closed before the drain delay)", err)
		}
		notReady = time.Since(signalled)
		return s == http.StatusServiceUnavailable
	})
	if notReady > drainDelay/2 {
		t.Errorf("/readyz failed %v after SIGTERM, want at once", notReady)
	}
	if s, err := get("/healthz"); err != nil || s != http.StatusOK {
		t.Errorf("/healthz while draining: %d, %v; want 200 (the process is alive)", s, err)
	}
	// An auction that starts during the delay and is still running when it ends.
	slowDone := make(chan time.Duration, 1)
	go func() { auction("slow-1"); slowDone <- time.Since(signalled) }()
	waittest.For(t, "the slow auction's DSP call", func() bool { return slowCalls.Load() == 1 })
	time.Sleep(100 * time.Millisecond) // the load balancer's last requests
	close(stopLoad)
	load.Wait()
	if time.Since(signalled) >= drainDelay {
		t.Fatalf("the load ran %v past the signal, beyond the %v drain delay: the machine is too slow for this test's timing", time.Since(signalled), drainDelay)
	}

	var code int
	select {
	case code = <-exited:
	case <-time.After(drainTimeout + 5*time.Second):
		t.Fatalf("serve did not exit within %v of SIGTERM", drainTimeout+5*time.Second)
	}
	stopped := time.Since(signalled)
	if code != 0 {
		t.Fatalf("serve exited %d:\n%s", code, stderr.String())
	}
	if stopped < drainDelay {
		t.Errorf("serve exited %v after SIGTERM, before the %v drain delay ended", stopped, drainDelay)
	}
	if stopped > drainTimeout {
		t.Errorf("serve exited %v after SIGTERM, past server.drain_timeout %v", stopped, drainTimeout)
	}
	if d := <-slowDone; d < drainDelay {
		t.Errorf("the slow auction ended %v after the signal, before the listener closed: it tested nothing", d)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(failures) > 0 {
		t.Errorf("%d auctions failed during the drain, e.g. %v", len(failures), failures[0])
	}
	for id, s := range answered {
		if s != http.StatusOK {
			t.Errorf("auction %s answered %d during the drain, want 200", id, s)
		}
	}
	if answered["slow-1"] != http.StatusOK {
		t.Errorf("the auction in flight at the listener's close answered %d, want 200", answered["slow-1"])
	}
	if got := wins.Load(); got != int64(len(answered)) {
		t.Errorf("%d win notices fired for %d auctions won", got, len(answered))
	}

	// Every accepted auction's row is in a published bid-log file.
	r, err := bidlog.OpenDir(filepath.Join(dir, "bidlog"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	logged := map[string]int{}
	rows := make([]bidlog.Row, 256)
	for {
		n, err := r.Read(rows)
		for _, row := range rows[:n] {
			logged[row.RequestID]++
		}
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	for id := range answered {
		if logged[id] != 1 {
			t.Errorf("auction %s has %d bid-log rows, want 1", id, logged[id])
		}
	}
	if len(logged) != len(answered) {
		t.Errorf("the bid log holds %d auctions, %d were answered", len(logged), len(answered))
	}
	t.Logf("%d auctions during the drain; /readyz failed %v after SIGTERM; exit after %v", len(answered), notReady.Round(time.Millisecond), stopped.Round(time.Millisecond))
}
