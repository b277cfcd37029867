// Package docs holds bidsieve's documents (DESIGN.md, CONTRIBUTING.md and the pages beside
// them) and no code. Its tests keep the documents honest: every file and Go name that
// CONTRIBUTING.md names must exist (the Go source is parsed, so a renamed function fails),
// every link between the documents must lead somewhere, and every reference to
// docs/DESIGN.md in the tree must name a section that DESIGN.md has.
package docs
