package apitest

import (
	"testing"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/store/storetest"
)

// memSeeder stores a batch in a MemStore as the archiver would write it to ClickHouse.
type memSeeder struct{ m *MemStore }

func (s memSeeder) Readings(_ testing.TB, rs ...message.Reading) { s.m.AddReadings(rs...) }
func (s memSeeder) Events(_ testing.TB, es ...message.Event)     { s.m.AddEvents(es...) }
func (s memSeeder) IncidentUpdates(t testing.TB, us ...message.IncidentUpdate) {
	for _, u := range us {
		switch {
		case u.Incident != nil:
			s.m.PutIncident(*u.Incident)
		case u.Log != nil:
			s.m.AddLog(*u.Log)
		case u.Notification != nil:
			s.m.AddNotifications(*u.Notification)
		case u.Silence != nil:
			s.m.PutSilence(*u.Silence)
		default:
			t.Fatalf("incident update of kind %q without a record", u.Kind)
		}
	}
}

func (s memSeeder) Corrections(_ testing.TB, cs ...message.Correction) { s.m.AddCorrections(cs...) }
func (s memSeeder) StationCommands(_ testing.TB, cs ...message.StationCommand) {
	s.m.AddStationCommands(cs...)
}
func (s memSeeder) RawFrames(_ testing.TB, fs ...message.RawFrame) { s.m.AddRawFrames(fs...) }

// TestMemStoreConformance holds MemStore to the read model's suite, which the ClickHouse
// Reader passes too (pkg/store, with RIVERWATCH_INTEGRATION=1): handler tests on MemStore
// see what production would answer.
func TestMemStoreConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) (storetest.Reader, storetest.Seeder) {
		m := NewMemStore()
		return m, memSeeder{m}
	})
}
