package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"
)

// Step statuses.
const (
	StatusOK           = "ok"
	StatusNotAvailable = "not available"
	StatusFailed       = "failed"
)

// Run is one `make bench` run: what was measured, on what, and when.
type Run struct {
	Version  int       `json:"version"` // of this format
	ID       string    `json:"id"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Host     Host      `json:"host"`
	// Settings are the knobs the run used (durations, record counts, rates).
	Settings map[string]string `json:"settings"`
	Steps    []*Step           `json:"steps"`
}

// Host describes the machine and the software measured.
type Host struct {
	CPUs       int    `json:"cpus"`
	MemTotalMB int    `json:"mem_total_mb,omitempty"`
	Load1      string `json:"load1_at_start,omitempty"` // load average when the run began
	Go         string `json:"go"`
	Kafka      string `json:"kafka,omitempty"`
	ClickHouse string `json:"clickhouse,omitempty"`
	Commit     string `json:"commit,omitempty"`
}

// Step is one measurement step and the figures it produced.
type Step struct {
	Name    string  `json:"name"`
	Title   string  `json:"title"`
	Status  string  `json:"status"`
	Reason  string  `json:"reason,omitempty"` // why it is not available or failed
	Seconds float64 `json:"seconds"`
	// Load is the machine's 1-minute load average at the step's start and end: on a
	// shared machine, what else ran shows here.
	Load    [2]float64 `json:"load"`
	Figures []*Figure  `json:"figures"`
	Notes   []string   `json:"notes,omitempty"`
}

// Figure is one measured value. Baseline names the raw figure it is compared with; Ratio
// is Value / that figure's value.
type Figure struct {
	Key      string   `json:"key"`
	Label    string   `json:"label"`
	Value    float64  `json:"value"`
	Unit     string   `json:"unit"`
	Baseline string   `json:"baseline,omitempty"`
	Ratio    *float64 `json:"ratio,omitempty"`
	Goal     *Goal    `json:"goal,omitempty"`
}

// Goal is a target of issue 10 that a figure is checked against (never in tests).
type Goal struct {
	Text string `json:"text"`
	Met  bool   `json:"met"`
}

// Add appends a figure to the step and returns it.
func (s *Step) Add(key, label string, value float64, unit string) *Figure {
	f := &Figure{Key: key, Label: label, Value: value, Unit: unit}
	s.Figures = append(s.Figures, f)
	return f
}

// Note appends a remark printed under the table.
func (s *Step) Note(format string, args ...any) {
	s.Notes = append(s.Notes, fmt.Sprintf(format, args...))
}

// Vs sets the figure's baseline key; the ratio is filled in by Run.Resolve.
func (f *Figure) Vs(baseline string) *Figure {
	f.Baseline = baseline
	return f
}

// WithGoal attaches a goal.
func (f *Figure) WithGoal(text string, met bool) *Figure {
	f.Goal = &Goal{Text: text, Met: met}
	return f
}

// Figure returns the figure with the key, from any step that is ok.
func (r *Run) Figure(key string) (*Figure, bool) {
	for _, s := range r.Steps {
		for _, f := range s.Figures {
			if f.Key == key {
				return f, true
			}
		}
	}
	return nil, false
}

// Resolve fills in every ratio whose baseline was measured.
func (r *Run) Resolve() {
	for _, s := range r.Steps {
		for _, f := range s.Figures {
			if f.Baseline == "" {
				continue
			}
			b, ok := r.Figure(f.Baseline)
			if !ok || b.Value == 0 || math.IsNaN(b.Value) || math.IsNaN(f.Value) {
				f.Ratio = nil
				continue
			}
			ratio := f.Value / b.Value
			f.Ratio = &ratio
		}
	}
}

// WriteJSON writes the run into dir as run-<id>.json (through a .tmp file, so a partial
// file is never left under that name) and returns the path.
func (r *Run) WriteJSON(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("results dir: %w", err)
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encode results: %w", err)
	}
	path := filepath.Join(dir, "run-"+r.ID+".json")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("write results: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("write results: %w", err)
	}
	return path, nil
}

// ReadRun reads a results file.
func ReadRun(path string) (*Run, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Run
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// PrintTable writes the run as a table: one row per figure with its baseline and ratio,
// a line per step that is not available, and the steps' notes.
func (r *Run) PrintTable(w io.Writer) {
	fmt.Fprintf(w, "riverwatch bench %s: %d CPUs, load %s at start, Go %s, Kafka %s, ClickHouse %s, commit %s\n",
		r.ID, r.Host.CPUs, orDash(r.Host.Load1), r.Host.Go, orDash(r.Host.Kafka), orDash(r.Host.ClickHouse), orDash(r.Host.Commit))
	rows := [][]string{{"figure", "value", "unit", "baseline", "ratio", "goal"}}
	heads := map[int]string{} // row index → step heading printed before it
	for i, s := range r.Steps {
		head := fmt.Sprintf("%d %s", i+1, s.Title)
		if s.Status == StatusOK {
			head += fmt.Sprintf(" (%.0f s, load %.1f → %.1f)", s.Seconds, s.Load[0], s.Load[1])
		} else {
			head += ": " + s.Status + ": " + s.Reason
		}
		heads[len(rows)] = head
		if len(s.Figures) == 0 {
			rows = append(rows, nil)
		}
		for _, f := range s.Figures {
			base, ratio := "", ""
			if f.Baseline != "" {
				base = "(" + f.Baseline + " not measured)"
				if b, ok := r.Figure(f.Baseline); ok {
					base = fmt.Sprintf("%s %s", human(b.Value), b.Unit)
				}
				if f.Ratio != nil {
					ratio = fmt.Sprintf("%.3g×", *f.Ratio)
				}
			}
			goal := ""
			if f.Goal != nil {
				goal = "met"
				if !f.Goal.Met {
					goal = "NOT MET"
				}
				goal += ": " + f.Goal.Text
			}
			rows = append(rows, []string{"  " + f.Label, human(f.Value), f.Unit, base, ratio, goal})
		}
	}
	width := make([]int, 6)
	for _, row := range rows {
		for i, c := range row {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	pad := func(s string, n int, right bool) string {
		gap := strings.Repeat(" ", max(0, n-utf8.RuneCountInString(s)))
		if right {
			return gap + s
		}
		return s + gap
	}
	for i, row := range rows {
		if h, ok := heads[i]; ok {
			fmt.Fprintln(w, h)
		}
		if row == nil {
			continue
		}
		line := pad(row[0], width[0], false) + "  " + pad(row[1], width[1], true) + " " + pad(row[2], width[2], false) +
			"  " + pad(row[3], width[3], true) + "  " + pad(row[4], width[4], true) + "  " + row[5]
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
	for i, s := range r.Steps {
		for _, n := range s.Notes {
			fmt.Fprintf(w, "  [%d] %s\n", i+1, n)
		}
	}
}

// Compare prints the figures two runs share, old beside new, with new/old for values and
// for ratios: the ratios are what carry over between runs on a noisy machine.
func Compare(w io.Writer, old, cur *Run) {
	fmt.Fprintf(w, "comparing %s (old) with %s (new)\n", old.ID, cur.ID)
	tw := tabwriter.NewWriter(w, 2, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "figure\told\tnew\tnew/old\told ratio\tnew ratio\t")
	for _, s := range cur.Steps {
		for _, f := range s.Figures {
			o, ok := old.Figure(f.Key)
			if !ok {
				continue
			}
			change := "n/a"
			if o.Value != 0 {
				change = fmt.Sprintf("%.3g", f.Value/o.Value)
			}
			fmt.Fprintf(tw, "%s\t%s %s\t%s %s\t%s\t%s\t%s\t\n", f.Key, human(o.Value), o.Unit, human(f.Value), f.Unit,
				change, ratioText(o.Ratio), ratioText(f.Ratio))
		}
	}
	tw.Flush()
}

func ratioText(r *float64) string {
	if r == nil {
		return ""
	}
	return fmt.Sprintf("%.3g×", *r)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// human prints a value with thousands separators and sensible precision.
func human(v float64) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case math.Abs(v) >= 1000:
		return group(fmt.Sprintf("%.0f", v))
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	case v == 0:
		return "0"
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

func group(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
