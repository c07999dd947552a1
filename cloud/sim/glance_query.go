package sim

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Query parameters of GET /v2/images that are not property filters.
var imageListParams = map[string]bool{
	"limit": true, "marker": true, "sort_key": true, "sort_dir": true, "sort": true,
	"name": true, "status": true, "visibility": true, "owner": true, "id": true,
	"container_format": true, "disk_format": true, "protected": true, "os_hidden": true,
	"size_min": true, "size_max": true, "created_at": true, "updated_at": true,
	"member_status": true, "tag": true,
}

var imageStatuses = []string{"queued", "saving", "active", "killed", "deleted", "pending_delete",
	"deactivated", "uploading", "importing", "error"}

var imageSortKeys = []string{"name", "status", "container_format", "disk_format", "size", "id",
	"created_at", "updated_at", "visibility", "owner", "min_disk", "min_ram"}

type timeCond struct {
	op string // eq, neq, gt, gte, lt, lte
	at int64
}

func (tc timeCond) match(v int64) bool {
	switch tc.op {
	case "neq":
		return v != tc.at
	case "gt":
		return v > tc.at
	case "gte":
		return v >= tc.at
	case "lt":
		return v < tc.at
	case "lte":
		return v <= tc.at
	}
	return v == tc.at
}

type sortSpec struct {
	key  string
	desc bool
}

// imageQuery is a parsed GET /v2/images request.
type imageQuery struct {
	limit      int
	marker     string
	sorts      []sortSpec
	name       string
	status     string
	visibility string
	owner      string
	ids        []string
	tags       []string
	protected  string
	hidden     bool
	sizeMin    int64
	sizeMax    int64
	created    []timeCond
	updated    []timeCond
	props      []prop
}

// parseImageQuery validates the query as Glance does; the error text is
// the 400 message.
func parseImageQuery(qs url.Values) (imageQuery, error) {
	q := imageQuery{limit: 25, sizeMin: -1, sizeMax: -1}
	if v := qs.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return q, fmt.Errorf("limit param must be an integer")
		}
		if n < 0 {
			return q, fmt.Errorf("limit param must be positive")
		}
		q.limit = min(n, 1000)
	}
	q.marker = qs.Get("marker")
	q.name = qs.Get("name")
	if v := qs.Get("status"); v != "" {
		if !slices.Contains(imageStatuses, v) {
			return q, fmt.Errorf("Invalid status value: %s", v)
		}
		q.status = v
	}
	if v := qs.Get("visibility"); v != "" {
		if v != "all" && !slices.Contains(visNames[:], v) {
			return q, fmt.Errorf("Invalid visibility value: %s", v)
		}
		q.visibility = v
	}
	q.owner = qs.Get("owner")
	if v := qs.Get("id"); v != "" {
		q.ids = strings.Split(strings.TrimPrefix(v, "in:"), ",")
	}
	q.tags = qs["tag"]
	if v := qs.Get("protected"); v != "" {
		if v != "true" && v != "false" {
			return q, fmt.Errorf("Invalid value '%s' for 'protected' filter. Valid values are 'true' or 'false'.", v)
		}
		q.protected = v
	}
	if v := qs.Get("os_hidden"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return q, fmt.Errorf("Invalid value '%s' for 'os_hidden' filter. Valid values are 'true' or 'false'.", v)
		}
		q.hidden = b
	}
	for _, key := range []string{"size_min", "size_max"} {
		if v := qs.Get(key); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return q, fmt.Errorf("Invalid value for %s: %s", key, v)
			}
			if key == "size_min" {
				q.sizeMin = n
			} else {
				q.sizeMax = n
			}
		}
	}
	var err error
	if q.created, err = parseTimeConds("created_at", qs["created_at"]); err != nil {
		return q, err
	}
	if q.updated, err = parseTimeConds("updated_at", qs["updated_at"]); err != nil {
		return q, err
	}
	if q.sorts, err = parseSorts(qs); err != nil {
		return q, err
	}
	for key, vals := range qs {
		if imageListParams[key] {
			continue
		}
		for _, v := range vals {
			q.props = append(q.props, prop{key: key, value: v})
		}
	}
	slices.SortFunc(q.props, func(a, b prop) int { return cmp.Compare(a.key, b.key) })
	return q, nil
}

func parseTimeConds(key string, vals []string) ([]timeCond, error) {
	var out []timeCond
	for _, v := range vals {
		op, at, ok := strings.Cut(v, ":")
		if !ok || !slices.Contains([]string{"eq", "neq", "gt", "gte", "lt", "lte"}, op) {
			op, at = "eq", v
		}
		t, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			return nil, fmt.Errorf("Unable to filter by %s: invalid time %s", key, at)
		}
		out = append(out, timeCond{op: op, at: t.UnixNano()})
	}
	return out, nil
}

// parseSorts reads sort_key/sort_dir or the newer sort=key:dir,...; the
// default is created_at descending. id is always the final tie-breaker so
// markers are unambiguous.
func parseSorts(qs url.Values) ([]sortSpec, error) {
	var out []sortSpec
	if v := qs.Get("sort"); v != "" {
		if len(qs["sort_key"]) > 0 || len(qs["sort_dir"]) > 0 {
			return nil, fmt.Errorf("The 'sort' parameter cannot be combined with 'sort_key' or 'sort_dir'")
		}
		for _, part := range strings.Split(v, ",") {
			key, dir, _ := strings.Cut(strings.TrimSpace(part), ":")
			if dir == "" {
				dir = "desc"
			}
			out = append(out, sortSpec{key: key, desc: dir == "desc"})
			if dir != "asc" && dir != "desc" {
				return nil, fmt.Errorf("Invalid sort direction: %s", dir)
			}
		}
	} else {
		keys, dirs := qs["sort_key"], qs["sort_dir"]
		if len(dirs) > 1 && len(dirs) != len(keys) {
			return nil, fmt.Errorf("Number of sort dirs does not match the number of sort keys")
		}
		for _, d := range dirs {
			if d != "asc" && d != "desc" {
				return nil, fmt.Errorf("Invalid sort direction: %s", d)
			}
		}
		for k, key := range keys {
			desc := true
			switch {
			case len(dirs) == 1:
				desc = dirs[0] == "desc"
			case len(dirs) > 1:
				desc = dirs[k] == "desc"
			}
			out = append(out, sortSpec{key: key, desc: desc})
		}
	}
	for _, s := range out {
		if !slices.Contains(imageSortKeys, s.key) {
			return nil, fmt.Errorf("Invalid sort key: %s. It should be one of the following: %s.", s.key, strings.Join(imageSortKeys, ", "))
		}
	}
	if len(out) == 0 {
		out = []sortSpec{{key: "created_at", desc: true}}
	}
	if out[len(out)-1].key != "id" {
		out = append(out, sortSpec{key: "id", desc: out[len(out)-1].desc})
	}
	return out, nil
}

// matchImageLocked applies every filter of q except visibility-to-caller.
func (c *Cloud) matchImageLocked(q *imageQuery, im *img, now int64) bool {
	if q.name != "" && im.name != q.name {
		return false
	}
	if q.status != "" && im.status(now) != q.status {
		return false
	}
	if q.owner != "" && c.ident.projects[im.owner].id != q.owner {
		return false
	}
	switch q.visibility {
	case "":
		if im.vis == visCommunity {
			return false
		}
	case "all":
	default:
		if visNames[im.vis] != q.visibility {
			return false
		}
	}
	if im.hidden != q.hidden {
		return false
	}
	if q.protected != "" && im.protected != (q.protected == "true") {
		return false
	}
	if len(q.ids) > 0 && !slices.Contains(q.ids, im.id.String()) {
		return false
	}
	for _, t := range q.tags {
		if !slices.Contains(im.tags, t) {
			return false
		}
	}
	if q.sizeMin >= 0 || q.sizeMax >= 0 {
		size, ok := im.size(now)
		if !ok || (q.sizeMin >= 0 && size < q.sizeMin) || (q.sizeMax >= 0 && size > q.sizeMax) {
			return false
		}
	}
	for _, tc := range q.created {
		if !tc.match(im.created) {
			return false
		}
	}
	for _, tc := range q.updated {
		if !tc.match(im.updatedAt(now)) {
			return false
		}
	}
	for _, p := range q.props {
		if v, ok := c.propLocked(im, p.key); !ok || v != p.value {
			return false
		}
	}
	return true
}

// compareImagesLocked orders two image slots by the sort specs.
func (c *Cloud) compareImagesLocked(sorts []sortSpec, a, b int32, now int64) int {
	x, y := &c.store.images[a], &c.store.images[b]
	for _, s := range sorts {
		var r int
		switch s.key {
		case "name":
			r = cmp.Compare(x.name, y.name)
		case "status":
			r = cmp.Compare(x.status(now), y.status(now))
		case "size":
			sx, _ := x.size(now)
			sy, _ := y.size(now)
			r = cmp.Compare(sx, sy)
		case "id":
			r = slices.Compare(x.id[:], y.id[:])
		case "created_at":
			r = cmp.Compare(x.created, y.created)
		case "updated_at":
			r = cmp.Compare(x.updatedAt(now), y.updatedAt(now))
		case "visibility":
			r = cmp.Compare(visNames[x.vis], visNames[y.vis])
		case "owner":
			r = cmp.Compare(c.ident.projects[x.owner].id, c.ident.projects[y.owner].id)
		case "min_disk":
			r = cmp.Compare(x.minDisk, y.minDisk)
		case "min_ram":
			r = cmp.Compare(x.minRAM, y.minRAM)
		}
		if s.desc {
			r = -r
		}
		if r != 0 {
			return r
		}
	}
	return 0
}

// candidatesLocked returns the image slots a listing must consider, as few
// as the filters allow: a server's chain for instance_uuid, the caller's
// project chain plus public images for tenants, the owner's chain for an
// owner filter, else all.
func (c *Cloud) candidatesLocked(k caller, q *imageQuery) []int32 {
	var out []int32
	chain := func(head int32, next func(*img) int32) {
		for i := head; i >= 0; i = next(&c.store.images[i]) {
			out = append(out, i)
		}
	}
	bySrv := func(m *img) int32 { return m.nextSrv }
	byOwn := func(m *img) int32 { return m.nextOwn }
	if c.store.rerouted == 0 {
		for _, p := range q.props {
			if p.key != "instance_uuid" {
				continue
			}
			u, ok := parseUUID(p.value)
			if s, found := c.store.serverByID[u]; ok && found {
				chain(c.store.servers[s].imgHead, bySrv)
			}
			return out
		}
	}
	switch {
	case !k.admin():
		chain(c.ident.projects[k.project].imgHead, byOwn)
		for i := range c.store.public {
			if c.store.images[i].owner != k.project {
				out = append(out, i)
			}
		}
	case q.owner != "":
		if p, ok := c.ident.projectByID[q.owner]; ok {
			chain(c.ident.projects[p].imgHead, byOwn)
		}
	default:
		for i := range c.store.images {
			if c.store.images[i].live {
				out = append(out, int32(i))
			}
		}
	}
	return out
}

// imageVisibleLocked: tenants see their own images and non-private ones; admins
// see all.
func (c *Cloud) imageVisibleLocked(k caller, im *img) bool {
	return k.admin() || im.owner == k.project || im.vis != visPrivate
}
