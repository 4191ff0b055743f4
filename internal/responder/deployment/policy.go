package deployment

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
)

// statement is the part of an IAM policy statement the check reads.
type statement struct {
	Effect    string
	Action    stringOrList
	Principal json.RawMessage
}

// stringOrList is an IAM field that is a string or a list of strings.
type stringOrList []string

// UnmarshalJSON reads either form.
func (s *stringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

// policyDocument reads an IAM policy document, URL-encoded as IAM returns
// it or not.
func policyDocument(doc string) ([]statement, error) {
	if strings.HasPrefix(doc, "%") {
		if d, err := url.QueryUnescape(doc); err == nil {
			doc = d
		}
	}
	var p struct {
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return nil, err
	}
	var list []statement
	if err := json.Unmarshal(p.Statement, &list); err == nil {
		return list, nil
	}
	var one statement
	if err := json.Unmarshal(p.Statement, &one); err != nil {
		return nil, err
	}
	return []statement{one}, nil
}

// allowed reports whether an Allow statement's actions match action
// (IAM wildcards * and ?, case-insensitive). Resources and conditions are
// not evaluated: the check is that the action is granted at all.
func allowed(statements []statement, action string) bool {
	for _, s := range statements {
		if s.Effect != "Allow" {
			continue
		}
		for _, a := range s.Action {
			if wildcard(a).MatchString(action) {
				return true
			}
		}
	}
	return false
}

// wildcard compiles an IAM action pattern.
func wildcard(pattern string) *regexp.Regexp {
	q := regexp.QuoteMeta(strings.ToLower(pattern))
	q = strings.ReplaceAll(q, `\*`, ".*")
	q = strings.ReplaceAll(q, `\?`, ".")
	return regexp.MustCompile("^" + q + "$")
}

// trustsStepFunctions reports whether a trust policy lets Step Functions
// assume the role.
func trustsStepFunctions(statements []statement) bool {
	for _, s := range statements {
		if s.Effect == "Allow" && strings.Contains(string(s.Principal), "states.amazonaws.com") {
			return true
		}
	}
	return false
}
