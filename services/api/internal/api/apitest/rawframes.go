package apitest

import (
	"context"
	"sort"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/services/api/internal/api"
)

// AddRawFrames stores accepted HJ 212 frames as the archiver does: one per id, a replay
// replacing its copy.
func (m *MemStore) AddRawFrames(fs ...message.RawFrame) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rawFrames == nil {
		m.rawFrames = map[string]message.RawFrame{}
	}
	for _, f := range fs {
		f.DataTime, f.ReceivedAt = f.DataTime.UTC().Truncate(1e9), ms(f.ReceivedAt)
		m.rawFrames[f.ID] = f
	}
}

// RawFrames implements api.Store: one site's frames with DataTime in [From, To), oldest first.
func (m *MemStore) RawFrames(ctx context.Context, q api.RawFrameQuery) ([]message.RawFrame, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail != nil {
		return nil, m.Fail
	}
	var out []message.RawFrame
	for _, f := range m.rawFrames {
		if f.Site == q.Site && !f.DataTime.Before(q.From.Truncate(1e9)) && f.DataTime.Before(q.To.Truncate(1e9)) {
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].DataTime.Equal(out[j].DataTime) {
			return out[i].DataTime.Before(out[j].DataTime)
		}
		return out[i].ID < out[j].ID
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}
