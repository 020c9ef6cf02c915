package c14n_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/lienthong/lienthong/internal/c14n"
)

// sigTemplate is what TestXmlsec puts into a document that has no dsig
// Signature of its own, in front of the root's end tag.
const sigTemplate = `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>` +
	`<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>` +
	`<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"/>` +
	`<ds:Reference URI=""><ds:Transforms>` +
	`<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>` +
	`<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>` +
	`</ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>` +
	`<ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo>` +
	`<ds:SignatureValue></ds:SignatureValue></ds:Signature>`

var (
	c14nTransform = regexp.MustCompile(`<(\w+:)?Transform Algorithm="http://www\.w3\.org/2001/10/xml-exc-c14n#"/>`)
	dsigNS        = regexp.MustCompile(`xmlns(:\w+)?="http://www\.w3\.org/2000/09/xmldsig#"`)
)

// withTransform makes the first Reference of doc use opts as its
// canonicalization transform.
func withTransform(t *testing.T, doc []byte, opts c14n.Options) []byte {
	t.Helper()
	m := c14nTransform.FindSubmatchIndex(doc)
	if m == nil {
		t.Fatal("no c14n Transform in the template")
	}
	prefix := ""
	if m[2] >= 0 {
		prefix = string(doc[m[2]:m[3]])
	}
	el := `<` + prefix + `Transform Algorithm="` + opts.Algorithm + `"`
	if len(opts.PrefixList) > 0 {
		el += `><ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="` +
			strings.Join(opts.PrefixList, " ") + `"/></` + prefix + `Transform>`
	} else {
		el += `/>`
	}
	return append(append(append([]byte{}, doc[:m[0]]...), el...), doc[m[1]:]...)
}

// TestXmlsec signs every document of the corpus with xmlsec1 (libxml2's
// enveloped-signature transform and canonicalizers, the reference a
// verifier uses) and checks that the DigestValue it computes is the
// SHA-256 of Enveloped's output, for each algorithm. It confirms that
// URI="" drops comments even for the #WithComments algorithms, and how
// the PrefixList (with #default) works.
func TestXmlsec(t *testing.T) {
	xmlsec := tool(t, "xmlsec1")
	key := filepath.Join(t.TempDir(), "hmac.key")
	if err := os.WriteFile(key, []byte("0123456789abcdef0123456789abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	configs := []c14n.Options{
		{Algorithm: c14n.Inclusive},
		{Algorithm: c14n.InclusiveWithComments},
		{Algorithm: c14n.Exclusive},
		{Algorithm: c14n.ExclusiveWithComments},
		{Algorithm: c14n.Exclusive, PrefixList: []string{"#default", "a", "p", "edXML", "u1"}},
		{Algorithm: c14n.ExclusiveWithComments, PrefixList: []string{"b", "xlink", "used"}},
	}
	// The Signature as the root: what is left is the processing
	// instructions, each followed by a line feed as libxml2 does when it
	// has output no document element.
	rootSig := testDoc{"root-signature", []byte("<?a?>\n" + sigTemplate + "\n<?b x?>\n")}
	for _, d := range append(corpus(t), rootSig) {
		tmpl := d.data
		if !dsigNS.Match(tmpl) {
			end := bytes.LastIndex(tmpl, []byte("</"))
			tmpl = append(append(append([]byte{}, tmpl[:end]...), sigTemplate...), tmpl[end:]...)
		}
		// The synthetic documents are where the algorithms differ; the
		// packets are there for their size and shape.
		type run struct {
			variant int
			opts    c14n.Options
		}
		var runs []run
		switch {
		case strings.HasPrefix(d.name, "testdata/"), d.name == rootSig.name:
			for _, o := range configs {
				runs = append(runs, run{0, o})
			}
			runs = append(runs, run{1, configs[0]}, run{1, configs[2]})
		case strings.HasPrefix(d.name, "fixtures/"):
			runs = append(runs, run{0, configs[0]}, run{0, configs[2]})
		default:
			runs = append(runs, run{0, configs[2]})
		}
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for _, r := range runs {
				v, opts := variants[r.variant], r.opts
				in := filepath.Join(dir, "in.xml")
				out := filepath.Join(dir, "out.xml")
				if err := os.WriteFile(in, v.fn(withTransform(t, tmpl, opts)), 0o600); err != nil {
					t.Fatal(err)
				}
				cmd := exec.Command(xmlsec, "--sign", "--hmackey", key, "--store-references", "--print-debug", "--output", out, in)
				debug, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("%s: xmlsec1: %v\n%s", v.name, err, debug)
				}
				doc, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				want := signedDigest(t, doc)
				for _, input := range [][]byte{doc, v.fn(withTransform(t, tmpl, opts))} {
					got, err := enveloped(input, opts)
					if err != nil {
						t.Fatalf("%s %s: %v", v.name, opts.Algorithm, err)
					}
					sum := sha256.Sum256(got)
					if base64.StdEncoding.EncodeToString(sum[:]) != want {
						t.Errorf("%s %s %v: digest differs from xmlsec1's; %s", v.name, opts.Algorithm, opts.PrefixList,
							firstDiff(got, preDigest(debug)))
					}
				}
			}
		})
	}
}

// signedDigest is the DigestValue of the first dsig Signature.
func signedDigest(t *testing.T, doc []byte) string {
	t.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromBytes(doc); err != nil {
		t.Fatal(err)
	}
	sig := firstSignature(d.Root())
	if sig == nil {
		t.Fatal("no Signature in xmlsec1's output")
	}
	for _, el := range sig.FindElements(".//*") {
		if el.Tag == "DigestValue" {
			return strings.TrimSpace(el.Text())
		}
	}
	t.Fatal("no DigestValue in xmlsec1's output")
	return ""
}

// preDigest takes the octets xmlsec1 digested from its debug output.
func preDigest(debug []byte) []byte {
	const start, end = "== PreDigest data - start buffer:\n", "\n== PreDigest data - end buffer"
	i := bytes.Index(debug, []byte(start))
	if i < 0 {
		return nil
	}
	rest := debug[i+len(start):]
	if j := bytes.Index(rest, []byte(end)); j >= 0 {
		return rest[:j]
	}
	return rest
}
