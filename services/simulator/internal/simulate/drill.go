package simulate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/stream"
)

// APIDrill starts drills through the API (POST /api/v1/drills) with an admin token, as an
// operator would. The Idempotency-Key names the scenario run and the happening, so a retried
// request starts one drill.
type APIDrill struct {
	BaseURL string
	Token   string
	RunID   string
	Client  *http.Client
}

// Start asks the API to start the drill.
func (a *APIDrill) Start(ctx context.Context, h Happening) error {
	body, _ := json.Marshal(map[string]string{"site": h.Site, "parameter": h.Parameter, "note": "simulator scenario drill"})
	c := a.Client
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second}
	}
	var last error
	for attempt := range 5 {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.BaseURL+"/api/v1/drills", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+a.Token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", fmt.Sprintf("simulator-%s-%s-%d", a.RunID, h.Site, h.At))
		resp, err := c.Do(req)
		if err == nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			switch {
			case resp.StatusCode < 300:
				return nil
			case resp.StatusCode < 500:
				return fmt.Errorf("POST /api/v1/drills: HTTP %d: %s", resp.StatusCode, b)
			}
			err = fmt.Errorf("POST /api/v1/drills: HTTP %d: %s", resp.StatusCode, b)
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * time.Second):
		}
	}
	return last
}

// KafkaDrill starts drills by publishing the drill command to the commands topic, as the
// API does: for pipelines run without the API.
type KafkaDrill struct {
	Writer *stream.Writer
	RunID  string
	Actor  string
}

// Start publishes the drill command.
func (k *KafkaDrill) Start(ctx context.Context, h Happening) error {
	cmd := message.Command{
		ID:   message.EventID("simulator-drill", h.Site, h.Parameter, time.Unix(0, 0), fmt.Sprintf("%s-%d", k.RunID, h.At)),
		Type: message.CommandDrill, Actor: k.Actor, Site: h.Site, Parameter: h.Parameter,
		Note: "simulator scenario drill", At: time.Now().UTC(),
	}
	b, err := json.Marshal(cmd)
	if err != nil {
		return err
	}
	return publishRetry(ctx, k.Writer, kafka.Message{Key: []byte(h.Site), Value: b})
}

// publishRetry publishes, retrying for up to ten seconds while the topic is unknown to the
// writer: kafka-go caches topic metadata for seconds, so a topic created after the
// process's first metadata request looks missing for a while. Nothing was written then,
// so publishing again duplicates nothing.
func publishRetry(ctx context.Context, w *stream.Writer, msgs ...kafka.Message) error {
	err := w.Publish(ctx, msgs...)
	for try := 0; errors.Is(err, kafka.UnknownTopicOrPartition) && try < 40 && ctx.Err() == nil; try++ {
		time.Sleep(250 * time.Millisecond)
		err = w.Publish(ctx, msgs...)
	}
	return err
}
