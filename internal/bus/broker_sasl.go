package bus

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/lienthong/lienthong/internal/atomicfile"
)

// kfake reloads the SASL users of an earlier run from sasl.json in its data
// directory over those of its options, so a superuser whose password was
// changed, or who was added after a run without SASL, would keep the old
// password or be lost. persistSuperuser writes the configured one into that
// file before the broker starts. The fields are kfake's persistSASL.
type kfakeSASL struct {
	Version  int                   `json:"version"`
	Plain    map[string]string     `json:"plain,omitempty"`
	Scram256 map[string]kfakeScram `json:"scram256,omitempty"`
	Scram512 map[string]kfakeScram `json:"scram512,omitempty"`
}

type kfakeScram struct {
	Mechanism  string `json:"mechanism"`
	Salt       []byte `json:"salt"`
	SaltedPass []byte `json:"salted_pass"`
	Iterations int    `json:"iterations"`
}

// superuserFile, in the data directory, names the superuser of the last
// start. kfake makes a superuser of any credential under that name, so a
// renamed superuser's old name must lose its credentials.
const superuserFile = "lienthong-superuser.json"

func persistSuperuser(dir string, su SASL) error {
	path := filepath.Join(dir, "sasl.json")
	prev, err := previousSuperuser(dir)
	if err != nil {
		return err
	}
	var st kfakeSASL
	raw, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		meta, err := os.ReadFile(filepath.Join(dir, "meta.json"))
		if errors.Is(err, fs.ErrNotExist) {
			return recordSuperuser(dir, su.User) // a new broker: the options suffice
		}
		if err != nil {
			return fmt.Errorf("broker superuser: %w", err)
		}
		var m struct {
			Version int `json:"version"`
		}
		if err := json.Unmarshal(meta, &m); err != nil {
			return fmt.Errorf("broker superuser: meta.json: %w", err)
		}
		st.Version = m.Version
	case err != nil:
		return fmt.Errorf("broker superuser: %w", err)
	default:
		if err := json.Unmarshal(raw, &st); err != nil {
			return fmt.Errorf("broker superuser: sasl.json: %w", err)
		}
	}
	// Only the configured mechanism keeps a credential of the superuser,
	// and a previous superuser keeps none: an old password must not log
	// in through another mechanism, nor an old name stay a user.
	for _, u := range []string{su.User, prev} {
		if u == "" {
			continue
		}
		delete(st.Plain, u)
		delete(st.Scram256, u)
		delete(st.Scram512, u)
	}
	switch m := su.mechanism(); m {
	case MechanismPlain:
		if st.Plain == nil {
			st.Plain = map[string]string{}
		}
		st.Plain[su.User] = su.Password
	case MechanismSCRAM256, MechanismSCRAM512:
		cred, err := scramCredential(m, su.Password, scramIterations)
		if err != nil {
			return fmt.Errorf("broker superuser: %w", err)
		}
		target := &st.Scram512
		if m == MechanismSCRAM256 {
			target = &st.Scram256
		}
		if *target == nil {
			*target = map[string]kfakeScram{}
		}
		(*target)[su.User] = kfakeScram{Mechanism: m, Salt: cred.salt, SaltedPass: cred.salted, Iterations: cred.iterations}
	}
	out, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(path, out, 0o600); err != nil {
		return fmt.Errorf("broker superuser: %w", err)
	}
	return recordSuperuser(dir, su.User)
}

func previousSuperuser(dir string) (string, error) {
	raw, err := os.ReadFile(filepath.Join(dir, superuserFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("broker superuser: %w", err)
	}
	var rec struct {
		User string `json:"user"`
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		return "", fmt.Errorf("broker superuser: %s: %w", superuserFile, err)
	}
	return rec.User, nil
}

func recordSuperuser(dir, user string) error {
	out, err := json.Marshal(struct {
		User string `json:"user"`
	}{user})
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, superuserFile), out, 0o600); err != nil {
		return fmt.Errorf("broker superuser: %w", err)
	}
	return nil
}

// scramSalted is a SCRAM credential as Kafka stores it (RFC 5802
// SaltedPassword), for AlterUserScramCredentials and kfake's file.
type scramSalted struct {
	salt, salted []byte
	iterations   int
}

func scramCredential(mechanism, password string, iterations int) (scramSalted, error) {
	var h func() hash.Hash
	var size int
	switch mechanism {
	case MechanismSCRAM256:
		h, size = sha256.New, sha256.Size
	case MechanismSCRAM512:
		h, size = sha512.New, sha512.Size
	default:
		return scramSalted{}, fmt.Errorf("%w %q", ErrBadMechanism, mechanism)
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return scramSalted{}, err
	}
	salted, err := pbkdf2.Key(h, password, salt, iterations, size)
	if err != nil {
		return scramSalted{}, err
	}
	return scramSalted{salt: salt, salted: salted, iterations: iterations}, nil
}
