package track

import (
	"encoding/binary"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bOutbox holds messages waiting to be produced, by sequence number.
var bOutbox = []byte("outbox")

// Outgoing is a message the view keeps until the hub has produced it: the
// view file is this process's durable local state, and a message recorded
// with the change it announces is never lost to a broker outage.
type Outgoing struct {
	Seq   uint64 `json:"-"`
	Topic string `json:"topic"`
	Key   []byte `json:"key"`
	Value []byte `json:"value"`
}

// FetchedOutbox records that an endpoint fetched a packet, as Fetched
// does, and keeps m to be produced, in one commit. kept is false, and
// nothing changes, when the packet is not pending for the endpoint.
func (s *Store) FetchedOutbox(endpoint, id string, at time.Time, m Outgoing) (kept bool, err error) {
	err = s.w.Update(func(tx *bolt.Tx) error {
		kept = false // the group may run this again
		ok, err := s.fetched(tx, endpoint, id, at)
		if err != nil || !ok {
			return err
		}
		b := tx.Bucket(bOutbox)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		raw, err := json.Marshal(m)
		if err != nil {
			return err
		}
		kept = true
		return b.Put(binary.BigEndian.AppendUint64(nil, seq), raw)
	})
	return kept, err
}

// Outbox returns up to limit kept messages, oldest first.
func (s *Store) Outbox(limit int) ([]Outgoing, error) {
	var out []Outgoing
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bOutbox).Cursor()
		for k, v := c.First(); k != nil && len(out) < limit; k, v = c.Next() {
			var m Outgoing
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			m.Seq = binary.BigEndian.Uint64(k)
			out = append(out, m)
		}
		return nil
	})
	return out, err
}

// OutboxDone removes messages that were produced.
func (s *Store) OutboxDone(seqs ...uint64) error {
	return s.w.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bOutbox)
		for _, seq := range seqs {
			if err := b.Delete(binary.BigEndian.AppendUint64(nil, seq)); err != nil {
				return err
			}
		}
		return nil
	})
}
