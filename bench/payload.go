package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/store"
)

// benchParams are the parameters the raw payloads and rows carry, in canonical units:
// what a surface-water station reports.
var benchParams = []struct {
	code, unit string
	lo, hi     float64
}{
	{"ph", "", 6.5, 8.8}, {"do", "mg/L", 4, 11}, {"codmn", "mg/L", 1, 8}, {"cod", "mg/L", 8, 30},
	{"nh3n", "mg/L", 0.05, 1.8}, {"tp", "mg/L", 0.01, 0.35}, {"tn", "mg/L", 0.2, 2.2},
	{"temp", "°C", 2, 24}, {"conductivity", "µS/cm", 200, 900}, {"turbidity", "NTU", 1, 80},
}

// Payload is a set of riverwatch readings as they travel on the readings topic: the JSON
// the raw Kafka runs send, so that the records have the size and compressibility of the
// real ones.
type Payload struct {
	File     string // one JSON reading per line
	Records  int
	AvgBytes int
}

// sampleReading returns reading i of a fleet of stations × params, one minute apart per
// station, ending near now.
func sampleReading(i, stations int, base time.Time, rng *rand.Rand) message.Reading {
	st := i % stations
	p := benchParams[(i/stations)%len(benchParams)]
	obs := base.Add(time.Duration(i/(stations*len(benchParams))) * time.Minute)
	site := fmt.Sprintf("BENCH-%05d", st)
	interval := message.IntervalMinute
	v := p.lo + rng.Float64()*(p.hi-p.lo)
	v = float64(int64(v*1000)) / 1000
	lo, hi := v*0.97, v*1.03
	return message.Reading{
		ID:         message.ReadingID(site, p.code, interval, obs),
		Site:       site,
		Station:    "6523010" + fmt.Sprintf("%07d", st),
		Parameter:  p.code,
		Value:      v,
		Unit:       p.unit,
		Min:        &lo,
		Max:        &hi,
		Interval:   interval,
		Flag:       message.FlagNormal,
		ObservedAt: obs,
		ReceivedAt: obs.Add(time.Duration(rng.IntN(5000)) * time.Millisecond),
		Source:     message.SourceHJ212,
	}
}

// Payload returns the run's payload file, written once.
func (e *Env) Payload() (*Payload, error) {
	e.payloadOnce.Do(func() {
		e.payload, e.payloadErr = writePayload(filepath.Join(e.WorkDir(), "readings.jsonl"), 10_000, e.Settings.Stations)
	})
	return e.payload, e.payloadErr
}

func writePayload(path string, n, stations int) (*Payload, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Minute)
	total := 0
	for i := 0; i < n; i++ {
		b, err := json.Marshal(sampleReading(i, stations, base, rng))
		if err != nil {
			return nil, err
		}
		total += len(b)
		w.Write(b)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	return &Payload{File: path, Records: n, AvgBytes: total / n}, nil
}

// readingColumns are the columns of the readings table the raw insert fills, in the order
// writeRowsTSV writes them.
const readingColumns = "id, site, station, parameter, value, unit, value_min, value_max, interval_kind, flag, observed_at, observed_ms, received_at, source, version"

// writeRowsTSV writes n readings as TabSeparated rows of readingColumns.
func writeRowsTSV(w io.Writer, n, stations int) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	rng := rand.New(rand.NewPCG(3, 4))
	base := time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Minute)
	var buf []byte
	for i := 0; i < n; i++ {
		r := sampleReading(i, stations, base, rng)
		buf = buf[:0]
		buf = append(buf, r.ID...)
		buf = append(buf, '\t')
		buf = append(buf, r.Site...)
		buf = append(buf, '\t')
		buf = append(buf, r.Station...)
		buf = append(buf, '\t')
		buf = append(buf, r.Parameter...)
		buf = append(buf, '\t')
		buf = strconv.AppendFloat(buf, r.Value, 'g', -1, 64)
		buf = append(buf, '\t')
		buf = append(buf, r.Unit...)
		buf = append(buf, '\t')
		buf = strconv.AppendFloat(buf, *r.Min, 'g', -1, 64)
		buf = append(buf, '\t')
		buf = strconv.AppendFloat(buf, *r.Max, 'g', -1, 64)
		buf = append(buf, '\t')
		buf = append(buf, r.Interval...)
		buf = append(buf, '\t')
		buf = append(buf, r.Flag...)
		buf = append(buf, '\t')
		buf = r.ObservedAt.UTC().AppendFormat(buf, time.DateTime)
		buf = append(buf, '\t')
		buf = strconv.AppendInt(buf, int64(r.ObservedAt.Nanosecond()/1e6), 10)
		buf = append(buf, '\t')
		buf = r.ReceivedAt.UTC().AppendFormat(buf, time.DateTime)
		buf = append(buf, '\t')
		buf = append(buf, r.Source...)
		buf = append(buf, '\t')
		buf = strconv.AppendUint(buf, store.ReadingVersion(r.ReceivedAt), 10)
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}
