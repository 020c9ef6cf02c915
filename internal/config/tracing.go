package config

import "net/url"

// Tracing configures OpenTelemetry traces (docs/OPERATIONS.md, Traces).
// Off unless Endpoint is set.
type Tracing struct {
	// Endpoint is the OTLP/HTTP collector's base URL, such as
	// http://otel-collector:4318; spans go to <Endpoint>/v1/traces.
	Endpoint string `mapstructure:"endpoint" json:"endpoint"`
	// SampleRatio is the share of new traces recorded, from 0 to 1
	// (0: the default, 1). A continued trace follows its caller's choice.
	SampleRatio float64 `mapstructure:"sampleRatio" json:"sampleRatio"`
}

func (t Tracing) validate(p *problems) {
	if t.Endpoint != "" {
		if u, err := url.Parse(t.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.addf("tracing.endpoint", "%w %q: want an http(s) URL such as http://otel-collector:4318", ErrBadURL, t.Endpoint)
		}
	}
	if t.SampleRatio < 0 || t.SampleRatio > 1 {
		p.addf("tracing.sampleRatio", "%w %v: want a number from 0 to 1", ErrOutOfRange, t.SampleRatio)
	}
}
