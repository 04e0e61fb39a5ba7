package hj212

import "errors"

// Reasons of refusal. They are stable codes: metrics, the rejected table and dashboards
// use them.
const (
	// ReasonFrameSync: bytes outside any frame (nothing that starts with "##").
	ReasonFrameSync = "frame_sync"
	// ReasonFrameLength: the length header is not 4 digits, exceeds the maximum, or the
	// frame does not end with CR LF where the length says it ends.
	ReasonFrameLength = "frame_length"
	// ReasonFrameIncomplete: the connection ended or timed out inside a frame.
	ReasonFrameIncomplete = "frame_incomplete"
	// ReasonCRC: the CRC is not 4 hex digits or does not match the data segment.
	ReasonCRC = "crc"
	// ReasonBadField: a field of the data segment is missing, repeated, unknown or malformed.
	ReasonBadField = "bad_field"
	// ReasonVersion: the Flag's version bits name no known edition of the standard.
	ReasonVersion = "version"
	// ReasonBadCP: the CP segment breaks the key=value;… syntax, or a data upload's CP has
	// no valid DataTime, a key it should not have, or an item spread over several groups.
	ReasonBadCP = "bad_cp"
	// ReasonBadItem: an item of a data upload has an invalid code or an unknown suffix.
	ReasonBadItem = "bad_item"
	// ReasonBadValue: a value is not a plain decimal number (or a time is not a valid time).
	ReasonBadValue = "bad_value"
	// ReasonBadFlag: a data flag is not one the standard defines.
	ReasonBadFlag = "bad_flag"
	// ReasonSplit: split packets that do not fit together (PNO > PNUM, PNUM changing,
	// DataTime differing, a set too large).
	ReasonSplit = "split"
	// ReasonSplitIncomplete: a split message whose packets did not all arrive in time.
	ReasonSplitIncomplete = "split_incomplete"
)

// Error is a refusal by the codec: why (Reason, one of the Reason constants) and what
// exactly (Detail, for a person).
type Error struct {
	Reason string
	Detail string
}

// Error returns "hj212 <reason>: <detail>".
func (e *Error) Error() string { return "hj212 " + e.Reason + ": " + e.Detail }

func errorf(reason, detail string) *Error { return &Error{Reason: reason, Detail: detail} }

// ReasonOf returns the Reason of an *Error in err's chain, or "" when there is none.
func ReasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}
