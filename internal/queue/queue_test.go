package queue

import (
	"sync"
	"testing"
)

func TestSendRefusesWhenFullOrClosed(t *testing.T) {
	q := New[int](2)
	if !q.Send(1) || !q.Send(2) {
		t.Fatal("an open queue with room refused a value")
	}
	if q.Send(3) {
		t.Fatal("a full queue took a value")
	}
	q.Close()
	q.Close() // twice is fine
	if q.Send(4) {
		t.Fatal("a closed queue took a value")
	}
	var got []int
	for v := range q.C {
		got = append(got, v)
	}
	if len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Fatalf("drained %v, want [1 2]", got)
	}
}

// Close racing senders neither panics (a send on a closed channel) nor loses a value that
// Send reported queued.
func TestCloseRacingSend(t *testing.T) {
	for range 50 {
		q := New[int](1000)
		var wg sync.WaitGroup
		var mu sync.Mutex
		sent := 0
		for range 4 {
			wg.Go(func() {
				for j := range 100 {
					if q.Send(j) {
						mu.Lock()
						sent++
						mu.Unlock()
					}
				}
			})
		}
		q.Close()
		wg.Wait()
		n := 0
		for range q.C {
			n++
		}
		if n != sent {
			t.Fatalf("drained %d, Send reported %d queued", n, sent)
		}
	}
}
