package sim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

func (c *Cloud) routeKeystone(mux *http.ServeMux) {
	mux.HandleFunc("GET /identity", c.keystoneVersions)
	mux.HandleFunc("GET /identity/{$}", c.keystoneVersions)
	mux.HandleFunc("GET /identity/v3", c.keystoneVersion)
	mux.HandleFunc("GET /identity/v3/{$}", c.keystoneVersion)
	mux.HandleFunc("POST /identity/v3/auth/tokens", c.createToken)
	mux.HandleFunc("GET /identity/v3/auth/tokens", c.checkToken)
	mux.HandleFunc("HEAD /identity/v3/auth/tokens", c.checkToken)
	mux.HandleFunc("DELETE /identity/v3/auth/tokens", c.revokeToken)
	mux.HandleFunc("POST /identity/v3/OS-TRUST/trusts", c.createTrust)
	mux.HandleFunc("GET /identity/v3/OS-TRUST/trusts", c.listTrusts)
	mux.HandleFunc("GET /identity/v3/OS-TRUST/trusts/{id}", c.getTrust)
	mux.HandleFunc("GET /identity/v3/OS-TRUST/trusts/{id}/roles", c.getTrust)
	mux.HandleFunc("DELETE /identity/v3/OS-TRUST/trusts/{id}", c.deleteTrust)
}

func (c *Cloud) keystoneVersionDoc(r *http.Request) map[string]any {
	return map[string]any{
		"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
		"links":       []any{map[string]any{"rel": "self", "href": c.base(r) + "/identity/v3/"}},
		"media-types": []any{map[string]any{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}},
	}
}

func (c *Cloud) keystoneVersions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusMultipleChoices, map[string]any{
		"versions": map[string]any{"values": []any{c.keystoneVersionDoc(r)}},
	})
}

func (c *Cloud) keystoneVersion(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"version": c.keystoneVersionDoc(r)})
}

type nameOrID struct {
	ID     string    `json:"id"`
	Name   string    `json:"name"`
	Domain *nameOrID `json:"domain"`
}

type authRequest struct {
	Auth struct {
		Identity struct {
			Methods  []string `json:"methods"`
			Password *struct {
				User struct {
					nameOrID
					Password string `json:"password"`
				} `json:"user"`
			} `json:"password"`
			Token *struct {
				ID string `json:"id"`
			} `json:"token"`
		} `json:"identity"`
		Scope json.RawMessage `json:"scope"`
	} `json:"auth"`
}

type scopeRequest struct {
	Project *nameOrID       `json:"project"`
	Trust   *nameOrID       `json:"OS-TRUST:trust"`
	Domain  json.RawMessage `json:"domain"`
	System  json.RawMessage `json:"system"`
}

func defaultDomain(d *nameOrID) bool {
	return d != nil && (d.ID == DomainID || (d.ID == "" && d.Name == DomainName))
}

func (c *Cloud) createToken(w http.ResponseWriter, r *http.Request) {
	var req authRequest
	if err := decodeJSON(r, &req); err != nil {
		keystoneError(w, http.StatusBadRequest, err.Error())
		return
	}
	var scope scopeRequest
	unscoped := false
	if raw := strings.TrimSpace(string(req.Auth.Scope)); raw == `"unscoped"` {
		unscoped = true
	} else if len(raw) > 0 && raw != "null" {
		if err := json.Unmarshal(req.Auth.Scope, &scope); err != nil {
			keystoneError(w, http.StatusBadRequest, "malformed scope: "+err.Error())
			return
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()

	// Who is authenticating.
	var u int32 = -1
	var from *token
	id := req.Auth.Identity
	switch {
	case slices.Contains(id.Methods, "password") && id.Password != nil:
		pu := id.Password.User
		var ok bool
		if pu.ID != "" {
			u, ok = c.ident.userByID[pu.ID]
		} else if defaultDomain(pu.Domain) {
			u, ok = c.ident.userByName[pu.Name]
		}
		if !ok || c.ident.users[u].password != pu.Password {
			keystoneError(w, http.StatusUnauthorized, authRequired)
			return
		}
	case slices.Contains(id.Methods, "token") && id.Token != nil:
		t, ok := c.validLocked(id.Token.ID)
		if !ok {
			keystoneError(w, http.StatusNotFound, "Could not find token: "+id.Token.ID+".")
			return
		}
		if t.trust != nil {
			keystoneError(w, http.StatusForbidden, "Trust-scoped tokens cannot be rescoped.")
			return
		}
		u, from = t.user, t
	default:
		keystoneError(w, http.StatusBadRequest, "Expecting to find identity methods password or token in auth.")
		return
	}
	methods := id.Methods

	// What it is scoped to.
	switch {
	case scope.Trust != nil:
		c.trustToken(w, r, u, scope.Trust.ID, methods)
		return
	case scope.Domain != nil || scope.System != nil:
		keystoneError(w, http.StatusUnauthorized, "User "+c.ident.users[u].id+" has no access to that scope.")
		return
	}
	p := int32(-1)
	switch {
	case scope.Project != nil:
		var ok bool
		if scope.Project.ID != "" {
			p, ok = c.ident.projectByID[scope.Project.ID]
		} else if defaultDomain(scope.Project.Domain) {
			p, ok = c.ident.projectByName[scope.Project.Name]
		}
		if !ok {
			keystoneError(w, http.StatusUnauthorized, authRequired)
			return
		}
	case unscoped:
	case from != nil:
		p = from.project
	default:
		p = c.ident.users[u].project // Keystone scopes to the default project
	}
	var roles roleSet
	if p >= 0 {
		if roles = c.rolesOnLocked(u, p); roles == 0 {
			keystoneError(w, http.StatusUnauthorized, authRequired)
			return
		}
	}
	t := c.issueLocked(u, p, roles, nil, methods)
	w.Header().Set("X-Subject-Token", t.id)
	writeJSON(w, http.StatusCreated, map[string]any{"token": c.tokenBodyLocked(t, c.base(r), true)})
}

// trustToken issues a token scoped by trust trustID to its trustee u.
func (c *Cloud) trustToken(w http.ResponseWriter, r *http.Request, u int32, trustID string, methods []string) {
	tr, ok := c.ident.trusts[trustID]
	if !ok || tr.deleted {
		keystoneError(w, http.StatusNotFound, "Could not find trust: "+trustID+".")
		return
	}
	if !tr.expires.IsZero() && !c.clock.Now().Before(tr.expires) {
		keystoneError(w, http.StatusUnauthorized, "The trust has expired.")
		return
	}
	if tr.trustee != u {
		keystoneError(w, http.StatusForbidden, "User "+c.ident.users[u].id+" is not a trustee.")
		return
	}
	// The trustor must still hold the delegated roles.
	if c.rolesOnLocked(tr.trustor, tr.project)&tr.roles != tr.roles {
		keystoneError(w, http.StatusForbidden, "Trustor no longer has the delegated roles.")
		return
	}
	actor := tr.trustee
	if tr.impersonation {
		actor = tr.trustor
	}
	t := c.issueLocked(actor, tr.project, tr.roles, tr, methods)
	w.Header().Set("X-Subject-Token", t.id)
	writeJSON(w, http.StatusCreated, map[string]any{"token": c.tokenBodyLocked(t, c.base(r), true)})
}

func domainRef() map[string]any { return map[string]any{"id": DomainID, "name": DomainName} }

func (c *Cloud) tokenBodyLocked(t *token, base string, catalog bool) map[string]any {
	us := c.ident.users[t.user]
	body := map[string]any{
		"methods":    t.methods,
		"user":       map[string]any{"id": us.id, "name": us.name, "domain": domainRef(), "password_expires_at": nil},
		"audit_ids":  []string{t.audit},
		"issued_at":  t.issued.UTC().Format(isoMicros),
		"expires_at": t.expires.UTC().Format(isoMicros),
	}
	if t.project >= 0 {
		p := c.ident.projects[t.project]
		body["project"] = map[string]any{"id": p.id, "name": p.name, "domain": domainRef()}
		body["is_domain"] = false
		roles := []any{}
		for _, name := range c.roleNamesLocked(t.roles) {
			roles = append(roles, map[string]any{"id": c.ident.roles[c.ident.roleByName[name]].id, "name": name})
		}
		body["roles"] = roles
		if catalog {
			body["catalog"] = c.catalog(base)
		}
	}
	if tr := t.trust; tr != nil {
		body["OS-TRUST:trust"] = map[string]any{
			"id":            tr.id,
			"impersonation": tr.impersonation,
			"trustee_user":  map[string]any{"id": c.ident.users[tr.trustee].id},
			"trustor_user":  map[string]any{"id": c.ident.users[tr.trustor].id},
		}
	}
	return body
}

// catalog lists identity, compute and image on this server, each on the
// public, internal and admin interfaces of one region.
func (c *Cloud) catalog(base string) []any {
	services := []struct{ id, typ, name, url string }{
		{"1d0e7e4b0d2c4d3f9d1c7e6a5b4c3d2e", "identity", "keystone", base + "/identity"},
		{"2e1f8f5c1e3d4e4fae2d8f7b6c5d4e3f", "compute", "nova", base + "/compute/v2.1"},
		{"3f2a9a6d2f4e4f5abf3e9a8c7d6e5f4a", "image", "glance", base + "/image"},
	}
	out := make([]any, 0, len(services))
	for _, s := range services {
		var eps []any
		for k, iface := range []string{"public", "internal", "admin"} {
			eps = append(eps, map[string]any{
				"id": s.id[:31] + string(rune('0'+k)), "interface": iface,
				"region": c.cfg.Region, "region_id": c.cfg.Region, "url": s.url,
			})
		}
		out = append(out, map[string]any{"id": s.id, "type": s.typ, "name": s.name, "endpoints": eps})
	}
	return out
}

// checkToken validates X-Subject-Token for a caller holding X-Auth-Token:
// services and admins may check any token, others only their own user's
// (Keystone's service_admin_or_token_subject).
func (c *Cloud) checkToken(w http.ResponseWriter, r *http.Request) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	me, ok := c.validLocked(r.Header.Get("X-Auth-Token"))
	if !ok {
		keystoneError(w, http.StatusUnauthorized, authRequired)
		return
	}
	subject := r.Header.Get("X-Subject-Token")
	t, ok := c.validLocked(subject)
	if !ok {
		keystoneError(w, http.StatusNotFound, "Could not find token: "+subject+".")
		return
	}
	if me.roles&(roleAdmin|roleService) == 0 && t.user != me.user {
		keystoneError(w, http.StatusForbidden, "You are not authorized to perform the requested action: identity:validate_token.")
		return
	}
	w.Header().Set("X-Subject-Token", t.id)
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	_, nocatalog := r.URL.Query()["nocatalog"]
	writeJSON(w, http.StatusOK, map[string]any{"token": c.tokenBodyLocked(t, c.base(r), !nocatalog)})
}

func (c *Cloud) revokeToken(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	me, ok := c.validLocked(r.Header.Get("X-Auth-Token"))
	if !ok {
		keystoneError(w, http.StatusUnauthorized, authRequired)
		return
	}
	subject := r.Header.Get("X-Subject-Token")
	t, ok := c.validLocked(subject)
	if !ok {
		keystoneError(w, http.StatusNotFound, "Could not find token: "+subject+".")
		return
	}
	if me.id != t.id && me.user != t.user && me.roles&roleAdmin == 0 {
		keystoneError(w, http.StatusForbidden, "You are not authorized to perform the requested action: identity:revoke_token.")
		return
	}
	delete(c.ident.tokens, subject)
	w.WriteHeader(http.StatusNoContent)
}
