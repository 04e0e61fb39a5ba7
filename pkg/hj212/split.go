package hj212

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// Split cuts a packet whose frame would exceed maxData bytes of data segment into packets
// of a split message: each carries PNUM, PNO and the Flag's D bit, the same QN, and whole
// CP groups; a leading DataTime group is repeated in every packet, so that each packet
// still says when its values were measured. A packet that fits is returned as it is.
// maxData ≤ 0 means MaxDataLen.
func Split(p Packet, maxData int) ([]Packet, error) {
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

// Reassembler joins the packets of split messages (Flag D set, PNUM/PNO) back into one
// packet. Sets are keyed by MN, QN and CN. Memory is bounded: at most MaxSets sets of at most
// MaxBytes bytes of CP each; a set that does not complete within Timeout is dropped and
// reported by Expire. Not safe for concurrent use: the gateway keeps one per connection.
type Reassembler struct {
	MaxSets  int           // default 16
	MaxBytes int           // default 1 MiB of CP per set
	Timeout  time.Duration // default 2 minutes
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
		delete(r.sets, k)
		return Packet{}, false, errorf(ReasonSplit, "PNUM changed from "+strconv.Itoa(f.PNUM)+" to "+strconv.Itoa(p.PNUM)+" within message QN="+p.QN)
	case p.ST != f.ST || p.PW != f.PW || p.Version() != f.Version():
		delete(r.sets, k)
		return Packet{}, false, errorf(ReasonSplit, "ST, PW or version changed within message QN="+p.QN)
	}
	if old, dup := s.parts[p.PNO]; dup {
		s.bytes -= len(old) // a resent packet replaces the first copy
	}
	s.parts[p.PNO] = p.CP
	s.bytes += len(p.CP)
	s.ack = s.ack || p.WantsAck()
	if s.bytes > maxBytes {
		delete(r.sets, k)
		return Packet{}, false, errorf(ReasonSplit, "split message QN="+p.QN+" exceeds "+strconv.Itoa(maxBytes)+" bytes")
	}
	if len(s.parts) < s.first.PNUM {
		return Packet{}, false, nil
	}
	delete(r.sets, k)
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
			delete(r.sets, k)
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
		delete(r.sets, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].First.QN < out[j].First.QN })
	return out
}

// Pending returns the number of sets in progress.
func (r *Reassembler) Pending() int { return len(r.sets) }
