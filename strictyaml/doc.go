// Package strictyaml decodes YAML strictly, for the configuration (package config) and
// the simulator's profiles (package dsp/sim): a key that the target does not know is an
// error, as are a repeated key and a value of the wrong shape, and every problem names
// its line and key path ("line 4: dsps[0].timeout: invalid duration ...") so that the
// author of a file sees all of them at once instead of a silently ignored typo.
//
// [Decode] checks a yaml.v3 node tree against the Go type it decodes into (by the
// types' yaml tags) and then decodes it. Readers whose schema is not a Go type, such as
// the simulator's, walk the tree themselves with [Entries], [Deref], [Child] and [Item],
// which report problems in the same terms.
package strictyaml
