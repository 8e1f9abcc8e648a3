package action

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"time"
)

// crockford is the alphabet of IDs: Crockford's base 32, which sorts as
// its values do.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewID returns a new action ID: "act_" and 26 characters holding 48 bits
// of milliseconds since the Unix epoch and 80 random bits (as a ULID
// does), so that IDs sort by creation time and are unique across
// instances.
func NewID(now time.Time) string { return NewPrefixedID("act", now) }

// NewPrefixedID is an ID made as NewID makes action IDs, with another
// prefix: prefix, "_", then the 26 characters.
func NewPrefixedID(prefix string, now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	rand.Read(b[6:])
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var out [26]byte
	// 128 bits in 26 characters of 5 bits: the first holds the top 3.
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return prefix + "_" + string(out[:])
}

// NewUUID returns a random (version 4) UUID: 122 bits from crypto/rand,
// unguessable, as the IDs of API-created hooks and providers' delivery
// ids are.
func NewUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
