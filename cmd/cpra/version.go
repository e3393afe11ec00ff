package main

import (
	"runtime"
	"runtime/debug"
)

// revision is the revision the binary was built from, for a build that
// does not stamp version control information into the binary (a container
// build without the repository's history): go build -ldflags
// "-X main.revision=...". The stamped revision, when there is one, wins.
var revision string

// versionText describes the binary: its module version, the revision it
// was built from (and whether the work tree had changes), the Go release
// and the platform:
//
//	cpra (devel), revision 6640868fa3b1 (modified), go1.25.4 linux/amd64
func versionText() string {
	version, rev, modified := "(devel)", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if rev == "" {
		rev = revision
	}
	text := "cpra " + version
	if rev != "" {
		text += ", revision " + rev
		if modified {
			text += " (modified)"
		}
	}
	return text + ", " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
}
