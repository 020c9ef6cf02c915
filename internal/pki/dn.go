package pki

import (
	"encoding/asn1"
	"encoding/hex"
	"regexp"
	"strings"
	"unicode/utf8"
)

// DNAttr is one attribute of a distinguished name, its type by short name
// where one is known (CN, O, UID, …), else by dotted OID.
type DNAttr struct {
	Type, Value string
}

// dnNames are the short names of attribute types Go's pkix.Name.String
// leaves as a dotted OID with a hex-encoded DER value.
var dnNames = map[string]string{
	"0.9.2342.19200300.100.1.1":  "UID",
	"0.9.2342.19200300.100.1.25": "DC",
	"1.2.840.113549.1.9.1":       "emailAddress",
	"2.5.4.12":                   "T",
	"2.5.4.4":                    "SN",
	"2.5.4.42":                   "GN",
	"2.5.4.13":                   "description",
}

// ParseDN reads a distinguished name in RFC 4514 form as pkix.Name.String
// writes it, decoding "#" hex values (DER strings) and naming the
// attribute types it knows. It never fails: what it cannot decode it
// keeps as written.
func ParseDN(dn string) []DNAttr {
	var out []DNAttr
	for _, rdn := range splitDN(dn) {
		typ, val, ok := strings.Cut(rdn, "=")
		if !ok {
			continue
		}
		typ = strings.TrimSpace(typ)
		if n, ok := dnNames[typ]; ok {
			typ = n
		}
		out = append(out, DNAttr{Type: typ, Value: dnValue(strings.TrimSpace(val))})
	}
	return out
}

// ReadableDN is dn with its hex values decoded and its known OIDs named:
// "0.9.2342.19200300.100.1.1=#130d…" reads "UID=000.00.00.G22".
func ReadableDN(dn string) string {
	attrs := ParseDN(dn)
	parts := make([]string, 0, len(attrs))
	for _, a := range attrs {
		parts = append(parts, a.Type+"="+a.Value)
	}
	return strings.Join(parts, ", ")
}

// DNValue is the first value of the attribute typ (a short name: CN, O,
// UID) in dn, "" when there is none.
func DNValue(dn, typ string) string {
	for _, a := range ParseDN(dn) {
		if strings.EqualFold(a.Type, typ) {
			return a.Value
		}
	}
	return ""
}

// splitDN splits dn at the commas and pluses that separate attributes,
// not at escaped ones.
func splitDN(dn string) []string {
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(dn); i++ {
		switch c := dn[i]; {
		case c == '\\' && i+1 < len(dn):
			cur.WriteByte(c)
			cur.WriteByte(dn[i+1])
			i++
		case c == ',' || c == '+':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	if cur.Len() > 0 {
		parts = append(parts, cur.String())
	}
	return parts
}

// dnValue unescapes an RFC 4514 value, or decodes a "#" DER one.
func dnValue(v string) string {
	if strings.HasPrefix(v, "#") {
		der, err := hex.DecodeString(v[1:])
		if err != nil {
			return v
		}
		var raw asn1.RawValue
		if rest, err := asn1.Unmarshal(der, &raw); err != nil || len(rest) > 0 || raw.Class != asn1.ClassUniversal || !utf8.Valid(raw.Bytes) {
			return v
		}
		switch raw.Tag {
		case asn1.TagUTF8String, asn1.TagPrintableString, asn1.TagIA5String, asn1.TagT61String, asn1.TagNumericString:
			return string(raw.Bytes)
		}
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != '\\' || i+1 >= len(v) {
			b.WriteByte(c)
			continue
		}
		if i+2 < len(v) {
			if x, err := hex.DecodeString(v[i+1 : i+3]); err == nil {
				b.Write(x)
				i += 2
				continue
			}
		}
		b.WriteByte(v[i+1])
		i++
	}
	return b.String()
}

// dnAttrRE matches an attribute Go writes by dotted OID with a DER value.
var dnAttrRE = regexp.MustCompile(`\b([0-9]+(?:\.[0-9]+)+)=(#[0-9a-fA-F]+)`)

// ReadableText rewrites, in free text such as a verifier's message, every
// "OID=#hex" attribute of a quoted DN as ReadableDN would.
func ReadableText(s string) string {
	return dnAttrRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := dnAttrRE.FindStringSubmatch(m)
		typ := sub[1]
		if n, ok := dnNames[typ]; ok {
			typ = n
		}
		return typ + "=" + dnValue(sub[2])
	})
}
