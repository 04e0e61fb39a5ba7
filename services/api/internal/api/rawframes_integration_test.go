package api_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/hj212"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/store"
	"github.com/riverwatch/riverwatch/pkg/store/storetest"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
	"github.com/riverwatch/riverwatch/services/api/internal/api"
	"github.com/riverwatch/riverwatch/services/api/internal/evidence"
)

// startBinary runs a service binary on the test's configuration until the test ends.
func startBinary(t *testing.T, cfg []string, name string, env ...string) {
	t.Helper()
	bin := testinfra.BuildService(t, name)
	cmd := exec.Command(bin, "-config", testinfra.ModuleRoot(t)+"/configs/riverwatch.yaml")
	cmd.Env = append(cfg, env...)
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s log:\n%s", name, logs.String())
		}
	})
}

// TestIntegrationAFrameSentToTheGatewayIsInRawFramesAndInTheEvidenceBundle sends an HJ 212
// frame to the gateway binary on the real broker; the archiver binary stores it in
// raw_frames (PW masked, with its reading's id), and the evidence bundle of an incident
// whose event has that reading carries it, hashed and verified.
func TestIntegrationAFrameSentToTheGatewayIsInRawFramesAndInTheEvidenceBundle(t *testing.T) {
	e := storetest.NewArchive(t)
	env := testinfra.Env(e.Config)
	httpAddr, tcpAddr := testinfra.FreeAddr(t), testinfra.FreeAddr(t)
	startBinary(t, env, "gateway", "RIVERWATCH_GATEWAY_LISTEN="+httpAddr, "RIVERWATCH_GATEWAY_HJ212_LISTEN="+tcpAddr)
	startBinary(t, env, "archiver", "RIVERWATCH_ARCHIVER_LISTEN="+testinfra.FreeAddr(t))
	testinfra.Eventually(t, 60*time.Second, "gateway /readyz", func() bool {
		resp, err := http.Get("http://" + httpAddr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	loc, _ := time.LoadLocation("Asia/Shanghai")
	at := time.Now().UTC().Truncate(time.Hour).Add(-time.Hour)
	cp, err := hj212.DataCP(at, loc, hj212.V2017, []hj212.Item{hj212.Period("w21003", 2.1, 2.4, 2.9, "N")})
	if err != nil {
		t.Fatal(err)
	}
	p := hj212.Packet{QN: hj212.NewQN(time.Now(), loc), ST: hj212.STSurfaceWater, CN: hj212.CNHour, PW: "123456",
		MN: "65230100000004", Flag: hj212.NewFlag(hj212.V2017, true, false), CP: cp}
	c, err := hj212.Dial(context.Background(), tcpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	testinfra.Eventually(t, 60*time.Second, "a 9014 for the station's frame", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		defer cancel()
		return c.Upload(ctx, p) == nil
	})
	readingID := message.ReadingID("STH-S1", "nh3n", message.IntervalHour, at)
	var frames []message.RawFrame
	testinfra.Eventually(t, 90*time.Second, "the frame in raw_frames", func() bool {
		frames, err = e.Reader.RawFrames(context.Background(), store.RawFrameQuery{Site: "STH-S1", From: at, To: at.Add(time.Second)})
		return err == nil && len(frames) == 1
	})
	f := frames[0]
	if f.ID != message.RawFrameID(p.MN, p.QN, p.CN, at) || f.QN != p.QN || !f.DataTime.Equal(at) || !slices.Equal(f.ReadingIDs, []string{readingID}) {
		t.Errorf("raw frame %+v, want %s with reading %s", f, p.QN, readingID)
	}
	if strings.Contains(f.Raw, "123456") || !strings.Contains(f.Raw, "PW=***") || !strings.Contains(f.Raw, "w21003-Avg=2.4") {
		t.Errorf("raw frame %q: the password is not masked or it is not the frame sent", f.Raw)
	}

	// An incident whose event is that reading's: the bundle holds its frame.
	ev := message.Event{ID: message.EventID(message.EventExceedanceOpened, "STH-S1", "nh3n", at, ""), Type: message.EventExceedanceOpened,
		Site: "STH-S1", Parameter: "nh3n", Value: 2.4, Limit: 1, Multiple: 1.4, ObservedAt: at, EmittedAt: at.Add(time.Second), ReadingID: readingID}
	storetest.Write(t, e, store.KindEvents, func(message.Event) string { return "STH-S1" }, ev)
	now := time.Now().UTC()
	inc := message.Incident{ID: "inc-rawframe", Version: 1, Title: "三屯河 氨氮超标", Status: message.IncidentOpen, Level: "IV",
		Site: "STH-S1", Sites: []string{"STH-S1"}, Parameters: []string{"nh3n"}, Jurisdictions: []string{"changji"},
		EventIDs: []string{ev.ID}, OpenedAt: at, UpdatedAt: at}
	storetest.Write(t, e, store.KindIncidents, storetest.UpdateIncidentID, message.IncidentUpdate{Kind: message.UpdateIncident, Incident: &inc})
	envAPI := newEnv(t, func(o *api.Options) {
		o.Store = e.Reader
		o.Now = func() time.Time { return now }
		o.Evidence = testEvidence(t, now)
	})
	body := getBundle(t, envAPI, inc.ID, responderChangji)
	rep, err := evidence.VerifyBytes(body, envAPI.server.EvidenceKey())
	if err != nil || !rep.OK() {
		t.Fatalf("the bundle does not verify: %v %+v", err, rep.Problems)
	}
	var got []message.RawFrame
	if err := json.Unmarshal(unzip(t, body)["raw_frames/STH-S1.json"], &got); err != nil || len(got) != 1 || got[0].Raw != f.Raw {
		t.Fatalf("raw_frames/STH-S1.json: %v %+v, want the frame %q", err, got, f.Raw)
	}
	if strings.Contains(strings.Join(rep.Manifest.Notes, "\n"), "no raw frame") {
		t.Errorf("the notes say the event has no frame: %v", rep.Manifest.Notes)
	}
	keepBundle(t, inc.ID, body, envAPI.server.EvidenceKey())
}

// keepBundle leaves a bundle and the public key that verifies it in artifacts/evidence/, as
// the browser tests leave their screenshots, for `api verify-evidence` by hand.
func keepBundle(t *testing.T, id string, body []byte, pub ed25519.PublicKey) {
	t.Helper()
	dir := filepath.Join(testinfra.ModuleRoot(t), "artifacts", "evidence")
	zipPath, keyPath := filepath.Join(dir, id+".zip"), filepath.Join(dir, id+".pub")
	err := os.MkdirAll(dir, 0o755)
	if err == nil {
		err = errors.Join(os.WriteFile(zipPath, body, 0o644), os.WriteFile(keyPath, []byte(hex.EncodeToString(pub)), 0o644))
	}
	if err != nil {
		t.Fatalf("keeping the bundle: %v", err)
	}
	t.Logf("bundle: %s (verify: bin/api verify-evidence -pub %s %s)", zipPath, keyPath, zipPath)
}
