package e2e

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
)

// WriteMachine writes what a run's figures depend on: the CPU model and count, the
// memory, the load average (from /proc, when there is one) and the Go version.
func WriteMachine(w io.Writer) error {
	model, cpus := "", 0
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				cpus++
			}
		}
		_ = f.Close()
	}
	if cpus == 0 {
		cpus = runtime.NumCPU()
	}
	mem := firstLine("/proc/meminfo", "MemTotal:")
	load := firstLine("/proc/loadavg", "")
	_, err := fmt.Fprintf(w, "cpu: %s x %d (GOMAXPROCS %d)\nmemory: %s\nload average: %s\n%s %s/%s\n",
		orDash(model), cpus, runtime.GOMAXPROCS(0), orDash(mem), orDash(load), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return err
}

// firstLine returns the first line of the file that starts with prefix, prefix removed
// and trimmed ("" when there is none).
func firstLine(path, prefix string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			return strings.TrimSpace(rest)
		}
	}
	return ""
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
