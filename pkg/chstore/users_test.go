package chstore_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/riverwatch/riverwatch/pkg/chstore"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
)

// apiPasswordFile is where deploy/local/clickhouse.sh writes riverwatch_api's password.
func apiPasswordFile(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("RIVERWATCH_STATE_DIR")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatalf("home dir: %v", err)
		}
		dir = filepath.Join(home, ".cache", "riverwatch", "state")
	}
	return filepath.Join(dir, "clickhouse", "passwords", "riverwatch_api")
}

func TestAPIClickHouseUserIsReadOnlyWithLimits(t *testing.T) {
	testinfra.Require(t)
	addr := os.Getenv("RIVERWATCH_CLICKHOUSE_ADDR")
	if addr == "" {
		addr = "127.0.0.1:9000"
	}
	pw, err := os.ReadFile(apiPasswordFile(t))
	if os.IsNotExist(err) {
		t.Skipf("%s is missing: the server on %s was not started (or refreshed) by deploy/local/clickhouse.sh, which creates riverwatch_api", apiPasswordFile(t), addr)
	}
	if err != nil {
		t.Fatalf("password file: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := chstore.Open(ctx, chstore.Config{Addr: addr, Username: "default", DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("open as default: %v", err)
	}
	t.Cleanup(func() { _ = admin.Close() }) // registered first, so it runs after the probe is dropped
	if err := admin.Exec(ctx, "CREATE DATABASE IF NOT EXISTS riverwatch"); err != nil {
		t.Fatalf("create riverwatch: %v", err)
	}
	// The probe exists, so INSERT and DROP can fail only for want of rights.
	if err := admin.Exec(ctx, "CREATE TABLE IF NOT EXISTS riverwatch.api_user_probe (x UInt8) ENGINE = Memory"); err != nil {
		t.Fatalf("create probe: %v", err)
	}
	t.Cleanup(func() { _ = admin.Exec(context.Background(), "DROP TABLE IF EXISTS riverwatch.api_user_probe") })
	api, err := chstore.Open(ctx, chstore.Config{Addr: addr, Database: "riverwatch", Username: "riverwatch_api",
		Password: strings.TrimSpace(string(pw)), DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("open as riverwatch_api: %v", err)
	}
	defer func() { _ = api.Close() }()

	var n uint64
	if err := api.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = 'riverwatch'").Scan(&n); err != nil {
		t.Fatalf("SELECT as riverwatch_api: %v", err)
	}
	refused := []struct{ name, sql string }{
		{"insert", "INSERT INTO riverwatch.api_user_probe VALUES (1)"},
		{"drop", "DROP TABLE riverwatch.api_user_probe"},
		{"create", "CREATE TABLE riverwatch.api_user_probe2 (x UInt8) ENGINE = Memory"},
	}
	for _, tc := range refused {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			err := api.Exec(ctx, tc.sql)
			if err == nil || !strings.Contains(err.Error(), "readonly") {
				t.Fatalf("%s as riverwatch_api: err = %v, want a readonly refusal", tc.sql, err)
			}
		})
	}
	t.Run("over the row limit is refused even when the client lifts it", func(t *testing.T) {
		lifted := clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"max_result_rows": 0}))
		rows, err := api.Query(lifted, "SELECT number FROM system.numbers LIMIT 2000000")
		if err == nil {
			for rows.Next() {
			}
			err = rows.Err()
			_ = rows.Close()
		}
		if err == nil {
			t.Fatal("2 000 000 rows were returned to riverwatch_api")
		}
		t.Logf("refused: %v", err)
	})
}
