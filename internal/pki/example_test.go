package pki_test

import (
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/trust"
)

// A client makes a development CA, issues its agency certificate and signs
// a packet with a detached CMS signature, which it posts as the multipart
// part "signature" beside the packet.
func Example() {
	dir, err := os.MkdirTemp("", "pki-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = os.RemoveAll(dir) }()

	ca, err := pki.Init(dir, pki.InitOptions{})
	if err != nil {
		log.Fatal(err)
	}
	iss, err := ca.Issue("000.00.00.G22", "Văn phòng Chính phủ", pki.IssueOptions{})
	if err != nil {
		log.Fatal(err)
	}
	packet := strings.NewReader("<edXMLEnvelope>...</edXMLEnvelope>") // usually an *os.File
	sig, err := pki.SignDetached(packet, iss.Cert, iss.Key, iss.Chain, pki.SignOptions{})
	if err != nil {
		log.Fatal(err)
	}
	organ, _ := trust.OrganID(iss.Cert)
	fmt.Println(organ)
	fmt.Println(strings.SplitN(string(pki.PEM(sig)), "\n", 2)[0])
	// Output:
	// 000.00.00.G22
	// -----BEGIN CMS-----
}
