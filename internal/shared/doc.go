// Package shared keeps the values that many monitors hold alike, such as
// a parent set, a notifier or a label map, once each: a monitor's
// component holds the 4-byte index of its value's slot in a [Table], not
// the value itself. A slot counts its holders and is freed, for the next
// new value, when the last one lets go.
//
// Nothing here is safe for concurrent use: the engine's loop owns its
// tables with its store.
package shared
