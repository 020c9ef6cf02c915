package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/push"
)

// `lienthong dlq list|replay`: the operator's view of <prefix>dead-letter
// (docs/push.md). Exit 0 ok; 1 when an entry asked for does not exist or
// cannot be replayed (nothing is produced then); 2 for usage and
// environment errors (bad flags, brokers unreachable, no such topic).

var dlqSubcommands = map[string]struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}{
	"list":   {"print the dead-letter entries, oldest first", runDLQList},
	"replay": {"produce entries back to their original topics", runDLQReplay},
}

// runDLQ is `lienthong dlq`.
func runDLQ(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	subs := []subcommand{{"list", dlqSubcommands["list"].summary}, {"replay", dlqSubcommands["replay"].summary}}
	name, code, ok := pickSubcommand("dlq", "--brokers HOST:PORT,... [flags]", subs, args, stderr)
	if !ok {
		return code
	}
	return dlqSubcommands[name].run(ctx, args[1:], stdout, stderr)
}

// dlqFlags are the flags both subcommands have.
type dlqFlags struct {
	name     string
	brokers  *string
	prefix   *string
	endpoint *string
	asJSON   *bool
	timeout  *time.Duration
	// config names the hub's configuration, whose bus.tls and bus.sasl
	// (and brokers and prefix, unless given) secure the connection.
	config *string
	sec    *bus.Config
}

func addDLQFlags(fs *flag.FlagSet, name string) dlqFlags {
	return dlqFlags{
		name:     name,
		brokers:  fs.String("brokers", os.Getenv("LIENTHONG_BROKERS"), "Kafka brokers, HOST:PORT,... (default: $LIENTHONG_BROKERS)"),
		prefix:   fs.String("prefix", push.DefaultPrefix, "topic prefix (bus.topicPrefix)"),
		endpoint: fs.String("endpoint", "", "only entries of this OrganId's inbox (x-endpoint, or the original topic)"),
		asJSON:   fs.Bool("json", false, "print JSON lines"),
		timeout:  fs.Duration("timeout", time.Minute, "give up after this long"),
		config:   fs.String("config", "", "the hub's configuration: its bus.tls and bus.sasl, and its brokers and prefix unless given"),
		sec:      &bus.Config{},
	}
}

// parse parses args (no positional arguments); ok is false when the
// command must return code.
func (f dlqFlags) parse(fs *flag.FlagSet, args []string) (code int, ok bool) {
	pos, err := parseFlags(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK, false
	}
	if err != nil {
		return ExitUsage, false
	}
	if len(pos) != 0 {
		fmt.Fprintf(fs.Output(), "lienthong %s: unexpected argument %q\n", f.name, pos[0])
		fs.Usage()
		return ExitUsage, false
	}
	if *f.config != "" {
		cfg, err := config.Load(*f.config, nil)
		if err == nil {
			*f.sec, err = busConfig(cfg, cfg.Bus.Brokers)
		}
		if err != nil {
			fmt.Fprintf(fs.Output(), "lienthong %s: %v\n", f.name, err)
			return ExitUsage, false
		}
		if *f.brokers == "" {
			*f.brokers = strings.Join(cfg.Bus.Brokers, ",")
		}
		set := false
		fs.Visit(func(fl *flag.Flag) { set = set || fl.Name == "prefix" })
		if !set {
			*f.prefix = cfg.Bus.TopicPrefix
		}
	}
	if *f.brokers == "" {
		fmt.Fprintf(fs.Output(), "lienthong %s: --brokers is required (or set LIENTHONG_BROKERS, or --config)\n", f.name)
		return ExitUsage, false
	}
	if *f.timeout <= 0 {
		fmt.Fprintf(fs.Output(), "lienthong %s: --timeout must be positive\n", f.name)
		return ExitUsage, false
	}
	if err := f.bus().Validate(); err != nil {
		fmt.Fprintf(fs.Output(), "lienthong %s: --brokers: %v\n", f.name, err)
		return ExitUsage, false
	}
	return 0, true
}

func (f dlqFlags) bus() bus.Config {
	var brokers []string
	for b := range strings.SplitSeq(*f.brokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			brokers = append(brokers, b)
		}
	}
	return bus.Config{Brokers: brokers, ClientID: "lienthong-dlq", DialTimeout: 5 * time.Second, TLS: f.sec.TLS, SASL: f.sec.SASL}
}

func (f dlqFlags) topics() push.Topics { return push.Topics{Prefix: *f.prefix} }

// list reads the dead-letter topic, keeping the entries --endpoint selects.
func (f dlqFlags) list(ctx context.Context, stderr io.Writer) ([]push.DeadLetter, int) {
	all, err := push.ListDeadLetters(ctx, f.bus(), f.topics())
	if err != nil {
		fmt.Fprintf(stderr, "lienthong %s: %v\n", f.name, err)
		if errors.Is(err, bus.ErrUnknownTopic) {
			fmt.Fprintf(stderr, "lienthong %s: is --prefix %q the hub's bus.topicPrefix?\n", f.name, *f.prefix)
		}
		return nil, ExitUsage
	}
	if *f.endpoint == "" {
		return all, ExitOK
	}
	var out []push.DeadLetter
	for _, d := range all {
		if d.Endpoint == *f.endpoint || d.OriginalTopic == f.topics().Inbox(*f.endpoint) {
			out = append(out, d)
		}
	}
	return out, ExitOK
}

// dlqEntry is an entry as `dlq list --json` prints it.
type dlqEntry struct {
	Topic             string            `json:"topic"`
	Partition         int               `json:"partition"`
	Offset            int64             `json:"offset"`
	Time              time.Time         `json:"time"`
	Key               string            `json:"key"`
	OriginalTopic     string            `json:"originalTopic"`
	OriginalPartition *int              `json:"originalPartition,omitempty"`
	OriginalOffset    *int64            `json:"originalOffset,omitempty"`
	FailedAt          *time.Time        `json:"failedAt,omitempty"`
	Error             string            `json:"error"`
	Endpoint          string            `json:"endpoint,omitempty"`
	ReplayOf          string            `json:"replayOf,omitempty"`
	Headers           map[string]string `json:"headers"`
	Value             json.RawMessage   `json:"value,omitempty"`       // when it is JSON
	ValueBase64       string            `json:"valueBase64,omitempty"` // when it is not
	Replays           []push.Replayed   `json:"replays"`
}

func toDLQEntry(d push.DeadLetter) dlqEntry {
	e := dlqEntry{Topic: d.Topic, Partition: d.Partition, Offset: d.Offset, Time: d.Time.UTC(), Key: string(d.Key),
		OriginalTopic: d.OriginalTopic, Error: d.Error, Endpoint: d.Endpoint, ReplayOf: d.ReplayOf, Headers: d.Headers, Replays: d.Replays}
	if e.Headers == nil {
		e.Headers = map[string]string{}
	}
	if e.Replays == nil {
		e.Replays = []push.Replayed{}
	}
	if d.OriginalPartition >= 0 {
		e.OriginalPartition = &d.OriginalPartition
	}
	if d.OriginalOffset >= 0 {
		e.OriginalOffset = &d.OriginalOffset
	}
	if !d.FailedAt.IsZero() {
		at := d.FailedAt.UTC()
		e.FailedAt = &at
	}
	if json.Valid(d.Value) {
		e.Value = d.Value
	} else if len(d.Value) > 0 {
		e.ValueBase64 = base64.StdEncoding.EncodeToString(d.Value)
	}
	return e
}

// dlqRef is how entries are named on the command line: the offset, with
// its partition when the topic has more than partition 0.
func dlqRef(d push.DeadLetter) string {
	if d.Partition == 0 {
		return strconv.FormatInt(d.Offset, 10)
	}
	return strconv.Itoa(d.Partition) + ":" + strconv.FormatInt(d.Offset, 10)
}

// dlqOneLine makes untrusted text safe for one table cell.
func dlqOneLine(s string, limit int) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }), " ")
	if r := []rune(s); len(r) > limit {
		s = string(r[:limit-1]) + "…"
	}
	if s == "" {
		return "-"
	}
	return s
}

func runDLQList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("dlq list", "--brokers HOST:PORT,... [--prefix PREFIX] [--endpoint ORGANID] [--json]", stderr)
	f := addDLQFlags(fs, "dlq list")
	if code, ok := f.parse(fs, args); !ok {
		return code
	}
	ctx, cancel := context.WithTimeout(ctx, *f.timeout)
	defer cancel()
	entries, code := f.list(ctx, stderr)
	if code != ExitOK {
		return code
	}
	if *f.asJSON {
		for _, d := range entries {
			if err := clientWriteJSON(stdout, toDLQEntry(d), false); err != nil {
				fmt.Fprintf(stderr, "lienthong dlq list: %v\n", err)
				return ExitUsage
			}
		}
		return ExitOK
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "OFFSET\tFAILED-AT\tORIGINAL-TOPIC\tKEY\tREPLAYED\tERROR")
	for _, d := range entries {
		failed := "-"
		if !d.FailedAt.IsZero() {
			failed = d.FailedAt.UTC().Format(time.RFC3339)
		}
		replayed := "-"
		if n := len(d.Replays); n > 0 {
			replayed = d.Replays[n-1].ReplayedAt.UTC().Format(time.RFC3339)
			if n > 1 {
				replayed += fmt.Sprintf(" (%d×)", n)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", dlqRef(d), failed, dlqOneLine(d.OriginalTopic, 80),
			dlqOneLine(string(d.Key), 80), replayed, dlqOneLine(d.Error, 200))
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintf(stderr, "lienthong dlq list: %v\n", err)
		return ExitUsage
	}
	fmt.Fprintf(stderr, "%d entries in %s\n", len(entries), f.topics().DeadLetter())
	return ExitOK
}

// dlqOffsets is the repeatable --offset flag: N or PARTITION:N, several
// separated by commas.
type dlqOffsets []dlqOffset

type dlqOffset struct {
	partition int // -1: any
	offset    int64
}

func (o *dlqOffsets) String() string {
	var parts []string
	for _, x := range *o {
		if x.partition < 0 {
			parts = append(parts, strconv.FormatInt(x.offset, 10))
		} else {
			parts = append(parts, fmt.Sprintf("%d:%d", x.partition, x.offset))
		}
	}
	return strings.Join(parts, ",")
}

func (o *dlqOffsets) Set(s string) error {
	for part := range strings.SplitSeq(s, ",") {
		x := dlqOffset{partition: -1}
		off := strings.TrimSpace(part)
		if p, rest, ok := strings.Cut(off, ":"); ok {
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 {
				return fmt.Errorf("partition %q: want a number", p)
			}
			x.partition, off = n, rest
		}
		n, err := strconv.ParseInt(off, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("offset %q: want a number, or PARTITION:OFFSET", part)
		}
		x.offset = n
		*o = append(*o, x)
	}
	return nil
}

func runDLQReplay(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("dlq replay", "--brokers HOST:PORT,... (--offset N ... | --all [--endpoint ORGANID]) [--dry-run] [--prefix PREFIX] [--json]", stderr)
	f := addDLQFlags(fs, "dlq replay")
	var offsets dlqOffsets
	fs.Var(&offsets, "offset", "replay the entry at this offset (N or PARTITION:N); repeat or separate with commas")
	all := fs.Bool("all", false, "replay every entry not replayed yet")
	dry := fs.Bool("dry-run", false, "print what would be replayed, produce nothing")
	if code, ok := f.parse(fs, args); !ok {
		return code
	}
	if (len(offsets) == 0) == !*all {
		fmt.Fprintln(stderr, "lienthong dlq replay: give --offset or --all (one of them)")
		fs.Usage()
		return ExitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, *f.timeout)
	defer cancel()
	entries, code := f.list(ctx, stderr)
	if code != ExitOK {
		return code
	}

	var chosen []push.DeadLetter
	if *all {
		skipped := 0
		for _, d := range entries {
			if len(d.Replays) > 0 {
				skipped++
				continue
			}
			chosen = append(chosen, d)
		}
		if skipped > 0 {
			fmt.Fprintf(stderr, "lienthong dlq replay: %d entries already replayed are skipped (name them with --offset to replay them again)\n", skipped)
		}
	} else {
		for _, o := range offsets {
			var match []push.DeadLetter
			for _, d := range entries {
				if d.Offset == o.offset && (o.partition < 0 || o.partition == d.Partition) {
					match = append(match, d)
				}
			}
			switch len(match) {
			case 0:
				fmt.Fprintf(stderr, "lienthong dlq replay: no entry at offset %s in %s", (&dlqOffsets{o}).String(), f.topics().DeadLetter())
				if *f.endpoint != "" {
					fmt.Fprintf(stderr, " for --endpoint %s", *f.endpoint)
				}
				fmt.Fprintln(stderr)
				return ExitInvalid
			case 1:
			default:
				fmt.Fprintf(stderr, "lienthong dlq replay: offset %d is in several partitions: write PARTITION:%d\n", o.offset, o.offset)
				return ExitUsage
			}
			chosen = append(chosen, match[0])
		}
	}
	// Check every entry before producing any.
	for _, d := range chosen {
		if _, err := push.ReplayMessage(d, f.topics()); err != nil {
			fmt.Fprintf(stderr, "lienthong dlq replay: %v\n", err)
			return ExitInvalid
		}
	}
	if len(chosen) == 0 {
		fmt.Fprintln(stderr, "lienthong dlq replay: nothing to replay")
		return ExitOK
	}
	if *dry {
		for _, d := range chosen {
			if *f.asJSON {
				_ = clientWriteJSON(stdout, struct {
					push.Replayed
					DryRun bool `json:"dryRun"`
				}{push.Replayed{V: 1, Topic: d.Topic, Partition: d.Partition, Offset: d.Offset, Key: string(d.Key), To: d.OriginalTopic}, true}, false)
				continue
			}
			fmt.Fprintf(stdout, "would replay %s\t%s\t→ %s\n", dlqRef(d), dlqOneLine(string(d.Key), 80), d.OriginalTopic)
		}
		fmt.Fprintf(stderr, "lienthong dlq replay: dry run, %d entries, nothing produced\n", len(chosen))
		return ExitOK
	}
	done, err := push.Replay(ctx, f.bus(), f.topics(), chosen, dlqWho(), time.Now())
	for _, r := range done {
		if *f.asJSON {
			_ = clientWriteJSON(stdout, r, false)
			continue
		}
		fmt.Fprintf(stdout, "replayed %s\t%s\t→ %s\n", dlqRef(push.DeadLetter{Partition: r.Partition, Offset: r.Offset}), dlqOneLine(r.Key, 80), r.To)
	}
	if err != nil {
		fmt.Fprintf(stderr, "lienthong dlq replay: %v (%d of %d replayed)\n", err, len(done), len(chosen))
		return ExitUsage
	}
	fmt.Fprintf(stderr, "lienthong dlq replay: %d entries replayed, recorded in %s\n", len(done), f.topics().Replays())
	return ExitOK
}

// dlqWho names the operator in the replay records: user@host.
func dlqWho() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	host, _ := os.Hostname()
	switch {
	case name == "":
		return host
	case host == "":
		return name
	}
	return name + "@" + host
}
