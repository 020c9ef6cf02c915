package config

import (
	"reflect"

	"github.com/lienthong/lienthong/internal/edxml"
)

// Limits are edxml.Limits as configured: the same fields by name, with
// ByteSize for the byte counts so a file may write "4MiB". A zero field
// takes the edxml default. Edxml and validate walk the fields, so a limit
// is written here once (TestLimitsMatchEdxml keeps the two in step).
type Limits struct {
	MaxDepth           int      `mapstructure:"maxDepth" json:"maxDepth"`
	MaxMarkupBytes     ByteSize `mapstructure:"maxMarkupBytes" json:"maxMarkupBytes"`
	MaxFieldBytes      ByteSize `mapstructure:"maxFieldBytes" json:"maxFieldBytes"`
	MaxElements        int      `mapstructure:"maxElements" json:"maxElements"`
	MaxAttrs           int      `mapstructure:"maxAttrs" json:"maxAttrs"`
	MaxTotalAttrs      int      `mapstructure:"maxTotalAttrs" json:"maxTotalAttrs"`
	MaxRecipients      int      `mapstructure:"maxRecipients" json:"maxRecipients"`
	MaxAttachments     int      `mapstructure:"maxAttachments" json:"maxAttachments"`
	MaxAttachmentBytes ByteSize `mapstructure:"maxAttachmentBytes" json:"maxAttachmentBytes"`
	MaxTotalBytes      ByteSize `mapstructure:"maxTotalBytes" json:"maxTotalBytes"`
	MaxZipEntries      int      `mapstructure:"maxZipEntries" json:"maxZipEntries"`
	MaxZipBytes        ByteSize `mapstructure:"maxZipBytes" json:"maxZipBytes"`
	MaxZipRatio        int64    `mapstructure:"maxZipRatio" json:"maxZipRatio"`
}

// Edxml is l as edxml.Limits, field by name; zero fields stay zero, which
// edxml reads as its defaults.
func (l Limits) Edxml() edxml.Limits {
	var out edxml.Limits
	dst := reflect.ValueOf(&out).Elem()
	src := reflect.ValueOf(l)
	for i := range src.NumField() {
		f := dst.FieldByName(src.Type().Field(i).Name)
		f.SetInt(src.Field(i).Int())
	}
	return out
}

func (l Limits) validate(p *problems) {
	v := reflect.ValueOf(l)
	for i := range v.NumField() {
		if n := v.Field(i).Int(); n < 0 {
			p.addf("limits."+v.Type().Field(i).Tag.Get("mapstructure"), "%w (got %d; 0 takes the default)", ErrNegative, n)
		}
	}
}
