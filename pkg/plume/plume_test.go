package plume

import (
	"errors"
	"math"
	"testing"
	"time"
)

// The worked example of docs/plume.md. Every expected number below was computed by hand
// (the arithmetic is in the comments), not by Compute.
//
// Common inputs: C₀ = 10 mg/L, a release of τ = 1 h = 3600 s, v = 1.0 m/s, D = 20 m²/s,
// velocity factor f = 1.5.
//
// 36 km: T = 36000/1.0 = 36000 s (10 h); σ = √(2·20·36000/1³) = √1 440 000 = 1200 s.
//
//	leading  = T − 2σ = 33600 s (9 h 20 min)
//	peak     = T + τ/2 = 37800 s (10 h 30 min)
//	trailing = T + τ + 2σ = 42000 s (11 h 40 min)
//	attenuation = erf(3600/(2√2·1200)) = erf(1.06066); Taylor about 1:
//	  erf(1) + erf'(1)·Δ + erf''(1)·Δ²/2 + erf'''(1)·Δ³/6, Δ = 0.06066,
//	  erf'(1) = 2/√π·e⁻¹ = 0.415107, erf'' = −2x·erf' = −0.830215, erf''' = (4x²−2)·erf' = 0.830215
//	  = 0.842701 + 0.025180 − 0.001527 + 0.000031 = 0.866385
//	peak concentration = 10 × 0.866385 = 8.66385
//	earliest: v·f = 1.5 m/s, T = 24000 s, σ = √(2·20·36000/3.375) = 653.20 s,
//	  min(T − 2σ = 22693.6, 0.89·T = 21360) = 21360 s (5 h 56 min)
//	latest: v/f = 2/3 m/s, T = 54000 s, σ = √(1 440 000 × 27/8) = √4 860 000 = 2204.54 s,
//	  T + τ + 2σ = 54000 + 3600 + 4409.08 = 62009.08 s
//
// 9 km: T = 9000 s; σ = √(2·20·9000) = 600 s.
//
//	leading = 7800 s, peak = 10800 s, trailing = 9000 + 3600 + 1200 = 13800 s
//	attenuation = erf(3600/(2√2·600)) = erf(2.12132); Taylor about 2.1: erf(2.1) = 0.997021,
//	  erf'(2.1) = 1.128379·e^(−4.41) = 0.013716, Δ = 0.02132:
//	  0.997021 + 0.013716·0.02132 − 2·2.1·0.013716·0.02132²/2 = 0.997300 → 9.97300
//	earliest: T = 6000, σ = √(360000/3.375) = 326.60; min(5346.8, 5340) = 5340 s
//	latest: T = 13500, σ = √(360000 × 3.375) = 1102.27; 13500 + 3600 + 2204.54 = 19304.54 s
func TestComputeMatchesTheWorkedExample(t *testing.T) {
	leg := func(km, d, q float64) Leg {
		return Leg{LengthM: km * 1000, VelocityMPS: 1.0, DispersionM2S: d, FlowM3S: q}
	}
	hour := time.Hour
	tests := []struct {
		name  string
		in    Input
		want  Window
		check float64 // expected peak concentration
	}{
		{
			name: "36 km, conservative",
			in:   Input{Concentration: 10, Duration: hour, VelocityFactor: 1.5, Legs: []Leg{leg(36, 20, 5)}},
			want: Window{Travel: 36000 * time.Second, Spread: 1200 * time.Second, Leading: 33600 * time.Second,
				Peak: 37800 * time.Second, Trailing: 42000 * time.Second, Earliest: 21360 * time.Second,
				Latest: 62009080 * time.Millisecond, Dilution: 1, Decay: 1, Attenuation: 0.866385},
			check: 8.66385,
		},
		{
			name: "9 km, conservative",
			in:   Input{Concentration: 10, Duration: hour, VelocityFactor: 1.5, Legs: []Leg{leg(9, 20, 5)}},
			want: Window{Travel: 9000 * time.Second, Spread: 600 * time.Second, Leading: 7800 * time.Second,
				Peak: 10800 * time.Second, Trailing: 13800 * time.Second, Earliest: 5340 * time.Second,
				Latest: 19304540 * time.Millisecond, Dilution: 1, Decay: 1, Attenuation: 0.997300},
			check: 9.97300,
		},
		{
			// k = 0.1/h over T = 10 h: e^(−1) = 0.367879; 10 × 0.367879 × 0.866385 = 3.18726.
			name: "36 km, decaying 0.1/h",
			in:   Input{Concentration: 10, Duration: hour, DecayPerHour: 0.1, VelocityFactor: 1.5, Legs: []Leg{leg(36, 20, 5)}},
			want: Window{Travel: 36000 * time.Second, Spread: 1200 * time.Second, Leading: 33600 * time.Second,
				Peak: 37800 * time.Second, Trailing: 42000 * time.Second, Earliest: 21360 * time.Second,
				Latest: 62009080 * time.Millisecond, Dilution: 1, Decay: 0.367879, Attenuation: 0.866385},
			check: 3.18726,
		},
		{
			// A tributary at km 18 doubles the flow (5 → 10 m³/s): dilution 0.5. Variances
			// add: 2·20·18000/1 twice = 1 440 000, σ = 1200 s as in one leg. Background 2:
			// 2 + (10 − 2) × 0.5 × 0.866385 = 5.46554.
			name: "36 km, a tributary halfway, background 2",
			in: Input{Concentration: 10, Background: 2, Duration: hour, VelocityFactor: 1.5,
				Legs: []Leg{leg(18, 20, 5), leg(18, 20, 10)}},
			want: Window{Travel: 36000 * time.Second, Spread: 1200 * time.Second, Leading: 33600 * time.Second,
				Peak: 37800 * time.Second, Trailing: 42000 * time.Second, Earliest: 21360 * time.Second,
				Latest: 62009080 * time.Millisecond, Dilution: 0.5, Decay: 1, Attenuation: 0.866385},
			check: 5.46554,
		},
		{
			// No dispersion coefficient: σ = 0.055 T = 1980 s, so the leading edge is
			// Jobson's 0.89 T = 32040 s. erf(3600/(2√2·1980)) = erf(0.642824); by the series
			// 2/√π·(x − x³/3 + x⁵/10 − x⁷/42 + x⁹/216 − x¹¹/1320) = 1.128379 × 0.564257 = 0.636694.
			// earliest: T = 24000, σ = 1320, min(21360, 21360); latest: T = 54000, σ = 2970,
			// 54000 + 3600 + 5940 = 63540 s.
			name: "36 km, Jobson spread",
			in:   Input{Concentration: 10, Duration: hour, VelocityFactor: 1.5, Legs: []Leg{leg(36, 0, 5)}},
			want: Window{Travel: 36000 * time.Second, Spread: 1980 * time.Second, Leading: 32040 * time.Second,
				Peak: 37800 * time.Second, Trailing: 36000*time.Second + hour + 3960*time.Second, Earliest: 21360 * time.Second,
				Latest: 63540 * time.Second, Dilution: 1, Decay: 1, Attenuation: 0.636694},
			check: 6.36694,
		},
		{
			// A tracer drill tuned the reach's dispersion to 2.25 × D: σ = 1200 × √2.25 =
			// 1800 s; erf(3600/(2√2·1800)) = erf(0.707107) = 0.682689. Earliest: σ at 1.5 m/s
			// 653 × 1.5 = 980 s, min(24000 − 1960, 21360) = 21360 s; latest: σ at 0.667 m/s
			// √4 860 000 × 1.5 = 3306.82 s, 54000 + 3600 + 6613.64 = 64213.64 s.
			name: "36 km, dispersion scale 2.25",
			in:   Input{Concentration: 10, Duration: hour, VelocityFactor: 1.5, DispersionScale: 2.25, Legs: []Leg{leg(36, 20, 5)}},
			want: Window{Travel: 36000 * time.Second, Spread: 1800 * time.Second, Leading: 32400 * time.Second,
				Peak: 37800 * time.Second, Trailing: 43200 * time.Second, Earliest: 21360 * time.Second,
				Latest: 64213640 * time.Millisecond, Dilution: 1, Decay: 1, Attenuation: 0.682689},
			check: 6.82689,
		},
		{
			// A release still going on: the plateau (no attenuation), reached at T + 2σ =
			// 38400 s; when it falls back is not known.
			name: "36 km, a lasting release",
			in:   Input{Concentration: 10, VelocityFactor: 1.5, Legs: []Leg{leg(36, 20, 5)}},
			want: Window{Travel: 36000 * time.Second, Spread: 1200 * time.Second, Leading: 33600 * time.Second,
				Peak: 38400 * time.Second, Earliest: 21360 * time.Second, Dilution: 1, Decay: 1, Attenuation: 1},
			check: 10,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Compute(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			durations := []struct {
				name      string
				got, want time.Duration
			}{
				{"travel", got.Travel, tt.want.Travel}, {"spread", got.Spread, tt.want.Spread},
				{"earliest", got.Earliest, tt.want.Earliest}, {"leading", got.Leading, tt.want.Leading},
				{"peak", got.Peak, tt.want.Peak}, {"trailing", got.Trailing, tt.want.Trailing},
				{"latest", got.Latest, tt.want.Latest},
			}
			for _, d := range durations {
				if diff := d.got - d.want; diff < -time.Second || diff > time.Second {
					t.Errorf("%s = %v, want %v (±1 s)", d.name, d.got, d.want)
				}
			}
			factors := []struct {
				name      string
				got, want float64
			}{
				{"dilution", got.Dilution, tt.want.Dilution}, {"decay", got.Decay, tt.want.Decay},
				{"attenuation", got.Attenuation, tt.want.Attenuation}, {"peak concentration", got.PeakConcentration, tt.check},
			}
			for _, f := range factors {
				if math.Abs(f.got-f.want) > 2e-5*math.Max(1, math.Abs(f.want)) {
					t.Errorf("%s = %.6f, want %.6f", f.name, f.got, f.want)
				}
			}
		})
	}
}

func TestComputeRefusesWhatItCannotSolve(t *testing.T) {
	tests := []struct {
		name string
		in   Input
	}{
		{"no legs", Input{Concentration: 1}},
		{"standing water", Input{Concentration: 1, Legs: []Leg{{LengthM: 1000}}}},
		{"negative dispersion", Input{Concentration: 1, Legs: []Leg{{LengthM: 1000, VelocityMPS: 1, DispersionM2S: -1}}}},
		{"NaN concentration", Input{Concentration: math.NaN(), Legs: []Leg{{LengthM: 1000, VelocityMPS: 1}}}},
		{"negative decay", Input{Concentration: 1, DecayPerHour: -1, Legs: []Leg{{LengthM: 1000, VelocityMPS: 1}}}},
		{"negative dispersion scale", Input{Concentration: 1, DispersionScale: -1, Legs: []Leg{{LengthM: 1000, VelocityMPS: 1}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Compute(tt.in); err == nil {
				t.Error("want an error")
			}
		})
	}
	if _, err := Compute(Input{}); !errors.Is(err, ErrNoPath) {
		t.Errorf("no legs: %v, want ErrNoPath", err)
	}
}

func TestBandWidensWithTheVelocityFactor(t *testing.T) {
	in := Input{Concentration: 10, Duration: time.Hour, Legs: []Leg{{LengthM: 36000, VelocityMPS: 1, DispersionM2S: 20}}}
	narrow, _ := Compute(in)
	in.VelocityFactor = 2
	wide, _ := Compute(in)
	// Factor 1: the earliest is the expected leading edge or Jobson's 0.89·T, whichever is
	// sooner (33600 s vs 32040 s here), and the latest is the expected fall.
	if narrow.Earliest != 32040*time.Second || narrow.Latest != narrow.Trailing {
		t.Errorf("factor 1: band %v–%v, want 8h54m0s–%v", narrow.Earliest, narrow.Latest, narrow.Trailing)
	}
	if !(wide.Earliest < narrow.Earliest && wide.Latest > narrow.Latest) {
		t.Errorf("factor 2: band %v–%v, want wider than %v–%v", wide.Earliest, wide.Latest, narrow.Earliest, narrow.Latest)
	}
}
