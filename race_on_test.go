//go:build race

package cpra_test

const raceEnabled = true
