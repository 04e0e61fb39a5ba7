package engine

import (
	"encoding/json"
	"fmt"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/plume"
	"github.com/riverwatch/riverwatch/pkg/standard"
)

// Record is one entry of the compacted state topic: the durable state of one series or
// one station, or the velocity calibration of one reach. Key is the Kafka key
// ("s|<site>|<parameter>", "t|<site>" or "r|<origin>|<site>"); compaction keeps the newest
// record per key, which is all a restore needs.
type Record struct {
	Key     string        `json:"-"`
	Series  *SeriesState  `json:"series,omitempty"`
	Station *StationState `json:"station,omitempty"`
	Reach   *ReachState   `json:"reach,omitempty"`
}

// SeriesState is the exported state of a series. Times are Unix milliseconds.
type SeriesState struct {
	Site      string  `json:"site"`
	Parameter string  `json:"param"`
	Partition int32   `json:"p"` // Kafka partition of the series' readings (-1: not from Kafka)
	Offset    int64   `json:"o"` // last offset applied on it
	Newest    int64   `json:"newest,omitempty"`
	LastRtd   int64   `json:"rtd,omitempty"` // newest real-time reading: averages it covers are not judged
	LastMin   int64   `json:"min,omitempty"` // newest minute average: hour averages it covers are not judged
	LastGood  int64   `json:"good,omitempty"`
	LastValue float64 `json:"value,omitempty"`
	LastMeets bool    `json:"meets,omitempty"`
	Phase     uint8   `json:"phase,omitempty"`
	Severity  uint8   `json:"sev,omitempty"`
	Quality   uint8   `json:"q,omitempty"`
	RunN      uint16  `json:"run_n,omitempty"`
	ClearN    uint16  `json:"clear_n,omitempty"`
	FlatN     uint16  `json:"flat_n,omitempty"`
	RunSince  int64   `json:"run_since,omitempty"`
	LastBad   int64   `json:"last_bad,omitempty"`
	LastOK    int64   `json:"last_ok,omitempty"`
	ClearFrom int64   `json:"clear_from,omitempty"`
	OpenedAt  int64   `json:"opened_at,omitempty"`
	Reported  float64 `json:"reported,omitempty"`
	LastClass int8    `json:"class,omitempty"`
	Late      uint32  `json:"late,omitempty"`
	// Ring holds the recent valid values, oldest first.
	Ring  []float32         `json:"ring,omitempty"`
	Preds []PredictionState `json:"preds,omitempty"`
	// Verifying: cleared predictions whose window is still to be judged.
	Verifying []PredictionState `json:"verifying,omitempty"`
}

// PredictionState is an exported prediction.
type PredictionState struct {
	Site    string  `json:"site"`
	Travel  int64   `json:"travel"`
	Arrival int64   `json:"arrival"`
	First   int64   `json:"first"`
	Origin  int64   `json:"origin"`
	Value   float64 `json:"value"`
	Excess  float64 `json:"excess"`
	ClearAt int64   `json:"clear_at,omitempty"`
	// Window, Threshold, Seen and Judged: the plume window and its verification
	// (absent in state written before them).
	Window    message.Prediction `json:"window,omitzero"`
	Threshold float64            `json:"threshold,omitempty"`
	Seen      plume.Passage      `json:"seen,omitzero"`
	Judged    bool               `json:"judged,omitempty"`
	// Tracer: a tracer drill's window and its breakthrough so far (tracer.go).
	Tracer *TracerState `json:"tracer,omitempty"`
}

// StationState is the exported state of a station.
type StationState struct {
	Site      string `json:"site"`
	LastSeen  int64  `json:"last_seen"`
	LastObs   int64  `json:"last_obs"`
	Newest    int64  `json:"newest,omitempty"` // newest observed time, capped at reception
	Partition int32  `json:"p"`
	Offset    int64  `json:"o"`
	Offline   bool   `json:"offline,omitempty"`
}

// Partition returns the Kafka partition of the readings the record describes, -1 when
// unknown.
func (r Record) Partition() int32 {
	switch {
	case r.Series != nil:
		return r.Series.Partition
	case r.Station != nil:
		return r.Station.Partition
	case r.Reach != nil:
		return r.Reach.Partition
	}
	return -1
}

// EncodeRecord returns a record's Kafka key and value.
func EncodeRecord(r Record) (key, value []byte, err error) {
	// The key and the value share one buffer: one allocation per record, not two.
	buf := append(make([]byte, 0, len(r.Key)+recordSize(&r)), r.Key...)
	if value, ok := appendRecordJSON(buf[len(buf):], &r); ok {
		return buf[:len(r.Key):len(r.Key)], value, nil
	}
	value, err = json.Marshal(r)
	if err != nil {
		return nil, nil, fmt.Errorf("encode state %s: %w", r.Key, err)
	}
	return []byte(r.Key), value, nil
}

// DecodeRecord parses a state topic message.
func DecodeRecord(key, value []byte) (Record, error) {
	r := Record{Key: string(key)}
	if err := json.Unmarshal(value, &r); err != nil {
		return r, fmt.Errorf("decode state %q: %w", key, err)
	}
	n := 0
	for _, set := range []bool{r.Series != nil, r.Station != nil, r.Reach != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return r, fmt.Errorf("decode state %q: want exactly one of series, station and reach, got %d", key, n)
	}
	return r, nil
}

func seriesRecordKey(site, param string) string { return "s|" + site + "|" + param }
func stationRecordKey(site string) string       { return "t|" + site }

// DrainState returns the state of every series and station changed since the last call,
// and forgets that they changed. The assessor publishes it after the events of the same
// readings: the state never runs ahead of the events, so a crash can only replay.
func (e *Engine) DrainState() []Record {
	if len(e.dirty) == 0 && len(e.dirtySt) == 0 && len(e.dirtyTune) == 0 {
		return nil
	}
	out := make([]Record, 0, len(e.dirty)+len(e.dirtySt)+len(e.dirtyTune))
	// Every changed series costs a record: their states, rings and keys are carved from
	// one allocation each rather than three per series.
	ringN := 0
	e.keyBuf = e.keyBuf[:0]
	for _, k := range e.dirty {
		if s := e.series[k]; s != nil {
			ringN += int(s.ringN)
			e.keyBuf = append(e.keyBuf, "s|"...)
			e.keyBuf = append(append(append(e.keyBuf, e.sites[k.site()].site.ID...), '|'), e.params[k.param()]...)
		}
	}
	keys := string(e.keyBuf)
	states := make([]SeriesState, 0, len(e.dirty))
	rings := make([]float32, 0, ringN)
	for _, k := range e.dirty {
		s := e.series[k]
		if s == nil {
			continue
		}
		s.dirty = false
		var st SeriesState
		st, rings = e.exportSeries(s, rings)
		states = append(states, st)
		n := len(st.Site) + len(st.Parameter) + 3 // seriesRecordKey(st.Site, st.Parameter)
		key := keys[:n]
		keys = keys[n:]
		out = append(out, Record{Key: key, Series: &states[len(states)-1]})
	}
	for _, i := range e.dirtySt {
		st := &e.stations[i]
		st.dirty = false
		site := e.sites[i].site.ID
		out = append(out, Record{Key: stationRecordKey(site), Station: &StationState{
			Site: site, LastSeen: st.lastSeen, LastObs: st.lastObs, Newest: st.newest,
			Partition: st.partition, Offset: st.offset, Offline: st.offline,
		}})
	}
	e.dirty, e.dirtySt = e.dirty[:0], e.dirtySt[:0]
	return e.drainTunes(out)
}

// ExportAll returns the state of every series and station, changed or not.
func (e *Engine) ExportAll() []Record {
	for _, s := range e.series {
		e.markDirty(s)
	}
	for i := range e.stations {
		if e.stations[i].known {
			e.markStation(uint16(i))
		}
	}
	for k, t := range e.tunes {
		e.markTune(k, t)
	}
	return e.DrainState()
}

// exportSeries returns s's state, its ring carved from rings (which it returns, shortened).
func (e *Engine) exportSeries(s *series, rings []float32) (SeriesState, []float32) {
	st := SeriesState{
		Site: e.sites[s.key.site()].site.ID, Parameter: e.params[s.key.param()],
		Partition: s.partition, Offset: s.offset, Newest: s.newest, LastRtd: s.lastRtd, LastMin: s.lastMin, LastGood: s.lastGood,
		LastValue: s.lastValue, LastMeets: s.lastMeets, Phase: s.phase, Severity: s.severity,
		Quality: s.quality, RunN: s.runN, ClearN: s.clearN, FlatN: s.flatN, RunSince: s.runSince,
		LastBad: s.lastBad, LastOK: s.lastOK, ClearFrom: s.clearFrom, OpenedAt: s.openedAt,
		Reported: s.reported, LastClass: s.lastClass, Late: s.late,
	}
	if s.ringN > 0 {
		if cap(rings)-len(rings) < int(s.ringN) {
			rings = make([]float32, 0, s.ringN)
		}
		st.Ring, rings = rings[len(rings):len(rings)+int(s.ringN):len(rings)+int(s.ringN)], rings[:len(rings)+int(s.ringN)]
		for i := 0; i < int(s.ringN); i++ {
			st.Ring[i] = s.ring[(int(s.ringPos)-int(s.ringN)+i+2*ringSize)%ringSize]
		}
	}
	for _, p := range s.preds {
		st.Preds = append(st.Preds, e.exportPrediction(p))
	}
	for _, p := range s.verifying {
		st.Verifying = append(st.Verifying, e.exportPrediction(p))
	}
	return st, rings
}

// Reset forgets every series, station and reach calibration, before a restore.
func (e *Engine) Reset() {
	clear(e.series)
	clear(e.tunes)
	e.dirtyTune = e.dirtyTune[:0]
	e.watchDirty = true
	for i := range e.stations {
		e.stations[i] = station{partition: -1, offset: -1}
	}
	e.dirty, e.dirtySt, e.nOpen, e.streamTime = e.dirty[:0], e.dirtySt[:0], 0, 0
	e.m.series.Set(0)
	e.m.stations.Set(0)
	e.m.offline.Reset()
	e.m.open.Set(0)
	e.m.predictions.Set(0)
	e.m.reachScale.Reset()
	e.m.reachDisp.Reset()
}

// Import restores one record. own says whether this engine now owns the record's
// partition: a record it does not own is kept as context only (the latest values that
// predictions mix with), and its station is not watched and its predictions not ticked.
// Records of sites or parameters no longer known are skipped with an error.
//
// The stream time is restored from the stations it owns: the newest of their newest
// observed times (capped at reception). A record written before stations kept it gives
// the observed time of the station's last reading, which can be behind, never ahead: a
// prediction is then withdrawn at the next reading rather than too early.
func (e *Engine) Import(r Record, own bool) error {
	switch {
	case r.Series != nil:
		return e.importSeries(r.Series, own)
	case r.Station != nil:
		if !own {
			return nil // another instance watches it
		}
		si, ok := e.siteIx[r.Station.Site]
		if !ok {
			return fmt.Errorf("restore station %q: unknown site", r.Station.Site)
		}
		st := &e.stations[si]
		if !st.known {
			e.m.stations.Inc()
		}
		*st = station{
			lastSeen: r.Station.LastSeen, lastObs: r.Station.LastObs, newest: r.Station.Newest,
			partition: r.Station.Partition, offset: r.Station.Offset, known: true, offline: r.Station.Offline,
		}
		if st.newest == 0 {
			st.newest = min(st.lastObs, st.lastSeen)
		}
		e.m.stationOffline(r.Station.Site, st.offline)
		e.streamTime = max(e.streamTime, st.newest)
		return nil
	case r.Reach != nil:
		return e.importTune(r.Reach)
	}
	return fmt.Errorf("restore %q: empty record", r.Key)
}

func (e *Engine) importSeries(st *SeriesState, own bool) error {
	si, ok := e.siteIx[st.Site]
	if !ok {
		return fmt.Errorf("restore series %s|%s: unknown site", st.Site, st.Parameter)
	}
	pi := standard.Order(st.Parameter)
	if pi < 0 {
		return fmt.Errorf("restore series %s|%s: unknown parameter", st.Site, st.Parameter)
	}
	key := keyOf(si, uint16(pi))
	old := e.series[key]
	if !own && old != nil && !old.foreign {
		return nil // ours: what another instance last wrote is older than what we hold
	}
	if old != nil && old.phase == phaseOpen && !old.foreign {
		e.nOpen--
	}
	if old != nil {
		e.m.predictions.Sub(float64(len(old.preds)))
	}
	e.watchDirty = true
	s := &series{
		key: key, partition: st.Partition, offset: st.Offset, newest: st.Newest, lastRtd: st.LastRtd, lastMin: st.LastMin,
		lastGood: st.LastGood, lastValue: st.LastValue, lastMeets: st.LastMeets, phase: st.Phase,
		severity: st.Severity, quality: st.Quality, runN: st.RunN, clearN: st.ClearN, flatN: st.FlatN,
		runSince: st.RunSince, lastBad: st.LastBad, lastOK: st.LastOK, clearFrom: st.ClearFrom,
		openedAt: st.OpenedAt, reported: st.Reported, lastClass: st.LastClass, late: st.Late,
		foreign: !own,
	}
	for i, v := range st.Ring {
		if i >= ringSize {
			break
		}
		s.pushRing(float64(v))
	}
	if own {
		for _, p := range st.Preds {
			if q, ok := e.restorePrediction(p); ok {
				s.preds = append(s.preds, q)
			}
		}
		for _, p := range st.Verifying {
			if q, ok := e.restorePrediction(p); ok {
				s.verifying = append(s.verifying, q)
			}
		}
		e.m.predictions.Add(float64(len(s.preds)))
		if s.phase == phaseOpen {
			e.nOpen++
		}
	}
	e.series[key] = s
	e.m.series.Set(float64(len(e.series)))
	e.m.open.Set(float64(e.nOpen))
	return nil
}

// Stats summarises the engine's state.
type Stats struct {
	Series, Stations, Open, Predictions int
}

// Stats returns the engine's state size.
func (e *Engine) Stats() Stats {
	st := Stats{Series: len(e.series), Open: e.nOpen}
	for i := range e.stations {
		if e.stations[i].known && !e.stations[i].foreign {
			st.Stations++
		}
	}
	for _, s := range e.series {
		st.Predictions += len(s.preds)
	}
	return st
}

func (e *Engine) exportPrediction(p prediction) PredictionState {
	return PredictionState{
		Site: e.sites[p.site].site.ID, Travel: p.travel, Arrival: p.arrival, First: p.first,
		Origin: p.origin, Value: p.value, Excess: p.excess, ClearAt: p.clearAt,
		Window: p.win, Threshold: p.threshold, Seen: p.seen, Judged: p.judged, Tracer: p.tr.export(),
	}
}

// restorePrediction is false when the site left the network: nothing to clear there.
func (e *Engine) restorePrediction(p PredictionState) (prediction, bool) {
	di, ok := e.siteIx[p.Site]
	if !ok {
		return prediction{}, false
	}
	return prediction{
		site: di, travel: p.Travel, arrival: p.Arrival, first: p.First, origin: p.Origin,
		value: p.Value, excess: p.Excess, clearAt: p.ClearAt,
		win: p.Window, threshold: p.Threshold, seen: p.Seen, judged: p.Judged, tr: p.Tracer.restore(),
	}, true
}
