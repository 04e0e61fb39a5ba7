package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/hj212"
	"github.com/riverwatch/riverwatch/pkg/service/servicetest"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
)

func TestCommandLineErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown flag", []string{"-nope"}, 2, "flag provided but not defined"},
		{"missing config file", []string{"-config", "/nonexistent/riverwatch.yaml"}, 1, "config file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if code := run(tc.args, io.Discard, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tc.code, tc.want)
			}
		})
	}
}

// TestIntegrationBinaryAnswersAStationAndStopsOnSIGTERM runs the gateway binary against
// the real broker: it becomes ready, answers a station's frame with 9014 once stored, and
// exits 0 on SIGTERM.
func TestIntegrationBinaryAnswersAStationAndStopsOnSIGTERM(t *testing.T) {
	cfg := testinfra.Config(t)
	bin := testinfra.BuildService(t, "gateway")
	httpAddr, tcpAddr := testinfra.FreeAddr(t), testinfra.FreeAddr(t)
	cmd := exec.Command(bin, "-config", testinfra.ModuleRoot(t)+"/configs/riverwatch.yaml")
	cmd.Env = append(testinfra.Env(cfg), "RIVERWATCH_GATEWAY_LISTEN="+httpAddr, "RIVERWATCH_GATEWAY_HJ212_LISTEN="+tcpAddr,
		"RIVERWATCH_GATEWAY_PUBLISH_TIMEOUT=5s")
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("gateway log:\n%s", logs.String())
		}
	}()
	testinfra.Eventually(t, 30*time.Second, "gateway /readyz", func() bool {
		resp, err := http.Get("http://" + httpAddr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	loc, _ := time.LoadLocation("Asia/Shanghai")
	at := time.Now().Truncate(time.Hour).Add(-time.Hour)
	cp, err := hj212.DataCP(at, loc, hj212.V2017, []hj212.Item{hj212.Period("w21003", 0.4, 0.5, 0.6, "N")})
	if err != nil {
		t.Fatal(err)
	}
	p := hj212.Packet{QN: hj212.NewQN(time.Now(), loc), ST: hj212.STSurfaceWater, CN: hj212.CNHour, PW: "123456",
		MN: "65230100000002", Flag: hj212.NewFlag(hj212.V2017, true, false), CP: cp}
	c, err := hj212.Dial(context.Background(), tcpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A topic just created may take the writer's metadata refresh (a few seconds) to be
	// writable; the station resends until answered, as a data logger does.
	testinfra.Eventually(t, 60*time.Second, "a 9014 for the station's frame", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		defer cancel()
		return c.Upload(ctx, p) == nil
	})
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	var metrics bytes.Buffer
	metrics.ReadFrom(resp.Body)
	resp.Body.Close()
	if !strings.Contains(metrics.String(), `riverwatch_gateway_readings_accepted_total{source="hj212"} 1`) {
		t.Errorf("metrics do not count the reading:\n%s", grep(metrics.String(), "riverwatch_gateway_"))
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Fatalf("gateway exited with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("gateway did not stop within 30 s of SIGTERM")
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestCommonFlags(t *testing.T) { servicetest.CommonFlags(t, "gateway", run) }
