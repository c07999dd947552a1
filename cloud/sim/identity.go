package sim

import (
	"fmt"
	"math/bits"
	"time"
)

// Project is a Keystone project (a Nova tenant).
type Project struct {
	ID   string
	Name string
}

// User is a Keystone user with roles on its own project.
type User struct {
	ID        string
	Name      string
	ProjectID string
	Roles     []string
}

type project struct {
	id, name string
	servers  []int32 // server slots in creation order (ascending)
	imgHead  int32   // newest image owned by the project, chained by img.nextOwn
}

type grant struct {
	project int32
	roles   roleSet
}

type user struct {
	id, name, password string
	project            int32 // default project
	grants             []grant
}

// roleSet is a bit set over identity.roles; 64 distinct role names are far
// more than any test or deployment of the simulator needs.
type roleSet uint64

type role struct{ id, name string }

type token struct {
	id      string
	user    int32
	project int32 // -1: unscoped
	trust   *trust
	roles   roleSet
	methods []string
	issued  time.Time
	expires time.Time
	audit   string
}

type trust struct {
	id               string
	trustor, trustee int32
	project          int32
	roles            roleSet
	impersonation    bool
	expires          time.Time // zero: never
	created          time.Time
	deleted          bool
}

type identity struct {
	projects      []project
	projectByID   map[string]int32
	projectByName map[string]int32
	users         []user
	userByID      map[string]int32
	userByName    map[string]int32
	roles         []role
	roleByName    map[string]int
	roleByID      map[string]int
	tokens        map[string]*token
	issued        int
	trusts        map[string]*trust
	trustOrder    []*trust
}

func (id *identity) init() {
	id.projectByID = map[string]int32{}
	id.projectByName = map[string]int32{}
	id.userByID = map[string]int32{}
	id.userByName = map[string]int32{}
	id.roleByName = map[string]int{}
	id.roleByID = map[string]int{}
	id.tokens = map[string]*token{}
	id.trusts = map[string]*trust{}
}

// Well-known roles, registered first so their bits are stable.
const (
	roleAdmin   roleSet = 1 << 0
	roleMember  roleSet = 1 << 1
	roleReader  roleSet = 1 << 2
	roleService roleSet = 1 << 3
)

func (c *Cloud) roleBitLocked(name string) roleSet {
	if i, ok := c.ident.roleByName[name]; ok {
		return 1 << i
	}
	if len(c.ident.roles) == 64 {
		panic(fmt.Sprintf("sim: more than 64 distinct roles (adding %q)", name))
	}
	r := role{id: c.rand.uuid().hex32(), name: name}
	c.ident.roles = append(c.ident.roles, r)
	i := len(c.ident.roles) - 1
	c.ident.roleByName[name] = i
	c.ident.roleByID[r.id] = i
	return 1 << i
}

func (c *Cloud) roleNamesLocked(s roleSet) []string {
	var out []string
	for s != 0 {
		i := bits.TrailingZeros64(uint64(s))
		out = append(out, c.ident.roles[i].name)
		s &^= 1 << i
	}
	return out
}

// AddProject creates a project; names are unique, so an existing name
// returns the existing project.
func (c *Cloud) AddProject(name string) Project {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.addProjectLocked(name)
	return Project{ID: c.ident.projects[p].id, Name: name}
}

func (c *Cloud) addProjectLocked(name string) int32 {
	if p, ok := c.ident.projectByName[name]; ok {
		return p
	}
	p := int32(len(c.ident.projects))
	c.ident.projects = append(c.ident.projects, project{id: c.rand.uuid().hex32(), name: name, imgHead: -1})
	c.ident.projectByID[c.ident.projects[p].id] = p
	c.ident.projectByName[name] = p
	return p
}

// AddUser creates a user whose default project is projectID, with the given
// roles (e.g. "member", "admin", "reader") on it. It panics if projectID is
// unknown, like a test fixture that cannot be built. An existing user name
// gets the password and the roles added instead.
func (c *Cloud) AddUser(projectID, name, password string, roles ...string) User {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.ident.projectByID[projectID]
	if !ok {
		panic(fmt.Sprintf("sim: AddUser %q: project %q does not exist", name, projectID))
	}
	u := c.addUserLocked(p, name, password, roles...)
	return c.userLocked(u)
}

func (c *Cloud) addUserLocked(p int32, name, password string, roles ...string) int32 {
	var set roleSet
	for _, r := range roles {
		set |= c.roleBitLocked(r)
	}
	u, ok := c.ident.userByName[name]
	if !ok {
		u = int32(len(c.ident.users))
		c.ident.users = append(c.ident.users, user{id: c.rand.uuid().hex32(), name: name, project: p})
		c.ident.userByID[c.ident.users[u].id] = u
		c.ident.userByName[name] = u
	}
	c.ident.users[u].password = password
	c.grantLocked(u, p, set)
	return u
}

// Grant gives userID the roles on projectID, so it can scope tokens there.
func (c *Cloud) Grant(userID, projectID string, roles ...string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	u, ok := c.ident.userByID[userID]
	if !ok {
		return fmt.Errorf("grant: user %s: %w", userID, ErrNotFound)
	}
	p, ok := c.ident.projectByID[projectID]
	if !ok {
		return fmt.Errorf("grant: project %s: %w", projectID, ErrNotFound)
	}
	var set roleSet
	for _, r := range roles {
		set |= c.roleBitLocked(r)
	}
	c.grantLocked(u, p, set)
	return nil
}

func (c *Cloud) grantLocked(u, p int32, set roleSet) {
	us := &c.ident.users[u]
	for i := range us.grants {
		if us.grants[i].project == p {
			us.grants[i].roles |= set
			return
		}
	}
	us.grants = append(us.grants, grant{project: p, roles: set})
}

func (c *Cloud) rolesOnLocked(u, p int32) roleSet {
	for _, g := range c.ident.users[u].grants {
		if g.project == p {
			return g.roles
		}
	}
	return 0
}

func (c *Cloud) userLocked(u int32) User {
	us := c.ident.users[u]
	return User{
		ID:        us.id,
		Name:      us.name,
		ProjectID: c.ident.projects[us.project].id,
		Roles:     c.roleNamesLocked(c.rolesOnLocked(u, us.project)),
	}
}

// LookupUser returns the user called name.
func (c *Cloud) LookupUser(name string) (User, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	u, ok := c.ident.userByName[name]
	if !ok {
		return User{}, false
	}
	return c.userLocked(u), true
}

// LookupProject returns the project called name.
func (c *Cloud) LookupProject(name string) (Project, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	p, ok := c.ident.projectByName[name]
	if !ok {
		return Project{}, false
	}
	return Project{ID: c.ident.projects[p].id, Name: name}, true
}

// issueLocked creates a token; every few thousand issues it drops expired
// tokens so a long run with short TTLs does not grow without bound.
func (c *Cloud) issueLocked(u, p int32, roles roleSet, tr *trust, methods []string) *token {
	now := c.clock.Now()
	c.ident.issued++
	if c.ident.issued%4096 == 0 {
		for id, t := range c.ident.tokens {
			if !now.Before(t.expires) {
				delete(c.ident.tokens, id)
			}
		}
	}
	expires := now.Add(c.cfg.TokenTTL)
	if tr != nil && !tr.expires.IsZero() && tr.expires.Before(expires) {
		expires = tr.expires
	}
	t := &token{
		id:      "gAAAAA" + c.rand.uuid().hex32() + c.rand.uuid().hex32(),
		user:    u,
		project: p,
		trust:   tr,
		roles:   roles,
		methods: methods,
		issued:  now,
		expires: expires,
		audit:   c.rand.uuid().hex32()[:22],
	}
	c.ident.tokens[t.id] = t
	return t
}

// validLocked returns the token if it is known, unexpired, and its trust
// (if any) still stands.
func (c *Cloud) validLocked(id string) (*token, bool) {
	t, ok := c.ident.tokens[id]
	if !ok || !c.clock.Now().Before(t.expires) {
		return nil, false
	}
	if t.trust != nil && (t.trust.deleted || (!t.trust.expires.IsZero() && !c.clock.Now().Before(t.trust.expires))) {
		return nil, false
	}
	return t, true
}

// ExpireToken makes the token invalid at once, as if its TTL had passed.
func (c *Cloud) ExpireToken(id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.ident.tokens[id]; !ok {
		return fmt.Errorf("expire token: %w", ErrNotFound)
	}
	delete(c.ident.tokens, id)
	return nil
}

// ExpireAllTokens invalidates every token, forcing every client to
// re-authenticate.
func (c *Cloud) ExpireAllTokens() {
	c.mu.Lock()
	c.ident.tokens = map[string]*token{}
	c.mu.Unlock()
}
