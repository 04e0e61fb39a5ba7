package assessor

import (
	"testing"

	"github.com/riverwatch/riverwatch/services/assessor/internal/engine"
)

// BenchmarkEncodeState measures the state messages of a batch of 500 changed series over
// 4 readings partitions (encodeState, as publishEvents calls it); an op is the batch.
func BenchmarkEncodeState(b *testing.B) {
	recs := make([]engine.Record, 500)
	for i := range recs {
		s := &engine.SeriesState{Site: "TTH-S2", Parameter: "nh3n", Partition: int32(i % 4), Offset: 123456 + int64(i),
			Newest: 1733280000000, LastGood: 1733280000000, LastValue: 0.82, LastMeets: true, Phase: 1, Quality: 2,
			LastOK: 1733280000000, LastClass: 3, Ring: make([]float32, 24)}
		recs[i] = engine.Record{Key: "s|TTH-S2|nh3n", Series: s}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encodeState(recs); err != nil {
			b.Fatal(err)
		}
	}
}
