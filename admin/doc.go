// Package admin is the account managers' control plane: the admin API (docs/DESIGN.md, "Admin
// API"), the embedded web page at /admin/, and [Settings], the layer that merges the
// settings store's per-DSP overrides over the file configuration and puts the result in
// force.
//
// # Calls
//
//	GET   /admin/api/dsps               viewer   settings in force, operating point, live figures
//	GET   /admin/api/dsps/{name}/curve  viewer   validation curve, operating point; ?recall_target= or ?threshold= previews
//	PATCH /admin/api/dsps/{name}        manager  change recall_target, threshold, exploration_rate, enabled, qps_limit, mode
//	GET   /admin/api/audit              viewer   the audit trail, newest first; ?dsp=, ?before=, ?limit=
//	POST  /admin/api/model/reload       admin    load the model file again
//	GET   /admin/api/model/history      viewer   the model history, newest first
//	POST  /admin/api/model/rollback     admin    serve a version of the history again
//	GET   /admin/api/trend              viewer   each DSP's live recall and withheld share over the last days
//
// Requests carry "Authorization: Bearer TOKEN"; the token's SHA-256 is compared in
// constant time with auth.tokens of the configuration in force. Answers: 401 without a
// valid token, 403 for a role too low, 400 naming the field of a bad value, 404 for an
// unknown DSP, 429 (with Retry-After) after too many failed sign-ins from one address,
// 413 for a body over the limit. Bodies are JSON both ways. There are no cookies, so there
// is no CSRF surface: the page keeps the token in sessionStorage and sends the header.
// Tokens are never logged; the request log names the token's holder.
//
// # Live within a second
//
// A change is validated, written with its audit entries in one store transaction, then
// merged into a whole new configuration that the apply callback swaps into the gateway
// before the call answers. Other replicas see it through [Settings.Run] (PostgreSQL
// NOTIFY, polling as the fallback) within the store's poll interval.
//
// # Units
//
// Recalls, thresholds, shares and rates are fractions in [0, 1]; qps_limit is requests a
// second; times are UTC.
//
// # Concurrency
//
// [Server] and [Settings] are safe for concurrent use.
package admin
