package responder_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
)

// drillScore is what GET /api/v1/drills answers of one drill (api.DrillScore).
type drillScore struct {
	Incident   string     `json:"incident"`
	Status     string     `json:"status"`
	OpenedAt   time.Time  `json:"opened_at"`
	AckedAt    *time.Time `json:"acked_at"`
	AckSeconds *int64     `json:"ack_seconds"`
	Steps      []struct {
		Step           string     `json:"step"`
		AssignedAt     time.Time  `json:"assigned_at"`
		Deadline       time.Time  `json:"deadline"`
		ReceiptAt      *time.Time `json:"receipt_at"`
		DoneAt         *time.Time `json:"done_at"`
		ReceiptSeconds *int64     `json:"receipt_seconds"`
		DoneSeconds    *int64     `json:"done_seconds"`
		Outcome        string     `json:"outcome"`
	} `json:"steps"`
	Met     int `json:"met"`
	Late    int `json:"late"`
	Missed  int `json:"missed"`
	Pending int `json:"pending"`
}

// TestIntegrationADrillOnTheRealBrokerIsScoredFromItsActualTimes runs the api, the
// responder and the archiver binaries on the real broker and ClickHouse: a drill started
// through the API opens a drill incident whose notifications reach the receivers marked
// 【演练】; changji's desk acknowledges it and answers its first step (receipt, then done)
// through the API; /api/v1/drills then scores it with the times the record holds: the
// acknowledgement from the opening, the step's receipt and done from its assignment, the
// step met, the others pending.
func TestIntegrationADrillOnTheRealBrokerIsScoredFromItsActualTimes(t *testing.T) {
	_, rcv, base := throughTheAPI(t)
	const desk = "dev-responder-changji" // 昌吉市应急值班: STH-S2 is changji's

	const admin = "dev-admin-token" // a drill is started by an admin (pkg/authz)
	if code := apiCall(t, "POST", base+"/drills", admin, map[string]any{"site": "STH-S2", "parameter": "nh3n", "note": "季度联合演练"}, nil); code != http.StatusOK {
		t.Fatalf("POST /drills: %d", code)
	}
	var list struct {
		Drills []drillScore `json:"drills"`
	}
	drills := func() []drillScore {
		list.Drills = nil
		apiCall(t, "GET", base+"/drills", desk, nil, &list)
		return list.Drills
	}
	testinfra.Eventually(t, 60*time.Second, "the drill listed with its steps", func() bool {
		d := drills()
		return len(d) == 1 && len(d[0].Steps) > 0
	})
	id := list.Drills[0].Incident
	testinfra.Eventually(t, 30*time.Second, "drill notifications received, marked 【演练】", func() bool {
		return len(rcv.find(func(m received) bool { return strings.Contains(m.Text, "【演练】") })) > 0
	})
	if unmarked := rcv.find(func(m received) bool { return !strings.Contains(m.Text, "【演练】") }); len(unmarked) > 0 {
		t.Errorf("%d drill notifications without 【演练】, the first: %q", len(unmarked), unmarked[0].Text)
	}

	type detail struct {
		Incident message.Incident   `json:"incident"`
		Log      []message.LogEntry `json:"log"`
	}
	var d detail
	apiCall(t, "GET", base+"/incidents/"+id, desk, nil, &d)
	var step message.Step
	for _, s := range d.Incident.Steps {
		if s.Jurisdiction == "changji" {
			step = s
			break
		}
	}
	if step.ID == "" {
		t.Fatalf("the drill has no step of changji: %+v", d.Incident.Steps)
	}
	// The desk answers over a few seconds, as people do: the score must show those times.
	time.Sleep(1100 * time.Millisecond)
	if code := apiCall(t, "POST", base+"/incidents/"+id+"/ack", desk, map[string]any{}, nil); code != http.StatusOK {
		t.Fatalf("ack: %d", code)
	}
	time.Sleep(1100 * time.Millisecond)
	if code := apiCall(t, "POST", base+"/incidents/"+id+"/receipt", desk, map[string]any{"step": step.ID}, nil); code != http.StatusOK {
		t.Fatalf("receipt of %s: %d", step.ID, code)
	}
	time.Sleep(1100 * time.Millisecond)
	if code := apiCall(t, "POST", base+"/incidents/"+id+"/steps/"+step.ID+"/done", desk, map[string]any{"note": "演练：已核查"}, nil); code != http.StatusOK {
		t.Fatalf("step %s done: %d", step.ID, code)
	}

	var score drillScore
	testinfra.Eventually(t, 30*time.Second, "the drill scored with the step done", func() bool {
		for _, x := range drills() {
			if x.Incident == id && x.Met == 1 {
				score = x
				return true
			}
		}
		return false
	})
	d = detail{}
	apiCall(t, "GET", base+"/incidents/"+id, desk, nil, &d)
	inc := d.Incident
	if inc.AckedAt == nil || score.AckSeconds == nil || *score.AckSeconds != int64(inc.AckedAt.Sub(inc.OpenedAt)/time.Second) || *score.AckSeconds < 1 {
		t.Errorf("ack_seconds %v, want the whole seconds from opening %v to acknowledgement %v", score.AckSeconds, inc.OpenedAt, inc.AckedAt)
	}
	var actual message.Step
	for _, s := range inc.Steps {
		if s.ID == step.ID {
			actual = s
		}
	}
	pending := 0
	for _, s := range score.Steps {
		if s.Step != step.ID {
			if s.Outcome == "pending" {
				pending++
			} else if s.DoneAt == nil {
				t.Errorf("step %s not done is %s, want pending before its deadline %v", s.Step, s.Outcome, s.Deadline)
			}
			continue
		}
		if actual.ReceiptAt == nil || actual.DoneAt == nil || s.ReceiptAt == nil || !s.ReceiptAt.Equal(*actual.ReceiptAt) || !s.DoneAt.Equal(*actual.DoneAt) {
			t.Fatalf("step %s scored receipt %v done %v, the record says %v and %v", s.Step, s.ReceiptAt, s.DoneAt, actual.ReceiptAt, actual.DoneAt)
		}
		wantReceipt, wantDone := int64(actual.ReceiptAt.Sub(s.AssignedAt)/time.Second), int64(actual.DoneAt.Sub(s.AssignedAt)/time.Second)
		if s.ReceiptSeconds == nil || *s.ReceiptSeconds != wantReceipt || s.DoneSeconds == nil || *s.DoneSeconds != wantDone || wantDone <= wantReceipt || wantReceipt < 2 {
			t.Errorf("step %s: receipt %v s, done %v s; want %d and %d from its assignment %v", s.Step, s.ReceiptSeconds, s.DoneSeconds, wantReceipt, wantDone, s.AssignedAt)
		}
		if s.Outcome != "met" || actual.DoneAt.After(actual.Deadline) {
			t.Errorf("step %s outcome %s, done %v against the deadline %v", s.Step, s.Outcome, actual.DoneAt, actual.Deadline)
		}
		// The audit trail keeps milliseconds; the incident its own times whole.
		if s.AssignedAt.Before(inc.OpenedAt.Truncate(time.Millisecond)) || s.AssignedAt.After(*actual.ReceiptAt) {
			t.Errorf("step %s assigned at %v, outside the opening %v and its receipt", s.Step, s.AssignedAt, inc.OpenedAt)
		}
	}
	if score.Met != 1 || score.Late != 0 || score.Missed != 0 || score.Pending != pending || pending != len(score.Steps)-1 {
		t.Errorf("score met %d late %d missed %d pending %d of %d steps", score.Met, score.Late, score.Missed, score.Pending, len(score.Steps))
	}
	for _, s := range score.Steps {
		if s.Step == step.ID && s.ReceiptSeconds != nil && s.DoneSeconds != nil && score.AckSeconds != nil {
			t.Logf("drill %s: ack %d s; step %s receipt %d s, done %d s (met); %d steps pending", id, *score.AckSeconds, step.ID,
				*s.ReceiptSeconds, *s.DoneSeconds, pending)
		}
	}
}
