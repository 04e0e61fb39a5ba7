package responder

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/segmentio/kafka-go"

	"github.com/riverwatch/riverwatch/pkg/stream"
	"github.com/riverwatch/riverwatch/services/responder/internal/incident"
)

// stateReadPatience is how long a generation's restore keeps retrying the state topic. A
// topic created a moment ago (a fresh broker, the first make up) answers "Not Leader For
// Partition" until its partitions have leaders; that is a wait, not a failure.
const stateReadPatience = time.Minute

// stateReadTimeout bounds one reading of the state partitions to their ends.
const stateReadTimeout = 2 * time.Minute

// commandsPositionKey is the state-topic key, in every partition, of the commands topic's
// position (commandsPosition) as the partition's owner last applied it. Incident keys are
// "inc-…" and silence keys "silence:…", so it collides with neither.
const commandsPositionKey = "commands-position"

// commandsPosition is the value under commandsPositionKey.
type commandsPosition struct {
	// Next is, per partition of the commands topic, the next offset to apply.
	Next map[int]int64 `json:"next"`
}

// topology is what a generation needs to know of the topics: how many shards there are
// (the events topic's partitions) and the commands topic's partitions.
type topology struct {
	shards   int
	commands []int
}

// topology reads the partitions of the events, state and commands topics. The state topic
// must have a partition for each of the events topic's: an incident's state lives in the
// partition of the events that feed it.
func (r *Responder) topology(ctx context.Context) (topology, error) {
	k := r.cfg.Kafka
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.MaxInterval = 200*time.Millisecond, 5*time.Second
	return backoff.Retry(ctx, func() (topology, error) {
		events, err := stream.Partitions(ctx, r.kafka, k.Topics.Events)
		if err != nil {
			return topology{}, err
		}
		state, err := stream.Partitions(ctx, r.kafka, r.rc.StateTopic)
		if err != nil {
			return topology{}, err
		}
		commands, err := stream.Partitions(ctx, r.kafka, k.Topics.Commands)
		if err != nil {
			return topology{}, err
		}
		if len(state) < len(events) {
			return topology{}, backoff.Permanent(fmt.Errorf(
				"config key responder.state_topic: %s has %d partitions, fewer than the %d of %s; the responder keeps each events partition's incidents in the state partition of the same number, so give the state topic as many",
				r.rc.StateTopic, len(state), len(events), k.Topics.Events))
		}
		return topology{shards: len(events), commands: commands}, nil
	}, backoff.WithBackOff(b), backoff.WithMaxElapsedTime(stateReadPatience), backoff.WithNotify(func(err error, next time.Duration) {
		r.log.Warn("topics not described yet, retrying", "backoff", next.Round(time.Millisecond), "err", err)
	}))
}

// restored is what the state partitions of a generation hold.
type restored struct {
	incidents map[int][]*incident.State // by partition
	silences  []*incident.SilenceState
	commands  map[int]int64 // the commands position to resume from
}

// openGeneration restores the state partitions of the events partitions assigned, then
// starts following the commands topic; the session applies the events, and its end
// (closeGeneration) waits for the deliveries in flight and writes the state before the
// group may give the partitions to another replica.
func (r *Responder) openGeneration(ctx context.Context, events *stream.Consumer, gen *stream.Generation, topo topology, restoredOnce func()) (stream.Session, error) {
	parts := make([]int, 0, len(gen.Partitions))
	for _, a := range gen.Partitions {
		parts = append(parts, a.Partition)
	}
	slices.Sort(parts)
	start := time.Now()
	st, err := r.restore(ctx, topo, parts)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.shards, r.owned = topo.shards, parts
	r.placement, r.commandsNext, r.commandsDirty = map[string]int{}, st.commands, false
	r.eng = r.newEngine()
	r.eng.RestoreSilences(st.silences) // first: the incidents restored are held by them
	r.pending = incident.Changes{}
	n := 0
	for p, states := range st.incidents {
		for _, s := range states {
			r.placement[s.Incident.ID] = p
		}
		r.pending.Merge(r.eng.Restore(states))
		n += len(states)
	}
	r.serving = len(parts) > 0
	r.log.Info("partitions restored", "generation", gen.ID, "partitions", parts, "incidents", n, "silences", len(st.silences), "took", time.Since(start))
	err = r.flushUntilDone(ctx)
	r.mu.Unlock()
	if err != nil {
		return nil, err
	}
	restoredOnce()

	cctx, cancel := context.WithCancel(ctx)
	var following sync.WaitGroup
	if len(parts) > 0 {
		for _, cp := range topo.commands {
			following.Go(func() { r.followCommands(cctx, cp) })
		}
	}
	return events.HandlerSession(gen, r.handleEvents, func() {
		cancel()
		following.Wait()
		r.closeGeneration(ctx, gen.ID)
	}), nil
}

// newEngine returns an empty incident engine over the responder's configuration.
func (r *Responder) newEngine() *incident.Engine {
	rc := r.rc
	return incident.New(incident.Config{
		GroupWindow: rc.GroupWindow, TimeScale: rc.TimeScale, MaxEventAge: rc.MaxEventAge, Retain: rc.Retain,
		MaxAttempts: rc.MaxAttempts, RetryBase: rc.RetryBase, RetryMax: rc.RetryMax,
	}, r.clock, r.net, r.books, r.contacts)
}

// flushUntilDone retries flush until it succeeds or ctx is done: nothing of a generation
// runs before its restored state (interrupted deliveries re-queued) is written. r.mu is
// held.
func (r *Responder) flushUntilDone(ctx context.Context) error {
	_, err := backoff.Retry(ctx, func() (struct{}, error) { return struct{}{}, r.flush(ctx) },
		backoff.WithBackOff(&backoff.ExponentialBackOff{
			InitialInterval: 200 * time.Millisecond, RandomizationFactor: 0.5, Multiplier: 2, MaxInterval: 5 * time.Second,
		}),
		backoff.WithMaxElapsedTime(0),
		backoff.WithNotify(func(err error, next time.Duration) {
			r.log.Warn("state write after restore failed, retrying", "backoff", next, "err", err)
		}))
	return err
}

// closeGeneration ends a generation: nothing new is dispatched, the deliveries in flight
// finish and are recorded, and the state is written, before the partitions go.
func (r *Responder) closeGeneration(ctx context.Context, id int32) {
	r.mu.Lock()
	r.serving = false
	r.mu.Unlock()
	r.inflight.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.eng != nil {
		if err := r.flush(ctx); err != nil {
			// Whoever owns the partitions next replays the events not committed and
			// re-delivers, under the same keys, what was being sent.
			r.log.Error("final state write of the generation failed", "generation", id, "err", err)
		}
	}
	r.eng, r.owned, r.placement, r.commandsNext = nil, nil, nil, nil
	r.pending = incident.Changes{}
	r.m.incidents.Reset()
	r.m.silences.Reset()
	r.m.queued.Set(0)
}

// restore reads the state partitions parts, retried with backoff for stateReadPatience.
func (r *Responder) restore(ctx context.Context, topo topology, parts []int) (restored, error) {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.Multiplier, b.MaxInterval = 200*time.Millisecond, 2, 5*time.Second
	return backoff.Retry(ctx, func() (restored, error) {
		rctx, cancel := context.WithTimeout(ctx, stateReadTimeout)
		defer cancel()
		return r.readPartitions(rctx, topo, parts)
	}, backoff.WithBackOff(b), backoff.WithMaxElapsedTime(stateReadPatience), backoff.WithNotify(func(err error, next time.Duration) {
		r.log.Warn("state topic not readable yet, retrying", "topic", r.rc.StateTopic, "backoff", next.Round(time.Millisecond), "err", err)
	}))
}

// readPartitions reads the state partitions parts to their ends: the incidents of each,
// the newest version of every silence among their copies, and the commands position to
// resume from — the least of theirs, so that no partition misses a command (a command
// applied twice is recognised by its id). Without any position (a new deployment, or one
// upgraded from a single responder), the commands resume where the single responder's
// consumer group committed, or at the topic's start.
func (r *Responder) readPartitions(ctx context.Context, topo topology, parts []int) (restored, error) {
	out := restored{incidents: map[int][]*incident.State{}}
	silences := map[string]*incident.SilenceState{}
	var positions []map[int]int64
	for _, p := range parts {
		vals, _, err := stream.ReadCompactedPartition(ctx, stream.ReaderConfig{Cluster: r.kafka}, r.rc.StateTopic, p)
		if err != nil {
			return out, fmt.Errorf("read %s/%d: %w", r.rc.StateTopic, p, err)
		}
		for key, v := range vals {
			switch {
			case key == commandsPositionKey:
				var pos commandsPosition
				if err := json.Unmarshal(v, &pos); err != nil {
					r.m.invalid.WithLabelValues("state").Inc()
					r.log.Error("unreadable commands position skipped", "partition", p, "err", err)
					continue
				}
				positions = append(positions, pos.Next)
			case strings.HasPrefix(key, incident.SilenceKeyPrefix):
				ss, err := incident.UnmarshalSilence(v)
				if err != nil {
					r.m.invalid.WithLabelValues("state").Inc()
					r.log.Error("unreadable silence state skipped", "key", key, "err", err)
					continue
				}
				if old, ok := silences[ss.Silence.ID]; !ok || ss.Silence.Version > old.Silence.Version {
					silences[ss.Silence.ID] = ss
				}
			default:
				st, err := incident.Unmarshal(v)
				if err != nil {
					r.m.invalid.WithLabelValues("state").Inc()
					r.log.Error("unreadable incident state skipped", "key", key, "err", err)
					continue
				}
				out.incidents[p] = append(out.incidents[p], st)
			}
		}
	}
	for _, ss := range silences {
		out.silences = append(out.silences, ss)
	}
	if len(positions) > 0 {
		out.commands = leastPositions(positions, topo.commands)
		return out, nil
	}
	legacy, err := stream.CommittedOffsets(ctx, r.kafka, r.cfg.Kafka.GroupPrefix+".responder.commands", r.cfg.Kafka.Topics.Commands, topo.commands)
	if err != nil {
		return out, err
	}
	out.commands = map[int]int64{}
	for _, cp := range topo.commands {
		out.commands[cp] = kafka.FirstOffset
		if off, ok := legacy[cp]; ok {
			out.commands[cp] = off
		}
	}
	return out, nil
}

// leastPositions is, per commands partition, the least next offset of the positions (the
// topic's start for a partition one of them lacks).
func leastPositions(positions []map[int]int64, partitions []int) map[int]int64 {
	out := map[int]int64{}
	for _, cp := range partitions {
		least := int64(-1)
		for _, pos := range positions {
			off, ok := pos[cp]
			if !ok {
				least = kafka.FirstOffset
				break
			}
			if least < 0 || off < least {
				least = off
			}
		}
		out[cp] = least
	}
	return out
}

// followCommands applies the records of one partition of the commands topic from the
// generation's position until ctx is done, resuming after a failed read.
func (r *Responder) followCommands(ctx context.Context, cp int) {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.MaxInterval = 200*time.Millisecond, 5*time.Second
	for ctx.Err() == nil {
		r.mu.Lock()
		from, ok := r.commandsNext[cp]
		r.mu.Unlock()
		if !ok {
			from = kafka.FirstOffset
		}
		err := stream.ReadPartition(ctx, stream.ReaderConfig{Cluster: r.kafka, MaxWait: r.cfg.Kafka.MaxWait}, r.cfg.Kafka.Topics.Commands, cp, from, -1,
			func(m kafka.Message) error { return r.applyCommandRecord(ctx, m) })
		if err == nil || ctx.Err() != nil {
			return
		}
		wait := b.NextBackOff()
		r.log.Warn("reading commands failed; resuming", "partition", cp, "backoff", wait.Round(time.Millisecond), "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

// applyCommandRecord applies one command record, retrying a failed write until it goes
// through or the generation ends (the next owner then replays it from the stored position).
func (r *Responder) applyCommandRecord(ctx context.Context, m kafka.Message) error {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.MaxInterval = 100*time.Millisecond, 5*time.Second
	_, err := backoff.Retry(ctx, func() (struct{}, error) { return struct{}{}, r.handleCommand(ctx, m) },
		backoff.WithBackOff(b), backoff.WithMaxElapsedTime(0),
		backoff.WithNotify(func(err error, next time.Duration) {
			r.log.Warn("command not applied yet, retrying", "partition", m.Partition, "offset", m.Offset, "backoff", next.Round(time.Millisecond), "err", err)
		}))
	return err
}
