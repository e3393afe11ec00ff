//go:build !race

package episode

const raceEnabled = false
