package deploy_test

import (
	"bufio"
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

const (
	builderImage = "golang:1.27.3-bookworm"
	runtimeImage = "gcr.io/distroless/static-debian12:nonroot"
	testVersion  = "v0.0.0-imagetest"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct{ cmd, args string }

// parseDockerfile splits the Dockerfile into stages of instructions.
func parseDockerfile(t *testing.T) [][]instruction {
	t.Helper()
	f, err := os.Open("../Dockerfile")
	require.NoError(t, err)
	defer f.Close()
	var stages [][]instruction
	var cur strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSuffix(line, `\`) + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		cur.Reset()
		in := instruction{strings.ToUpper(cmd), strings.Join(strings.Fields(args), " ")}
		if in.cmd == "FROM" {
			stages = append(stages, nil)
		}
		require.NotEmpty(t, stages, "instruction before FROM: %s", in.cmd)
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	require.NoError(t, sc.Err())
	return stages
}

func find(stage []instruction, cmd string) []string {
	var out []string
	for _, in := range stage {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

// execForm parses an exec-form (JSON array) argument list.
func execForm(t *testing.T, s, what string) []string {
	t.Helper()
	var v []string
	require.NoError(t, json.Unmarshal([]byte(s), &v), "%s must be exec form (a JSON array), got %s", what, s)
	return v
}

func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t)
	require.Len(t, stages, 2, "a builder stage and a runtime stage")
	build, final := stages[0], stages[1]

	pinned := regexp.MustCompile(`^[a-z0-9./-]+:[A-Za-z0-9._-]+(@sha256:[0-9a-f]{64})?$`)
	require.Equal(t, builderImage+" AS build", build[0].args)
	require.Equal(t, runtimeImage, final[0].args)
	for _, img := range []string{builderImage, runtimeImage} {
		require.Regexp(t, pinned, img)
		require.NotContains(t, img, ":latest")
	}
	require.Regexp(t, `^golang:\d+\.\d+\.\d+-`, builderImage, "the builder is pinned to a Go patch release")

	args := find(build, "ARG")
	require.Contains(t, args, "CGO_ENABLED=0", "a static binary")
	run := buildRun(t)
	for _, want := range []string{"CGO_ENABLED=${CGO_ENABLED}", "-X main.version=${VERSION}", "-X main.commit=${COMMIT}", "-X main.date=${DATE}", "-s -w", "./cmd/vigil"} {
		require.Contains(t, run, want)
	}

	require.Equal(t, []string{"65532:65532"}, find(final, "USER"))
	require.Equal(t, []string{"9780"}, find(final, "EXPOSE"))
	require.Equal(t, []string{"/var/lib/vigil"}, find(final, "WORKDIR"), "relative storage paths land in the volume")
	require.Equal(t, []string{"/var/lib/vigil"}, execForm(t, find(final, "VOLUME")[0], "VOLUME"))
	require.Len(t, find(final, "RUN"), 0, "the runtime image has no shell to run anything")
	entry := execForm(t, find(final, "ENTRYPOINT")[0], "ENTRYPOINT")
	require.Equal(t, []string{"/usr/local/bin/vigil"}, entry)
	hc := find(final, "HEALTHCHECK")
	require.Len(t, hc, 1)
	_, cmd, ok := strings.Cut(hc[0], " CMD ")
	require.True(t, ok, hc[0])
	require.Equal(t, []string{"/usr/local/bin/vigil", "healthcheck"}, execForm(t, cmd, "HEALTHCHECK CMD")[:2])
	require.Equal(t, "run", execForm(t, find(final, "CMD")[0], "CMD")[0])
}

// buildRun returns the builder's RUN line that compiles vigil.
func buildRun(t *testing.T) string {
	t.Helper()
	for _, r := range find(parseDockerfile(t)[0], "RUN") {
		if strings.Contains(r, "go build") {
			return r
		}
	}
	t.Fatal("no RUN go build in the builder stage")
	return ""
}

var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
	binaryOut  []byte
)

// dockerfileBinary builds vigil once per test run exactly as the Dockerfile's RUN line
// does (its ARG defaults, a test version, the output moved to a temporary directory).
// Building on the host first also fills the Go build cache that the image build reuses.
func dockerfileBinary(t *testing.T) string {
	t.Helper()
	run := buildRun(t)
	binaryOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vigil-dockerfile-")
		if err != nil {
			binaryErr = err
			return
		}
		binaryPath = filepath.Join(dir, "vigil")
		cmd := exec.Command("sh", "-c", strings.Replace(run, "/out/vigil", binaryPath, 1))
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=", "GOFLAGS=-trimpath",
			"VERSION="+testVersion, "COMMIT=0123abc", "DATE=2026-12-03T00:00:00Z")
		binaryOut, binaryErr = cmd.CombinedOutput()
	})
	require.NoError(t, binaryErr, "%s\n%s", run, binaryOut)
	return binaryPath
}

// requireStatic checks that an ELF binary needs no dynamic loader and no shared library.
func requireStatic(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	require.NoError(t, err)
	defer f.Close()
	for _, p := range f.Progs {
		require.NotEqual(t, elf.PT_INTERP, p.Type, "%s asks for a dynamic loader", path)
		require.NotEqual(t, elf.PT_DYNAMIC, p.Type, "%s is dynamically linked", path)
	}
	libs, err := f.ImportedLibraries()
	require.NoError(t, err)
	require.Empty(t, libs)
}

func TestDockerfileBinary(t *testing.T) {
	bin := dockerfileBinary(t)
	requireStatic(t, bin)
	out, err := exec.Command(bin, "version").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "vigil "+testVersion+" (commit 0123abc, built 2026-12-03T00:00:00Z")
}

// TestImageBuild builds the image with buildah from the unchanged Dockerfile, on local
// stand-ins for its two base images (no registry is reachable): busybox plus this
// machine's Go toolchain as the builder, and an image holding only /etc/passwd and CA
// certificates as distroless. Then it checks what the image would run.
func TestImageBuild(t *testing.T) {
	buildah := needTool(t, "buildah", "buildah")
	busybox := needTool(t, "busybox", "busybox-static")
	requireStatic(t, busybox)
	dockerfileBinary(t) // warms the build cache the image build mounts
	goBin := func(args ...string) string {
		out, err := exec.Command("go", args...).Output()
		require.NoError(t, err)
		return strings.TrimSpace(string(out))
	}
	goroot, modcache, gocache := goBin("env", "GOROOT"), goBin("env", "GOMODCACHE"), goBin("env", "GOCACHE")
	// The builder runs with GOPROXY=off: every module must already be here.
	dl := exec.Command("go", "mod", "download")
	dl.Dir = ".."
	out, err := dl.CombinedOutput()
	require.NoError(t, err, "%s", out)

	work, err := os.MkdirTemp("", "vigil-buildah-")
	require.NoError(t, err)
	bah := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(buildah, append([]string{"--root", filepath.Join(work, "root"), "--runroot", filepath.Join(work, "run"), "--storage-driver", "vfs"}, args...)...)
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), "BUILDAH_ISOLATION=chroot")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "buildah %s:\n%s", strings.Join(args, " "), out)
		return strings.TrimSpace(string(out))
	}
	t.Cleanup(func() {
		cmd := exec.Command(buildah, "--root", filepath.Join(work, "root"), "--runroot", filepath.Join(work, "run"), "--storage-driver", "vfs", "rm", "--all")
		_ = cmd.Run()
		_ = os.RemoveAll(work)
	})

	// The runtime stand-in: distroless/static's users and CA certificates, nothing else.
	rt := filepath.Join(work, "rootfs-runtime")
	writeFile(t, filepath.Join(rt, "etc/passwd"), "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")
	writeFile(t, filepath.Join(rt, "etc/group"), "root:x:0:\nnonroot:x:65532:\n")
	certs, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	require.NoError(t, err)
	writeFile(t, filepath.Join(rt, "etc/ssl/certs/ca-certificates.crt"), string(certs))
	c := lastLine(bah("from", "scratch"))
	bah("add", c, rt, "/")
	bah("config", "--user", "65532:65532", c)
	bah("commit", "-q", c, runtimeImage)
	bah("rm", c)

	// The builder stand-in: busybox for RUN's sh and mkdir, and the machine's Go.
	bt := filepath.Join(work, "rootfs-builder")
	for _, d := range []string{"bin", "tmp", "root", "usr/local"} {
		require.NoError(t, os.MkdirAll(filepath.Join(bt, d), 0o755))
	}
	require.NoError(t, os.Chmod(filepath.Join(bt, "tmp"), 0o1777))
	copyFile(t, busybox, filepath.Join(bt, "bin/busybox"))
	for _, applet := range []string{"sh", "mkdir"} {
		require.NoError(t, os.Symlink("busybox", filepath.Join(bt, "bin", applet)))
	}
	out, err = exec.Command("cp", "-a", goroot, filepath.Join(bt, "usr/local/go")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	c = lastLine(bah("from", "scratch"))
	bah("add", c, bt, "/")
	bah("config", "--env", "PATH=/usr/local/go/bin:/bin", "--env", "GOPATH=/go", "--env", "GOTOOLCHAIN=local",
		"--env", "GOPROXY=off", "--env", "GOCACHE=/tmp/go-build", "--env", "HOME=/root", c)
	bah("commit", "-q", c, "docker.io/library/"+builderImage)
	bah("rm", c)

	// The build itself, on the unchanged Dockerfile. The module cache is mounted read-only
	// and the build cache shared, which is what makes this take seconds, not minutes.
	bah("bud", "--pull-never", "--format", "docker", "--isolation", "chroot",
		"--build-arg", "VERSION="+testVersion, "--build-arg", "COMMIT=0123abc", "--build-arg", "DATE=2026-12-03T00:00:00Z",
		"-v", modcache+":/go/pkg/mod:ro", "-v", gocache+":/tmp/go-build",
		"-t", "localhost/vigil:test", ".")

	var img struct {
		Docker struct {
			Config struct {
				User         string
				Entrypoint   []string
				Cmd          []string
				ExposedPorts map[string]struct{}
				Volumes      map[string]struct{}
				WorkingDir   string
				Healthcheck  *struct {
					Test    []string
					Retries int
				}
			} `json:"config"`
		}
	}
	require.NoError(t, json.Unmarshal([]byte(bah("inspect", "--type", "image", "localhost/vigil:test")), &img))
	cfg := img.Docker.Config
	require.Equal(t, "65532:65532", cfg.User)
	require.Equal(t, []string{"/usr/local/bin/vigil"}, cfg.Entrypoint)
	require.Equal(t, []string{"run", "--config.file=/etc/vigil/vigil.yaml"}, cfg.Cmd)
	require.Contains(t, cfg.ExposedPorts, "9780/tcp")
	require.Contains(t, cfg.Volumes, "/var/lib/vigil")
	require.Equal(t, "/var/lib/vigil", cfg.WorkingDir)
	require.NotNil(t, cfg.Healthcheck, "HEALTHCHECK survives only in the docker format")
	require.Equal(t, []string{"CMD", "/usr/local/bin/vigil", "healthcheck"}, cfg.Healthcheck.Test[:3])

	// Inside the image: the static, stamped binary, the config, a state directory owned by
	// nonroot, and no shell.
	c = lastLine(bah("from", "--pull-never", "localhost/vigil:test"))
	root := lastLine(bah("mount", c))
	t.Cleanup(func() {
		_ = exec.Command(buildah, "--root", filepath.Join(work, "root"), "--runroot", filepath.Join(work, "run"), "--storage-driver", "vfs", "umount", c).Run()
	})
	bin := filepath.Join(root, "usr/local/bin/vigil")
	requireStatic(t, bin)
	out, err = exec.Command(bin, "version").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "vigil "+testVersion+" (commit 0123abc, built 2026-12-03T00:00:00Z")
	out, err = exec.Command(bin, "check", "config", filepath.Join(root, "etc/vigil/vigil.yaml")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, sh := range []string{"bin/sh", "bin/busybox", "usr/bin/sh"} {
		_, err := os.Lstat(filepath.Join(root, sh))
		require.True(t, os.IsNotExist(err), "%s is in the image", sh)
	}
	st, err := os.Stat(filepath.Join(root, "var/lib/vigil/data"))
	require.NoError(t, err)
	require.True(t, st.IsDir())
	require.Equal(t, "65532:65532", owner(st))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, b, 0o755))
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binaryPath != "" {
		_ = os.RemoveAll(filepath.Dir(binaryPath))
	}
	os.Exit(code)
}
