package ortbtest

import (
	"strings"
	"testing"
)

func TestFirstImp(t *testing.T) {
	tests := []struct {
		body, id, imp string
	}{
		{`{"id":"r1","imp":[{"id":"1","banner":{"w":300,"h":250}},{"id":"2"}]}`, "r1", "1"},
		{`{"id":"r2","imp":[]}`, "r2", ""},
		{`{"id":`, "", ""},
	}
	for _, tt := range tests {
		id, imp := FirstImp(strings.NewReader(tt.body))
		if id != tt.id || imp != tt.imp {
			t.Errorf("FirstImp(%s) = %q, %q, want %q, %q", tt.body, id, imp, tt.id, tt.imp)
		}
	}
}
