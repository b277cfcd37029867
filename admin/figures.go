package admin

import (
	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/bidsieve/bidsieve/stats"
)

// Figures gives the live traffic figures of each DSP (the gateway implements it). The API
// shows them as they come, live recall estimate included (see [stats.Figures]).
type Figures interface {
	// Figures returns the figures of every DSP by name. It must be cheap and safe to call
	// concurrently: the page asks every few seconds.
	Figures() map[string]stats.Figures
}

// Load gives the gateway's edge figures: the auctions that reached it and the share shed
// for load (the gateway implements it).
type Load interface {
	// Load returns the figures over the gateway's live window; cheap and concurrent-safe.
	Load() stats.Load
}

// Models gives the model in force (the gateway implements it).
type Models interface {
	// Model returns the model file in force, or nil when none is loaded. The caller does
	// not modify it.
	Model() *modelfile.File
}
