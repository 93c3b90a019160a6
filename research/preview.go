package research

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"slices"

	"portal/account"
	"portal/audit"
	"portal/extract"
	"portal/preview"
)

// ActionPreview is audited for each page image shown, like a view.
const ActionPreview = "research.preview"

// Preview returns the PNG image of page n (from 1) of the current version
// of record id, width pixels wide (one of preview.Widths), for u. Access is
// decided first, exactly as for View: a record u may not see gives
// ErrNotFound whatever the page or width asked. Then a width outside the
// set is a ValidationError, and a page the version does not have, or a
// version that is not a PDF, is ErrNotFound. Each image shown is audited
// (ActionPreview), failing closed like View. Images of TLP:AMBER and above
// carry the reader's band (preview.Band).
func (s *Service) Preview(ctx context.Context, u *account.User, id string, n, width int, c account.Client) ([]byte, error) {
	if s.previews == nil {
		return nil, errors.New("research: previews are not configured")
	}
	d, vs, err := s.load(ctx, u, id)
	if err != nil {
		return nil, s.readErr(ctx, u, ActionPreview, id, err, c)
	}
	if !preview.ValidWidth(width) {
		return nil, &ValidationError{Field: "width", Reason: fmt.Sprintf("must be one of %v", preview.Widths)}
	}
	i := slices.IndexFunc(vs, func(v Version) bool { return v.Number == d.CurrentVersion })
	if i < 0 || vs[i].Kind != extract.KindPDF || n < 1 || n > vs[i].Pages {
		return nil, ErrNotFound
	}
	v := vs[i]
	detail := fmt.Sprintf("version %d; page %d; width %d; %s", v.Number, n, width, d.TLP)
	if err := s.record(ctx, u, ActionPreview, d.ID, audit.OutcomeSuccess, detail, c); err != nil {
		return nil, err
	}
	render := func(ctx context.Context) (image.Image, error) {
		// One page is drawn at a time, so that readers paging through
		// documents never hold every PDF worker and keep uploads waiting.
		select {
		case s.rendering <- struct{}{}:
			defer func() { <-s.rendering }()
		case <-ctx.Done():
			return nil, fmt.Errorf("research: wait to draw a page: %w", context.Cause(ctx))
		}
		f, err := s.blobs.Open(ctx, v.SHA256)
		if err != nil {
			return nil, fmt.Errorf("research: open %s for a preview: %w", d.ID, err)
		}
		defer f.Close()
		return s.x.RenderPage(ctx, f, v.Size, n, width)
	}
	var b []byte
	if d.Withdrawn {
		// Its uploader and admins still see it, but nothing of a
		// withdrawn record is kept (clearPreviews).
		b, err = preview.Draw(ctx, render)
	} else {
		b, err = s.previews.Page(ctx, v.SHA256, n, width, render)
	}
	if err != nil {
		return nil, fmt.Errorf("research: preview of %s page %d: %w", d.ID, n, err)
	}
	if !preview.NeedsBand(d.TLP) {
		return b, nil
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("research: decode cached preview: %w", err)
	}
	name := u.DisplayName
	if name == "" {
		name = u.Email
	}
	marked, err := preview.Band(img, preview.Stamp{Reader: name, Label: d.TLP, Date: s.now().Format("2006-01-02")})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, marked); err != nil {
		return nil, fmt.Errorf("research: encode preview: %w", err)
	}
	return buf.Bytes(), nil
}

// PreviewsCached returns how many page images are kept for record id's
// versions, for tests.
func (s *Service) PreviewsCached(ctx context.Context, id string) (int, error) {
	shas, err := s.versionHashes(ctx, id)
	n := 0
	for _, sha := range shas {
		n += s.previews.Cached(sha)
	}
	return n, err
}

// clearPreviews forgets the page images of every version of record id,
// once it is withdrawn: they show a record that most readers may no longer
// see. Images of a file that another record also holds are drawn again
// when next asked for.
func (s *Service) clearPreviews(ctx context.Context, id string) {
	if s.previews == nil {
		return
	}
	shas, err := s.versionHashes(ctx, id)
	if err != nil {
		s.log.ErrorContext(ctx, "research: page images of a withdrawn record not removed", "doc", id, "err", err)
		return
	}
	for _, sha := range shas {
		if err := s.previews.Remove(sha); err != nil {
			s.log.ErrorContext(ctx, "research: page images of a withdrawn record not removed", "doc", id, "err", err)
		}
	}
}

func (s *Service) versionHashes(ctx context.Context, id string) ([]string, error) {
	var vs []Version
	err := s.st.View(context.WithoutCancel(ctx), func(tx Tx) error {
		var err error
		vs, err = tx.Versions(ctx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("research: versions of %s: %w", id, err)
	}
	shas := make([]string, len(vs))
	for i, v := range vs {
		shas[i] = v.SHA256
	}
	return shas, nil
}

// ActionPage is audited for each page or passage text shown beside a
// preview, like a view.
const ActionPage = "research.page"

// PageText is one page (PDF) or passage (other kinds) of a record's
// current version, for reading beside its image.
type PageText struct {
	Number int
	Pages  int // pages or passages in the version
	Kind   extract.Kind
	Text   string
	// Recognised says the text was read from the page's image by OCR,
	// the page having no text layer.
	Recognised bool
}

// Page returns page or passage n (from 1) of record id's current version
// for u, after the same check as View, and audits it (ActionPage), failing
// closed. A page the version does not have is ErrNotFound.
func (s *Service) Page(ctx context.Context, u *account.User, id string, n int, c account.Client) (PageText, error) {
	d, vs, err := s.load(ctx, u, id)
	if err != nil {
		return PageText{}, s.readErr(ctx, u, ActionPage, id, err, c)
	}
	i := slices.IndexFunc(vs, func(v Version) bool { return v.Number == d.CurrentVersion })
	if i < 0 || n < 1 || n > vs[i].Pages {
		return PageText{}, ErrNotFound
	}
	v := vs[i]
	ps, err := s.Passages(ctx, d.ID, v.Number)
	if err != nil {
		return PageText{}, err
	}
	j := slices.IndexFunc(ps, func(p Passage) bool { return p.Number == n })
	if j < 0 {
		return PageText{}, ErrNotFound
	}
	detail := fmt.Sprintf("version %d; page %d; %s", v.Number, n, d.TLP)
	if err := s.record(ctx, u, ActionPage, d.ID, audit.OutcomeSuccess, detail, c); err != nil {
		return PageText{}, err
	}
	return PageText{Number: n, Pages: v.Pages, Kind: v.Kind, Text: ps[j].Text, Recognised: ps[j].Recognised}, nil
}
