package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dockerfile is what the tests read of the repository's Dockerfile.
type dockerfile struct {
	env   []string // ENV and ARG (with their defaults) of the build stage
	dir   string   // the build stage's working directory at the go build
	build string   // the RUN command that runs go build
	final []string // the final stage's instructions, FROM first
}

// readDockerfile reads the Dockerfile at the repository's root (root):
// the build stage's environment, working directory and go build command,
// and the final stage.
func readDockerfile(t *testing.T, root string) dockerfile {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	var cont string
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if s, ok := strings.CutSuffix(l, `\`); ok {
			cont += s + " "
			continue
		}
		lines = append(lines, cont+l)
		cont = ""
	}
	var d dockerfile
	stage := 0
	for _, l := range lines {
		instr, rest, _ := strings.Cut(l, " ")
		switch strings.ToUpper(instr) {
		case "FROM":
			stage++
			if stage > 1 {
				d.final = nil
			}
		}
		if stage > 1 {
			d.final = append(d.final, l)
			continue
		}
		switch strings.ToUpper(instr) {
		case "ENV", "ARG":
			d.env = append(d.env, rest)
		case "WORKDIR":
			d.dir = rest
		case "RUN":
			if strings.Contains(rest, "go build") {
				d.build = rest
			}
		}
	}
	if stage < 2 || d.build == "" || d.dir == "" {
		t.Fatalf("Dockerfile: want a build stage that runs go build in a WORKDIR and a final stage; read %d stages, build %q in %q", stage, d.build, d.dir)
	}
	return d
}

// buildAsDockerfile builds the command as the Dockerfile's build stage does
// (its environment, working directory and go build command, /src being the
// repository's root and /out a temporary directory) with revision as the
// REVISION argument, and returns the directory /out stands for.
func buildAsDockerfile(t *testing.T, root, revision string) (out string) {
	t.Helper()
	d := readDockerfile(t, root)
	out = t.TempDir()
	dir := filepath.Join(root, strings.TrimPrefix(d.dir, "/src"))
	cmd := exec.Command("sh", "-c", strings.ReplaceAll(d.build, "/out/", out+"/"))
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), d.env...), "REVISION="+revision)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s (in %s): %v\n%s", d.build, dir, err, b)
	}
	return out
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestStaticBinary builds the command exactly as the Dockerfile does and
// checks that the binary is statically linked (no program interpreter, no
// shared library needed), so that it runs in an image with nothing else,
// and that it runs with an empty environment from an empty directory:
// --version names the revision given at build time, --validate checks a
// file, and a run of a failing monitor prints its red alert and stops
// cleanly on SIGTERM.
func TestStaticBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command: not in -short")
	}
	root := repoRoot(t)
	out := buildAsDockerfile(t, root, "test-rev-1")
	bin := filepath.Join(out, "cpra")
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s has a program interpreter (PT_INTERP): it is dynamically linked", bin)
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("%s needs shared libraries %v (%v), want none", bin, libs, err)
	}
	if needed, _ := f.DynString(elf.DT_NEEDED); len(needed) > 0 {
		t.Errorf("%s has DT_NEEDED %v, want none", bin, needed)
	}
	if fi, err := os.Stat(filepath.Join(out, "app")); err != nil || !fi.IsDir() {
		t.Errorf("the build stage made no app directory for the image: %v", err)
	}

	empty := t.TempDir()
	monitors := writeFile(t, "monitors.yaml", `monitors:
  - name: closed
    pulse_check: {type: tcp, interval: 100ms, max_failures: 1, config: {address: "127.0.0.1:1"}}
`)
	command := func(args ...string) *exec.Cmd {
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{} // nothing: no PATH, no HOME, no TZ
		cmd.Dir = empty
		return cmd
	}
	if b, err := command("--version").Output(); err != nil || !regexp.MustCompile(`^cpra \S+, revision test-rev-1, go\S+ \w+/\w+\n$`).Match(b) {
		t.Errorf("--version: %q, %v", b, err)
	}
	if b, err := command("--yaml", monitors, "--validate").CombinedOutput(); err != nil || string(b) != "ok: 1 monitors\n1 monitor (closed) has no codes: the alerts are logged on standard output\n" {
		t.Errorf("--validate: %q, %v", b, err)
	}
	run := command("--yaml", monitors, "--state", "")
	var stdout, stderr buffer
	run.Stdout, run.Stderr = &stdout, &stderr
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, &stdout, regexp.MustCompile(`"monitor":"closed","code":"red"`))
	run.Process.Signal(syscall.SIGTERM)
	if err := run.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v; stderr:\n%s", err, stderr.String())
	}
	if entries, _ := os.ReadDir(empty); len(entries) > 0 {
		t.Errorf("the run wrote into its working directory: %v", entries)
	}
}

// docker runs the docker client and returns its standard output.
func docker(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("docker", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("docker %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), err
}

// TestDockerImage builds the image with a local Docker daemon and runs it
// as the README shows, with a monitors file mounted at /app: the image runs
// as user 65532, has no shell, prints the version and validates the file,
// and a run prints its monitor's red alert, keeps its state file beside
// the mounted file and exits 0 on docker stop. Without a daemon it is
// skipped. When the builder image (golang:1.25) is not present here (a
// test pulls nothing), the final stage is built from the binary the build
// stage's command makes on this machine.
func TestDockerImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an image: not in -short")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker client here: the image is not built")
	}
	if _, err := docker(t, "info"); err != nil {
		t.Skipf("no Docker daemon answers (%v): the image is not built", err)
	}
	root := repoRoot(t)
	var suffix [4]byte
	rand.Read(suffix[:])
	image := "cpra-test:" + hex.EncodeToString(suffix[:])
	defer docker(t, "rmi", "-f", image)
	if _, err := docker(t, "image", "inspect", "golang:1.25"); err == nil {
		if _, err := docker(t, "build", "-q", "--build-arg", "REVISION=test-rev-2", "-t", image, root); err != nil {
			t.Fatal(err)
		}
	} else {
		t.Log("golang:1.25 is not present: the final stage is built from the binary built as the build stage builds it")
		buildFinalStage(t, root, image)
	}

	if user, err := docker(t, "image", "inspect", "-f", "{{.Config.User}}", image); err != nil || strings.TrimSpace(user) != "65532:65532" {
		t.Errorf("image user %q, %v; want 65532:65532", user, err)
	}
	if out, err := docker(t, "run", "--rm", "--network", "none", image, "--version"); err != nil || !strings.Contains(out, "revision test-rev-2") {
		t.Errorf("--version: %q, %v", out, err)
	}
	if _, err := docker(t, "run", "--rm", "--network", "none", "--entrypoint", "/bin/sh", image, "-c", "true"); err == nil {
		t.Error("the image has a shell")
	}
	monitors := writeFile(t, "monitors.yaml", `monitors:
  - name: closed
    pulse_check: {type: tcp, interval: 100ms, max_failures: 1, config: {address: "127.0.0.1:1"}}
`)
	mount := monitors + ":/app/monitors.yaml:ro"
	if out, err := docker(t, "run", "--rm", "--network", "none", "-v", mount, image, "--yaml", "/app/monitors.yaml", "--validate"); err != nil || !strings.HasPrefix(out, "ok: 1 monitors\n") {
		t.Errorf("--validate: %q, %v", out, err)
	}
	id, err := docker(t, "run", "-d", "--network", "none", "-v", mount, image, "--yaml", "/app/monitors.yaml")
	if err != nil {
		t.Fatal(err)
	}
	id = strings.TrimSpace(id)
	defer docker(t, "rm", "-f", id)
	var logs string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		logs, _ = dockerLogs(t, id)
		if strings.Contains(logs, `"monitor":"closed","code":"red"`) {
			break
		}
	}
	if !strings.Contains(logs, `"monitor":"closed","code":"red"`) || !strings.Contains(logs, "file=/app/monitors.yaml.state") {
		t.Errorf("container output lacks the red alert or the state file:\n%s", logs)
	}
	if _, err := docker(t, "stop", "-t", "30", id); err != nil {
		t.Fatal(err)
	}
	if code, err := docker(t, "inspect", "-f", "{{.State.ExitCode}}", id); err != nil || strings.TrimSpace(code) != "0" {
		logs, _ = dockerLogs(t, id)
		t.Errorf("exit code after docker stop: %q, %v; want 0\n%s", code, err, logs)
	}
}

// dockerLogs returns a container's standard output and error together.
func dockerLogs(t *testing.T, id string) (string, error) {
	cmd := exec.Command("docker", "logs", id)
	b, err := cmd.CombinedOutput()
	return string(b), err
}

// buildFinalStage builds the Dockerfile's final stage alone, each COPY
// --from=build taking the file the build stage would have made from this
// machine: the binary built as the build stage builds it, its app
// directory, and the root certificates.
func buildFinalStage(t *testing.T, root, image string) {
	t.Helper()
	d := readDockerfile(t, root)
	out := buildAsDockerfile(t, root, "test-rev-2")
	ctx := t.TempDir()
	from := func(src string) string {
		switch {
		case strings.HasPrefix(src, "/out/"):
			return filepath.Join(out, strings.TrimPrefix(src, "/out/"))
		case src == "/etc/ssl/certs/ca-certificates.crt":
			if _, err := os.Stat(src); err == nil {
				return src
			}
			p := filepath.Join(t.TempDir(), "ca-certificates.crt")
			os.WriteFile(p, nil, 0o644)
			return p
		}
		t.Fatalf("Dockerfile: the test does not know what the build stage's %s is", src)
		return ""
	}
	var lines []string
	for i, l := range d.final {
		fields := strings.Fields(l)
		if strings.ToUpper(fields[0]) != "COPY" || !strings.HasPrefix(fields[1], "--from=") {
			lines = append(lines, l)
			continue
		}
		src, dst := fields[len(fields)-2], fields[len(fields)-1]
		name := fmt.Sprintf("from-%d", i)
		if b, err := exec.Command("cp", "-a", from(src), filepath.Join(ctx, name)).CombinedOutput(); err != nil {
			t.Fatalf("cp %s: %v\n%s", src, err, b)
		}
		lines = append(lines, strings.Join(append(append([]string{"COPY"}, fields[2:len(fields)-2]...), name, dst), " "))
	}
	if err := os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := docker(t, "build", "-q", "-t", image, ctx); err != nil {
		t.Fatalf("%v\nDockerfile:\n%s", err, strings.Join(lines, "\n"))
	}
}

// TestDockerfileCopiesModules: the Dockerfile's build stage downloads the
// modules before it copies the code, so it must copy the go.mod and go.sum
// of every module the command's go.mod replaces with a directory.
func TestDockerfileCopiesModules(t *testing.T) {
	root := repoRoot(t)
	text, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	dirs := []string{"cmd/cpra"}
	for _, m := range regexp.MustCompile(`(?m)^\s*(?:replace\s+)?\S+(?:\s+\S+)?\s+=>\s+(\.\S*)\s*$`).FindAllStringSubmatch(string(mod), -1) {
		rel, err := filepath.Rel(root, filepath.Join(root, "cmd", "cpra", m[1]))
		if err != nil {
			t.Fatal(err)
		}
		if rel == "." {
			dirs = append(dirs, "")
		} else {
			dirs = append(dirs, filepath.ToSlash(rel)+"/")
		}
	}
	if len(dirs) < 2 {
		t.Fatalf("no replace directive read from go.mod")
	}
	for _, d := range dirs {
		if d == "cmd/cpra" {
			d = "cmd/cpra/"
		}
		copyLine := regexp.MustCompile(`(?m)^COPY ` + regexp.QuoteMeta(d+"go.mod") + ` ` + regexp.QuoteMeta(d+"go.sum") + ` \S+$`)
		if !copyLine.Match(text) {
			t.Errorf("Dockerfile: no COPY %sgo.mod %sgo.sum before the download", d, d)
		}
	}
}
