package store

import "testing"

// BenchmarkDecodeReadings measures the archiver's CPU cost per reading before the insert:
// JSON decode and the columnar build (no server needed).
func BenchmarkDecodeReadings(b *testing.B) {
	_, msgs := benchBatch(b, 1)
	b.ResetTimer()
	for b.Loop() {
		if br := decodeBatch(KindReadings, "bench", msgs); len(br.readings.id) != len(msgs) {
			b.Fatal("lost readings")
		}
	}
	b.ReportMetric(float64(len(msgs)*b.N)/b.Elapsed().Seconds(), "rows/s")
}
