package account

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"portal/audit"
	"portal/mail"
)

// ResetRequestTTL is how long a request to reset an admin's second factor
// waits for a second admin's approval.
const ResetRequestTTL = 24 * time.Hour

// FormerAdminWindow is how long after losing the admin role an account's
// reset still needs a second admin (SECURITY.md AC-12). Without it, one
// admin could demote another and reset the account alone. The demotion is
// itself a step-up act, audited and mailed to the demoted admin; 30 days
// gives the demoted admin and the other admins time to notice it (a holiday
// included) before a reset by one admin alone becomes possible.
const FormerAdminWindow = 30 * 24 * time.Hour

// needsSecondAdmin reports whether a reset of u at now needs a second
// admin: u is an admin, or lost the role within FormerAdminWindow.
func needsSecondAdmin(u *UserRecord, now time.Time) bool {
	return u.Role == RoleAdmin || (!u.RoleLoweredAt.IsZero() && now.Sub(u.RoleLoweredAt) < FormerAdminWindow)
}

// ResetRequest is a reset of an admin's second factor that waits for the
// approval of a second admin: one admin session alone must not be able to
// take over another admin's account (SECURITY.md AC-12).
type ResetRequest struct {
	ID          string
	UserID      string // the admin whose second factor is to be reset
	RequestedBy string // user ID of the first admin
	CreatedAt   time.Time
	ExpiresAt   time.Time
	ApprovedBy  string // user ID of the second admin; "" while pending
	ApprovedAt  time.Time
}

// ResetResult says what ResetMFA or ApproveReset did.
type ResetResult struct {
	// Done is true when the second factor was removed and the re-enrolment
	// link mailed to the member's registered address.
	Done bool
	// Token is the re-enrolment token of a done reset. It is for the
	// operator's command line only, which prints it when no mail relay is
	// configured; the API never shows it.
	Token     string
	ExpiresAt time.Time
	// Pending is the request that waits for a second admin, for an admin.
	Pending *ResetRequest
}

// ResetMFA resets member id's second factor. For a member who is not an
// admin, or from the operator's command line, it is done at once (see
// resetInTx) and the re-enrolment link is mailed to the member's
// registered address, never handed to the admin. For an admin, or an
// account that lost the admin role within FormerAdminWindow, it creates
// (or returns the already pending) ResetRequest that a second admin must
// approve with ApproveReset; the admin concerned is told by mail.
func (s *Service) ResetMFA(ctx context.Context, actor *User, id string, c Client) (ResetResult, error) {
	if err := s.requireAdmin(ctx, actor, audit.ActionMFAReset, id, c); err != nil {
		return ResetResult{}, err
	}
	var res ResetResult
	target, err := s.adminUpdate(ctx, actor, id, audit.ActionMFAReset, c, func(tx Tx, u *UserRecord) (string, error) {
		// Decided in the transaction that resets, so that a promotion
		// meanwhile cannot slip an admin's reset past the second admin,
		// nor a demotion just before it (needsSecondAdmin).
		if needsSecondAdmin(u, s.now()) && actor.ID != audit.ActorSystem {
			return "", errNeedsSecondAdmin
		}
		var (
			n   int
			err error
		)
		res, n, err = s.resetInTx(ctx, tx, u, actor.ID)
		return fmt.Sprintf("second factor removed; %d sessions ended; re-enrolment link issued", n), err
	})
	if errors.Is(err, errNeedsSecondAdmin) {
		return s.requestReset(ctx, actor, id, c)
	}
	if err != nil {
		return ResetResult{}, err
	}
	return res, s.mailResetLink(ctx, &target, res)
}

// errNeedsSecondAdmin turns ResetMFA of an admin into a ResetRequest.
var errNeedsSecondAdmin = errors.New("account: the reset of an admin needs a second admin")

// resetInTx removes u's second factors (TOTP secret, recovery codes and
// passkeys: a reset answers a lost or stolen factor, and a passkey on a
// lost authenticator must not come back with the new password), ends u's
// sessions and unused re-enrolment links, and issues a single-use
// re-enrolment token (an invitation bound to the account, created by
// createdBy) with which the member sets a new password and a new
// authenticator. It returns the result and how many sessions it ended.
func (s *Service) resetInTx(ctx context.Context, tx Tx, u *UserRecord, createdBy string) (ResetResult, int, error) {
	now := s.now()
	token := newToken()
	u.TOTPSecret, u.MFAEnrolled, u.LastTOTPStep, u.UpdatedAt = nil, false, 0, now
	if err := tx.SaveUser(ctx, u); err != nil {
		return ResetResult{}, 0, err
	}
	if err := tx.ReplaceRecoveryCodes(ctx, u.ID, nil); err != nil {
		return ResetResult{}, 0, err
	}
	if err := tx.DeleteUserPasskeys(ctx, u.ID); err != nil {
		return ResetResult{}, 0, err
	}
	if err := tx.DeleteUserInvitations(ctx, u.ID); err != nil {
		return ResetResult{}, 0, err
	}
	n, err := tx.DeleteUserSessions(ctx, u.ID, "")
	if err != nil {
		return ResetResult{}, 0, err
	}
	expires := now.Add(s.opts.InvitationTTL)
	err = tx.InsertInvitation(ctx, &InvitationRecord{
		ID:        newID(),
		TokenHash: hashToken(token),
		Invitation: Invitation{Email: u.Email, Role: u.Role, Groups: u.Groups,
			ExpiresAt: expires, Reset: true},
		UserID:    u.ID,
		CreatedBy: createdBy,
		CreatedAt: now,
	})
	return ResetResult{Done: true, Token: token, ExpiresAt: expires}, n, err
}

// requestReset records (or finds) the pending request to reset the second
// factor of admin id.
func (s *Service) requestReset(ctx context.Context, actor *User, id string, c Client) (ResetResult, error) {
	now := s.now()
	var (
		req     *ResetRequest
		created bool
		target  *UserRecord
	)
	err := s.st.Update(ctx, func(tx Tx) error {
		var err error
		if target, err = tx.UserByID(ctx, id); err != nil {
			return err
		}
		pending, err := tx.PendingResetRequests(ctx, target.ID, now)
		if err != nil {
			return err
		}
		if len(pending) > 0 {
			req = &pending[0]
			return nil
		}
		req = &ResetRequest{ID: newID(), UserID: target.ID, RequestedBy: actor.ID, CreatedAt: now,
			ExpiresAt: now.Add(ResetRequestTTL)}
		created = true
		return tx.InsertResetRequest(ctx, req)
	})
	if err != nil {
		return ResetResult{}, fmt.Errorf("account: request reset: %w", err)
	}
	if !created {
		return ResetResult{Pending: req}, nil
	}
	e := actorEntry(actor, audit.ActionMFAResetRequest, target.ID, audit.OutcomeSuccess)
	e.Detail = "awaits a second admin; request " + req.ID
	if err := s.record(ctx, e, c); err != nil {
		return ResetResult{}, err
	}
	s.notify(ctx, noticeResetRequested(target.Email, actor, req.ExpiresAt))
	return ResetResult{Pending: req}, nil
}

// PendingReset is a ResetRequest as admins see it.
type PendingReset struct {
	ResetRequest
	Email          string // the admin concerned
	RequestedByWho string // e-mail address of the admin who asked
}

// ListResetRequests returns the requests that wait for a second admin.
func (s *Service) ListResetRequests(ctx context.Context, actor *User) ([]PendingReset, error) {
	if err := s.requireAdmin(ctx, actor, "mfa.reset_request.list", "", Client{}); err != nil {
		return nil, err
	}
	now := s.now()
	var out []PendingReset
	err := s.st.View(ctx, func(tx Tx) error {
		list, err := tx.PendingResetRequests(ctx, "", now)
		if err != nil {
			return err
		}
		for _, r := range list {
			p := PendingReset{ResetRequest: r}
			if u, err := tx.UserByID(ctx, r.UserID); err == nil {
				p.Email = u.Email
			}
			p.RequestedByWho = emailOf(ctx, tx, r.RequestedBy)
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("account: list reset requests: %w", err)
	}
	return out, nil
}

// emailOf names the actor id for admins: a member's e-mail address, or id
// itself (the command line's audit.ActorSystem, a deleted account).
func emailOf(ctx context.Context, tx Tx, id string) string {
	if u, err := tx.UserByID(ctx, id); err == nil {
		return u.Email
	}
	return id
}

// ApproveReset is the second admin's approval of a pending ResetRequest: it
// resets the admin's second factor as ResetMFA does for members and mails
// the re-enrolment link to the admin's registered address. The approver
// must be neither the admin who asked nor the admin concerned
// (ErrForbidden), and the admin who asked must still be an enabled admin
// (ErrConflict). An unknown, approved or expired request is ErrNotFound.
func (s *Service) ApproveReset(ctx context.Context, approver *User, requestID string, c Client) (ResetResult, error) {
	if err := s.requireAdmin(ctx, approver, audit.ActionMFAResetApprove, requestID, c); err != nil {
		return ResetResult{}, err
	}
	now := s.now()
	var (
		res    ResetResult
		target User
		n      int
		denied string
	)
	err := s.st.Update(ctx, func(tx Tx) error {
		r, err := tx.ResetRequestByID(ctx, requestID)
		if err != nil {
			return err
		}
		if !r.ApprovedAt.IsZero() || !now.Before(r.ExpiresAt) {
			return ErrNotFound
		}
		switch approver.ID {
		case r.RequestedBy:
			denied = "the admin who asked cannot approve"
			return ErrForbidden
		case r.UserID:
			denied = "the admin concerned cannot approve"
			return ErrForbidden
		}
		asker, err := tx.UserByID(ctx, r.RequestedBy)
		if err != nil || asker.Disabled || asker.Role != RoleAdmin {
			return fmt.Errorf("%w: the admin who asked for this reset is no longer an enabled admin", ErrConflict)
		}
		if err := tx.ApproveResetRequest(ctx, r.ID, approver.ID, now); err != nil {
			return err
		}
		u, err := tx.UserByID(ctx, r.UserID)
		if err != nil {
			return err
		}
		// The re-enrolment link is the asker's: if the asker is disabled or
		// demoted before it is used, it stops working (invitationUsable).
		res, n, err = s.resetInTx(ctx, tx, u, r.RequestedBy)
		target = u.User
		return err
	})
	switch {
	case errors.Is(err, ErrForbidden):
		e := actorEntry(approver, audit.ActionAccessDenied, requestID, audit.OutcomeDenied)
		e.Detail = "mfa reset approval: " + denied
		s.record(ctx, e, c)
		return ResetResult{}, ErrForbidden
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrConflict):
		return ResetResult{}, err
	case err != nil:
		return ResetResult{}, fmt.Errorf("account: approve reset: %w", err)
	}
	e := actorEntry(approver, audit.ActionMFAResetApprove, target.ID, audit.OutcomeSuccess)
	e.Detail = fmt.Sprintf("request %s approved; second factor removed; %d sessions ended; re-enrolment link issued", requestID, n)
	if err := s.record(ctx, e, c); err != nil {
		return ResetResult{}, err
	}
	return res, s.mailResetLink(ctx, &target, res)
}

// mailResetLink queues the re-enrolment link of a done reset for the
// member's registered address. The reset is committed already, so a mail
// that cannot be queued must not look like a failed reset: the error wraps
// ErrResetMailNotQueued, is logged here with the account, and
// ResendResetLink issues a new link.
func (s *Service) mailResetLink(ctx context.Context, u *User, res ResetResult) error {
	if !res.Done {
		return nil
	}
	if err := s.send(ctx, mail.MFAReset(u.Email, s.acceptLink(res.Token), res.ExpiresAt)); err != nil {
		s.log.ErrorContext(ctx, "account: reset done, re-enrolment link not queued; resend it", "user", u.ID, "error", err)
		return fmt.Errorf("%w: %w", ErrResetMailNotQueued, err)
	}
	return nil
}

// ActionMFAResetResend is the audit action of ResendResetLink.
const ActionMFAResetResend = "mfa.reset_resend"

// ResendResetLink replaces the unused re-enrolment link of member id's done
// reset with a new one and mails it to the member's registered address, as
// the reset did: for when that mail could not be queued
// (ErrResetMailNotQueued) or did not arrive. It resets nothing more, so one
// admin may do it even for an admin whose reset a second admin approved;
// the new link keeps the creator of the old one, and with it the rule that
// it stops working when that admin is no longer one (invitationUsable).
// Without an unused, unexpired re-enrolment link it is ErrConflict: reset
// the account again.
func (s *Service) ResendResetLink(ctx context.Context, actor *User, id string, c Client) (ResetResult, error) {
	var res ResetResult
	target, err := s.adminUpdate(ctx, actor, id, ActionMFAResetResend, c, func(tx Tx, u *UserRecord) (string, error) {
		now := s.now()
		pending, err := tx.PendingInvitations(ctx, now)
		if err != nil {
			return "", err
		}
		i := slices.IndexFunc(pending, func(r InvitationRecord) bool { return r.Reset && r.UserID == u.ID })
		if i < 0 || u.MFAEnrolled {
			return "", fmt.Errorf("%w: no re-enrolment link of this account waits to be used; reset it again", ErrConflict)
		}
		old := pending[i]
		if err := tx.DeleteUserInvitations(ctx, u.ID); err != nil {
			return "", err
		}
		token := newToken()
		res = ResetResult{Done: true, Token: token, ExpiresAt: now.Add(s.opts.InvitationTTL)}
		err = tx.InsertInvitation(ctx, &InvitationRecord{
			ID:        newID(),
			TokenHash: hashToken(token),
			Invitation: Invitation{Email: u.Email, Role: u.Role, Groups: u.Groups,
				ExpiresAt: res.ExpiresAt, Reset: true},
			UserID:    u.ID,
			CreatedBy: old.CreatedBy,
			CreatedAt: now,
		})
		return "re-enrolment link " + old.ID + " replaced and sent again", err
	})
	if err != nil {
		return ResetResult{}, err
	}
	return res, s.mailResetLink(ctx, &target, res)
}
