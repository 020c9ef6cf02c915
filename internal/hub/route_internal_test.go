package hub

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/schemas/events"
)

// The router writes each inbox message from the accepted event alone:
// exactly the bytes below (the fields an agency acts on without fetching
// the packet among them), and the same bytes when the accepted event is
// routed again, so a replay repeats "same key, same value"
// (schemas/README.md).
func TestRouteInboxMessage(t *testing.T) {
	id, sum := strings.Repeat("ab", 32), strings.Repeat("cd", 32)
	at := time.Date(2025, 11, 20, 3, 2, 41, 123000000, time.UTC)
	tests := []struct {
		name  string
		give  accepted
		topic string
		want  string
	}{
		{
			name: "edoc",
			give: accepted{V: 1, ID: id, Kind: "edoc", From: "000.00.00.G22", To: []string{"000.00.12.H29"}, DocumentID: "000.00.00.G22,2025/11/20,1234/VPCP-KSTT",
				Subject: "Về việc x", Priority: 2, Business: "0", BlobKey: "k", SHA256: sum, Size: 10, AcceptedAt: at, Channel: "v1",
				Deliveries: []delivery{{Endpoint: "000.00.00.H29", Organs: []string{"000.00.12.H29"}}}},
			topic: "t.inbox.000.00.00.H29",
			want: `{"v":1,"id":"` + id + `","endpoint":"000.00.00.H29","organs":["000.00.12.H29"],"kind":"edoc","from":"000.00.00.G22",` +
				`"documentId":"000.00.00.G22,2025/11/20,1234/VPCP-KSTT","subject":"Về việc x","priority":2,"acceptedAt":"2025-11-20T03:02:41.123Z",` +
				`"sha256":"` + sum + `","size":10,"businessType":"0"}`,
		},
		{
			name: "status",
			give: accepted{V: 1, ID: id, Kind: "status", From: "000.00.00.H29", DocumentID: "000.00.00.G22,2025/11/20,1234/VPCP-KSTT",
				StatusCode: "03", RFOrgan: "000.00.00.G22", RFDocument: "000.00.00.G22,2025/11/20,1234/VPCP-KSTT", BlobKey: "k", SHA256: sum, Size: 10,
				AcceptedAt: at, Channel: "v1", Deliveries: []delivery{{Endpoint: "000.00.00.G22", Organs: []string{"000.00.00.G22"}}}},
			topic: "t.inbox.000.00.00.G22",
			want: `{"v":1,"id":"` + id + `","endpoint":"000.00.00.G22","organs":["000.00.00.G22"],"kind":"status","from":"000.00.00.H29",` +
				`"documentId":"000.00.00.G22,2025/11/20,1234/VPCP-KSTT","subject":"","priority":0,"acceptedAt":"2025-11-20T03:02:41.123Z",` +
				`"sha256":"` + sum + `","size":10,"statusCode":"03","statusName":"Đã tiếp nhận"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := json.Marshal(tt.give)
			if err != nil {
				t.Fatal(err)
			}
			pub := &memPublisher{}
			h := &Hub{o: Options{Topics: Topics{Prefix: "t."}, Publisher: pub}}
			for range 2 { // routed, then replayed
				if err := h.route(context.Background(), bus.Message{Topic: "t.accepted", Key: []byte(id), Value: raw}); err != nil {
					t.Fatal(err)
				}
			}
			if len(pub.msgs) != 2 {
				t.Fatalf("%d messages, want 2", len(pub.msgs))
			}
			for i, m := range pub.msgs {
				if m.Topic != tt.topic || string(m.Key) != id || string(m.Value) != tt.want {
					t.Errorf("message %d: %s %s\n%s\nwant %s\n%s", i, m.Topic, m.Key, m.Value, tt.topic, tt.want)
				}
			}
		})
	}
}

// The hub's accepted event and the public events.Accepted write the same
// JSON: the same keys, in the same order, with the same omitempty. (Its
// deliveries, the inbox and the transport messages are the public types
// themselves.)
func TestAcceptedMatchesPublicType(t *testing.T) {
	tags := func(v any) []string {
		var out []string
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			out = append(out, rt.Field(i).Tag.Get("json"))
		}
		return out
	}
	for _, tt := range []struct {
		name       string
		give, want any
	}{
		{"accepted", accepted{}, events.Accepted{}},
	} {
		if got, want := tags(tt.give), tags(tt.want); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: hub's json tags\n%q\nevents'\n%q", tt.name, got, want)
		}
	}
}
