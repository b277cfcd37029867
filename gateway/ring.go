package gateway

import (
	"sync"
	"time"
)

// ring holds counts C in one-minute slots over the last FiguresWindow of the gateway's
// clock: the ring of the DSPs' live figures and that of the edge's load. It is safe for
// concurrent use; the zero value is empty and ready.
type ring[C any] struct {
	mu    sync.Mutex
	first time.Time // the first time counted; zero before
	slots [figSlots]struct {
		minute int64
		c      C
	}
}

// update calls f on the counts of now's slot, which is emptied first when it last held an
// older minute.
func (r *ring[C]) update(now time.Time, f func(*C)) {
	m := now.Unix() / int64(figSlot/time.Second)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.first.IsZero() {
		r.first = now
	}
	s := &r.slots[int(m%int64(figSlots))]
	if s.minute != m {
		var zero C
		s.minute, s.c = m, zero
	}
	f(&s.c)
}

// window calls f on the counts of each slot of the last FiguresWindow at now and says how
// long they span: FiguresWindow, or less since the first count, 0 before it.
func (r *ring[C]) window(now time.Time, f func(*C)) time.Duration {
	m := now.Unix() / int64(figSlot/time.Second)
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.slots {
		if s := &r.slots[i]; s.minute > m-int64(figSlots) && s.minute <= m {
			f(&s.c)
		}
	}
	if r.first.IsZero() {
		return 0
	}
	return min(FiguresWindow, now.Sub(r.first))
}
