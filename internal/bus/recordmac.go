package bus

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// RecordMAC is the hex HMAC-SHA256 under key of a record's JSON: how the
// records the replicas share on topics (credentials, sign-outs, agencies)
// are signed. The caller blanks the record's own MAC field first.
func RecordMAC(key []byte, record any) string {
	raw, _ := json.Marshal(record) // records are plain structs: Marshal does not fail
	m := hmac.New(sha256.New, key)
	m.Write(raw)
	return hex.EncodeToString(m.Sum(nil))
}
