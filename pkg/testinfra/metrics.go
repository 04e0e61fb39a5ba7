package testinfra

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// LastCommittedOffsets reads riverwatch_<service>_kafka_last_committed_offset of topic from
// the /metrics of a service listening on addr, by partition: the partitions of the
// consumer's current generation, -1 until it commits on one. The cluster tests use it to
// see which replica holds which partitions and when a survivor commits on a dead one's.
func LastCommittedOffsets(addr, service, topic string) (map[int]float64, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("metrics of %s: %s", addr, resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("metrics of %s: %w", addr, err)
	}
	prefix := "riverwatch_" + service + "_kafka_last_committed_offset{"
	out := map[int]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, prefix) || !strings.Contains(line, `topic="`+topic+`"`) {
			continue
		}
		_, rest, ok := strings.Cut(line, `partition="`)
		if !ok {
			continue
		}
		ps, _, _ := strings.Cut(rest, `"`)
		part, err := strconv.Atoi(ps)
		if err != nil {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			continue
		}
		out[part] = v
	}
	return out, nil
}
