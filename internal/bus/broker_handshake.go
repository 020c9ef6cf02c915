package bus

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// librdkafka (kcat, confluent-kafka for Python, Go and .NET) enables SASL
// only with a broker that lists SaslHandshake v0 in ApiVersions (its
// feature table asks for v0, then it sends v1, the highest both know).
// Apache Kafka serves v0 and v1; kfake registers v1 only, so every
// librdkafka client failed with "SASL Handshake not supported by broker".
// The embedded broker answers ApiVersions with kfake's own table, save
// that SaslHandshake starts at v0. A v0 handshake is still refused by
// kfake, as before; no client sends one to a broker that has v1.

// handshakeBase is kfake's ApiVersions answer, read once it is read
// without error (a transient failure is tried again by the next broker).
var (
	handshakeMu   sync.Mutex
	handshakeBase *kmsg.ApiVersionsResponse
)

// The client software name and version a real broker accepts (KIP-511);
// kfake answers INVALID_REQUEST otherwise, and so it still does.
var softwareName = regexp.MustCompile(`^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$`)

// advertiseSASLHandshakeV0 makes c answer ApiVersions (up to the version
// of kfake's answer it copied) with SaslHandshake from v0.
func advertiseSASLHandshakeV0(c *kfake.Cluster) error {
	handshakeMu.Lock()
	if handshakeBase == nil {
		b, err := kfakeAPIVersions()
		if err != nil {
			handshakeMu.Unlock()
			return fmt.Errorf("read kfake's ApiVersions: %w", err)
		}
		handshakeBase = b
	}
	base := handshakeBase
	handshakeMu.Unlock()
	c.ControlKey(int16(kmsg.ApiVersions), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req, ok := kr.(*kmsg.ApiVersionsRequest)
		if !ok || req.Version > base.Version ||
			(req.Version >= 3 && (!softwareName.MatchString(req.ClientSoftwareName) || !softwareName.MatchString(req.ClientSoftwareVersion))) {
			return nil, nil, false // kfake's own answer: an error, or v5's cluster checks
		}
		resp, ok := req.ResponseKind().(*kmsg.ApiVersionsResponse)
		if !ok {
			return nil, nil, false
		}
		resp.ApiKeys = slices.Clone(base.ApiKeys)
		resp.SupportedFeatures = slices.Clone(base.SupportedFeatures)
		resp.FinalizedFeaturesEpoch = base.FinalizedFeaturesEpoch
		resp.FinalizedFeatures = slices.Clone(base.FinalizedFeatures)
		return resp, nil, true
	})
	return nil
}

// kfakeAPIVersions asks a throw-away kfake cluster (plaintext, in memory)
// for its ApiVersions v4 answer: kfake's table is the same for every
// cluster of the process, and a plain one needs neither TLS nor SASL.
func kfakeAPIVersions() (*kmsg.ApiVersionsResponse, error) {
	shadow, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		return nil, err
	}
	defer shadow.Close()
	conn, err := net.DialTimeout("tcp", shadow.ListenAddrs()[0], 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer func() { _ = conn.Close() }() // read only
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return nil, err
	}
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version, req.ClientSoftwareName, req.ClientSoftwareVersion = 4, "lienthong", "1"
	if _, err := conn.Write(kmsg.NewRequestFormatter(kmsg.FormatterClientID("lienthong")).AppendRequest(nil, req, 1)); err != nil {
		return nil, err
	}
	var size [4]byte
	if _, err := io.ReadFull(conn, size[:]); err != nil {
		return nil, err
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(conn, body); err != nil {
		return nil, err
	}
	if len(body) < 4 {
		return nil, errors.New("short ApiVersions response")
	}
	// The correlation id, then the body: ApiVersions responses keep
	// header v0 (no tagged fields) at every version.
	resp, _ := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	if err := resp.ReadFrom(body[4:]); err != nil {
		return nil, err
	}
	if resp.ErrorCode != 0 {
		return nil, fmt.Errorf("error code %d", resp.ErrorCode)
	}
	found := false
	for i := range resp.ApiKeys {
		if resp.ApiKeys[i].ApiKey == int16(kmsg.SASLHandshake) {
			resp.ApiKeys[i].MinVersion, found = 0, true
		}
	}
	if !found {
		return nil, errors.New("no SaslHandshake in kfake's ApiVersions")
	}
	return resp, nil
}
