package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

const maxBody = 1 << 20

// Time formats of the three services.
const (
	isoSeconds = "2006-01-02T15:04:05Z"        // Nova and Glance
	isoMicros  = "2006-01-02T15:04:05.000000Z" // Keystone
	isoNoZone  = "2006-01-02T15:04:05.000000"  // Nova's OS-SRV-USG stamps
)

func stamp(ns int64, layout string) string { return time.Unix(0, ns).UTC().Format(layout) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, fmt.Sprintf("encode response: %v", err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b) // the client went away; nothing to tell it
}

func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBody))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("malformed request body: %w", err)
	}
	return nil
}

// novaFaultNames are Nova's fault wrapper names by status.
var novaFaultNames = map[int]string{
	400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
	405: "badMethod", 406: "notAcceptable", 409: "conflictingRequest", 413: "overLimit",
	415: "badMediaType", 429: "overLimit", 501: "notImplemented", 503: "serviceUnavailable",
}

func novaFault(w http.ResponseWriter, status int, msg string) {
	name, ok := novaFaultNames[status]
	if !ok {
		name = "computeFault"
	}
	writeJSON(w, status, map[string]any{name: map[string]any{"message": msg, "code": status}})
}

var statusTitles = map[int]string{
	400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
	409: "Conflict", 413: "Request Entity Too Large", 415: "Unsupported Media Type",
	429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable",
}

// keystoneError is Keystone's (and keystonemiddleware's) error shape.
func keystoneError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code": status, "title": statusTitles[status], "message": msg,
	}})
}

// glanceError is the plain-text body webob renders for Glance errors.
func glanceError(w http.ResponseWriter, status int, msg string) {
	body := fmt.Sprintf("%d %s\n\n%s\n\n   ", status, statusTitles[status], msg)
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body)) // the client went away; nothing to tell it
}

const authRequired = "The request you have made requires authentication."

// caller is who a request acts as, resolved from its X-Auth-Token.
type caller struct {
	user      int32
	project   int32
	roles     roleSet
	userID    string
	projectID string
}

func (k caller) admin() bool { return k.roles&roleAdmin != 0 }

// canWrite: readers may look but not change.
func (k caller) canWrite() bool { return k.roles&(roleAdmin|roleMember) != 0 }

// authenticate resolves the token of a Nova or Glance request, or answers
// 401 as keystonemiddleware would and returns false.
func (c *Cloud) authenticate(w http.ResponseWriter, r *http.Request) (caller, bool) {
	c.mu.RLock()
	t, ok := c.validLocked(r.Header.Get("X-Auth-Token"))
	var k caller
	if ok && t.project >= 0 {
		k = caller{
			user: t.user, project: t.project, roles: t.roles,
			userID: c.ident.users[t.user].id, projectID: c.ident.projects[t.project].id,
		}
	}
	c.mu.RUnlock()
	if !ok || t.project < 0 {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf("Keystone uri=%q", c.base(r)+"/identity"))
		keystoneError(w, http.StatusUnauthorized, authRequired)
		return caller{}, false
	}
	return k, true
}

// faulted applies the transport faults to a Nova or Glance call and reports
// whether the request was answered with one.
func (c *Cloud) faulted(w http.ResponseWriter, nova bool) bool {
	status, retry := c.transportFault()
	if status == 0 {
		return false
	}
	if retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retry))
	}
	msg := "The server is currently unavailable. Please try again at a later time."
	if status == http.StatusTooManyRequests {
		msg = "This request was rate-limited."
	}
	if nova {
		novaFault(w, status, msg)
	} else {
		glanceError(w, status, msg)
	}
	return true
}
