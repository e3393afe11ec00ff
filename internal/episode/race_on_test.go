//go:build race

package episode

// The race detector slows the model test tenfold; it then covers fewer
// settings (see matrix) and shorter sequences.
const raceEnabled = true
