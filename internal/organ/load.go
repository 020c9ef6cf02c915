package organ

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// file is the on-disk shape of a directory: {"agencies": [...]}.
type file struct {
	Agencies []Agency `json:"agencies" yaml:"agencies"`
}

// LoadDirectory reads a directory file under the default Policy.
func LoadDirectory(path string) (*Directory, error) {
	return Policy{}.LoadDirectory(path)
}

// LoadDirectory reads a JSON (.json) or YAML (.yaml, .yml) directory file and
// validates it like NewDirectory. Unknown fields are an error, so a misspelt
// key cannot silently drop a setting such as a certificate pin.
func (p Policy) LoadDirectory(path string) (*Directory, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load agency directory: %w", err)
	}
	var f file
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".json":
		err = decodeJSON(data, &f)
	case ".yaml", ".yml":
		err = decodeYAML(data, &f)
	default:
		err = fmt.Errorf("unknown extension %q, want .json, .yaml or .yml", ext)
	}
	if err != nil {
		return nil, fmt.Errorf("load agency directory %s: %w", path, err)
	}
	d, err := p.NewDirectory(f.Agencies)
	if err != nil {
		return nil, fmt.Errorf("load agency directory %s: %w", path, err)
	}
	return d, nil
}

func decodeJSON(data []byte, f *file) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(f); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("empty file")
		}
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the top-level object")
	}
	return nil
}

func decodeYAML(data []byte, f *file) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(f); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("empty file")
		}
		return err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("more than one YAML document")
	}
	return nil
}
