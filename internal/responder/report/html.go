package report

import (
	"fmt"
	"html"
	"io"
	"strings"
)

// style is the HTML report's stylesheet: readable printed or on screen,
// problems in red, changed rows of the before/after view in amber.
const style = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2125; margin: 24px auto; max-width: 1180px; padding: 0 16px; }
h1 { font-size: 24px; margin-bottom: 4px; } h2 { font-size: 19px; border-bottom: 2px solid #d0d7de; padding-bottom: 4px; margin-top: 32px; }
h3 { font-size: 15px; margin: 20px 0 8px; } .meta { color: #57606a; }
table { border-collapse: collapse; margin: 8px 0; } th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }
thead th { background: #f6f8fa; } code, pre, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12.5px; }
pre { background: #f6f8fa; padding: 10px; border-radius: 4px; white-space: pre-wrap; overflow-wrap: anywhere; }
.alert { border: 2px solid #cf222e; background: #ffebe9; padding: 10px 14px; border-radius: 6px; margin: 12px 0; }
.alert strong { color: #a40e26; } .ok { color: #1a7f37; font-weight: 600; } .bad { color: #cf222e; font-weight: 700; }
.outcome { font-size: 16px; font-weight: 700; } .outcome.good { color: #1a7f37; } .outcome.failed { color: #cf222e; }
table.before-after caption { text-align: left; font-weight: 600; padding: 4px 0; }
table.before-after th, table.before-after td { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12.5px; }
table.before-after tr.section th { background: #eaeef2; font-family: system-ui, sans-serif; font-size: 13px; }
table.before-after tr.changed td { background: #fff8c5; } table.before-after tr.changed td:last-child { color: #9a6700; font-weight: 600; }
table.hashes { width: 100%; } table.hashes td { font-size: 12.5px; }
table.hashes td.hash { font-family: ui-monospace, Menlo, Consolas, monospace; white-space: nowrap; font-size: 11.5px; }
table.hashes td:first-child code { word-break: break-all; }
table.hashes td.version { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 11px; word-break: break-all; max-width: 150px; }
`

// WriteHTML writes the report as a standalone HTML page (no external
// resources); the before/after view is inspect's HTML table.
func WriteHTML(w io.Writer, r *Report) error {
	var b strings.Builder
	inc := r.Incident
	esc := html.EscapeString
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Incident %s: containment report</title>\n<style>%s</style></head><body>\n", esc(inc.IncidentID), style)
	fmt.Fprintf(&b, "<h1>Incident %s: containment report</h1>\n<p class=\"meta\">Generated %s by <code>essential-ir report</code>, region %s.</p>\n",
		esc(inc.IncidentID), esc(stamp(r.GeneratedAt)), esc(inc.Region))
	if notes := attention(r); len(notes) > 0 {
		b.WriteString("<div class=\"alert\"><strong>NEEDS ATTENTION</strong><ul>")
		for _, n := range notes {
			b.WriteString("<li>" + esc(n) + "</li>")
		}
		b.WriteString("</ul></div>\n")
	}
	if r.EvidenceOK() {
		b.WriteString("<p class=\"ok\">Evidence: every SHA-256 verifies against the stored bytes, S3's checksum, the execution history and the manifests.</p>\n")
	} else {
		b.WriteString("<p class=\"bad\">EVIDENCE DOES NOT VERIFY: see the problems under each instance.</p>\n")
	}
	fmt.Fprintf(&b, "<table><tr><th>Execution</th><td><a href=\"%s\">%s</a></td></tr><tr><th>Status</th><td>%s</td></tr></table>\n",
		esc(inc.ConsoleLink), esc(inc.ExecutionARN), esc(incidentStatus(r)))
	b.WriteString("<h2>Instances</h2>\n<table><thead><tr><th>Instance</th><th>Outcome</th><th>Evidence</th><th>Executions</th></tr></thead><tbody>\n")
	for _, i := range r.Instances {
		fmt.Fprintf(&b, "<tr><td class=\"mono\">%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
			esc(i.InstanceID+nameSuffix(i)), esc(outcomeText(i)), esc(evidenceText(i.Verification)), htmlExecutionLinks(i))
	}
	b.WriteString("</tbody></table>\n")
	for _, i := range r.Instances {
		writeInstanceHTML(&b, r, i)
	}
	b.WriteString("</body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func writeInstanceHTML(b *strings.Builder, r *Report, i *Instance) {
	esc := html.EscapeString
	class := "good"
	if i.Error != "" || i.Cause != "" {
		class = "failed"
	}
	fmt.Fprintf(b, "<h2>Instance %s%s</h2>\n<p class=\"outcome %s\">%s</p>\n", esc(i.InstanceID), esc(nameSuffix(i)), class, esc(outcomeText(i)))
	if i.Error != "" || i.Cause != "" {
		fmt.Fprintf(b, "<p><strong>Error:</strong> <code>%s</code><br><strong>Cause:</strong> %s</p>\n", esc(i.Error), esc(i.Cause))
	}
	b.WriteString("<h3>What was changed</h3>\n")
	if len(i.Changes) == 0 {
		b.WriteString("<p>The containment did not finish, so its output lists no changes: the view below compares the record with the instance now.</p>\n")
	} else {
		b.WriteString("<ul>")
		for _, c := range i.Changes {
			b.WriteString("<li>" + esc(c) + "</li>")
		}
		b.WriteString("</ul>\n")
	}
	if len(i.Snapshots) > 0 {
		b.WriteString("<p>Evidence snapshots (encrypted, tagged with the incident):</p><ul>")
		for _, s := range i.Snapshots {
			fmt.Fprintf(b, "<li><code>%s</code> of volume <code>%s</code>", esc(s.SnapshotID), esc(s.VolumeID))
			if s.DeletedUnencryptedSnapshotID != "" {
				fmt.Fprintf(b, " (encrypted copy of <code>%s</code>, which was deleted once the copy was verified)", esc(s.DeletedUnencryptedSnapshotID))
			}
			b.WriteString("</li>")
		}
		b.WriteString("</ul>\n")
	}

	b.WriteString("<h3>Before and after</h3>\n")
	for _, n := range i.ViewNotes {
		b.WriteString("<p>" + esc(n) + "</p>\n")
	}
	if i.Before != nil || i.Now != nil {
		_, table := view(i)
		b.WriteString(table)
	}

	e := i.Verification
	fmt.Fprintf(b, "<h3>Evidence</h3>\n<p>Bucket <code>%s</code>, prefix <code>%s</code>.</p>\n", esc(e.Bucket), esc(e.Prefix))
	if p := problems(e); len(p) > 0 {
		b.WriteString("<div class=\"alert\"><strong>THE EVIDENCE OF THIS INSTANCE DOES NOT VERIFY</strong><ul>")
		for _, x := range p {
			b.WriteString("<li>" + esc(x) + "</li>")
		}
		b.WriteString("</ul></div>\n")
	}
	for _, n := range e.Notes {
		b.WriteString("<p>" + esc(n) + "</p>\n")
	}
	if len(e.Objects) > 0 {
		b.WriteString("<table class=\"hashes\"><thead><tr><th>Object</th><th>Version</th><th>SHA-256 (hex, as sha256sum prints it)<br>SHA-256 (base64, as S3 gives it)</th><th>Checked against</th><th>Lock, encryption</th></tr></thead><tbody>\n")
		for _, o := range e.Objects {
			status := "<span class=\"ok\">verified</span>"
			if !o.OK() {
				status = "<span class=\"bad\">DOES NOT VERIFY: " + esc(problemKinds(o)) + "</span>"
			}
			fmt.Fprintf(b, "<tr><td><code>%s</code><br>%s<br>%s</td><td class=\"version\">%s</td><td class=\"hash\">%s<br>%s</td><td>%s</td><td>%s</td></tr>\n",
				esc(lastPart(o.Key)), esc(o.Role), status, esc(o.VersionID), esc(o.SHA256Hex), esc(o.SHA256Base64), esc(checksText(o)), esc(lockText(o)))
		}
		b.WriteString("</tbody></table>\n")
		fmt.Fprintf(b, "<p>To check one by hand:</p><pre>%s</pre>\n", esc(verifyCommand(r.Incident.Region, e.Bucket, e.Objects[0])))
	}
	if len(e.OtherKeys) > 0 {
		b.WriteString("<p>Other objects under the prefix: <code>" + esc(strings.Join(e.OtherKeys, ", ")) + "</code>.</p>\n")
	}

	b.WriteString("<h3>Release by hand</h3>\n")
	if len(i.Release) == 0 {
		b.WriteString("<p>Nothing to undo was found (or the record could not be read).</p>\n")
		return
	}
	b.WriteString("<p>There is no release workflow yet. Run these only once the instance is cleared, in this order: they undo each change still in place, the network last.</p>\n<pre>")
	for _, c := range i.Release {
		b.WriteString(esc("# "+c.Comment) + "\n" + esc(c.Command) + "\n")
	}
	b.WriteString("</pre>\n")
}

// htmlExecutionLinks links an instance's executions in the console.
func htmlExecutionLinks(i *Instance) string {
	var links []string
	if p := i.Containment; p != nil {
		links = append(links, fmt.Sprintf("<a href=\"%s\">containment</a> %s", html.EscapeString(p.ConsoleLink), html.EscapeString(p.Status)))
	}
	if p := i.Evidence; p != nil {
		links = append(links, fmt.Sprintf("<a href=\"%s\">evidence</a> %s", html.EscapeString(p.ConsoleLink), html.EscapeString(p.Status)))
	}
	if len(links) == 0 {
		return "none"
	}
	return strings.Join(links, "<br>")
}
