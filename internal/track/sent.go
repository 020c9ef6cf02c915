package track

import (
	"bytes"
	"encoding/binary"
	"time"

	bolt "go.etcd.io/bbolt"
)

// sentKey orders an agency's sent packets by acceptance time.
func sentKey(from string, at time.Time, id string) []byte {
	k := make([]byte, 0, len(from)+1+8+len(id))
	k = append(k, from...)
	k = append(k, 0)
	k = binary.BigEndian.AppendUint64(k, uint64(at.UnixNano()))
	return append(k, id...)
}

// Sent lists the packets an agency sent, accepted in [since, until) (zero
// times leave that end open), oldest first, at most limit of them.
func (s *Store) Sent(from string, since, until time.Time, limit int) ([]Packet, error) {
	if limit <= 0 || limit > 10_000 {
		limit = 1000
	}
	prefix := append([]byte(from), 0)
	start := prefix
	if !since.IsZero() {
		start = sentKey(from, since, "")
	}
	out := []Packet{}
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bSent).Cursor()
		for k, _ := c.Seek(start); k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, _ = c.Next() {
			at := int64(binary.BigEndian.Uint64(k[len(prefix) : len(prefix)+8]))
			if !until.IsZero() && at >= until.UnixNano() {
				break
			}
			p, ok, err := get[Packet](tx.Bucket(bPackets), k[len(prefix)+8:])
			if err != nil {
				return err
			}
			if ok {
				out = append(out, p)
			}
		}
		return nil
	})
	return out, err
}
