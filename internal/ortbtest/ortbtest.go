// Package ortbtest holds what tests that script a DSP share: reading the OpenRTB bid
// request the gateway sends it. It is imported by tests only.
package ortbtest

import (
	"encoding/json"
	"io"
)

// FirstImp reads a bid request from body and returns its id and its first imp's id; both
// are "" when the body does not decode, impID is "" when the request has no imp.
func FirstImp(body io.Reader) (id, impID string) {
	var req struct {
		ID  string `json:"id"`
		Imp []struct {
			ID string `json:"id"`
		} `json:"imp"`
	}
	if err := json.NewDecoder(body).Decode(&req); err != nil {
		return "", ""
	}
	if len(req.Imp) == 0 {
		return req.ID, ""
	}
	return req.ID, req.Imp[0].ID
}
