package store

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
)

var update = flag.Bool("update", false, "rewrite testdata/sql/*.sql from the Reader's query builders")

// TestReaderSQLMatchesGoldenFiles renders every query the Reader sends, for fixed inputs,
// and compares it with testdata/sql/<name>.sql byte for byte: a change of the SQL the api
// sends shows in review as a change of those files. After an intended change:
//
//	go test ./pkg/store -run TestReaderSQLMatchesGoldenFiles -update
func TestReaderSQLMatchesGoldenFiles(t *testing.T) {
	r := NewReader(nil, "riverwatch")
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 1, 31, 12, 30, 15, 500_000_000, time.UTC)
	to := from.Add(30 * 24 * time.Hour)
	series := func(q SeriesQuery) string {
		t.Helper()
		sql, err := r.SeriesSQL(q)
		if err != nil {
			t.Fatal(err)
		}
		return sql
	}
	for _, c := range []struct{ name, sql string }{
		{"latest", r.latestSQL([]string{"STH-S1", "STH-S2"}, from)},
		{"latest_one_site", r.latestSQL([]string{"STH-S2"}, from)},
		{"series_raw", series(SeriesQuery{Site: "STH-S2", From: from, To: to, Resolution: ResolutionRaw})},
		{"series_raw_page", series(SeriesQuery{Site: "STH-S2", Parameters: []string{"nh3n", "do"}, From: from, To: to,
			Resolution: ResolutionRaw, Limit: 5001, Offset: 5000})},
		{"series_raw_export", series(SeriesQuery{Site: "STH-S2", From: from, To: to, Resolution: ResolutionRaw, MaxRows: 500001})},
		{"series_hour", series(SeriesQuery{Site: "STH-S2", Parameters: []string{"codmn"}, From: from, To: to,
			Resolution: ResolutionHour, Limit: 5001, Location: shanghai})},
		{"series_day", series(SeriesQuery{Site: "STH-S2", From: from, To: to, Resolution: ResolutionDay, Location: shanghai})},
		{"series_day_utc", series(SeriesQuery{Site: "STH-S2", From: from, To: to, Resolution: ResolutionDay})},
		{"events", r.eventsSQL(EventQuery{From: from, To: to})},
		{"events_filtered", r.eventsSQL(EventQuery{Sites: []string{"STH-S2", "TTH-S1"},
			Types: []string{message.EventExceedanceOpened}, From: from, To: to, Limit: 50, Offset: 100})},
		{"open_exceedances", r.openExceedancesSQL([]string{"STH-S2", "TTH-S1"})},
		{"incidents", r.incidentsSQL(IncidentQuery{})},
		{"incidents_filtered", r.incidentsSQL(IncidentQuery{Statuses: []string{message.IncidentOpen, message.IncidentAcknowledged},
			Jurisdictions: []string{"changji", "xpcc6"}, Limit: 20, Offset: 40})},
		{"incident", r.incidentSQL("inc-sth-s2-nh3n")},
		{"incident_log", r.incidentLogSQL("inc-sth-s2-nh3n")},
		{"command_log", r.commandLogSQL("4f1c2a9e-cmd")},
		{"notifications", r.notificationsSQL("inc-sth-s2-nh3n")},
		{"monthly_means", r.monthlyMeansSQL(MeansQuery{Sites: []string{"STH-S2", "TTH-S1"},
			From: time.Date(2026, 1, 1, 0, 0, 0, 0, shanghai), To: time.Date(2026, 4, 1, 0, 0, 0, 0, shanghai), Location: shanghai})},
		{"watermark", r.watermarkSQL()},
		{"rollups_through", r.rollupsThroughSQL()},
		{"station_commands", r.stationCommandsSQL(StationCommandQuery{Site: "STH-S2", From: from, To: to, Limit: 101})},
		{"station_commands_of_incident", r.stationCommandsSQL(StationCommandQuery{Incident: "inc-sth-s2-nh3n", From: from, To: to, Limit: 101})},
		{"raw_frames", r.rawFramesSQL(RawFrameQuery{Site: "STH-S2", From: from, To: to, Limit: 500001})},
		{"corrections", r.correctionsSQL(CorrectionQuery{Site: "STH-S2", From: from, To: to, Limit: 101, Offset: 100})},
		{"monthly_corrections", r.monthlyCorrectionsSQL(MeansQuery{Sites: []string{"STH-S2", "TTH-S1"},
			From: time.Date(2026, 1, 1, 0, 0, 0, 0, shanghai), To: time.Date(2026, 4, 1, 0, 0, 0, 0, shanghai), Location: shanghai})},
		{"silences", r.silencesSQL(SilenceQuery{EndsAfter: from, Limit: 1000})},
		{"silences_all", r.silencesSQL(SilenceQuery{})},
		{"silence", r.silenceSQL("sil-1")},
		{"scan", r.scanSQL(ScanQuery{From: from, To: to})},
		{"scan_sites", r.scanSQL(ScanQuery{From: from, To: to, Sites: []string{"STH-S2", "TTH-S1"}})},
		// Quoting: a value with quotes and backslashes stays one literal.
		{"incident_quoted", r.incidentSQL(`x' OR 1=1 -- \'`)},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join("testdata", "sql", c.name+".sql")
			got := c.sql + "\n"
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from the SQL built now (run with -update if intended):\n--- want\n%s\n--- got\n%s", path, want, got)
			}
		})
	}
}

func TestSeriesSQLRefusesAnUnknownResolution(t *testing.T) {
	if _, err := NewReader(nil, "riverwatch").SeriesSQL(SeriesQuery{Site: "STH-S2", Resolution: "week"}); err == nil {
		t.Error("resolution week accepted")
	}
}
