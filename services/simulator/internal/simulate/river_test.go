package simulate

import (
	"math"
	"testing"
	"time"
)

func TestMixedIsAMassBalance(t *testing.T) {
	tests := []struct {
		name                       string
		excess, effluent, river, w float64
	}{
		{"the demo's spill at STH-S2", 28.8, 0.6, 5, 28.8 * 0.6 / 5.6},
		{"no effluent adds nothing", 30, 0, 5, 0},
		{"a dry river takes the effluent as it is", 30, 0.6, 0, 30},
		{"nothing flows", 30, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Mixed(tt.excess, tt.effluent, tt.river); math.Abs(got-tt.w) > 1e-9 {
				t.Errorf("Mixed = %v, want %v", got, tt.w)
			}
		})
	}
}

func TestPlumeArrivesAfterTheTravelTimeAndPassesAfterTheRelease(t *testing.T) {
	p := Plume{DistanceM: 4000, VelocityMPS: 0.8, DispersionM2S: 10, Duration: time.Hour}
	travel := p.Travel()
	if travel != 5000*time.Second {
		t.Fatalf("travel = %v, want 4 km / 0.8 m/s = 5000 s", travel)
	}
	tests := []struct {
		name     string
		since    time.Duration
		min, max float64
	}{
		{"before it can arrive", travel / 2, 0, 1e-6},
		{"its front, half way up", travel, 0.45, 0.55},
		{"the plateau", travel + 30*time.Minute, 0.99, 1},
		{"its tail, half way down", travel + time.Hour, 0.45, 0.55},
		{"long gone", travel + 3*time.Hour, 0, 1e-6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if f := p.Fraction(tt.since); f < tt.min || f > tt.max {
				t.Errorf("Fraction(%v) = %v, want %v..%v", tt.since, f, tt.min, tt.max)
			}
		})
	}
}

func TestDecayReducesThePlumeAlongItsTravel(t *testing.T) {
	near := Plume{DistanceM: 4000, VelocityMPS: 0.8, DispersionM2S: 10, DecayPerS: 0.2 / 86400, Duration: 4 * time.Hour}
	far := near
	far.DistanceM = 16000
	plateau := func(p Plume) float64 { return p.Fraction(p.Travel() + 2*time.Hour) }
	want := math.Exp(-0.2 / 86400 * 20000)
	if got := plateau(far); math.Abs(got-want) > 0.01 {
		t.Errorf("plateau 16 km downstream = %v, want e^(−k·t) = %v", got, want)
	}
	if plateau(far) >= plateau(near) {
		t.Error("the plume is not weaker further downstream")
	}
}

func TestRampRisesHoldsAndFalls(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	end := t0.Add(time.Hour)
	tests := []struct {
		at   time.Duration
		want float64
	}{
		{-time.Minute, 0}, {0, 0}, {5 * time.Minute, 0.5}, {10 * time.Minute, 1}, {time.Hour - time.Second, 1},
		{time.Hour + 5*time.Minute, 0.5}, {time.Hour + 10*time.Minute, 0},
	}
	for _, tt := range tests {
		if got := ramp(t0.Add(tt.at), t0, end, 10*time.Minute); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("ramp at %v = %v, want %v", tt.at, got, tt.want)
		}
	}
}
