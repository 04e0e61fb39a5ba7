package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Profiling (rwbench -profile): the services are rebuilt with one extra file, added through
// `go build -overlay` so that the tree is untouched, that serves net/http/pprof on the
// address in RWBENCH_PPROF. The throughput and latency steps then take a CPU profile of
// every service while each load runs, and a heap profile after it, into
// $RIVERWATCH_STATE_DIR/rwbench/profiles/<run id>/ (go tool pprof -top FILE).
const pprofOverlay = `package main

// Added by rwbench -profile through go build -overlay; never part of the tree.

import (
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	if addr := os.Getenv("RWBENCH_PPROF"); addr != "" {
		go http.ListenAndServe(addr, nil)
	}
}
`

// BuildProfiling builds every service with the pprof overlay into a directory of its own
// and points the run's services at it.
func (e *Env) BuildProfiling(ctx context.Context) error {
	work := filepath.Join(e.WorkDir(), "profbin")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	src := filepath.Join(work, "zz_rwbench_pprof.go")
	if err := os.WriteFile(src, []byte(pprofOverlay), 0o644); err != nil {
		return err
	}
	names := append(slicesClone(serviceOrder), "simulator")
	replace := map[string]string{}
	for _, n := range names {
		replace[filepath.Join(e.Root, "services", n, "zz_rwbench_pprof.go")] = src
	}
	ov, err := json.Marshal(map[string]any{"Replace": replace})
	if err != nil {
		return err
	}
	ovPath := filepath.Join(work, "overlay.json")
	if err := os.WriteFile(ovPath, ov, 0o644); err != nil {
		return err
	}
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(e.Root, "services", n, "main.go")); err != nil {
			continue // not written yet: the step that needs it says so
		}
		cmd := exec.CommandContext(ctx, "go", "build", "-overlay", ovPath, "-o", filepath.Join(work, n), "./services/"+n)
		cmd.Dir = e.Root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build %s with pprof: %w\n%s", n, err, out)
		}
	}
	e.Bin = work
	e.profile = filepath.Join(e.StateDir, "rwbench", "profiles", e.Run.ID)
	return os.MkdirAll(e.profile, 0o755)
}

// profileServices takes a CPU profile of d from every running service (when profiling),
// then a heap profile, named <prefix>-<service>.{cpu,heap}.pprof.
func (e *Env) profileServices(ctx context.Context, prefix string, d time.Duration) {
	if e.profile == "" {
		return
	}
	e.stack.mu.Lock()
	var targets []*service
	for _, s := range e.stack.running {
		targets = append(targets, s)
	}
	e.stack.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			secs := int(d.Seconds())
			for _, p := range []struct{ path, kind string }{
				{fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs), "cpu"},
				{"/debug/pprof/heap", "heap"},
			} {
				out := filepath.Join(e.profile, fmt.Sprintf("%s-%s.%s.pprof", prefix, s.name, p.kind))
				if err := fetch(ctx, "http://"+s.pprof+p.path, out, d+30*time.Second); err != nil {
					e.Log.Warn("profile", "service", s.name, "kind", p.kind, "err", err)
				}
			}
		}()
	}
	wg.Wait()
	e.Log.Info("profiles written", "dir", e.profile, "prefix", prefix)
}

func fetch(ctx context.Context, url, path string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
