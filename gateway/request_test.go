package gateway

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
)

// TestGzipBombStaysWithinTheLimit: a body that inflates to 64 times the limit is refused
// with 413 having used memory of the order of the limit, not of the inflated size.
func TestGzipBombStaysWithinTheLimit(t *testing.T) {
	const limit = 256 << 10
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	_, _ = w.Write(make([]byte, 64*limit))
	_ = w.Close()
	if z.Len() > limit {
		t.Fatalf("the bomb is %d bytes compressed, over the limit itself", z.Len())
	}
	buf := new(bytes.Buffer)
	req := httptest.NewRequest(http.MethodPost, "/openrtb2/auction?gzip=1", bytes.NewReader(z.Bytes()))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rerr := readBody(req, limit, buf)
	runtime.ReadMemStats(&after)
	if rerr == nil || rerr.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("readBody = %v, want 413", rerr)
	}
	got := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d bytes for a %d-byte bomb of %d bytes inflated", got, z.Len(), 64*limit)
	if got > 16*limit { // the race detector about doubles it; inflating would take 64x
		t.Errorf("reading the bomb allocated %d bytes, want at most %d (16x the limit)", got, 16*limit)
	}
}
