package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Settings are the sizes and durations of a run. The defaults keep a whole run well under
// 15 minutes on a 2-core machine.
type Settings struct {
	// KafkaTime is how long each raw Kafka producer runs.
	KafkaTime time.Duration
	// CHRows is how many rows the raw ClickHouse insert writes.
	CHRows int
	// Partitions of every topic the run creates (the contract topics' default, 6).
	Partitions int
	// Throughput is how long each end-to-end throughput run offers load.
	Throughput time.Duration
	// Drain bounds how long the pipeline may take to finish what was offered.
	Drain time.Duration
	// Stations and Params shape the load: Stations × Params series. HJ212Stations is the
	// number of stations (connections) of the HJ 212 throughput run: each waits for its
	// 9014 before its next upload, as a data logger does, so concurrency comes from them.
	Stations, Params, HJ212Stations int
	// LatencyRates are the fixed rates of the latency step, each run for Latency.
	LatencyRates []int
	Latency      time.Duration
	// Series is the number of series of the memory step.
	Series int
	// APIRequests is how many 30-day requests the api step times.
	APIRequests int
	// PeerRows is how many readings fill the topic that the archiver and its peer
	// (ClickHouse's Kafka engine) each catch up on.
	PeerRows int
	// Steps limits the run to these step names (empty: all).
	Steps []string
	// ServiceEnv are extra KEY=VALUE settings for every service process, for experiments
	// (RIVERWATCH_ARCHIVER_MAX_DELAY=5s, ...); they come after the bench's own.
	ServiceEnv []string
	// Without names services the run must not start (experiments: how latency changes
	// without the archiver's load on the machine).
	Without []string
}

// DefaultSettings returns the settings `make bench` uses.
func DefaultSettings() Settings {
	return Settings{
		KafkaTime:     20 * time.Second,
		CHRows:        2_000_000,
		Partitions:    6,
		Throughput:    25 * time.Second,
		Drain:         45 * time.Second,
		Stations:      200,
		HJ212Stations: 1000,
		Params:        10,
		LatencyRates:  []int{1000, 10000},
		Latency:       20 * time.Second,
		Series:        100_000,
		APIRequests:   200,
		PeerRows:      300_000,
	}
}

// Env is what the steps share: where things are, the run's names, and the run itself.
type Env struct {
	Root     string // repository root
	Bin      string // service binaries (make build)
	StateDir string // RIVERWATCH_STATE_DIR: logs go under it
	Brokers  []string
	CHAddr   string
	// CHCluster is clickhouse.cluster (RIVERWATCH_CLICKHOUSE_CLUSTER): the run's database is
	// made ON CLUSTER, replicated, as the services' would be. Empty: one server.
	CHCluster string
	// Prefix is the run's own namespace: topics and consumer groups start with it.
	Prefix string
	// Database is the ClickHouse database the run owns (dropped and created afresh).
	Database string
	Settings Settings
	Log      *slog.Logger
	Run      *Run

	stack stack
	// profile is where CPU and heap profiles go ("" when not profiling).
	profile string

	payloadOnce sync.Once
	payload     *Payload
	payloadErr  error
}

// LogDir returns the directory for the run's logs, created.
func (e *Env) LogDir() string {
	d := filepath.Join(e.StateDir, "logs", "rwbench")
	_ = os.MkdirAll(d, 0o755)
	return d
}

// WorkDir returns a scratch directory for the run (payload files, generated rows).
func (e *Env) WorkDir() string {
	d := filepath.Join(e.StateDir, "rwbench", e.Run.ID)
	_ = os.MkdirAll(d, 0o755)
	return d
}

// Topic returns a topic name of the run.
func (e *Env) Topic(name string) string { return e.Prefix + "." + name }

// Script returns the path of a deploy/local script.
func (e *Env) Script(name string) string { return filepath.Join(e.Root, "deploy", "local", name) }

// Line is one line of a command's output and when it arrived.
type Line struct {
	Text   string
	At     time.Time
	Stderr bool
}

// Command runs a program, streaming its output lines, with a tail kept for error messages.
type Command struct {
	cmd   *exec.Cmd
	lines chan Line
	done  chan struct{}
	err   error

	mu   sync.Mutex
	tail []string
}

// Start starts name with args in the repository root. Every output line is passed to
// onLine (may be nil) as it arrives, with its arrival time.
func (e *Env) Start(ctx context.Context, onLine func(Line), name string, args ...string) (*Command, error) {
	return e.startWithEnv(ctx, onLine, nil, name, args...)
}

// startWithEnv is Start with an environment (nil: this process's).
func (e *Env) startWithEnv(ctx context.Context, onLine func(Line), env []string, name string, args ...string) (*Command, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = e.Root
	cmd.Env = env
	// Own process group, so that stopping it stops the JVM or shell it starts.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	c := &Command{cmd: cmd, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	var wg sync.WaitGroup
	read := func(r io.Reader, isErr bool) {
		defer wg.Done()
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			l := Line{Text: sc.Text(), At: time.Now(), Stderr: isErr}
			c.keep(l.Text)
			if onLine != nil {
				onLine(l)
			}
		}
	}
	wg.Add(2)
	go read(stdout, false)
	go read(stderr, true)
	go func() {
		wg.Wait()
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

func (c *Command) keep(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tail = append(c.tail, s)
	if len(c.tail) > 20 {
		c.tail = c.tail[len(c.tail)-20:]
	}
}

// Wait waits for the command and returns its error with the last lines of its output.
func (c *Command) Wait() error {
	<-c.done
	if c.err != nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		return fmt.Errorf("%s: %w; last output:\n%s", filepath.Base(c.cmd.Path), c.err, strings.Join(c.tail, "\n"))
	}
	return nil
}

// CPU returns the user and system CPU time the process used, once it has exited.
func (c *Command) CPU() time.Duration {
	<-c.done
	if c.cmd.ProcessState == nil {
		return 0
	}
	return c.cmd.ProcessState.UserTime() + c.cmd.ProcessState.SystemTime()
}

// Stop asks the command's process group to stop and waits for it.
func (c *Command) Stop() {
	select {
	case <-c.done:
		return
	default:
	}
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		<-c.done
	}
}

// KafkaTool runs a Kafka Java tool from the broker's own jars (deploy/local/kafka.sh tool).
func (e *Env) KafkaTool(ctx context.Context, onLine func(Line), class string, args ...string) (*Command, error) {
	return e.Start(ctx, onLine, e.Script("kafka.sh"), append([]string{"tool", class}, args...)...)
}

// CHClient runs clickhouse-client against the local server (deploy/local/clickhouse.sh client),
// feeding it stdin when not nil.
func (e *Env) CHClient(ctx context.Context, stdin io.Reader, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, e.Script("clickhouse.sh"), append([]string{"client"}, args...)...)
	cmd.Dir = e.Root
	cmd.Stdin = stdin
	var out, errb strings.Builder
	cmd.Stdout = &out
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("clickhouse-client %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// errNotAvailable marks a step (or part of one) that cannot run because a component is
// missing; the reason is printed in the table.
type errNotAvailable struct{ reason string }

func (e errNotAvailable) Error() string { return e.reason }

// notAvailable returns an error that makes a step "not available: <reason>".
func notAvailable(format string, args ...any) error {
	return errNotAvailable{reason: fmt.Sprintf(format, args...)}
}

func isNotAvailable(err error) (string, bool) {
	var na errNotAvailable
	if errors.As(err, &na) {
		return na.reason, true
	}
	return "", false
}

// binary returns the path of a service binary, or a not-available error naming it.
func (e *Env) binary(name string) (string, error) {
	p := filepath.Join(e.Bin, name)
	st, err := os.Stat(p)
	if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return "", notAvailable("%s is not built (no %s: services/%s missing or make build failed)", name, p, name)
	}
	return p, nil
}

// dropDatabase is the statement that drops a database of the run, on every replica when
// the run is on a cluster.
func (e *Env) dropDatabase(db string) string {
	q := "DROP DATABASE IF EXISTS " + db
	if e.CHCluster != "" {
		q += " ON CLUSTER " + e.CHCluster
	}
	return q
}
