// Package queue holds the bounded queue in front of the gateway's background writers (the
// win and loss notices, the bid log): senders never wait, and it may be closed while they
// send. It is safe for concurrent use.
package queue

import "sync"

// Bounded is a buffered channel that senders only ever try: a value that finds it full,
// or closed, is refused at once. Close may race Send; the consumer ranges over C, which
// ends once the queue is closed and drained.
type Bounded[T any] struct {
	C chan T // the consumer's end; only Close closes it

	mu     sync.RWMutex // guards closed against Send racing Close
	closed bool
}

// New returns an open queue holding up to n values.
func New[T any](n int) *Bounded[T] {
	return &Bounded[T]{C: make(chan T, n)}
}

// Send queues v and reports whether it did: false when the queue is full or closed.
func (q *Bounded[T]) Send(v T) bool {
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		return false
	}
	select {
	case q.C <- v:
		return true
	default:
		return false
	}
}

// Close stops taking values; those queued stay for the consumer. It may be called more
// than once.
func (q *Bounded[T]) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		close(q.C)
	}
}
