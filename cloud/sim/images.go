package sim

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

// Image outcomes: how a snapshot ends once saved.
const (
	outActive uint8 = iota
	outError
	outKilled
)

// Image visibilities.
const (
	visPrivate uint8 = iota
	visShared
	visCommunity
	visPublic
)

var visNames = [...]string{"private", "shared", "community", "public"}

// Properties Nova sets on a snapshot. They are derived from the server on
// read rather than stored per image; a bit per property says it is still
// there (a PATCH may remove it or replace it with an explicit value).
const (
	dInstanceUUID uint8 = 1 << iota
	dImageType
	dBaseImageRef
	dUserID
	dImageLocation
	dOwnerProjectName
	derivedAll = dInstanceUUID | dImageType | dBaseImageRef | dUserID | dImageLocation | dOwnerProjectName
)

var derivedKeys = [...]struct {
	bit uint8
	key string
}{
	{dInstanceUUID, "instance_uuid"},
	{dImageType, "image_type"},
	{dBaseImageRef, "base_image_ref"},
	{dUserID, "user_id"},
	{dImageLocation, "image_location"},
	{dOwnerProjectName, "owner_project_name"},
}

type prop struct{ key, value string }

// img is one Glance image. Its status is not stored: it follows from
// created, saveStart, done and outcome compared with the clock.
type img struct {
	id        uuid
	name      string
	props     []prop // explicit properties; keys interned
	tags      []string
	created   int64 // unix nanoseconds; queued from here
	saveStart int64 // saving from here
	done      int64 // outcome from here
	updated   int64 // last explicit change
	server    int32 // -1: not a snapshot
	owner     int32
	nextSrv   int32
	nextOwn   int32
	minDisk   uint32
	minRAM    uint32
	outcome   uint8
	derived   uint8
	vis       uint8
	protected bool
	hidden    bool
	live      bool
}

func (im *img) status(now int64) string {
	switch {
	case now < im.saveStart:
		return "queued"
	case now < im.done:
		return "saving"
	case im.outcome == outError:
		return "error"
	case im.outcome == outKilled:
		return "killed"
	}
	return "active"
}

func (im *img) updatedAt(now int64) int64 {
	u := im.updated
	for _, t := range [...]int64{im.saveStart, im.done} {
		if t <= now && t > u {
			u = t
		}
	}
	return u
}

// size is what the upload weighs once active: snapshots are sparse, so a
// quarter of the disk, which keeps sizes plausible and deterministic.
func (im *img) size(now int64) (int64, bool) {
	if im.status(now) != "active" {
		return 0, false
	}
	if im.server < 0 {
		return baseImageSize, true
	}
	return int64(im.minDisk) << 30 / 4, true
}

// The one image that is not a snapshot is the public base image every
// server was booted from, a CirrOS as in devstack.
const (
	baseImageName = "cirros-0.6.2-x86_64-disk"
	baseImageSize = 21430272
)

// addBaseImageLocked creates the public base image owned by p.
func (c *Cloud) addBaseImageLocked(p int32) {
	now := c.clock.Now().UnixNano()
	c.store.baseImage = c.rand.uuid()
	i := int32(len(c.store.images))
	c.store.images = append(c.store.images, img{
		id: c.store.baseImage, name: baseImageName, created: now, saveStart: now, done: now, updated: now,
		server: -1, owner: p, nextSrv: -1, nextOwn: c.ident.projects[p].imgHead, minDisk: 1,
		vis: visPublic, live: true,
	})
	c.store.imageByID[c.store.baseImage] = i
	c.store.public[i] = struct{}{}
	c.ident.projects[p].imgHead = i
}

// propLocked returns the value of a property, explicit first, then derived.
func (c *Cloud) propLocked(im *img, key string) (string, bool) {
	for _, p := range im.props {
		if p.key == key {
			return p.value, true
		}
	}
	for _, d := range derivedKeys {
		if im.derived&d.bit != 0 && d.key == key {
			return c.derivedLocked(im, d.bit), true
		}
	}
	return "", false
}

func (c *Cloud) derivedLocked(im *img, bit uint8) string {
	if im.server < 0 {
		return ""
	}
	s := &c.store.servers[im.server]
	switch bit {
	case dInstanceUUID:
		return s.id.String()
	case dImageType:
		return "snapshot"
	case dBaseImageRef:
		return c.store.baseImage.String()
	case dUserID:
		return c.ident.users[s.user].id
	case dImageLocation:
		return "snapshot"
	case dOwnerProjectName:
		return c.ident.projects[s.project].name
	}
	return ""
}

// propsLocked returns every property of the image as a fresh map.
func (c *Cloud) propsLocked(im *img) map[string]string {
	out := make(map[string]string, len(im.props)+len(derivedKeys))
	for _, d := range derivedKeys {
		if im.derived&d.bit != 0 {
			out[d.key] = c.derivedLocked(im, d.bit)
		}
	}
	for _, p := range im.props {
		out[p.key] = p.value
	}
	return out
}

func (c *Cloud) internLocked(key string) string {
	if k, ok := c.store.keys[key]; ok {
		return k
	}
	c.store.keys[key] = key
	return key
}

// internValueLocked shares a property value with the previous image's value
// of the same key when they are equal: created_by is the same on millions
// of images, run ids never repeat, and remembering one value per key bounds
// the cost either way.
func (c *Cloud) internValueLocked(key, value string) string {
	if last, ok := c.store.lastValue[key]; ok && last == value {
		return last
	}
	c.store.lastValue[key] = value
	return value
}

// setPropLocked sets an explicit property, hiding a derived one of the same
// key. The caller keeps store.rerouted right.
func (c *Cloud) setPropLocked(im *img, key, value string) {
	for _, d := range derivedKeys {
		if d.key == key && im.derived&d.bit != 0 {
			im.derived &^= d.bit
		}
	}
	for i := range im.props {
		if im.props[i].key == key {
			im.props[i].value = c.internValueLocked(key, value)
			return
		}
	}
	key = c.internLocked(key)
	im.props = append(im.props, prop{key: key, value: c.internValueLocked(key, value)})
}

// removePropLocked deletes a property and reports whether it existed.
func (c *Cloud) removePropLocked(im *img, key string) bool {
	for i := range im.props {
		if im.props[i].key == key {
			im.props = slices.Delete(im.props, i, i+1)
			return true
		}
	}
	for _, d := range derivedKeys {
		if d.key == key && im.derived&d.bit != 0 {
			im.derived &^= d.bit
			return true
		}
	}
	return false
}

// saveTimes draws when a new snapshot of a disk starts saving and
// when it is done: queue time, then overhead plus size over rate, with
// jitter and the slow-save fault.
func (c *Cloud) saveTimes(now int64, diskGB uint32, f Faults) (saveStart, done int64) {
	minutes := float64(diskGB) / c.cfg.SaveRateGBPerMinute
	d := float64(c.cfg.SaveOverhead) + minutes*float64(time.Minute)
	if c.cfg.SaveJitter > 0 {
		d *= 1 + c.cfg.SaveJitter*(2*c.rand.float()-1)
	}
	if c.rand.hit(f.SlowSaveRate) {
		d *= f.slowFactor()
	}
	saveStart = now + int64(c.cfg.QueueTime)
	return saveStart, saveStart + int64(d)
}

func (c *Cloud) outcome(f Faults) uint8 {
	if f.ImageErrorRate <= 0 && f.ImageKilledRate <= 0 {
		return outActive
	}
	x := c.rand.float()
	switch {
	case x < f.ImageErrorRate:
		return outError
	case x < f.ImageErrorRate+f.ImageKilledRate:
		return outKilled
	}
	return outActive
}

// snapshot is everything drawn for a new snapshot before taking the lock.
type snapshot struct {
	id              uuid
	saveStart, done int64
	outcome         uint8
}

// addImageLocked stores a snapshot of server s owned by its project.
func (c *Cloud) addImageLocked(s int32, name string, meta map[string]string, sn snapshot, now int64) int32 {
	sv := &c.store.servers[s]
	im := img{
		id: sn.id, name: name, created: now, saveStart: sn.saveStart, done: sn.done, updated: now,
		server: s, owner: sv.project, nextSrv: sv.imgHead, nextOwn: c.ident.projects[sv.project].imgHead,
		minDisk: sv.diskGB, outcome: sn.outcome, derived: derivedAll, live: true,
	}
	if len(meta) > 0 {
		im.props = make([]prop, 0, len(meta))
		for _, k := range sortedKeys(meta) {
			if k == "instance_uuid" {
				c.store.rerouted++
			}
			key := c.internLocked(k)
			im.props = append(im.props, prop{key: key, value: c.internValueLocked(key, meta[k])})
			for _, d := range derivedKeys {
				if d.key == k {
					im.derived &^= d.bit
				}
			}
		}
	}
	var i int32
	if n := len(c.store.free); n > 0 {
		i = c.store.free[n-1]
		c.store.free = c.store.free[:n-1]
		c.store.images[i] = im
	} else {
		i = int32(len(c.store.images))
		c.store.images = append(c.store.images, im)
	}
	c.store.imageByID[im.id] = i
	sv.imgHead = i
	sv.lastImg = i
	sv.updated = now
	c.ident.projects[sv.project].imgHead = i
	return i
}

// deleteImageLocked unlinks the image from its chains and recycles the slot.
func (c *Cloud) deleteImageLocked(i int32) {
	im := &c.store.images[i]
	if c.cfg.RecordDeletions {
		rec := c.imageLocked(i)
		rec.DeletedAt = c.clock.Now().UTC()
		c.store.deleted = append(c.store.deleted, rec)
	}
	if im.server >= 0 {
		sv := &c.store.servers[im.server]
		sv.imgHead = unlink(c.store.images, sv.imgHead, i, func(m *img) *int32 { return &m.nextSrv })
		if sv.lastImg == i {
			sv.lastImg = -1 // Nova ends the snapshot task when its image goes away
		}
	}
	p := &c.ident.projects[im.owner]
	p.imgHead = unlink(c.store.images, p.imgHead, i, func(m *img) *int32 { return &m.nextOwn })
	delete(c.store.public, i)
	if _, ok := im.explicit("instance_uuid"); ok {
		c.store.rerouted--
	}
	delete(c.store.imageByID, im.id)
	c.store.images[i] = img{server: -1, owner: -1}
	c.store.free = append(c.store.free, i)
}

func (im *img) explicit(key string) (string, bool) {
	for _, p := range im.props {
		if p.key == key {
			return p.value, true
		}
	}
	return "", false
}

// unlink removes slot i from the chain starting at head and returns the new
// head.
func unlink(images []img, head, i int32, next func(*img) *int32) int32 {
	if head == i {
		return *next(&images[i])
	}
	for j := head; j >= 0; j = *next(&images[j]) {
		if n := next(&images[j]); *n == i {
			*n = *next(&images[i])
			break
		}
	}
	return head
}

// lookupImageLocked finds a live image by id string.
func (c *Cloud) lookupImageLocked(id string) (int32, bool) {
	u, ok := parseUUID(id)
	if !ok {
		return -1, false
	}
	i, ok := c.store.imageByID[u]
	return i, ok
}

// Image is a snapshot of one Glance image's state, for checkers.
type Image struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	ServerID   string            `json:"server_id,omitempty"` // "" when not a snapshot
	Owner      string            `json:"owner"`               // project id
	Status     string            `json:"status"`              // queued, saving, active, error or killed
	Properties map[string]string `json:"properties,omitempty"`
	CreatedAt  time.Time         `json:"created_at"`
	UpdatedAt  time.Time         `json:"updated_at"`
	ActiveAt   time.Time         `json:"active_at,omitzero"`  // zero unless active
	DeletedAt  time.Time         `json:"deleted_at,omitzero"` // set only in DeletedImages
}

func (c *Cloud) imageLocked(i int32) Image {
	im := &c.store.images[i]
	now := c.clock.Now().UnixNano()
	out := Image{
		ID:         im.id.String(),
		Name:       im.name,
		Owner:      c.ident.projects[im.owner].id,
		Status:     im.status(now),
		Properties: c.propsLocked(im),
		CreatedAt:  time.Unix(0, im.created).UTC(),
		UpdatedAt:  time.Unix(0, im.updatedAt(now)).UTC(),
	}
	if im.server >= 0 {
		out.ServerID = c.store.servers[im.server].id.String()
	}
	if out.Status == "active" {
		out.ActiveAt = time.Unix(0, im.done).UTC()
	}
	return out
}

// Images returns every live image, in no particular order.
func (c *Cloud) Images() []Image {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]Image, 0, len(c.store.imageByID))
	for i := range c.store.images {
		if c.store.images[i].live {
			out = append(out, c.imageLocked(int32(i)))
		}
	}
	return out
}

// ServerImages returns the live images created from the server, newest
// first.
func (c *Cloud) ServerImages(serverID string) []Image {
	c.mu.RLock()
	defer c.mu.RUnlock()
	u, ok := parseUUID(serverID)
	if !ok {
		return nil
	}
	s, ok := c.store.serverByID[u]
	if !ok {
		return nil
	}
	var out []Image
	for i := c.store.servers[s].imgHead; i >= 0; i = c.store.images[i].nextSrv {
		out = append(out, c.imageLocked(i))
	}
	return out
}

// LookupImage returns the live image with that id.
func (c *Cloud) LookupImage(id string) (Image, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	i, ok := c.lookupImageLocked(id)
	if !ok {
		return Image{}, false
	}
	return c.imageLocked(i), true
}

// DeletedImages returns the images deleted so far, oldest deletion first,
// when Config.RecordDeletions is set (otherwise none).
func (c *Cloud) DeletedImages() []Image {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]Image, len(c.store.deleted))
	for i, im := range c.store.deleted {
		im.Properties = maps.Clone(im.Properties)
		out[i] = im
	}
	return out
}

// SetImageStatus ends the image's save now with status "active", "error"
// or "killed", whatever its draw said.
func (c *Cloud) SetImageStatus(id, status string) error {
	var out uint8
	switch status {
	case "active":
		out = outActive
	case "error":
		out = outError
	case "killed":
		out = outKilled
	default:
		return fmt.Errorf("set image %s status %q: %w", id, status, ErrInvalid)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.lookupImageLocked(id)
	if !ok {
		return fmt.Errorf("set image %s status: %w", id, ErrNotFound)
	}
	im := &c.store.images[i]
	now := c.clock.Now().UnixNano()
	im.outcome = out
	im.saveStart = min(im.saveStart, now)
	im.done = min(im.done, now)
	return nil
}
