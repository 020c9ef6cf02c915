// Package config holds the hub's whole configuration as typed structs, one
// per component, and is the only package that imports viper. Other packages
// take these structs (or values derived from them) in their constructors.
//
// Load reads, from lowest to highest precedence: the defaults of Default, a
// YAML, JSON or TOML file (by extension), environment variables and the
// command-line flags that were set. Keys are lowerCamel and nested by
// section (hub.readHeaderTimeout, blob.s3.partSize). The environment
// variable of a key is LIENTHONG_ followed by its path in upper snake case:
// hub.readHeaderTimeout is LIENTHONG_HUB_READ_HEADER_TIMEOUT and
// blob.s3.secretKey is LIENTHONG_BLOB_S3_SECRET_KEY; lists are comma
// separated (LIENTHONG_BUS_BROKERS=kafka-1:9092,kafka-2:9092). The agencies
// list has no environment form. A flag sets the key it is bound to with
// BindFlag, or the key its name spells (hub.addr, hub.read-header-timeout).
//
// Unknown keys are an error that names them, so a misspelt key cannot
// silently leave a setting at its default. Durations need a unit (10s);
// sizes are bytes or a number with a unit (16MiB, 1GB). Values that YAML
// reads as numbers or booleans are refused where text is expected: an
// unquoted 0101234567.001 would otherwise become a float and lose the id.
//
// Validate reports every problem at once, each wrapped with the key's path
// and one of the Err values, for example
// "blob.s3.bucket: required when blob.kind is s3".
//
// Secret values (tokens, keys) print, log and marshal as "[redacted]"; only
// Reveal returns them.
package config
