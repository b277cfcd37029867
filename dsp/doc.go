// Package dsp talks to demand partners over HTTP: Client posts OpenRTB bid requests through
// one tuned, shared transport and reads the answers with a size limit; Decode parses an
// answer without trusting it; Notifier fires win and loss notices from a bounded pool of
// workers, only to the hosts a DSP's configuration allows.
//
// Errors are *Error values with a Kind (timeout, transport, status, too_large, malformed,
// canceled) that the gateway counts per DSP and feeds to the DSP's circuit breaker; a status
// answer keeps its Retry-After header, which package dsp/health honours for a 429.
//
// Client and Notifier are safe for concurrent use. Sizes are bytes; timeouts come from the
// caller's context (Client) or the notifier's options.
package dsp
