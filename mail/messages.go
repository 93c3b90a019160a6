package mail

import "time"

// The texts of the messages the portal sends. Links are credentials: each
// message says how long its link works and what to do if it was not
// expected.

const expiryFormat = "2 January 2006 at 15:04 UTC"

// Invitation is the message that carries an invitation link.
func Invitation(to, link string, expires time.Time) Message {
	return Message{To: to, Subject: "Your invitation to the members' portal", Text: "You have been invited to the members' area of the portal of INTERPOL's Specialist Group on\n" +
		"Crimes Against Children.\n\n" +
		"Open this link to set your password and your second factor:\n\n" + link + "\n\n" +
		"The link works once and expires on " + expires.UTC().Format(expiryFormat) + ".\n" +
		"If you did not expect this invitation, ignore this message.\n"}
}

// MFAReset is the message that carries the re-enrolment link of a member
// whose second factor an admin has reset.
func MFAReset(to, link string, expires time.Time) Message {
	return Message{To: to, Subject: "Set up your second factor again", Text: "An admin has reset the second factor of your account on the members' portal of INTERPOL's\n" +
		"Specialist Group on Crimes Against Children: your authenticator app, recovery codes and\n" +
		"passkeys no longer work, and your sessions have ended.\n\n" +
		"Open this link to set a new password and a new second factor:\n\n" + link + "\n\n" +
		"The link works once and expires on " + expires.UTC().Format(expiryFormat) + ".\n" +
		"If you did not ask for this reset, tell your admin.\n"}
}
