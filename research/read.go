package research

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"portal/access"
	"portal/account"
	"portal/audit"
	"portal/blob"
)

// Get returns a record and its versions, oldest first. It returns
// ErrNotFound both when the record does not exist and when u may not see
// it, and audits the latter as access.denied. A withdrawn record is
// visible, with Withdrawn set, only to its uploader and to admins. It does
// not audit a successful read: what a member is shown goes through View or
// History, which do.
func (s *Service) Get(ctx context.Context, u *account.User, id string) (Document, []Version, error) {
	d, vs, err := s.load(ctx, u, id)
	if err != nil {
		return Document{}, nil, s.readErr(ctx, u, ActionView, id, err, account.Client{})
	}
	return *d, vs, nil
}

// View is Get for showing a record to u: the read is audited
// (ActionView) before the record is returned, and when the audit log
// cannot take the entry View returns ErrUnaudited and nothing else, so
// that no view goes unrecorded.
func (s *Service) View(ctx context.Context, u *account.User, id string, c account.Client) (Document, []Version, error) {
	return s.audited(ctx, u, id, ActionView, c)
}

// History returns a record's versions for u, audited (ActionVersions) and
// failing closed as View does: the version list names every file the
// record ever had.
func (s *Service) History(ctx context.Context, u *account.User, id string, c account.Client) ([]Version, error) {
	_, vs, err := s.audited(ctx, u, id, ActionVersions, c)
	return vs, err
}

// audited loads a record for u and records action on it; it returns the
// record only once the entry is written.
func (s *Service) audited(ctx context.Context, u *account.User, id, action string, c account.Client) (Document, []Version, error) {
	d, vs, err := s.load(ctx, u, id)
	if err != nil {
		return Document{}, nil, s.readErr(ctx, u, action, id, err, c)
	}
	detail := fmt.Sprintf("%s; %d versions", d.TLP, len(vs))
	if d.Withdrawn {
		detail += "; withdrawn"
	}
	if err := s.record(ctx, u, action, d.ID, audit.OutcomeSuccess, detail, c); err != nil {
		return Document{}, nil, err
	}
	return *d, vs, nil
}

// OpenVersion opens a version's original file for download (version 0 is
// the current one) after the same check as Get, and audits the download.
// The caller closes the file and must serve it as an attachment with
// Version.Kind's content type and Version.Filename.
func (s *Service) OpenVersion(ctx context.Context, u *account.User, id string, version int, c account.Client) (Document, Version, blob.File, error) {
	d, vs, err := s.load(ctx, u, id)
	if err != nil {
		return Document{}, Version{}, nil, s.readErr(ctx, u, ActionDownload, id, err, c)
	}
	if version == 0 {
		version = d.CurrentVersion
	}
	i := slices.IndexFunc(vs, func(v Version) bool { return v.Number == version })
	if i < 0 {
		return Document{}, Version{}, nil, ErrNotFound
	}
	v := vs[i]
	f, err := s.blobs.Open(ctx, v.SHA256)
	if err != nil {
		s.log.ErrorContext(ctx, "research: stored file missing or unreadable",
			"doc", d.ID, "version", v.Number, "sha256", v.SHA256, "err", err)
		s.Audit(ctx, u, ActionDownload, d.ID, audit.OutcomeFailure, fmt.Sprintf("version %d: file unavailable", v.Number), c)
		return Document{}, Version{}, nil, fmt.Errorf("research: open version %d of %s: %w", v.Number, d.ID, err)
	}
	// No download goes unrecorded: if the audit log cannot take the entry,
	// the file is not handed out.
	detail := fmt.Sprintf("version %d; %s; %s", v.Number, v.describe(), d.TLP)
	if err := s.record(ctx, u, ActionDownload, d.ID, audit.OutcomeSuccess, detail, c); err != nil {
		f.Close()
		return Document{}, Version{}, nil, err
	}
	return *d, v, f, nil
}

// load reads a record and its versions if u may see it.
func (s *Service) load(ctx context.Context, u *account.User, id string) (*Document, []Version, error) {
	if u == nil || !validID(id) {
		return nil, nil, ErrNotFound
	}
	var (
		d  *Document
		vs []Version
	)
	err := s.st.View(ctx, func(tx Tx) error {
		var err error
		if d, err = tx.Document(ctx, id); err != nil {
			return err
		}
		if !visible(u, d) {
			return ErrNotFound
		}
		if vs, err = tx.Versions(ctx, id); err != nil {
			return err
		}
		d.Recognition, err = tx.RecognitionState(ctx, id, d.CurrentVersion)
		return err
	})
	return d, vs, err
}

// readErr audits an invisible or missing record and wraps other errors.
func (s *Service) readErr(ctx context.Context, u *account.User, action, id string, err error, c account.Client) error {
	if errors.Is(err, ErrNotFound) {
		return s.denied(ctx, u, action, id, ErrNotFound, c)
	}
	return fmt.Errorf("research: %s %s: %w", action, id, err)
}

// Searchable returns which of ids u may find in search results now: those
// that exist, are not withdrawn and that access.CanSee lets u see. The
// API filters search hits through it, so that the store, not the index,
// has the last word.
func (s *Service) Searchable(ctx context.Context, u *account.User, ids []string) (map[string]bool, error) {
	out := make(map[string]bool, len(ids))
	subj := u.Subject()
	valid := make([]string, 0, len(ids))
	for _, id := range ids {
		if validID(id) {
			valid = append(valid, id)
		}
	}
	if len(valid) == 0 {
		return out, nil // nothing to look up: no need to open a transaction
	}
	var recs map[string]RecordAccess
	err := s.st.View(ctx, func(tx Tx) error {
		var err error
		recs, err = tx.Access(ctx, valid)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("research: searchable: %w", err)
	}
	for id, ra := range recs {
		if !ra.Withdrawn && access.CanSee(subj, ra.Object) {
			out[id] = true
		}
	}
	return out, nil
}

// Passages returns the text of a version of a record (0 for the current
// one), for indexing. It checks no access: it is for the indexer, not for
// members.
func (s *Service) Passages(ctx context.Context, id string, version int) ([]Passage, error) {
	var ps []Passage
	err := s.st.View(ctx, func(tx Tx) error {
		if version == 0 {
			d, err := tx.Document(ctx, id)
			if err != nil {
				return err
			}
			version = d.CurrentVersion
		}
		var err error
		ps, err = tx.Passages(ctx, id, version)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("research: passages of %s: %w", id, err)
	}
	return ps, nil
}

// Count returns how many records are not withdrawn: how many the index
// should hold.
func (s *Service) Count(ctx context.Context) (int, error) {
	vs, err := s.currentVersions(ctx)
	return len(vs), err
}

// Checksum returns IndexChecksum of the records that are not withdrawn,
// to compare the store with the index.
func (s *Service) Checksum(ctx context.Context) (string, error) {
	vs, err := s.currentVersions(ctx)
	if err != nil {
		return "", err
	}
	return IndexChecksum(vs), nil
}

func (s *Service) currentVersions(ctx context.Context) (map[string]int, error) {
	var vs map[string]int
	err := s.st.View(ctx, func(tx Tx) error {
		var err error
		vs, err = tx.CurrentVersions(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("research: current versions: %w", err)
	}
	return vs, nil
}

// IndexChecksum is the lower-case hex SHA-256 of the lines "<id>:<version>\n"
// for each record ID and current version number, in ID order. The search
// package computes it over the index's documents with this same function.
func IndexChecksum(versions map[string]int) string {
	h := sha256.New()
	for _, id := range slices.Sorted(maps.Keys(versions)) {
		h.Write([]byte(id + ":" + strconv.Itoa(versions[id]) + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}
