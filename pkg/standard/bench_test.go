package standard_test

import (
	"testing"

	"github.com/riverwatch/riverwatch/pkg/standard"
)

// benchReadings is a mix of the nine automatic-station parameters and a few
// laboratory items.
var benchReadings = []struct {
	param string
	value float64
}{
	{"ph", 8.12}, {"do", 9.1}, {"codmn", 2.1}, {"nh3n", 0.21}, {"tp", 0.03}, {"cod", 18},
	{"hg", 0.00004}, {"fecal_coliform", 3000}, {"cyanide", 0.004}, {"sulfide", 0.3},
}

func BenchmarkClassify(b *testing.B) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r := benchReadings[i%len(benchReadings)]
		if _, err := standard.Classify(r.param, r.value, standard.River); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkJudge(b *testing.B) {
	sec := standard.Target{Kind: standard.Section, Class: standard.ClassIII}
	p, err := standard.PermitByName("GB18918-1A", standard.PermitOptions{})
	if err != nil {
		b.Fatal(err)
	}
	out := standard.Target{Kind: standard.Outfall, Permit: p}
	w := 10.0
	b.ReportAllocs()
	b.Run("section", func(b *testing.B) {
		i := 0
		for b.Loop() {
			r := benchReadings[i%len(benchReadings)]
			if _, err := standard.Judge(sec, r.param, r.value, nil); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("outfall", func(b *testing.B) {
		i := 0
		for b.Loop() {
			r := benchReadings[i%len(benchReadings)]
			if _, err := standard.Judge(out, r.param, r.value, &w); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func BenchmarkToCanonical(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := standard.ToCanonical("hg", 0.04, "µg/L"); err != nil {
			b.Fatal(err)
		}
	}
}
