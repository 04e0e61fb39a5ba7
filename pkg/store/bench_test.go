package store

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/segmentio/kafka-go"
)

// benchBatch is one archiver batch as a large fleet produces it: 500 sites × 20
// parameters, five minutes of minute data, 50,000 readings. Batch i is five minutes after
// batch i-1, so every batch is new data touching one or two hours.
func benchBatch(b *testing.B, i int) ([]message.Reading, []kafka.Message) {
	const sites, params, minutes = 500, 20, 5
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i*minutes) * time.Minute)
	recs := make([]message.Reading, 0, sites*params*minutes)
	for m := range minutes {
		at := base.Add(time.Duration(m) * time.Minute)
		for s := range sites {
			site := "SITE-" + strconv.Itoa(s)
			for p := range params {
				param := "p" + strconv.Itoa(p)
				recs = append(recs, message.Reading{
					ID: message.ReadingID(site, param, message.IntervalMinute, at), Site: site, Station: "mn" + site,
					Parameter: param, Value: float64((s*params+p+m)%1000) / 10, Unit: "mg/L", Interval: message.IntervalMinute,
					Flag: message.FlagNormal, ObservedAt: at, ReceivedAt: at.Add(time.Second), Source: message.SourceHJ212,
				})
			}
		}
	}
	msgs := make([]kafka.Message, len(recs))
	for j, r := range recs {
		v, err := json.Marshal(r)
		if err != nil {
			b.Fatal(err)
		}
		msgs[j] = kafka.Message{Key: []byte(r.Site), Value: v, Partition: i % 3, Offset: int64(i*len(recs) + j), Time: time.Now()}
	}
	return recs, msgs
}

// BenchmarkInsertReadings measures rows/s into readings on the real ClickHouse, three ways,
// taking turns batch by batch so that the machine's other load weighs on all three alike:
//
//	insert-rows/s          JSON decode + one columnar native INSERT per 50,000-row batch
//	insert+rollups-rows/s  the archiver's whole per-batch path (Writer.Write): the above
//	                       plus rebuilding the hourly and daily rollups the batch touched
//	clickhouse-client-rows/s the same kind of rows as TSV piped to clickhouse-client
//
// Each round writes three new batches (one per way), so ns/op is one round of 150,000 rows.
//
//	RIVERWATCH_INTEGRATION=1 go test -run '^$' -bench BenchmarkInsertReadings -benchtime 20x ./pkg/store/
//
// runs 20 rounds: 1,000,000 rows each way.
func BenchmarkInsertReadings(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	client, args := clickhouseClient(b, e.cfg.ClickHouse.Addr)
	query := e.schema.insertQuery(TableReadings, readingsTable.columnNames()) + " FORMAT TabSeparated"
	file := filepath.Join(b.TempDir(), "readings.tsv")
	var (
		batches                  int
		rows                     int
		tInsert, tWrite, tClient time.Duration
	)
	timed := func(d *time.Duration, fn func()) {
		start := time.Now()
		b.StartTimer()
		fn()
		b.StopTimer()
		*d += time.Since(start)
	}
	b.ResetTimer()
	b.StopTimer()
	for range b.N {
		batches++
		_, msgs := benchBatch(b, batches)
		timed(&tInsert, func() {
			br := decodeBatch(KindReadings, "bench", msgs)
			if err := e.w.insert(ctx, br.readings.block(), ""); err != nil {
				b.Fatal(err)
			}
		})

		batches++
		_, msgs = benchBatch(b, batches)
		timed(&tWrite, func() {
			if _, err := e.w.Write(ctx, KindReadings, "bench", msgs); err != nil {
				b.Fatal(err)
			}
		})

		batches++
		recs, _ := benchBatch(b, batches)
		writeTSV(b, file, recs)
		in, err := os.Open(file)
		if err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command(client, append(args, "--query", query)...)
		cmd.Stdin = in
		timed(&tClient, func() {
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("clickhouse-client: %v\n%s", err, out)
			}
		})
		in.Close()
		rows += len(recs)
	}
	b.ReportMetric(float64(rows)/tInsert.Seconds(), "insert-rows/s")
	b.ReportMetric(float64(rows)/tWrite.Seconds(), "insert+rollups-rows/s")
	b.ReportMetric(float64(rows)/tClient.Seconds(), "clickhouse-client-rows/s")
}

// clickhouseClient finds the command-line client: Debian's clickhouse-client, or a current
// release's `clickhouse client`.
func clickhouseClient(b *testing.B, addr string) (string, []string) {
	host, port, _ := strings.Cut(addr, ":")
	conn := []string{"--host", host, "--port", port}
	if p, err := exec.LookPath("clickhouse-client"); err == nil {
		return p, conn
	}
	if p, err := exec.LookPath("clickhouse"); err == nil {
		return p, append([]string{"client"}, conn...)
	}
	b.Skip("no clickhouse-client or clickhouse on the PATH to compare with")
	return "", nil
}

// writeTSV writes readings as the readings table's columns in TabSeparated.
func writeTSV(b *testing.B, path string, recs []message.Reading) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	null := func(v *float64) string {
		if v == nil {
			return `\N`
		}
		return strconv.FormatFloat(*v, 'g', -1, 64)
	}
	for _, r := range recs {
		obs, ms := split(r.ObservedAt)
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%d\n",
			r.ID, r.Site, r.Station, r.Parameter, strconv.FormatFloat(r.Value, 'g', -1, 64), r.Unit,
			null(r.Min), null(r.Max), r.Interval, r.Flag, obs.Format(time.DateTime), ms,
			sec(r.ReceivedAt).Format(time.DateTime), r.Source, r.ReceivedAt.UnixMilli())
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}
