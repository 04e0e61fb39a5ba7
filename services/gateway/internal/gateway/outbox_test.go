package gateway

import (
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
)

func TestARejectionThatCannotBeEncodedFailsThePublish(t *testing.T) {
	var o outbox
	o.addRejection(&message.Rejection{Reason: ReasonBadBody, Source: message.SourceHTTP, ReceivedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, true)
	if len(o.rejections) != 0 || o.framesRefused[ReasonBadBody] != 0 {
		t.Errorf("an unencodable rejection was queued: %d messages, counts %v", len(o.rejections), o.framesRefused)
	}
	if err := (&Gateway{}).publish(t.Context(), &o); err == nil {
		t.Error("publish succeeded although a rejection could not be encoded")
	}
	o.reset()
	if o.err != nil {
		t.Error("reset kept the encoding error")
	}
}
