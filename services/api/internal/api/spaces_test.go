package api_test

import (
	"net/http"
	"testing"
)

// GET /api/v1/rivers carries each river's emergency spaces (sites.yaml) with the field
// names the dashboard's map reads, to every caller: the Santun's three, the Toutun's none
// (an empty list, not an absent field).
func TestRiversCarryTheirEmergencySpaces(t *testing.T) {
	e := newEnv(t)
	type space struct {
		ID         string  `json:"id"`
		Name       string  `json:"name"`
		Kind       string  `json:"kind"`
		Km         float64 `json:"km"`
		CapacityM3 float64 `json:"capacity_m3"`
		OperatedBy struct {
			Jurisdiction string `json:"jurisdiction"`
			Role         string `json:"role"`
		} `json:"operated_by"`
	}
	for _, token := range []string{viewerChangji, viewerXPCC6, responderUrumqi} {
		res := e.do(t, "GET", "/api/v1/rivers", token, nil)
		if res.status != http.StatusOK {
			t.Fatalf("%s: status %d", token, res.status)
		}
		var body struct {
			Items []struct {
				ID              string   `json:"id"`
				EmergencySpaces *[]space `json:"emergency_spaces"`
			} `json:"items"`
		}
		res.decode(t, &body)
		got := map[string][]space{}
		for _, it := range body.Items {
			if it.EmergencySpaces == nil {
				t.Fatalf("%s: river %s has no emergency_spaces field", token, it.ID)
			}
			got[it.ID] = *it.EmergencySpaces
		}
		if len(got["toutun"]) != 0 {
			t.Errorf("%s: toutun spaces %+v, want none", token, got["toutun"])
		}
		sp := got["santun"]
		if len(sp) != 3 || sp[1].ID != "STH-G1" || sp[1].Kind != "sluice" || sp[1].Km != 74 || sp[1].CapacityM3 != 30000 ||
			sp[1].OperatedBy.Jurisdiction != "changji" || sp[1].OperatedBy.Role != "emergency" || sp[1].Name != "三屯河城北拦河节制闸" {
			t.Errorf("%s: santun spaces %+v", token, sp)
		}
	}
}
