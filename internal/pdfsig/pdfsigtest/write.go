package pdfsigtest

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Object numbers of the PDFs Write makes: the catalog, the page tree, the
// font, then a page and its content stream for each page in turn. Append
// relies on them, since it writes revisions without parsing.
const (
	catalogObj = 1
	pagesObj   = 2
	fontObj    = 3
	firstPage  = 4
)

func pageObj(i int) int    { return firstPage + 2*i }
func contentObj(i int) int { return firstPage + 2*i + 1 }

// Doc is an unsigned PDF for Bytes to write.
type Doc struct {
	// Pages holds each page's text, in Helvetica; printable ASCII, with
	// parentheses and backslashes escaped for it. No pages means one blank.
	Pages []string
	// SigField, when set, adds an empty invisible signature field of that
	// name on the first page, which pdfsig -sign fills without the font
	// -add-signature embeds.
	SigField string
	// Files are embedded files (the catalog's /Names /EmbeddedFiles), as
	// pdfdetach lists them.
	Files []File
}

// File is an embedded file: its name (printable ASCII) and content.
type File struct {
	Name string
	Data []byte
}

// Write returns Doc{Pages: pages}.Bytes().
func Write(pages ...string) []byte { return Doc{Pages: pages}.Bytes() }

// Bytes returns the PDF 1.7 file: A4 pages and a classic cross-reference
// table whose offsets are exact, as pdfinfo and pdfsig require.
func (d Doc) Bytes() []byte {
	pages := d.Pages
	if len(pages) == 0 {
		pages = []string{""}
	}
	next := contentObj(len(pages)-1) + 1
	field := 0
	if d.SigField != "" {
		field = next
		next++
	}
	// Each file is a file specification and its stream.
	files := next
	next += 2 * len(d.Files)
	w := newWriter(nil)
	w.buf.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	catalog := fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R", pagesObj)
	if field != 0 {
		catalog += fmt.Sprintf(" /AcroForm << /Fields [%d 0 R] >>", field)
	}
	if len(d.Files) > 0 {
		names := make([]string, len(d.Files))
		for i, f := range d.Files {
			names[i] = fmt.Sprintf("(%s) %d 0 R", escape(f.Name), files+2*i)
		}
		// The name tree's keys must be sorted; the caller's order is kept
		// for object numbers, so sort only the pairs.
		slices.Sort(names)
		catalog += fmt.Sprintf(" /Names << /EmbeddedFiles << /Names [%s] >> >>", strings.Join(names, " "))
	}
	w.obj(catalogObj, catalog+" >>")
	kids := make([]string, len(pages))
	for i := range pages {
		kids[i] = fmt.Sprintf("%d 0 R", pageObj(i))
	}
	w.obj(pagesObj, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(pages)))
	w.obj(fontObj, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	for i, text := range pages {
		page := pageDict(contentObj(i))
		if i == 0 && field != 0 {
			page = strings.TrimSuffix(page, " >>") + fmt.Sprintf(" /Annots [%d 0 R] >>", field)
		}
		w.obj(pageObj(i), page)
		w.stream(contentObj(i), textContent(text))
	}
	if field != 0 {
		// Print flag (4) and locked (128): an invisible signature widget.
		w.obj(field, fmt.Sprintf("<< /FT /Sig /T (%s) /Type /Annot /Subtype /Widget "+
			"/Rect [0 0 0 0] /F 132 /P %d 0 R >>", escape(d.SigField), pageObj(0)))
	}
	for i, f := range d.Files {
		spec, data := files+2*i, files+2*i+1
		w.obj(spec, fmt.Sprintf("<< /Type /Filespec /F (%s) /UF (%s) /EF << /F %d 0 R >> >>",
			escape(f.Name), escape(f.Name), data))
		w.offsets[data] = w.buf.Len()
		fmt.Fprintf(w.buf, "%d 0 obj\n<< /Type /EmbeddedFile /Length %d >>\nstream\n", data, len(f.Data))
		w.buf.Write(f.Data)
		w.buf.WriteString("\nendstream\nendobj\n")
	}
	w.trailer(next, -1)
	return w.buf.Bytes()
}

// Append returns pdf with an incremental update appended that replaces page
// i's content with text, as an editor saving over a signed file would: a
// new content stream object, a new version of the page object pointing at
// it, a cross-reference section for the two and a trailer with /Prev. pdf
// must have been made by Write, then possibly signed or updated by others
// (who keep object numbers, as incremental updates do); the new content
// object takes the number of the last trailer's /Size.
func Append(pdf []byte, i int, text string) ([]byte, error) {
	prev, size, err := lastTrailer(pdf)
	if err != nil {
		return nil, err
	}
	w := newWriter(bytes.Clone(pdf))
	if !bytes.HasSuffix(pdf, []byte("\n")) {
		w.buf.WriteByte('\n')
	}
	w.stream(size, textContent(text))
	w.obj(pageObj(i), pageDict(size))
	w.trailer(size+1, prev)
	return w.buf.Bytes(), nil
}

// Kinds of box for AppendBox.
const (
	BoxSquare    = "/Subtype /Square"
	BoxTextField = "/Subtype /Widget /FT /Tx /T (amount) /V (0)"
	BoxSigField  = "/Subtype /Widget /FT /Sig /T (late)"
)

// FieldObj is the object number of the empty signature field Doc writes
// with SigField, for a document of n pages.
func FieldObj(n int) int { return contentObj(n-1) + 1 }

// AppendBox returns pdf with an incremental update that puts an opaque
// white box over page i's text, leaving the page's content stream alone:
// a new annotation object, whose kind is the dictionary fragment kind
// (BoxSquare, as a comment tool draws one, or a form field's widget), and
// a new version of the page object whose /Annots holds the annotations in
// annots (those it had, which the caller knows) and the box.
func AppendBox(pdf []byte, i int, annots []int, kind string) ([]byte, error) {
	prev, size, err := lastTrailer(pdf)
	if err != nil {
		return nil, err
	}
	w := newWriter(bytes.Clone(pdf))
	if !bytes.HasSuffix(pdf, []byte("\n")) {
		w.buf.WriteByte('\n')
	}
	box := "q 1 g 0 0 300 60 re f Q"
	w.obj(size, fmt.Sprintf("<< /Type /Annot %s /Rect [60 750 360 810] /F 4 /C [1 1 1] /IC [1 1 1] "+
		"/P %d 0 R /AP << /N %d 0 R >> >>", kind, pageObj(i), size+1))
	w.obj(size+1, fmt.Sprintf("<< /Type /XObject /Subtype /Form /BBox [0 0 300 60] /Length %d >>\nstream\n%s\nendstream", len(box), box))
	refs := make([]string, 0, len(annots)+1)
	for _, n := range append(slices.Clone(annots), size) {
		refs = append(refs, fmt.Sprintf("%d 0 R", n))
	}
	w.obj(pageObj(i), strings.TrimSuffix(pageDict(contentObj(i)), " >>")+" /Annots ["+strings.Join(refs, " ")+"] >>")
	w.trailer(size+2, prev)
	return w.buf.Bytes(), nil
}

var (
	startxrefRE = regexp.MustCompile(`startxref\s+(\d+)\s+%%EOF\s*$`)
	sizeRE      = regexp.MustCompile(`/Size\s+(\d+)`)
)

// lastTrailer reads the offset of the last cross-reference section and the
// /Size of the trailer (or cross-reference stream) it starts: the only two
// numbers an appended revision needs.
func lastTrailer(pdf []byte) (xref, size int, err error) {
	m := startxrefRE.FindSubmatch(pdf)
	if m == nil {
		return 0, 0, fmt.Errorf("no startxref at the end of the file")
	}
	xref, err = strconv.Atoi(string(m[1]))
	if err != nil || xref >= len(pdf) {
		return 0, 0, fmt.Errorf("startxref %q out of range", m[1])
	}
	s := sizeRE.FindSubmatch(pdf[xref:])
	if s == nil {
		return 0, 0, fmt.Errorf("no /Size after offset %d", xref)
	}
	size, err = strconv.Atoi(string(s[1]))
	if err != nil {
		return 0, 0, err
	}
	return xref, size, nil
}

func pageDict(contents int) string {
	return fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] "+
		"/Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>", pagesObj, fontObj, contents)
}

func textContent(text string) string {
	return fmt.Sprintf("BT /F1 24 Tf 72 770 Td (%s) Tj ET", escape(text))
}

func escape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`).Replace(s)
}

// writer lays out objects and remembers their offsets for the
// cross-reference section.
type writer struct {
	buf     *bytes.Buffer
	offsets map[int]int
}

func newWriter(base []byte) *writer {
	return &writer{buf: bytes.NewBuffer(base), offsets: map[int]int{}}
}

func (w *writer) obj(n int, body string) {
	w.offsets[n] = w.buf.Len()
	fmt.Fprintf(w.buf, "%d 0 obj\n%s\nendobj\n", n, body)
}

func (w *writer) stream(n int, data string) {
	w.obj(n, fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(data), data))
}

// trailer writes a cross-reference section for the objects written so far
// (object 0 too when prev < 0, i.e. for the first revision), the trailer
// and startxref. Each subsection covers one run of consecutive numbers.
func (w *writer) trailer(size, prev int) {
	xref := w.buf.Len()
	w.buf.WriteString("xref\n")
	nums := make([]int, 0, len(w.offsets)+1)
	if prev < 0 {
		nums = append(nums, 0)
	}
	for n := range size {
		if _, ok := w.offsets[n]; ok {
			nums = append(nums, n)
		}
	}
	for start := 0; start < len(nums); {
		end := start + 1
		for end < len(nums) && nums[end] == nums[end-1]+1 {
			end++
		}
		fmt.Fprintf(w.buf, "%d %d\n", nums[start], end-start)
		for _, n := range nums[start:end] {
			if n == 0 {
				w.buf.WriteString("0000000000 65535 f\r\n")
				continue
			}
			fmt.Fprintf(w.buf, "%010d 00000 n\r\n", w.offsets[n])
		}
		start = end
	}
	fmt.Fprintf(w.buf, "trailer\n<< /Size %d /Root %d 0 R", size, catalogObj)
	if prev >= 0 {
		fmt.Fprintf(w.buf, " /Prev %d", prev)
	}
	fmt.Fprintf(w.buf, " >>\nstartxref\n%d\n%%%%EOF\n", xref)
}
