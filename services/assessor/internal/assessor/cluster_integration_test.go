package assessor_test

import (
	"maps"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
)

// committed is the assessor process's committed offsets of topic, by partition (see
// testinfra.LastCommittedOffsets); nil while it does not answer.
func (p *proc) committed(topic string) map[int]float64 {
	o, err := testinfra.LastCommittedOffsets(p.addr, "assessor", topic)
	if err != nil {
		return nil
	}
	return o
}

// TestClusterAssessorReplicaKilledTheOtherTakesOverItsPartitions runs two assessor processes
// in one consumer group on deploy/local/cluster.sh's three brokers (issue 15, fault test 3):
// the scripted sequence is published, one replica is SIGKILLed in the middle of it, the other
// takes over its partitions and restores their state, and every scripted event is published
// (each exceedance opened once, by id), none other.
func TestClusterAssessorReplicaKilledTheOtherTakesOverItsPartitions(t *testing.T) {
	testinfra.UseCluster(t)
	cfg := testConfig(t)
	run := newRun(t, cfg)
	procs := []*proc{run.start(), run.start()}
	topic := cfg.Kafka.Topics.Readings
	var assigned [2]map[int]float64
	testinfra.Eventually(t, 60*time.Second, "the partitions of "+topic+" split between the two assessors", func() bool {
		seen := map[int]int{}
		for i, p := range procs {
			assigned[i] = p.committed(topic)
			if len(assigned[i]) == 0 {
				return false
			}
			for part := range assigned[i] {
				seen[part]++
			}
		}
		for _, n := range seen {
			if n != 1 {
				return false
			}
		}
		return len(seen) == 3 // testinfra.Config's partitions
	})
	first, rest := script[:7], script[7:]
	run.publishScript(first)
	run.waitFor("the first events", func(evs []message.Event) bool { return len(uniq(evs)) >= 5 })

	// The victim is the replica with more partitions. The rest of the script goes out a
	// reading every 400 ms, the kill after the first three: the survivor takes over with
	// readings on the dead replica's partitions still to judge.
	victim, survivor := procs[0], procs[1]
	if len(assigned[1]) > len(assigned[0]) {
		victim, survivor = procs[1], procs[0]
	}
	theirs := victim.committed(topic)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, s := range rest {
			run.publish(s)
			time.Sleep(400 * time.Millisecond)
		}
	}()
	time.Sleep(1200 * time.Millisecond)
	run.stopProc(victim, syscall.SIGKILL)
	killed := time.Now()
	var takeover, commit time.Duration
	// Takeover: the survivor's generation holds every partition of the dead replica; then
	// its first commit on one of them (the gauge is -1 from the new generation until then).
	testinfra.Eventually(t, 60*time.Second, "the survivor committing on the killed assessor's partitions", func() bool {
		o := survivor.committed(topic)
		committed := false
		for part := range theirs {
			v, ok := o[part]
			if !ok {
				return false
			}
			committed = committed || v >= 0
		}
		if takeover == 0 {
			takeover = time.Since(killed)
		}
		if committed {
			commit = time.Since(killed)
		}
		return committed
	})
	<-done
	got := run.waitEvents(len(expected))
	checkEvents(t, got)
	// Each exceedance opened once and cleared once: one id per scripted opening and
	// clearing, however often a replay republished it.
	byType := map[string]map[string]int{message.EventExceedanceOpened: {}, message.EventExceedanceCleared: {}}
	for _, ev := range got {
		if ids, ok := byType[ev.Type]; ok {
			ids[ev.ID]++
		}
	}
	for typ, ids := range byType {
		want := 0
		for _, w := range expected {
			if w.typ == typ {
				want++
			}
		}
		if len(ids) != want {
			t.Errorf("%d distinct %s ids, want %d", len(ids), typ, want)
		}
	}
	opened, cleared := byType[message.EventExceedanceOpened], byType[message.EventExceedanceCleared]
	t.Logf("assessor SIGKILLed mid-script holding partitions %v (committed %v): the survivor held them %s after the kill and committed on them %s after it; %d events published (%d distinct, as scripted), %d exceedance.opened ids (%d publications), %d exceedance.cleared ids (%d publications)",
		slices.Sorted(maps.Keys(theirs)), theirs, takeover.Round(10*time.Millisecond), commit.Round(10*time.Millisecond),
		len(got), len(uniq(got)), len(opened), total(opened), len(cleared), total(cleared))
	run.stopProc(survivor, syscall.SIGTERM)
}

// total is the sum of a count map's values.
func total(m map[string]int) (n int) {
	for _, v := range m {
		n += v
	}
	return n
}
