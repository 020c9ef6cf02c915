package cli

import (
	"bytes"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// Every subcommand's help exits 0, spells its flags --name (one-letter
// flags -o), and shows each default once: not in the usage line and again
// in the flag list, nor twice in one flag's text.
func TestHelp(t *testing.T) {
	var tests [][]string
	for name := range commands {
		tests = append(tests, []string{name, "--help"})
	}
	for name := range pkiSubcommands {
		tests = append(tests, []string{"pki", name, "--help"})
	}
	tests = append(tests, []string{"dlq", "list", "--help"}, []string{"dlq", "replay", "--help"}, []string{"--help"})
	for _, s := range agenciesSubcommands {
		tests = append(tests, []string{"agencies", s.name, "--help"})
	}
	for _, s := range auditSubcommands {
		tests = append(tests, []string{"audit", s.name, "--help"})
	}
	sort.Slice(tests, func(i, j int) bool { return strings.Join(tests[i], " ") < strings.Join(tests[j], " ") })
	singleDash := regexp.MustCompile(`(?m)^\s+-[A-Za-z][A-Za-z-]+\b`)
	flagLine := regexp.MustCompile(`^\s+--?[A-Za-z]`)
	defaultOf := regexp.MustCompile(`\(default:? ([^)]+)\)`)
	for _, tt := range tests {
		t.Run(strings.Join(tt, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := Run(t.Context(), tt, &out, &errOut); code != ExitOK {
				t.Errorf("exit %d, want 0\n%s", code, errOut.String())
			}
			help := out.String() + errOut.String()
			if !strings.Contains(help, "Usage:") {
				t.Errorf("no usage:\n%s", help)
			}
			if m := singleDash.FindString(help); m != "" {
				t.Errorf("a flag spelled %q; want --name\n%s", strings.TrimSpace(m), help)
			}
			if tt[0] == "dev" && !strings.Contains(help, "DIR/dev/agencies.json") {
				t.Errorf("dev's help does not say what it writes:\n%s", help)
			}
			usage, _, _ := strings.Cut(help, "\n")
			// Split the flag list into one block per flag.
			var blocks []string
			for _, line := range strings.Split(help, "\n")[1:] {
				switch {
				case flagLine.MatchString(line):
					blocks = append(blocks, line)
				case len(blocks) > 0 && strings.HasPrefix(line, "    "):
					blocks[len(blocks)-1] += "\n" + line
				}
			}
			for _, b := range blocks {
				if n := strings.Count(b, "default"); n > 1 {
					t.Errorf("a default shown %d times:\n%s", n, b)
				}
				name := strings.Fields(b)[0]
				for _, m := range defaultOf.FindAllStringSubmatch(b, -1) {
					// "[--addr 127.0.0.1:8080]", not "--algorithm ecdsa|rsa".
					inUsage := regexp.MustCompile(regexp.QuoteMeta(name+" "+m[1]) + `[\] ]`)
					if inUsage.MatchString(usage + " ") {
						t.Errorf("default %q in the usage line and the flag list:\n%s", m[1], help)
					}
				}
			}
		})
	}
}
