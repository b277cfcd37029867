package admin_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	chromiumtest "github.com/bidsieve/bidsieve/internal/chromium"
)

// A minimal W3C WebDriver client for chromedriver: enough to drive the admin page from a
// test without a dependency.

type webDriver struct {
	t       *testing.T
	base    string // http://127.0.0.1:PORT/session/ID
	client  *http.Client
	cmd     *exec.Cmd
	waitErr chan error
}

// elementKey is the W3C key of an element reference.
const elementKey = "element-6066-11e4-a52e-4f735466cecf"

// findBrowser returns the paths of chromium and chromedriver; without them the test is
// skipped, or fails in CI.
func findBrowser(t *testing.T) (chromium, driver string) {
	t.Helper()
	chromium = chromiumtest.Find(t)
	driver = chromiumtest.Tool(t, "Debian: apt-get install chromium-driver", "chromedriver")
	return chromium, driver
}

// startBrowser starts chromedriver and a headless Chromium session of the given window size.
func startBrowser(t *testing.T, width, height int) *webDriver {
	t.Helper()
	chromium, driver := findBrowser(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(driver, "--port="+strconv.Itoa(port), "--allowed-ips=127.0.0.1")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chromedriver: %v", err)
	}
	wd := &webDriver{t: t, cmd: cmd, client: &http.Client{Transport: &http.Transport{}, Timeout: 60 * time.Second}, waitErr: make(chan error, 1)}
	go func() { wd.waitErr <- cmd.Wait() }()
	t.Cleanup(wd.stopDriver)

	root := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(20 * time.Second)
	for {
		var st struct {
			Value struct{ Ready bool } `json:"value"`
		}
		if err := wd.call("GET", root+"/status", nil, &st); err == nil && st.Value.Ready {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("chromedriver did not become ready in 20s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName": "chrome",
		"goog:chromeOptions": map[string]any{
			"binary": chromium,
			"args": append(chromiumtest.Flags(t.TempDir()),
				"--disable-dev-shm-usage", "--hide-scrollbars", "--force-device-scale-factor=1",
				fmt.Sprintf("--window-size=%d,%d", width, height)),
		},
	}}}
	var sess struct {
		Value struct {
			SessionID string `json:"sessionId"`
		} `json:"value"`
	}
	if err := wd.call("POST", root+"/session", caps, &sess); err != nil {
		t.Fatalf("start a Chromium session: %v", err)
	}
	wd.base = root + "/session/" + sess.Value.SessionID
	t.Cleanup(func() { _ = wd.call("DELETE", wd.base, nil, nil) })
	return wd
}

func (wd *webDriver) stopDriver() {
	if wd.cmd.Process != nil {
		_ = wd.cmd.Process.Kill()
		<-wd.waitErr
	}
	wd.client.CloseIdleConnections()
}

// call sends one WebDriver command; a WebDriver error answer is returned as an error.
func (wd *webDriver) call(method, url string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := wd.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != 200 {
		return fmt.Errorf("webdriver %s %s: %d %s", method, url, res.StatusCode, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

func (wd *webDriver) must(method, path string, body, out any) {
	wd.t.Helper()
	if err := wd.call(method, wd.base+path, body, out); err != nil {
		wd.t.Fatal(err)
	}
}

func (wd *webDriver) navigate(url string) {
	wd.must("POST", "/url", map[string]string{"url": url}, nil)
}

// find returns the element of a CSS selector, waiting for it up to 10s.
func (wd *webDriver) find(css string) string {
	wd.t.Helper()
	var id string
	wd.waitFor("element "+css, func() bool {
		var res struct {
			Value map[string]string `json:"value"`
		}
		if err := wd.call("POST", wd.base+"/element", map[string]string{"using": "css selector", "value": css}, &res); err != nil {
			return false
		}
		id = res.Value[elementKey]
		return id != ""
	})
	return id
}

func (wd *webDriver) click(css string) {
	wd.t.Helper()
	wd.must("POST", "/element/"+wd.find(css)+"/click", map[string]any{}, nil)
}

func (wd *webDriver) typeInto(css, text string) {
	wd.t.Helper()
	id := wd.find(css)
	wd.must("POST", "/element/"+id+"/clear", map[string]any{}, nil)
	wd.must("POST", "/element/"+id+"/value", map[string]string{"text": text}, nil)
}

// js runs a script in the page and decodes its result into out.
func (wd *webDriver) js(script string, out any, args ...any) {
	wd.t.Helper()
	if args == nil {
		args = []any{}
	}
	var res struct {
		Value json.RawMessage `json:"value"`
	}
	wd.must("POST", "/execute/sync", map[string]any{"script": script, "args": args}, &res)
	if out != nil {
		if err := json.Unmarshal(res.Value, out); err != nil {
			wd.t.Fatalf("script result %s: %v", res.Value, err)
		}
	}
}

// text returns the text of the first element matching css ("" when none).
func (wd *webDriver) text(css string) string {
	var s string
	wd.js(`const e = document.querySelector(arguments[0]); return e ? e.textContent : "";`, &s, css)
	return s
}

// waitFor polls cond for up to 10s.
func (wd *webDriver) waitFor(what string, cond func() bool) {
	wd.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			var res struct {
				Value string `json:"value"`
			}
			_ = wd.call("POST", wd.base+"/execute/sync", map[string]any{"script": "return document.body.innerText", "args": []any{}}, &res)
			wd.t.Fatalf("waited 10s for %s; the page shows:\n%s", what, res.Value)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitJS waits until a script returns true.
func (wd *webDriver) waitJS(what, script string, args ...any) {
	wd.t.Helper()
	wd.waitFor(what, func() bool {
		var ok bool
		wd.js(script, &ok, args...)
		return ok
	})
}

// screenshot returns a PNG of the viewport.
func (wd *webDriver) screenshot() []byte {
	wd.t.Helper()
	var res struct {
		Value string `json:"value"`
	}
	wd.must("GET", "/screenshot", nil, &res)
	png, err := base64.StdEncoding.DecodeString(res.Value)
	if err != nil {
		wd.t.Fatal(err)
	}
	return png
}

// writeFileIfAsked writes data to path when the environment variable is set.
func writeFileIfAsked(t *testing.T, env, path string, data []byte) {
	if os.Getenv(env) == "" {
		return
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}
