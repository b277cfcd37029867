// Package sim holds the simulated DSPs: the profile file of docs/DESIGN.md ("Simulator
// profiles"), loaded strictly, and each DSP's behaviour compiled from it.
//
// A DSP's bid probability for an imp is sigmoid(intent) x pacing x P(price >= floor),
// with the intent an additive logit of per-feature terms, affinities and interactions,
// zero outside its require. The feature values are read from the raw OpenRTB fields by
// this package's own parser (ParseAttrs), not by the gateway's feature extractor: the
// model must rediscover the behaviour, not share code with it.
//
// Outcomes are pure functions of (seed, DSP name, request id[, imp id]) (DrawRequest,
// DrawBid): a DSP answers a request the same way whatever else it is sent, in the offline
// simulator and in the HTTP one alike.
//
// Units: prices in CPM (USD), latencies in ms, hours in UTC. Profiles and DSPs are
// immutable after Load and safe for concurrent use.
//
// Subpackages: traffic generates publisher requests; dspserver serves the DSPs over HTTP;
// offline writes labelled bid logs.
package sim
