// Package privacy enforces the publisher's privacy signals and adds bidsieve's
// supply-chain node, per DSP: TCF 2 (GDPR) against the IAB Global Vendor List, GPP's US
// national section and US Privacy (CCPA) sale/share opt-outs, COPPA and device.lmt.
//
// The gateway calls Policy.Parse once per auction: it reads regs, user and source once
// (both the OpenRTB 2.6 fields and the 2.5 ext placements) and parses the consent strings
// once. Then, per DSP, Auction.Decide returns an Action (withhold with a Reason, or which
// field groups to scrub) without copying anything, and Auction.Apply returns the request
// that DSP is sent: the publisher's request itself when nothing applies, otherwise a
// shallow copy in which only the structs that change (user, device, geo, regs, source)
// are copied. The publisher's request is never written to, so the same request may be
// applied for many DSPs; the request Apply returns is also what the feature extractor
// should read, so that features describe what the DSP saw.
//
// A Policy (and its VendorList) is immutable and safe for concurrent use. An Auction may
// be used from several goroutines at once (its lazily built pieces are guarded by
// sync.Once, the scrubbed user and device of DSPs with the same scrubs by a mutex), and
// the requests Apply returns share those pieces: treat them as read-only.
//
// docs/PRIVACY.md has the table of what each signal does to each field.
package privacy
