package samples

import (
	"strings"
	"testing"
	"time"
)

func TestConvert(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	tests := []struct {
		name                                   string
		site, param, value, unit, when, bd, dl string
		wantValue, wantDL                      float64
		wantBelow                              bool
		wantErr                                string
	}{
		{"a value in the canonical unit", "S1", "nh3n", "0.5", "mg/L", "2025-06-01 08:00", "", "", 0.5, 0, false, ""},
		{"µg/L converted to mg/L", "S1", "cu", "20", "µg/L", "2025-06-01", "", "", 0.02, 0, false, ""},
		{"0.01L is below a DL of 0.01", "S1", "cod", "4L", "mg/L", "2025-06-01", "", "", 4, 4, true, ""},
		{"below_dl with a dl", "S1", "tp", "", "mg/L", "2025-06-01", "true", "0.01", 0, 0.01, true, ""},
		{"below_dl without a dl", "S1", "tp", "", "mg/L", "2025-06-01", "true", "", 0, 0, true, "no detection limit given"},
		{"parameter case is ignored", "S1", "NH3N", "0.5", "mg/L", "2025-06-01", "", "", 0.5, 0, false, ""},
		{"an unknown parameter", "S1", "xyz", "1", "mg/L", "2025-06-01", "", "", 0, 0, false, "xyz"},
		{"no site", "", "cod", "1", "mg/L", "2025-06-01", "", "", 0, 0, false, "no site"},
		{"a bad time", "S1", "cod", "1", "mg/L", "June", "", "", 0, 0, false, "time"},
		{"not a number", "S1", "cod", "abc", "mg/L", "2025-06-01", "", "", 0, 0, false, "not a number"},
		{"no value", "S1", "cod", "", "mg/L", "2025-06-01", "", "", 0, 0, false, "no value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Convert(tt.site, tt.param, tt.value, tt.unit, tt.when, tt.bd, tt.dl)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := s.Value - tt.wantValue; diff > 1e-12 || diff < -1e-12 || s.DL != tt.wantDL || s.BelowDL != tt.wantBelow {
				t.Errorf("sample %+v, want value %g, DL %g, below %v", s, tt.wantValue, tt.wantDL, tt.wantBelow)
			}
			if s.Time.IsZero() || s.Time.Location().String() == "" || !s.Time.Equal(mustTime(t, tt.when, cst)) {
				t.Errorf("time %v", s.Time)
			}
		})
	}
}

func mustTime(t *testing.T, s string, loc *time.Location) time.Time {
	t.Helper()
	for _, l := range []string{"2006-01-02 15:04", "2006-01-02"} {
		if v, err := time.ParseInLocation(l, s, loc); err == nil {
			return v
		}
	}
	t.Fatalf("test time %q", s)
	return time.Time{}
}
