package message

import "time"

// TopicRawFrames carries the raw bytes of every HJ 212 data frame the gateway accepted
// (RawFrame), keyed by site; the archiver keeps them in raw_frames for the retention period
// (archiver.raw_frames_retention_days) so that an evidence bundle can show the frames
// behind its readings.
const TopicRawFrames = "riverwatch.raw-frames"

// RawFrame is one accepted HJ 212 data frame as it arrived, its station password masked
// (hj212.MaskPassword: a station's PW is never stored), with the ids of the readings the
// gateway made of it, so that a reading (and an event, by its ReadingID) leads to its frame.
type RawFrame struct {
	ID       string    `json:"id"` // RawFrameID
	Site     string    `json:"site"`
	MN       string    `json:"mn"`
	QN       string    `json:"qn,omitempty"`
	CN       string    `json:"cn"`
	DataTime time.Time `json:"data_time"` // the frame's DataTime, in UTC
	// ReceivedAt is when the gateway read the frame.
	ReceivedAt time.Time `json:"received_at"`
	Remote     string    `json:"remote,omitempty"`
	Raw        string    `json:"raw"` // the frame, PW masked, cut at MaxRawBytes
	// ReadingIDs are the readings published from the frame (its other items were refused
	// and are in rejected, with the same raw frame).
	ReadingIDs []string `json:"reading_ids"`
}

// RawFrameID is the deterministic id of an accepted frame: its station and its identity
// (the QN, or for a frame without one its CN and DataTime), the key the gateway
// deduplicates frames by, so a frame sent again maps to the same row.
func RawFrameID(mn, qn, cn string, dataTime time.Time) string {
	if qn != "" {
		return hashID("frame", mn, qn)
	}
	return hashID("frame", mn, cn, dataTime.UTC().Format(time.RFC3339))
}
