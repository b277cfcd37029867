// Package logtest holds a log destination for tests: a buffer that the code under test
// writes (through a *slog.Logger, or as a command's stderr) while the test reads it. It is
// imported by tests only; a Buffer is safe for concurrent use.
package logtest

import (
	"bytes"
	"strings"
	"sync"
)

// Buffer is a bytes.Buffer safe for concurrent writes and reads. The zero value is empty
// and ready to use.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String is all that has been written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Lines is the lines that a slog text handler has written so far with the message msg, for
// a message that the handler quotes (msg="..."): one with a space, as the gateway's are.
func (b *Buffer) Lines(msg string) []string {
	var out []string
	for line := range strings.SplitSeq(b.String(), "\n") {
		if strings.Contains(line, `msg="`+msg+`"`) {
			out = append(out, line)
		}
	}
	return out
}
