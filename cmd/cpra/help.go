package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
)

// parseFlags parses args with fs. Asked for help (-h, -help, --help), it
// prints the usage on stdout and returns 0 and false: help is what was
// asked for, not a mistake. A bad flag is reported on stderr with the
// usage, and 2 and false are returned. ok is true when the program goes on.
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (code int, ok bool) {
	var out bytes.Buffer
	fs.SetOutput(&out)
	err := fs.Parse(args)
	fs.SetOutput(stderr)
	switch {
	case err == nil:
		return 0, true
	case errors.Is(err, flag.ErrHelp):
		stdout.Write(out.Bytes())
		return 0, false
	default:
		stderr.Write(out.Bytes())
		return 2, false
	}
}
