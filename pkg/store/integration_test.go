package store

import (
	"context"
	"slices"
	"testing"
)

func TestMigrateTwiceIsNoOpAndSchemaMatchesOnServer(t *testing.T) {
	e := newEnv(t) // migrated once
	ctx := context.Background()
	ran, err := Migrate(ctx, e.conn, e.schema, quiet())
	if err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if len(ran) != 0 {
		t.Errorf("second migrate ran %d migrations, want none", len(ran))
	}
	if n := e.count(t, "SELECT count() FROM %s FINAL", e.table(TableMigrations)); n != uint64(len(Migrations())) {
		t.Errorf("schema_migrations has %d rows, want %d", n, len(Migrations()))
	}
	if n := e.count(t, "SELECT count() FROM %s", e.table(TableMigrations)); n != uint64(len(Migrations())) {
		t.Errorf("schema_migrations has %d physical rows after two runs, want %d (a migration was recorded twice)", n, len(Migrations()))
	}
	for _, tb := range append(slices.Clone(tables), migrationsTable) {
		rows, err := e.conn.Query(ctx, "SELECT name, type FROM system.columns WHERE database = ? AND table = ?", e.schema.Database, tb.name)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for rows.Next() {
			var name, typ string
			if err := rows.Scan(&name, &typ); err != nil {
				t.Fatal(err)
			}
			names = append(names, name)
			if c := tb.columns[slices.IndexFunc(tb.columns, func(c column) bool { return c.name == name })]; c.typ(e.schema.Features) != typ {
				t.Errorf("%s.%s is %s on the server, want %s", tb.name, name, typ, c.typ(e.schema.Features))
			}
		}
		rows.Close()
		if !slices.Equal(names, tb.columnNames()) {
			t.Errorf("%s columns on the server %v, want %v", tb.name, names, tb.columnNames())
		}
		var engine string
		if err := e.conn.QueryRow(ctx, "SELECT engine FROM system.tables WHERE database = ? AND name = ?", e.schema.Database, tb.name).Scan(&engine); err != nil {
			t.Fatalf("%s: %v", tb.name, err)
		}
		if engine != "ReplacingMergeTree" {
			t.Errorf("%s engine %s, want ReplacingMergeTree", tb.name, engine)
		}
	}
}
