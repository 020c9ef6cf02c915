package track

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"
)

// pendingOrder sorts an inbox: the most urgent first (Priority 4 hỏa tốc
// hẹn giờ down to 0 thường), then the oldest, so urgent packets are never
// stuck behind bulk traffic.
func pendingOrder(it Item) []byte {
	urgency := byte(4 - min(max(it.Priority, 0), 4))
	k := append([]byte(it.Endpoint), 0, urgency)
	k = binary.BigEndian.AppendUint64(k, uint64(it.AcceptedAt.UnixNano()))
	return append(k, it.ID...)
}

func pendingKey(endpoint, id string) []byte { return []byte(endpoint + "\x00" + id) }

// Delivered puts an item in its endpoint's pending inbox, once.
func (s *Store) Delivered(it Item, at time.Time) error {
	return s.w.Update(func(tx *bolt.Tx) error {
		_, err := s.delivered(tx, it, at)
		return err
	})
}

func (s *Store) delivered(tx *bolt.Tx, it Item, at time.Time) (bool, error) {
	pending := tx.Bucket(bPending)
	pk := pendingKey(it.Endpoint, it.ID)
	if pending.Get(pk) != nil {
		return false, nil
	}
	if acked := tx.Bucket(bMeta).Get(append([]byte("acked\x00"), pk...)); acked != nil {
		return false, nil // replayed after an ack: stays acknowledged
	}
	key := pendingOrder(it)
	if err := put(tx.Bucket(bInbox), key, it); err != nil {
		return false, err
	}
	if err := pending.Put(pk, key); err != nil {
		return false, err
	}
	return true, s.event(tx, it.ID, it.Organs, Event{Type: EventDelivered, At: at, Flags: []string{}})
}

// Item returns a pending item of an endpoint.
func (s *Store) Item(endpoint, id string) (Item, error) {
	var it Item
	err := s.db.View(func(tx *bolt.Tx) error {
		key := tx.Bucket(bPending).Get(pendingKey(endpoint, id))
		if key == nil {
			return ErrNotFound
		}
		v, ok, err := get[Item](tx.Bucket(bInbox), key)
		if err == nil && !ok {
			err = ErrNotFound
		}
		it = v
		return err
	})
	return it, err
}

// Fetched records that an endpoint fetched a packet.
func (s *Store) Fetched(endpoint, id string, at time.Time) error {
	return s.w.Update(func(tx *bolt.Tx) error {
		_, err := s.fetched(tx, endpoint, id, at)
		return err
	})
}

// fetched records a fetch of a pending item; ok is false when the packet
// is not pending for the endpoint.
func (s *Store) fetched(tx *bolt.Tx, endpoint, id string, at time.Time) (ok bool, err error) {
	key := tx.Bucket(bPending).Get(pendingKey(endpoint, id))
	if key == nil {
		return false, nil
	}
	it, ok, err := get[Item](tx.Bucket(bInbox), key)
	if err != nil || !ok {
		return false, err
	}
	return true, s.event(tx, id, it.Organs, Event{Type: EventFetched, At: at, Flags: []string{}})
}

// Forwarded removes an item from its endpoint's pending inbox once it went
// on to the peer hub that receives for the endpoint, and records the hop.
func (s *Store) Forwarded(endpoint, id, peer string, at time.Time) error {
	return s.done(endpoint, id, Event{Type: EventForwarded, Result: peer, At: at, Flags: []string{}})
}

// Done reports whether an endpoint's item left its pending inbox:
// acknowledged, or forwarded to a federated hub.
func (s *Store) Done(endpoint, id string) bool {
	done := false
	_ = s.db.View(func(tx *bolt.Tx) error {
		done = tx.Bucket(bMeta).Get(append([]byte("acked\x00"), pendingKey(endpoint, id)...)) != nil
		return nil
	})
	return done
}

// Acked removes an item from its endpoint's pending inbox and records the
// result (done or fail). Acknowledging twice is not an error.
func (s *Store) Acked(endpoint, id, result string, at time.Time) error {
	return s.done(endpoint, id, Event{Type: EventAcked, Result: result, At: at, Flags: []string{}})
}

func (s *Store) done(endpoint, id string, e Event) error {
	return s.w.Update(func(tx *bolt.Tx) error {
		pending := tx.Bucket(bPending)
		pk := pendingKey(endpoint, id)
		key := pending.Get(pk)
		if key == nil {
			return nil
		}
		it, ok, err := get[Item](tx.Bucket(bInbox), key)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bInbox).Delete(key); err != nil {
			return err
		}
		if err := pending.Delete(pk); err != nil {
			return err
		}
		if err := tx.Bucket(bMeta).Put(append([]byte("acked\x00"), pk...), []byte(e.Result)); err != nil {
			return err
		}
		if !ok {
			return nil
		}
		return s.event(tx, id, it.Organs, e)
	})
}

// Inbox lists an endpoint's pending items, most urgent first, then oldest
// first, of one kind when kind is set. cursor continues a previous
// listing (ErrBadCursor when it is not one of the endpoint's); the
// returned cursor is "" at the end.
func (s *Store) Inbox(endpoint, kind string, limit int, cursor string) ([]Item, string, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	prefix := append([]byte(endpoint), 0)
	start := prefix
	if cursor != "" {
		c, err := hex.DecodeString(cursor)
		if err != nil || !bytes.HasPrefix(c, prefix) {
			return nil, "", ErrBadCursor
		}
		start = append(c, 0) // just after the cursor's key
	}
	items := []Item{}
	next := ""
	var lastKey []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bInbox).Cursor()
		for k, v := c.Seek(start); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var it Item
			if err := json.Unmarshal(v, &it); err != nil {
				return err
			}
			if kind != "" && it.Kind != kind {
				continue
			}
			if len(items) == limit {
				next = hex.EncodeToString(lastKey)
				return nil
			}
			items = append(items, it)
			lastKey = append(lastKey[:0], k...)
		}
		return nil
	})
	return items, next, err
}

// Pending counts an endpoint's pending items and the oldest one's time.
func (s *Store) Pending(endpoint string) (int, time.Time, error) {
	n := 0
	var oldest time.Time
	prefix := append([]byte(endpoint), 0)
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bInbox).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			at := time.Unix(0, int64(binary.BigEndian.Uint64(k[len(prefix)+1:])))
			if n == 0 || at.Before(oldest) {
				oldest = at
			}
			n++
		}
		return nil
	})
	return n, oldest, err
}
