package api

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/stream"
	"github.com/segmentio/kafka-go"
)

// publisher is the part of stream.Writer the KafkaCommander uses.
type publisher interface {
	Publish(ctx context.Context, msgs ...kafka.Message) error
}

// KafkaCommander publishes commands to riverwatch.commands, keyed by incident id so that
// one incident's commands stay in order on one partition (a drill, which has no incident
// yet, is keyed by its site; a silence's commands by the silence id).
type KafkaCommander struct {
	w   publisher
	key message.CommandKey // signs every command (header riverwatch-signature)
}

// NewKafkaCommander returns a Commander over a stream.Writer for the commands topic that
// signs every command with key, the responder's condition for applying it.
func NewKafkaCommander(w *stream.Writer, key message.CommandKey) *KafkaCommander {
	return &KafkaCommander{w: w, key: key}
}

// Send implements Commander: it returns once Kafka acknowledged the command.
func (c *KafkaCommander) Send(ctx context.Context, cmd message.Command) error {
	value, err := json.Marshal(cmd)
	if err != nil {
		return fmt.Errorf("encode command %s: %w", cmd.ID, err)
	}
	key := cmd.IncidentID
	if key == "" {
		key = cmd.Site
	}
	if key == "" {
		key = cmd.SilenceID // a silence's commands stay in order on one partition
	}
	sig := kafka.Header{Key: message.HeaderCommandSignature, Value: []byte(c.key.Sign(value))}
	if err := c.w.Publish(ctx, kafka.Message{Key: []byte(key), Value: value, Headers: []kafka.Header{sig}}); err != nil {
		return fmt.Errorf("command %s: %w", cmd.ID, err)
	}
	return nil
}
