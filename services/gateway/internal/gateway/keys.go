package gateway

import (
	"sync"
	"time"

	"github.com/riverwatch/riverwatch/pkg/hj212"
)

// stationKeys follows the SM4 key rotations of the stations (HJ 212-2025 §6.4.3, CN 1014;
// docs/protocol.md, Key rotation): sites.yaml holds a station's keys (sm4_keys, the current
// one first) and the key it is to rotate to (sm4_next_key). Until the station takes the
// next key the gateway encrypts with its current key and decrypts with its keys and the
// next one (a station may have switched while the gateway was down); once it has — the
// logger answered a rotate_key 9012 ExeRtn=1, or a frame of it decrypted only with the next
// key — the gateway encrypts with the next key and decrypts with the old ones only for
// gateway.sm4_key_grace. The state is in memory: after a restart the next key is learnt
// again from the station's first encrypted frame.
type stationKeys struct {
	mu      sync.Mutex
	rotated map[string]time.Time // MN → when it took its next key
}

// rotatedAt returns when the station with mn took its next key.
func (k *stationKeys) rotatedAt(mn string) (time.Time, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	t, ok := k.rotated[mn]
	return t, ok
}

// rotate records that the station took its next key at now; it reports false when that
// was known already.
func (k *stationKeys) rotate(mn string, now time.Time) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.rotated[mn]; ok {
		return false
	}
	if k.rotated == nil {
		k.rotated = map[string]time.Time{}
	}
	k.rotated[mn] = now
	return true
}

// keysOf returns the key to encrypt host commands to the station with (unset: it has
// none) and the keys to decrypt its frames with, in the order they are tried.
func (g *Gateway) keysOf(mn string, now time.Time) (encrypt hj212.SM4Key, decrypt []hj212.SM4Key) {
	site, ok := g.net.SiteByMN(mn)
	if !ok || site.Station == nil {
		return hj212.SM4Key{}, nil
	}
	keys, next := site.Station.SM4Keys(), site.Station.SM4NextKey()
	if !next.Valid() {
		if len(keys) > 0 {
			encrypt = keys[0]
		}
		return encrypt, keys
	}
	at, rotated := g.keys.rotatedAt(mn)
	if !rotated {
		return keys[0], append(keys[:len(keys):len(keys)], next)
	}
	if now.Sub(at) < g.cfg.SM4KeyGrace {
		return next, append([]hj212.SM4Key{next}, keys...)
	}
	return next, []hj212.SM4Key{next}
}

// tookNextKey records that the station with mn uses its next key from now on (how: the
// 9012 of a rotate_key, or a frame encrypted with it).
func (g *Gateway) tookNextKey(mn, how string, now time.Time) {
	site, ok := g.net.SiteByMN(mn)
	if !ok || site.Station == nil || !site.Station.SM4NextKey().Valid() {
		return
	}
	if g.keys.rotate(mn, now) {
		g.m.keyRotations.WithLabelValues(site.ID, how).Inc()
		g.log.Info("station took its next SM4 key", "site", site.ID, "mn", mn, "how", how, "old_keys_until", now.Add(g.cfg.SM4KeyGrace))
	}
}

// encodeCommand encodes a host command to the station mn: SM4-encrypted with its key when
// HJ 212-2025 has the command encrypted (3020, 1014; §6.4.4) and the station has a key,
// with the CRC deviation its frames made.
func (g *Gateway) encodeCommand(p hj212.Packet, dev hj212.Deviation, now time.Time) ([]byte, error) {
	if hj212.MustEncrypt(p.CN) {
		if k, _ := g.keysOf(p.MN, now); k.Valid() {
			return hj212.EncodeEncryptedFor(p, k, dev)
		}
	}
	return hj212.EncodeFor(p, dev)
}
