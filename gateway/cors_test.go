package gateway

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// corsDo sends method to the auction endpoint with the given headers (and the body for a
// POST) and returns the answer, body read.
func (tg *testGateway) corsDo(t *testing.T, method string, headers map[string]string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, tg.srv.URL+"/openrtb2/auction", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := tg.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(resp.Body)
	return resp, out.Bytes()
}

const pageOrigin = "https://news.example"

func TestCORSPreflight(t *testing.T) {
	a := newFakeDSP(t, bidOn(1, nil))
	tg := newTestGateway(t, testConfig(a))
	resp, body := tg.corsDo(t, http.MethodOptions, map[string]string{
		"Origin": pageOrigin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-pbs-account",
	}, nil)
	h := resp.Header
	if resp.StatusCode != http.StatusNoContent || len(body) != 0 {
		t.Errorf("preflight: %d %q, want 204 and nothing", resp.StatusCode, body)
	}
	for k, want := range map[string]string{
		"Access-Control-Allow-Origin": pageOrigin, "Access-Control-Allow-Credentials": "true",
		"Access-Control-Allow-Methods": "POST, OPTIONS", "Access-Control-Allow-Headers": "content-type,x-pbs-account",
		"Access-Control-Max-Age": "600",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if v := h.Values("Vary"); !slices.Contains(v, "Origin") || !slices.Contains(v, "Access-Control-Request-Headers") {
		t.Errorf("Vary %q, want Origin and the preflight's request headers", v)
	}
	if n := a.hits.Load(); n != 0 {
		t.Errorf("a preflight reached the DSP (%d calls)", n)
	}

	// Requested headers that are not a header list are not echoed.
	resp, _ = tg.corsDo(t, http.MethodOptions, map[string]string{"Origin": pageOrigin, "Access-Control-Request-Headers": "x-a; evil=1"}, nil)
	if got := resp.Header.Get("Access-Control-Allow-Headers"); got != "" {
		t.Errorf("a malformed header list was echoed: %q", got)
	}
	// OPTIONS without Origin is not CORS: 204 with Allow, no CORS headers.
	resp, _ = tg.corsDo(t, http.MethodOptions, nil, nil)
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Allow") != "POST, OPTIONS" || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("OPTIONS without Origin: %d, Allow %q, Allow-Origin %q", resp.StatusCode, resp.Header.Get("Allow"), resp.Header.Get("Access-Control-Allow-Origin"))
	}
}

// TestCORSTextPlainPost is Prebid.js's request: text/plain JSON, from a page's origin.
func TestCORSTextPlainPost(t *testing.T) {
	a := newFakeDSP(t, bidOn(1.5, nil))
	tg := newTestGateway(t, testConfig(a))
	raw, _ := json.Marshal(request("r1", 0))
	resp, body := tg.corsDo(t, http.MethodPost, map[string]string{"Origin": pageOrigin, "Content-Type": "text/plain;charset=UTF-8"}, raw)
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"crid":"cr1"`)) {
		t.Fatalf("text/plain POST: %d %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != pageOrigin {
		t.Errorf("Allow-Origin %q, want the page's %q", got, pageOrigin)
	}
	if got := resp.Header.Get("Access-Control-Allow-Credentials"); got != "true" {
		t.Errorf("Allow-Credentials %q, want true", got)
	}
	if got := resp.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type %q", got)
	}
	// A server (no Origin) gets no CORS headers.
	resp, _ = tg.corsDo(t, http.MethodPost, map[string]string{"Content-Type": "application/json"}, raw)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("without Origin: %d, Allow-Origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}

func TestCORSAllowedOrigins(t *testing.T) {
	a := newFakeDSP(t, bidOn(1, nil))
	cfg := testConfig(a)
	cfg.CORS.AllowedOrigins = []string{"https://News.Example", "http://127.0.0.1:8000"}
	tg := newTestGateway(t, cfg)
	raw, _ := json.Marshal(request("r1", 0))

	resp, body := tg.corsDo(t, http.MethodPost, map[string]string{"Origin": pageOrigin}, raw)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != pageOrigin {
		t.Errorf("listed origin (other case): %d, Allow-Origin %q, %s", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"), body)
	}
	for _, method := range []string{http.MethodPost, http.MethodOptions} {
		hits := a.hits.Load()
		resp, body = tg.corsDo(t, method, map[string]string{"Origin": "https://other.example"}, raw)
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s from an origin not listed: %d, Allow-Origin %q, want 403 and none", method, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
		}
		if e := decodeError(t, body); e.Field != "Origin" || !strings.Contains(e.Error, "https://other.example") {
			t.Errorf("%s refusal %+v, want the Origin named", method, e)
		}
		if a.hits.Load() != hits {
			t.Errorf("%s from an origin not listed reached the DSP", method)
		}
	}
	if n := tg.metric(t, "bidsieve_auctions_total", "result", resultInvalid); n != 1 {
		t.Errorf("invalid auctions %d, want 1 (the refused POST; a refused preflight is no auction)", n)
	}

	// The list follows the configuration in force.
	next := tg.g.Config().Clone()
	next.CORS.AllowedOrigins = nil
	if err := tg.g.Apply(next); err != nil {
		t.Fatal(err)
	}
	resp, _ = tg.corsDo(t, http.MethodPost, map[string]string{"Origin": "https://other.example"}, raw)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "https://other.example" {
		t.Errorf("after allowing any origin: %d, Allow-Origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}
