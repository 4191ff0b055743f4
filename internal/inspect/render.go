package inspect

import (
	"fmt"
	"sort"
	"strings"
)

// Layout of the table Render prints: a label column, the before and after
// columns and the change marker, separated by two spaces (109 columns).
const (
	labelWidth = 22
	cellWidth  = 37
	gap        = "  "
	// ChangedMark marks a row whose before and after values differ.
	ChangedMark = "changed"
	// TableWidth is the width of every line Render prints.
	TableWidth = labelWidth + len(gap) + cellWidth + len(gap) + cellWidth + len(gap) + len(ChangedMark)

	none   = "none"
	absent = "-"
	// unrecorded is the cell of a field the state does not know
	// (InstanceState.Unrecorded).
	unrecorded = "not recorded"
)

// ANSI escapes used when RenderOptions.Color is set.
const (
	ansiBold   = "\x1b[1m"
	ansiYellow = "\x1b[1;33m"
	ansiReset  = "\x1b[0m"
)

// RenderOptions tune Render's output.
type RenderOptions struct {
	// Color highlights section titles and the changed marker with ANSI
	// escapes. Off by default: the table is plain text.
	Color bool
	// BeforeTitle and AfterTitle head the two columns; "BEFORE" and
	// "AFTER" when empty. A title longer than a column is cut.
	BeforeTitle, AfterTitle string
}

// titles returns the column titles, defaults filled in.
func (o RenderOptions) titles() (string, string) {
	b, a := o.BeforeTitle, o.AfterTitle
	if b == "" {
		b = "BEFORE"
	}
	if a == "" {
		a = "AFTER"
	}
	return b, a
}

// Render prints before and after side by side as a fixed-width plain-text
// table (TableWidth columns), one section per containment step in the
// workflow's order, each row marked ChangedMark where the two differ. A nil
// state renders as an empty one.
func Render(before, after *InstanceState) string {
	return RenderWith(before, after, RenderOptions{})
}

// RenderWith is Render with options.
func RenderWith(before, after *InstanceState, opts RenderOptions) string {
	if before == nil {
		before = &InstanceState{}
	}
	if after == nil {
		after = &InstanceState{}
	}
	r := renderer{opts: opts}
	r.title(before, after)
	for _, s := range sections(before, after) {
		r.section(s)
	}
	return r.sb.String()
}

// row is one line group of the table: a label and the two values, each one or
// more lines.
type row struct {
	label         []string
	before, after []string
}

// changed reports whether the row's two values differ; a value that is not
// recorded is not a change.
func (r row) changed() bool {
	if isUnrecorded(r.before) || isUnrecorded(r.after) {
		return false
	}
	return strings.Join(r.before, "\n") != strings.Join(r.after, "\n")
}

func isUnrecorded(cell []string) bool {
	return len(cell) == 1 && cell[0] == unrecorded
}

// section is one containment step and its rows.
type section struct {
	title string
	rows  []row
}

func sections(b, a *InstanceState) []section {
	return []section{
		{"1. Tag", tagRows(b, a)},
		{"2. Auto Scaling", []row{{
			label:  []string{"group"},
			before: knownCell(b, FieldAutoScaling, asgCell(b.AutoScaling)),
			after:  knownCell(a, FieldAutoScaling, asgCell(a.AutoScaling)),
		}}},
		{"3. Termination/stop protection, shutdown behaviour", []row{
			{label: []string{"termination protection"},
				before: known(b, FieldTerminationProtection, onOff(b.TerminationProtection)),
				after:  known(a, FieldTerminationProtection, onOff(a.TerminationProtection))},
			{label: []string{"stop protection"},
				before: known(b, FieldStopProtection, onOff(b.StopProtection)),
				after:  known(a, FieldStopProtection, onOff(a.StopProtection))},
			{label: []string{"shutdown behaviour"},
				before: known(b, FieldShutdownBehavior, orNone(b.ShutdownBehavior)),
				after:  known(a, FieldShutdownBehavior, orNone(a.ShutdownBehavior))},
		}},
		{"4. DeleteOnTermination (per volume)", volumeRows(b, a)},
		{"5. Network (per ENI: groups, inbound/outbound rules)", eniRows(b, a)},
		{"6. Instance profile", []row{{
			label:  []string{"association"},
			before: profileCell(b.InstanceProfile),
			after:  profileCell(a.InstanceProfile),
		}}},
		{"7. Target groups (ELBv2)", targetGroupRows(b, a)},
		{"8. Snapshots (evidence)", snapshotRows(b, a)},
	}
}

// known is value as a cell, or "not recorded" if s does not know field.
func known(s *InstanceState, field, value string) []string {
	return knownCell(s, field, []string{value})
}

// knownCell is cell, or "not recorded" if s does not know field.
func knownCell(s *InstanceState, field string, cell []string) []string {
	if s.IsUnrecorded(field) {
		return []string{unrecorded}
	}
	return cell
}

func onOff(v bool) string {
	if v {
		return "on"
	}
	return "off"
}

func orNone(s string) string {
	if s == "" {
		return none
	}
	return s
}

// union returns the keys of before in order, then those only in after in order.
func union(before, after []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, list := range [][]string{before, after} {
		for _, k := range list {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	return out
}

func tagRows(b, a *InstanceState) []row {
	values := func(s *InstanceState) (map[string]string, []string) {
		m := map[string]string{}
		var keys []string
		for _, t := range s.Tags {
			m[t.Key] = t.Value
			keys = append(keys, t.Key)
		}
		return m, keys
	}
	bm, bk := values(b)
	am, ak := values(a)
	keys := union(bk, ak)
	sort.Strings(keys)
	if len(keys) == 0 {
		return []row{{label: []string{"tags"}, before: []string{none}, after: []string{none}}}
	}
	cell := func(m map[string]string, k string) []string {
		if v, ok := m[k]; ok {
			return []string{v}
		}
		return []string{absent}
	}
	rows := make([]row, 0, len(keys))
	for _, k := range keys {
		rows = append(rows, row{label: []string{k}, before: cell(bm, k), after: cell(am, k)})
	}
	return rows
}

func asgCell(m *AutoScalingMembership) []string {
	if m == nil {
		return []string{none}
	}
	if m.LifecycleState == "" {
		return []string{m.GroupName}
	}
	return []string{fmt.Sprintf("%s (%s)", m.GroupName, m.LifecycleState)}
}

func profileCell(p *ProfileAssociation) []string {
	if p == nil {
		return []string{none}
	}
	if p.State == "" {
		return []string{p.ARN}
	}
	return []string{p.ARN, "(" + p.State + ")"}
}

func volumeRows(b, a *InstanceState) []row {
	ids := func(s *InstanceState) ([]string, map[string]Volume) {
		m := map[string]Volume{}
		var out []string
		for _, v := range s.Volumes {
			m[v.ID] = v
			out = append(out, v.ID)
		}
		return out, m
	}
	bi, bm := ids(b)
	ai, am := ids(a)
	keys := union(bi, ai)
	if len(keys) == 0 {
		return []row{{label: []string{"volumes"}, before: []string{none}, after: []string{none}}}
	}
	cell := func(m map[string]Volume, id string) []string {
		v, ok := m[id]
		if !ok {
			return []string{"not attached"}
		}
		if v.SizeGiB == 0 {
			return []string{fmt.Sprintf("%-5t  %s", v.DeleteOnTermination, v.Device)}
		}
		enc := "unencrypted"
		if v.Encrypted {
			enc = "encrypted"
		}
		return []string{fmt.Sprintf("%-5t  %s, %d GiB, %s", v.DeleteOnTermination, v.Device, v.SizeGiB, enc)}
	}
	rows := make([]row, 0, len(keys))
	for _, id := range keys {
		rows = append(rows, row{label: []string{id}, before: cell(bm, id), after: cell(am, id)})
	}
	return rows
}

func eniRows(b, a *InstanceState) []row {
	ids := func(s *InstanceState) ([]string, map[string]NetworkInterface) {
		m := map[string]NetworkInterface{}
		var out []string
		for _, n := range s.NetworkInterfaces {
			m[n.ID] = n
			out = append(out, n.ID)
		}
		return out, m
	}
	bi, bm := ids(b)
	ai, am := ids(a)
	keys := union(bi, ai)
	if len(keys) == 0 {
		return []row{{label: []string{"interfaces"}, before: []string{none}, after: []string{none}}}
	}
	cell := func(m map[string]NetworkInterface, id string) []string {
		n, ok := m[id]
		if !ok {
			return []string{"not attached"}
		}
		if len(n.SecurityGroups) == 0 {
			return []string{"no security groups"}
		}
		var lines []string
		for _, g := range n.SecurityGroups {
			rules := fmt.Sprintf("%d in, %d out", g.IngressRules, g.EgressRules)
			if g.RulesUnknown {
				rules = "rules unknown"
			}
			lines = append(lines, orNone(g.Name), fmt.Sprintf("  %s  %s", g.ID, rules))
		}
		return lines
	}
	rows := make([]row, 0, len(keys))
	for _, id := range keys {
		n, ok := bm[id]
		if !ok {
			n = am[id]
		}
		rows = append(rows, row{
			label:  []string{id, fmt.Sprintf("(device %d)", n.DeviceIndex)},
			before: cell(bm, id),
			after:  cell(am, id),
		})
	}
	return rows
}

func targetGroupRows(b, a *InstanceState) []row {
	ids := func(s *InstanceState) ([]string, map[string]TargetGroupMembership) {
		m := map[string]TargetGroupMembership{}
		var out []string
		for _, t := range s.TargetGroups {
			m[t.ARN] = t
			out = append(out, t.ARN)
		}
		return out, m
	}
	bi, bm := ids(b)
	ai, am := ids(a)
	keys := union(bi, ai)
	if len(keys) == 0 {
		return []row{{label: []string{"registered in"},
			before: known(b, FieldTargetGroups, none), after: known(a, FieldTargetGroups, none)}}
	}
	cell := func(s *InstanceState, m map[string]TargetGroupMembership, arn string) []string {
		if s.IsUnrecorded(FieldTargetGroups) {
			return []string{unrecorded}
		}
		t, ok := m[arn]
		switch {
		case !ok:
			return []string{"not registered"}
		case t.State == "":
			return []string{"registered"}
		case !t.Registered():
			return []string{t.State + " (deregistering)"}
		}
		return []string{fmt.Sprintf("registered (%s)", t.State)}
	}
	rows := make([]row, 0, len(keys))
	for _, arn := range keys {
		t, ok := bm[arn]
		if !ok {
			t = am[arn]
		}
		name := t.Name
		if name == "" {
			name = arn
		}
		rows = append(rows, row{label: []string{name}, before: cell(b, bm, arn), after: cell(a, am, arn)})
	}
	return rows
}

func snapshotRows(b, a *InstanceState) []row {
	ids := func(s *InstanceState) ([]string, map[string]EvidenceSnapshot) {
		m := map[string]EvidenceSnapshot{}
		var out []string
		for _, sn := range s.Snapshots {
			m[sn.ID] = sn
			out = append(out, sn.ID)
		}
		return out, m
	}
	bi, bm := ids(b)
	ai, am := ids(a)
	keys := union(bi, ai)
	if len(keys) == 0 {
		return []row{{label: []string{"evidence snapshots"},
			before: known(b, FieldSnapshots, none), after: known(a, FieldSnapshots, none)}}
	}
	cell := func(m map[string]EvidenceSnapshot, id string) []string {
		s, ok := m[id]
		if !ok {
			return []string{absent}
		}
		enc := "unencrypted"
		if s.Encrypted {
			enc = "encrypted"
		}
		return []string{"of " + orNone(s.VolumeID), fmt.Sprintf("%s, %s, %s", enc, s.State, plural(len(s.Tags), "tag"))}
	}
	rows := make([]row, 0, len(keys))
	for _, id := range keys {
		rows = append(rows, row{label: []string{id}, before: cell(bm, id), after: cell(am, id)})
	}
	return rows
}

// renderer accumulates the table.
type renderer struct {
	sb   strings.Builder
	opts RenderOptions
}

func (r *renderer) style(s, code string) string {
	if !r.opts.Color {
		return s
	}
	return code + s + ansiReset
}

func (r *renderer) title(b, a *InstanceState) {
	r.sb.WriteString(r.style(heading(b, a), ansiBold) + "\n")
	r.sb.WriteString(strings.Repeat("=", TableWidth) + "\n")
	beforeTitle, afterTitle := r.opts.titles()
	r.line("", cut(beforeTitle, cellWidth), cut(afterTitle, cellWidth), "")
}

// heading names the instance and its state before and after.
func heading(b, a *InstanceState) string {
	id, name := a.InstanceID, a.Name
	if id == "" {
		id, name = b.InstanceID, b.Name
	}
	t := "Instance " + orNone(id)
	if name != "" {
		t += " (" + name + ")"
	}
	return t + fmt.Sprintf("   state: %s -> %s", orNone(b.State), orNone(a.State))
}

func (r *renderer) section(s section) {
	head := s.title + " "
	if n := TableWidth - len(head); n > 0 {
		head += strings.Repeat("-", n)
	}
	r.sb.WriteString(r.style(head, ansiBold) + "\n")
	for _, row := range s.rows {
		label := wrapAll(row.label, labelWidth)
		before := wrapAll(row.before, cellWidth)
		after := wrapAll(row.after, cellWidth)
		n := max(len(label), len(before), len(after))
		for i := 0; i < n; i++ {
			mark := ""
			if i == 0 && row.changed() {
				mark = r.style(ChangedMark, ansiYellow)
			}
			r.line(at(label, i), at(before, i), at(after, i), mark)
		}
	}
}

// cut shortens s to at most width runes.
func cut(s string, width int) string {
	if rs := []rune(s); len(rs) > width {
		return string(rs[:width])
	}
	return s
}

func at(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return ""
}

// line writes one table line, trimming trailing spaces.
func (r *renderer) line(label, before, after, mark string) {
	s := pad(label, labelWidth) + gap + pad(before, cellWidth) + gap + pad(after, cellWidth) + gap + mark
	r.sb.WriteString(strings.TrimRight(s, " ") + "\n")
}

func pad(s string, w int) string {
	if n := w - len([]rune(s)); n > 0 {
		return s + strings.Repeat(" ", n)
	}
	return s
}

func wrapAll(lines []string, width int) []string {
	var out []string
	for _, l := range lines {
		out = append(out, wrap(l, width)...)
	}
	return out
}

// wrap splits s into lines of at most width runes, breaking after a space,
// '/', ':' or ',' where it can (continuation lines are indented by two).
func wrap(s string, width int) []string {
	rs := []rune(s)
	var out []string
	prefix := []rune{}
	for len(prefix)+len(rs) > width {
		room := width - len(prefix)
		cut := room
		for i := room; i > room/2; i-- {
			if c := rs[i-1]; c == ' ' || c == '/' || c == ':' || c == ',' {
				cut = i
				break
			}
		}
		out = append(out, strings.TrimRight(string(prefix)+string(rs[:cut]), " "))
		rs = []rune(strings.TrimLeft(string(rs[cut:]), " "))
		prefix = []rune("  ")
	}
	return append(out, string(prefix)+string(rs))
}

// plural formats a count with its noun: "1 tag", "5 tags".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
