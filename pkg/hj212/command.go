package hj212

import (
	"encoding/hex"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Host commands riverwatch sends (facts.md §3.5; issue #20). CNSetTime (1012) is in
// codes.go: the gateway also sends it in answer to a time-calibration request (1013).
const (
	CNGetTime        = "1011" // host → field: report your time (SystemTime)
	CNSetKey         = "1014" // host → field: take a new SM4 key (HJ 212-2025 §6.4.3; NewKey)
	CNSetRtdInterval = "1062" // host → field: set the real-time data interval (RtdInterval)
	CNSetMinInterval = "1064" // host → field: set the minute data interval (MinInterval)
	CNRetainSample   = "3015" // host → field: retain a sample (超标留样)
	CNGetInfo        = "3020" // host → field: report field-machine information (现场机信息: PolId, InfoId)
)

// KeyNewKey is the CP key of the new SM4 key in a 1014 (32 hex digits). The 2025 text
// was not available to us: the name follows the standard's NewPW of CN 1072
// (docs/protocol.md, Key rotation).
const KeyNewKey = "NewKey"

// Target is the field machine a host command addresses: its system code, MN, password and
// the edition it speaks (the Flag of the command).
type Target struct {
	ST, MN, PW string
	Version    Version
}

// NewCommand returns a host command to t: a new QN from now, the Flag of t's edition with
// A set (the field machine answers 9011, then 9012), and cp.
func NewCommand(t Target, cn, cp string, now time.Time, loc *time.Location) Packet {
	return Packet{QN: NewQN(now, loc), ST: t.ST, CN: cn, PW: t.PW, MN: t.MN, Flag: NewFlag(t.Version, true, false), CP: cp}
}

// SetRtdInterval returns the command (1062) that sets the real-time data interval in
// seconds (the standard's own example sends RtdInterval=30).
func SetRtdInterval(t Target, seconds int, now time.Time, loc *time.Location) (Packet, error) {
	if seconds <= 0 || seconds > 9999 {
		return Packet{}, errorf(ReasonBadValue, "RtdInterval "+strconv.Itoa(seconds)+" is not 1–9999 seconds")
	}
	return NewCommand(t, CNSetRtdInterval, "RtdInterval="+strconv.Itoa(seconds), now, loc), nil
}

// SetMinInterval returns the command (1064) that sets the minute data interval in minutes.
func SetMinInterval(t Target, minutes int, now time.Time, loc *time.Location) (Packet, error) {
	if minutes <= 0 || minutes > 60 {
		return Packet{}, errorf(ReasonBadValue, "MinInterval "+strconv.Itoa(minutes)+" is not 1–60 minutes")
	}
	return NewCommand(t, CNSetMinInterval, "MinInterval="+strconv.Itoa(minutes), now, loc), nil
}

// RetainSample returns the command (3015, 超标留样) that has the sampler retain a sample. Its
// CP is empty, as in public implementations of both sides; the field machine answers 9011,
// uploads DataTime and the bottle number (VaseNo) with the same QN, then 9012.
func RetainSample(t Target, now time.Time, loc *time.Location) Packet {
	return NewCommand(t, CNRetainSample, "", now, loc)
}

// SetClock returns the command (1012) that sets the field machine's clock to now, the
// host's time: SystemTime=yyyyMMddHHmmss in loc (the stations' local time, Asia/Shanghai).
// It answers 9011, then 9012.
func SetClock(t Target, now time.Time, loc *time.Location) Packet {
	return NewCommand(t, CNSetTime, "SystemTime="+FormatTime(now, loc), now, loc)
}

// QueryInfo returns the command (3020, 提取现场机信息) that asks the field machine for the
// information infoID (i1xxxx: i11xxx logs, i12xxx state, i13xxx parameters) of the instrument
// measuring polID; polID "" asks the data logger itself. It answers 9011, the 3020 upload
// (ParseInfo) under the same QN, then 9012. HJ 212-2025 has 3020 SM4-encrypted
// (MustEncrypt).
func QueryInfo(t Target, polID, infoID string, now time.Time, loc *time.Location) (Packet, error) {
	if polID != "" && !ValidPolID(polID) {
		return Packet{}, errorf(ReasonBadValue, "PolId "+quote(polID)+" is not a pollutant code (letters and digits, at most 8)")
	}
	if !ValidInfoID(infoID) {
		return Packet{}, errorf(ReasonBadValue, "InfoId "+quote(infoID)+" is not an information code (i and 5 digits, e.g. i12001)")
	}
	cp := "InfoId=" + infoID
	if polID != "" {
		cp = "PolId=" + polID + ";" + cp
	}
	return NewCommand(t, CNGetInfo, cp, now, loc), nil
}

// ValidPolID reports whether s can be a pollutant code of a CP (w01018, a21026, …).
func ValidPolID(s string) bool { return validCode(s) }

// ValidInfoID reports whether s is an information code: "i" and five digits.
func ValidInfoID(s string) bool { return len(s) == 6 && s[0] == 'i' && allDigits(s[1:], 5, 5) }

// Info is what a field machine reported in a 3020 upload.
type Info struct {
	DataTime time.Time  // zero when the upload has none
	Items    []InfoItem // in the order sent
}

// InfoItem is one information value: <InfoId>-Info=<Value>, of the instrument PolID ("" for
// the data logger).
type InfoItem struct {
	PolID, InfoID, Value string
}

// ParseInfo reads the CP of a 3020 upload: DataTime, PolId (the instrument, once) and the
// <InfoId>-Info values ("DataTime=20260310120000;PolId=w01018;i12001-Info=1;i13004-Info=5.2").
// Keys that are none of these are refused, as is an upload without a value.
func ParseInfo(cp string, loc *time.Location) (Info, error) {
	fields, err := ParseCP(cp)
	if err != nil {
		return Info{}, err
	}
	var in Info
	pol := ""
	for _, f := range fields {
		switch {
		case f.Key == "DataTime":
			t, err := ParseTime(f.Value, loc)
			if err != nil {
				return Info{}, err
			}
			in.DataTime = t
		case f.Key == "PolId":
			if !ValidPolID(f.Value) {
				return Info{}, errorf(ReasonBadValue, "PolId "+quote(f.Value)+" is not a pollutant code")
			}
			pol = f.Value
		case strings.HasSuffix(f.Key, "-Info") && ValidInfoID(strings.TrimSuffix(f.Key, "-Info")):
			in.Items = append(in.Items, InfoItem{PolID: pol, InfoID: strings.TrimSuffix(f.Key, "-Info"), Value: f.Value})
		default:
			return Info{}, errorf(ReasonBadCP, "key "+quote(f.Key)+" is not DataTime, PolId or <InfoId>-Info of a 3020 upload")
		}
	}
	if len(in.Items) == 0 {
		return Info{}, errorf(ReasonBadCP, "3020 upload without an <InfoId>-Info value")
	}
	return in, nil
}

// InfoCP returns the CP of a 3020 upload (the field side; the simulator's loggers).
func InfoCP(in Info, loc *time.Location) string {
	var b strings.Builder
	if !in.DataTime.IsZero() {
		b.WriteString("DataTime=" + FormatTime(in.DataTime, loc))
	}
	pol := ""
	for _, it := range in.Items {
		if it.PolID != pol && it.PolID != "" {
			if b.Len() > 0 {
				b.WriteByte(';')
			}
			b.WriteString("PolId=" + it.PolID)
			pol = it.PolID
		}
		if b.Len() > 0 {
			b.WriteByte(';')
		}
		b.WriteString(it.InfoID + "-Info=" + it.Value)
	}
	return b.String()
}

// SetKey returns the command (1014) that gives the field machine its next SM4 key, next:
// "NewKey=<32 hex digits>;DataTime=<now>". HJ 212-2025 has 1014 encrypted (§6.4.4), and
// only whole 16-character groups are encrypted, the tail staying plaintext: the key sits
// in the first three groups, the plaintext tail is the end of DataTime. The caller sends
// it encrypted with the station's current key (EncodeEncryptedFor), never in plaintext.
// The field machine answers 9011 and 9012; from its 9012 ExeRtn=1 on it encrypts with the
// new key.
func SetKey(t Target, next SM4Key, now time.Time, loc *time.Location) (Packet, error) {
	if !next.Valid() {
		return Packet{}, errorf(ReasonSM4, "no next SM4 key to send")
	}
	cp := KeyNewKey + "=" + strings.ToUpper(hex.EncodeToString(next.raw[:])) + ";DataTime=" + FormatTime(now, loc)
	// The key ends at byte 39; the encrypted groups cover 48 of the 62 bytes.
	return NewCommand(t, CNSetKey, cp, now, loc), nil
}

// ParseSetKey reads the new key of a 1014 command's CP (the field side).
func ParseSetKey(cp string) (SM4Key, error) {
	fields, err := ParseCP(cp)
	if err != nil {
		return SM4Key{}, err
	}
	v, ok := Lookup(fields, KeyNewKey)
	if !ok {
		return SM4Key{}, errorf(ReasonBadCP, "1014 without "+KeyNewKey)
	}
	k, err := ParseSM4Key(v)
	if err != nil {
		return SM4Key{}, errorf(ReasonSM4, err.Error())
	}
	return k, nil
}

// GetTime returns the command (1011) that asks the field machine's time; it answers 9011,
// a 1011 with SystemTime and the same QN, then 9012.
func GetTime(t Target, now time.Time, loc *time.Location) Packet {
	return NewCommand(t, CNGetTime, "", now, loc)
}

// CommandState is where a host command stands.
type CommandState uint8

// States of a host command. Done, Rejected, Failed, TimedOut and Expired are final.
const (
	CommandSent     CommandState = iota + 1 // written, no request response (9011) yet
	CommandAccepted                         // 9011 QnRtn=1: the field machine will execute it
	CommandDone                             // 9012 ExeRtn=1: executed
	CommandRejected                         // 9011 with another QnRtn
	CommandFailed                           // 9012 with another ExeRtn
	CommandTimedOut                         // no 9011 after every attempt, or no 9012 in time
	CommandExpired                          // never sent: the station did not connect in time
)

var commandStateNames = [...]string{CommandSent: "sent", CommandAccepted: "accepted", CommandDone: "done",
	CommandRejected: "rejected", CommandFailed: "failed", CommandTimedOut: "timed_out", CommandExpired: "expired"}

// String returns the state's stable name (sent, accepted, done, rejected, failed,
// timed_out, expired).
func (s CommandState) String() string {
	if int(s) < len(commandStateNames) && commandStateNames[s] != "" {
		return commandStateNames[s]
	}
	return "state(" + itoa(int(s)) + ")"
}

// Final reports whether nothing more will happen to the command.
func (s CommandState) Final() bool { return s >= CommandDone }

// qnRtnMeanings and exeRtnMeanings are the standard's result codes (facts.md §3.5).
var (
	qnRtnMeanings = map[string]string{"1": "ready to execute", "2": "request rejected", "3": "PW error", "4": "MN error",
		"5": "ST error", "6": "Flag error", "7": "QN error", "8": "CN error", "9": "CRC error", "100": "unknown error"}
	exeRtnMeanings = map[string]string{"1": "executed", "2": "failed, reason unknown", "3": "command or condition error",
		"4": "communication timeout", "5": "system busy", "6": "system fault", "100": "no data"}
)

// Command is one host command and what came back for it.
type Command struct {
	Packet   Packet
	State    CommandState
	Attempts int    // times written (the first send and the resends)
	QnRtn    string // from the 9011
	ExeRtn   string // from the 9012
	Detail   string // the meaning of the last code, or why it timed out
	// Replies are the other packets the field machine sent with the command's QN (the time
	// upload answering a 1011, …).
	Replies []Packet
	// RepliedAt[i] is when Replies[i] arrived (a clock's offset is taken then).
	RepliedAt []time.Time
	SentAt    time.Time // first written
	At        time.Time // last change
	last      time.Time // last written
}

// Tracker follows the host commands of one connection through the field machine's request
// response (9011, QnRtn) and execution result (9012, ExeRtn), matched by QN and MN: a
// command unanswered for OverTime is written again with the same QN, up to ReCount resends,
// then times out; an accepted one times out without a 9012 within ExecTimeout. Not safe
// for concurrent use (one per connection, like the Reassembler).
type Tracker struct {
	// OverTime is how long to wait for a 9011 before resending (default 5s, the default
	// field machines use for OverTime, CN 1000).
	OverTime time.Duration
	// ReCount is how many times a command is resent (0: the default 3, the field machines'
	// default ReCount; negative: never).
	ReCount int
	// ExecTimeout is how long an accepted command may take to execute (default 10 minutes:
	// retaining a sample takes a pump run).
	ExecTimeout time.Duration
	cmds        map[string]*Command // by QN
}

func (t *Tracker) defaults() (over time.Duration, recount int, exec time.Duration) {
	over, recount, exec = t.OverTime, t.ReCount, t.ExecTimeout
	if over <= 0 {
		over = 5 * time.Second
	}
	if recount < 0 {
		recount = 0
	} else if recount == 0 {
		recount = 3
	}
	if exec <= 0 {
		exec = 10 * time.Minute
	}
	return over, recount, exec
}

// Sent records that p was written now and returns its Command. p must ask for an answer
// and have a QN; a QN already tracked is refused.
func (t *Tracker) Sent(p Packet, now time.Time) (*Command, error) {
	if p.QN == "" || !p.WantsAck() {
		return nil, errorf(ReasonBadField, "a tracked command needs a QN and the Flag's A bit")
	}
	if t.cmds == nil {
		t.cmds = map[string]*Command{}
	}
	if _, dup := t.cmds[p.QN]; dup {
		return nil, errorf(ReasonBadField, "command QN="+p.QN+" is already in progress")
	}
	c := &Command{Packet: p, State: CommandSent, Attempts: 1, SentAt: now, At: now, last: now}
	t.cmds[p.QN] = c
	return c, nil
}

// Handle takes a packet from the field machine. When it belongs to a command in progress
// (same QN and MN) it updates the command and returns it with true; a command that became
// final is forgotten. Other packets return false.
func (t *Tracker) Handle(p Packet, now time.Time) (*Command, bool) {
	c, ok := t.cmds[p.QN]
	if !ok || c.Packet.MN != p.MN {
		return nil, false
	}
	switch p.CN {
	case CNRequestResponse:
		code := cpValue(p.CP, "QnRtn")
		c.QnRtn = code
		if code == QnRtnReady {
			if c.State == CommandSent {
				c.State = CommandAccepted
			}
		} else {
			c.State = CommandRejected
		}
		c.Detail = "QnRtn=" + code + " (" + meaning(qnRtnMeanings, code) + ")"
	case CNExecutionResult:
		code := cpValue(p.CP, "ExeRtn")
		c.ExeRtn = code
		c.State = CommandFailed
		if code == "1" {
			c.State = CommandDone
		}
		c.Detail = "ExeRtn=" + code + " (" + meaning(exeRtnMeanings, code) + ")"
	default:
		c.Replies = append(c.Replies, p)
		c.RepliedAt = append(c.RepliedAt, now)
	}
	c.At = now
	if c.State.Final() {
		delete(t.cmds, p.QN)
	}
	return c, true
}

// Due returns the commands to write again now (unanswered for OverTime, attempts left) and
// the commands that timed out (forgotten), each sorted by QN.
func (t *Tracker) Due(now time.Time) (resend []*Command, timedOut []*Command) {
	over, recount, exec := t.defaults()
	for qn, c := range t.cmds {
		switch c.State {
		case CommandSent:
			if now.Sub(c.last) < over {
				continue
			}
			if c.Attempts <= recount {
				c.Attempts++
				c.last, c.At = now, now
				resend = append(resend, c)
				continue
			}
			c.Detail = "no request response (9011) after " + strconv.Itoa(c.Attempts) + " attempts " + over.String() + " apart"
		case CommandAccepted:
			if now.Sub(c.At) < exec {
				continue
			}
			c.Detail = "accepted (QnRtn=1) but no execution result (9012) within " + exec.String()
		default:
			continue
		}
		c.State, c.At = CommandTimedOut, now
		timedOut = append(timedOut, c)
		delete(t.cmds, qn)
	}
	byQN := func(s []*Command) {
		sort.Slice(s, func(i, j int) bool { return s[i].Packet.QN < s[j].Packet.QN })
	}
	byQN(resend)
	byQN(timedOut)
	return resend, timedOut
}

// Pending returns the number of commands in progress.
func (t *Tracker) Pending() int { return len(t.cmds) }

// Abandon ends every command in progress as timed out with detail (the connection closed)
// and returns them, sorted by QN.
func (t *Tracker) Abandon(detail string, now time.Time) []*Command {
	out := make([]*Command, 0, len(t.cmds))
	for qn, c := range t.cmds {
		c.State, c.Detail, c.At = CommandTimedOut, detail, now
		out = append(out, c)
		delete(t.cmds, qn)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Packet.QN < out[j].Packet.QN })
	return out
}

// cpValue returns the value of key in a CP, or "".
func cpValue(cp, key string) string {
	fields, err := ParseCP(cp)
	if err != nil {
		return ""
	}
	for _, f := range fields {
		if f.Key == key {
			return f.Value
		}
	}
	return ""
}

func meaning(m map[string]string, code string) string {
	if s, ok := m[code]; ok {
		return s
	}
	if code == "" {
		return "missing"
	}
	return "not a code of the standard"
}
