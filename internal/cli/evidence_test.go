package cli

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/evidence"
	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/testwait"
	"github.com/lienthong/lienthong/internal/tsa"
)

// logGet is a GET on the dev hub as token ("" for none).
func logGet(t *testing.T, url, token string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// On the embedded default, a packet's acceptance, fetch and
// acknowledgement are leaves of the log, proven to its sender against a
// signed checkpoint that `lienthong audit verify` accepts with the log's
// public key alone; another agency gets no proof; checkpoints taken
// before and after are consistent, and so after a restart, which rebuilds
// the tree from the topic.
func TestEvidenceDev(t *testing.T) {
	data := t.TempDir()
	addr, stop := startDev(t, data, nil)
	base := "http://" + addr
	var agencies []map[string]string
	raw, err := os.ReadFile(filepath.Join(data, "dev", "agencies.json"))
	if err != nil || json.Unmarshal(raw, &agencies) != nil {
		t.Fatalf("agencies.json: %v", err)
	}
	by := map[string]map[string]string{}
	for _, a := range agencies {
		by[a["organId"]] = a
	}
	g22, h29, g12 := by["000.00.00.G22"], by["000.00.00.H29"], by["000.00.00.G12"]
	rel := func(p string) string { return filepath.Join(data, "dev", p) }
	pub := rel("log.pub")
	dir := t.TempDir()
	save := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	code, empty := logGet(t, base+"/v1/log/checkpoint", "")
	if code != 200 || !strings.HasPrefix(string(empty), "lienthong-dev/log\n") {
		t.Fatalf("checkpoint: %d %s", code, empty)
	}
	first := save("first.cp", empty)

	doc := filepath.Join("..", "edxml", "testdata", "fixtures", "edoc-new.xml")
	code, out, errOut := run(t, "send", doc, "--hub", base, "--token", g22["token"], "--cert", rel(g22["cert"]), "--key", rel(g22["key"]), "--chain", rel(g22["chain"]))
	if code != ExitOK {
		t.Fatalf("send: %s", errOut)
	}
	var receipt struct {
		ID               string `json:"id"`
		LogLeaf          []byte `json:"logLeaf"`
		Receipt          []byte `json:"receipt"`
		ReceiptTimestamp []byte `json:"receiptTimestamp"`
	}
	if err := json.Unmarshal([]byte(out), &receipt); err != nil || receipt.ID == "" {
		t.Fatalf("receipt: %v %s", err, out)
	}
	// dev time-stamps receipts: the token is over this receipt's CMS.
	roots := x509.NewCertPool()
	if certs, err := pki.LoadCertificates(rel("ca.pem")); err != nil {
		t.Fatal(err)
	} else {
		roots.AddCert(certs[0])
	}
	sum := sha256.Sum256(receipt.Receipt)
	if _, err := tsa.Verify(receipt.ReceiptTimestamp, sum[:], crypto.SHA256, roots, nil); err != nil {
		t.Errorf("the receipt's time-stamp: %v", err)
	}
	waitInbox(t, addr, h29["token"])
	fetched := filepath.Join(dir, "fetched.xml")
	if code, _, errOut := run(t, "fetch", receipt.ID, "-o", fetched, "--hub", base, "--token", h29["token"]); code != ExitOK {
		t.Fatalf("fetch: %s", errOut)
	}
	if code, _, errOut := run(t, "ack", receipt.ID, "--result", "done", "--hub", base, "--token", h29["token"]); code != ExitOK {
		t.Fatalf("ack: %s", errOut)
	}

	var b evidence.Bundle
	testwait.EventuallyState(t, "the three leaves proven", func() (bool, string) {
		code, body := logGet(t, base+"/v1/packets/"+receipt.ID+"/proof", g22["token"])
		if code != 200 || json.Unmarshal(body, &b) != nil {
			return false, fmt.Sprint(code, " ", string(body))
		}
		return len(b.Leaves) == 3, string(body)
	})
	// The receipt promised the acceptance leaf the log holds.
	promised := false
	for _, p := range b.Leaves {
		promised = promised || bytes.Equal(evidence.LeafHash(p.Leaf), receipt.LogLeaf)
	}
	if len(receipt.LogLeaf) != 32 || !promised {
		t.Errorf("the receipt's logLeaf %x is not the hash of a leaf proven: %+v", receipt.LogLeaf, b.Leaves)
	}
	bundle, _ := json.Marshal(b)
	code, out, errOut = run(t, "audit", "verify", save("bundle.json", bundle), "--log-key", pub, "--tsa-roots", rel("ca.pem"))
	if code != ExitOK || !strings.Contains(out, `"timestampedAt":"`) {
		t.Fatalf("audit verify: %d %s %s", code, out, errOut)
	}
	// The dev TSA's token is over this checkpoint only, and another
	// root does not vouch for it.
	other := b
	other.Timestamp = append([]byte(nil), b.Timestamp...)
	other.Timestamp[len(other.Timestamp)/2] ^= 1
	tampered, _ := json.Marshal(other)
	if code, out, _ := run(t, "audit", "verify", save("tst.json", tampered), "--log-key", pub, "--tsa-roots", rel("ca.pem")); code != ExitInvalid || !strings.Contains(out, evidence.CodeBadTimestamp) {
		t.Errorf("a tampered time-stamp: %d %s", code, out)
	}
	if code, out, _ := run(t, "audit", "verify", save("bundle.json", bundle), "--log-key", pub, "--tsa-roots", testRoot(t)); code != ExitInvalid || !strings.Contains(out, evidence.CodeBadTimestamp) {
		t.Errorf("a time-stamp against another root: %d %s", code, out)
	}
	for _, want := range []string{`"type":"accepted"`, `"type":"fetched"`, `"type":"acked"`, `"from":"000.00.00.G22"`, `"to":["000.00.00.H29"]`, receipt.ID} {
		if !strings.Contains(out, want) {
			t.Errorf("audit verify's leaves lack %s: %s", want, out)
		}
	}
	if code, body := logGet(t, base+"/v1/packets/"+receipt.ID+"/proof", h29["token"]); code != 200 {
		t.Errorf("the recipient's proof: %d %s", code, body)
	}
	if code, body := logGet(t, base+"/v1/packets/"+receipt.ID+"/proof", g12["token"]); code != 404 {
		t.Errorf("another agency's proof: %d %s", code, body)
	}
	if code, _ := logGet(t, base+"/v1/log/tile/entries/000.p/3", ""); code != 404 {
		t.Errorf("entry bundles are public: %d", code)
	}
	if code, tile := logGet(t, base+"/v1/log/tile/0/000.p/3", ""); code != 200 || len(tile) != 3*32 {
		t.Errorf("hash tile: %d, %d bytes", code, len(tile))
	}

	consistent := func(old string, newer []byte, from, to int) {
		t.Helper()
		code, p := logGet(t, fmt.Sprintf("%s/v1/log/proof/consistency?from=%d&to=%d", base, from, to), "")
		if code != 200 {
			t.Fatalf("consistency proof: %d %s", code, p)
		}
		if code, out, errOut := run(t, "audit", "consistency", old, save("new.cp", newer), "--proof", save("p.json", p), "--log-key", pub); code != ExitOK {
			t.Errorf("audit consistency %d → %d: %s %s", from, to, out, errOut)
		}
	}
	consistent(first, []byte(b.Checkpoint), 0, 3)

	// A restart rebuilds the tree from the topic: same root, and it goes on.
	stop()
	addr, _ = startDev(t, data, nil)
	base = "http://" + addr
	testwait.EventuallyState(t, "the rebuilt log's checkpoint", func() (bool, string) {
		code, cp := logGet(t, base+"/v1/log/checkpoint", "")
		return code == 200 && string(cp) == b.Checkpoint, string(cp)
	})
	code, out, errOut = run(t, "send", filepath.Join("..", "edxml", "testdata", "fixtures", "edoc-new-two-recipients.xml"), "--hub", base, "--token", g22["token"],
		"--cert", rel(g22["cert"]), "--key", rel(g22["key"]), "--chain", rel(g22["chain"]))
	if code != ExitOK {
		t.Fatalf("send after the restart: %s", errOut)
	}
	var later []byte
	testwait.EventuallyState(t, "a checkpoint with the new leaf", func() (bool, string) {
		_, later = logGet(t, base+"/v1/log/checkpoint", "")
		return strings.Contains(string(later), "\n4\n"), string(later)
	})
	consistent(save("before-restart.cp", []byte(b.Checkpoint)), later, 3, 4)

	// Of a packet to two recipients, each sees the acceptance and its own
	// fetches, as in its timeline; the sender sees everything.
	var two struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(out), &two); err != nil {
		t.Fatal(err)
	}
	testwait.EventuallyState(t, "H29 fetches the second packet", func() (bool, string) {
		code, _, errOut := run(t, "fetch", two.ID, "-o", filepath.Join(dir, "two.xml"), "--hub", base, "--token", h29["token"])
		return code == ExitOK, errOut
	})
	types := func(token string) string {
		var b evidence.Bundle
		testwait.EventuallyState(t, "the proof", func() (bool, string) {
			code, body := logGet(t, base+"/v1/packets/"+two.ID+"/proof", token)
			return code == 200 && json.Unmarshal(body, &b) == nil, string(body)
		})
		var out []string
		for _, p := range b.Leaves {
			lf, _ := evidence.ParseLeaf(p.Leaf)
			out = append(out, lf.Type+" "+lf.Endpoint)
		}
		return strings.Join(out, ", ")
	}
	testwait.EventuallyState(t, "the sender's proof with H29's fetch", func() (bool, string) {
		got := types(g22["token"])
		return got == "accepted , fetched 000.00.00.H29", got
	})
	if got := types(g12["token"]); got != "accepted " {
		t.Errorf("G12 sees the leaves %q, want only the acceptance", got)
	}
}

// Two federated hubs witness each other: each one's checkpoints carry the
// other's cosignature, which `audit verify --witness` requires; the
// witness state is in each hub's data dir.
func TestEvidenceWitnessFederation(t *testing.T) {
	dir := t.TempDir()
	ca, g22 := testCA(t, dir)
	keygen := func(name string) (priv, pub, vkey string) {
		file := strings.ReplaceAll(name, "/", "-")
		priv, pub = filepath.Join(dir, file+".key"), filepath.Join(dir, file+".pub")
		code, out, errOut := run(t, "audit", "keygen", "--name", name, "--private", priv, "--public", pub)
		if code != ExitOK {
			t.Fatalf("keygen %s: %s", name, errOut)
		}
		return priv, pub, strings.TrimSpace(out)
	}
	nLog, nLogPub, nLogV := keygen("national.example/log")
	nWit, nWitPub, nWitV := keygen("national.example/witness")
	pLog, _, pLogV := keygen("hcm.example/log")
	pWit, _, pWitV := keygen("hcm.example/witness")
	evidenceYAML := func(key, witness string) string {
		return "evidence:\n  key: " + key + "\n  witnessKey: " + witness + "\n  checkpointInterval: 200ms\n"
	}
	national, provincial := startFedPairWith(t, dir, ca.RootPath(), fedExtra{
		national: evidenceYAML(nLog, nWit), nationalPeer: "    logKey: " + pLogV + "\n    witnessKey: " + pWitV + "\n",
		provincial: evidenceYAML(pLog, pWit), provincialPeer: "    logKey: " + nLogV + "\n    witnessKey: " + nWitV + "\n",
	})

	edoc, err := os.ReadFile(filepath.Join("..", "edxml", "testdata", "fixtures", "edoc-new.xml"))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := pki.SignDetached(bytes.NewReader(edoc), g22.Cert, g22.Key, g22.Chain, pki.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	code, rc := fedPost(t, national, fedG22Token, edoc, sig)
	if code != 201 {
		t.Fatalf("submit: %d %v", code, rc)
	}
	id := rc["id"].(string)

	var bundle []byte
	testwait.EventuallyState(t, "the national proof cosigned by the provincial hub", func() (bool, string) {
		code, body := logGet(t, "http://"+national+"/v1/packets/"+id+"/proof", fedG22Token)
		bundle = body
		return code == 200 && strings.Contains(string(body), `— hcm.example/witness `), string(body)
	})
	path := filepath.Join(dir, "bundle.json")
	if err := os.WriteFile(path, bundle, 0o600); err != nil {
		t.Fatal(err)
	}
	hcmWitPub := filepath.Join(dir, "hcm.example-witness.pub")
	if code, out, errOut := run(t, "audit", "verify", path, "--log-key", nLogPub, "--witness", hcmWitPub); code != ExitOK {
		t.Errorf("audit verify --witness hcm: %d %s %s", code, out, errOut)
	}
	// The national hub's own witness key did not cosign its own log.
	if code, out, _ := run(t, "audit", "verify", path, "--log-key", nLogPub, "--witness", nWitPub); code != ExitInvalid || !strings.Contains(out, evidence.CodeBadCheckpoint) {
		t.Errorf("a witness that did not cosign: %d %s", code, out)
	}
	// The provincial hub's log (the relayed packet) is cosigned by the
	// national hub in turn.
	testwait.EventuallyState(t, "the provincial checkpoint cosigned by the national hub", func() (bool, string) {
		_, cp := logGet(t, "http://"+provincial+"/v1/log/checkpoint", "")
		return strings.Contains(string(cp), "— national.example/witness "), string(cp)
	})
}

// testRoot is the root of a PKI of its own, in a temporary directory.
func testRoot(t *testing.T) string {
	t.Helper()
	ca, _ := testCA(t, t.TempDir())
	return ca.RootPath()
}
