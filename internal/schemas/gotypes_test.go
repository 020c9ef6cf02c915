package schemas_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/lienthong/lienthong/internal/hub"
	"github.com/lienthong/lienthong/internal/schemas"
	"github.com/lienthong/lienthong/internal/track"
	"github.com/lienthong/lienthong/internal/trust"
	"github.com/lienthong/lienthong/schemas/events"
)

var (
	sampleID  = strings.Repeat("ab", 32)
	sampleSum = strings.Repeat("cd", 32)
	sampleAt  = time.Date(2025, 11, 20, 3, 2, 41, 123456789, time.UTC)
)

// The exported Go types that become payloads match the strict schemas
// without a hub: a quick failure for a renamed json tag. (The end-to-end
// test holds what the hub really writes to them.)
func TestGoTypesMatchSchemas(t *testing.T) {
	s, err := schemas.Load(true)
	if err != nil {
		t.Fatal(err)
	}
	signedAt := sampleAt.Add(-time.Minute)
	cert := trust.Cert{Subject: "UID=000.00.00.G22,CN=Văn phòng Chính phủ", Issuer: "CN=dev CA", Serial: "42", OrganID: "000.00.00.G22",
		SHA256: sampleSum, NotBefore: sampleAt.AddDate(-1, 0, 0), NotAfter: sampleAt.AddDate(1, 0, 0)}
	report := &trust.Report{Valid: true, Errors: []trust.Problem{}, Warnings: []trust.Problem{{Code: trust.CodeUnsigned, Message: "m"}},
		Signatures: []trust.Signature{{Type: trust.TypeCMS, Valid: true, Signer: &cert, SignedAt: &signedAt, CheckedAt: sampleAt,
			Algorithm: "SHA-256", Chain: []trust.Cert{cert}, Checks: []string{"parse", "digest"}, Errors: []trust.Problem{},
			Warnings: []trust.Problem{{Code: trust.CodeWeakAlgorithm, Message: "m"}}}}}
	tests := []struct {
		name   string
		schema func() (*jsonschema.Schema, error)
		value  any
	}{
		{"track.Item as an inbox message", func() (*jsonschema.Schema, error) { return s.Event(schemas.EventDelivery) },
			track.Item{ID: sampleID, Endpoint: "000.00.00.H29", Organs: []string{"000.00.12.H29"}, Kind: "edoc", From: "000.00.00.G22",
				DocumentID: "000.00.00.G22,2025/11/20,1234/VPCP-KSTT", Subject: "s", Priority: 1, AcceptedAt: sampleAt, SHA256: sampleSum, Size: 10}},
		{"events.Delivery of an edoc", func() (*jsonschema.Schema, error) { return s.Event(schemas.EventDelivery) },
			events.Delivery{V: events.Version, ID: sampleID, Endpoint: "000.00.00.H29", Organs: []string{"000.00.12.H29"}, Kind: events.KindEdoc,
				From: "000.00.00.G22", DocumentID: "d", Subject: "s", Priority: 1, AcceptedAt: sampleAt, SHA256: sampleSum, Size: 10, BusinessType: "3"}},
		{"events.Delivery of a status", func() (*jsonschema.Schema, error) { return s.Event(schemas.EventDelivery) },
			events.Delivery{V: events.Version, ID: sampleID, Endpoint: "000.00.00.G22", Organs: []string{"000.00.00.G22"}, Kind: events.KindStatus,
				From: "000.00.00.H29", DocumentID: "d", AcceptedAt: sampleAt, SHA256: sampleSum, Size: 10, StatusCode: "01", StatusName: "Đã đến"}},
		{"events.Accepted", func() (*jsonschema.Schema, error) { return s.Event(schemas.EventAccepted) },
			events.Accepted{V: events.Version, ID: sampleID, Kind: events.KindEdoc, From: "000.00.00.G22", To: []string{"000.00.12.H29"}, DocumentID: "d",
				Subject: "s", Priority: 1, BusinessType: "0", BlobKey: "packets/ab/" + sampleID + "/packet.xml", SHA256: sampleSum, Size: 10,
				AcceptedAt: sampleAt, Deliveries: []events.AcceptedDestination{{Endpoint: "000.00.00.H29", Organs: []string{"000.00.12.H29"}}},
				Flags: []string{"organ.alias"}, Channel: "v1", DueDate: "2025/12/01", Replaces: []string{"d0"}, Hops: []string{"000.00.00.G01"},
				Code: "42/VPCP-TTĐT", PromulgationDate: "2025/11/20", TypeName: "Công văn", Signer: "Bộ trưởng Nguyễn Văn A", FromName: "Văn phòng Chính phủ"}},
		{"events.Transport", func() (*jsonschema.Schema, error) { return s.Event(schemas.EventTransport) },
			events.Transport{V: events.Version, Type: events.TypeAcked, ID: sampleID, Endpoint: "000.00.00.H29", Result: "fail", Reason: "r", At: sampleAt}},
		{"track.Timeline", func() (*jsonschema.Schema, error) { return s.Component("Timeline") },
			track.Timeline{ID: sampleID, DocumentID: "d", From: "000.00.00.G22", Recipients: []track.Recipient{{OrganID: "000.00.00.H29", State: "acked:done",
				Events: []track.Event{{Type: track.EventAcked, Result: "done", At: sampleAt, Flags: []string{}},
					{Type: track.EventStatus, Code: "03", Packet: sampleSum, At: sampleAt, Flags: []string{track.FlagOutOfOrder}}}}}}},
		{"hub.Receipt", func() (*jsonschema.Schema, error) { return s.Component("Receipt") },
			hub.Receipt{ID: sampleID, Kind: "edoc", DocumentID: "d", From: "000.00.00.G22", To: []string{"000.00.00.H29"}, SHA256: sampleSum,
				Size: 10, AcceptedAt: sampleAt, Verification: report, Receipt: "MIIB"}},
		{"trust.Report", func() (*jsonschema.Schema, error) { return s.Component("VerificationReport") }, report},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sch, err := tt.schema()
			if err != nil {
				t.Fatal(err)
			}
			raw, err := json.Marshal(tt.value)
			if err != nil {
				t.Fatal(err)
			}
			if err := schemas.Validate(sch, raw); err != nil {
				t.Errorf("%v\n%s", err, raw)
			}
		})
	}
}

// The published schemas let an unknown field through (consumers ignore
// fields added later); the strict copies refuse it; both refuse a missing
// required field.
func TestStrictCopies(t *testing.T) {
	published, err := schemas.Load(false)
	if err != nil {
		t.Fatal(err)
	}
	strict, err := schemas.Load(true)
	if err != nil {
		t.Fatal(err)
	}
	item := map[string]any{"id": sampleID, "endpoint": "000.00.00.H29", "organs": []string{"000.00.00.H29"}, "kind": "edoc",
		"from": "000.00.00.G22", "documentId": "d", "subject": "s", "priority": 0, "acceptedAt": sampleAt, "sha256": sampleSum, "size": 1}
	check := func(set *schemas.Set, v map[string]any) error {
		t.Helper()
		sch, err := set.Event(schemas.EventDelivery)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return schemas.Validate(sch, raw)
	}
	if err := check(strict, item); err != nil {
		t.Fatalf("a valid item: %v", err)
	}
	item["addedLater"] = true
	if err := check(published, item); err != nil {
		t.Errorf("published schema refuses an added field: %v", err)
	}
	if err := check(strict, item); err == nil {
		t.Error("strict schema takes an unknown field")
	}
	delete(item, "addedLater")
	item["documentID"] = item["documentId"] // a renamed field
	delete(item, "documentId")
	for _, set := range []*schemas.Set{published, strict} {
		if err := check(set, item); err == nil {
			t.Error("a renamed required field validates")
		}
	}
	delete(item, "documentID")
	item["documentId"], item["sha256"] = "d", strings.ToUpper(sampleSum)
	if err := check(published, item); err == nil {
		t.Error("an uppercase sha256 validates")
	}
	item["sha256"], item["acceptedAt"] = sampleSum, "20/11/2025"
	if err := check(published, item); err == nil {
		t.Error("a date that is not RFC 3339 validates (format not asserted)")
	}
}
