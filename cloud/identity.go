package cloud

import (
	"strings"
	"time"
)

// Identity is what a validated Keystone token says about its bearer.
type Identity struct {
	// UserID is the Keystone user the token was issued to.
	UserID string
	// ProjectID is the project the token is scoped to; empty for a token that
	// is not project-scoped.
	ProjectID string
	// Roles are the names of the roles the token carries in ProjectID.
	Roles []string
	// ExpiresAt is when Keystone stops accepting the token.
	ExpiresAt time.Time
}

// HasRole reports whether the token carries the named role. Keystone role
// names are compared without regard to letter case.
func (id Identity) HasRole(role string) bool {
	for _, r := range id.Roles {
		if strings.EqualFold(r, role) {
			return true
		}
	}
	return false
}
