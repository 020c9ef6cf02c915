package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitInvalid = 1
	ExitUsage   = 2
)

type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

var commands = map[string]command{
	"dev":      {"run the hub on the embedded default: broker, store, hub, demo agencies", runDev},
	"serve":    {"run the hub from a configuration file (production)", runServe},
	"broker":   {"run the embedded Kafka-protocol broker (kfake) alone", runBroker},
	"validate": {"check an edXML packet and print the result as JSON", runValidate},
	"verify":   {"verify a packet's signatures (detached CMS, enveloped XML-DSig)", runVerify},
	"sign":     {"make a detached CMS signature over a file, or sign inside a PDF (--pdf)", runSign},
	"pki":      {"a development PKI: init, issue, crl", runPKI},
	"bench":    {"load-test a hub with signed packets; measure it against the raw store+broker floor", runBench},
	"dlq":      {"list or replay the dead-letter topic (operators)", runDLQ},
	"agencies": {"add, change, retire or list agencies at run time, for every replica (operators)", runAgencies},
	"audit":    {"check the verifiable log offline: a proof bundle, two checkpoints; make a log key", runAudit},
	"secret":   {"seal a secret (AES-GCM under LIENTHONG_SECRETS_KEY) or make a token for a configuration file", runSecret},
	"version":  {"print the version", runVersion},
	"send":     {"sign and send a packet to a hub; print the receipt", runSend},
	"inbox":    {"list the pending items of an agency's inbox as JSON lines", runInbox},
	"fetch":    {"fetch a packet's exact bytes, digest checked", runFetch},
	"ack":      {"acknowledge an inbox item (done or fail)", runAck},
	"status":   {"answer a received document with a signed status packet", runStatus},
	"timeline": {"print a packet's per-recipient timeline", runTimeline},
	"track":    {"a packet's per-recipient timeline (as timeline)", runTimeline},
}

// Run runs the subcommand named by args[0] and returns the exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "lienthong: unknown command %q\n\n", args[0])
		usage(stderr)
		return ExitUsage
	}
	return c.run(ctx, args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: lienthong COMMAND [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'lienthong COMMAND -h' for a command's flags.")
}

// newFlags makes a flag set that reports errors instead of exiting.
func newFlags(name, args string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: lienthong %s %s\n", name, args)
		var b strings.Builder
		printFlags(&b, fs)
		if b.Len() > 0 {
			fmt.Fprintf(stderr, "\nFlags:\n%s", b.String())
		}
	}
	return fs
}

// printFlags lists fs's flags the way the usage lines and docs spell them
// (--name; -o, the one-letter flags, with one dash), each default once:
// flag.PrintDefaults writes -name and adds "(default ...)" even where the
// text already says what the default is.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		dash := "--"
		if len(f.Name) == 1 {
			dash = "-"
		}
		arg, usage := flag.UnquoteUsage(f)
		if arg == "value" && isBoolFlag(f) {
			arg = ""
		}
		line := "  " + dash + f.Name
		if arg != "" {
			line += " " + arg
		}
		fmt.Fprintf(w, "%s\n    \t%s", line, strings.ReplaceAll(usage, "\n", "\n    \t"))
		if !strings.Contains(usage, "default") && !zeroDefault(f) {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// zeroDefault tells a flag whose default is its type's zero value, which
// says nothing worth printing.
func zeroDefault(f *flag.Flag) bool {
	switch f.DefValue {
	case "", "0", "false", "0s", "[]":
		return true
	}
	return false
}

// flagsFailed is the exit code after parseFlags failed: 0 when help was
// asked for (-h, --help) and printed, 2 for a usage error.
func flagsFailed(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	return ExitUsage
}

// parseFlags parses flags placed before or after the positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// subcommand is one subcommand of a command that has several (pki, dlq,
// agencies, audit), in the order its usage lists them.
type subcommand struct{ name, summary string }

// pickSubcommand reads args[0] as one of subs. With none, or a help flag,
// it prints the command's usage: exit 2 with none, 0 for help. An unknown
// one is a usage error. ok reports a subcommand picked.
func pickSubcommand(command, rest string, subs []subcommand, args []string, stderr io.Writer) (name string, code int, ok bool) {
	names := make([]string, len(subs))
	width := 0
	for i, s := range subs {
		names[i] = s.name
		width = max(width, len(s.name)+1)
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(stderr, "Usage: lienthong %s %s %s\n", command, strings.Join(names, "|"), rest)
		for _, s := range subs {
			fmt.Fprintf(stderr, "  %-*s %s\n", width, s.name, s.summary)
		}
		if len(args) == 0 {
			return "", ExitUsage, false
		}
		return "", ExitOK, false
	}
	if !slices.Contains(names, args[0]) {
		want := names[0]
		if len(names) > 1 {
			want = strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
		}
		fmt.Fprintf(stderr, "lienthong %s: unknown subcommand %q (want %s)\n", command, args[0], want)
		return "", ExitUsage, false
	}
	return args[0], 0, true
}
