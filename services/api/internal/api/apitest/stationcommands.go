package apitest

import (
	"context"
	"sort"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/services/api/internal/api"
)

// stationCommandKey is the station_commands table's ORDER BY key (at in seconds).
type stationCommandKey struct {
	site           string
	at             int64
	id, status, gw string
}

// AddStationCommands stores station-command records as the archiver does: one per
// (command, status, gateway), a replay replacing its copy.
func (m *MemStore) AddStationCommands(cs ...message.StationCommand) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stationCmdAt == nil {
		m.stationCmdAt = map[stationCommandKey]int{}
	}
	for _, c := range cs {
		c.At = ms(c.At)
		if c.StatusAt.IsZero() && c.Status == message.StationRequested {
			c.StatusAt = c.At
		}
		c.StatusAt = ms(c.StatusAt)
		k := stationCommandKey{c.Site, c.At.Unix(), c.ID, c.Status, c.Gateway}
		if i, ok := m.stationCmdAt[k]; ok {
			m.stationCmds[i] = c
			continue
		}
		m.stationCmdAt[k] = len(m.stationCmds)
		m.stationCmds = append(m.stationCmds, c)
	}
}

// StationCommands implements api.Store.
func (m *MemStore) StationCommands(_ context.Context, q api.StationCommandQuery) ([]message.StationCommand, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail != nil {
		return nil, m.Fail
	}
	var out []message.StationCommand
	for _, c := range m.stationCmds {
		match := c.Site == q.Site
		if q.Incident != "" {
			match = c.Incident == q.Incident
		}
		if match && !outside(c.At, q.From, q.To) {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		switch {
		case !a.At.Equal(b.At):
			return a.At.After(b.At)
		case a.ID != b.ID:
			return a.ID < b.ID
		case !a.StatusAt.Equal(b.StatusAt):
			return a.StatusAt.Before(b.StatusAt)
		case a.Status != b.Status:
			return a.Status < b.Status
		}
		return a.Gateway < b.Gateway
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}
