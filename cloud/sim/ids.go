package sim

import (
	"encoding/hex"
	"math/rand/v2"
	"sync"
)

// uuid is kept as 16 bytes rather than a 36-byte string: with a million
// servers and several images each the difference is hundreds of megabytes.
type uuid [16]byte

// String formats u as a canonical 8-4-4-4-12 UUID.
func (u uuid) String() string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], u[10:16])
	return string(b[:])
}

// hex32 formats u as 32 hex digits, the shape of Keystone ids.
func (u uuid) hex32() string { return hex.EncodeToString(u[:]) }

// parseUUID accepts the canonical form and the 32-digit form.
func parseUUID(s string) (uuid, bool) {
	var u uuid
	switch len(s) {
	case 36:
		if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return u, false
		}
		s = s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	case 32:
	default:
		return u, false
	}
	if _, err := hex.Decode(u[:], []byte(s)); err != nil {
		return u, false
	}
	return u, true
}

// random is the seeded source of every random choice: ids, fault draws,
// save jitter. One source under a lock keeps a run reproducible for the same
// sequence of requests.
type random struct {
	mu  sync.Mutex
	rng *rand.Rand
}

func newRandom(seed int64) *random {
	return &random{rng: rand.New(rand.NewPCG(uint64(seed), 0x696d677363686564))}
}

func (r *random) uuid() uuid {
	r.mu.Lock()
	a, b := r.rng.Uint64(), r.rng.Uint64()
	r.mu.Unlock()
	var u uuid
	for i := range 8 {
		u[i] = byte(a >> (8 * i))
		u[8+i] = byte(b >> (8 * i))
	}
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return u
}

// hit reports whether an event of probability p happens on this draw.
func (r *random) hit(p float64) bool {
	if p <= 0 {
		return false
	}
	if p >= 1 {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rng.Float64() < p
}

// float returns a uniform draw in [0, 1).
func (r *random) float() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rng.Float64()
}

// intn returns a uniform draw in [0, n).
func (r *random) intn(n int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rng.IntN(n)
}
