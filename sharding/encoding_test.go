package sharding

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"testing"
)

func TestEncodingRoundTrips(t *testing.T) {
	many := make([]Member, 300) // more than 256: two-byte owners
	for i := range many {
		many[i] = Member{ID: fmt.Sprintf("n%03d", i), Capacity: uint32(1 + i%3)}
	}
	tests := []struct {
		name string
		a    Assignment
	}{
		{"the zero assignment round-trips", Assignment{}},
		{"one shard on one member round-trips", mustAssign(t, Config{Shards: 1}, nodes(1), Assignment{}, nil)},
		{"a large epoch round-trips", mustAssign(t, Config{Shards: 64}, nodes(3), Assignment{}, nil).WithEpoch(1 << 60)},
		{"4096 shards on 10 members round-trip", mustAssign(t, Config{Shards: 4096}, nodes(10), Assignment{}, nil)},
		{"300 members with capacities round-trip", mustAssign(t, Config{Shards: 16384}, many, Assignment{}, nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.a.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var got Assignment
			if err := got.UnmarshalBinary(b); err != nil {
				t.Fatalf("UnmarshalBinary: %v", err)
			}
			if !got.Equal(tt.a) {
				t.Errorf("decoded assignment differs from the encoded one")
			}
		})
	}
}

func TestEncodingMatchesTheDocumentedFormat(t *testing.T) {
	a := Assignment{epoch: 300, members: []Member{{ID: "a", Capacity: 1}, {ID: "bc", Capacity: 2}}, owners: []uint16{1, 0, 1}}
	body := []byte{
		'I', 'S', 'A', 1, // magic, version
		0xac, 0x02, // epoch 300
		2,         // members
		1, 'a', 1, // "a", capacity 1
		2, 'b', 'c', 2, // "bc", capacity 2
		3,       // shards
		1,       // owner width
		1, 0, 1, // owners
	}
	want := binary.LittleEndian.AppendUint32(body, crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)))
	got, _ := a.MarshalBinary()
	if string(got) != string(want) {
		t.Errorf("encoding\n got % x\nwant % x", got, want)
	}
	if len(mustEncode(t, mustAssign(t, Config{Shards: 4096}, nodes(3), Assignment{}, nil))) > 4200 {
		t.Errorf("4096 shards on 3 members should encode in about 4.1 KiB")
	}
}

func mustEncode(tb testing.TB, a Assignment) []byte {
	tb.Helper()
	b, err := a.MarshalBinary()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// reseal replaces the checksum of an encoding whose body was edited.
func reseal(b []byte) []byte {
	body := b[:len(b)-4]
	return binary.LittleEndian.AppendUint32(body, crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)))
}

func TestDecodingRejectsDamagedBytes(t *testing.T) {
	// Bytes: magic 0-3, epoch 4, member count 5, "a" 6-8, "b" 9-11, shards 12,
	// width 13, owners 14-16, checksum 17-20.
	good := mustEncode(t, Assignment{epoch: 7, members: []Member{{ID: "a", Capacity: 1}, {ID: "b", Capacity: 1}}, owners: []uint16{0, 1, 1}})
	edit := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"no bytes are malformed", nil, ErrFormat},
		{"a wrong magic is malformed", edit(func(b []byte) []byte { b[0] = 'X'; return reseal(b) }), ErrFormat},
		{"another version is unsupported", edit(func(b []byte) []byte { b[3] = 2; return reseal(b) }), ErrVersion},
		{"a flipped bit fails the checksum", edit(func(b []byte) []byte { b[8] ^= 1; return b }), ErrFormat},
		{"trailing bytes are malformed", edit(func(b []byte) []byte { return reseal(append(b[:len(b)-4], 0, 0, 0, 0, 0)) }), ErrFormat},
		{"members out of order are malformed", edit(func(b []byte) []byte { b[7], b[10] = 'b', 'a'; return reseal(b) }), ErrFormat},
		{"an owner beyond the members is malformed", edit(func(b []byte) []byte { b[len(b)-5] = 2; return reseal(b) }), ErrFormat},
		{"a zero capacity is malformed", edit(func(b []byte) []byte { b[8] = 0; return reseal(b) }), ErrFormat},
		{"a wrong owner width is malformed", edit(func(b []byte) []byte { b[len(b)-8] = 2; return reseal(b) }), ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustAssign(t, Config{Shards: 2}, nodes(1), Assignment{}, nil)
			before := a
			if err := a.UnmarshalBinary(tt.data); !errors.Is(err, tt.want) {
				t.Errorf("UnmarshalBinary error = %v, want %v", err, tt.want)
			}
			if !a.Equal(before) {
				t.Errorf("a failed decode changed the assignment")
			}
		})
	}
}

func TestDecodingRejectsEveryTruncation(t *testing.T) {
	b := mustEncode(t, mustAssign(t, Config{Shards: 100}, nodes(5), Assignment{}, nil))
	for n := range len(b) {
		var a Assignment
		if err := a.UnmarshalBinary(b[:n]); err == nil {
			t.Fatalf("decoding the first %d of %d bytes succeeded", n, len(b))
		}
	}
}

func TestDecodingRandomBytesNeverPanicsOrSucceedsWithBrokenInvariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(47, 53))
	good := mustEncode(t, mustAssign(t, Config{Shards: 50}, nodes(4), Assignment{}, nil))
	for range 2000 {
		b := append([]byte(nil), good...)
		for range 1 + rng.IntN(4) {
			b[4+rng.IntN(len(b)-8)] = byte(rng.Uint32())
		}
		var a Assignment
		if a.UnmarshalBinary(reseal(b)) != nil {
			continue
		}
		for s := range a.Shards() {
			if a.Owner(s) == "" {
				t.Fatalf("decoded shard %d has no owner", s)
			}
		}
	}
}
