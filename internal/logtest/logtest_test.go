package logtest

import (
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"testing"
)

func TestBufferKeepsConcurrentLinesWhole(t *testing.T) {
	var b Buffer
	log := slog.New(slog.NewTextHandler(&b, nil))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				log.Info("a tick", "writer", i, "n", j)
			}
		})
	}
	log.Info("an other")
	wg.Wait()
	if got := len(b.Lines("a tick")); got != 8*50 {
		t.Errorf("%d tick lines, want %d", got, 8*50)
	}
	if got := b.Lines("an other"); len(got) != 1 {
		t.Errorf("other lines %q, want one", got)
	}
	if got := b.Lines("a tic"); got != nil {
		t.Errorf("a message is matched whole, got %d lines for a prefix", len(got))
	}
}

func TestBufferString(t *testing.T) {
	var b Buffer
	fmt.Fprint(&b, "a\n")
	fmt.Fprint(&b, "b")
	if got, want := b.String(), "a\nb"; !reflect.DeepEqual(got, want) {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
