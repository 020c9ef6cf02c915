package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// EnvPrefix starts the name of every environment variable Load reads.
const EnvPrefix = "LIENTHONG"

// FlagAnnotation is the pflag annotation, set by BindFlag, that names the
// key a flag sets.
const FlagAnnotation = "lienthong/config-key"

var fileTypes = map[string]string{".yaml": "yaml", ".yml": "yaml", ".json": "json", ".toml": "toml"}

// Load builds the configuration from the defaults, the file at path (none
// when path is empty; YAML, JSON or TOML by extension), the environment
// and the flags of flags that were set (flags may be nil), in increasing
// precedence, then validates it. Flags that name no key are ignored, so
// flags may hold a command's other flags too.
func Load(path string, flags *pflag.FlagSet) (*Config, error) {
	c, err := load(path, flags)
	if err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", source(path), err)
	}
	return c, nil
}

// CheckOptions tune Check.
type CheckOptions struct {
	// CheckFiles requires the files the configuration names (TLS, trust
	// roots, CRLs, the hub's certificate and key, the directory) to exist
	// and be readable, and the directory file to load. Run with it on the
	// host that will run the hub; without it the file only needs to be
	// well-formed and consistent, which suits checking it elsewhere (CI).
	CheckFiles bool
}

// Check loads and validates the file at path together with the
// environment, like Load, including its files (CheckOptions.CheckFiles).
// It has no side effects. lienthong serve --check-config uses it.
func Check(path string) error { return CheckOptions{CheckFiles: true}.Check(path) }

// Check loads and validates the file at path together with the
// environment under o.
func (o CheckOptions) Check(path string) error {
	c, err := load(path, nil)
	if err != nil {
		return err
	}
	if err := c.validate(o.CheckFiles); err != nil {
		return fmt.Errorf("%s: %w", source(path), err)
	}
	if o.CheckFiles {
		if _, err := c.LoadDirectory(); err != nil {
			return fmt.Errorf("%s: %w", source(path), err)
		}
	}
	return nil
}

func source(path string) string {
	if path == "" {
		return "config"
	}
	return "config " + path
}

// BindFlag makes the flag called name in fs set key, for flags whose name
// is not the key, such as --data for hub.dataDir.
func BindFlag(fs *pflag.FlagSet, name, key string) error {
	k, ok := keyIndex()[normKey(key)]
	if !ok {
		return fmt.Errorf("bind flag --%s: %w %q", name, ErrUnknownKey, key)
	}
	return fs.SetAnnotation(name, FlagAnnotation, []string{k})
}

// EnvName is the environment variable of key, such as
// LIENTHONG_HUB_READ_HEADER_TIMEOUT for hub.readHeaderTimeout.
func EnvName(key string) string {
	var b strings.Builder
	b.WriteString(EnvPrefix)
	for seg := range strings.SplitSeq(key, ".") {
		b.WriteByte('_')
		for i, r := range seg {
			if i > 0 && unicode.IsUpper(r) && !unicode.IsUpper(rune(seg[i-1])) {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToUpper(r))
		}
	}
	return b.String()
}

func load(path string, flags *pflag.FlagSet) (*Config, error) {
	v := viper.New()
	if path != "" {
		typ, ok := fileTypes[strings.ToLower(filepath.Ext(path))]
		if !ok {
			return nil, fmt.Errorf("%s: %w %q (want .yaml, .yml, .json or .toml)", source(path), ErrFileType, filepath.Ext(path))
		}
		v.SetConfigFile(path)
		v.SetConfigType(typ)
		if err := v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("%s: %w", source(path), err)
		}
	}
	for _, k := range keys() {
		if err := v.BindEnv(k, EnvName(k)); err != nil {
			return nil, err
		}
	}
	if flags != nil {
		if err := setFlags(v, flags); err != nil {
			return nil, err
		}
	}
	c := defaults()
	if err := v.UnmarshalExact(c, viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
		textHook, durationHook, mapstructure.TextUnmarshallerHookFunc(), listHook,
	))); err != nil {
		return nil, fmt.Errorf("%s: %w", source(path), decodeErrors(err))
	}
	c.derive()
	if err := c.unseal(); err != nil {
		return nil, fmt.Errorf("%s: %w", source(path), err)
	}
	return c, nil
}

func setFlags(v *viper.Viper, fs *pflag.FlagSet) error {
	index := keyIndex()
	var errs []error
	fs.Visit(func(f *pflag.Flag) {
		key, ok := index[normKey(f.Name)]
		if ann := f.Annotations[FlagAnnotation]; len(ann) > 0 {
			key, ok = index[normKey(ann[0])]
			if !ok {
				errs = append(errs, fmt.Errorf("flag --%s: %w %q", f.Name, ErrUnknownKey, ann[0]))
				return
			}
		}
		if !ok {
			return
		}
		if sv, isSlice := f.Value.(pflag.SliceValue); isSlice {
			v.Set(key, sv.GetSlice())
		} else {
			v.Set(key, f.Value.String())
		}
	})
	return errors.Join(errs...)
}

// Keys lists the keys of all settings that have an environment form
// (EnvName): all but the lists of agencies, peers, accounts and the like.
func Keys() []string { return keys() }

// keys lists the keys of all settings but the agencies, which have no
// environment or flag form.
func keys() []string {
	var out []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for f := range t.Fields() {
			key := prefix + f.Tag.Get("mapstructure")
			switch {
			case f.Type.Kind() == reflect.Struct:
				walk(f.Type, key+".")
			case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			default:
				out = append(out, key)
			}
		}
	}
	walk(reflect.TypeFor[Config](), "")
	return out
}

// keyIndex maps normalized keys to keys.
func keyIndex() map[string]string {
	m := map[string]string{}
	for _, k := range keys() {
		m[normKey(k)] = k
	}
	return m
}

// normKey makes hub.read-header-timeout, hub.readHeaderTimeout and
// HUB.READHEADERTIMEOUT the same key.
func normKey(s string) string {
	return strings.ToLower(strings.NewReplacer("-", "", "_", "").Replace(s))
}

var durationType = reflect.TypeFor[time.Duration]()

// durationHook refuses bare numbers for durations: YAML's 600 would be 600ns.
func durationHook(from, to reflect.Type, data any) (any, error) {
	if to != durationType || from == durationType {
		return data, nil
	}
	switch from.Kind() {
	case reflect.String:
		d, err := time.ParseDuration(strings.TrimSpace(data.(string)))
		if err != nil {
			return nil, fmt.Errorf("want a duration with a unit, such as 10s or 5m: %w", err)
		}
		return d, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return nil, fmt.Errorf("got the number %v; want a duration with a unit, such as 10s or 5m", data)
	}
	return data, nil
}

// textHook refuses numbers and booleans where text is expected: YAML reads
// an unquoted 0101234567.001 as a float, and weak decoding would turn it
// into "1.01234567001e+08".
func textHook(from, to reflect.Type, data any) (any, error) {
	if to.Kind() != reflect.String {
		return data, nil
	}
	switch from.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.Bool:
		return nil, fmt.Errorf("got %v where text is expected; quote the value", data)
	}
	return data, nil
}

// listHook splits a comma-separated string (from the environment or a
// flag) into a list of strings, trimming spaces.
func listHook(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String || to.Kind() != reflect.Slice || to.Elem().Kind() != reflect.String {
		return data, nil
	}
	var out []string
	for s := range strings.SplitSeq(data.(string), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// decodeErrors turns mapstructure's errors into "key: problem" lines, and
// unknown keys into ErrUnknownKey errors naming each key.
func decodeErrors(err error) error {
	var out []error
	var walk func(e error)
	walk = func(e error) {
		// The tree is walked by hand, so errors.As would skip levels.
		if de, ok := e.(*mapstructure.DecodeError); ok { //nolint:errorlint // see above
			inner := de.Unwrap()
			if !hasDecodeError(inner) {
				out = append(out, decodeError(de.Name(), inner))
				return
			}
		}
		switch u := e.(type) { //nolint:errorlint // walks the tree itself
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		default:
			out = append(out, e)
		}
	}
	walk(err)
	return errors.Join(out...)
}

func hasDecodeError(err error) bool {
	var de *mapstructure.DecodeError
	return errors.As(err, &de)
}

func decodeError(name string, err error) error {
	const invalid = "has invalid keys: "
	msg := err.Error()
	if !strings.HasPrefix(msg, invalid) {
		return fmt.Errorf("%s: %w", name, err)
	}
	var errs []error
	for k := range strings.SplitSeq(msg[len(invalid):], ", ") {
		// At the top level mapstructure names the struct type instead.
		if name != "" && name != reflect.TypeFor[Config]().String() {
			k = name + "." + k
		}
		errs = append(errs, fmt.Errorf("%s: %w", k, ErrUnknownKey))
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(errs...)
}
