package console

import (
	"fmt"
	"slices"
	"testing"

	"github.com/lienthong/lienthong/internal/agencies"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/organ"
)

// Each problem the directory's and the configuration's rules find, as
// the store wraps them, is said in its own words.
func TestRefusalKeys(t *testing.T) {
	const g22, h29 = "000.00.00.G22", "000.00.00.H29"
	g := organ.Agency{ID: g22, Name: "G22"}
	fp := "ab00000000000000000000000000000000000000000000000000000000000000"
	dirTests := []struct {
		name string
		give []organ.Agency
		want []string
	}{
		{"bad parent", []organ.Agency{g, {ID: h29, Parent: "x"}}, []string{"ag_err_parent"}},
		{"bad alias", []organ.Agency{g, {ID: h29, Aliases: []organ.ID{"y"}}}, []string{"ag_err_alias"}},
		{"alias taken", []organ.Agency{g, {ID: h29, Aliases: []organ.ID{g22}}}, []string{"ag_err_taken"}},
		{"bad endpoint", []organ.Agency{g, {ID: h29, Endpoint: "ftp://parent.example/alias"}}, []string{"ag_err_endpoint"}},
		{"hub with a space", []organ.Agency{g, {ID: h29, Endpoint: "hub:a b"}}, []string{"ag_err_endpoint"}},
		{"bad fingerprint", []organ.Agency{g, {ID: h29, CertSHA256: []string{"abc"}}}, []string{"ag_err_cert"}},
		{"fingerprint twice", []organ.Agency{g, {ID: h29, CertSHA256: []string{fp, fp}}}, []string{"ag_err_cert_twice"}},
		{"bad id", []organ.Agency{g, {ID: "h29"}}, []string{"ag_err_id"}},
		{"two at once", []organ.Agency{g, {ID: h29, Parent: "x", Endpoint: "ftp://x"}}, []string{"ag_err_parent", "ag_err_endpoint"}},
	}
	for _, tt := range dirTests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := organ.NewDirectory(tt.give)
			if err == nil {
				t.Fatal("the directory takes it")
			}
			if got := keys(fmt.Errorf("%w: %w", agencies.ErrInvalid, err)); !slices.Equal(got, tt.want) {
				t.Errorf("%v: got %v, want %v", err, got, tt.want)
			}
		})
	}
	c := config.Agency{OrganID: g22}
	cfgTests := []struct {
		name string
		give config.Agency
		want string
	}{
		{"webhook without secret", config.Agency{OrganID: h29, Endpoint: "https://h29.example/"}, "ag_err_webhook_secret"},
		{"national-axis without secret", config.Agency{OrganID: h29, VDXPSystemID: "s"}, "ag_err_vdxp_pair"},
		{"national-axis secret alone", config.Agency{OrganID: h29, VDXPSecret: "0123456789abcdef0"}, "ag_err_vdxp_pair"},
		{"short national-axis secret", config.Agency{OrganID: h29, VDXPSystemID: "s", VDXPSecret: "short"}, "ag_err_vdxp_weak"},
		{"national-axis system taken", config.Agency{OrganID: h29, VDXPSystemID: "g22-dms", VDXPSecret: "0123456789abcdef0"}, "ag_err_vdxp_taken"},
		{"Kafka password alone", config.Agency{OrganID: h29, Kafka: config.AgencyKafka{Password: "0123456789abcdef0"}}, "ag_err_kafka_pair"},
		{"short Kafka password", config.Agency{OrganID: h29, Kafka: config.AgencyKafka{User: "h29", Password: "short"}}, "ag_err_kafka_weak"},
		{"Kafka user taken", config.Agency{OrganID: h29, Kafka: config.AgencyKafka{User: "g22", Password: "0123456789abcdef0"}}, "ag_err_kafka_taken"},
	}
	c.VDXPSystemID, c.VDXPSecret = "g22-dms", "0123456789abcdef0"
	c.Kafka = config.AgencyKafka{User: "g22", Password: "0123456789abcdef0"}
	cfg := &config.Config{}
	cfg.Bus.SASL.User, cfg.Bus.SASL.Password, cfg.Bus.SASL.Mechanism = "hub", "hub-password-0123456789", "SCRAM-SHA-512"
	for _, tt := range cfgTests {
		t.Run(tt.name, func(t *testing.T) {
			err := cfg.ValidateAgencies([]config.Agency{c, tt.give})
			if err == nil {
				t.Fatal("the configuration's rules take it")
			}
			if got := keys(fmt.Errorf("%w: %w", agencies.ErrInvalid, err)); !slices.Equal(got, []string{tt.want}) {
				t.Errorf("%v: got %v, want %s", err, got, tt.want)
			}
		})
	}
	if got := keys(fmt.Errorf("%w: %w", agencies.ErrInvalid, (&config.Config{}).ValidateAgencies([]config.Agency{
		{OrganID: h29, Kafka: config.AgencyKafka{User: "h29", Password: "0123456789abcdef0"}}}))); !slices.Contains(got, "ag_err_kafka_off") {
		t.Errorf("Kafka users without the hub's own: %v", got)
	}
}

func keys(err error) []string {
	var out []string
	for _, e := range leaves(err) {
		if k := refusalKey(e); !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}
