package sharding

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Encoding of an Assignment, as stored in etcd and read by every node.
//
// Version 1, all integers unsigned; uvarint is encoding/binary's varint:
//
//	magic     4 bytes  "ISA" then the version byte, 0x01
//	epoch     uvarint
//	members   uvarint  count, then per member in ascending ID order:
//	            uvarint length, ID bytes, uvarint capacity (1..MaxCapacity)
//	shards    uvarint  count (0..MaxShards)
//	width     1 byte   bytes per owner: 1 if members ≤ 256, else 2
//	owners    shards × width bytes, little-endian member indexes
//	checksum  4 bytes  CRC-32C (Castagnoli) of everything before, little-endian
//
// 4096 shards on 3 members take about 4.1 KiB. A reader rejects any other
// version with ErrVersion, so a format change bumps the version byte and
// readers learn the new one before writers use it.

const (
	encodingVersion = 1
	magic           = "ISA"
)

// MarshalBinary encodes a in the version 1 format. It never fails.
func (a Assignment) MarshalBinary() ([]byte, error) {
	return a.AppendBinary(nil)
}

// AppendBinary appends the version 1 encoding of a to b. It never fails.
func (a Assignment) AppendBinary(b []byte) ([]byte, error) {
	start := len(b)
	b = append(b, magic...)
	b = append(b, encodingVersion)
	b = binary.AppendUvarint(b, a.epoch)
	b = binary.AppendUvarint(b, uint64(len(a.members)))
	for _, m := range a.members {
		b = binary.AppendUvarint(b, uint64(len(m.ID)))
		b = append(b, m.ID...)
		b = binary.AppendUvarint(b, uint64(m.Capacity))
	}
	b = binary.AppendUvarint(b, uint64(len(a.owners)))
	w := ownerWidth(len(a.members))
	b = append(b, byte(w))
	for _, o := range a.owners {
		if w == 1 {
			b = append(b, byte(o))
		} else {
			b = binary.LittleEndian.AppendUint16(b, o)
		}
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli())), nil
}

// UnmarshalBinary decodes data into a, checking every invariant of
// Assignment. Errors wrap ErrFormat or ErrVersion; on error a is unchanged.
func (a *Assignment) UnmarshalBinary(data []byte) error {
	if len(data) < len(magic)+1+4 || string(data[:len(magic)]) != magic {
		return fmt.Errorf("%w: bad magic or too short", ErrFormat)
	}
	if v := data[len(magic)]; v != encodingVersion {
		return fmt.Errorf("%w: version %d, this build reads %d", ErrVersion, v, encodingVersion)
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.Checksum(body, castagnoli()) != sum {
		return fmt.Errorf("%w: checksum mismatch", ErrFormat)
	}
	d := decoder{b: body[len(magic)+1:]}
	var out Assignment
	out.epoch = d.uvarint()
	n := d.count(MaxMembers)
	out.members = make([]Member, 0, n)
	for range n {
		id := string(d.bytes(d.count(MaxIDLen)))
		m := Member{ID: id, Capacity: uint32(d.count(MaxCapacity))}
		if d.err == nil {
			if err := checkMember(m); err != nil || m.Capacity == 0 {
				return fmt.Errorf("%w: member %d: invalid", ErrFormat, len(out.members))
			}
			if k := len(out.members); k > 0 && out.members[k-1].ID >= id {
				return fmt.Errorf("%w: members not in strictly ascending order", ErrFormat)
			}
		}
		out.members = append(out.members, m)
	}
	shards := d.count(MaxShards)
	w := int(d.byte())
	raw := d.bytes(shards * w)
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrFormat, len(d.b))
	}
	if w != ownerWidth(n) {
		return fmt.Errorf("%w: owner width %d for %d members", ErrFormat, w, n)
	}
	out.owners = make([]uint16, shards)
	for s := range out.owners {
		o := uint16(raw[s])
		if w == 2 {
			o = binary.LittleEndian.Uint16(raw[2*s:])
		}
		if int(o) >= n {
			return fmt.Errorf("%w: shard %d owner %d of %d members", ErrFormat, s, o, n)
		}
		out.owners[s] = o
	}
	*a = out
	return nil
}

// ownerWidth is the bytes per owner index for n members.
func ownerWidth(n int) int {
	if n <= 1<<8 {
		return 1
	}
	return 2
}

// castagnoli returns the CRC-32C table (crc32 caches it internally).
func castagnoli() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) }

// decoder reads the version 1 body; the first error sticks and later reads
// return zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: truncated or invalid %s", ErrFormat, what)
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a uvarint that must be at most limit.
func (d *decoder) count(limit int) int {
	v := d.uvarint()
	if v > uint64(limit) {
		d.fail("count")
		return 0
	}
	return int(v)
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail("byte")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) bytes(n int) []byte {
	if len(d.b) < n {
		d.fail("bytes")
		return nil
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}
