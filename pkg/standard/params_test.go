package standard_test

import (
	"slices"
	"testing"

	"github.com/riverwatch/riverwatch/pkg/standard"
)

func TestEvaluated2011IsThe21Items(t *testing.T) {
	// 环办〔2011〕22号: Table 1 without water temperature, TN and fecal coliforms (facts §2.1).
	want := []string{"ph", "do", "codmn", "cod", "bod5", "nh3n", "tp", "cu", "zn", "fluoride", "se",
		"as", "hg", "cd", "cr6", "pb", "cyanide", "phenol", "petroleum", "las", "sulfide"}
	var got []string
	for _, c := range standard.Codes() {
		if standard.Evaluated2011(c) {
			got = append(got, c)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("Evaluated2011 items = %v\nwant %v", got, want)
	}
	for _, c := range []string{"temp", "tn", "fecal_coliform", "sulfate", "benzene", "nope"} {
		if standard.Evaluated2011(c) {
			t.Errorf("Evaluated2011(%s) = true", c)
		}
	}
}

func TestIsToxicAndIsHeavyMetal(t *testing.T) {
	for _, c := range []string{"hg", "cd", "cr6", "as", "pb", "cyanide", "benzene", "bap", "tl", "methylmercury", "atrazine", "cr"} {
		if !standard.IsToxic(c) {
			t.Errorf("IsToxic(%s) = false", c)
		}
	}
	for _, c := range []string{"cod", "nh3n", "tp", "do", "ph", "sulfate", "conductivity", "nope"} {
		if standard.IsToxic(c) {
			t.Errorf("IsToxic(%s) = true", c)
		}
	}
	for _, c := range []string{"hg", "cd", "cr6", "pb", "as", "cu", "zn", "ni", "tl", "cr"} {
		if !standard.IsHeavyMetal(c) {
			t.Errorf("IsHeavyMetal(%s) = false", c)
		}
	}
	for _, c := range []string{"cyanide", "se", "cod", "benzene", "b", "be", "nope"} {
		if standard.IsHeavyMetal(c) {
			t.Errorf("IsHeavyMetal(%s) = true", c)
		}
	}
}

func TestDescribeAndOrder(t *testing.T) {
	zh, en := standard.Describe("codmn")
	if zh != "高锰酸盐指数" || en != "permanganate index" {
		t.Errorf("Describe(codmn) = %q, %q", zh, en)
	}
	if zh, en := standard.Describe("nope"); zh != "" || en != "" {
		t.Errorf("Describe(nope) = %q, %q", zh, en)
	}
	codes := standard.Codes()
	if len(codes) != 24+5+80+21 {
		t.Errorf("%d codes", len(codes))
	}
	for i, c := range codes {
		if standard.Order(c) != i || !standard.Known(c) {
			t.Errorf("Order(%s) = %d, want %d", c, standard.Order(c), i)
		}
		if standard.CanonicalUnit(c) == "" {
			t.Errorf("%s has no canonical unit", c)
		}
		if zh, en := standard.Describe(c); zh == "" || en == "" {
			t.Errorf("%s has no name", c)
		}
	}
	if standard.Order("nope") != -1 || standard.Known("nope") {
		t.Error("unknown code")
	}
	// The contract's canonical codes (DESIGN.md) all exist.
	for _, c := range []string{"ph", "do", "codmn", "cod", "bod5", "nh3n", "tp", "tn", "cu", "zn", "fluoride",
		"se", "as", "hg", "cd", "cr6", "pb", "cyanide", "phenol", "petroleum", "las", "sulfide",
		"fecal_coliform", "temp", "sulfate", "chloride", "nitrate", "fe", "mn", "conductivity",
		"turbidity", "flow", "ss", "toc", "tds", "salinity", "chlorophyll"} {
		if !standard.Known(c) {
			t.Errorf("contract code %q unknown", c)
		}
	}
}

func TestDrinkingLimit(t *testing.T) {
	for c, want := range map[string]float64{"sulfate": 250, "chloride": 250, "nitrate": 10, "fe": 0.3, "mn": 0.1,
		"chloroform": 0.06, "benzene": 0.01, "bap": 2.8e-6, "tl": 0.0001, "mo": 0.07} {
		if got, ok := standard.DrinkingLimit(c); !ok || got != want {
			t.Errorf("DrinkingLimit(%s) = %v, %v; want %v", c, got, ok, want)
		}
	}
	for _, c := range []string{"cod", "conductivity", "nope"} {
		if _, ok := standard.DrinkingLimit(c); ok {
			t.Errorf("DrinkingLimit(%s) ok", c)
		}
	}
}
