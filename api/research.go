package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"portal/access"
	"portal/account"
	"portal/research"
)

// researchError maps the research package's errors to the API's.
func researchError(err error) error {
	var invalid *research.ValidationError
	var forbidden *research.ForbiddenError
	switch {
	case errors.As(err, &invalid):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_metadata", Message: invalid.Field + ": " + invalid.Reason, Err: err}
	case errors.As(err, &forbidden):
		return &Error{Status: http.StatusForbidden, Code: "forbidden", Message: forbidden.Reason, Err: err}
	case errors.Is(err, research.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "No such document.", Err: err}
	case errors.Is(err, research.ErrForbidden):
		return &Error{Status: http.StatusForbidden, Code: "forbidden", Message: "You may not change this document.", Err: err}
	case errors.Is(err, research.ErrUnsupportedType):
		return &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_file_type",
			Message: "Only PDF, DOCX, Markdown and plain-text files are accepted (judged by their content, not their name).", Err: err}
	case errors.Is(err, research.ErrUnparsable):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "unreadable_file",
			Message: "The file could not be read: it may be damaged, truncated or protected. Nothing was stored.", Err: err}
	case errors.Is(err, research.ErrTooLarge):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: "The file is larger than the upload limit.", Err: err}
	case errors.Is(err, research.ErrBusy):
		return &Error{Status: http.StatusServiceUnavailable, Code: "busy", Message: "Too many uploads are in progress; try again in a moment.", Err: err, RetryAfter: 5}
	case errors.Is(err, research.ErrUnaudited):
		return errAuditUnavailable(err)
	case errors.Is(err, research.ErrInvalid):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_metadata", Message: "The document's details are not valid.", Err: err}
	}
	return err
}

// metadataView is the wire form of a record's metadata.
type metadataView struct {
	Title        string     `json:"title"`
	Authors      []string   `json:"authors"`
	Organisation string     `json:"organisation"`
	Abstract     string     `json:"abstract"`
	Year         int        `json:"year"`
	Language     string     `json:"language"`
	Type         string     `json:"type"`
	Topics       []string   `json:"topics"`
	Countries    []string   `json:"countries"`
	Regions      []string   `json:"regions"`
	AccessGroups []string   `json:"access"`
	TLP          access.TLP `json:"tlp"`
}

type versionView struct {
	Number     int       `json:"number"`
	SHA256     string    `json:"sha256"`
	Size       int64     `json:"size"`
	Kind       string    `json:"kind"`
	Filename   string    `json:"filename"`
	Pages      int       `json:"pages"`
	UploadedAt time.Time `json:"uploadedAt"`
}

type documentView struct {
	ID string `json:"id"`
	metadataView
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
	Withdrawn      bool      `json:"withdrawn"`
	CurrentVersion int       `json:"currentVersion"`
	IndexState     string    `json:"indexState"`
	// CanEdit says whether the reader may change the record (its uploader
	// or an admin), so pages offer only what the API will accept.
	CanEdit bool `json:"canEdit"`
	// Recognition is the state of the OCR of scanned pages: pending,
	// done, failed, or absent when there are none.
	Recognition string        `json:"recognition,omitempty"`
	Versions    []versionView `json:"versions,omitempty"`
}

func viewDocument(u *account.User, d research.Document, versions []research.Version) documentView {
	m := d.Metadata
	v := documentView{ID: d.ID, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, Withdrawn: d.Withdrawn,
		CanEdit:        u != nil && (u.ID == d.UploaderID || u.Role == account.RoleAdmin),
		CurrentVersion: d.CurrentVersion, IndexState: string(d.IndexState), Recognition: string(d.Recognition),
		metadataView: metadataView{Title: m.Title, Authors: m.Authors, Organisation: m.Organisation, Abstract: m.Abstract,
			Year: m.Year, Language: m.Language, Type: string(m.Type), Topics: m.Topics, Countries: m.Countries,
			Regions: m.Regions, AccessGroups: m.AccessGroups, TLP: m.TLP}}
	if d.Recognition == research.RecognitionPending && !d.Withdrawn {
		// Scanned pages are not yet in the index: the record is not
		// wholly searchable yet.
		v.IndexState = "recognising"
	}
	for _, x := range versions {
		v.Versions = append(v.Versions, versionView{Number: x.Number, SHA256: x.SHA256, Size: x.Size, Kind: string(x.Kind),
			Filename: x.Filename, Pages: x.Pages, UploadedAt: x.UploadedAt})
	}
	return v
}

func (m metadataView) metadata() research.Metadata {
	return research.Metadata{Title: m.Title, Authors: m.Authors, Organisation: m.Organisation, Abstract: m.Abstract,
		Year: m.Year, Language: m.Language, Type: research.Type(m.Type), Topics: m.Topics, Countries: m.Countries,
		Regions: m.Regions, AccessGroups: m.AccessGroups, TLP: m.TLP}
}

// GET /api/research/:id
func (s *Server) getDocument(c *echo.Context) error {
	u := currentUser(c)
	d, versions, err := s.research.View(c.Request().Context(), u, c.Param("id"), client(c))
	if err != nil {
		return researchError(err)
	}
	return c.JSON(http.StatusOK, viewDocument(u, d, versions))
}

// GET /api/research/:id/versions
func (s *Server) listVersions(c *echo.Context) error {
	versions, err := s.research.History(c.Request().Context(), currentUser(c), c.Param("id"), client(c))
	if err != nil {
		return researchError(err)
	}
	out := append(make([]versionView, 0, len(versions)), viewDocument(nil, research.Document{}, versions).Versions...)
	return c.JSON(http.StatusOK, map[string]any{"versions": out})
}

// GET /api/research/:id/download?version=N sends the original as an
// attachment that no browser renders on the portal's origin: the exact
// type, nosniff, and a CSP sandbox in case it is opened anyway.
func (s *Server) download(c *echo.Context) error {
	version := 0
	if v := c.QueryParam("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return badRequest("invalid_parameter", `Parameter "version" must be a version number.`)
		}
		version = n
	}
	_, ver, f, err := s.research.OpenVersion(c.Request().Context(), currentUser(c), c.Param("id"), version, client(c))
	if err != nil {
		return researchError(err)
	}
	defer f.Close()
	h := c.Response().Header()
	h.Set("Content-Type", ver.Kind.ContentType())
	h.Set("Content-Disposition", attachment(ver.Filename))
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Cache-Control", "no-store")
	http.ServeContent(c.Response(), c.Request(), "", ver.UploadedAt, f)
	return nil
}

// attachment builds a Content-Disposition header per RFC 6266 / 5987: an
// ASCII fallback without quotes or backslashes, and the UTF-8 name encoded.
func attachment(name string) string {
	fallback := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == ';' {
			return '_'
		}
		return r
	}, name)
	if fallback == "" {
		fallback = "document"
	}
	return fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`, fallback, url.PathEscape(name))
}

// POST /api/research: multipart with a "metadata" part (JSON) followed by a
// "file" part. The file is streamed to storage, never held in memory.
func (s *Server) upload(c *echo.Context) error {
	meta, filename, file, err := s.readUpload(c, true)
	if err != nil {
		return err
	}
	m := meta.metadata()
	if err := s.groups.Grantable(c.Request().Context(), m.AccessGroups, nil); err != nil {
		return accountError(err)
	}
	d, err := s.research.Upload(c.Request().Context(), currentUser(c), m, filename, file, client(c))
	if err != nil {
		return researchError(err)
	}
	return c.JSON(http.StatusCreated, viewDocument(currentUser(c), d, nil))
}

// POST /api/research/:id/versions: multipart with a "file" part.
func (s *Server) replaceFile(c *echo.Context) error {
	_, filename, file, err := s.readUpload(c, false)
	if err != nil {
		return err
	}
	d, err := s.research.Replace(c.Request().Context(), currentUser(c), c.Param("id"), filename, file, client(c))
	if err != nil {
		return researchError(err)
	}
	return c.JSON(http.StatusOK, viewDocument(currentUser(c), d, nil))
}

// readUpload reads the multipart parts up to the file, which it returns
// unread for the caller to stream.
func (s *Server) readUpload(c *echo.Context, wantMeta bool) (metadataView, string, io.Reader, error) {
	var meta metadataView
	mt, _, err := mime.ParseMediaType(c.Request().Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return meta, "", nil, &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Message: "Send the upload as multipart/form-data."}
	}
	mr, err := c.Request().MultipartReader()
	if err != nil {
		return meta, "", nil, badRequest("invalid_upload", "The upload is not valid multipart data.")
	}
	gotMeta := false
	for {
		part, err := mr.NextPart()
		if err != nil {
			if echo.StatusCode(err) == http.StatusRequestEntityTooLarge {
				return meta, "", nil, fromStatus(http.StatusRequestEntityTooLarge, err)
			}
			return meta, "", nil, badRequest("invalid_upload", "The upload has no \"file\" part.")
		}
		switch part.FormName() {
		case "metadata":
			dec := json.NewDecoder(io.LimitReader(part, maxBodyBytes))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&meta); err != nil {
				return meta, "", nil, &Error{Status: http.StatusBadRequest, Code: "invalid_json",
					Message: "The \"metadata\" part is not valid JSON for a document.", Err: err}
			}
			gotMeta = true
		case "file":
			if wantMeta && !gotMeta {
				return meta, "", nil, badRequest("invalid_upload", "Send the \"metadata\" part before the \"file\" part.")
			}
			return meta, part.FileName(), part, nil
		default:
			return meta, "", nil, badRequest("invalid_upload", "Unexpected part "+strconv.Quote(part.FormName())+".")
		}
	}
}

// PATCH /api/research/:id: JSON with the fields to change.
func (s *Server) updateDocument(c *echo.Context) error {
	var in struct {
		Title        *string     `json:"title"`
		Authors      *[]string   `json:"authors"`
		Organisation *string     `json:"organisation"`
		Abstract     *string     `json:"abstract"`
		Year         *int        `json:"year"`
		Language     *string     `json:"language"`
		Type         *string     `json:"type"`
		Topics       *[]string   `json:"topics"`
		Countries    *[]string   `json:"countries"`
		Regions      *[]string   `json:"regions"`
		AccessGroups *[]string   `json:"access"`
		TLP          *access.TLP `json:"tlp"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	p := research.Patch{Title: in.Title, Authors: in.Authors, Organisation: in.Organisation, Abstract: in.Abstract,
		Year: in.Year, Language: in.Language, Topics: in.Topics, Countries: in.Countries, Regions: in.Regions,
		AccessGroups: in.AccessGroups, TLP: in.TLP}
	if in.Type != nil {
		t := research.Type(*in.Type)
		p.Type = &t
	}
	if in.AccessGroups != nil {
		// Groups the record carries stay on it after they are archived;
		// Get is the unaudited read the change itself repeats.
		cur, _, err := s.research.Get(c.Request().Context(), currentUser(c), c.Param("id"))
		if err != nil {
			return researchError(err)
		}
		if err := s.groups.Grantable(c.Request().Context(), *in.AccessGroups, cur.AccessGroups); err != nil {
			return accountError(err)
		}
	}
	d, err := s.research.Update(c.Request().Context(), currentUser(c), c.Param("id"), p, client(c))
	if err != nil {
		return researchError(err)
	}
	return c.JSON(http.StatusOK, viewDocument(currentUser(c), d, nil))
}

// POST /api/research/:id/withdraw and /restore
func (s *Server) withdraw(restore bool) echo.HandlerFunc {
	return func(c *echo.Context) error {
		change := s.research.Withdraw
		if restore {
			change = s.research.Restore
		}
		d, err := change(c.Request().Context(), currentUser(c), c.Param("id"), client(c))
		if err != nil {
			return researchError(err)
		}
		return c.JSON(http.StatusOK, viewDocument(currentUser(c), d, nil))
	}
}

// GET /api/research/vocabulary: topics and access groups (labels in four
// languages), types, regions, languages and TLP labels, for forms and
// facet labels.
func (s *Server) vocabulary(c *echo.Context) error {
	topics, err := research.Topics()
	if err != nil {
		return err
	}
	out := map[string]any{"topics": topics, "types": research.Types(), "regions": research.Regions(),
		"languages": research.Languages(), "tlp": access.Labels(), "maxUploadBytes": s.research.MaxUploadBytes()}
	// The access groups, named in every language like the topics: forms
	// and lists show names, and send IDs.
	gs, err := s.groups.List(c.Request().Context())
	if err != nil {
		return err
	}
	type groupTerm struct {
		ID       string            `json:"id"`
		Labels   map[string]string `json:"labels"`
		Archived bool              `json:"archived"`
	}
	terms := make([]groupTerm, 0, len(gs))
	for _, g := range gs {
		terms = append(terms, groupTerm{ID: g.ID, Labels: g.Names, Archived: g.Archived})
	}
	out["groups"] = terms
	return c.JSON(http.StatusOK, out)
}
