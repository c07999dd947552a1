package sim

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// Seeded is what SeedServers created.
type Seeded struct {
	Projects []Project // project-00000, project-00001, ...
	Users    []User    // Users[k] is the member of Projects[k], password Config.SeedPassword
}

// seedDisks is the root-disk distribution of seeded servers (GB, weight %):
// mostly small flavors with a tail of big disks, which is what makes some
// snapshots slow.
var seedDisks = []struct {
	gb     uint32
	weight int
}{{10, 15}, {20, 30}, {40, 25}, {80, 15}, {160, 10}, {320, 5}}

// serversPerHost is how densely seeded servers are packed on hosts.
const serversPerHost = 40

// SeedServers adds servers ACTIVE servers spread round-robin over projects
// projects named project-NNNNN, each with a member user user-NNNNN (password
// Config.SeedPassword). Names are srv-NNNNNNN, disks follow seedDisks,
// hosts compute-NNNN with about 40 servers each, and creation times are
// spread over the 90 days before now, in creation order. Calling it again
// reuses the projects and adds more servers. It holds the lock for the
// whole batch: a million servers take a second or two.
func (c *Cloud) SeedServers(projects, servers int) (Seeded, error) {
	if projects < 1 || servers < 0 || servers > 1<<30 {
		return Seeded{}, fmt.Errorf("seed %d servers over %d projects: %w", servers, projects, ErrInvalid)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var out Seeded
	ps := make([]int32, projects)
	us := make([]int32, projects)
	for k := range projects {
		ps[k] = c.addProjectLocked(fmt.Sprintf("project-%05d", k))
		us[k] = c.addUserLocked(ps[k], fmt.Sprintf("user-%05d", k), c.cfg.SeedPassword, "member", "reader")
		out.Projects = append(out.Projects, Project{ID: c.ident.projects[ps[k]].id, Name: c.ident.projects[ps[k]].name})
		out.Users = append(out.Users, c.userLocked(us[k]))
	}
	if len(c.store.serverByID) == 0 && servers > 0 {
		c.store.serverByID = make(map[uuid]int32, servers)
	}
	c.store.servers = slices.Grow(c.store.servers, servers)
	for k := range projects {
		p := &c.ident.projects[ps[k]]
		p.servers = slices.Grow(p.servers, servers/projects+1)
	}
	total := 0
	for _, d := range seedDisks {
		total += d.weight
	}
	hosts := make([]int32, (servers+serversPerHost-1)/serversPerHost)
	first := len(c.store.hosts)
	for h := range hosts {
		hosts[h] = c.hostLocked(fmt.Sprintf("compute-%04d", first+h+1))
	}
	now := c.clock.Now()
	start := now.Add(-90 * 24 * time.Hour).UnixNano()
	step := int64(90*24*time.Hour) / int64(max(servers, 1))
	base := len(c.store.servers)
	for k := range servers {
		x := c.rand.intn(total)
		disk := seedDisks[len(seedDisks)-1].gb
		for _, d := range seedDisks {
			if x < d.weight {
				disk = d.gb
				break
			}
			x -= d.weight
		}
		pk := k % projects
		c.addServerLocked(c.rand.uuid(), fmt.Sprintf("srv-%07d", base+k), ps[pk], us[pk],
			hosts[c.rand.intn(len(hosts))], disk, start+int64(k)*step)
	}
	return out, nil
}

// Projects lists every project in creation order.
func (c *Cloud) Projects() []Project {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]Project, len(c.ident.projects))
	for i, p := range c.ident.projects {
		out[i] = Project{ID: p.id, Name: p.name}
	}
	return out
}

// Hosts lists every compute host the cloud has known, sorted.
func (c *Cloud) Hosts() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return slices.Sorted(maps.Keys(c.store.hostByName))
}
