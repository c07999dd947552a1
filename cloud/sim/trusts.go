package sim

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

type trustRequest struct {
	Trust struct {
		TrustorUserID string     `json:"trustor_user_id"`
		TrusteeUserID string     `json:"trustee_user_id"`
		ProjectID     string     `json:"project_id"`
		Impersonation bool       `json:"impersonation"`
		ExpiresAt     *string    `json:"expires_at"`
		Roles         []nameOrID `json:"roles"`
	} `json:"trust"`
}

// trustCallerLocked resolves the caller's token for the trust calls.
func (c *Cloud) trustCallerLocked(w http.ResponseWriter, r *http.Request) (*token, bool) {
	t, ok := c.validLocked(r.Header.Get("X-Auth-Token"))
	if !ok {
		keystoneError(w, http.StatusUnauthorized, authRequired)
		return nil, false
	}
	return t, true
}

func (c *Cloud) createTrust(w http.ResponseWriter, r *http.Request) {
	var req trustRequest
	if err := decodeJSON(r, &req); err != nil {
		keystoneError(w, http.StatusBadRequest, err.Error())
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	me, ok := c.trustCallerLocked(w, r)
	if !ok {
		return
	}
	q := req.Trust
	if me.trust != nil {
		keystoneError(w, http.StatusForbidden, "Redelegation is not allowed.")
		return
	}
	if c.ident.users[me.user].id != q.TrustorUserID {
		keystoneError(w, http.StatusForbidden, "The authenticated user should match the trustor.")
		return
	}
	trustee, ok := c.ident.userByID[q.TrusteeUserID]
	if !ok {
		keystoneError(w, http.StatusNotFound, "Could not find user: "+q.TrusteeUserID+".")
		return
	}
	p, ok := c.ident.projectByID[q.ProjectID]
	if !ok {
		keystoneError(w, http.StatusNotFound, "Could not find project: "+q.ProjectID+".")
		return
	}
	if len(q.Roles) == 0 {
		keystoneError(w, http.StatusForbidden, "At least one role should be specified.")
		return
	}
	var roles roleSet
	for _, ref := range q.Roles {
		i, ok := c.ident.roleByID[ref.ID]
		if !ok {
			i, ok = c.ident.roleByName[ref.Name]
		}
		if !ok {
			keystoneError(w, http.StatusNotFound, "Could not find role: "+ref.ID+ref.Name+".")
			return
		}
		roles |= 1 << i
	}
	if c.rolesOnLocked(me.user, p)&roles != roles {
		keystoneError(w, http.StatusForbidden, "Trustor does not have the requested roles on the project.")
		return
	}
	tr := &trust{
		id: c.rand.uuid().hex32(), trustor: me.user, trustee: trustee, project: p,
		roles: roles, impersonation: q.Impersonation, created: c.clock.Now(),
	}
	if q.ExpiresAt != nil && *q.ExpiresAt != "" {
		at, err := time.Parse(time.RFC3339Nano, *q.ExpiresAt)
		if err != nil {
			keystoneError(w, http.StatusBadRequest, "Invalid expires_at: "+*q.ExpiresAt)
			return
		}
		tr.expires = at
	}
	c.ident.trusts[tr.id] = tr
	c.ident.trustOrder = append(c.ident.trustOrder, tr)
	writeJSON(w, http.StatusCreated, map[string]any{"trust": c.trustBodyLocked(tr, c.base(r))})
}

func (c *Cloud) trustBodyLocked(tr *trust, base string) map[string]any {
	self := base + "/identity/v3/OS-TRUST/trusts/" + tr.id
	roles := []any{}
	for _, name := range c.roleNamesLocked(tr.roles) {
		roles = append(roles, map[string]any{"id": c.ident.roles[c.ident.roleByName[name]].id, "name": name})
	}
	var expires any
	if !tr.expires.IsZero() {
		expires = tr.expires.UTC().Format(isoMicros)
	}
	return map[string]any{
		"id":                   tr.id,
		"trustor_user_id":      c.ident.users[tr.trustor].id,
		"trustee_user_id":      c.ident.users[tr.trustee].id,
		"project_id":           c.ident.projects[tr.project].id,
		"impersonation":        tr.impersonation,
		"expires_at":           expires,
		"remaining_uses":       nil,
		"allow_redelegation":   false,
		"redelegation_count":   0,
		"redelegated_trust_id": nil,
		"roles":                roles,
		"roles_links":          map[string]any{"self": self + "/roles", "next": nil, "previous": nil},
		"links":                map[string]any{"self": self},
	}
}

// visibleTrustLocked: trusts are visible to their trustor, their trustee
// and admins.
func (c *Cloud) visibleTrustLocked(me *token, tr *trust) bool {
	return me.user == tr.trustor || me.user == tr.trustee || me.roles&roleAdmin != 0
}

func (c *Cloud) listTrusts(w http.ResponseWriter, r *http.Request) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	me, ok := c.trustCallerLocked(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	out := []any{}
	for _, tr := range c.ident.trustOrder {
		if tr.deleted || !c.visibleTrustLocked(me, tr) {
			continue
		}
		if v := q.Get("trustor_user_id"); v != "" && v != c.ident.users[tr.trustor].id {
			continue
		}
		if v := q.Get("trustee_user_id"); v != "" && v != c.ident.users[tr.trustee].id {
			continue
		}
		out = append(out, c.trustBodyLocked(tr, c.base(r)))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"trusts": out,
		"links":  map[string]any{"self": c.base(r) + r.URL.Path, "next": nil, "previous": nil},
	})
}

func (c *Cloud) getTrust(w http.ResponseWriter, r *http.Request) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	me, ok := c.trustCallerLocked(w, r)
	if !ok {
		return
	}
	tr, ok := c.ident.trusts[r.PathValue("id")]
	if !ok || tr.deleted {
		keystoneError(w, http.StatusNotFound, "Could not find trust: "+r.PathValue("id")+".")
		return
	}
	if !c.visibleTrustLocked(me, tr) {
		keystoneError(w, http.StatusForbidden, "You are not authorized to perform the requested action: identity:get_trust.")
		return
	}
	body := c.trustBodyLocked(tr, c.base(r))
	if strings.HasSuffix(r.URL.Path, "/roles") {
		writeJSON(w, http.StatusOK, map[string]any{"roles": body["roles"], "links": body["roles_links"]})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"trust": body})
}

func (c *Cloud) deleteTrust(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	me, ok := c.trustCallerLocked(w, r)
	if !ok {
		return
	}
	tr, ok := c.ident.trusts[r.PathValue("id")]
	if !ok || tr.deleted {
		keystoneError(w, http.StatusNotFound, "Could not find trust: "+r.PathValue("id")+".")
		return
	}
	if me.user != tr.trustor && me.roles&roleAdmin == 0 {
		keystoneError(w, http.StatusForbidden, "You are not authorized to perform the requested action: identity:delete_trust.")
		return
	}
	tr.deleted = true // its tokens stop validating: validLocked checks it
	delete(c.ident.trusts, tr.id)
	c.ident.trustOrder = slices.DeleteFunc(c.ident.trustOrder, func(x *trust) bool { return x == tr })
	w.WriteHeader(http.StatusNoContent)
}
