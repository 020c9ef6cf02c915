package api_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/hubtest"
)

// An item of GET /v1/inbox says what the inbox message of the same packet
// on Kafka says, field for field (v, kind, from, documentId, businessType
// or statusCode and statusName, …): a DMS reading either gets the same
// answer. Only endpoint (the caller, implied) is the message's alone, and
// acceptedAt is the same instant written with all nine decimals.
func TestInboxItemsMatchEvents(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	th := wrap(h)
	g22, h29 := th.agencies["000.00.00.G22"], th.agencies["000.00.00.H29"]
	if code, out := th.send(t, g22.token, read(t, "edoc-new.xml"), g22); code != 201 {
		t.Fatalf("send edoc: %d %v", code, out)
	}
	if code, out := th.send(t, h29.token, read(t, "status-01.xml"), h29); code != 201 {
		t.Fatalf("send status: %d %v", code, out)
	}
	tests := []struct {
		name  string
		to    *agency
		kind  string
		topic string
		want  map[string]any // the kind's own fields, asserted besides the comparison
	}{
		{"edoc", h29, "edoc", h29Inbox, map[string]any{"v": 1.0, "businessType": "0"}},
		{"status", g22, "status", "lienthong.inbox.000.00.00.G22",
			map[string]any{"v": 1.0, "statusCode": "01", "statusName": "Đã đến", "documentId": "000.00.00.G22,2025/11/20,1234/VPCP-KSTT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			item := th.inbox(t, tt.to, tt.kind, 1)[0]
			recs := records(t, h, tt.topic, item["id"].(string))
			if len(recs) == 0 {
				t.Fatalf("%s has no message of %s", tt.topic, item["id"])
			}
			var ev map[string]any
			if err := json.Unmarshal(recs[0], &ev); err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.want {
				if ev[k] != v || item[k] != v {
					t.Errorf("%s: event %v, item %v, want %v", k, ev[k], item[k], v)
				}
			}
			for k, v := range ev {
				switch k {
				case "endpoint":
					if _, ok := item[k]; ok || v != tt.to.id {
						t.Errorf("endpoint: event %v, item %v", v, item[k])
					}
				case "acceptedAt":
					e, err1 := time.Parse(time.RFC3339Nano, v.(string))
					i, err2 := time.Parse(time.RFC3339Nano, item[k].(string))
					if err1 != nil || err2 != nil || !e.Equal(i) {
						t.Errorf("acceptedAt: event %v, item %v", v, item[k])
					}
				default:
					if !reflect.DeepEqual(item[k], v) {
						t.Errorf("%s: event %#v, item %#v", k, v, item[k])
					}
				}
			}
			for k := range item {
				if _, ok := ev[k]; !ok {
					t.Errorf("the item has %s, the event not", k)
				}
			}
		})
	}
}

// An inbox message of a hub that did not write v and the kind's fields yet
// (and the view's records of it) still lists, without those fields.
func TestInboxItemOfOlderMessage(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	th := wrap(h)
	p, err := bus.NewProducer(bus.Config{Brokers: h.Broker.Addrs()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	id := strings.Repeat("ab", 32)
	old := `{"id":"` + id + `","endpoint":"000.00.00.H29","organs":["000.00.00.H29"],"kind":"status","from":"000.00.00.G22",` +
		`"documentId":"000.00.00.H29,2025/11/20,9/UBND","subject":"","priority":0,"acceptedAt":"2025-11-20T09:15:00Z",` +
		`"sha256":"` + id + `","size":10}`
	if err := p.Produce(t.Context(), bus.Message{Topic: h29Inbox, Key: []byte(id), Value: []byte(old)}); err != nil {
		t.Fatal(err)
	}
	item := th.inbox(t, th.agencies["000.00.00.H29"], "status", 1)[0]
	if item["id"] != id || item["from"] != "000.00.00.G22" || item["documentId"] != "000.00.00.H29,2025/11/20,9/UBND" {
		t.Errorf("item %v", item)
	}
	for _, k := range []string{"v", "businessType", "statusCode", "statusName"} {
		if v, ok := item[k]; ok {
			t.Errorf("%s is %v, want absent", k, v)
		}
	}
}
