package gateway

import (
	"container/list"
	"sync"
	"time"
)

// seenCache remembers keys (MN + QN of stored frames) for a window, per station: each
// station's keys are bounded on their own (perStation), so that one noisy station cannot
// evict the others' (review finding L12); the total is bounded too (max), and when it is
// reached the station holding the most keys loses its oldest. Only authenticated stations
// (MNs of sites.yaml) are remembered, so the number of stations is bounded by the network.
// Safe for concurrent use.
type seenCache struct {
	mu         sync.Mutex
	max        int
	perStation int
	window     time.Duration
	total      int
	stations   map[string]*stationSeen
}

// stationSeen is one station's keys, newest first.
type stationSeen struct {
	m map[string]*list.Element
	l *list.List
}

type seenEntry struct {
	key string
	at  time.Time
}

func newSeenCache(maxEntries, perStation int, window time.Duration) *seenCache {
	return &seenCache{max: maxEntries, perStation: perStation, window: window, stations: map[string]*stationSeen{}}
}

// Seen reports whether station's key was added within the window before now.
func (c *seenCache) Seen(station, key string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.stations[station]
	if st == nil {
		return false
	}
	e, ok := st.m[key]
	if !ok {
		return false
	}
	if now.Sub(e.Value.(*seenEntry).at) > c.window {
		c.evict(station, st, e)
		return false
	}
	return true
}

// Add remembers station's key as stored at now.
func (c *seenCache) Add(station, key string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.stations[station]
	if st == nil {
		st = &stationSeen{m: map[string]*list.Element{}, l: list.New()}
		c.stations[station] = st
	}
	if e, ok := st.m[key]; ok {
		e.Value.(*seenEntry).at = now
		st.l.MoveToFront(e)
		return
	}
	st.m[key] = st.l.PushFront(&seenEntry{key: key, at: now})
	c.total++
	for st.l.Len() > c.perStation {
		c.evict(station, st, st.l.Back())
	}
	// Drop what fell out of the window, oldest first, so memory follows the traffic.
	for e := st.l.Back(); e != nil && now.Sub(e.Value.(*seenEntry).at) > c.window; e = st.l.Back() {
		c.evict(station, st, e)
	}
	for c.total > c.max {
		name, big := c.largest()
		c.evict(name, big, big.l.Back())
	}
}

// largest returns the station holding the most keys (the scan is over stations, only
// when the total bound is reached).
func (c *seenCache) largest() (string, *stationSeen) {
	var name string
	var big *stationSeen
	for n, st := range c.stations {
		if big == nil || st.l.Len() > big.l.Len() {
			name, big = n, st
		}
	}
	return name, big
}

func (c *seenCache) evict(station string, st *stationSeen, e *list.Element) {
	st.l.Remove(e)
	delete(st.m, e.Value.(*seenEntry).key)
	c.total--
	if st.l.Len() == 0 {
		delete(c.stations, station)
	}
}

// Len returns the number of keys remembered.
func (c *seenCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// LenOf returns the number of keys remembered for one station.
func (c *seenCache) LenOf(station string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.stations[station]; st != nil {
		return st.l.Len()
	}
	return 0
}
