package complaints

import (
	"net/mail"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"portal/language"
)

// Limits on what a complainant types. The explanation is bounded so that a
// complaint stays a statement, not a dossier.
const (
	MaxName        = 200
	MaxOrg         = 200
	MaxEmail       = 254
	MaxExplanation = 4000
	MinExplanation = 20
	MaxMessage     = 2000
)

// Relations a complainant may have to the domain.
var Relations = []string{"owner", "administrator", "hosting-provider", "legal-representative", "other"}

// Refusal is a complaint or message the portal will not take, with a code the
// pages translate and a message in English for the JSON API.
type Refusal struct {
	Code    string // e.g. "invalid_domain", "url_in_text", "rate_limited"
	Field   string // the form field concerned, "" when none
	Message string
}

func (r *Refusal) Error() string { return r.Code + ": " + r.Message }

func refuse(code, field, msg string) *Refusal {
	return &Refusal{Code: code, Field: field, Message: msg}
}

// Form is what a complainant submits.
type Form struct {
	Lang         string
	Domain       string
	Name         string
	Organisation string
	Email        string
	Relation     string
	Explanation  string
}

// idnaProfile maps (lower-cases, NFC) and checks a domain as a resolver would
// look it up, and refuses what no registry issues.
var idnaProfile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.ValidateLabels(true),
	idna.StrictDomainName(true), idna.VerifyDNSLength(true), idna.Transitional(false))

var labelRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// NormaliseDomain returns the domain a complainant typed in the form the
// list and the queue use: punycode, lower case, without scheme, user,
// port, path, query or trailing dot. An address (IPv4 or IPv6) or a single
// label is refused.
func NormaliseDomain(in string) (string, error) {
	bad := refuse("invalid_domain", "domain", "Give the domain name only, for example example.org.")
	s := strings.TrimSpace(in)
	if s == "" || len(s) > 300 {
		return "", bad
	}
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndex(s, "@"); i >= 0 {
		s = s[i+1:]
	}
	if strings.HasPrefix(s, "[") { // an IPv6 literal
		return "", bad
	}
	if i := strings.LastIndex(s, ":"); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSuffix(s, ".")
	ascii, err := idnaProfile.ToASCII(s)
	if err != nil {
		return "", bad
	}
	ascii = strings.ToLower(ascii)
	labels := strings.Split(ascii, ".")
	if len(labels) < 2 || len(ascii) > 253 {
		return "", bad
	}
	for _, l := range labels {
		if !labelRE.MatchString(l) {
			return "", bad
		}
	}
	tld := labels[len(labels)-1]
	if strings.Trim(tld, "0123456789") == "" { // 192.0.2.1 is an address
		return "", bad
	}
	return ascii, nil
}

// domainLike finds host names in free text: two or more labels whose last
// has at least two letters ("e.g." and "3.5" are not hosts; "example.org",
// "xn--bcher-kva.example" and "bücher.example" are).
var domainLike = regexp.MustCompile(`(?i)[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?(?:\.[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?)*\.[\p{L}]{2,63}(/)?`)

// checkText refuses text that links anywhere: any scheme, any host name
// other than the complaint's own domain (and its subdomains), and the
// domain followed by a path. Material must never be sent or linked to.
func checkText(text, domain, field string) *Refusal {
	lower := strings.ToLower(text)
	linkRefusal := refuse("url_in_text", field, "Remove the web addresses from the text: name only the domain concerned, and never link to any material.")
	for _, scheme := range []string{"://", "www.", "http:", "https:", "ftp:", "data:"} {
		if strings.Contains(lower, scheme) {
			return linkRefusal
		}
	}
	for _, m := range domainLike.FindAllStringSubmatchIndex(text, -1) {
		if m[0] > 0 && text[m[0]-1] == '@' {
			continue // the part after @ of an e-mail address
		}
		host := strings.TrimSuffix(text[m[0]:m[1]], "/")
		norm, err := NormaliseDomain(host)
		if err != nil {
			continue
		}
		hasPath := m[2] >= 0
		if hasPath || (norm != domain && !strings.HasSuffix(norm, "."+domain)) {
			return linkRefusal
		}
	}
	return nil
}

// plain refuses control characters other than line breaks and tabs (when
// multiline) and text that is not UTF-8.
func plain(s string, multiline bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r == '\n' || r == '\r' || r == '\t' {
			if multiline {
				continue
			}
			return false
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return false
		}
	}
	return true
}

// Check validates a form and returns it normalised: the domain as
// NormaliseDomain gives it, the address lower-cased, text trimmed.
func (f Form) Check() (Form, error) {
	f.Lang = strings.TrimSpace(f.Lang)
	if !language.Valid(f.Lang) {
		f.Lang = "en"
	}
	d, err := NormaliseDomain(f.Domain)
	if err != nil {
		return f, err
	}
	f.Domain = d
	f.Name = strings.TrimSpace(f.Name)
	if f.Name == "" || utf8.RuneCountInString(f.Name) > MaxName || !plain(f.Name, false) {
		return f, refuse("invalid_name", "name", "Give your name (at most 200 characters, on one line).")
	}
	f.Organisation = strings.TrimSpace(f.Organisation)
	if utf8.RuneCountInString(f.Organisation) > MaxOrg || !plain(f.Organisation, false) {
		return f, refuse("invalid_organisation", "organisation", "The organisation may have at most 200 characters, on one line.")
	}
	if r := checkText(f.Name+" "+f.Organisation, d, "name"); r != nil {
		return f, r
	}
	f.Email = strings.ToLower(strings.TrimSpace(f.Email))
	if a, err := mail.ParseAddress(f.Email); err != nil || a.Address != f.Email || len(f.Email) > MaxEmail || a.Name != "" {
		return f, refuse("invalid_email", "email", "Give a valid e-mail address: the confirmation link is sent there.")
	}
	if !validRelation(f.Relation) {
		return f, refuse("invalid_relation", "relation", "Choose your relation to the domain from the list.")
	}
	f.Explanation = strings.TrimSpace(f.Explanation)
	n := utf8.RuneCountInString(f.Explanation)
	if n > MaxExplanation {
		return f, refuse("explanation_too_long", "explanation", "The explanation may have at most 4,000 characters.")
	}
	if n < MinExplanation || !plain(f.Explanation, true) {
		return f, refuse("invalid_explanation", "explanation", "Explain in plain text, in at least 20 characters, why the domain should not be listed.")
	}
	if r := checkText(f.Explanation, d, "explanation"); r != nil {
		return f, r
	}
	return f, nil
}

func validRelation(r string) bool {
	for _, v := range Relations {
		if v == r {
			return true
		}
	}
	return false
}

// checkMessage validates a message on an open case, from either side.
func checkMessage(text, domain string) (string, error) {
	text = strings.TrimSpace(text)
	n := utf8.RuneCountInString(text)
	if n > MaxMessage {
		return "", refuse("message_too_long", "message", "A message may have at most 2,000 characters.")
	}
	if n == 0 || !plain(text, true) {
		return "", refuse("invalid_message", "message", "Write the message in plain text.")
	}
	if r := checkText(text, domain, "message"); r != nil {
		return "", r
	}
	return text, nil
}
