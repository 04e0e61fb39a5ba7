package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

// StepFunc measures one step, adding figures and notes to s. An error made with
// notAvailable marks the step "not available"; any other error marks it failed. Figures
// added before an error are kept.
type StepFunc func(ctx context.Context, e *Env, s *Step) error

// StepDef is a step of the run.
type StepDef struct {
	Name  string
	Title string
	Fn    StepFunc
}

// Steps returns the steps of `make bench` in order: the raw baselines first, since every
// later figure is read against them.
func Steps() []StepDef {
	return []StepDef{
		{"kafka", "raw Kafka (Kafka's own perf tools)", RawKafka},
		{"clickhouse", "raw ClickHouse (clickhouse-client)", RawClickHouse},
		{"throughput", "riverwatch end to end (simulator load)", Throughput},
		{"latency", "latency at fixed rates", Latency},
		{"peer", "peer: ClickHouse's Kafka engine beside the archiver", Peer},
		{"memory", "assessor memory per series", Memory},
		{"api", "api: 30-day series on a year of data", APILatency},
	}
}

// Execute runs the selected steps in order and returns the run with ratios resolved.
func Execute(ctx context.Context, e *Env) *Run {
	r := e.Run
	defer e.StopServices()
	for _, d := range Steps() {
		if len(e.Settings.Steps) > 0 && !slices.Contains(e.Settings.Steps, d.Name) {
			continue
		}
		s := &Step{Name: d.Name, Title: d.Title, Status: StatusOK}
		r.Steps = append(r.Steps, s)
		if ctx.Err() != nil {
			s.Status, s.Reason = StatusFailed, "interrupted"
			continue
		}
		e.Log.Info("step", "name", d.Name, "title", d.Title)
		start := time.Now()
		s.Load[0] = load1()
		err := d.Fn(ctx, e, s)
		s.Seconds = time.Since(start).Seconds()
		s.Load[1] = load1()
		if err != nil {
			if reason, ok := isNotAvailable(err); ok {
				s.Status, s.Reason = StatusNotAvailable, reason
			} else {
				s.Status, s.Reason = StatusFailed, firstLine(err.Error())
				e.Log.Error("step failed", "name", d.Name, "err", err)
			}
		}
		e.Log.Info("step done", "name", d.Name, "status", s.Status, "seconds", fmt.Sprintf("%.1f", s.Seconds))
	}
	r.Finished = time.Now().UTC()
	r.Resolve()
	return r
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// load1 returns the 1-minute load average (0 if unknown).
func load1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// DescribeHost fills in the machine and versions.
func (e *Env) DescribeHost(ctx context.Context, kafkaVersion, chVersion string) Host {
	h := Host{CPUs: runtime.NumCPU(), Go: runtime.Version(), Kafka: kafkaVersion, ClickHouse: chVersion}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			h.Load1 = f[0]
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.Atoi(f[1])
				h.MemTotalMB = kb / 1024
			}
		}
	}
	if out, err := exec.CommandContext(ctx, "git", "-C", e.Root, "rev-parse", "--short", "HEAD").Output(); err == nil {
		h.Commit = strings.TrimSpace(string(out))
		if st, err := exec.CommandContext(ctx, "git", "-C", e.Root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
			h.Commit += "-dirty"
		}
	}
	return h
}

// Cleanup deletes the run's topics and, unless keep, its database and scratch files.
func (e *Env) Cleanup(ctx context.Context, keep bool) error {
	var errs []error
	if err := deleteTopics(ctx, e.Brokers[0], e.Prefix+"."); err != nil {
		errs = append(errs, err)
	}
	if !keep {
		if err := os.RemoveAll(filepath.Join(e.StateDir, "rwbench", e.Run.ID)); err != nil {
			errs = append(errs, err)
		}
		if conn, err := e.openCH(ctx); err == nil {
			if err := conn.Exec(ctx, e.dropDatabase(e.Database)); err != nil {
				errs = append(errs, err)
			}
			conn.Close()
		} else {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// deleteTopics deletes every topic whose name starts with prefix.
func deleteTopics(ctx context.Context, broker, prefix string) error {
	var d kafka.Dialer
	conn, err := d.DialContext(ctx, "tcp", broker)
	if err != nil {
		return err
	}
	defer conn.Close()
	parts, err := conn.ReadPartitions()
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	var names []string
	for _, p := range parts {
		if strings.HasPrefix(p.Topic, prefix) && !seen[p.Topic] {
			seen[p.Topic] = true
			names = append(names, p.Topic)
		}
	}
	if len(names) == 0 {
		return nil
	}
	ctrl, err := conn.Controller()
	if err != nil {
		return err
	}
	cc, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ctrl.Host, strconv.Itoa(ctrl.Port)))
	if err != nil {
		return err
	}
	defer cc.Close()
	return cc.DeleteTopics(names...)
}
