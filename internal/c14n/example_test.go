package c14n_test

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"os"
	"strings"

	"github.com/lienthong/lienthong/internal/c14n"
)

// A verifier digests a packet as its Reference URI="" says: the signature
// is left out and the rest canonicalised, here with exclusive C14N.
func ExampleEnveloped() {
	packet := `<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016" xmlns:unused="urn:x">
  <Header id='1'/><!-- a comment --><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo/></ds:Signature>
</edXML>`
	opts := c14n.Options{Algorithm: c14n.Exclusive}
	if err := c14n.Enveloped(os.Stdout, strings.NewReader(packet), opts); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println()

	h := sha256.New()
	if err := c14n.Enveloped(h, strings.NewReader(packet), opts); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(base64.StdEncoding.EncodeToString(h.Sum(nil)))
	// Output:
	// <edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">
	//   <Header id="1"></Header>
	// </edXML>
	// X/4vDyPN7iC2W0LzZ+3vAItzZfGAz4r7cN9VMI/OWlU=
}
