package responder

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/riverwatch/riverwatch/pkg/message"
)

// The responder publishes the playbooks' station commands on their topic, keyed by site,
// with the incident's updates; a failed publish keeps them pending for the next flush.
func TestThePlaybooksStationCommandsArePublishedKeyedBySite(t *testing.T) {
	r, _ := newTestResponder(t, &fakePublisher{})
	stations := r.stations.(*fakePublisher)
	stations.err = errors.New("broker down")
	ev, _ := json.Marshal(exceedance("ev-1", time.Now().UTC()))
	if err := r.handleEvents(t.Context(), []kafka.Message{{Topic: "rw.events", Value: ev}}); err == nil {
		t.Fatal("the events were handled though their station commands could not be published")
	}
	stations.err = nil
	r.mu.Lock()
	err := r.flush(t.Context())
	r.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if len(stations.msgs) == 0 {
		t.Fatal("no station command published")
	}
	sites := map[string]bool{}
	for _, m := range stations.msgs {
		var c message.StationCommand
		if err := json.Unmarshal(m.Value, &c); err != nil {
			t.Fatal(err)
		}
		if string(m.Key) != c.Site || c.Command != message.StationRaiseFrequency || c.Validate() != nil {
			t.Errorf("message key %s: %+v", m.Key, c)
		}
		sites[c.Site] = true
	}
	if !sites["TTH-S2"] || len(sites) < 2 {
		t.Errorf("raised at %v: want TTH-S2 and its neighbours across the boundary", sites)
	}
}
