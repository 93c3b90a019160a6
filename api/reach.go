package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v5"

	"portal/reach"
)

// reachRoutes are the who-can-see-what reports. Who may ask for which
// report is the reach package's rule; each answers JSON, or CSV with
// ?format=csv (cells defused as in the training statistics: csvSafe).
func (s *Server) reachRoutes() []route {
	return []route{
		{method: http.MethodGet, path: "/reports/records/:id", policy: Member, handler: s.recordReport},
		{method: http.MethodGet, path: "/reports/members/:id", policy: Member, handler: s.memberReport},
		{method: http.MethodGet, path: "/reports/groups/:id", policy: Member, handler: s.groupReport},
	}
}

type reportMember struct {
	ID          string   `json:"id"`
	DisplayName string   `json:"displayName"`
	Groups      []string `json:"groups"`
}

type reportRecord struct {
	ID     string   `json:"id"`
	Title  string   `json:"title"` // "" unless the reader can read the record
	TLP    string   `json:"tlp"`
	Groups []string `json:"groups"`
}

type reportCount struct {
	Group string `json:"group"`
	TLP   string `json:"tlp"`
	Count int    `json:"count"`
}

func viewMembers(ms []reach.Member) []reportMember {
	out := make([]reportMember, 0, len(ms))
	for _, m := range ms {
		out = append(out, reportMember{ID: m.ID, DisplayName: m.DisplayName, Groups: m.Groups})
	}
	return out
}

func viewShown(r reach.Shown) reportRecord {
	return reportRecord{ID: r.ID, Title: r.Title, TLP: string(r.TLP), Groups: r.Groups}
}

func viewCounts(cs []reach.Count) []reportCount {
	out := make([]reportCount, 0, len(cs))
	for _, n := range cs {
		out = append(out, reportCount{Group: n.Group, TLP: string(n.TLP), Count: n.N})
	}
	return out
}

// reportOptions reads what every report takes: the reader's language (for
// group names) and the format, "json" (default) or "csv".
func reportOptions(c *echo.Context) (lang, format string, err error) {
	if lang, err = readerLang(c); err != nil {
		return "", "", err
	}
	switch f := c.QueryParam("format"); f {
	case "", "json":
		return lang, "json", nil
	case "csv":
		return lang, "csv", nil
	default:
		return "", "", badRequest("invalid_parameter", `Parameter "format" must be json or csv.`)
	}
}

// groupNames names every group in the reader's language, for the reports
// to show names beside IDs.
func (s *Server) groupNames(c *echo.Context, lang string) (map[string]string, error) {
	gs, err := s.groups.ByID(c.Request().Context())
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(gs))
	for id, g := range gs {
		out[id] = g.Name(lang)
	}
	return out, nil
}

func names(ids []string, byID map[string]string) string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if n := byID[id]; n != "" {
			out = append(out, n)
		} else {
			out = append(out, id)
		}
	}
	return strings.Join(out, "; ")
}

// GET /api/reports/records/:id?lang=&format=: who can read a record.
func (s *Server) recordReport(c *echo.Context) error {
	lang, format, err := reportOptions(c)
	if err != nil {
		return err
	}
	rep, err := s.reach.ForRecord(c.Request().Context(), currentUser(c), c.Param("id"), client(c))
	if err != nil {
		return accountError(err)
	}
	gn, err := s.groupNames(c, lang)
	if err != nil {
		return err
	}
	if format == "csv" {
		rows := [][]string{{"record", "tlp", "member", "display_name", "groups"}}
		for _, m := range rep.Readers {
			rows = append(rows, []string{rep.Record.ID, string(rep.Record.TLP), m.ID, m.DisplayName, names(m.Groups, gn)})
		}
		return sendCSV(c, "readers-"+rep.Record.ID, rows)
	}
	return c.JSON(http.StatusOK, map[string]any{"record": viewShown(rep.Record), "readers": viewMembers(rep.Readers),
		"byGroup": rep.ByGroup, "groupNames": gn})
}

// GET /api/reports/members/:id?lang=&format=: what a member can read.
func (s *Server) memberReport(c *echo.Context) error {
	lang, format, err := reportOptions(c)
	if err != nil {
		return err
	}
	rep, err := s.reach.ForMember(c.Request().Context(), currentUser(c), c.Param("id"), client(c))
	if err != nil {
		return accountError(err)
	}
	gn, err := s.groupNames(c, lang)
	if err != nil {
		return err
	}
	if format == "csv" {
		rows := [][]string{{"section", "group", "tlp", "count", "record", "title"}}
		for _, n := range rep.Counts {
			rows = append(rows, []string{"count", names([]string{n.Group}, gn), string(n.TLP), strconv.Itoa(n.N), "", ""})
		}
		for _, r := range rep.Records {
			rows = append(rows, []string{"record", names(r.Groups, gn), string(r.TLP), "", r.ID, r.Title})
		}
		return sendCSV(c, "reach-"+rep.Member.ID, rows)
	}
	records := make([]reportRecord, 0, len(rep.Records))
	for _, r := range rep.Records {
		records = append(records, viewShown(r))
	}
	return c.JSON(http.StatusOK, map[string]any{"member": viewMembers([]reach.Member{rep.Member})[0],
		"counts": viewCounts(rep.Counts), "records": records, "groupNames": gn})
}

// GET /api/reports/groups/:id?lang=&format=: a group's members, records
// and labels.
func (s *Server) groupReport(c *echo.Context) error {
	lang, format, err := reportOptions(c)
	if err != nil {
		return err
	}
	rep, err := s.reach.ForGroup(c.Request().Context(), currentUser(c), c.Param("id"), client(c))
	if err != nil {
		return accountError(err)
	}
	if format == "csv" {
		rows := [][]string{{"section", "id", "name_or_title", "tlp", "count"}}
		for _, m := range rep.Members {
			rows = append(rows, []string{"member", m.ID, m.DisplayName, "", ""})
		}
		for _, r := range rep.Records {
			rows = append(rows, []string{"record", r.ID, r.Title, string(r.TLP), strconv.Itoa(r.Readers)})
		}
		for _, n := range rep.Labels {
			rows = append(rows, []string{"label", "", "", string(n.TLP), strconv.Itoa(n.N)})
		}
		return sendCSV(c, "group-"+rep.Group.ID, rows)
	}
	type groupRecord struct {
		reportRecord
		Readers int `json:"readers"`
	}
	records := make([]groupRecord, 0, len(rep.Records))
	for _, r := range rep.Records {
		records = append(records, groupRecord{viewShown(r), r.Readers})
	}
	return c.JSON(http.StatusOK, map[string]any{"group": viewGroup(currentUser(c), rep.Group, lang),
		"members": viewMembers(rep.Members), "records": records, "labels": viewCounts(rep.Labels)})
}
