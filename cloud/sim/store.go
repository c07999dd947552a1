package sim

import (
	"fmt"
	"time"
)

// Server states (Nova vm_state / status).
const (
	vmActive uint8 = iota
	vmError
	vmDeleted
)

// srv is one server, kept small: a million of them must fit in a few
// hundred megabytes, so ids are bytes, hosts and projects are indexes, and
// the server's images are a chain through img.nextSrv instead of a slice.
type srv struct {
	id      uuid
	name    string
	created int64 // unix nanoseconds
	updated int64
	project int32
	user    int32
	host    int32
	lastImg int32 // the newest snapshot slot, whose phase gives task_state; -1 none
	imgHead int32 // newest image slot of this server; -1 none
	diskGB  uint32
	state   uint8
	task    uint8 // forced task_state, index into store.tasks; 0 none
}

// store holds servers and images; the Cloud's mu guards it.
type store struct {
	servers    []srv
	serverByID map[uuid]int32
	hosts      []string
	hostByName map[string]int32
	tasks      []string // interned forced task states; [0] is "none"
	images     []img
	imageByID  map[uuid]int32
	free       []int32           // recycled image slots
	keys       map[string]string // interned property keys
	lastValue  map[string]string // per key, the last value stored
	// rerouted counts images whose instance_uuid was set by hand; while it
	// is non-zero the by-server chain is not the whole truth for filters.
	rerouted int
	// public holds the images that are not private, which non-admin
	// listings consider beside their own project's chain.
	public    map[int32]struct{}
	baseImage uuid
	deleted   []Image
	flavors   map[uint32]int // disk size -> live servers, for /flavors
}

func (s *store) init() {
	s.serverByID = map[uuid]int32{}
	s.hostByName = map[string]int32{}
	s.tasks = []string{""}
	s.imageByID = map[uuid]int32{}
	s.keys = map[string]string{}
	s.lastValue = map[string]string{}
	s.flavors = map[uint32]int{}
	s.public = map[int32]struct{}{}
}

// ServerSpec describes a server to add.
type ServerSpec struct {
	Name   string
	DiskGB int    // root disk size, drives the flavor and the snapshot time
	Host   string // compute host; default "compute-0001"
	UserID string // owner user; default the project's first user
}

// Server is a snapshot of one server's state.
type Server struct {
	ID        string
	Name      string
	ProjectID string
	UserID    string
	Host      string
	DiskGB    int
	Status    string // ACTIVE, ERROR or DELETED
	TaskState string // "" when idle
	Created   time.Time
	Updated   time.Time
}

func (c *Cloud) hostLocked(name string) int32 {
	if name == "" {
		name = "compute-0001"
	}
	if h, ok := c.store.hostByName[name]; ok {
		return h
	}
	h := int32(len(c.store.hosts))
	c.store.hosts = append(c.store.hosts, name)
	c.store.hostByName[name] = h
	return h
}

// AddServer creates an ACTIVE server in projectID. It panics if the project
// (or a given user) does not exist, like a test fixture that cannot be
// built.
func (c *Cloud) AddServer(projectID string, spec ServerSpec) Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.ident.projectByID[projectID]
	if !ok {
		panic(fmt.Sprintf("sim: AddServer %q: project %q does not exist", spec.Name, projectID))
	}
	u := c.projectUserLocked(p)
	if spec.UserID != "" {
		if u, ok = c.ident.userByID[spec.UserID]; !ok {
			panic(fmt.Sprintf("sim: AddServer %q: user %q does not exist", spec.Name, spec.UserID))
		}
	}
	disk := spec.DiskGB
	if disk <= 0 {
		disk = 20
	}
	now := c.clock.Now().UnixNano()
	i := c.addServerLocked(c.rand.uuid(), spec.Name, p, u, c.hostLocked(spec.Host), uint32(disk), now)
	return c.serverLocked(i)
}

func (c *Cloud) addServerLocked(id uuid, name string, p, u, h int32, disk uint32, created int64) int32 {
	i := int32(len(c.store.servers))
	c.store.servers = append(c.store.servers, srv{
		id: id, name: name, created: created, updated: created,
		project: p, user: u, host: h, lastImg: -1, imgHead: -1, diskGB: disk,
	})
	c.store.serverByID[id] = i
	c.ident.projects[p].servers = append(c.ident.projects[p].servers, i)
	c.store.flavors[disk]++
	return i
}

// projectUserLocked picks the user that owns new servers of p: the first
// user whose default project it is, else the admin user.
func (c *Cloud) projectUserLocked(p int32) int32 {
	for i := range c.ident.users {
		if c.ident.users[i].project == p {
			return int32(i)
		}
	}
	return 0
}

func (c *Cloud) serverLocked(i int32) Server {
	s := &c.store.servers[i]
	now := c.clock.Now().UnixNano()
	return Server{
		ID:        s.id.String(),
		Name:      s.name,
		ProjectID: c.ident.projects[s.project].id,
		UserID:    c.ident.users[s.user].id,
		Host:      c.store.hosts[s.host],
		DiskGB:    int(s.diskGB),
		Status:    serverStatus(s.state),
		TaskState: c.taskStateLocked(s, now),
		Created:   time.Unix(0, s.created).UTC(),
		Updated:   time.Unix(0, c.serverUpdatedLocked(s, now)).UTC(),
	}
}

func serverStatus(state uint8) string {
	switch state {
	case vmError:
		return "ERROR"
	case vmDeleted:
		return "DELETED"
	}
	return "ACTIVE"
}

// taskStateLocked derives Nova's task_state from the newest snapshot's
// phase, unless an admin forced one.
func (c *Cloud) taskStateLocked(s *srv, now int64) string {
	if s.task != 0 {
		return c.store.tasks[s.task]
	}
	if s.lastImg < 0 || s.state != vmActive {
		return ""
	}
	im := &c.store.images[s.lastImg]
	switch {
	case now < im.created+(im.saveStart-im.created)/2:
		return "image_snapshot"
	case now < im.saveStart:
		return "image_pending_upload"
	case now < im.done:
		return "image_uploading"
	}
	return ""
}

// serverUpdatedLocked is the server's updated stamp, including the moment
// its snapshot task ended, which happened lazily.
func (c *Cloud) serverUpdatedLocked(s *srv, now int64) int64 {
	u := s.updated
	if s.lastImg >= 0 {
		im := &c.store.images[s.lastImg]
		for _, t := range [...]int64{im.saveStart, im.done} {
			if t <= now && t > u {
				u = t
			}
		}
	}
	return u
}

// lookupServerLocked finds a live server by id string.
func (c *Cloud) lookupServerLocked(id string) (int32, bool) {
	u, ok := parseUUID(id)
	if !ok {
		return -1, false
	}
	i, ok := c.store.serverByID[u]
	if !ok || c.store.servers[i].state == vmDeleted {
		return -1, false
	}
	return i, true
}

// Server returns the server with that id, deleted or not.
func (c *Cloud) Server(id string) (Server, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	u, ok := parseUUID(id)
	if !ok {
		return Server{}, false
	}
	i, ok := c.store.serverByID[u]
	if !ok {
		return Server{}, false
	}
	return c.serverLocked(i), true
}

// RangeServers calls fn for every live server in creation order until fn
// returns false. It holds a read lock: fn must not call back into the Cloud.
func (c *Cloud) RangeServers(fn func(Server) bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for i := range c.store.servers {
		if c.store.servers[i].state == vmDeleted {
			continue
		}
		if !fn(c.serverLocked(int32(i))) {
			return
		}
	}
}

// ServerCount is the number of live servers.
func (c *Cloud) ServerCount() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n := 0
	for _, k := range c.store.flavors {
		n += k
	}
	return n
}

// DeleteServer removes the server; Nova then answers 404 for it. Its images
// stay, as in Glance. Unknown ids are ignored, like a repeated delete.
func (c *Cloud) DeleteServer(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i, ok := c.lookupServerLocked(id); ok {
		c.deleteServerLocked(i)
	}
}

func (c *Cloud) deleteServerLocked(i int32) {
	s := &c.store.servers[i]
	s.state = vmDeleted
	s.task = 0
	s.updated = c.clock.Now().UnixNano()
	if c.store.flavors[s.diskGB]--; c.store.flavors[s.diskGB] == 0 {
		delete(c.store.flavors, s.diskGB)
	}
}

// SetServerBusy gives the server a task_state (default "rebuilding") until
// ClearServer, so createImage answers 409 conflictingRequest.
func (c *Cloud) SetServerBusy(id, taskState string) error {
	if taskState == "" {
		taskState = "rebuilding"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.lookupServerLocked(id)
	if !ok {
		return fmt.Errorf("set server %s busy: %w", id, ErrNotFound)
	}
	t := -1
	for k, name := range c.store.tasks {
		if name == taskState {
			t = k
		}
	}
	if t < 0 {
		if len(c.store.tasks) == 256 {
			return fmt.Errorf("set server %s busy: too many distinct task states: %w", id, ErrInvalid)
		}
		c.store.tasks = append(c.store.tasks, taskState)
		t = len(c.store.tasks) - 1
	}
	c.store.servers[i].task = uint8(t)
	c.store.servers[i].updated = c.clock.Now().UnixNano()
	return nil
}

// SetServerError puts the server in status ERROR (vm_state error); Nova
// refuses createImage on it with 409.
func (c *Cloud) SetServerError(id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.lookupServerLocked(id)
	if !ok {
		return fmt.Errorf("set server %s error: %w", id, ErrNotFound)
	}
	c.store.servers[i].state = vmError
	c.store.servers[i].updated = c.clock.Now().UnixNano()
	return nil
}

// ClearServer makes the server ACTIVE with no forced task_state again (a
// snapshot still saving keeps its own task_state).
func (c *Cloud) ClearServer(id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.lookupServerLocked(id)
	if !ok {
		return fmt.Errorf("clear server %s: %w", id, ErrNotFound)
	}
	c.store.servers[i].state = vmActive
	c.store.servers[i].task = 0
	c.store.servers[i].updated = c.clock.Now().UnixNano()
	return nil
}
