package engine

import (
	"fmt"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
)

// station is what the offline rule keeps per site: when it was last heard from.
type station struct {
	lastSeen  int64 // newest ReceivedAt (ObservedAt when the reading has none), Unix ms
	lastObs   int64 // observed time of that reading
	newest    int64 // newest eventTime of its readings: the engine's stream time is the max
	partition int32 // Kafka partition of the site's readings, -1 unknown
	offset    int64 // last Kafka offset applied, so a replayed reading is not news
	known     bool  // heard from at least once (or restored)
	offline   bool
	foreign   bool // restored from a partition another instance owns
	dirty     bool
}

// seen records that a site's station reported, and brings it back online.
func (e *Engine) seen(out []message.Event, si uint16, r message.Reading, pos Position) []message.Event {
	st := &e.stations[si]
	at := r.ReceivedAt
	if at.IsZero() {
		at = r.ObservedAt
	}
	ms := at.UnixMilli()
	if pos.Partition >= 0 {
		if pos.Partition == st.partition && pos.Offset <= st.offset {
			return out
		}
		st.partition, st.offset = pos.Partition, pos.Offset
	}
	if !st.known {
		st.known = true
		e.m.stations.Inc()
		e.m.stationOffline(e.sites[si].site.ID, false)
	}
	st.foreign = false
	// Kept per station so that the state topic carries the stream time exactly (see
	// Import): it is the newest over the stations this engine owns.
	st.newest = max(st.newest, eventTime(r))
	e.streamTime = max(e.streamTime, st.newest)
	if st.offline {
		st.offline = false
		info := &e.sites[si]
		e.m.event(message.EventStationOnline)
		e.m.stationOffline(info.site.ID, false)
		out = append(out, message.Event{
			// The id names the silence that ended (its last-seen time), so a replay of
			// the returning reading gives the same id.
			ID:                message.EventID(message.EventStationOnline, info.site.ID, "", time.UnixMilli(st.lastSeen), ""),
			Type:              message.EventStationOnline,
			Site:              info.site.ID,
			River:             info.site.River,
			Reason:            fmt.Sprintf("reporting again after silence since %s", time.UnixMilli(st.lastSeen).UTC().Format(time.RFC3339)),
			ObservedAt:        r.ObservedAt.UTC(),
			EmittedAt:         e.clock().UTC(),
			ReadingID:         r.ID,
			ReadingReceivedAt: r.ReceivedAt,
		})
	}
	if ms > st.lastSeen {
		st.lastSeen, st.lastObs = ms, r.ObservedAt.UnixMilli()
	}
	e.markStation(si)
	return out
}

// markStation queues a station for the next state export.
func (e *Engine) markStation(si uint16) {
	st := &e.stations[si]
	if !st.dirty {
		st.dirty = true
		e.dirtySt = append(e.dirtySt, si)
	}
}

// offline declares silent stations offline: silent for longer than the station's expected
// interval (sites.yaml station.interval_s) × OfflineFactor. Only stations this engine has
// heard from (or restored as its own) are watched: with the work split by partition,
// another instance watches the rest.
func (e *Engine) offline(out []message.Event, now time.Time) []message.Event {
	nowMs := now.UnixMilli()
	for i := range e.stations {
		st := &e.stations[i]
		info := &e.sites[i]
		if !st.known || st.foreign || st.offline || info.offlineAfter <= 0 {
			continue
		}
		if nowMs-st.lastSeen <= info.offlineAfter.Milliseconds() {
			continue
		}
		st.offline = true
		e.markStation(uint16(i))
		e.m.event(message.EventStationOffline)
		e.m.stationOffline(info.site.ID, true)
		out = append(out, message.Event{
			ID:     message.EventID(message.EventStationOffline, info.site.ID, "", time.UnixMilli(st.lastSeen), ""),
			Type:   message.EventStationOffline,
			Site:   info.site.ID,
			River:  info.site.River,
			Reason: fmt.Sprintf("silent since %s, longer than %v (interval %ds × %g)", time.UnixMilli(st.lastSeen).UTC().Format(time.RFC3339), info.offlineAfter, info.site.Station.IntervalS, e.opts.OfflineFactor),
			// The last reading heard: what the station last observed.
			ObservedAt: time.UnixMilli(st.lastObs).UTC(),
			EmittedAt:  e.clock().UTC(),
		})
	}
	return out
}

// Tick runs the time-driven rules. now is the wall clock: silent stations go offline when
// they have not been heard from (by reception time) for too long. Predictions whose
// upstream has cleared (once the clean water has travelled down) or that the downstream
// readings refuted are cleared by observed time, the engine's stream time, whatever now
// says.
func (e *Engine) Tick(now time.Time) []message.Event {
	out := e.offline(nil, now)
	return e.tickPredictions(out)
}
