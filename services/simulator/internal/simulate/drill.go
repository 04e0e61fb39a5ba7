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

	"github.com/cenkalti/backoff/v5"
	"github.com/segmentio/kafka-go"

	"github.com/riverwatch/riverwatch/pkg/auth"
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

// Start asks the API to start the drill, trying up to five times with backoff while the
// API does not answer or answers 5xx; a 4xx answer is final.
func (a *APIDrill) Start(ctx context.Context, h Happening) error {
	body, err := json.Marshal(map[string]string{"site": h.Site, "parameter": h.Parameter, "note": "simulator scenario drill"})
	if err != nil {
		return fmt.Errorf("encode drill request: %w", err)
	}
	c := a.Client
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second}
	}
	_, err = backoff.Retry(ctx, func() (struct{}, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.BaseURL+"/api/v1/drills", bytes.NewReader(body))
		if err != nil {
			return struct{}{}, backoff.Permanent(err)
		}
		req.Header.Set("Authorization", "Bearer "+a.Token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", fmt.Sprintf("simulator-%s-%s-%d", a.RunID, h.Site, h.At))
		resp, err := c.Do(req)
		if err != nil {
			return struct{}{}, err
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		switch {
		case resp.StatusCode < 300:
			return struct{}{}, nil
		case resp.StatusCode < 500:
			return struct{}{}, backoff.Permanent(fmt.Errorf("POST /api/v1/drills: HTTP %d: %s", resp.StatusCode, b))
		}
		return struct{}{}, fmt.Errorf("POST /api/v1/drills: HTTP %d: %s", resp.StatusCode, b)
	},
		backoff.WithBackOff(&backoff.ExponentialBackOff{InitialInterval: time.Second, RandomizationFactor: 0.5, Multiplier: 2, MaxInterval: 8 * time.Second}),
		backoff.WithMaxTries(5), backoff.WithMaxElapsedTime(0))
	return err
}

// KafkaDrill starts drills by publishing the drill command to the commands topic, as the
// API does: for pipelines run without the API.
type KafkaDrill struct {
	Writer *stream.Writer
	Key    message.CommandKey // signs the command; the responder applies nothing unsigned
	RunID  string
	Actor  string
}

// Start publishes the drill command.
func (k *KafkaDrill) Start(ctx context.Context, h Happening) error {
	cmd := message.Command{
		ID:   message.EventID("simulator-drill", h.Site, h.Parameter, time.Unix(0, 0), fmt.Sprintf("%s-%d", k.RunID, h.At)),
		Type: message.CommandDrill, Actor: k.Actor, Site: h.Site, Parameter: h.Parameter,
		// Without the api there is no token: the simulator speaks for an operator with
		// access to the commands topic, as an admin (the responder checks the role).
		ActorRole: auth.RoleAdmin, ActorJurisdictions: []string{auth.AllJurisdictions},
		Note: "simulator scenario drill", At: time.Now().UTC(),
	}
	b, err := json.Marshal(cmd)
	if err != nil {
		return err
	}
	sig := kafka.Header{Key: message.HeaderCommandSignature, Value: []byte(k.Key.Sign(b))}
	return publishRetry(ctx, k.Writer, kafka.Message{Key: []byte(h.Site), Value: b, Headers: []kafka.Header{sig}})
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
