// Package chromium is the browser tests' common ground: it finds Debian's Chromium (and
// other tools a browser test needs) and holds the flags every test launches it with, so
// that the admin page's WebDriver test and the Prebid.js test run the same browser the
// same way.
package chromium

import (
	"os"
	"os/exec"
	"testing"
)

// Find returns the path of chromium (or chromium-browser); when there is none it calls
// Missing.
func Find(t testing.TB) string {
	t.Helper()
	return Tool(t, "Debian: apt-get install chromium", "chromium", "chromium-browser")
}

// Tool returns the path of the first of names on PATH; when there is none it calls
// Missing with the hint saying how to get one.
func Tool(t testing.TB, hint string, names ...string) string {
	t.Helper()
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	Missing(t, "%q not found on PATH (%s)", names, hint)
	return ""
}

// Missing stops a test that lacks a tool: in CI (CI=true in the environment) the test
// fails, since a skipped browser test there would hide a broken build; elsewhere it is
// skipped with the message.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("browser test cannot run: "+format, args...)
	}
	t.Skipf("browser test skipped: "+format, args...)
}

// InCI reports whether the tests run in CI (CI=true or CI=1).
func InCI() bool {
	v := os.Getenv("CI")
	return v == "true" || v == "1"
}

// Flags are the command-line flags every test starts Chromium with: headless, no sandbox
// (CI runs as root in a container), no GPU, no QUIC, and nothing that talks to Google
// (first-run, background networking, component updates, sync), with a fresh profile in
// userDataDir.
func Flags(userDataDir string) []string {
	return []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + userDataDir,
	}
}
