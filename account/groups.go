package account

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"portal/access"
	"portal/audit"
)

// Audit actions of group membership by a group's leads (or an admin).
const (
	ActionGroupMemberAdd    = "group.member_add"
	ActionGroupMemberRemove = "group.member_remove"
)

// SetGroupMember adds member who (an ID, or an e-mail address, which is
// what a lead knows of a colleague) to group (in) or removes them from it. An
// admin may do it for any group; a lead of group (package groups) for that
// group only, which is the whole of a lead's power: the lead is checked in
// the same transaction as the change, so a lead removed a moment ago
// cannot act. The group must exist, and be active to be joined. Nobody
// adds themselves (as with UpdateUser: whoever grants a group is not the
// one who gains it), and the members group is everyone's, so it is never
// changed here. Like any change of groups it ends the member's sessions,
// is audited and is mailed to the member.
func (s *Service) SetGroupMember(ctx context.Context, actor *User, who, group string, in bool, c Client) (User, error) {
	action := ActionGroupMemberRemove
	if in {
		action = ActionGroupMemberAdd
	}
	target := who + " " + group
	deny := func(reason string) error {
		e := actorEntry(actor, audit.ActionAccessDenied, target, audit.OutcomeDenied)
		e.Detail = action + ": " + reason
		s.record(ctx, e, c)
		return fmt.Errorf("%w: %s", ErrForbidden, reason)
	}
	if actor == nil || actor.Disabled {
		return User{}, deny("not signed in")
	}
	if group == access.Members || group == access.Public {
		return User{}, &InputError{Field: "group", Reason: "every member is in the members group; it is not changed one by one"}
	}
	if in && (actor.ID == who || actor.Email == strings.ToLower(strings.TrimSpace(who))) {
		return User{}, deny("nobody adds themselves to a group")
	}
	var (
		out     User
		changed bool
		denied  string
		ended   int
	)
	err := s.st.Update(ctx, func(tx Tx) error {
		leads, archived, err := tx.GroupLeads(ctx, group)
		if err != nil {
			// ErrNotFound for an unknown group: the groups are listed to
			// every member (GET /api/groups), so this tells nothing.
			return err
		}
		if actor.Role != RoleAdmin && !slices.Contains(leads, actor.ID) {
			denied = "not a lead of the group"
			return ErrForbidden
		}
		if in && archived {
			return &InputError{Field: "group", Reason: "the group is archived"}
		}
		var u *UserRecord
		if strings.Contains(who, "@") {
			addr, err := NormalizeEmail(who)
			if err != nil {
				return err
			}
			u, err = tx.UserByEmail(ctx, addr)
			if err != nil {
				return err
			}
		} else if u, err = tx.UserByID(ctx, who); err != nil {
			return err
		}
		if in && u.ID == actor.ID {
			denied = "nobody adds themselves to a group"
			return ErrForbidden
		}
		has := slices.Contains(u.Groups, group)
		if !in && !has {
			// Answered as an unknown account: removing someone who is
			// not in the group must not tell a lead that an address has
			// an account, or whose it is.
			return ErrNotFound
		}
		out = u.User
		if has == in {
			return nil
		}
		if in {
			u.Groups = append(u.Groups, group)
			slices.Sort(u.Groups)
		} else {
			u.Groups = slices.DeleteFunc(u.Groups, func(g string) bool { return g == group })
		}
		u.UpdatedAt = s.now()
		if err := tx.SaveUser(ctx, u); err != nil {
			return err
		}
		if ended, err = tx.DeleteUserSessions(ctx, u.ID, ""); err != nil {
			return err
		}
		out, changed = u.User, true
		return nil
	})
	switch {
	case denied != "":
		return User{}, deny(denied)
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrInvalidInput):
		e := actorEntry(actor, action, target, audit.OutcomeFailure)
		e.Detail = err.Error()
		s.record(ctx, e, c)
		return User{}, err
	case err != nil:
		return User{}, fmt.Errorf("account: %s: %w", action, err)
	}
	if !changed {
		return out, nil
	}
	e := actorEntry(actor, action, target, audit.OutcomeSuccess)
	e.Detail = fmt.Sprintf("groups=%s; %d sessions ended", strings.Join(out.Groups, ","), ended)
	if err := s.record(ctx, e, c); err != nil {
		return User{}, err
	}
	s.notify(ctx, noticeUserChanged(out.Email, actor, out.Role, out.Groups, false))
	return out, nil
}
