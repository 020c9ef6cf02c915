package bus_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/lienthong/lienthong/internal/bus"
)

func TestRecordMAC(t *testing.T) {
	type rec struct {
		ID  string `json:"id"`
		MAC string `json:"mac,omitempty"`
	}
	key := []byte("a key of the replicas")
	m := hmac.New(sha256.New, key)
	m.Write([]byte(`{"id":"x"}`))
	want := hex.EncodeToString(m.Sum(nil))
	tests := []struct {
		name string
		key  []byte
		give rec
		same bool
	}{
		{"the record's JSON under the key", key, rec{ID: "x"}, true},
		{"another key", []byte("another key"), rec{ID: "x"}, false},
		{"another record", key, rec{ID: "y"}, false},
	}
	for _, tt := range tests {
		if got := bus.RecordMAC(tt.key, tt.give); (got == want) != tt.same {
			t.Errorf("%s: %s, want same=%v as %s", tt.name, got, tt.same, want)
		}
	}
}
