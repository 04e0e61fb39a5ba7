package chstore

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestOpenRetryingGivesUpAfterWaitWithTheLastError(t *testing.T) {
	// A listener that accepts and hangs up: every attempt fails at once.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var attempts atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			attempts.Add(1)
			c.Close()
		}
	}()
	var logs bytes.Buffer
	start := time.Now()
	conn, _, err := OpenRetrying(context.Background(), Config{Addr: ln.Addr().String(), DialTimeout: time.Second}, 1500*time.Millisecond,
		slog.New(slog.NewTextHandler(&logs, nil)))
	took := time.Since(start)
	if err == nil {
		conn.Close()
		t.Fatal("connected to a server that hangs up")
	}
	if !strings.Contains(err.Error(), "gave up") || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Errorf("error %q does not say it gave up on the address", err)
	}
	if took > 5*time.Second {
		t.Errorf("gave up after %v, want about the 1.5 s wait", took)
	}
	if attempts.Load() < 2 || !strings.Contains(logs.String(), "retrying") {
		t.Errorf("%d attempts, logs %q: want retries, each logged", attempts.Load(), logs.String())
	}
}

func TestOpenRetryingRefusesAnInvalidConfigAtOnce(t *testing.T) {
	start := time.Now()
	if _, _, err := OpenRetrying(context.Background(), Config{Addr: "127.0.0.1:1"}, time.Minute, slog.New(slog.DiscardHandler)); err == nil ||
		!strings.Contains(err.Error(), "DialTimeout") {
		t.Errorf("err %v, want the zero DialTimeout named", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("retried a config error for %v", took)
	}
}

func TestOpenRetryingConnectsToTheServer(t *testing.T) {
	addr := os.Getenv("RIVERWATCH_CLICKHOUSE_ADDR")
	if os.Getenv("RIVERWATCH_INTEGRATION") != "1" || addr == "" { // pkg/testinfra imports this package
		t.Skip("integration test: set RIVERWATCH_INTEGRATION=1 and RIVERWATCH_CLICKHOUSE_ADDR")
	}
	conn, v, err := OpenRetrying(t.Context(), Config{Addr: addr, DialTimeout: 5 * time.Second}, 30*time.Second, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if v.Major == 0 {
		t.Errorf("server version %v", v)
	}
}
