package console

import (
	"testing"

	"github.com/lienthong/lienthong/internal/pdfsig"
	"github.com/lienthong/lienthong/internal/trust"
)

// Every code pdfsig reports has a plain sentence in both languages.
func TestPDFProblemSentences(t *testing.T) {
	codes := []string{pdfsig.CodeMalformed, pdfsig.CodeTimeout, pdfsig.CodeTooLarge, pdfsig.CodeSigInvalid,
		pdfsig.CodeSigUntrusted, pdfsig.CodeModified, pdfsig.CodeOrganMissing, pdfsig.CodeTimestampInvalid, pdfsig.CodeValidAtTimestamp}
	for _, lang := range []string{"vi", "en"} {
		for _, c := range codes {
			if _, ok := messages[lang]["sigc_"+c]; !ok {
				t.Errorf("%s: no sentence for %s", lang, c)
			}
		}
	}
}

// The line's less common forms: whose signature failed when there are
// several, an organ that is not the sender, the sender's seal under an
// alias, annotations after the last signature.
func TestPDFLine(t *testing.T) {
	const from, other, alias = "000.00.00.G22", "000.00.00.G12", "000.00.00.G99"
	names := map[string]string{from: "Văn phòng Chính phủ", other: "Bộ Nội vụ"}
	name := func(id string) string { return names[id] }
	person := func(cn string, valid bool, changes string) trust.PDFSignature {
		s := trust.PDFSignature{Signer: &trust.Cert{Subject: "CN=" + cn}, Valid: valid, Changes: changes,
			CoversWholeFile: changes == pdfsig.ChangesNone}
		if !valid {
			s.Errors = []trust.Problem{{Code: pdfsig.CodeSigInvalid}, {Code: trust.CodeDigestMismatch}}
		}
		return s
	}
	organ := func(id string, changes string) trust.PDFSignature {
		s := person("CA spelling", true, changes)
		s.OrganID = id
		// The hub binds the seal to the sender by UID or alias.
		s.FromSender = id == from || id == alias
		return s
	}
	tests := []struct {
		name string
		give trust.Attachment
		want string
	}{
		{
			name: "one of two signatures invalid: it is named",
			give: trust.Attachment{Main: true, OrganSigned: true, Signatures: []trust.PDFSignature{
				person("Trần Thị B", false, pdfsig.ChangesSignatures), organ(from, pdfsig.ChangesNone)}},
			want: `Văn bản được ký số bởi cơ quan ban hành Văn phòng Chính phủ <small class="secondary">000.00.00.G22</small>; ` +
				`chữ ký số của Trần Thị B không hợp lệ: nội dung văn bản đã bị thay đổi sau khi ký; không bị sửa sau khi ký.`,
		},
		{
			name: "another organ's seal on the main PDF",
			give: trust.Attachment{Main: true, Signatures: []trust.PDFSignature{organ(other, pdfsig.ChangesNone)}},
			want: `Cơ quan khác ký: Bộ Nội vụ <small class="secondary">000.00.00.G12</small>; không có chữ ký số của cơ quan gửi; không bị sửa sau khi ký.`,
		},
		{
			name: "the sender's seal under an alias",
			give: trust.Attachment{Main: true, OrganSigned: true, Signatures: []trust.PDFSignature{
				person("Nguyễn Văn A", true, pdfsig.ChangesSignatures), organ(alias, pdfsig.ChangesNone)}},
			want: `Văn bản được ký số bởi Nguyễn Văn A; cơ quan ban hành: CA spelling <small class="secondary">000.00.00.G99</small>; không bị sửa sau khi ký.`,
		},
		{
			name: "the sender's UID on a certificate the directory does not pin",
			give: trust.Attachment{Main: true, Signatures: []trust.PDFSignature{func() trust.PDFSignature {
				s := organ(from, pdfsig.ChangesNone)
				s.FromSender = false
				return s
			}()}},
			want: `Cơ quan khác ký: Văn phòng Chính phủ <small class="secondary">000.00.00.G22</small>; không có chữ ký số của cơ quan gửi; không bị sửa sau khi ký.`,
		},
		{
			name: "an annex with a signature added after its only signature",
			give: trust.Attachment{Signatures: []trust.PDFSignature{person("Nguyễn Văn A", true, pdfsig.ChangesSignatures)}},
			want: `Tệp được ký số bởi Nguyễn Văn A; sau khi ký chỉ được thêm chữ ký số, trang văn bản không đổi.`,
		},
	}
	m := messages["vi"]
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newPDFViews(m, "vi", []trust.Attachment{tt.give}, name)
			if got := string(v[0].Line); got != tt.want {
				t.Errorf("line\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}
