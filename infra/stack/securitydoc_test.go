package stack_test

import (
	"encoding/json"
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/essential-ir/essential-ir/infra/stack"
)

// updateSecurityDoc rewrites the statements table and the trust policy of
// Documentation/security.md from the template, keeping each statement's
// reason and leaving "TODO" for a new one (which fails the test until a
// reason is written):
//
//	go test ./infra/stack -run TestSecurityDocument -update-security-doc
var updateSecurityDoc = flag.Bool("update-security-doc", false, "rewrite Documentation/security.md's statements table and trust policy from the template")

// securityDoc is the document, from this package's directory.
const securityDoc = "../../Documentation/security.md"

// statementsHeader heads every table of security.md that lists the role's
// statements; they may be in any section (credential revocation has its
// own).
const statementsHeader = "| Policy | Actions | Resources | Conditions | Why |"

// Markers around the generated trust policy.
const (
	trustBegin = "<!-- trust policy: generated from the template, checked by TestSecurityDocument -->"
	trustEnd   = "<!-- end of trust policy -->"
)

// docRow is one statement of the role as security.md shows it.
type docRow struct {
	policy, actions, resources, conditions, why string
}

// key identifies a statement: everything but the reason.
func (r docRow) key() string {
	return r.policy + " | " + r.actions + " | " + r.resources + " | " + r.conditions
}

// line is the row as a table line.
func (r docRow) line() string {
	return "| " + r.key() + " | " + r.why + " |"
}

// logicalHash is the hash CDK appends to a logical ID.
var logicalHash = regexp.MustCompile(`\$\{([A-Za-z]+?)[0-9A-F]{8}(\.[A-Za-z]+)?\}`)

// readable writes a rendered template string as security.md shows it:
// the aws partition, ${Region}, ${Account} and logical IDs without their
// hash.
func readable(s string) string {
	s = strings.NewReplacer("arn:${AWS::Partition}:", "arn:aws:", "${AWS::Region}", "${Region}", "${AWS::AccountId}", "${Account}").Replace(s)
	return logicalHash.ReplaceAllString(s, "$${$1}")
}

// readableValue renders a template value (a string, a list, an object of
// them) with readable strings.
func readableValue(t *testing.T, v interface{}) interface{} {
	t.Helper()
	switch x := v.(type) {
	case []interface{}:
		out := make([]interface{}, len(x))
		for i, e := range x {
			out[i] = readableValue(t, e)
		}
		return out
	case map[string]interface{}:
		if s, err := render(x); err == nil {
			return readable(s)
		}
		out := map[string]interface{}{}
		for k, e := range x {
			out[k] = readableValue(t, e)
		}
		return out
	case string:
		return readable(x)
	}
	return v
}

// code writes values as inline code, joined by sep.
func code(values []string, sep string) string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = "`" + v + "`"
	}
	return strings.Join(out, sep)
}

// roleRows are the statements of every policy of the role, as rows without
// reasons.
func roleRows(t *testing.T) []docRow {
	t.Helper()
	var rows []docRow
	for _, policy := range append([]string{"ContainmentPolicy", "LoggingAndTracingPolicy"}, optionalPolicies...) {
		for _, s := range policyStatements(t, policy) {
			if s.Effect != "Allow" {
				t.Errorf("%s has a %s statement", policy, s.Effect)
			}
			var resources []string
			for _, r := range s.Resources {
				resources = append(resources, readable(r))
			}
			conditions := "none"
			if len(s.Condition) > 0 {
				raw, err := json.Marshal(readableValue(t, map[string]interface{}(s.Condition)))
				if err != nil {
					t.Fatal(err)
				}
				conditions = "`" + string(raw) + "`"
			}
			rows = append(rows, docRow{policy: policy, actions: code(s.Actions, " "), resources: code(resources, "<br>"), conditions: conditions})
		}
	}
	return rows
}

// docTables reads every statements table of the document: its rows, and
// the lines each table spans.
func docTables(lines []string) (rows []docRow, tables [][2]int) {
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != statementsHeader {
			continue
		}
		start := i
		i += 2 // the header and its separator
		for ; i < len(lines) && strings.HasPrefix(lines[i], "|"); i++ {
			cells := strings.Split(strings.Trim(strings.TrimSpace(lines[i]), "|"), " | ")
			if len(cells) != 5 {
				rows = append(rows, docRow{policy: "unreadable row: " + lines[i]})
				continue
			}
			for j := range cells {
				cells[j] = strings.TrimSpace(cells[j])
			}
			rows = append(rows, docRow{cells[0], cells[1], cells[2], cells[3], cells[4]})
		}
		tables = append(tables, [2]int{start, i})
	}
	return rows, tables
}

// trustBlock is the trust policy's statements as security.md shows them.
func trustBlock(t *testing.T) string {
	t.Helper()
	_, role := resource(t, "AWS::IAM::Role", stack.RoleID)
	raw, err := json.MarshalIndent(readableValue(t, dig(role, "Properties", "AssumeRolePolicyDocument", "Statement")), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return "```json\n" + string(raw) + "\n```"
}

// TestSecurityDocument: Documentation/security.md lists every statement of
// every policy of the role, exactly as the template has it, each with a
// reason, and shows the trust policy as the template has it, so the
// document cannot drift from what is deployed. A statement added to the
// role fails this test until security.md gives its reason.
func TestSecurityDocument(t *testing.T) {
	raw, err := os.ReadFile(securityDoc)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	documented, tables := docTables(lines)
	if len(tables) == 0 {
		t.Fatalf("%s has no table headed %q", securityDoc, statementsHeader)
	}
	want := roleRows(t)
	if *updateSecurityDoc {
		writeSecurityDoc(t, lines, documented, tables, want)
		return
	}
	reasons := map[string]string{}
	for _, r := range documented {
		if _, dup := reasons[r.key()]; dup {
			t.Errorf("%s lists twice: %s", securityDoc, r.key())
		}
		reasons[r.key()] = r.why
	}
	for _, r := range want {
		why, ok := reasons[r.key()]
		switch {
		case !ok:
			t.Errorf("%s does not list the role's statement\n%s\n(run go test ./infra/stack -run TestSecurityDocument -update-security-doc, then write its reason)", securityDoc, r.key())
		case len(why) < 40 || strings.Contains(why, "TODO"):
			t.Errorf("%s gives no reason (at least 40 characters) for\n%s", securityDoc, r.key())
		}
		delete(reasons, r.key())
	}
	for k := range reasons {
		t.Errorf("%s lists a statement the role does not have:\n%s", securityDoc, k)
	}
	block := trustBlock(t)
	text := string(raw)
	begin, end := strings.Index(text, trustBegin), strings.Index(text, trustEnd)
	if begin < 0 || end < begin || strings.TrimSpace(text[begin+len(trustBegin):end]) != block {
		t.Errorf("%s does not show the trust policy the template has, between %q and %q:\n%s", securityDoc, trustBegin, trustEnd, block)
	}
}

// writeSecurityDoc rewrites the first statements table with the role's
// statements that no other table lists, keeping the reasons, and the trust
// policy block.
func writeSecurityDoc(t *testing.T, lines []string, documented []docRow, tables [][2]int, want []docRow) {
	t.Helper()
	reasons := map[string]string{}
	for _, r := range documented {
		reasons[r.key()] = r.why
	}
	elsewhere := map[string]bool{}
	for _, tb := range tables[1:] {
		rows, _ := docTables(lines[tb[0]:tb[1]])
		for _, r := range rows {
			elsewhere[r.key()] = true
		}
	}
	table := []string{statementsHeader, "|---|---|---|---|---|"}
	for _, r := range want {
		if elsewhere[r.key()] {
			continue
		}
		r.why = reasons[r.key()]
		if r.why == "" {
			r.why = "TODO: why the workflow needs it"
		}
		table = append(table, r.line())
	}
	first := tables[0]
	out := append(append(append([]string{}, lines[:first[0]]...), table...), lines[first[1]:]...)
	text := strings.Join(out, "\n")
	begin, end := strings.Index(text, trustBegin), strings.Index(text, trustEnd)
	if begin < 0 || end < begin {
		t.Fatalf("%s has no %q ... %q markers", securityDoc, trustBegin, trustEnd)
	}
	text = text[:begin+len(trustBegin)] + "\n" + trustBlock(t) + "\n" + text[end:]
	if err := os.WriteFile(securityDoc, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("rewrote %s: %d statements in its first table", securityDoc, len(table)-2)
}
