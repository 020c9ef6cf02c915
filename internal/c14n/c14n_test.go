package c14n_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/c14n"
)

const dsigDecl = `xmlns:ds="http://www.w3.org/2000/09/xmldsig#"`

// TestEnveloped spells out, on small documents, what the oracle tests
// check at large.
func TestEnveloped(t *testing.T) {
	tests := []struct {
		name string
		give string
		opts c14n.Options
		want string
	}{
		{
			name: "inclusive keeps unused declarations",
			give: `<r xmlns:a="urn:a" xmlns:b="urn:b"><x/></r>`,
			opts: c14n.Options{Algorithm: c14n.Inclusive},
			want: `<r xmlns:a="urn:a" xmlns:b="urn:b"><x></x></r>`,
		},
		{
			name: "exclusive drops unused declarations",
			give: `<r xmlns:a="urn:a" xmlns:b="urn:b"><x/></r>`,
			opts: c14n.Options{Algorithm: c14n.Exclusive},
			want: `<r><x></x></r>`,
		},
		{
			name: "PrefixList",
			give: `<r xmlns:a="urn:a" xmlns:b="urn:b"><x/></r>`,
			opts: c14n.Options{Algorithm: c14n.Exclusive, PrefixList: []string{"a", "zz"}},
			want: `<r xmlns:a="urn:a"><x></x></r>`,
		},
		{
			name: "PrefixList #default",
			give: `<p:r xmlns:p="urn:p" xmlns="urn:d"><p:x/><y xmlns=""/></p:r>`,
			opts: c14n.Options{Algorithm: c14n.Exclusive, PrefixList: []string{"#default"}},
			want: `<p:r xmlns="urn:d" xmlns:p="urn:p"><p:x></p:x><y xmlns=""></y></p:r>`,
		},
		{
			name: "exclusive declares where utilised",
			give: `<p:r xmlns:p="urn:p" xmlns="urn:d"><p:x><y a="1"/></p:x></p:r>`,
			opts: c14n.Options{Algorithm: c14n.Exclusive},
			want: `<p:r xmlns:p="urn:p"><p:x><y xmlns="urn:d" a="1"></y></p:x></p:r>`,
		},
		{
			name: "attribute order",
			give: `<r xmlns:b="urn:a" xmlns:a="urn:b" a:x="1" b:y="2" z="3" xml:lang="vi" xmlns="urn:d"/>`,
			opts: c14n.Options{Algorithm: c14n.Inclusive},
			want: `<r xmlns="urn:d" xmlns:a="urn:b" xmlns:b="urn:a" z="3" xml:lang="vi" b:y="2" a:x="1"></r>`,
		},
		{
			name: "comments are removed, even WithComments",
			give: `<!--a--><r><!--b-->x<!--c-->y</r><!--d-->`,
			opts: c14n.Options{Algorithm: c14n.ExclusiveWithComments},
			want: `<r>xy</r>`,
		},
		{
			name: "the first Signature only",
			give: `<r><ds:Signature ` + dsigDecl + `>1</ds:Signature><ds:Signature ` + dsigDecl + `>2</ds:Signature></r>`,
			opts: c14n.Options{Algorithm: c14n.Inclusive},
			want: `<r><ds:Signature ` + dsigDecl + `>2</ds:Signature></r>`,
		},
		{
			name: "a Signature in another namespace stays",
			give: `<r><Signature>1</Signature></r>`,
			opts: c14n.Options{Algorithm: c14n.Inclusive},
			want: `<r><Signature>1</Signature></r>`,
		},
		{
			name: "the root is the Signature",
			give: `<?a?><ds:Signature ` + dsigDecl + `><x/></ds:Signature><?b?>`,
			opts: c14n.Options{Algorithm: c14n.Exclusive},
			want: "<?a?>\n<?b?>\n",
		},
		{
			name: "processing instructions",
			give: "<?a  x ?>\r\n<r><?b?><?c \r\n y\r\nz?></r><?d?>",
			opts: c14n.Options{Algorithm: c14n.Exclusive},
			want: "<?a x ?>\n<r><?b?><?c y\nz?></r>\n<?d?>",
		},
		{
			name: "text escapes and line ends",
			give: "\uFEFF<r>&lt;&amp;>&#13;\r\n\r&#x9;\"'</r>",
			opts: c14n.Options{Algorithm: c14n.Exclusive},
			want: "<r>&lt;&amp;&gt;&#xD;\n\n\t\"'</r>",
		},
		{
			name: "attribute normalisation and escapes",
			give: "<r a=\"\t\r\n\n&#9;&#10;&#13;&lt;&amp;>&quot;'\"/>",
			opts: c14n.Options{Algorithm: c14n.Exclusive},
			want: `<r a="   &#x9;&#xA;&#xD;&lt;&amp;>&quot;'"></r>`,
		},
		{
			name: "CDATA",
			give: "<r><![CDATA[<&>]]]]><![CDATA[>\r\n]]></r>",
			opts: c14n.Options{Algorithm: c14n.Exclusive},
			want: "<r>&lt;&amp;&gt;]]&gt;\n</r>",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := enveloped([]byte(tt.give), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestManyDeclarations: namespace lookups cost the same however many
// declarations are in scope; a quadratic lookup would make this document
// (within the markup limit) take minutes.
func TestManyDeclarations(t *testing.T) {
	const n = 100_000
	var b strings.Builder
	b.WriteString("<r")
	for i := range n {
		b.WriteString(` xmlns:p` + strconv.Itoa(i) + `="urn:x"`)
	}
	b.WriteString(">")
	for i := range n {
		b.WriteString(`<p` + strconv.Itoa(i) + `:e a="1"/>`)
	}
	b.WriteString("</r>")
	for alg, want := range map[string]string{
		c14n.Inclusive: `"urn:x"><p0:e a="1"></p0:e>`,
		c14n.Exclusive: `<r><p0:e xmlns:p0="urn:x" a="1"></p0:e>`,
	} {
		out, err := enveloped([]byte(b.String()), c14n.Options{Algorithm: alg})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("%s: no %s", alg, want)
		}
	}
}
