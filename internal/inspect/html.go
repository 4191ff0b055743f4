package inspect

import (
	"html"
	"strings"
)

// HTMLClass is the class of the table RenderHTML writes. Rows that changed
// have the class "changed", section headings "section"; the page that
// embeds the table styles them.
const HTMLClass = "before-after"

// RenderHTML is Render as an HTML fragment: the same sections, rows, values
// and ChangedMark, as a <table class="before-after"> whose caption is the
// instance and its state. Every value is escaped; cells of several lines
// keep their lines. A nil state renders as an empty one.
func RenderHTML(before, after *InstanceState, opts RenderOptions) string {
	if before == nil {
		before = &InstanceState{}
	}
	if after == nil {
		after = &InstanceState{}
	}
	var sb strings.Builder
	beforeTitle, afterTitle := opts.titles()
	sb.WriteString(`<table class="` + HTMLClass + `">` + "\n")
	sb.WriteString("<caption>" + html.EscapeString(heading(before, after)) + "</caption>\n")
	sb.WriteString("<thead><tr><th></th><th>" + html.EscapeString(beforeTitle) + "</th><th>" +
		html.EscapeString(afterTitle) + "</th><th></th></tr></thead>\n<tbody>\n")
	for _, s := range sections(before, after) {
		sb.WriteString(`<tr class="section"><th colspan="4">` + html.EscapeString(s.title) + "</th></tr>\n")
		for _, r := range s.rows {
			class, mark := "", ""
			if r.changed() {
				class, mark = ` class="changed"`, ChangedMark
			}
			sb.WriteString("<tr" + class + "><th>" + htmlLines(r.label) + "</th><td>" + htmlLines(r.before) +
				"</td><td>" + htmlLines(r.after) + "</td><td>" + mark + "</td></tr>\n")
		}
	}
	sb.WriteString("</tbody>\n</table>\n")
	return sb.String()
}

// htmlLines escapes each line and joins them with <br>, keeping leading
// spaces visible.
func htmlLines(lines []string) string {
	out := make([]string, len(lines))
	for i, l := range lines {
		trimmed := strings.TrimLeft(l, " ")
		out[i] = strings.Repeat("&nbsp;", len(l)-len(trimmed)) + html.EscapeString(trimmed)
	}
	return strings.Join(out, "<br>")
}
