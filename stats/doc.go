// Package stats holds the small confidence intervals that the gateway, the admin API and
// the end-to-end comparison share. It is plain Go with no dependencies outside the
// standard library, its functions are pure and safe for concurrent use.
package stats
