package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// WithFileChecks makes Load also check what would otherwise fail only once
// the monitors run: that the program of each exec check and script
// intervention exists and is executable (a name without a slash is looked
// up in PATH; a relative path is read in the check's dir), and that the
// directory of each log file exists. A command that validates a file
// before running it wants these; a library that loads a file for a host
// other than its own does not.
func WithFileChecks() Option {
	return optionFunc(func(o *options) { o.fileChecks = true })
}

// WithStrictDependencies makes a depends_on that names no monitor of the
// file an error, rather than a warning: for programs that add no monitors
// other than the file's, whose monitor would wait for that name forever.
func WithStrictDependencies() Option {
	return optionFunc(func(o *options) { o.strictDeps = true })
}

// programProblem says what would stop prog from running (in dir), or "".
func programProblem(prog, dir string) string {
	if !strings.Contains(prog, "/") {
		if _, err := exec.LookPath(prog); err != nil {
			return fmt.Sprintf("%q is not found in PATH", prog)
		}
		return ""
	}
	p := prog
	if dir != "" && !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("%s does not exist", p)
	case err != nil:
		return err.Error()
	case fi.IsDir():
		return fmt.Sprintf("%s is a directory, not a program", p)
	case fi.Mode()&0o111 == 0:
		return fmt.Sprintf("%s is not executable", p)
	}
	return ""
}

// checkProgram reports, with file checks on, a program that could not run.
func (it *item) checkProgram(n *node, path, prog, dir string) bool {
	if !it.b.o.fileChecks {
		return true
	}
	if msg := programProblem(prog, dir); msg != "" {
		it.failf(n, join(path, n.key), "%s", msg)
		return false
	}
	return true
}

// logFileProblem says what would stop a log file at path from opening, as
// far as can be told without creating it, or "".
func logFileProblem(path string) string {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("the directory %s does not exist", dir)
	case err != nil:
		return err.Error()
	case !fi.IsDir():
		return fmt.Sprintf("%s is not a directory", dir)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Sprintf("%s is a directory", path)
	}
	return ""
}
