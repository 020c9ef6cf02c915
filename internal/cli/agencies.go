package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lienthong/lienthong/internal/agencies"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/organ"
)

// `lienthong agencies list|add|set|retire`: agencies changed at run time,
// for every replica, through <prefix>agencies (internal/agencies). It
// needs the hub's configuration: its bus, and its console session key,
// which the records' key derives from. Exit 0 ok; 1 when the change is
// refused (invalid entry, unknown or existing agency); 2 for usage and
// environment errors.

var agenciesSubcommands = []subcommand{
	{"list", "print the directory as the hubs see it: configured and run-time agencies"},
	{"add", "add an agency (its inbox topic is created)"},
	{"set", "change an agency's entry: the fields given replace its own"},
	{"retire", "retire an agency: packets to it are refused"},
}

func runAgencies(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	sub, code, ok := pickSubcommand("agencies", "--config FILE [flags]", agenciesSubcommands, args, stderr)
	if !ok {
		return code
	}
	name := "agencies " + sub
	usage := "--config FILE [flags]"
	switch sub {
	case "add", "set":
		usage = "--config FILE --id ORGANID [--name NAME] [--parent ID] [--aliases ID,...] [--endpoint pull|URL|hub:NAME] [--cert-sha256 HEX,...]\n" +
			"  [--webhook-secret-file FILE] [--vdxp-system ID --vdxp-secret-file FILE] [--vdxp-cert-sha256 HEX,...] [--kafka-user NAME --kafka-password-file FILE]"
	case "retire":
		usage = "--config FILE --id ORGANID"
	}
	fs := newFlags(name, usage, stderr)
	path := fs.String("config", "", "the hub's configuration file (its bus and console.sessionKey)")
	timeout := fs.Duration("timeout", time.Minute, "give up after this long")
	by := fs.String("by", "", "who makes the change, for the audit trail (default: cli:USER@HOST)")
	var id, nm, parent, aliases, endpoint, certs *string
	var hookSecret, vdxpSystem, vdxpSecret, vdxpCerts, kafkaUser, kafkaPassword *string
	var asJSON *bool
	if sub == "list" {
		asJSON = fs.Bool("json", false, "print JSON lines")
	} else {
		id = fs.String("id", "", "the agency's OrganId")
	}
	if sub == "add" || sub == "set" {
		nm = fs.String("name", "", "the agency's name")
		parent = fs.String("parent", "", "its parent's OrganId, when its code does not tell")
		aliases = fs.String("aliases", "", "old codes still used by senders, comma-separated")
		endpoint = fs.String("endpoint", "", "pull, an https webhook URL, or hub:NAME (default: pull)")
		certs = fs.String("cert-sha256", "", "SHA-256 fingerprints pinning its signers, comma-separated")
		// Secrets come from files, never the command line (ps, shell
		// history); they travel sealed on the topics.
		hookSecret = fs.String("webhook-secret-file", "", "file holding the secret that signs its webhook deliveries")
		vdxpSystem = fs.String("vdxp-system", "", "the national-axis system id its software signs /vdxp/ requests with (empty: none)")
		vdxpSecret = fs.String("vdxp-secret-file", "", "file holding that system's HMAC secret")
		vdxpCerts = fs.String("vdxp-cert-sha256", "", "SHA-256 fingerprints of the TLS client certificates that system must present, comma-separated")
		kafkaUser = fs.String("kafka-user", "", "its own Kafka user, to read its inbox topic directly (empty: none)")
		kafkaPassword = fs.String("kafka-password-file", "", "file holding that Kafka user's password")
	}
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return flagsFailed(err) // flag printed the usage
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "lienthong %s: "+format+"\n", append([]any{name}, a...)...)
		return code
	}
	switch {
	case len(pos) != 0:
		return fail(ExitUsage, "unexpected argument %q", pos[0])
	case *path == "":
		return fail(ExitUsage, "--config is required")
	case id != nil && *id == "":
		return fail(ExitUsage, "--id is required")
	case *timeout <= 0:
		return fail(ExitUsage, "--timeout must be positive")
	}
	if *by == "" {
		*by = "cli:" + dlqWho()
	}
	cfg, err := config.Load(*path, nil)
	if err != nil {
		return fail(ExitUsage, "%v", err)
	}
	sk := cfg.Console.SessionKey.Reveal()
	if sk == "" {
		return fail(ExitUsage, "console.sessionKey is not set: run-time agencies need it (the hubs do not follow <prefix>agencies without it)")
	}
	dir, err := cfg.LoadDirectory()
	if err != nil {
		return fail(ExitUsage, "%v", err)
	}
	busCfg, err := busConfig(cfg, cfg.Bus.Brokers)
	if err != nil {
		return fail(ExitUsage, "%v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	store, err := agencies.New(ctx, agenciesConfig(cfg, busCfg, sk, dir, nil, nil, slog.New(slog.DiscardHandler)))
	if err != nil {
		return fail(ExitUsage, "%v", err)
	}
	defer store.Close() //nolint:errcheck // its producer only
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- store.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-ran; err != nil {
			fmt.Fprintf(stderr, "lienthong %s: following the topic: %v\n", name, err)
		}
	}()
	if err := store.WaitReady(ctx); err != nil {
		return fail(ExitUsage, "%v", err)
	}

	switch sub {
	case "list":
		return listAgencies(dir, store, *asJSON, stdout)
	case "retire":
		err = store.Retire(ctx, *id, *by)
	case "add", "set":
		a, exists := dir.Lookup(organ.ID(*id))
		if exists && string(a.ID) != *id {
			return fail(ExitInvalid, "%s is an alias of %s", *id, a.ID)
		}
		switch {
		case sub == "add" && exists:
			return fail(ExitInvalid, "%s exists; change it with set", *id)
		case sub == "set" && !exists:
			return fail(ExitInvalid, "%s: %v; add it with add", *id, agencies.ErrUnknown)
		case !exists:
			a = organ.Agency{ID: organ.ID(*id)}
		}
		var sec *agencies.Secrets
		secret := func(file string) (config.Secret, error) {
			b, err := os.ReadFile(file)
			return config.Secret(strings.TrimSpace(string(b))), err
		}
		var readErr error
		fs.Visit(func(f *flag.Flag) {
			if strings.HasPrefix(f.Name, "webhook-") || strings.HasPrefix(f.Name, "vdxp-") || strings.HasPrefix(f.Name, "kafka-") {
				if sec == nil {
					// The fields given replace the agency's current
					// credentials' own; the others stay.
					sec = &agencies.Secrets{}
					for _, c := range store.Credentials() {
						if c.OrganID == string(a.ID) {
							sec = agencies.SecretsOf(c)
						}
					}
				}
			}
			var err error
			switch f.Name {
			case "webhook-secret-file":
				sec.WebhookSecret, err = secret(*hookSecret)
			case "vdxp-system":
				sec.VDXPSystemID = *vdxpSystem
			case "vdxp-secret-file":
				sec.VDXPSecret, err = secret(*vdxpSecret)
			case "vdxp-cert-sha256":
				sec.VDXPCertSHA256 = splitList(*vdxpCerts)
			case "kafka-user":
				sec.KafkaUser = *kafkaUser
			case "kafka-password-file":
				sec.KafkaPassword, err = secret(*kafkaPassword)
			}
			readErr = cmp.Or(readErr, err)
			switch f.Name {
			case "name":
				a.Name = *nm
			case "parent":
				a.Parent = organ.ID(*parent)
			case "aliases":
				a.Aliases = nil
				for _, s := range splitList(*aliases) {
					a.Aliases = append(a.Aliases, organ.ID(s))
				}
			case "endpoint":
				a.Endpoint = *endpoint
			case "cert-sha256":
				a.CertSHA256 = splitList(*certs)
			}
		})
		if readErr != nil {
			return fail(ExitUsage, "%v", readErr)
		}
		err = store.Set(ctx, a, sec, *by)
	}
	switch {
	case errors.Is(err, agencies.ErrInvalid) || errors.Is(err, agencies.ErrUnknown):
		return fail(ExitInvalid, "%v", err)
	case err != nil:
		return fail(ExitUsage, "%v", err)
	}
	fmt.Fprintf(stderr, "lienthong %s: %s done, by %s\n", name, *id, *by)
	return ExitOK
}

func splitList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// listedAgency is an agency as `agencies list --json` prints it.
type listedAgency struct {
	organ.Agency
	Source string    `json:"source"` // "config", "runtime" or "retired"
	By     string    `json:"by,omitempty"`
	At     time.Time `json:"at,omitzero"`
}

func listAgencies(dir *organ.Directory, store *agencies.Store, asJSON bool, stdout io.Writer) int {
	changes := map[string]agencies.Change{}
	for _, c := range store.Changes() {
		changes[c.OrganID] = c
	}
	var list []listedAgency
	for _, a := range dir.Agencies() {
		l := listedAgency{Agency: a, Source: "config"}
		if c, ok := changes[string(a.ID)]; ok {
			l.Source, l.By, l.At = "runtime", c.By, c.At
		}
		list = append(list, l)
	}
	for _, c := range store.Changes() {
		if c.Action == agencies.ActionRetire {
			list = append(list, listedAgency{Agency: organ.Agency{ID: organ.ID(c.OrganID)}, Source: "retired", By: c.By, At: c.At})
		}
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		for _, l := range list {
			if err := enc.Encode(l); err != nil {
				return ExitUsage
			}
		}
		return ExitOK
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ORGANID\tNAME\tENDPOINT\tSOURCE\tBY\tAT")
	for _, l := range list {
		at := ""
		if !l.At.IsZero() {
			at = l.At.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", l.ID, l.Name, l.Endpoint, l.Source, l.By, at)
	}
	if err := w.Flush(); err != nil {
		return ExitUsage
	}
	return ExitOK
}
