package store_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/store"
	"github.com/riverwatch/riverwatch/pkg/store/storetest"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
)

// TestBackupScriptRestoresEveryTableAfterTheDatabaseIsDropped runs the operators' backup
// script (deploy/backup/clickhouse-backup.sh) as the runbook does: back up, drop the
// database, restore, count. The rows and the rollups must come back as they were; a second
// restore onto the loaded tables and a backup whose file was changed must be refused.
func TestBackupScriptRestoresEveryTableAfterTheDatabaseIsDropped(t *testing.T) {
	e := storetest.NewArchive(t)
	ctx := context.Background()
	at := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	readings := storetest.Readings(2000, at)
	e.Readings(t, readings...)
	e.Readings(t, readings[:100]...) // a replay: more versions on disk, the same answers
	e.Events(t, message.Event{ID: "ev-backup-1", Type: message.EventExceedanceOpened, Site: readings[0].Site,
		Parameter: readings[0].Parameter, Value: 3.2, ObservedAt: at, EmittedAt: at, ReadingID: readings[0].ID})

	tables := []string{store.TableReadings, store.TableEvents, store.TableReadings5Min,
		store.TableReadingsHourly, store.TableReadingsDaily, store.TableMigrations}
	before := map[string]uint64{}
	for _, tb := range tables {
		before[tb] = e.Count(t, "SELECT count() FROM %s FINAL", e.Table(tb))
	}
	if before[store.TableReadings] != 2000 || before[store.TableEvents] != 1 || before[store.TableReadingsHourly] == 0 {
		t.Fatalf("seeded %v, want 2000 readings, 1 event and hourly rollups", before)
	}
	hourly, daily := e.RollupSnapshot(t)

	dir := filepath.Join(t.TempDir(), "backup")
	runBackup(t, e, "backup", dir)
	runBackup(t, e, "verify", dir)
	if err := e.Conn.Exec(ctx, "DROP DATABASE "+e.Schema.Database); err != nil {
		t.Fatal(err)
	}
	runBackup(t, e, "restore", dir)

	for _, tb := range tables {
		if n := e.Count(t, "SELECT count() FROM %s FINAL", e.Table(tb)); n != before[tb] {
			t.Errorf("%s: %d rows after the restore, %d before the drop", tb, n, before[tb])
		}
	}
	h2, d2 := e.RollupSnapshot(t)
	if !slices.Equal(hourly, h2) || !slices.Equal(daily, d2) {
		t.Error("the rollups differ after the restore")
	}

	if out, err := backupCmd(t, e, "restore", dir).CombinedOutput(); err == nil || !strings.Contains(string(out), "already holds") {
		t.Errorf("a restore onto loaded tables was not refused: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(dir, store.TableEvents+".sql"), []byte("CREATE TABLE x (a UInt8) ENGINE = Memory"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := backupCmd(t, e, "verify", dir).CombinedOutput(); err == nil || !strings.Contains(string(out), "changed or missing: "+store.TableEvents+".sql") {
		t.Errorf("a changed file was not named by verify: %v\n%s", err, out)
	}
}

func backupCmd(t *testing.T, e *storetest.Archive, args ...string) *exec.Cmd {
	root := testinfra.ModuleRoot(t)
	host, port, _ := strings.Cut(e.Config.ClickHouse.Addr, ":")
	cmd := exec.Command(filepath.Join(root, "deploy", "backup", "clickhouse-backup.sh"), args...)
	cmd.Env = append(os.Environ(), "CLICKHOUSE_HOST="+host, "CLICKHOUSE_PORT="+port,
		"CLICKHOUSE_DATABASE="+e.Schema.Database, fmt.Sprintf("CLICKHOUSE_USER=%s", e.Config.ClickHouse.Username))
	return cmd
}

func runBackup(t *testing.T, e *storetest.Archive, args ...string) {
	t.Helper()
	if out, err := backupCmd(t, e, args...).CombinedOutput(); err != nil {
		t.Fatalf("clickhouse-backup.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
