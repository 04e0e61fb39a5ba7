package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverwatch/riverwatch/pkg/hj212"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/stream"
	"github.com/segmentio/kafka-go"
)

// Goals of issue 10 for the latency step.
const (
	goalEventP99  = 50 * time.Millisecond
	goalNotifyP99 = 500 * time.Millisecond
	// probeRate is how many probe readings per second a latency run sends beside the load.
	probeRate = 5
	// probeValue is the probe's ammonia nitrogen in mg/L: 8 × the Class III limit (1.0), a
	// severe exceedance that opens at once, without confirmation.
	probeValue = 8.0
)

// Percentiles returns the q-quantiles (nearest rank) of ds.
func Percentiles(ds []time.Duration, qs ...float64) []time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	out := make([]time.Duration, len(qs))
	if len(s) == 0 {
		return out
	}
	for i, q := range qs {
		k := int(math.Ceil(q*float64(len(s)))) - 1
		out[i] = s[max(0, min(k, len(s)-1))]
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// observer follows the run's events and incidents topics from their ends and remembers,
// per probe site, when its exceedance event arrived and which incident it opened.
type observer struct {
	mu        sync.Mutex
	events    map[string]probeEvent // probe site → first exceedance.opened
	incidents map[string]string     // incident id → site it started at
}

type probeEvent struct {
	readingReceived time.Time // when the gateway accepted the probe reading
	emitted         time.Time // the assessor's EmittedAt
	arrived         time.Time // when this consumer received the event
}

// readFromEnd returns a reader of every partition of topic starting at its current end,
// without a consumer group (nothing to join, nothing to commit).
func readFromEnd(ctx context.Context, brokers []string, topic string, partitions int, handle func(kafka.Message, time.Time)) (func(), error) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for p := 0; p < partitions; p++ {
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers: brokers, Topic: topic, Partition: p, MinBytes: 1, MaxBytes: 16 << 20,
			MaxWait: 20 * time.Millisecond, ReadBatchTimeout: time.Second,
		})
		if err := r.SetOffset(kafka.LastOffset); err != nil {
			cancel()
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.Close()
			for {
				m, err := r.FetchMessage(ctx)
				if err != nil {
					return
				}
				handle(m, time.Now())
			}
		}()
	}
	return func() { cancel(); wg.Wait() }, nil
}

func (o *observer) onEvent(m kafka.Message, at time.Time) {
	var ev message.Event
	if json.Unmarshal(m.Value, &ev) != nil || ev.Type != message.EventExceedanceOpened || !strings.HasPrefix(ev.Site, probeSitePrefix) {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, seen := o.events[ev.Site]; !seen {
		o.events[ev.Site] = probeEvent{readingReceived: ev.ReadingReceivedAt, emitted: ev.EmittedAt, arrived: at}
	}
}

func (o *observer) onIncident(m kafka.Message, _ time.Time) {
	var u message.IncidentUpdate
	if json.Unmarshal(m.Value, &u) != nil || u.Incident == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.incidents[u.Incident.ID] = u.Incident.Site
}

// Latency runs the simulator's load at each fixed rate and, beside it, sends probe
// readings that each open an exceedance at a site of their own (so each also opens an
// incident of its own). It measures, per probe, the time from the gateway accepting the
// reading (its received_at, carried on the event) to this process receiving the
// exceedance.opened event, and to the first notification of its incident reaching the
// webhook sink.
func Latency(ctx context.Context, e *Env, s *Step) error {
	if _, err := e.binary("simulator"); err != nil {
		return err
	}
	if err := e.Services(ctx, "assessor", "responder"); err != nil {
		return err
	}
	for _, opt := range []string{"archiver", "gateway", "api"} {
		if err := e.Services(ctx, opt); err != nil {
			s.Note("%v (the pipeline ran without it)", err)
		}
	}
	mode := "hj212"
	if e.serviceAddr("gateway") == "" {
		mode = "kafka"
		s.Note("no gateway: load and probes go straight to Kafka, and a reading is 'accepted' when the probe publishes it")
	}
	s.Note("latency: %s load of %d stations × %d parameters at each rate for %s; %d probes/s, each a severe nh3n reading at a site of its own (exceedance opens at once, and opens an incident)",
		mode, e.Settings.Stations, e.Settings.Params, e.Settings.Latency, probeRate)
	for _, rate := range e.Settings.LatencyRates {
		if err := e.latencyAt(ctx, s, mode, rate); err != nil {
			return fmt.Errorf("at %d readings/s: %w", rate, err)
		}
	}
	return nil
}

func (e *Env) latencyAt(ctx context.Context, s *Step, mode string, rate int) error {
	before, ok := e.caughtUp(ctx, e.Settings.Drain)
	if !ok {
		s.Note("at %d/s: the pipeline was still behind on earlier load when this run started (rows %.0f, judged %.0f of %d)",
			rate, before.rows, before.judged, e.stack.offered.Load())
	}
	o := &observer{events: map[string]probeEvent{}, incidents: map[string]string{}}
	t := e.topics()
	stopEvents, err := readFromEnd(ctx, e.Brokers, t.Events, e.Settings.Partitions, o.onEvent)
	if err != nil {
		return err
	}
	defer stopEvents()
	stopIncidents, err := readFromEnd(ctx, e.Brokers, t.Incidents, e.Settings.Partitions, o.onIncident)
	if err != nil {
		return err
	}
	defer stopIncidents()
	sinkFrom := len(e.stack.sink.Received())

	probeCtx, stopProbes := context.WithCancel(ctx)
	defer stopProbes()
	var probes []string
	var toQuery []time.Duration // reading → queryable through the api, for every queryableEvery-th probe
	queryErrs := 0
	var probeErrs atomic.Int64
	var pmu sync.Mutex
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		// Let the load reach its rate before the first probe.
		select {
		case <-time.After(3 * time.Second):
		case <-probeCtx.Done():
			return
		}
		tick := time.NewTicker(time.Second / probeRate)
		defer tick.Stop()
		for {
			select {
			case <-probeCtx.Done():
				return
			case <-tick.C:
			}
			i := int(e.stack.probes.Add(1)) - 1
			if i >= probeSites {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := e.probe(probeCtx, mode, i); err != nil {
					if probeCtx.Err() == nil {
						probeErrs.Add(1)
						e.Log.Warn("probe failed", "site", probeSiteID(i), "err", err)
					}
					return
				}
				accepted := time.Now()
				pmu.Lock()
				probes = append(probes, probeSiteID(i))
				pmu.Unlock()
				if i%queryableEvery != 0 || e.serviceAddr("api") == "" || e.serviceAddr("archiver") == "" {
					return
				}
				d, err := e.queryable(context.WithoutCancel(probeCtx), probeSiteID(i), accepted, 30*time.Second)
				pmu.Lock()
				defer pmu.Unlock()
				if err != nil {
					queryErrs++
					e.Log.Warn("probe not queryable", "site", probeSiteID(i), "err", err)
					return
				}
				toQuery = append(toQuery, d)
			}()
		}
	}()
	e.Log.Info("latency: load", "mode", mode, "rate", rate, "for", e.Settings.Latency)
	var profiled sync.WaitGroup
	if e.profile != "" {
		profiled.Add(1)
		go func() {
			defer profiled.Done()
			select {
			case <-time.After(3 * time.Second):
			case <-ctx.Done():
				return
			}
			e.profileServices(ctx, fmt.Sprintf("latency-%d", rate), e.Settings.Latency-5*time.Second)
		}()
	}
	stopHop, err := e.startRawHop(ctx, fmt.Sprintf("hop-%d", rate))
	if err != nil {
		return fmt.Errorf("raw hop: %w", err)
	}
	load, err := e.simulate(ctx, LoadRun{Mode: mode, Rate: float64(rate), Duration: e.Settings.Latency, Stations: e.Settings.Stations})
	hop := stopHop()
	stopProbes()
	wg.Wait()
	profiled.Wait()
	e.stack.offered.Add(load.Readings + int64(len(probes)))
	if err != nil {
		return err
	}
	// Stragglers: events come within milliseconds; notifications may take longer.
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if done := e.latencyDone(o, probes, sinkFrom); done {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	assessorNote(s, fmt.Sprintf("at %d/s", rate), before, e.readCounters(ctx))
	toEvent, toNotify, missingEv, missingNt := e.latencies(o, probes, sinkFrom)
	var toEmit, emitToArrive []time.Duration
	o.mu.Lock()
	for _, site := range probes {
		if ev, ok := o.events[site]; ok && !ev.readingReceived.IsZero() && !ev.emitted.IsZero() {
			toEmit = append(toEmit, ev.emitted.Sub(ev.readingReceived))
			emitToArrive = append(emitToArrive, ev.arrived.Sub(ev.emitted))
		}
	}
	o.mu.Unlock()
	if len(emitToArrive) > 0 {
		p := Percentiles(emitToArrive, 0.5, 0.99)
		s.Note("at %d/s: event emitted → received by the bench's consumer: p50 %.1f ms, p99 %.1f ms", rate, ms(p[0]), ms(p[1]))
	}
	key := fmt.Sprintf("latency.%d", rate)
	label := fmt.Sprintf("at %d/s", rate)
	s.Add(key+".achieved", label+": load achieved", load.Rate, "readings/s")
	if len(hop) > 0 {
		p := Percentiles(hop, 0.5, 0.99, 0.999)
		s.Add(key+".raw_hop.p50", label+": raw Kafka hop beside the load p50", ms(p[0]), "ms")
		s.Add(key+".raw_hop.p99", label+": raw Kafka hop beside the load p99", ms(p[1]), "ms")
		s.Add(key+".raw_hop.p999", label+": raw Kafka hop beside the load p99.9", ms(p[2]), "ms")
		s.Note("at %d/s: raw Kafka hop: %d records (one every %s, the services' writer, the bench's reader) published and read back while the load ran: p50 %.1f ms, p99 %.1f ms, p99.9 %.1f ms, slowest %.1f ms",
			rate, len(hop), hopEvery, ms(p[0]), ms(p[1]), ms(p[2]), ms(Percentiles(hop, 1)[0]))
	}
	if len(toEvent) > 0 {
		p := Percentiles(toEvent, 0.5, 0.95, 0.99, 0.999)
		s.Add(key+".event.p50", label+": reading → event p50", ms(p[0]), "ms").Vs(KeyKafkaLatencyP50)
		s.Add(key+".event.p95", label+": reading → event p95", ms(p[1]), "ms")
		f := s.Add(key+".event.p99", label+": reading → event p99", ms(p[2]), "ms").Vs(KeyKafkaLatencyP99)
		if rate >= 10000 {
			f.WithGoal("≤ 50 ms at 10,000/s", p[2] <= goalEventP99)
		}
		// With fewer than 1,000 probes the p99.9 is the slowest probe: the note says how many.
		s.Add(key+".event.p999", label+": reading → event p99.9", ms(p[3]), "ms")
		if len(hop) > 0 {
			s.Note("at %d/s: reading → event over %d probes: p99 %.1f ms, p99.9 %.1f ms; the path crosses two Kafka hops, whose raw p99 beside the same load was %.1f ms each",
				rate, len(toEvent), ms(p[2]), ms(p[3]), ms(Percentiles(hop, 0.99)[0]))
		}
	}
	if len(toEmit) > 0 {
		p := Percentiles(toEmit, 0.5, 0.99)
		s.Add(key+".emitted.p50", label+": reading → event emitted (assessor's clock) p50", ms(p[0]), "ms")
		s.Add(key+".emitted.p99", label+": reading → event emitted (assessor's clock) p99", ms(p[1]), "ms")
	}
	if len(toNotify) > 0 {
		p := Percentiles(toNotify, 0.5, 0.95, 0.99)
		s.Add(key+".notify.p50", label+": reading → notification p50", ms(p[0]), "ms").Vs(KeyKafkaLatencyP50)
		s.Add(key+".notify.p95", label+": reading → notification p95", ms(p[1]), "ms")
		s.Add(key+".notify.p99", label+": reading → notification p99", ms(p[2]), "ms").Vs(KeyKafkaLatencyP99).
			WithGoal("≤ 500 ms", p[2] <= goalNotifyP99)
	}
	if len(toQuery) > 0 {
		p := Percentiles(toQuery, 0.5, 0.99)
		s.Add(key+".queryable.p50", label+": reading → queryable through the api p50", ms(p[0]), "ms")
		s.Add(key+".queryable.p99", label+": reading → queryable through the api p99", ms(p[1]), "ms").
			WithGoal("≤ 2 s", p[1] <= 2*time.Second)
		s.Note("at %d/s: reading → queryable: %d probes followed through the api (every %d-th, polled every %s from the gateway's answer), %d not queryable within 30 s",
			rate, len(toQuery), queryableEvery, queryablePoll, queryErrs)
	}
	s.Note("at %d/s: %d probes accepted (%d failed); %d events and %d notifications timed; %d events and %d notifications never arrived; simulator: %s",
		rate, len(probes), probeErrs.Load(), len(toEvent), len(toNotify), missingEv, missingNt, load.Line)
	if len(toEvent) == 0 {
		return errors.New("no probe produced an exceedance.opened event")
	}
	return nil
}

// latencyDone reports whether every probe has its event and its notification.
func (e *Env) latencyDone(o *observer, probes []string, sinkFrom int) bool {
	_, _, me, mn := e.latencies(o, probes, sinkFrom)
	return me == 0 && mn == 0
}

// latencies pairs each probe with its event and with the first notification of the
// incident it opened.
func (e *Env) latencies(o *observer, probes []string, sinkFrom int) (toEvent, toNotify []time.Duration, missingEv, missingNt int) {
	first := map[string]time.Time{} // incident → first delivery
	for _, d := range e.stack.sink.Received()[sinkFrom:] {
		if at, ok := first[d.IncidentID]; !ok || d.At.Before(at) {
			first[d.IncidentID] = d.At
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	bySite := map[string]time.Time{}
	for id, site := range o.incidents {
		if at, ok := first[id]; ok {
			if cur, seen := bySite[site]; !seen || at.Before(cur) {
				bySite[site] = at
			}
		}
	}
	for _, site := range probes {
		ev, ok := o.events[site]
		if !ok || ev.readingReceived.IsZero() {
			missingEv++
			missingNt++
			continue
		}
		toEvent = append(toEvent, ev.arrived.Sub(ev.readingReceived))
		if at, ok := bySite[site]; ok {
			toNotify = append(toNotify, at.Sub(ev.readingReceived))
		} else {
			missingNt++
		}
	}
	return toEvent, toNotify, missingEv, missingNt
}

// probe sends probe i's severe reading: over HJ 212 to the gateway (waiting for its 9014),
// or, without a gateway, straight to the readings topic.
func (e *Env) probe(ctx context.Context, mode string, i int) error {
	now := time.Now()
	if mode == "kafka" {
		obs := now.UTC().Truncate(time.Second)
		site := probeSiteID(i)
		r := message.Reading{
			ID: message.ReadingID(site, "nh3n", message.IntervalRealtime, obs), Site: site, Station: probeMN(i),
			Parameter: "nh3n", Value: probeValue, Unit: "mg/L", Interval: message.IntervalRealtime,
			Flag: message.FlagNormal, ObservedAt: obs, ReceivedAt: time.Now().UTC(), Source: message.SourceHJ212,
		}
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		return e.probeWriter().Publish(ctx, kafka.Message{Key: []byte(site), Value: b})
	}
	loc, _ := time.LoadLocation("Asia/Shanghai")
	if loc == nil {
		loc = time.FixedZone("CST", 8*3600)
	}
	cp, err := hj212.DataCP(now.Truncate(time.Second), loc, hj212.V2017, []hj212.Item{hj212.Rtd("w21003", probeValue, hj212.DataFlagNormal)})
	if err != nil {
		return err
	}
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := hj212.Dial(actx, e.stack.hj212)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Upload(actx, hj212.Packet{
		QN: hj212.NewQN(now, loc), ST: hj212.STSurfaceWater, CN: hj212.CNRealtime, PW: stationPassword,
		MN: probeMN(i), Flag: hj212.NewFlag(hj212.V2017, true, false), CP: cp,
	})
}

// probeWriter is the writer of probes that go straight to Kafka.
func (e *Env) probeWriter() *stream.Writer {
	st := &e.stack
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.probeW == nil {
		st.probeW = stream.NewWriter(stream.WriterConfig{Cluster: stream.Plain(e.Brokers...), Topic: e.topics().Readings}, nil)
	}
	return st.probeW
}
