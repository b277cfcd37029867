// Package health judges one DSP's health from the outcomes of the gateway's calls to it,
// and says whether the next call may be sent. It is three mechanisms in one Breaker:
//
//   - A circuit breaker on the failure ratio: it opens when, over a sliding window
//     (breaker.window, kept in 10 buckets), at least breaker.min_calls counted calls were
//     made and at least breaker.failure_ratio of them failed. A run of failures opens
//     nothing by itself: 20 timeouts in a row among 1,000 calls is a 2% blip.
//   - A trial share while open: an open breaker still sends breaker.trial_share of the
//     traffic (every 1/share-th call, evenly spread), so a DSP is never cut to zero and its
//     recovery is seen at once. It closes when at least breaker.close_ratio of the latest
//     breaker.trial_calls trial calls succeeded; closing empties the window.
//   - A back-off on HTTP 429: a 429 is no failure; it multiplies the send share by
//     breaker.rate_decrease (at most once per round trip: a 429 to a call sent before the
//     last decrease is not a new signal), never below breaker.rate_floor, and the share
//     then grows back by breaker.rate_recovery per second (AIMD). A Retry-After header,
//     delta-seconds or HTTP-date, capped at breaker.max_retry_after, stops every call to
//     the DSP until it passes; the share starts growing back from then.
//
// # Whose timeout
//
// A timeout counts against the DSP only when the DSP had its whole budget. It is the
// gateway's own, and counted nowhere but in Stats.Ours, when any of these holds, each with
// breaker.lag_tolerance (T) of slack:
//
//   - Deadline - Started < Timeout - T: the call was not given the DSP's configured timeout
//     (the auction's remaining time was shorter, or the call started late against a
//     deadline set before it);
//   - Started - Planned > T: the gateway started the call late (the auction began late,
//     the call waited for a goroutine or a connection, the process is overloaded);
//   - Ended - Deadline > T: the gateway saw the deadline pass late (an overloaded process
//     that did not run the call's goroutine in time).
//
// A call whose outcome says nothing about the DSP (the publisher hung up: Excluded) is not
// counted either. Outcomes of calls started before the breaker last opened or closed are
// ignored: they judged the DSP under the previous state.
//
// # Cost and concurrency
//
// A Breaker is safe for concurrent use. Allow on a closed breaker not backing off is one
// atomic load; Report of a success is one short critical section and allocates nothing.
// Every state change (opened, closed, send rate lowered, recovered) is logged (slog,
// injected) with its reason and figures. Stats is the read for /metrics. Times are read
// from Options.Now, which must be the clock the Outcome's times are taken from (the
// gateway's real clock, which sets its deadlines).
//
// # Use
//
// One Breaker per DSP, kept across reloads while the DSP keeps its name and the breaker
// section is unchanged. Per (request, DSP) pair that would be sent, ask Allow once: Send and
// Trial send, Refused is the decision breaker_open, Limited is throttled. Allow holds no
// slot, so a pair that something else then refuses needs no report. Per call sent, when
// its answer is in (in the call's goroutine):
//
//	res, retryAfter := health.ResultOf(err) // err of dsp.Client.Post
//	b.Report(&health.Outcome{
//		Result: res, RetryAfter: retryAfter,
//		Timeout:  d.timeout,   // the DSP's configured timeout
//		Planned:  r.start,     // the auction's arrival
//		Started:  start,       // time.Now() as the call's goroutine begins the request
//		Deadline: deadline,    // the call context's deadline
//		Ended:    time.Now(),
//	})
//
// A call that never reached the DSP (its body failed to encode, it panicked) is not
// reported, or reported Excluded.
package health
