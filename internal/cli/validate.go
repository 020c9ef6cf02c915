package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/lienthong/lienthong/internal/edxml"
)

// validateResult is the contract JSON of `lienthong validate` (docs/contracts.md, CLI).
type validateResult struct {
	Valid       bool             `json:"valid"`
	Kind        *string          `json:"kind"`
	ID          *string          `json:"id"`
	DocumentID  *string          `json:"documentId"`
	From        *string          `json:"from"`
	To          []string         `json:"to"`
	Errors      []edxml.Problem  `json:"errors"`
	Warnings    []edxml.Problem  `json:"warnings"`
	Attachments []attachmentInfo `json:"attachments,omitempty"`
}

type attachmentInfo struct {
	ContentID   string           `json:"contentId"`
	Name        string           `json:"name"`
	ContentType string           `json:"contentType"`
	Format      string           `json:"format,omitempty"`
	Size        int64            `json:"size"`
	SHA256      string           `json:"sha256"`
	Zip         []edxml.ZipEntry `json:"zip,omitempty"`
}

func runValidate(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("validate", "FILE (- for standard input)", stderr)
	lower := fs.Bool("allow-lowercase-ids", false, "accept lowercase OrganIds, as test systems use")
	kind := fs.String("kind", "", "the kind the sender declared (edoc or status); the other kind is edxml.kind_mismatch")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return flagsFailed(err)
	}
	if len(pos) != 1 {
		fs.Usage()
		return ExitUsage
	}
	if *kind != "" && *kind != string(edxml.KindEdoc) && *kind != string(edxml.KindStatus) {
		fmt.Fprintf(stderr, "lienthong validate: --kind must be edoc or status\n")
		return ExitUsage
	}
	f := os.Stdin
	if pos[0] != "-" {
		if f, err = os.Open(pos[0]); err != nil {
			fmt.Fprintf(stderr, "lienthong validate: %v\n", err)
			return ExitUsage
		}
	}
	defer func() { _ = f.Close() }() // opened read-only: a failed Close loses nothing
	res, err := validateFile(f, edxml.Options{AllowLowercaseIDs: *lower, Kind: edxml.Kind(*kind)})
	if err != nil {
		fmt.Fprintf(stderr, "lienthong validate: %v\n", err)
		return ExitUsage
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(res); err != nil {
		fmt.Fprintf(stderr, "lienthong validate: %v\n", err)
		return ExitUsage
	}
	if !res.Valid {
		return ExitInvalid
	}
	return ExitOK
}

// validateFile parses r; an error is returned only when r itself fails.
func validateFile(r io.Reader, opts edxml.Options) (*validateResult, error) {
	res := &validateResult{To: []string{}, Errors: []edxml.Problem{}, Warnings: []edxml.Problem{}}
	p, err := edxml.Parse(r, opts)
	if err != nil {
		var e *edxml.Error
		if !errors.As(err, &e) {
			return nil, err
		}
		res.Errors = append(res.Errors, e.Problem)
		return res, nil
	}
	str := func(s string) *string { return &s }
	res.Kind, res.ID, res.DocumentID, res.From = str(string(p.Kind)), str(p.ID()), str(p.DocumentID()), str(p.From())
	res.To = append(res.To, p.To()...)
	res.Errors = append(res.Errors, p.Errors...)
	res.Warnings = append(res.Warnings, p.Warnings...)
	res.Valid = p.Valid()
	for _, a := range p.Attachments {
		res.Attachments = append(res.Attachments, attachmentInfo{
			ContentID: a.ContentID, Name: a.AttachmentName, ContentType: a.ContentType,
			Format: a.Format, Size: a.Size, SHA256: a.SHA256, Zip: a.Zip,
		})
	}
	return res, nil
}
