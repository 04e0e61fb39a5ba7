package gateway

import (
	"container/list"
	"sync"
	"time"
)

// seenCache remembers keys (MN + QN of stored frames) for a window, bounded in entries: the
// oldest are forgotten first. Safe for concurrent use.
type seenCache struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	m      map[string]*list.Element
	l      *list.List // front: newest
}

type seenEntry struct {
	key string
	at  time.Time
}

func newSeenCache(maxEntries int, window time.Duration) *seenCache {
	return &seenCache{max: maxEntries, window: window, m: map[string]*list.Element{}, l: list.New()}
}

// Seen reports whether key was added within the window before now.
func (c *seenCache) Seen(key string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok {
		return false
	}
	if now.Sub(e.Value.(*seenEntry).at) > c.window {
		c.l.Remove(e)
		delete(c.m, key)
		return false
	}
	return true
}

// Add remembers key as stored at now.
func (c *seenCache) Add(key string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok {
		e.Value.(*seenEntry).at = now
		c.l.MoveToFront(e)
		return
	}
	c.m[key] = c.l.PushFront(&seenEntry{key: key, at: now})
	for c.l.Len() > c.max {
		c.evict(c.l.Back())
	}
	// Drop what fell out of the window, oldest first, so memory follows the traffic.
	for e := c.l.Back(); e != nil && now.Sub(e.Value.(*seenEntry).at) > c.window; e = c.l.Back() {
		c.evict(e)
	}
}

func (c *seenCache) evict(e *list.Element) {
	c.l.Remove(e)
	delete(c.m, e.Value.(*seenEntry).key)
}

// Len returns the number of keys remembered.
func (c *seenCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.l.Len()
}
