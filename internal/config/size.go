package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ByteSize is a count of bytes. In a file or the environment it is a plain
// number or an integer with a unit: B, KB, MB, GB, TB (powers of 1000) or
// KiB, MiB, GiB, TiB (powers of 1024), case-insensitive.
type ByteSize int64

// Byte units.
const (
	KiB ByteSize = 1 << (10 * (iota + 1))
	MiB
	GiB
	TiB
)

var sizeUnits = map[string]ByteSize{
	"": 1, "b": 1,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	"kib": KiB, "mib": MiB, "gib": GiB, "tib": TiB,
}

// UnmarshalText parses a size such as 1073741824, 16MiB or 1 GB.
func (s *ByteSize) UnmarshalText(text []byte) error {
	t := strings.TrimSpace(string(text))
	i := strings.IndexFunc(t, func(r rune) bool { return r < '0' || r > '9' })
	if i < 0 {
		i = len(t)
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult, ok := sizeUnits[unit]
	if num == "" || !ok {
		return fmt.Errorf("size %q: want a whole number of bytes, optionally with a unit such as KiB, MiB, GiB or MB", t)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n > math.MaxInt64/int64(mult) {
		return fmt.Errorf("size %q: too large", t)
	}
	*s = ByteSize(n) * mult
	return nil
}

// String formats s in the largest binary unit that divides it exactly.
func (s ByteSize) String() string {
	for _, u := range []struct {
		size ByteSize
		name string
	}{{TiB, "TiB"}, {GiB, "GiB"}, {MiB, "MiB"}, {KiB, "KiB"}} {
		if s != 0 && s%u.size == 0 {
			return strconv.FormatInt(int64(s/u.size), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10) + "B"
}
