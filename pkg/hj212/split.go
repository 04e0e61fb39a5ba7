package hj212

import (
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// MaxSegment2025 is the longest data segment of one HJ 212-2025 packet: a longer one must
// be split (HJ 212-2025 §8.1.2).
const MaxSegment2025 = 1024

// Split cuts a packet whose frame would exceed maxData bytes of data segment into packets
// of a split message: each carries PNUM, PNO and the Flag's D bit, the same QN, and whole
// CP groups; a leading DataTime group is repeated in every packet, so that each packet
// still says when its values were measured. A packet that fits is returned as it is.
// maxData ≤ 0 means the edition's limit: MaxSegment2025 for an HJ 212-2025 packet,
// MaxDataLen (what the length field can say) for the others.
func Split(p Packet, maxData int) ([]Packet, error) {
	if maxData <= 0 && p.Version() == V2025 {
		maxData = MaxSegment2025
	}
	if maxData <= 0 || maxData > MaxDataLen {
		maxData = MaxDataLen
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if len(p.AppendSegment(nil)) <= maxData {
		return []Packet{p}, nil
	}
	if p.OmitFlag {
		return nil, errorf(ReasonSplit, "a packet without Flag cannot be split")
	}
	if p.QN == "" {
		return nil, errorf(ReasonSplit, "a split message needs a QN")
	}
	groups := strings.Split(p.CP, ";")
	var head string
	if strings.HasPrefix(groups[0], "DataTime=") {
		head, groups = groups[0], groups[1:]
	}
	base := p
	base.Flag |= FlagSplit
	base.PNUM, base.PNO, base.CP = 9999, 9999, head
	overhead := len(base.AppendSegment(nil)) // the segment with only the head group, widest PNUM/PNO
	var cps []string
	var cur strings.Builder
	extra := 0 // bytes the current packet has beyond overhead
	for _, g := range groups {
		need := len(g)
		if cur.Len() > 0 || head != "" {
			need++ // the ';' before it
		}
		if cur.Len() > 0 && overhead+extra+need > maxData {
			cps = append(cps, cur.String())
			cur.Reset()
			extra, need = 0, len(g)
			if head != "" {
				need++
			}
		}
		if overhead+extra+need > maxData {
			return nil, errorf(ReasonSplit, "group "+quote(g)+" does not fit in "+strconv.Itoa(maxData)+" bytes")
		}
		if cur.Len() > 0 {
			cur.WriteByte(';')
		}
		cur.WriteString(g)
		extra += need
	}
	if cur.Len() > 0 || len(cps) == 0 {
		cps = append(cps, cur.String())
	}
	if len(cps) > 9999 {
		return nil, errorf(ReasonSplit, "more than 9999 packets")
	}
	out := make([]Packet, len(cps))
	for i, c := range cps {
		q := base
		q.PNUM, q.PNO = len(cps), i+1
		switch {
		case head == "":
			q.CP = c
		case c == "":
			q.CP = head
		default:
			q.CP = head + ";" + c
		}
		out[i] = q
	}
	return out, nil
}

// SplitBudget bounds the bytes of CP that several Reassemblers hold together (the gateway
// shares one between all its connections). Safe for concurrent use.
type SplitBudget struct {
	max  int64
	used atomic.Int64
}

// NewSplitBudget returns a budget of maxBytes.
func NewSplitBudget(maxBytes int64) *SplitBudget { return &SplitBudget{max: maxBytes} }

// Used returns the bytes held now.
func (b *SplitBudget) Used() int64 { return b.used.Load() }

// Max returns the budget.
func (b *SplitBudget) Max() int64 { return b.max }

func (b *SplitBudget) take(n int64) bool {
	for {
		u := b.used.Load()
		if u+n > b.max {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

func (b *SplitBudget) give(n int64) { b.used.Add(-n) }

// Reassembler joins the packets of split messages (Flag D set, PNUM/PNO) back into one
// packet. Sets are keyed by MN, QN and CN. Memory is bounded: at most MaxSets sets of at most
// MaxBytes bytes of CP each, and, when Budget is set, no more than it holds across every
// Reassembler sharing it; a set that does not complete within Timeout is dropped and
// reported by Expire. Not safe for concurrent use: the gateway keeps one per connection,
// and calls Drain (or Reset) when the connection ends, which returns its bytes to Budget.
type Reassembler struct {
	MaxSets  int           // default 16
	MaxBytes int           // default 1 MiB of CP per set
	Timeout  time.Duration // default 2 minutes
	Budget   *SplitBudget  // nil: no bound across Reassemblers
	sets     map[setKey]*partialSet
}

type setKey struct{ mn, qn, cn string }

type partialSet struct {
	first   Packet // the first packet that arrived, as the template of the joined one
	started time.Time
	parts   map[int]string // PNO → CP
	bytes   int
	ack     bool
}

// Incomplete is a split message given up: its first packet and how many of its packets
// arrived.
type Incomplete struct {
	First Packet
	Have  int
	Want  int
}

// Add adds one packet. When it completes its set, Add returns the joined packet (PNUM and
// PNO zero, D cleared, A set when any packet asked for an answer) and true. A packet that
// contradicts its set (another PNUM, ST, PW or version; a different DataTime) or would make
// it too large is refused with ReasonSplit, and the set is dropped.
func (r *Reassembler) Add(p Packet, now time.Time) (Packet, bool, error) {
	if r.sets == nil {
		r.sets = map[setKey]*partialSet{}
	}
	maxSets, maxBytes := r.MaxSets, r.MaxBytes
	if maxSets <= 0 {
		maxSets = 16
	}
	if maxBytes <= 0 {
		maxBytes = 1 << 20
	}
	if p.PNUM <= 0 || p.PNO <= 0 || p.PNO > p.PNUM {
		return Packet{}, false, errorf(ReasonSplit, "PNUM/PNO missing or PNO > PNUM")
	}
	k := setKey{p.MN, p.QN, p.CN}
	s, ok := r.sets[k]
	if !ok {
		if len(r.sets) >= maxSets {
			return Packet{}, false, errorf(ReasonSplit, "more than "+strconv.Itoa(maxSets)+" split messages in progress")
		}
		s = &partialSet{first: p, started: now, parts: map[int]string{}}
		r.sets[k] = s
	}
	f := &s.first
	switch {
	case p.PNUM != f.PNUM:
		r.drop(k, s)
		return Packet{}, false, errorf(ReasonSplit, "PNUM changed from "+strconv.Itoa(f.PNUM)+" to "+strconv.Itoa(p.PNUM)+" within message QN="+p.QN)
	case p.ST != f.ST || p.PW != f.PW || p.Version() != f.Version() || p.RF != f.RF:
		r.drop(k, s)
		return Packet{}, false, errorf(ReasonSplit, "ST, PW, version or RF changed within message QN="+p.QN)
	}
	delta := len(p.CP)
	if old, dup := s.parts[p.PNO]; dup {
		delta -= len(old) // a resent packet replaces the first copy
	}
	if r.Budget != nil && delta > 0 && !r.Budget.take(int64(delta)) {
		r.drop(k, s)
		return Packet{}, false, errorf(ReasonSplit, "split message QN="+p.QN+" refused: split messages in progress on all connections hold "+
			strconv.FormatInt(r.Budget.Used(), 10)+" of "+strconv.FormatInt(r.Budget.max, 10)+" bytes")
	}
	if r.Budget != nil && delta < 0 {
		r.Budget.give(int64(-delta))
	}
	s.parts[p.PNO] = p.CP
	s.bytes += delta
	s.ack = s.ack || p.WantsAck()
	if s.bytes > maxBytes {
		r.drop(k, s)
		return Packet{}, false, errorf(ReasonSplit, "split message QN="+p.QN+" exceeds "+strconv.Itoa(maxBytes)+" bytes")
	}
	if len(s.parts) < s.first.PNUM {
		return Packet{}, false, nil
	}
	r.drop(k, s)
	joined, err := joinParts(s)
	if err != nil {
		return Packet{}, false, err
	}
	return joined, true, nil
}

// joinParts joins the CP of each packet in PNO order with ';', dropping the DataTime group
// that packets after the first repeat (it must be the same).
func joinParts(s *partialSet) (Packet, error) {
	var b strings.Builder
	b.Grow(s.bytes + len(s.parts))
	head := ""
	for pno := 1; pno <= s.first.PNUM; pno++ {
		cp := s.parts[pno]
		if pno == 1 {
			if g, _, _ := strings.Cut(cp, ";"); strings.HasPrefix(g, "DataTime=") {
				head = g
			}
		} else if g, rest, _ := strings.Cut(cp, ";"); strings.HasPrefix(g, "DataTime=") {
			if g != head {
				return Packet{}, errorf(ReasonSplit, "packet "+strconv.Itoa(pno)+" has "+quote(g)+", packet 1 "+quote(head))
			}
			cp = rest
		}
		if cp == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(';')
		}
		b.WriteString(cp)
	}
	p := s.first
	p.PNUM, p.PNO, p.CP = 0, 0, b.String()
	p.Flag &^= FlagSplit
	if s.ack {
		p.Flag |= FlagAck
	}
	return p, nil
}

// Expire drops and returns the sets started more than Timeout before now.
func (r *Reassembler) Expire(now time.Time) []Incomplete {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	var out []Incomplete
	for k, s := range r.sets {
		if now.Sub(s.started) > timeout {
			out = append(out, Incomplete{First: s.first, Have: len(s.parts), Want: s.first.PNUM})
			r.drop(k, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].First.QN < out[j].First.QN })
	return out
}

// Drain drops and returns every set in progress (the connection is closing).
func (r *Reassembler) Drain() []Incomplete {
	var out []Incomplete
	for k, s := range r.sets {
		out = append(out, Incomplete{First: s.first, Have: len(s.parts), Want: s.first.PNUM})
		r.drop(k, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].First.QN < out[j].First.QN })
	return out
}

// Reset drops every set in progress without reporting them, returning their bytes to
// Budget.
func (r *Reassembler) Reset() {
	for k, s := range r.sets {
		r.drop(k, s)
	}
}

// drop forgets a set and returns its bytes to the budget.
func (r *Reassembler) drop(k setKey, s *partialSet) {
	delete(r.sets, k)
	if r.Budget != nil {
		r.Budget.give(int64(s.bytes))
	}
}

// Pending returns the number of sets in progress.
func (r *Reassembler) Pending() int { return len(r.sets) }
