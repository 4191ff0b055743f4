package report

import (
	"fmt"
	"io"
	"strings"
)

// WriteMarkdown writes the report as Markdown, for an incident ticket: the
// before/after view is inspect's text table in a fenced block.
func WriteMarkdown(w io.Writer, r *Report) error {
	var b strings.Builder
	inc := r.Incident
	fmt.Fprintf(&b, "# Incident %s: containment report\n\n", inc.IncidentID)
	fmt.Fprintf(&b, "Generated %s by `essential-ir report`, region %s.\n\n", stamp(r.GeneratedAt), inc.Region)
	if notes := attention(r); len(notes) > 0 {
		b.WriteString("> **⚠ NEEDS ATTENTION**\n>\n")
		for _, n := range notes {
			b.WriteString("> - " + oneLine(n) + "\n")
		}
		b.WriteString("\n")
	}
	if r.EvidenceOK() {
		b.WriteString("**Evidence: every SHA-256 verifies** against the stored bytes, S3's checksum, the execution history and the manifests.\n\n")
	} else {
		b.WriteString("**EVIDENCE DOES NOT VERIFY: see the problems under each instance.**\n\n")
	}
	b.WriteString("| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| Execution | [%s](%s) |\n", inc.ExecutionARN, inc.ConsoleLink)
	fmt.Fprintf(&b, "| Status | %s |\n", mdCell(incidentStatus(r)))
	b.WriteString("\n## Instances\n\n| Instance | Outcome | Evidence | Executions |\n|---|---|---|---|\n")
	for _, i := range r.Instances {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", mdCell(i.InstanceID+nameSuffix(i)), mdCell(outcomeText(i)), evidenceText(i.Verification), executionLinks(i))
	}
	for _, i := range r.Instances {
		writeInstanceMarkdown(&b, r, i)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeInstanceMarkdown(b *strings.Builder, r *Report, i *Instance) {
	fmt.Fprintf(b, "\n## Instance %s%s\n\n**%s**\n", i.InstanceID, nameSuffix(i), outcomeText(i))
	if i.Error != "" || i.Cause != "" {
		fmt.Fprintf(b, "\n- Error: `%s`\n- Cause: %s\n", i.Error, oneLine(i.Cause))
	}
	b.WriteString("\n### What was changed\n\n")
	if len(i.Changes) == 0 {
		b.WriteString("The containment did not finish, so its output lists no changes: the view below compares the record with the instance now.\n")
	}
	for _, c := range i.Changes {
		b.WriteString("- " + c + "\n")
	}
	if len(i.Snapshots) > 0 {
		b.WriteString("\nEvidence snapshots (encrypted, tagged with the incident):\n\n")
		for _, s := range i.Snapshots {
			fmt.Fprintf(b, "- `%s` of volume `%s`", s.SnapshotID, s.VolumeID)
			if s.DeletedUnencryptedSnapshotID != "" {
				fmt.Fprintf(b, " (encrypted copy of `%s`, which was deleted once the copy was verified)", s.DeletedUnencryptedSnapshotID)
			}
			b.WriteString("\n")
		}
	}

	b.WriteString("\n### Before and after\n")
	if len(i.ViewNotes) > 0 {
		b.WriteString("\n")
	}
	for _, n := range i.ViewNotes {
		b.WriteString("- " + oneLine(n) + "\n")
	}
	if i.Before != nil || i.Now != nil {
		text, _ := view(i)
		b.WriteString("\n```text\n" + text + "```\n")
	}

	b.WriteString("\n### Evidence\n\n")
	e := i.Verification
	fmt.Fprintf(b, "Bucket `%s`, prefix `%s`.\n\n", e.Bucket, e.Prefix)
	if p := problems(e); len(p) > 0 {
		b.WriteString("> **⚠ THE EVIDENCE OF THIS INSTANCE DOES NOT VERIFY**\n>\n")
		for _, x := range p {
			b.WriteString("> - " + oneLine(x) + "\n")
		}
		b.WriteString("\n")
	}
	for _, n := range e.Notes {
		b.WriteString("- " + oneLine(n) + "\n")
	}
	if len(e.Objects) > 0 {
		b.WriteString("| Object | Version | SHA-256 (hex, as sha256sum prints it) | SHA-256 (base64, as S3 gives it) | Checked against | Lock, encryption |\n|---|---|---|---|---|---|\n")
		for _, o := range e.Objects {
			status := ""
			if !o.OK() {
				status = " **DOES NOT VERIFY: " + problemKinds(o) + "**"
			}
			fmt.Fprintf(b, "| `%s`<br>%s%s | `%s` | `%s` | `%s` | %s | %s |\n", lastPart(o.Key), o.Role, status, o.VersionID,
				o.SHA256Hex, o.SHA256Base64, mdCell(checksText(o)), mdCell(lockText(o)))
		}
		fmt.Fprintf(b, "\nTo check one by hand:\n\n```sh\n%s\n```\n", verifyCommand(r.Incident.Region, e.Bucket, e.Objects[0]))
	}
	if len(e.OtherKeys) > 0 {
		fmt.Fprintf(b, "\nOther objects under the prefix: %s.\n", "`"+strings.Join(e.OtherKeys, "`, `")+"`")
	}

	b.WriteString("\n### Release by hand\n\n")
	if len(i.Release) == 0 {
		b.WriteString("Nothing to undo was found (or the record could not be read).\n")
		return
	}
	b.WriteString("There is no release workflow yet. Run these only once the instance is cleared, in this order: " +
		"they undo each change still in place, the network last.\n\n```sh\n")
	for _, c := range i.Release {
		b.WriteString("# " + c.Comment + "\n" + c.Command + "\n")
	}
	b.WriteString("```\n")
}

// incidentStatus is the incident's status and times.
func incidentStatus(r *Report) string {
	inc := r.Incident
	s := inc.Status
	if inc.StartDate != nil {
		s += ", started " + stamp(*inc.StartDate)
	}
	if inc.StopDate != nil {
		s += ", ended " + stamp(*inc.StopDate)
	}
	if inc.Error != "" {
		s += ". " + inc.Error + ": " + inc.Cause
	}
	return s
}

func nameSuffix(i *Instance) string {
	if i.Name == "" {
		return ""
	}
	return " (" + i.Name + ")"
}

// executionLinks links an instance's executions in the console.
func executionLinks(i *Instance) string {
	var links []string
	if p := i.Containment; p != nil {
		links = append(links, fmt.Sprintf("[containment](%s) %s", p.ConsoleLink, p.Status))
	}
	if p := i.Evidence; p != nil {
		links = append(links, fmt.Sprintf("[evidence](%s) %s", p.ConsoleLink, p.Status))
	}
	if len(links) == 0 {
		return "none"
	}
	return strings.Join(links, "<br>")
}

// mdCell makes s safe in a Markdown table cell.
func mdCell(s string) string {
	return strings.ReplaceAll(oneLine(s), "|", `\|`)
}

// oneLine joins s's lines.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

func lastPart(key string) string {
	return key[strings.LastIndex(key, "/")+1:]
}
