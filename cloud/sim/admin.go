package sim

import (
	"errors"
	"io"
	"net/http"
)

// The admin endpoint drives the simulation itself (faults, targeted server
// and image states, token expiry, seeding). It is not an OpenStack API: it
// takes a token with the admin role in X-Auth-Token and answers JSON
// {"error": {...}} on failure.
//
//	GET  /admin/faults                  current Faults
//	PUT  /admin/faults                  replace Faults (400 if a rate is out of range)
//	GET  /admin/stats                   counts and the simulated time
//	POST /admin/servers                 {"project_id"|"project", "name", "disk_gb", "host"} add a server
//	POST /admin/seed                    {"projects": m, "servers": n} bulk seed
//	POST /admin/servers/{id}/busy       {"task_state": "..."} (optional body) server busy until cleared
//	POST /admin/servers/{id}/error      server in ERROR
//	POST /admin/servers/{id}/clear      server ACTIVE and idle again
//	POST /admin/servers/{id}/delete     server deleted (also DELETE /admin/servers/{id})
//	POST /admin/images/{id}/status      {"status": "active"|"error"|"killed"} end the save now
//	POST /admin/tokens/expire           {"token": "..."} or {"all": true}
//	GET  /admin/images                  every image, one JSON object a line: the live
//	                                    ones, then (with Config.RecordDeletions) the
//	                                    deleted ones with deleted_at
func (c *Cloud) routeAdmin(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/faults", c.admin(c.getFaults))
	mux.HandleFunc("PUT /admin/faults", c.admin(c.putFaults))
	mux.HandleFunc("GET /admin/stats", c.admin(c.stats))
	mux.HandleFunc("POST /admin/servers", c.admin(c.adminAddServer))
	mux.HandleFunc("POST /admin/seed", c.admin(c.adminSeed))
	mux.HandleFunc("POST /admin/servers/{id}/{op}", c.admin(c.adminServerOp))
	mux.HandleFunc("DELETE /admin/servers/{id}", c.admin(c.adminServerOp))
	mux.HandleFunc("POST /admin/images/{id}/status", c.admin(c.adminImageStatus))
	mux.HandleFunc("POST /admin/tokens/expire", c.admin(c.adminExpire))
	mux.HandleFunc("GET /admin/images", c.admin(c.adminImages))
}

func (c *Cloud) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c.mu.RLock()
		t, ok := c.validLocked(r.Header.Get("X-Auth-Token"))
		c.mu.RUnlock()
		switch {
		case !ok:
			keystoneError(w, http.StatusUnauthorized, authRequired)
		case t.roles&roleAdmin == 0:
			keystoneError(w, http.StatusForbidden, "The admin endpoint needs a token with the admin role.")
		default:
			h(w, r)
		}
	}
}

// adminError maps the Go API's errors to statuses.
func adminError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		keystoneError(w, http.StatusNotFound, err.Error())
	default:
		keystoneError(w, http.StatusBadRequest, err.Error())
	}
}

// decodeOptional decodes a JSON body that may be absent.
func decodeOptional(r *http.Request, v any) error {
	err := decodeJSON(r, v)
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

func (c *Cloud) getFaults(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, c.Faults())
}

func (c *Cloud) putFaults(w http.ResponseWriter, r *http.Request) {
	var f Faults
	if err := decodeJSON(r, &f); err != nil {
		adminError(w, err)
		return
	}
	if err := c.SetFaults(f); err != nil {
		adminError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, c.Faults())
}

func (c *Cloud) stats(w http.ResponseWriter, r *http.Request) {
	c.mu.RLock()
	body := map[string]any{
		"servers":  len(c.store.serverByID),
		"images":   len(c.store.imageByID),
		"projects": len(c.ident.projects),
		"users":    len(c.ident.users),
		"tokens":   len(c.ident.tokens),
		"trusts":   len(c.ident.trusts),
		"now":      c.clock.Now().UTC().Format(isoMicros),
	}
	c.mu.RUnlock()
	writeJSON(w, http.StatusOK, body)
}

func (c *Cloud) adminAddServer(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ProjectID string `json:"project_id"`
		Project   string `json:"project"`
		Name      string `json:"name"`
		DiskGB    int    `json:"disk_gb"`
		Host      string `json:"host"`
	}
	if err := decodeJSON(r, &req); err != nil {
		adminError(w, err)
		return
	}
	if req.ProjectID == "" {
		p, ok := c.LookupProject(req.Project)
		if !ok {
			keystoneError(w, http.StatusNotFound, "no project "+req.Project)
			return
		}
		req.ProjectID = p.ID
	}
	c.mu.RLock()
	_, ok := c.ident.projectByID[req.ProjectID]
	c.mu.RUnlock()
	if !ok || req.Name == "" {
		keystoneError(w, http.StatusBadRequest, "an existing project_id (or project) and a name are required")
		return
	}
	s := c.AddServer(req.ProjectID, ServerSpec{Name: req.Name, DiskGB: req.DiskGB, Host: req.Host})
	writeJSON(w, http.StatusCreated, map[string]any{"server": map[string]any{
		"id": s.ID, "name": s.Name, "project_id": s.ProjectID, "disk_gb": s.DiskGB, "host": s.Host,
	}})
}

func (c *Cloud) adminSeed(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Projects int `json:"projects"`
		Servers  int `json:"servers"`
	}
	if err := decodeJSON(r, &req); err != nil {
		adminError(w, err)
		return
	}
	seeded, err := c.SeedServers(req.Projects, req.Servers)
	if err != nil {
		adminError(w, err)
		return
	}
	projects := make([]any, 0, len(seeded.Projects))
	for k, p := range seeded.Projects {
		u := seeded.Users[k]
		projects = append(projects, map[string]any{"id": p.ID, "name": p.Name, "user": u.Name, "user_id": u.ID})
	}
	writeJSON(w, http.StatusCreated, map[string]any{"projects": projects, "servers": req.Servers, "password": c.cfg.SeedPassword})
}

func (c *Cloud) adminServerOp(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	op := r.PathValue("op")
	if r.Method == http.MethodDelete {
		op = "delete"
	}
	var err error
	switch op {
	case "busy":
		var req struct {
			TaskState string `json:"task_state"`
		}
		if err = decodeOptional(r, &req); err == nil {
			err = c.SetServerBusy(id, req.TaskState)
		}
	case "error":
		err = c.SetServerError(id)
	case "clear":
		err = c.ClearServer(id)
	case "delete":
		if _, ok := c.Server(id); !ok {
			err = ErrNotFound
		}
		c.DeleteServer(id)
	default:
		keystoneError(w, http.StatusNotFound, "no admin operation "+op)
		return
	}
	if err != nil {
		adminError(w, err)
		return
	}
	s, _ := c.Server(id)
	writeJSON(w, http.StatusOK, map[string]any{"server": map[string]any{
		"id": s.ID, "status": s.Status, "task_state": s.TaskState,
	}})
}

func (c *Cloud) adminImageStatus(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Status string `json:"status"`
	}
	if err := decodeJSON(r, &req); err != nil {
		adminError(w, err)
		return
	}
	if err := c.SetImageStatus(r.PathValue("id"), req.Status); err != nil {
		adminError(w, err)
		return
	}
	im, _ := c.LookupImage(r.PathValue("id"))
	writeJSON(w, http.StatusOK, map[string]any{"image": map[string]any{"id": im.ID, "status": im.Status}})
}

func (c *Cloud) adminExpire(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Token string `json:"token"`
		All   bool   `json:"all"`
	}
	if err := decodeJSON(r, &req); err != nil {
		adminError(w, err)
		return
	}
	if req.All {
		c.ExpireAllTokens()
	} else if err := c.ExpireToken(req.Token); err != nil {
		adminError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
