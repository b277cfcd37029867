// Package traffic generates publisher traffic: OpenRTB 2.5 bid requests drawn from the
// `traffic` section of simulator profiles (docs/DESIGN.md, "Simulator profiles").
//
// A universe of heterogeneous publishers (sites and apps, each with a home country, a
// dominant device type, a few formats, a floor factor and a tmax; volume Zipf by rank) is
// built from traffic.seed alone, so that runs with different request seeds see the same
// publishers. Requests are then drawn from the seed given to New: device, OS and user
// agent consistent with each other, user ids and IFAs at the configured rate, one to a
// few imps with banner, video, native or audio objects, floors in USD. DayTimes spreads
// a day's requests over the hours following a day curve.
//
// A Generator belongs to one goroutine. Floors are CPM in USD; tmax in ms.
package traffic
