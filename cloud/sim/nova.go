package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

func (c *Cloud) routeNova(mux *http.ServeMux) {
	mux.HandleFunc("GET /compute", c.novaVersions)
	mux.HandleFunc("GET /compute/{$}", c.novaVersions)
	mux.HandleFunc("GET /compute/v2.1", c.nova(c.novaVersion, false))
	mux.HandleFunc("GET /compute/v2.1/{$}", c.nova(c.novaVersion, false))
	mux.HandleFunc("GET /compute/v2.1/servers", c.nova(c.listServers, true))
	mux.HandleFunc("GET /compute/v2.1/servers/detail", c.nova(c.listServers, true))
	mux.HandleFunc("GET /compute/v2.1/servers/{id}", c.nova(c.showServer, true))
	mux.HandleFunc("POST /compute/v2.1/servers/{id}/action", c.nova(c.serverAction, true))
	mux.HandleFunc("GET /compute/v2.1/flavors", c.nova(c.listFlavors, true))
	mux.HandleFunc("GET /compute/v2.1/flavors/detail", c.nova(c.listFlavors, true))
	mux.HandleFunc("GET /compute/v2.1/flavors/{id}", c.nova(c.showFlavor, true))
}

// novaRequest is what every compute handler gets: the caller and the
// negotiated microversion.
type novaRequest struct {
	caller
	mv   int
	base string
}

// nova wraps a compute handler with microversion negotiation, the
// transport faults and (when auth) token authentication.
func (c *Cloud) nova(h func(http.ResponseWriter, *http.Request, novaRequest), auth bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		mv, err := microversion(r)
		hdr := w.Header()
		hdr.Set("Vary", "OpenStack-API-Version, X-OpenStack-Nova-API-Version")
		if err != nil {
			hdr.Set("OpenStack-API-Version", fmt.Sprintf("compute 2.%d", minMinor))
			hdr.Set("X-OpenStack-Nova-API-Version", fmt.Sprintf("2.%d", minMinor))
			status := http.StatusNotAcceptable
			if strings.HasPrefix(err.Error(), "Invalid") {
				status = http.StatusBadRequest
			}
			novaFault(w, status, err.Error())
			return
		}
		hdr.Set("OpenStack-API-Version", fmt.Sprintf("compute 2.%d", mv))
		hdr.Set("X-OpenStack-Nova-API-Version", fmt.Sprintf("2.%d", mv))
		req := novaRequest{mv: mv, base: c.base(r)}
		if auth {
			if c.faulted(w, true) {
				return
			}
			k, ok := c.authenticate(w, r)
			if !ok {
				return
			}
			req.caller = k
		}
		h(w, r, req)
	}
}

func (c *Cloud) novaVersionDoc(base string) map[string]any {
	return map[string]any{
		"id": "v2.1", "status": "CURRENT", "version": fmt.Sprintf("2.%d", maxMinor), "min_version": "2.1",
		"updated": "2013-07-23T11:33:21Z",
		"links": []any{
			map[string]any{"rel": "self", "href": base + "/compute/v2.1/"},
			map[string]any{"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"},
		},
		"media-types": []any{map[string]any{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}},
	}
}

func (c *Cloud) novaVersions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"versions": []any{c.novaVersionDoc(c.base(r))}})
}

func (c *Cloud) novaVersion(w http.ResponseWriter, r *http.Request, q novaRequest) {
	writeJSON(w, http.StatusOK, map[string]any{"version": c.novaVersionDoc(q.base)})
}

type link struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

type novaFaultJSON struct {
	Code    int    `json:"code"`
	Created string `json:"created"`
	Message string `json:"message"`
}

// serverJSON is Nova's server representation; a struct rather than a map
// because a detail page holds up to a thousand of them.
type serverJSON struct {
	ID                 string            `json:"id"`
	Name               string            `json:"name"`
	Status             string            `json:"status"`
	TenantID           string            `json:"tenant_id"`
	UserID             string            `json:"user_id"`
	Metadata           map[string]string `json:"metadata"`
	HostID             string            `json:"hostId"`
	Image              any               `json:"image"`
	Flavor             any               `json:"flavor"`
	Created            string            `json:"created"`
	Updated            string            `json:"updated"`
	Addresses          map[string]any    `json:"addresses"`
	AccessIPv4         string            `json:"accessIPv4"`
	AccessIPv6         string            `json:"accessIPv6"`
	Links              []link            `json:"links"`
	DiskConfig         string            `json:"OS-DCF:diskConfig"`
	Progress           int               `json:"progress"`
	AZ                 string            `json:"OS-EXT-AZ:availability_zone"`
	ConfigDrive        string            `json:"config_drive"`
	KeyName            *string           `json:"key_name"`
	LaunchedAt         string            `json:"OS-SRV-USG:launched_at"`
	TerminatedAt       *string           `json:"OS-SRV-USG:terminated_at"`
	Host               *string           `json:"OS-EXT-SRV-ATTR:host,omitempty"`
	InstanceName       *string           `json:"OS-EXT-SRV-ATTR:instance_name,omitempty"`
	HypervisorHostname *string           `json:"OS-EXT-SRV-ATTR:hypervisor_hostname,omitempty"`
	TaskState          *string           `json:"OS-EXT-STS:task_state"`
	VMState            string            `json:"OS-EXT-STS:vm_state"`
	PowerState         int               `json:"OS-EXT-STS:power_state"`
	Volumes            []any             `json:"os-extended-volumes:volumes_attached"`
	SecurityGroups     []any             `json:"security_groups"`
	Fault              *novaFaultJSON    `json:"fault,omitempty"`
	Locked             *bool             `json:"locked,omitempty"`
	Tags               *[]string         `json:"tags,omitempty"`
}

type serverRef struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Links []link `json:"links"`
}

func flavorID(disk uint32) string   { return fmt.Sprintf("sim-d%d", disk) }
func flavorName(disk uint32) string { return fmt.Sprintf("sim.d%d", disk) }

// flavorShape gives a plausible vcpus and RAM for a root disk size.
func flavorShape(disk uint32) (vcpus, ramMB int) {
	return max(1, int(disk)/40), max(512, int(disk)*128)
}

func (c *Cloud) serverLinks(base, id string) []link {
	return []link{
		{Rel: "self", Href: base + "/compute/v2.1/servers/" + id},
		{Rel: "bookmark", Href: base + "/compute/servers/" + id},
	}
}

func (c *Cloud) serverJSONLocked(i int32, q novaRequest, now int64) serverJSON {
	s := &c.store.servers[i]
	id := s.id.String()
	projectID := c.ident.projects[s.project].id
	host := c.store.hosts[s.host]
	hostHash := sha256.Sum224([]byte(projectID + host))
	out := serverJSON{
		ID: id, Name: s.name, Status: serverStatus(s.state), TenantID: projectID,
		UserID:   c.ident.users[s.user].id,
		Metadata: map[string]string{},
		HostID:   hex.EncodeToString(hostHash[:]),
		Image: map[string]any{"id": c.store.baseImage.String(), "links": []link{
			{Rel: "bookmark", Href: q.base + "/compute/images/" + c.store.baseImage.String()},
		}},
		Created: stamp(s.created, isoSeconds),
		Updated: stamp(c.serverUpdatedLocked(s, now), isoSeconds),
		Addresses: map[string]any{"private": []any{map[string]any{
			"version": 4, "addr": fmt.Sprintf("10.%d.%d.%d", (i>>16)&255, (i>>8)&255, i&255),
			"OS-EXT-IPS:type": "fixed",
		}}},
		Links:          c.serverLinks(q.base, id),
		DiskConfig:     "MANUAL",
		AZ:             "nova",
		LaunchedAt:     stamp(s.created, isoNoZone),
		VMState:        "active",
		PowerState:     1,
		Volumes:        []any{},
		SecurityGroups: []any{map[string]any{"name": "default"}},
	}
	if q.mv >= 47 {
		vcpus, ram := flavorShape(s.diskGB)
		out.Flavor = map[string]any{
			"vcpus": vcpus, "ram": ram, "disk": s.diskGB, "ephemeral": 0, "swap": 0,
			"original_name": flavorName(s.diskGB), "extra_specs": map[string]string{},
		}
	} else {
		fid := flavorID(s.diskGB)
		out.Flavor = map[string]any{"id": fid, "links": []link{
			{Rel: "bookmark", Href: q.base + "/compute/flavors/" + fid},
		}}
	}
	if ts := c.taskStateLocked(s, now); ts != "" {
		out.TaskState = &ts
	}
	switch s.state {
	case vmError:
		out.VMState = "error"
		out.PowerState = 0
		out.Fault = &novaFaultJSON{Code: 500, Created: stamp(s.updated, isoSeconds), Message: "Simulated failure"}
	case vmDeleted:
		out.VMState = "deleted"
		out.PowerState = 0
		t := stamp(s.updated, isoNoZone)
		out.TerminatedAt = &t
	}
	if q.admin() {
		inst := fmt.Sprintf("instance-%08x", i)
		out.Host, out.HypervisorHostname, out.InstanceName = &host, &host, &inst
	}
	if q.mv >= 9 {
		f := false
		out.Locked = &f
	}
	if q.mv >= 26 {
		out.Tags = &[]string{}
	}
	return out
}

// serverFilter is the subset of Nova's list filters the simulator honours.
type serverFilter struct {
	name    *regexp.Regexp
	status  string
	host    string
	since   int64
	project int32 // -1: all projects
}

func (f *serverFilter) match(c *Cloud, s *srv, now int64) bool {
	switch {
	case s.state == vmDeleted:
		return false
	case f.project >= 0 && s.project != f.project:
		return false
	case f.status != "" && serverStatus(s.state) != f.status:
		return false
	case f.host != "" && c.store.hosts[s.host] != f.host:
		return false
	case f.since > 0 && c.serverUpdatedLocked(s, now) < f.since:
		return false
	case f.name != nil && !f.name.MatchString(s.name):
		return false
	}
	return true
}

func truthy(v string) bool {
	switch strings.ToLower(v) {
	case "0", "false", "f", "no", "n", "off":
		return false
	}
	return true
}

func (c *Cloud) listServers(w http.ResponseWriter, r *http.Request, q novaRequest) {
	qs := r.URL.Query()
	limit := 1000 // Nova's default max_limit
	if v := qs.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			novaFault(w, http.StatusBadRequest, "Invalid input for query parameters limit. Value: "+v+".")
			return
		}
		limit = min(n, 1000)
	}
	f := serverFilter{project: q.project, status: strings.ToUpper(qs.Get("status"))}
	if _, all := qs["all_tenants"]; all && truthy(qs.Get("all_tenants")) {
		if !q.admin() {
			novaFault(w, http.StatusForbidden, "Policy doesn't allow os_compute_api:servers:index:get_all_tenants to be performed.")
			return
		}
		f.project = -1
		for _, key := range []string{"project_id", "tenant_id"} {
			if v := qs.Get(key); v != "" {
				c.mu.RLock()
				p, ok := c.ident.projectByID[v]
				c.mu.RUnlock()
				if !ok {
					p = -2 // matches nothing
				}
				f.project = p
			}
		}
	}
	if v := qs.Get("name"); v != "" {
		re, err := regexp.Compile(v)
		if err != nil {
			re = regexp.MustCompile(regexp.QuoteMeta(v))
		}
		f.name = re
	}
	if v := qs.Get("host"); v != "" && q.admin() {
		f.host = v
	}
	if v := qs.Get("changes-since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			novaFault(w, http.StatusBadRequest, "Invalid input for query parameters changes-since. Value: "+v+".")
			return
		}
		f.since = t.UnixNano()
	}
	detail := strings.HasSuffix(r.URL.Path, "/detail")
	now := c.clock.Now().UnixNano()

	c.mu.RLock()
	defer c.mu.RUnlock()
	// Candidates newest first: the project's own slots, or every slot.
	// f.project is -1 for all projects, -2 for an unknown tenant filter.
	all := f.project == -1
	var slots []int32
	if f.project >= 0 {
		slots = c.ident.projects[f.project].servers
	}
	n := len(slots)
	if all {
		n = len(c.store.servers)
	}
	start := n - 1
	if m := qs.Get("marker"); m != "" {
		u, ok := parseUUID(m)
		mi, found := c.store.serverByID[u]
		if !ok || !found || (!all && c.store.servers[mi].project != f.project) {
			novaFault(w, http.StatusBadRequest, "marker ["+m+"] not found")
			return
		}
		if all {
			start = int(mi) - 1
		} else {
			pos, _ := slices.BinarySearch(slots, mi)
			start = pos - 1
		}
	}
	var refs []serverRef
	var details []serverJSON
	last := ""
	count := 0
	for k := start; k >= 0 && count < limit; k-- {
		i := int32(k)
		if !all {
			i = slots[k]
		}
		s := &c.store.servers[i]
		if !f.match(c, s, now) {
			continue
		}
		count++
		last = s.id.String()
		if detail {
			details = append(details, c.serverJSONLocked(i, q, now))
		} else {
			refs = append(refs, serverRef{ID: last, Name: s.name, Links: c.serverLinks(q.base, last)})
		}
	}
	body := map[string]any{}
	if detail {
		if details == nil {
			details = []serverJSON{}
		}
		body["servers"] = details
	} else {
		if refs == nil {
			refs = []serverRef{}
		}
		body["servers"] = refs
	}
	if count > 0 && count == limit {
		// Nova links the next page whenever this one is full.
		next := url.Values{}
		for k, v := range qs {
			next[k] = v
		}
		next.Set("limit", strconv.Itoa(limit))
		next.Set("marker", last)
		body["servers_links"] = []link{{Rel: "next", Href: q.base + r.URL.Path + "?" + next.Encode()}}
	}
	writeJSON(w, http.StatusOK, body)
}

func notFoundMsg(id string) string { return "Instance " + id + " could not be found." }

// vanish applies the server-vanish fault: the owner deleted the server just
// before this call.
func (c *Cloud) vanish(id string) {
	c.mu.RLock()
	rate := c.faults.ServerVanishRate
	c.mu.RUnlock()
	if c.rand.hit(rate) {
		c.DeleteServer(id)
	}
}

func (c *Cloud) showServer(w http.ResponseWriter, r *http.Request, q novaRequest) {
	id := r.PathValue("id")
	c.vanish(id)
	c.mu.RLock()
	defer c.mu.RUnlock()
	i, ok := c.lookupServerLocked(id)
	if !ok || (!q.admin() && c.store.servers[i].project != q.project) {
		novaFault(w, http.StatusNotFound, notFoundMsg(id))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"server": c.serverJSONLocked(i, q, c.clock.Now().UnixNano())})
}

type createImageAction struct {
	Name     *string         `json:"name"`
	Metadata json.RawMessage `json:"metadata"`
}

func (c *Cloud) serverAction(w http.ResponseWriter, r *http.Request, q novaRequest) {
	id := r.PathValue("id")
	var body map[string]json.RawMessage
	if err := decodeJSON(r, &body); err != nil {
		novaFault(w, http.StatusBadRequest, err.Error())
		return
	}
	raw, ok := body["createImage"]
	if !ok || len(body) != 1 {
		keys := slices.Sorted(maps.Keys(body))
		novaFault(w, http.StatusBadRequest, fmt.Sprintf("There is no such action: %s", strings.Join(keys, ",")))
		return
	}
	var act createImageAction
	if err := json.Unmarshal(raw, &act); err != nil {
		novaFault(w, http.StatusBadRequest, "Invalid input for field/attribute createImage. "+err.Error())
		return
	}
	if act.Name == nil {
		novaFault(w, http.StatusBadRequest, "Invalid input for field/attribute createImage. Value: "+string(raw)+". 'name' is a required property")
		return
	}
	name := *act.Name
	if strings.TrimSpace(name) == "" || utf8.RuneCountInString(name) > 255 {
		novaFault(w, http.StatusBadRequest, fmt.Sprintf("Invalid input for field/attribute name. Value: %s. length must be 1..255 and not only whitespace", name))
		return
	}
	meta := map[string]string{}
	if len(act.Metadata) > 0 && string(act.Metadata) != "null" {
		if err := json.Unmarshal(act.Metadata, &meta); err != nil {
			novaFault(w, http.StatusBadRequest, "Invalid input for field/attribute metadata. Value: "+string(act.Metadata)+". Values must be strings")
			return
		}
		for k, v := range meta {
			if k == "" || len(k) > 255 || len(v) > 255 {
				novaFault(w, http.StatusBadRequest, "Invalid input for field/attribute metadata. Keys and values must be 1..255 characters: "+k)
				return
			}
		}
	}
	if !q.canWrite() {
		novaFault(w, http.StatusForbidden, "Policy doesn't allow os_compute_api:servers:create_image to be performed.")
		return
	}
	c.vanish(id)

	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.lookupServerLocked(id)
	if !ok || (!q.admin() && c.store.servers[i].project != q.project) {
		novaFault(w, http.StatusNotFound, notFoundMsg(id))
		return
	}
	img, err := c.snapshotLocked(i, name, meta)
	if err != nil {
		novaFault(w, http.StatusConflict, strings.TrimPrefix(err.Error(), ErrConflict.Error()+": "))
		return
	}
	imageID := img.String()
	if q.mv >= 45 {
		writeJSON(w, http.StatusAccepted, map[string]string{"image_id": imageID})
		return
	}
	w.Header().Set("Location", q.base+"/image/v2/images/"+imageID)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
}

// snapshotLocked is Nova's createImage on server slot i: it refuses a
// server in ERROR or with a task_state (and applies the conflict fault) with
// ErrConflict, else stores the new image and returns its id.
func (c *Cloud) snapshotLocked(i int32, name string, meta map[string]string) (uuid, error) {
	s := &c.store.servers[i]
	id := s.id.String()
	now := c.clock.Now().UnixNano()
	if s.state == vmError {
		return uuid{}, fmt.Errorf("%w: Cannot 'createImage' instance %s while it is in vm_state error", ErrConflict, id)
	}
	if ts := c.taskStateLocked(s, now); ts != "" {
		return uuid{}, fmt.Errorf("%w: Cannot 'createImage' instance %s while it is in task_state %s", ErrConflict, id, ts)
	}
	if c.rand.hit(c.faults.ConflictRate) {
		return uuid{}, fmt.Errorf("%w: Cannot 'createImage' instance %s while it is in task_state powering-off", ErrConflict, id)
	}
	sn := snapshot{id: c.rand.uuid(), outcome: c.outcome(c.faults)}
	sn.saveStart, sn.done = c.saveTimes(now, s.diskGB, c.faults)
	c.addImageLocked(i, name, meta, sn, now)
	return sn.id, nil
}

// CreateImage snapshots the server as Nova's createImage would (same
// refusals, faults and properties), without HTTP: for seeding images in
// bulk. It returns the image id, ErrNotFound or ErrConflict.
func (c *Cloud) CreateImage(serverID, name string, metadata map[string]string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.lookupServerLocked(serverID)
	if !ok {
		return "", fmt.Errorf("create image of %s: %w", serverID, ErrNotFound)
	}
	id, err := c.snapshotLocked(i, name, metadata)
	if err != nil {
		return "", err
	}
	return id.String(), nil
}

func (c *Cloud) flavorJSON(disk uint32, base string, detail bool) map[string]any {
	id := flavorID(disk)
	out := map[string]any{"id": id, "name": flavorName(disk), "links": []link{
		{Rel: "self", Href: base + "/compute/v2.1/flavors/" + id},
		{Rel: "bookmark", Href: base + "/compute/flavors/" + id},
	}}
	if detail {
		vcpus, ram := flavorShape(disk)
		out["vcpus"], out["ram"], out["disk"] = vcpus, ram, disk
		out["OS-FLV-EXT-DATA:ephemeral"], out["swap"] = 0, ""
		out["os-flavor-access:is_public"], out["rxtx_factor"] = true, 1.0
		out["OS-FLV-DISABLED:disabled"] = false
	}
	return out
}

// listFlavors lists one flavor per root disk size in use.
func (c *Cloud) listFlavors(w http.ResponseWriter, r *http.Request, q novaRequest) {
	c.mu.RLock()
	disks := make([]uint32, 0, len(c.store.flavors))
	for d := range c.store.flavors {
		disks = append(disks, d)
	}
	c.mu.RUnlock()
	slices.Sort(disks)
	detail := strings.HasSuffix(r.URL.Path, "/detail")
	out := make([]any, 0, len(disks))
	for _, d := range disks {
		out = append(out, c.flavorJSON(d, q.base, detail))
	}
	writeJSON(w, http.StatusOK, map[string]any{"flavors": out})
}

func (c *Cloud) showFlavor(w http.ResponseWriter, r *http.Request, q novaRequest) {
	id := r.PathValue("id")
	n, err := strconv.ParseUint(strings.TrimPrefix(id, "sim-d"), 10, 32)
	if !strings.HasPrefix(id, "sim-d") || err != nil || n == 0 {
		novaFault(w, http.StatusNotFound, "Flavor "+id+" could not be found.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"flavor": c.flavorJSON(uint32(n), q.base, true)})
}
