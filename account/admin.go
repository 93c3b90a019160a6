package account

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"portal/audit"
)

// requireAdmin lets enabled admins through and records everyone else's
// attempt as access.denied (SECURITY.md AC-6).
func (s *Service) requireAdmin(ctx context.Context, actor *User, action, target string, c Client) error {
	if actor != nil && actor.Role == RoleAdmin && !actor.Disabled {
		return nil
	}
	e := actorEntry(actor, audit.ActionAccessDenied, target, audit.OutcomeDenied)
	e.Detail = "admin action " + action
	s.record(ctx, e, c)
	return ErrForbidden
}

// ListUsers returns every member, by e-mail address.
func (s *Service) ListUsers(ctx context.Context, actor *User) ([]User, error) {
	if err := s.requireAdmin(ctx, actor, "user.list", "", Client{}); err != nil {
		return nil, err
	}
	var users []User
	err := s.st.View(ctx, func(tx Tx) error {
		var err error
		users, err = tx.ListUsers(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("account: list users: %w", err)
	}
	return users, nil
}

// GetUser returns one member.
func (s *Service) GetUser(ctx context.Context, actor *User, id string) (User, error) {
	if err := s.requireAdmin(ctx, actor, "user.get", id, Client{}); err != nil {
		return User{}, err
	}
	var u *UserRecord
	err := s.st.View(ctx, func(tx Tx) error {
		var err error
		u, err = tx.UserByID(ctx, id)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("account: get user: %w", err)
	}
	return u.User, nil
}

// adminUpdate runs change on user id inside a write transaction and audits
// the outcome. change returns the audit detail.
func (s *Service) adminUpdate(ctx context.Context, actor *User, id, action string, c Client,
	change func(tx Tx, u *UserRecord) (detail string, err error)) (User, error) {
	if err := s.requireAdmin(ctx, actor, action, id, c); err != nil {
		return User{}, err
	}
	var (
		out    User
		detail string
	)
	err := s.st.Update(ctx, func(tx Tx) error {
		u, err := tx.UserByID(ctx, id)
		if err != nil {
			return err
		}
		if detail, err = change(tx, u); err != nil {
			return err
		}
		out = u.User
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrConflict) || errors.Is(err, ErrInvalidInput) || errors.Is(err, ErrForbidden) {
			outcome := audit.OutcomeFailure
			if errors.Is(err, ErrForbidden) {
				outcome = audit.OutcomeDenied
			}
			e := actorEntry(actor, action, id, outcome)
			e.Detail = err.Error()
			s.record(ctx, e, c)
		}
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) || errors.Is(err, ErrInvalidInput) || errors.Is(err, ErrForbidden) {
			return User{}, err
		}
		return User{}, fmt.Errorf("account: %s: %w", action, err)
	}
	e := actorEntry(actor, action, id, audit.OutcomeSuccess)
	e.Detail = detail
	if err := s.record(ctx, e, c); err != nil {
		return User{}, err
	}
	return out, nil
}

// lastAdmin reports whether u is the only enabled admin.
func lastAdmin(ctx context.Context, tx Tx, u *UserRecord) (bool, error) {
	if u.Role != RoleAdmin || u.Disabled {
		return false, nil
	}
	n, err := tx.CountEnabledAdmins(ctx)
	return n <= 1, err
}

// UpdateUser changes a member's role and/or groups (nil leaves a field
// alone). Any change ends the member's sessions: new privileges take
// effect at the next login, and is mailed to the member. Removing the last
// enabled admin is ErrConflict; an admin adding a group to their own
// account is ErrForbidden. Taking the admin role away is recorded
// (UserRecord.RoleLoweredAt): for FormerAdminWindow a reset of the account
// still needs a second admin.
func (s *Service) UpdateUser(ctx context.Context, actor *User, id string, role *Role, groups *[]string, c Client) (User, error) {
	var gs []string
	if role != nil {
		if err := validRole(*role); err != nil {
			return User{}, err
		}
	}
	if groups != nil {
		var err error
		if gs, err = normGroups(*groups); err != nil {
			return User{}, err
		}
	}
	changed, demoted := false, false
	u, err := s.adminUpdate(ctx, actor, id, audit.ActionUserUpdate, c, func(tx Tx, u *UserRecord) (string, error) {
		if role != nil && *role != u.Role {
			last, err := lastAdmin(ctx, tx, u)
			if err != nil {
				return "", err
			}
			if last {
				return "", fmt.Errorf("%w: the last enabled admin cannot lose the admin role", ErrConflict)
			}
			if u.Role == RoleAdmin {
				u.RoleLoweredAt, demoted = s.now(), true
			}
			u.Role, changed = *role, true
		}
		if groups != nil && !slices.Equal(gs, u.Groups) {
			// Groups decide what an account reads (package access), and
			// administering people must not open content: an admin may
			// drop their own groups but not add one; another admin does,
			// on the record.
			if actor.ID == u.ID && slices.ContainsFunc(gs, func(g string) bool { return !slices.Contains(u.Groups, g) }) {
				return "", fmt.Errorf("%w: an admin cannot add groups to their own account; another admin can", ErrForbidden)
			}
			u.Groups, changed = gs, true
		}
		if !changed {
			return "no change", nil
		}
		u.UpdatedAt = s.now()
		if err := tx.SaveUser(ctx, u); err != nil {
			return "", err
		}
		n, err := tx.DeleteUserSessions(ctx, u.ID, "")
		return fmt.Sprintf("role=%s groups=%s; %d sessions ended", u.Role, strings.Join(u.Groups, ","), n), err
	})
	if err == nil && changed {
		s.notify(ctx, noticeUserChanged(u.Email, actor, u.Role, u.Groups, demoted))
	}
	return u, err
}

// SetDisabled disables or enables a member. Disabling ends all the
// member's sessions and unused re-enrolment tokens at once; disabling the
// last enabled admin is ErrConflict.
func (s *Service) SetDisabled(ctx context.Context, actor *User, id string, disabled bool, c Client) (User, error) {
	action := audit.ActionUserEnable
	if disabled {
		action = audit.ActionUserDisable
	}
	changed := false
	u, err := s.adminUpdate(ctx, actor, id, action, c, func(tx Tx, u *UserRecord) (string, error) {
		if u.Disabled == disabled {
			return "no change", nil
		}
		changed = true
		if disabled {
			last, err := lastAdmin(ctx, tx, u)
			if err != nil {
				return "", err
			}
			if last {
				return "", fmt.Errorf("%w: the last enabled admin cannot be disabled", ErrConflict)
			}
		}
		u.Disabled, u.UpdatedAt = disabled, s.now()
		if err := tx.SaveUser(ctx, u); err != nil {
			return "", err
		}
		if !disabled {
			return "enabled", nil
		}
		if err := tx.DeleteUserInvitations(ctx, u.ID); err != nil {
			return "", err
		}
		n, err := tx.DeleteUserSessions(ctx, u.ID, "")
		return fmt.Sprintf("disabled; %d sessions ended", n), err
	})
	if err == nil && changed {
		s.notify(ctx, noticeDisabled(u.Email, actor, disabled))
	}
	return u, err
}

// UnlockUser clears a member's lock and untrusted failure counter, and
// tells the member by mail.
func (s *Service) UnlockUser(ctx context.Context, actor *User, id string, c Client) (User, error) {
	u, err := s.adminUpdate(ctx, actor, id, audit.ActionUserUnlock, c, func(tx Tx, u *UserRecord) (string, error) {
		detail := fmt.Sprintf("was locked=%t failures=%d", u.Locked, u.Failures)
		u.Locked, u.Failures, u.LastFailureAt, u.UpdatedAt = false, 0, time.Time{}, s.now()
		return detail, tx.SaveUser(ctx, u)
	})
	if err == nil {
		s.notify(ctx, unlockedNotice(u.Email, s.now()))
	}
	return u, err
}

// RevokeAllSessions ends every session of member id. Admins may do this to
// anyone; members to themselves ("sign out everywhere").
func (s *Service) RevokeAllSessions(ctx context.Context, actor *User, id string, c Client) error {
	if actor == nil || actor.ID != id {
		if err := s.requireAdmin(ctx, actor, audit.ActionSessionRevokeAll, id, c); err != nil {
			return err
		}
	}
	var (
		n      int
		member *UserRecord
	)
	err := s.st.Update(ctx, func(tx Tx) error {
		var err error
		if member, err = tx.UserByID(ctx, id); err != nil {
			return err
		}
		n, err = tx.DeleteUserSessions(ctx, id, "")
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("account: revoke all sessions: %w", err)
	}
	e := actorEntry(actor, audit.ActionSessionRevokeAll, id, audit.OutcomeSuccess)
	e.Detail = fmt.Sprintf("%d sessions ended", n)
	if err := s.record(ctx, e, c); err != nil {
		return err
	}
	if actor.ID != id {
		s.notify(ctx, noticeSessionsEnded(member.Email, actor, n))
	}
	return nil
}

// ListUserSessions returns member id's live sessions, newest first, for an
// admin. The list says where and when the member works, so it is audited.
func (s *Service) ListUserSessions(ctx context.Context, actor *User, id string, c Client) ([]Session, error) {
	if err := s.requireAdmin(ctx, actor, audit.ActionSessionList, id, c); err != nil {
		return nil, err
	}
	var member *UserRecord
	err := s.st.View(ctx, func(tx Tx) error {
		var err error
		member, err = tx.UserByID(ctx, id)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("account: list sessions: %w", err)
	}
	list, err := s.ListSessions(ctx, &member.User, nil)
	if err != nil {
		return nil, err
	}
	e := actorEntry(actor, audit.ActionSessionList, id, audit.OutcomeSuccess)
	e.Detail = fmt.Sprintf("%d sessions", len(list))
	if err := s.record(ctx, e, c); err != nil {
		return nil, err
	}
	return list, nil
}

// Operator is the actor of the admin acts of the command line (`portal
// users …`), for an operator locked out of the web. Whoever can run the
// binary with the database and the secret key holds every power already,
// so it acts as an admin; its acts are audited with the system as the
// actor and name, the operating-system account that ran the command.
func Operator(name string) *User {
	return &User{ID: audit.ActorSystem, Email: "command line (" + name + ")", Role: RoleAdmin, Groups: []string{GroupMembers}}
}
