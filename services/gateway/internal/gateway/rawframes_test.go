package gateway

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/hj212"
	"github.com/riverwatch/riverwatch/pkg/message"
)

func TestAcceptedFrameIsPublishedRawWithItsPasswordMaskedAndItsReadingIDs(t *testing.T) {
	h := newHarness(t, nil)
	c := h.dial(t)
	p := hourPacket(t, "20240601100000101", dataTime,
		hj212.Period("w21003", 0.8, 1.25, 2.5, "N"), // a reading
		hj212.Period("e01001", 1, 1, 1, "N"),        // unknown code: rejected, the frame still kept
		hj212.Period("w01001", 7.1, 7.5, 7.9, "N"),  // a reading
	)
	if err := c.Upload(ctxT(t, 5*time.Second), p); err != nil {
		t.Fatalf("Upload: %v", err)
	}
	frames := h.frames.rawFrames(t)
	if len(frames) != 1 {
		t.Fatalf("%d raw frames published, want 1", len(frames))
	}
	f := frames[0]
	var want []string
	for _, r := range h.readings.readings(t) {
		want = append(want, r.ID)
	}
	if !slices.Equal(f.ReadingIDs, want) || len(want) != 2 {
		t.Errorf("frame reading ids %v, want the readings' %v", f.ReadingIDs, want)
	}
	if f.Site != "STH-S2" || f.MN != sectionMN || f.QN != p.QN || f.CN != hj212.CNHour || !f.DataTime.Equal(dataTime) || !f.ReceivedAt.Equal(testNow) {
		t.Errorf("frame %+v", f)
	}
	if f.ID != message.RawFrameID(sectionMN, p.QN, hj212.CNHour, dataTime) {
		t.Errorf("frame id %s is not the deterministic one", f.ID)
	}
	if strings.Contains(f.Raw, "123456") || !strings.Contains(f.Raw, "PW=***") {
		t.Errorf("raw frame keeps the station password: %q", f.Raw)
	}
	if !strings.Contains(f.Raw, "QN="+p.QN) || !strings.Contains(f.Raw, "w21003-Avg=1.25") {
		t.Errorf("raw frame is not the frame sent: %q", f.Raw)
	}
}

func TestFrameWithoutReadingsOrADuplicateIsNotKeptAgainAsRaw(t *testing.T) {
	h := newHarness(t, nil)
	c := h.dial(t)
	bad := hourPacket(t, "20240601100000102", dataTime, hj212.Period("e01001", 1, 1, 1, "N"))
	if err := c.Upload(ctxT(t, 5*time.Second), bad); err != nil {
		t.Fatalf("Upload: %v", err)
	}
	good := hourPacket(t, "20240601100000103", dataTime, hj212.Period("w21003", 1, 1, 1, "N"))
	for range 2 { // the second is a duplicate: rejected, not a second raw frame
		if err := c.Upload(ctxT(t, 5*time.Second), good); err != nil {
			t.Fatalf("Upload: %v", err)
		}
	}
	if frames := h.frames.rawFrames(t); len(frames) != 1 || frames[0].QN != good.QN {
		t.Fatalf("raw frames %+v, want only %s once", frames, good.QN)
	}
}

func TestStationGetsNoAnswerWhileItsRawFrameIsNotStored(t *testing.T) {
	h := newHarness(t, nil)
	c := h.dial(t)
	h.frames.setFail(errKafkaDown)
	p := hourPacket(t, "20240601100000104", dataTime, hj212.Period("w21003", 1, 1, 1, "N"))
	if err := c.Upload(ctxT(t, 500*time.Millisecond), p); err == nil {
		t.Fatal("answered although the raw frame was not stored")
	}
	h.frames.setFail(nil)
	if err := c.Upload(ctxT(t, 5*time.Second), p); err != nil {
		t.Fatalf("resend: %v", err)
	}
	if frames := h.frames.rawFrames(t); len(frames) != 1 {
		t.Fatalf("%d raw frames after the resend, want 1", len(frames))
	}
}
